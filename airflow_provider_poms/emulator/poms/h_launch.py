"""Launch endpoints: launch_jobs, launch_campaign, launch_recovery_for, held launches and holds."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .dispatch import Env, poms_method
from .errors import HTTPError, Redirect
from .launch import claim_script, launch_recovery, launch_stage, leading_stages, truthy
from .model import T_HELD, T_STAGES, T_UPLOADS, Record, int_or_none

_LAUNCH_FNAME = (
    "%(poms_path)s/list_launch_file/%(experiment)s/%(role)s?campaign_stage_id=%(campaign_stage_id)s"
    "&fname=%(outfile)s"
)
_LAUNCH_SID = (
    "%(poms_path)s/list_launch_file/%(experiment)s/%(role)s?campaign_stage_id=%(campaign_stage_id)s"
    "&submission_id=%(submission_id)s"
)


def launch_location(env: Env) -> str:
    """Both Location variants (main: ``fname=…_<sid>``; production: ``submission_id=<sid>``)."""
    return _LAUNCH_FNAME if env.db.settings.launch_redirect == "fname" else _LAUNCH_SID


class NoResultFound(Exception):
    """SQLAlchemy's name, so the 400 text reads like the real server's."""


class MultipleResultsFound(Exception):
    pass


def stage_by_id_or_name(env: Env, value: Any) -> Record:
    """A stage id, or a name matched like SQL ``LIKE %name%`` in the acting experiment."""
    if isinstance(value, list):
        value = value[-1]
    if int_or_none(value) is not None:
        stage = env.db.stage(value)
        if stage is None:
            raise AttributeError("'NoneType' object has no attribute 'campaign_stage_id'")
        return stage
    name = str(value or "")
    hits = [s for s in env.db.values(T_STAGES) if s["experiment"] == env.experiment and name in s["name"]]
    if not hits:
        raise NoResultFound("No row was found when one was required")
    if len(hits) > 1:
        raise MultipleResultsFound("Multiple rows were found when exactly one was required")
    return hits[0]


def _launch_user(env: Env, launcher: Any) -> str:
    if env.username == "poms" and launcher:
        name = env.db.username_of(int_or_none(launcher)) if int_or_none(launcher) else str(launcher)
        return name or env.username
    return env.username


def _credential_check(env: Env) -> None:
    """Analysis launches need an uploaded vault token no older than 5 days (when the switch is on)."""
    if not env.db.settings.credential_check or env.role != "analysis":
        return
    now = env.db.now()
    for rec in env.db.values(T_UPLOADS):
        if (
            rec["username"] == env.username
            and rec["experiment"] == env.experiment
            and rec["filename"].lower() == f"vt_{env.experiment}_analysis_{env.username}".lower()
            and now - rec["mtime"] <= 5 * 86400
        ):
            return
    redir = env.extra.get("url", "")
    raise Redirect(f"{env.path}/auth/{env.experiment}/{env.role}?redir={quote(redir, safe='')}")


def _launch(
    env: Env,
    stage: Record,
    launcher: Any,
    test_launch: Any,
    dataset_override: Any,
    parent_submission_id: Any,
    param_overrides: Any,
) -> dict[str, Any]:
    """What launch_jobs and launch_campaign do once they know the stage: check, launch, script."""
    _credential_check(env)
    res = launch_stage(
        env.db,
        stage,
        _launch_user(env, launcher),
        env.role,
        test=truthy(test_launch),
        dataset_override=dataset_override,
        parent=int_or_none(parent_submission_id),
        extra_overrides=_overrides(param_overrides),
    )
    claim_script(env.db, res["submission_id"])
    return res


def _overrides(value: Any) -> list[Any] | None:
    if value in (None, ""):
        return None
    import ast

    parsed = ast.literal_eval(value) if isinstance(value, str) else value
    return list(parsed) if isinstance(parsed, (list, tuple)) else None


@poms_method(
    p=[{"p": "can_do", "t": "CampaignStage", "item_id": "campaign_stage_id"}],
    rtype="redirect",
    redirect=launch_location,
)
def launch_jobs(
    env: Env,
    campaign_stage_id: Any = None,
    launcher: Any = None,
    dataset_override: Any = None,
    parent_submission_id: Any = None,
    param_overrides: Any = None,
    test_login_setup: Any = None,
    test_launch: Any = False,
    output_commands: Any = None,
    parent: Any = None,
) -> dict[str, Any]:
    stage = stage_by_id_or_name(env, campaign_stage_id)
    return _launch(env, stage, launcher, test_launch, dataset_override, parent_submission_id, param_overrides)


@poms_method(
    p=[{"p": "can_do", "t": "Campaign", "item_id": "campaign_id"}], rtype="redirect", redirect=launch_location
)
def launch_campaign(
    env: Env,
    campaign_id: Any = None,
    test_launch: Any = None,
    launcher: Any = None,
    dataset_override: Any = None,
    parent_submission_id: Any = None,
    param_overrides: Any = None,
) -> dict[str, Any]:
    camp = env.db.campaign(campaign_id)
    if camp is None:
        raise AttributeError("'NoneType' object has no attribute 'campaign_id'")
    leads = leading_stages(env.db, camp["campaign_id"])
    if len(leads) != 1:
        raise AssertionError(
            f"Cannot determine which stage in campaign {camp['name']} to start of {len(leads)} candidates"
        )
    return _launch(
        env, leads[0], launcher, test_launch, dataset_override, parent_submission_id, param_overrides
    )


@poms_method(
    p=[{"p": "can_do", "t": "CampaignStage", "item_id": "campaign_stage_id"}],
    rtype="redirect",
    redirect=launch_location,
)
def launch_recovery_for(
    env: Env,
    submission_id: Any = None,
    campaign_stage_id: Any = None,
    recovery_type: Any = None,
    launch: Any = None,
) -> dict[str, Any]:
    parent = env.db.submission(submission_id)
    if parent is None:
        raise AttributeError("'NoneType' object has no attribute 'submission_id'")
    rid = int(str(recovery_type))  # ValueError -> 400 Invalid argument
    jt = env.db.job_type((env.db.stage(parent["campaign_stage_id"]) or {}).get("job_type_id")) or {}
    from .model import RECOVERY_BY_ID

    overrides: list[Any] = []
    for name, rover in jt.get("recoveries") or []:
        if name == RECOVERY_BY_ID.get(rid):
            overrides = rover
    res = launch_recovery(env.db, parent, rid, overrides, env.username, env.role)
    if res is None:
        raise HTTPError(400, "No recovery needed, launch skipped.")
    claim_script(env.db, res["submission_id"])
    return res


@poms_method(rtype="redirect", redirect="%(poms_path)s/show_campaign_stages/%(experiment)s/%(role)s")
def mark_campaign_hold(env: Env, ids2HR: Any = None, is_hold: Any = None, **kwargs: Any) -> Any:
    if ids2HR is None:
        raise KeyError("ids2HR")
    ids = [int(x) for x in str(ids2HR).split(",") if x.strip()]
    for cid in ids:
        env.acting.can_modify("CampaignStage", item_id=cid)
    me = env.db.experimenter(env.username)["experimenter_id"]
    if is_hold not in ("Hold", "Queue", "Release"):
        raise ValueError(f"is_hold must be Hold, Queue or Release, not {is_hold!r}")
    for cid in ids:
        if cid == 0:  # the dummy stage 0 holds every launch
            env.acting.check_experiment_role()
            if env.role not in ("production", "superuser"):
                raise PermissionError("Must be role production to change this")
            env.db.set_meta("global_hold", is_hold != "Release")
            continue
        stage = env.db.stage(cid)
        if stage is None:
            continue
        if is_hold in ("Hold", "Queue"):
            stage["hold_experimenter_id"] = me
            stage["role_held_with"] = env.role
        else:
            stage["hold_experimenter_id"] = None
            stage["role_held_with"] = None
        env.db.put(T_STAGES, cid, stage)
    return {"campaign_stage_ids": ids, "is_hold": is_hold}


def _held_rows(env: Env) -> list[dict[str, Any]]:
    rows = []
    for rec in sorted(env.db.values(T_HELD), key=lambda r: r["created"]):
        if env.experiment and rec.get("experiment") != env.experiment:
            continue
        stage = env.db.stage(rec["campaign_stage_id"]) or {}
        rows.append(
            {
                "campaign_stage_id": rec["campaign_stage_id"],
                "campaign_stage_name": stage.get("name"),
                "created": env.db.iso(rec["created"]),
                "parent_submission_id": rec["parent_submission_id"],
                "dataset": rec["dataset"],
                "param_overrides": rec["param_overrides"],
                "launcher": rec["launcher"],
                "launcher_obj": env.db.experimenter_obj(rec["launcher"]),
            }
        )
    return rows


@poms_method(p=[{"p": "can_view", "t": "Experiment", "item_id": "experiment"}])
def held_launches(env: Env, **kwargs: Any) -> dict[str, Any]:
    return {"hl": _held_rows(env)}


@poms_method(
    p=[{"p": "can_view", "t": "Experiment", "item_id": "experiment"}],
    rtype="redirect",
    redirect="%(poms_path)s/held_launches/%(experiment)s/%(role)s",
)
def held_launches_remove(env: Env, createds: Any = None, **kwargs: Any) -> dict[str, Any]:
    wanted = set(createds if isinstance(createds, list) else str(createds or "").split(","))
    removed = 0
    for key, rec in list(env.db.t(T_HELD).items()):
        if env.db.iso(rec["created"]) in wanted and rec.get("experiment") == env.experiment:
            env.db.delete(T_HELD, key)
            removed += 1
    return {"removed": removed}


@poms_method(p=[{"p": "is_superuser"}])
def launch_queued_job(env: Env, **kwargs: Any) -> str:
    """Cron hook: launch the oldest queued item whose stage is no longer held."""
    for key, rec in sorted(env.db.t(T_HELD).items(), key=lambda kv: kv[1]["created"]):
        stage = env.db.stage(rec["campaign_stage_id"])
        if stage is None or stage.get("hold_experimenter_id") or env.db.meta("global_hold"):
            continue
        env.db.delete(T_HELD, key)
        launcher = env.db.username_of(rec["launcher"]) or env.username
        res = launch_stage(
            env.db,
            stage,
            launcher,
            stage.get("creator_role"),
            test=bool(rec.get("test_launch")),
            dataset_override=rec.get("dataset"),
            parent=rec.get("parent_submission_id"),
            extra_overrides=rec.get("param_overrides"),
        )
        claim_script(env.db, res["submission_id"])
        return f"launched {res['submission_id']}"
    return "none"
