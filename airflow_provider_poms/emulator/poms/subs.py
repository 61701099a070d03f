"""Submissions: creation, the status-update path with POMS' rollback rules, and their JSON views.

Every status change -- a client's ``update_submission``, the fake batch side, the wrapup cron,
``kill_jobs`` -- goes through :func:`set_status`, so the rules of reference section 11.3 (from
``airflow_provider_poms.states``) hold for all of them.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_poms.states import POMS_FINAL, POMS_STATUS_NAMES, PomsStatus, poms_update_allowed

from .model import RECOVERY_TYPES, SYSTEM_USER, T_ACTIVE, T_SNAPSHOTS, Db, Record
from .timefmt import local_space, utc_stamp

#: Statuses after which the actors have nothing left to do for a submission.
SETTLED: frozenset[PomsStatus] = frozenset(
    {
        PomsStatus.LOCATED,
        PomsStatus.REMOVED,
        PomsStatus.FAILED,
        PomsStatus.CANCELLED,
        PomsStatus.LAUNCH_FAILED,
    }
)


def current_status(sub: Record) -> PomsStatus | None:
    hist = sub.get("history") or []
    return PomsStatus(hist[-1][1]) if hist else None


def status_label(sub: Record) -> str | None:
    st = current_status(sub)
    return st.label if st is not None else None


def status_from_text(text: str | None) -> PomsStatus | None:
    """A status name as POMS looks it up: unknown (or empty) names give None and are ignored."""
    if not text:
        return None
    for st, name in POMS_STATUS_NAMES.items():
        if name == text:
            return st
    return None


def set_status(db: Db, sub: Record, new: PomsStatus, username: str, *, force: bool = False) -> bool:
    """Append a history row when POMS' rules accept it; returns whether the status changed.

    ``force`` skips the rollback rules (scripted advisory flips); everything else obeys them.
    """
    cur = current_status(sub)
    if new == PomsStatus.FAILED and sub.get("recovery_tasks_parent"):
        new = PomsStatus.COMPLETED  # recovery submissions are never marked Failed
    if not force and not poms_update_allowed(cur, new, by_system=(username == SYSTEM_USER)):
        return False
    if force and cur == new:
        return False
    now = db.now()
    hist = list(sub.get("history") or [])
    if hist and now <= hist[-1][0]:
        now = hist[-1][0] + 0.001  # (submission_id, created) is the primary key
    hist.append([now, int(new)])
    sub["history"] = hist
    updater = db.experimenter(username)["experimenter_id"]
    sub["updater"] = updater
    if new in POMS_FINAL:
        sub["updated"] = now
    emu = sub.setdefault("_emu", {})
    emu["status_since"] = now
    if new == PomsStatus.COMPLETED:
        emu["completed_at"] = now
    db.save_submission(sub)
    track_active(db, sub)
    return True


def track_active(db: Db, sub: Record) -> None:
    """Keep the actors' work list small: only submissions that can still move are scanned."""
    emu = sub.get("_emu") or {}
    st = current_status(sub)
    pending_script = bool(emu.get("script")) and emu.get("script_pos", 0) < len(emu.get("script") or [])
    table = db.t(T_ACTIVE)
    if (st is not None and st not in SETTLED) or pending_script:
        table.put(str(sub["submission_id"]), 1)
    else:
        table.delete(str(sub["submission_id"]))


def new_submission(
    db: Db,
    stage: Record,
    creator: str,
    *,
    params: dict[str, Any],
    command_executed: str | None = None,
    parent: int | None = None,
    depends_on: int | None = None,
    recovery_parent: int | None = None,
    batch: bool = True,
) -> Record:
    """Allocate a New submission with snapshots of the stage, job type and login setup."""
    sid = db.next_id("poms_submissions")
    now = db.now()
    eid = db.experimenter(creator)["experimenter_id"]
    snaps = db.t(T_SNAPSHOTS)
    sub: Record = {
        "submission_id": sid,
        "campaign_stage_id": stage["campaign_stage_id"],
        "creator": eid,
        "created": now,
        "submission_params": params,
        "depends_on": depends_on,
        "depend_threshold": None,
        "updater": eid,
        "updated": now,
        "command_executed": command_executed,
        "project": None,
        "files_consumed": 0,
        "files_generated": 0,
        "campaign_stage_snapshot_id": snaps.next_id(),
        "job_type_snapshot_id": snaps.next_id(),
        "login_setup_snapshot_id": snaps.next_id(),
        "recovery_position": None,
        "recovery_tasks_parent": recovery_parent,
        "jobsub_job_id": None,
        "pct_complete": None,
        "history": [],
        "_snap": {
            "stage": dict(stage),
            "job_type": db.job_type(stage.get("job_type_id")),
            "login_setup": db.login_setup(stage.get("login_setup_id")),
        },
        "_emu": {"batch": batch, "launched_at": now, "parent": parent},
    }
    db.save_submission(sub)
    db.add_stage_submission(stage["campaign_stage_id"], sid)
    set_status(db, sub, PomsStatus.NEW, creator)
    return sub


# ---- JSON views ------------------------------------------------------------------------------
def history_json(db: Db, sub: Record) -> list[Record]:
    return [
        {"submission_id": sub["submission_id"], "created": db.iso(t), "status_id": s, "status_obj": None}
        for t, s in sub.get("history") or []
    ]


def status_history_json(db: Db, sub: Record) -> list[Record]:
    """``session_status_history``: the cheap poll, ``YYYY-MM-DD HH:MM:SS`` local time."""
    return [
        {"created": local_space(t, db.settings.timezone), "status": PomsStatus(s).label}
        for t, s in sub.get("history") or []
    ]


def _snapshot_obj(db: Db, sub: Record, kind: str) -> Record | None:
    snap = (sub.get("_snap") or {}).get(kind)
    if not snap:
        return None
    out = {k: v for k, v in snap.items() if not k.startswith("_")}
    for k in ("created", "updated"):
        if k in out:
            out[k] = db.iso(out[k])
    out[f"{kind}_snapshot_id" if kind != "stage" else "campaign_stage_snapshot_id"] = sub.get(
        f"{'campaign_stage' if kind == 'stage' else kind}_snapshot_id"
    )
    return out


def submission_json(db: Db, sub: Record) -> Record:
    """The ``submission`` object of submission_details: all columns plus expanded relations."""
    stage = db.stage(sub["campaign_stage_id"])
    out = {k: v for k, v in sub.items() if not k.startswith("_") and k != "history"}
    out["created"] = db.iso(sub.get("created"))
    out["updated"] = db.iso(sub.get("updated"))
    out["campaign_stage_obj"] = db.stage_json(stage) if stage else None
    out["experimenter_creator_obj"] = db.experimenter_obj(sub.get("creator"))
    out["experimenter_updater_obj"] = db.experimenter_obj(sub.get("updater"))
    out["campaign_stage_snapshot_obj"] = _snapshot_obj(db, sub, "stage")
    out["job_type_snapshot_obj"] = _snapshot_obj(db, sub, "job_type")
    out["login_setup_snapshot_obj"] = _snapshot_obj(db, sub, "login_setup")
    out["status_history"] = None
    return out


def statusmap() -> dict[str, str]:
    return {str(int(st)): name for st, name in POMS_STATUS_NAMES.items()}


def recoverymap() -> dict[str, list[Any]]:
    return {name: [rid, desc] for name, (rid, desc) in RECOVERY_TYPES.items()}


def output_dims(db: Db, sub: Record) -> str:
    """The SAM dimension POMS shows for a submission's output (informational in the emulator)."""
    stage = (sub.get("_snap") or {}).get("stage") or {}
    jt = (sub.get("_snap") or {}).get("job_type") or {}
    patterns = [p.strip() for p in str(jt.get("output_file_patterns") or "%").split(",") if p.strip()]
    created = local_space(sub.get("created"), db.settings.timezone)
    project = sub.get("project") or f"poms_{sub['submission_id']}"
    like = " or ".join(f"file_name like '{p}'" for p in patterns) or "file_name like '%'"
    return (
        f"ischildof:( snapshot_for_project_name {project} ) and create_date > '{created}' "
        f"and ( {like} ) and version '{stage.get('software_version') or ''}'"
    )


def children_ids(db: Db, sub: Record) -> tuple[list[int], list[int]]:
    """(recovery ids, dependent ids) launched from this submission."""
    rec_ids: list[int] = []
    dep_ids: list[int] = []
    for sid in (sub.get("_emu") or {}).get("children", []):
        child = db.submission(sid)
        if child is None:
            continue
        (rec_ids if child.get("recovery_tasks_parent") == sub["submission_id"] else dep_ids).append(sid)
    return rec_ids, dep_ids


def details_json(db: Db, sub: Record) -> Record:
    """submission_details (fmt=json) body, without the echoed kwargs."""
    rec_ids, dep_ids = children_ids(db, sub)
    params = sub.get("submission_params") or {}
    return {
        "submission": submission_json(db, sub),
        "history": history_json(db, sub),
        "dataset": params.get("dataset"),
        "recoverymap": recoverymap(),
        "statusmap": statusmap(),
        "ds": utc_stamp(db.now()),
        "submission_log_format": 1,
        "recovery_ids": rec_ids,
        "depend_ids": dep_ids,
        "statuses": [
            ["Available output", sub.get("files_generated") or 0, output_dims(db, sub)],
            ["Files consumed", sub.get("files_consumed") or 0, f"project_name {sub.get('project') or ''}"],
        ],
    }


def apply_update(
    db: Db,
    sub: Record,
    username: str,
    *,
    jobsub_job_id: str | None = None,
    status: str | None = None,
    project: str | None = None,
    pct_complete: Any = None,
) -> None:
    """``update_submission``'s effect, shared by the HTTP handler and the fake batch side.

    Unknown status names are ignored; ``pct_complete`` at or above the stage's completion_pct
    while Running counts as Completed (as POMS does for the submission agent's reports).
    """
    changed = False
    if jobsub_job_id and sub.get("jobsub_job_id") != jobsub_job_id:
        sub["jobsub_job_id"] = jobsub_job_id
        changed = True
    if project and sub.get("project") != project:
        sub["project"] = project
        changed = True
    pct: float | None = None
    if pct_complete not in (None, ""):
        pct = float(pct_complete)  # ValueError -> 400 Invalid argument, as in POMS
        sub["pct_complete"] = pct
        changed = True
    if changed:
        db.save_submission(sub)
    new = status_from_text(status)
    if new is not None:
        set_status(db, sub, new, username)
    stage = db.stage(sub["campaign_stage_id"]) or {}
    threshold = stage.get("completion_pct")
    if pct is not None and threshold not in (None, "") and current_status(sub) == PomsStatus.RUNNING:
        try:
            reached = pct >= float(threshold)
        except (TypeError, ValueError):
            reached = False
        if reached:
            set_status(db, sub, PomsStatus.COMPLETED, username)
