"""The deprecated ``*_edit`` endpoints poms_client still calls with ``pcl_call=1`` and ``ae_*`` fields.

They create, edit or delete job types, login setups and campaign stages. The real handlers render
HTML templates; clients only look at the status code, so the emulator answers the template data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .dispatch import Env, poms_method
from .errors import HTTPError
from .ini import parse_pairs
from .model import T_JOB_TYPES, T_LOGIN_SETUPS, T_STAGES, Record


def _find(env: Env, table: str, name: Any) -> Record | None:
    return next(
        (r for r in env.db.values(table) if r["name"] == name and r["experiment"] == env.experiment), None
    )


def _in_use(env: Env, key: str, value: int) -> list[str]:
    return sorted(s["name"] for s in env.db.values(T_STAGES) if s.get(key) == value)


def _form_edit(
    env: Env,
    table: str,
    kind: str,
    action: Any,
    name: Any,
    created: Record,
    changes: Mapping[str, Any],
) -> dict[str, Any]:
    """The add/delete/edit form both job types and login setups use (the record's id is
    ``<table singular>_id``). ``created`` is the new record's own fields, ``changes`` what an edit
    sets (None leaves a field alone). Refusals are a message in the answer, as in POMS' template."""
    db = env.db
    id_key = {T_JOB_TYPES: "job_type_id", T_LOGIN_SETUPS: "login_setup_id"}[table]
    rec = _find(env, table, name)
    me = db.experimenter(env.username)["experimenter_id"]
    if action == "add":
        if rec is not None or name in (None, ""):
            return {"data": {"message": f"{kind} '{name}' already exists or has no name."}}
        new_id = db.next_id(table)
        db.put(
            table,
            new_id,
            {
                id_key: new_id,
                "name": str(name),
                "experiment": env.experiment,
                **created,
                "creator": me,
                "created": db.now(),
                "updater": None,
                "updated": None,
                "creator_role": env.role,
                "active": True,
            },
        )
        return {"data": {"message": "", id_key: new_id}}
    if rec is None:
        return {"data": {"message": f"{kind} '{name}' not found."}}
    if action == "delete":
        users = _in_use(env, id_key, rec[id_key])
        if users:
            return {"data": {"message": f"{kind} '{name}' is used by {', '.join(users)}."}}
        db.delete(table, rec[id_key])
        return {"data": {"message": ""}}
    if action == "edit":
        rec.update({key: val for key, val in changes.items() if val is not None})
        rec.update(updater=me, updated=db.now())
        db.put(table, rec[id_key], rec)
        return {"data": {"message": "", id_key: rec[id_key]}}
    return {"data": {"message": f"unknown action {action!r}"}}


@poms_method(p=[{"p": "can_modify", "t": "LoginSetup", "name": "ae_launch_name"}])
def login_setup_edit(
    env: Env,
    action: Any = None,
    ae_launch_name: Any = None,
    ae_launch_host: Any = None,
    ae_launch_account: Any = None,
    ae_launch_setup: Any = None,
    **kwargs: Any,
) -> dict[str, Any]:
    changes = {
        "launch_host": ae_launch_host,
        "launch_account": ae_launch_account,
        "launch_setup": ae_launch_setup,
    }
    created = {key: val or "" for key, val in changes.items()}
    return _form_edit(env, T_LOGIN_SETUPS, "LoginSetup", action, ae_launch_name, created, changes)


@poms_method()
def launch_template_edit(env: Env, **kwargs: Any) -> dict[str, Any]:
    """Old name of login_setup_edit."""
    env.acting.can_modify("LoginSetup", name=kwargs.get("ae_launch_name"))
    return login_setup_edit(env, **kwargs)


@poms_method(p=[{"p": "can_modify", "t": "JobType", "name": "ae_definition_name"}])
def job_type_edit(
    env: Env,
    action: Any = None,
    ae_definition_name: Any = None,
    ae_output_file_patterns: Any = None,
    ae_launch_script: Any = None,
    ae_definition_parameters: Any = None,
    ae_definition_recovery: Any = None,
    **kwargs: Any,
) -> dict[str, Any]:
    params = (
        parse_pairs(ae_definition_parameters, "ae_definition_parameters")
        if ae_definition_parameters
        else None
    )
    recs = json.loads(ae_definition_recovery) if ae_definition_recovery not in (None, "", "null") else None
    changes = {
        "launch_script": ae_launch_script,
        "output_file_patterns": ae_output_file_patterns,
        "definition_parameters": params,
        "recoveries": None if recs is None else [[r[0], r[1]] for r in recs],
    }
    created = {
        "launch_script": ae_launch_script or "",
        "definition_parameters": params or [],
        "output_file_patterns": ae_output_file_patterns or "%",
        "recoveries": changes["recoveries"] or [],
    }
    return _form_edit(env, T_JOB_TYPES, "JobType", action, ae_definition_name, created, changes)


@poms_method()
def campaign_definition_edit(env: Env, **kwargs: Any) -> dict[str, Any]:
    """Old name of job_type_edit."""
    env.acting.can_modify("JobType", name=kwargs.get("ae_definition_name"))
    return job_type_edit(env, **kwargs)


_STAGE_FIELDS = {
    "ae_vo_role": "vo_role",
    "ae_dataset": "dataset",
    "ae_split_type": "cs_split_type",
    "ae_software_version": "software_version",
    "ae_completion_type": "completion_type",
}


@poms_method(p=[{"p": "can_modify", "t": "CampaignStage", "item_id": "campaign_stage_id"}])
def campaign_stage_edit(
    env: Env,
    action: Any = None,
    ae_campaign_name: Any = None,
    ae_stage_name: Any = None,
    pcl_call: Any = None,
    campaign_stage_id: Any = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Edit an existing stage (add/delete go through .ini uploads in the emulator)."""
    db = env.db
    stage = db.stage(campaign_stage_id) if campaign_stage_id else None
    if stage is None and ae_stage_name:
        camp = db.find_campaign(env.experiment, ae_campaign_name) or db.campaign(ae_campaign_name)
        stage = (
            next((s for s in db.stages_of(camp["campaign_id"]) if s["name"] == ae_stage_name), None)
            if camp
            else None
        )
    message = ""
    if action != "edit":
        message = f"action {action!r} is not supported here: upload a campaign .ini instead"
    elif stage is None:
        message = f"Campaign stage '{ae_stage_name}' not found"
    else:
        env.acting.can_modify("CampaignStage", item_id=stage["campaign_stage_id"])
        for form_key, col in _STAGE_FIELDS.items():
            if kwargs.get(form_key) not in (None, ""):
                stage[col] = kwargs[form_key]
        if kwargs.get("ae_completion_pct") not in (None, ""):
            stage["completion_pct"] = int(kwargs["ae_completion_pct"])
        for form_key, col in (
            ("ae_param_overrides", "param_overrides"),
            ("ae_test_param_overrides", "test_param_overrides"),
        ):
            if kwargs.get(form_key) not in (None, ""):
                stage[col] = parse_pairs(kwargs[form_key], form_key)
        stage.update(updater=db.experimenter(env.username)["experimenter_id"], updated=db.now())
        db.put(T_STAGES, stage["campaign_stage_id"], stage)
    if str(pcl_call) == "1" and message:
        raise HTTPError(400, message)
    return {"data": {"message": message}}
