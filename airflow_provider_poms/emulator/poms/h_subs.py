"""Submission endpoints: ids, updates, details, listings, kills, force-locate, cron hooks."""

from __future__ import annotations

from typing import Any

from airflow_provider_poms.states import PomsStatus

from .dispatch import Env, poms_method
from .h_launch import NoResultFound, stage_by_id_or_name
from .model import T_ACTIVE, T_SUBMISSIONS, Db, Record, int_or_none
from .subs import (
    apply_update,
    current_status,
    details_json,
    new_submission,
    output_dims,
    set_status,
    status_history_json,
    status_label,
)
from .timefmt import days, parse_window_time, utc_iso, utc_space


@poms_method(p=[{"p": "can_do", "t": "CampaignStage", "item_id": "campaign_stage_id"}])
def get_submission_id_for(
    env: Env,
    campaign_stage_id: Any = None,
    user: Any = None,
    command_executed: Any = "",
    input_dataset: Any = "",
    parent_task_id: Any = None,
    task_id: Any = None,
    parent_submission_id: Any = None,
    submission_id: Any = None,
    campaign: Any = None,
    test: Any = None,
) -> str:
    """``Task=<id>``: creates a New submission, or (with submission_id) records the wrapper's info."""
    db = env.db
    sid = submission_id or task_id
    if sid:
        sub = db.submission(sid)
        if sub is None:
            raise NoResultFound("No row was found when one was required")
        if command_executed:
            sub["command_executed"] = str(command_executed)
        if user:
            sub["creator"] = db.experimenter(str(user))["experimenter_id"]
        db.save_submission(sub)
        return f"Task={sub['submission_id']}"
    stage = stage_by_id_or_name(env, campaign_stage_id or campaign)
    creator = str(user) if user and db.identity(str(user)) else env.username
    parent = int_or_none(parent_submission_id or parent_task_id)
    params: dict[str, Any] = {"dataset": input_dataset or None}
    if parent:
        params["parent"] = parent
    sub = new_submission(
        db,
        stage,
        creator,
        params=params,
        command_executed=str(command_executed or ""),
        parent=parent,
        batch=False,
    )
    return f"Task={sub['submission_id']}"


@poms_method(name="get_task_id_for")
def get_task_id_for(env: Env, **kwargs: Any) -> str:
    """Deprecated alias (not decorated on the real server: no permission check of its own)."""
    if "campaign" in kwargs and "campaign_stage_id" not in kwargs:
        kwargs["campaign_stage_id"] = kwargs.pop("campaign")
    env.acting.can_do("CampaignStage", item_id=kwargs.get("campaign_stage_id"))
    return get_submission_id_for(env, **kwargs)


@poms_method(p=[{"p": "can_do", "t": "Submission", "item_id": "submission_id"}])
def update_submission(
    env: Env,
    submission_id: Any,
    jobsub_job_id: Any,
    pct_complete: Any = None,
    status: Any = None,
    project: Any = None,
) -> str:
    sub = env.db.submission(submission_id)
    if sub is None:
        return "Unknown."
    apply_update(
        env.db,
        sub,
        env.username,
        jobsub_job_id=jobsub_job_id or None,
        status=status,
        project=project or None,
        pct_complete=pct_complete,
    )
    return "Ok."


@poms_method(p=[{"p": "can_view", "t": "Submission", "item_id": "submission_id"}])
def submission_details(env: Env, submission_id: Any, **kwargs: Any) -> dict[str, Any]:
    sub = env.db.submission(submission_id)
    if sub is None:
        raise NoResultFound("No row was found when one was required")
    return details_json(env.db, sub)


@poms_method(rtype="json", p=[{"p": "can_view", "t": "Submission", "item_id": "submission_id"}])
def session_status_history(env: Env, submission_id: Any) -> list[dict[str, Any]]:
    sub = env.db.submission(submission_id)
    return status_history_json(env.db, sub) if sub else []


# ---- campaign_stage_submissions ----------------------------------------------------------------
def _fmt_days(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else f"{n:g}"


def _window(env: Env, earliest: float) -> tuple[float, float, float]:
    now = env.db.now()
    tmin = parse_window_time(env.tmin) if env.tmin else None
    tmax = parse_window_time(env.tmax) if env.tmax else None
    tdays = float(env.tdays) if env.tdays not in (None, "") else None
    if tmax is not None and tdays is not None and tmin is None:
        tmin = tmax - days(tdays)
    elif tmin is not None and tdays is not None and tmax is None:
        tmax = tmin + days(tdays)
    elif tdays is not None and tmin is None and tmax is None:
        tmax = now
        tmin = now - days(tdays)
    if tmax is None:
        tmax = now
    if tmin is None:
        tmin = earliest
    return tmin, tmax, (tmax - tmin) / 86400.0


def _depth(db: Db, sub: Record) -> int:
    depth, seen, cur = 0, set(), sub
    while True:
        parent = (
            cur.get("depends_on") or cur.get("recovery_tasks_parent") or (cur.get("_emu") or {}).get("parent")
        )
        if not parent or parent in seen:
            return depth
        seen.add(parent)
        nxt = db.submission(parent)
        if nxt is None:
            return depth + 1
        depth += 1
        cur = nxt


def stage_submission_rows(
    db: Db, stages: list[Record], tmin: float, tmax: float
) -> tuple[list[Record], dict, dict]:
    rows: list[Record] = []
    depends: dict[str, Any] = {}
    depth: dict[str, int] = {}
    for stage in stages:
        for sub in db.submissions_of_stage(stage["campaign_stage_id"]):
            created, updated = sub.get("created") or 0, sub.get("updated") or 0
            if not (tmin <= created <= tmax or tmin <= updated <= tmax):
                continue
            jid = sub.get("jobsub_job_id")
            cluster, _, schedd = (jid or "").partition("@")
            key = str(sub["submission_id"])
            parent = (
                sub.get("depends_on")
                or sub.get("recovery_tasks_parent")
                or (sub.get("_emu") or {}).get("parent")
            )
            depends[key] = parent
            depth[key] = _depth(db, sub)
            rows.append(
                {
                    "submission_id": sub["submission_id"],
                    "jobsub_job_id": jid,
                    "created": db.iso(created),
                    "creator": db.username_of(sub["creator"]),
                    "status": status_label(sub),
                    "jobsub_cluster": cluster if jid else "unknown.0",
                    "jobsub_schedd": schedd if jid and schedd else "unknown.un.known",
                    "campaign_stage_name": stage["name"],
                    "available_output": int(sub.get("files_generated") or 0),
                    "output_dims": output_dims(db, sub),
                    "handler": "SAM",
                    "dd_summary": None,
                }
            )
    rows.sort(key=lambda r: r["submission_id"])
    return rows, depends, depth


@poms_method(
    p=[
        {"p": "can_view", "t": "CampaignStage", "item_id": "campaign_stage_id"},
        {"p": "can_view", "t": "Campaign", "item_id": "campaign_id"},
    ]
)
def campaign_stage_submissions(
    env: Env,
    campaign_name: Any = None,
    stage_name: Any = None,
    campaign_stage_id: Any = None,
    campaign_id: Any = None,
    **kwargs: Any,
) -> dict[str, Any]:
    db = env.db
    camp = db.campaign(campaign_id) if campaign_id else db.find_campaign(env.experiment, campaign_name)
    stages: list[Record] = []
    if campaign_stage_id:
        st = db.stage(campaign_stage_id)
        stages = [st] if st else []
    elif camp is not None:
        stages = [
            s
            for s in db.stages_of(camp["campaign_id"])
            if stage_name in (None, "", "*") or s["name"] == stage_name
        ]
    earliest = min((s.get("created") or db.now() for s in stages), default=db.now())
    tmin, tmax, tdays = _window(env, earliest)
    query = [
        ("campaign_name", campaign_name),
        ("stage_name", stage_name),
        ("campaign_stage_id", campaign_stage_id),
        ("campaign_id", campaign_id),
    ]
    base = "&".join(f"{k}={v}" for k, v in query if v is not None)
    link = f"{env.path}/campaign_stage_submissions/{env.experiment}/{env.role}?{base}"
    nd = _fmt_days(round(tdays, 2))
    data: dict[str, Any] = {
        "tmin": utc_iso(tmin),
        "tmax": utc_iso(tmax),
        "tdays": round(tdays, 2),
        "tminsec": str(int(tmin)),
        "nextlink": f"{link}&tmax={utc_space(tmax + days(tdays)).replace(' ', '+')}&tdays={nd}",
        "prevlink": f"{link}&tmax={utc_space(tmin).replace(' ', '+')}&tdays={nd}",
    }
    if stages:
        rows, depends, depth = stage_submission_rows(db, stages, tmin, tmax)
        data["depends"] = depends
        data["depth"] = depth
        data["darrow"] = {k: ("&rarr;" * v if v else "") for k, v in depth.items()}
        data["submissions"] = rows
    return {"data": data}


@poms_method(rtype="json", p=[{"p": "can_view", "t": "Experiment", "item_id": "experiment"}])
def running_submissions(env: Env, **kwargs: Any) -> Any:
    raw = kwargs["campaign_id_list"]
    ids = [int(x) for x in str(raw).split(",")] if raw else None
    since = env.db.now() - days(4)
    running = (PomsStatus.NEW, PomsStatus.IDLE, PomsStatus.RUNNING)
    counts: dict[str, int] = {}
    rows: list[list[Any]] = []
    for sub in env.db.values(T_SUBMISSIONS):
        if (sub.get("created") or 0) < since or current_status(sub) not in running:
            continue
        stage = env.db.stage(sub["campaign_stage_id"]) or {}
        if ids is not None:
            if stage.get("campaign_id") in ids:
                key = str(stage["campaign_id"])
                counts[key] = counts.get(key, 0) + 1
        else:
            rows.append([sub["submission_id"], sub.get("jobsub_job_id"), stage.get("experiment")])
    if ids is not None:
        return {str(c): counts.get(str(c), 0) for c in ids}
    return sorted(rows, key=lambda r: r[0])


# ---- kill_jobs / force_locate ------------------------------------------------------------------
def _subs_for_kill(
    env: Env, campaign_id: Any, campaign_stage_id: Any, submission_id: Any
) -> tuple[list[Record], Any]:
    db = env.db
    if submission_id:
        sub = db.submission(submission_id)
        if sub is None:
            raise NoResultFound("No row was found when one was required")
        from .subs import submission_json

        return [sub], submission_json(db, sub)
    if campaign_stage_id:
        stage = db.stage(campaign_stage_id)
        if stage is None:
            raise NoResultFound("No row was found when one was required")
        return db.submissions_of_stage(stage["campaign_stage_id"]), db.stage_json(stage)
    camp = db.campaign(campaign_id)
    if camp is None:
        raise KeyError("submission_id")
    subs: list[Record] = []
    for st in db.stages_of(camp["campaign_id"]):
        subs.extend(db.submissions_of_stage(st["campaign_stage_id"]))
    return subs, db.campaign_json(camp)


@poms_method(
    p=[
        {"p": "can_do", "t": "Submission", "item_id": "submission_id"},
        {"p": "can_do", "t": "CampaignStage", "item_id": "campaign_stage_id"},
        {"p": "can_do", "t": "Campaign", "item_id": "campaign_id"},
    ]
)
def kill_jobs(
    env: Env,
    campaign_id: Any = None,
    campaign_stage_id: Any = None,
    submission_id: Any = None,
    job_id: Any = None,
    confirm: Any = None,
    act: Any = "kill",
) -> dict[str, Any]:
    subs, obj = _subs_for_kill(env, campaign_id, campaign_stage_id, submission_id)
    live = (PomsStatus.NEW, PomsStatus.IDLE, PomsStatus.RUNNING, PomsStatus.HELD)
    if not submission_id:
        subs = [s for s in subs if current_status(s) in live]
    output: list[str] = []
    if act not in ("kill", "cancel", "hold", "release"):
        raise ValueError(f"act must be kill, cancel, hold or release, not {act!r}")
    verb = {"kill": "jobsub_rm", "cancel": "jobsub_rm", "hold": "jobsub_hold", "release": "jobsub_release"}[
        act
    ]
    role = "Analysis" if env.role == "analysis" else "Production"
    for sub in subs:
        jid = sub.get("jobsub_job_id") or "unknown.0@unknown.un.known"
        output.append(f"{verb} -G {env.experiment} --role {role} --jobid {jid}")
    if confirm is None:
        return {
            "output": output,
            "s": obj,
            "campaign_stage_id": campaign_stage_id,
            "submission_id": submission_id,
            "job_id": job_id,
            "confirm_needed": True,
        }
    for sub in subs:
        emu = sub.setdefault("_emu", {})
        if act == "kill":
            set_status(env.db, sub, PomsStatus.REMOVED, env.username)
        elif act == "cancel":
            set_status(env.db, sub, PomsStatus.CANCELLED, env.username)
        elif act == "hold":
            emu["paused"] = True
            env.db.save_submission(sub)
        else:
            emu["paused"] = False
            env.db.save_submission(sub)
    output.append(f"{act}: {len(subs)} submission(s)")
    return {
        "output": output,
        "s": obj,
        "campaign_stage_id": campaign_stage_id,
        "submission_id": submission_id,
        "job_id": job_id,
    }


@poms_method(p=[{"p": "can_view", "t": "Submission", "item_id": "submission_id"}])
def force_locate_submission(env: Env, submission_id: Any) -> str:
    sub = env.db.submission(submission_id)
    if sub is None:
        raise NoResultFound("No row was found when one was required")
    params = dict(sub.get("submission_params") or {})
    params["force_located"] = True
    sub["submission_params"] = params
    env.db.save_submission(sub)
    if sub["submission_id"] is not None:
        env.db.t(T_ACTIVE).put(str(sub["submission_id"]), 1)
    return "Ok."


@poms_method(p=[{"p": "is_superuser"}], rtype="text")
def wrapup_tasks(env: Env, **kwargs: Any) -> str:
    from .actors import wrapup

    return "\n".join(wrapup(env.db, force_run=True))


@poms_method(p=[{"p": "is_superuser"}])
def mark_failed_submissions(env: Env, **kwargs: Any) -> str:
    from .actors import mark_failed

    return "\n".join(mark_failed(env.db))
