"""Stage, job type and tag edits, removals (``*_rm``) and ``mark_campaign_active``."""

from __future__ import annotations

import ast
import json
from typing import Any

from .dispatch import Env, poms_method
from .model import T_CAMPAIGNS, T_JOB_TYPES, T_LOGIN_SETUPS, T_STAGES, T_TAGS, Record


# ---- edits -------------------------------------------------------------------------------------
def _stage_arg(env: Env, campaign_stage: Any) -> Record | None:
    if isinstance(campaign_stage, list) and len(campaign_stage) == 2:
        return env.db.find_stage(env.experiment, campaign_stage[0], campaign_stage[1])
    if isinstance(campaign_stage, str) and "," in campaign_stage and not campaign_stage.isdigit():
        cname, sname = campaign_stage.split(",", 1)
        return env.db.find_stage(env.experiment, cname, sname)
    return env.db.stage(campaign_stage)


def _merge_pairs(old: list[Any], new_text: Any) -> list[list[str]]:
    if not isinstance(new_text, str):
        raise ValueError(f"malformed node or string: {new_text!r}")
    new = ast.literal_eval(new_text)  # ValueError/SyntaxError as on the server
    merged: dict[str, str] = {str(k): str(v) for k, v in (old or [])}
    for k, v in new:
        if v in (None, ""):
            merged.pop(str(k), None)
        else:
            merged[str(k)] = str(v)
    return [[k, v] for k, v in merged.items()]


@poms_method(
    p=[
        {"p": "can_modify", "t": "CampaignStage", "item_id": "campaign_stage"},
        {"p": "can_modify", "t": "CampaignStage", "name": "campaign_stage"},
    ]
)
def update_stage_param_overrides(
    env: Env,
    campaign_stage: Any = None,
    param_overrides: Any = None,
    test_param_overrides: Any = None,
) -> str:
    stage = _stage_arg(env, campaign_stage)
    if stage is None:
        return ""
    try:
        if param_overrides is not None:
            stage["param_overrides"] = _merge_pairs(stage.get("param_overrides") or [], param_overrides)
        if test_param_overrides is not None:
            stage["test_param_overrides"] = _merge_pairs(
                stage.get("test_param_overrides") or [], test_param_overrides
            )
    except SyntaxError as exc:
        raise ValueError(str(exc)) from exc
    stage["updater"] = env.db.experimenter(env.username)["experimenter_id"]
    stage["updated"] = env.db.now()
    env.db.put(T_STAGES, stage["campaign_stage_id"], stage)
    return repr((stage["param_overrides"], stage["test_param_overrides"]))


_EDITABLE = {
    "vo_role",
    "software_version",
    "dataset",
    "cs_split_type",
    "cs_split_dimensions",
    "cs_last_split",
    "completion_type",
    "completion_pct",
    "param_overrides",
    "test_param_overrides",
    "test_split_type",
    "merge_overrides",
    "output_ancestor_depth",
    "default_clear_cronjob",
    "campaign_stage_type",
    "name",
    "job_type_id",
    "login_setup_id",
}


@poms_method(
    p=[
        {"p": "can_modify", "t": "CampaignStage", "item_id": "campaign_stage"},
        {"p": "can_modify", "t": "CampaignStage", "name": "campaign_stage"},
    ]
)
def update_campaign_stage(env: Env, campaign_stage: Any = None, **fields: Any) -> str:
    stage = _stage_arg(env, campaign_stage)
    if stage is None:
        return ""
    for key, val in fields.items():
        if key not in _EDITABLE:
            raise AttributeError(f"type object 'CampaignStage' has no attribute '{key}'")
        if key in ("param_overrides", "test_param_overrides"):
            val = json.loads(val) if isinstance(val, str) else val
        elif key in (
            "completion_pct",
            "output_ancestor_depth",
            "cs_last_split",
            "job_type_id",
            "login_setup_id",
        ):
            val = None if val in ("", "None") else int(val)
        elif key in ("merge_overrides", "default_clear_cronjob"):
            val = str(val).lower() in ("true", "1", "t", "yes")
        stage[key] = val
    stage["updater"] = env.db.experimenter(env.username)["experimenter_id"]
    stage["updated"] = env.db.now()
    env.db.put(T_STAGES, stage["campaign_stage_id"], stage)
    return "Success"


@poms_method(rtype="json", p=[{"p": "can_modify", "t": "JobType", "item_id": "job_type_id"}])
def modify_job_type_recoveries(env: Env, job_type_id: Any, recoveries: Any) -> list[Any]:
    jt = env.db.job_type(job_type_id)
    if jt is None:
        raise AttributeError("'NoneType' object has no attribute 'job_type_id'")
    new = json.loads(recoveries) if isinstance(recoveries, str) else recoveries
    current: list[list[Any]] = [list(r) for r in jt.get("recoveries") or []]
    names = [r[0] for r in current]
    for rname, rover in new:
        if rname not in names:
            current.append([rname, rover])
            names.append(rname)
            continue
        # with the bug switch on, the real loop's behaviour: merge into the last existing key
        target = current[-1] if env.db.settings.bug_recoveries_merge else current[names.index(rname)]
        merged = {str(k): v for k, v in target[1] or []}
        merged.update({str(k): v for k, v in rover or []})
        target[1] = [[k, v] for k, v in merged.items()]
    jt["recoveries"] = current
    env.db.put(T_JOB_TYPES, jt["job_type_id"], jt)
    return current


# ---- tags --------------------------------------------------------------------------------------
def _tag(env: Env, tag_name: Any) -> Record:
    for tag in env.db.values(T_TAGS):
        if tag["tag_name"] == tag_name and tag["experiment"] == env.experiment:
            return tag
    tid = env.db.next_id(T_TAGS)
    tag = {"tag_id": tid, "tag_name": str(tag_name), "experiment": env.experiment}
    env.db.put(T_TAGS, tid, tag)
    return tag


@poms_method(rtype="json", p=[{"p": "can_modify", "t": "Campaign", "item_id": "campaign_id"}])
def link_tags(env: Env, campaign_id: Any, tag_name: Any, experiment: Any = None) -> dict[str, Any]:
    tag = _tag(env, tag_name)
    for cid in str(campaign_id).split(","):
        camp = env.db.campaign(cid.strip())
        if camp is None:
            continue
        env.acting.can_modify("Campaign", item_id=camp["campaign_id"])
        if tag["tag_id"] not in camp.setdefault("tag_ids", []):
            camp["tag_ids"].append(tag["tag_id"])
            env.db.put(T_CAMPAIGNS, camp["campaign_id"], camp)
    return {"campaign_id": campaign_id, "tag_id": tag["tag_id"], "tag_name": tag["tag_name"], "msg": "OK"}


@poms_method(rtype="json", p=[{"p": "can_modify", "t": "Campaign", "item_id": "campaign_id"}])
def delete_campaigns_tags(
    env: Env, campaign_id: Any, tag_id: Any = None, tag_name: Any = None, delete_unused_tag: Any = None
) -> dict[str, Any]:
    ids = [int(t) for t in str(tag_id or "").split(",") if t.strip().isdigit()]
    if tag_name:
        ids += [
            t["tag_id"]
            for t in env.db.values(T_TAGS)
            if t["tag_name"] == tag_name and t["experiment"] == env.experiment
        ]
    for cid in str(campaign_id).split(","):
        camp = env.db.campaign(cid.strip())
        if camp is None:
            continue
        env.acting.can_modify("Campaign", item_id=camp["campaign_id"])
        camp["tag_ids"] = [t for t in camp.get("tag_ids", []) if t not in ids]
        env.db.put(T_CAMPAIGNS, camp["campaign_id"], camp)
    return {"campaign_id": campaign_id, "tag_id": tag_id, "msg": "OK"}


# ---- removals (pcl_call=1: only the caller's own objects) --------------------------------------
def _rm(env: Env, table: str, name: Any, kind: str, id_key: str, ref_key: str) -> dict[str, Any]:
    db = env.db
    me = db.experimenter(env.username)["experimenter_id"]
    rec = next((r for r in db.values(table) if r["name"] == name and r["experiment"] == env.experiment), None)
    if rec is None or rec.get("creator") != me:
        return {"message": f"{kind} '{name}' not found or not created by you."}
    env.acting.can_modify(kind, item_id=rec[id_key])
    users = [s["name"] for s in db.values(T_STAGES) if s.get(ref_key) == rec[id_key]]
    if users:
        return {
            "message": f"The {kind} '{name}' is used by campaign stage(s) {', '.join(sorted(users))}; "
            "it cannot be deleted."
        }
    db.delete(table, rec[id_key])
    return {"message": f"The {kind} '{name}' has been deleted."}


@poms_method(rtype="json")
def job_type_rm(
    env: Env, ae_definition_name: Any = None, pcl_call: Any = None, **kwargs: Any
) -> dict[str, Any]:
    env.acting.check_experiment_role()
    return _rm(env, T_JOB_TYPES, ae_definition_name, "JobType", "job_type_id", "job_type_id")


@poms_method(rtype="json")
def login_setup_rm(
    env: Env, ae_launch_name: Any = None, pcl_call: Any = None, **kwargs: Any
) -> dict[str, Any]:
    env.acting.check_experiment_role()
    res = _rm(env, T_LOGIN_SETUPS, ae_launch_name, "LoginSetup", "login_setup_id", "login_setup_id")
    if res["message"].endswith("has been deleted."):
        # The real handler returns a Query object here: JSON encoding fails after the commit.
        raise TypeError("Object of type Query is not JSON serializable")
    return res


@poms_method(p=[{"p": "can_modify", "t": "Campaign", "item_id": "campaign_id"}])
def mark_campaign_active(env: Env, campaign_id: Any = None, is_active: Any = None, camp_l: Any = None) -> str:
    ids = [campaign_id] if campaign_id else str(camp_l or "").split(",")
    flag = str(is_active).lower() in ("true", "1", "t", "yes", "active")
    for cid in ids:
        camp = env.db.campaign(cid)
        if camp is None:
            continue
        env.acting.can_modify("Campaign", item_id=camp["campaign_id"])
        camp["active"] = flag
        env.db.put(T_CAMPAIGNS, camp["campaign_id"], camp)
    return ""
