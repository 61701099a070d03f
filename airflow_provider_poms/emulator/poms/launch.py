"""Launching a stage: holds (423), splits ("No more splits"), test launches, dependents, recoveries.

One function, :func:`launch_stage`, serves ``launch_jobs``, ``launch_campaign``,
``launch_recovery_for`` and the wrapup cron's dependent/recovery launches, the way all of them end
in ``SubmissionsPOMS.launch_jobs`` on the real server.
"""

from __future__ import annotations

import math
import re
from typing import Any

from airflow_provider_poms.states import PomsStatus

from .errors import HTTPError
from .model import RECOVERY_BY_ID, T_HELD, Db, Record
from .subs import new_submission, set_status
from .timefmt import utc_stamp


def truthy(val: Any) -> bool:
    """Form values as POMS sees them: any non-empty string (even ``"False"``) is true."""
    if isinstance(val, list):
        return bool(val)
    return val is not None and val != "" and val is not False


def _split_count(db: Db, split_type: str, stage: Record) -> int | None:
    """Number of slices a split type yields over an emulated dataset; None = unlimited."""
    st = (split_type or "").strip()
    if st in ("", "None", "none"):
        return None
    files = db.settings.dataset_files
    m = re.fullmatch(r"(\w+)(?:\((.*)\))?", st)
    kind, arg = (m.group(1), m.group(2) or "") if m else (st, "")
    nums = [int(x) for x in re.findall(r"\d+", arg)]
    if kind == "list":
        dims = str(stage.get("cs_split_dimensions") or stage.get("dataset") or "")
        return len([x for x in dims.split(",") if x.strip()])
    if kind == "mod":
        return nums[0] if nums else 1
    if kind in ("nfiles", "drainingn", "stagedfiles"):
        per = nums[0] if nums else 1
        return max(1, math.ceil(files / max(per, 1)))
    if kind in ("draining", "limitn"):
        return 1
    return None  # byrun, new, multiparam, byexistingruns: not modelled, never run dry


def _slice_dataset(stage: Record, split_type: str, index: int, count: int) -> str:
    base = str(stage.get("dataset") or "")
    if split_type.startswith("list"):
        items = [x.strip() for x in str(stage.get("cs_split_dimensions") or base).split(",") if x.strip()]
        return items[index]
    return f"{base}_slice{index}_of_{count}" if base else f"slice{index}_of_{count}"


def next_split(db: Db, stage: Record, test: bool) -> str | None:
    """Advance the stage's split; AssertionError when it has run dry (cs_last_split)."""
    split_type = str(
        (stage.get("test_split_type") if test and stage.get("test_split_type") else None)
        or stage.get("cs_split_type")
        or "None"
    )
    count = _split_count(db, split_type, stage)
    if count is None:
        ds = stage.get("dataset")
        return None if ds in (None, "", "None") else str(ds)
    last = stage.get("cs_last_split")
    index = 0 if last is None else int(last) + 1
    if index >= count:
        # POMS asserts; the 400 body reads "Unknown error AssertionError('No more splits …')"
        raise AssertionError("No more splits in this campaign.")
    stage["cs_last_split"] = index
    db.put("poms_campaign_stages", stage["campaign_stage_id"], stage)
    return _slice_dataset(stage, split_type, index, count)


def merged_params(db: Db, stage: Record, test: bool, extra: list[Any] | None = None) -> list[list[str]]:
    """Launch parameters: job type, campaign defaults (merge_overrides), stage, test overrides, extra."""
    out: dict[str, str] = {}
    jt = db.job_type(stage.get("job_type_id")) or {}
    layers: list[Any] = [jt.get("definition_parameters") or []]
    if stage.get("merge_overrides"):
        camp = db.campaign(stage.get("campaign_id")) or {}
        layers.append(((camp.get("defaults") or {}).get("defaults") or {}).get("param_overrides") or [])
    layers.append(stage.get("param_overrides") or [])
    if test:
        layers.append(stage.get("test_param_overrides") or [])
    layers.append(extra or [])
    for layer in layers:
        for pair in layer if isinstance(layer, list) else []:
            if isinstance(pair, (list, tuple)) and len(pair) == 2:
                out[str(pair[0])] = str(pair[1])
    return [[k, v] for k, v in out.items()]


def hold_message(db: Db, stage: Record) -> str | None:
    if db.meta("global_hold"):
        return "Job launches currently held.... queuing this request"
    if stage.get("hold_experimenter_id"):
        return f"Campaign stage {stage['name']} launches currently held.... queuing this request"
    return None


def queue_held(
    db: Db, stage: Record, launcher: str, parent: int | None, dataset: str | None, overrides: Any, test: bool
) -> Record:
    """A row of ``held_launches``: what a held stage would have launched."""
    key = db.next_id(T_HELD)
    rec = {
        "held_launch_id": key,
        "campaign_stage_id": stage["campaign_stage_id"],
        "created": db.now(),
        "parent_submission_id": parent,
        "dataset": dataset,
        "param_overrides": overrides,
        "launcher": db.experimenter(launcher)["experimenter_id"],
        "test_launch": test,
        "experiment": stage["experiment"],
    }
    db.put(T_HELD, key, rec)
    return rec


def launch_stage(
    db: Db,
    stage: Record,
    launcher: str,
    role: str | None,
    *,
    test: bool = False,
    dataset_override: str | None = None,
    parent: int | None = None,
    depends_on: int | None = None,
    recovery_parent: int | None = None,
    extra_overrides: list[Any] | None = None,
    queue_if_held: bool = True,
) -> Record:
    """Create the submission of one launch and return launch_jobs' result dict.

    Raises HTTPError(423) after queueing when the stage (or everything) is held, AssertionError when
    the split has run dry.
    """
    held = hold_message(db, stage)
    if held:
        if queue_if_held:
            queue_held(db, stage, launcher, parent, dataset_override, extra_overrides, test)
        raise HTTPError(423, held)
    dataset = dataset_override if dataset_override not in (None, "", "None") else next_split(db, stage, test)
    params: dict[str, Any] = {"dataset": dataset}
    if test:
        params["test"] = 1
    if parent is not None:
        params["parent"] = parent
    approval = stage.get("campaign_stage_type") == "approval"
    overrides = merged_params(db, stage, test, extra_overrides)
    jt = db.job_type(stage.get("job_type_id")) or {}
    ls = db.login_setup(stage.get("login_setup_id")) or {}
    sub = new_submission(
        db,
        stage,
        launcher,
        params=params,
        parent=parent,
        depends_on=depends_on,
        recovery_parent=recovery_parent,
        batch=not approval,
    )
    sid = sub["submission_id"]
    if approval:
        set_status(db, sub, PomsStatus.AWAITING_APPROVAL, launcher)
    if parent is not None:
        psub = db.submission(parent)
        if psub is not None:
            pemu = psub.setdefault("_emu", {})
            pemu.setdefault("children", []).append(sid)
            db.save_submission(psub)
    camp = db.campaign(stage.get("campaign_id")) or {}
    keywords = camp.get("campaign_keywords")
    values = {str(k): str(v) for k, v in keywords.items()} if isinstance(keywords, dict) else {}
    values.update(
        {
            "dataset": dataset or "",
            "version": stage.get("software_version") or "",
            "experiment": stage.get("experiment") or "",
            "experimenter": launcher,
            "group": stage.get("experiment") or "",
            "parameter": "",
        }
    )
    script = substitute(" ".join(f"{k}{v}" for k, v in overrides), values)
    lcmd = (
        f"ssh -tx {ls.get('launch_account', '')}@{ls.get('launch_host', '')} '"
        f"{ls.get('launch_setup', '')}; export POMS4_SUBMISSION_ID={sid} "
        f"POMS4_CAMPAIGN_STAGE_ID={stage['campaign_stage_id']} POMS4_TEST_LAUNCH={test}; "
        f"{substitute(str(jt.get('launch_script', '')), values)} {script}'"
    )
    sub["command_executed"] = lcmd
    db.save_submission(sub)
    outdir = f"/home/poms/private/logs/poms/launches/campaign_{stage['campaign_stage_id']}"
    outfile = f"{utc_stamp(db.now())}_{launcher}_{sid}"
    return {
        "lcmd": lcmd,
        "cs": db.stage_json(stage),
        "campaign_stage_id": stage["campaign_stage_id"],
        "outdir": outdir,
        "outfile": outfile,
        "submission_id": sid,
    }


def substitute(text: str, values: dict[str, str]) -> str:
    """Launch-time ``%(name)s`` formatting (``%%`` becomes ``%``); unknown names stay as written."""
    out = re.sub(r"%\((\w+)\)s", lambda m: values.get(m.group(1), m.group(0)), text)
    return out.replace("%%", "%")


def claim_script(db: Db, sid: int) -> None:
    """Attach the scripted outcome of a client launch: an id script, or else the pending ``"next"``.

    Done at launch time (not at the first tick) so that a ``"next"`` script always belongs to the
    next launch a client asks for, never to a dependent the wrapup happens to launch meanwhile.
    """
    scripts = getattr(db.ctx, "scripts", None)
    sub = db.submission(sid)
    if scripts is None or sub is None or not (sub.get("_emu") or {}).get("batch"):
        return
    seq = scripts.poms_outcome_for(sid)
    if seq:
        emu = sub.setdefault("_emu", {})
        emu.update(script=list(seq), script_pos=0, script_at=emu.get("launched_at", db.now()))
        db.save_submission(sub)


def leading_stages(db: Db, campaign_id: int) -> list[Record]:
    """Stages of a campaign without an incoming dependency (a self-loop counts as incoming)."""
    return [s for s in db.stages_of(campaign_id) if not db.deps_into(s["campaign_stage_id"])]


def recovery_file_count(db: Db, sub: Record, rtype: str) -> int:
    """Files a recovery of this kind would resubmit (the emulator tracks failed job files)."""
    if rtype == "script_run":
        return 1
    return int((sub.get("_emu") or {}).get("unconsumed_files", 0))


def launch_recovery(
    db: Db,
    parent: Record,
    rtype_id: int,
    overrides: list[Any],
    launcher: str,
    role: str | None,
    *,
    force: bool = False,
) -> Record | None:
    """Launch a recovery submission of ``parent`` (None when there is nothing to recover)."""
    rtype = RECOVERY_BY_ID.get(rtype_id, "")
    count = recovery_file_count(db, parent, rtype)
    if count <= 0 and not force:
        return None
    stage = db.stage(parent["campaign_stage_id"])
    if stage is None:
        return None
    test = bool((parent.get("submission_params") or {}).get("test"))
    return launch_stage(
        db,
        stage,
        launcher,
        role,
        test=test,
        dataset_override=f"poms_recover_{parent['submission_id']}_{(parent.get('recovery_position') or 0)}",
        parent=parent["submission_id"],
        recovery_parent=parent["submission_id"],
        extra_overrides=overrides,
    )


def launch_followups(db: Db, sub: Record) -> list[int]:
    """After Located: a recovery if needed, else the dependent stages (wrapup_tasks)."""
    launched: list[int] = []
    if not db.settings.launch_recovery_jobs:
        return launched
    stage = db.stage(sub["campaign_stage_id"])
    if stage is None:
        return launched
    creator = db.username_of(sub["creator"]) or "poms"
    role = stage.get("creator_role")
    jt = db.job_type(stage.get("job_type_id")) or {}
    recoveries = jt.get("recoveries") or []
    pos = int(sub.get("recovery_position") or 0)
    while pos < len(recoveries):
        rname, rover = recoveries[pos]
        pos += 1
        sub["recovery_position"] = pos
        db.save_submission(sub)
        rid = RECOVERY_TYPE_IDS.get(rname)
        if rid is None or rname == "script_run":
            continue
        try:
            child = launch_recovery(db, sub, rid, rover, creator, role)
        except (HTTPError, AssertionError):
            child = None
        if child is not None:
            launched.append(int(child["submission_id"]))
            return launched
    test = bool((sub.get("submission_params") or {}).get("test"))
    for i, dep in enumerate(db.deps_from(stage["campaign_stage_id"]), start=1):
        down = db.stage(dep["provides_campaign_stage_id"])
        if down is None or down.get("campaign_id") is None:
            continue
        prefix = f"poms_{creator}_depends" if stage.get("creator_role") == "analysis" else "poms_depends"
        try:
            res = launch_stage(
                db,
                down,
                creator,
                down.get("creator_role"),
                test=test,
                dataset_override=f"{prefix}_{sub['submission_id']}_{i}",
                parent=sub["submission_id"],
                depends_on=sub["submission_id"],
            )
        except (HTTPError, AssertionError):
            continue
        launched.append(int(res["submission_id"]))
    return launched


RECOVERY_TYPE_IDS: dict[str, int] = {name: rid for rid, name in RECOVERY_BY_ID.items()}
