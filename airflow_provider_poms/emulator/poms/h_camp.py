"""Campaign endpoints: show_campaigns (+ campaign_rm), stage listings, lookups, lists, .ini."""

from __future__ import annotations

from typing import Any

from .dispatch import Env, Upload, poms_method
from .errors import HTTPError
from .ini import export_ini, save_campaign
from .model import T_CAMPAIGNS, T_DEPS, T_JOB_TYPES, T_LOGIN_SETUPS, T_STAGES, T_SUBMISSIONS, Record
from .timefmt import local_space


def _last(val: Any) -> Any:
    return val[-1] if isinstance(val, list) and val else val


# ---- show_campaigns (+ campaign_rm) ------------------------------------------------------------
def _campaign_rm(env: Env, name: Any, cid: Any, pcl_call: Any) -> str:
    db = env.db
    camp = db.campaign(cid) if cid else db.find_campaign(env.experiment, _last(name))
    me = db.experimenter(env.username)["experimenter_id"]
    if camp is None or (str(pcl_call) == "1" and camp.get("creator") != me):
        return f"Campaign '{_last(name) or cid}' not found or not owned by you."
    env.acting.can_modify("Campaign", item_id=camp["campaign_id"])
    stages = db.stages_of(camp["campaign_id"])
    if any(db.stage_submission_ids(s["campaign_stage_id"]) for s in stages):
        return f"Cannot delete campaign '{camp['name']}': it has submissions. Mark it inactive instead."
    ids = {s["campaign_stage_id"] for s in stages}
    for key, dep in list(db.t(T_DEPS).items()):
        if dep["provides_campaign_stage_id"] in ids or dep["needs_campaign_stage_id"] in ids:
            db.delete(T_DEPS, key)
    for s in stages:
        db.delete(T_STAGES, s["campaign_stage_id"])
    db.delete(T_CAMPAIGNS, camp["campaign_id"])
    return f"Campaign '{camp['name']}' has been deleted."


@poms_method(p=[{"p": "can_view", "t": "Experiment", "item_id": "experiment"}], need_er=True)
def show_campaigns(
    env: Env,
    experiment: Any = None,
    role: Any = None,
    view_active: Any = None,
    view_inactive: Any = None,
    view_mine: Any = None,
    view_others: Any = None,
    view_production: Any = None,
    view_analysis: Any = None,
    update_view: Any = None,
    action: Any = None,
    del_campaign_name: Any = None,
    del_campaign_id: Any = None,
    pcl_call: Any = None,
    **kwargs: Any,
) -> dict[str, Any]:
    db = env.db
    me = db.experimenter(env.username)["experimenter_id"]
    msg = "OK"
    if action == "delete":
        msg = _campaign_rm(env, del_campaign_name, del_campaign_id, pcl_call)
    if not update_view and not any(
        (view_active, view_inactive, view_mine, view_others, view_production, view_analysis)
    ):
        view_active, view_mine, view_others = "view_active", me, me
        view_analysis = "view_analysis" if env.role == "analysis" else None
        view_production = "view_production" if env.role != "analysis" else None
    tl: list[Record] = []
    authorized: list[bool] = []
    for camp in sorted(db.values(T_CAMPAIGNS), key=lambda c: c["campaign_id"]):
        if camp["experiment"] != env.experiment:
            continue
        if (camp.get("active") and not view_active) or (not camp.get("active") and not view_inactive):
            continue
        mine = camp.get("creator") == me
        if (mine and not view_mine) or (not mine and not view_others):
            continue
        is_analysis = camp.get("creator_role") == "analysis"
        if (is_analysis and not view_analysis) or (not is_analysis and not view_production):
            continue
        tl.append(db.campaign_json(camp))
        try:
            env.acting.can_modify("Campaign", item_id=camp["campaign_id"])
            authorized.append(True)
        except PermissionError:
            authorized.append(False)
    last = [
        s.get("created") or 0
        for s in db.values(T_SUBMISSIONS)
        if (db.stage(s["campaign_stage_id"]) or {}).get("experiment") == env.experiment
    ]
    return {
        "tl": tl,
        "last_activity": local_space(max(last), db.settings.timezone) if last else "",
        "msg": msg,
        "data": {
            "view_active": view_active,
            "view_inactive": view_inactive,
            "view_mine": view_mine,
            "view_others": view_others,
            "view_analysis": view_analysis,
            "view_production": view_production,
            "watching": [],
            "authorized": authorized,
            "authorized_shifter": authorized,
        },
        "experiment": env.experiment,
        "role": env.role,
    }


@poms_method(need_er=True)
def show_campaign_stages(
    env: Env,
    experiment: Any = None,
    role: Any = None,
    campaign_name: Any = None,
    campaign_ids: Any = None,
    view_active: Any = None,
    view_inactive: Any = None,
    view_mine: Any = None,
    view_others: Any = None,
    view_production: Any = None,
    view_analysis: Any = None,
    update_view: Any = None,
    **kwargs: Any,
) -> dict[str, Any]:
    db = env.db  # no permission check: the real handler has none either
    ids = {int(x) for x in str(campaign_ids).split(",") if x.strip().isdigit()} if campaign_ids else None
    stages: list[Record] = []
    for camp in sorted(db.values(T_CAMPAIGNS), key=lambda c: c["campaign_id"]):
        if camp["experiment"] != env.experiment:
            continue
        if campaign_name and camp["name"] != campaign_name:
            continue
        if ids is not None and camp["campaign_id"] not in ids:
            continue
        stages += [db.stage_json(s) for s in db.stages_of(camp["campaign_id"])]
    now = db.now()
    tdays = float(env.tdays) if env.tdays else 7.0
    from .timefmt import utc_iso, utc_space

    tmax, tmin = now, now - tdays * 86400
    link = f"{env.path}/show_campaign_stages/{env.experiment}/{env.role}"
    return {
        "campaign_stages": stages,
        "tmin": utc_iso(tmin),
        "tmax": utc_iso(tmax),
        "tmins": utc_space(tmin),
        "tmaxs": utc_space(tmax),
        "tdays": tdays,
        "nextlink": f"{link}?tmax={utc_space(tmax + tdays * 86400)}&tdays={tdays:g}",
        "prevlink": f"{link}?tmax={utc_space(tmin)}&tdays={tdays:g}",
        "time_range_string": f"{utc_space(tmin)} to {utc_space(tmax)}",
        "data": {
            "view_active": view_active,
            "view_inactive": view_inactive,
            "view_mine": view_mine,
            "view_others": view_others,
            "view_production": view_production,
            "view_analysis": view_analysis,
        },
        "template": "show_campaign_stages.html"
        if campaign_ids is None
        else "show_campaign_stages_stats.html",
        "limit_experiment": env.experiment,
        "key": "",
    }


@poms_method(rtype="json", p=[{"p": "can_view", "t": "Experiment", "item_id": "experiment"}])
def campaign_list_json(env: Env, **kwargs: Any) -> list[dict[str, Any]]:
    """Every stage of every experiment (it is meant for Landscape)."""
    return [
        {"campaign_stage_id": s["campaign_stage_id"], "name": s["name"], "experiment": s["experiment"]}
        for s in sorted(env.db.values(T_STAGES), key=lambda s: s["campaign_stage_id"])
    ]


# ---- lookups -----------------------------------------------------------------------------------
@poms_method(rtype="json", p=[{"p": "can_view", "t": "Campaign", "name": "campaign_name"}])
def get_campaign_id(env: Env, campaign_name: Any) -> Any:
    camp = env.db.find_campaign(env.experiment, campaign_name)
    return camp["campaign_id"] if camp else None


@poms_method()
def get_campaign_name(env: Env, campaign_id: Any) -> str:
    camp = env.db.campaign(campaign_id)
    return camp["name"] if camp and camp["experiment"] == env.experiment else ""


@poms_method(
    rtype="json",
    p=[
        {
            "p": "can_view",
            "t": "CampaignStage",
            "name": "campaign_stage_name",
            "campaign_name": "campaign_name",
        }
    ],
)
def get_campaign_stage_id(env: Env, campaign_name: Any, campaign_stage_name: Any) -> Any:
    stage = env.db.find_stage(env.experiment, campaign_name, campaign_stage_name)
    return stage["campaign_stage_id"] if stage else None


@poms_method(rtype="json", p=[{"p": "can_view", "t": "CampaignStage", "item_id": "campaign_stage_id"}])
def get_campaign_stage_name(env: Env, campaign_stage_id: Any) -> Any:
    stage = env.db.stage(campaign_stage_id)
    if env.db.settings.bug_stage_name:
        # The live server answers 400 here: the handler returns a Row, json.dumps fails.
        del stage
        raise TypeError("Object of type Row is not JSON serializable")
    return stage["name"] if stage else None


# ---- .ini -------------------------------------------------------------------------------------
@poms_method(rtype="json")
def ini_to_campaign(env: Env, upload: Any = None, **kwargs: Any) -> Any:
    if not isinstance(upload, Upload):
        if upload is None:
            raise AttributeError("'NoneType' object has no attribute 'file'")
        return "Pick the file first!"
    try:
        text = upload.data.decode("utf-8")
    except UnicodeDecodeError:
        return {"status": "400 Bad Request", "message": "Bad file format"}
    return save_campaign(env.db, env.acting, text)


@poms_method(rtype="ini", p=[{"p": "can_view", "t": "Campaign", "item_id": "camp_id"}])
def campaign_deps_ini(
    env: Env,
    name: Any = None,
    stage_id: Any = None,
    login_setup: Any = None,
    job_type: Any = None,
    full: Any = None,
    camp_id: Any = None,
) -> str:
    db = env.db
    camp = db.campaign(camp_id) if camp_id else None
    if camp is None and name:
        camp = db.find_campaign(env.experiment, name)
    if camp is None and stage_id:
        st = db.stage(stage_id)
        camp = db.campaign(st.get("campaign_id")) if st else None
    if camp is None:
        raise HTTPError(404, f"No such campaign: {name or stage_id or camp_id}")
    env.acting.can_view("Campaign", item_id=camp["campaign_id"])
    return export_ini(db, camp, full=str(full) == "1")


# ---- lists -------------------------------------------------------------------------------------
@poms_method(rtype="json", p=[{"p": "can_view", "t": "Experiment", "item_id": "experiment"}])
def experiment_list(env: Env, **kwargs: Any) -> list[str]:
    return env.db.experiments()


def _named_list(env: Env, table: str, full: Any, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """The experiment's job types or login setups by name; ``full`` adds their ``columns``."""
    rows = sorted(
        (r for r in env.db.values(table) if r["experiment"] == env.experiment), key=lambda r: r["name"]
    )
    keys = ("name", *columns) if full else ("name",)
    return [{k: r[k] for k in keys} for r in rows]


@poms_method(rtype="json", p=[{"p": "can_view", "t": "Experiment", "item_id": "experiment"}])
def jobtype_list(env: Env, full: Any = None, **kwargs: Any) -> list[dict[str, Any]]:
    columns = ("launch_script", "definition_parameters", "output_file_patterns")
    return _named_list(env, T_JOB_TYPES, full, columns)


@poms_method(rtype="json", p=[{"p": "can_view", "t": "Experiment", "item_id": "experiment"}])
def loginsetup_list(env: Env, full: Any = None, **kwargs: Any) -> list[dict[str, Any]]:
    return _named_list(env, T_LOGIN_SETUPS, full, ("launch_host", "launch_account", "launch_setup"))


@poms_method(rtype="json", p=[{"p": "can_view", "t": "Experiment", "item_id": "experiment"}])
def campaign_stage_datasets(env: Env, **kwargs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for s in env.db.values(T_STAGES):
        if s["experiment"] == env.experiment and s.get("campaign_id") is not None:
            out[str(s["campaign_stage_id"])] = s.get("dataset")
    return out
