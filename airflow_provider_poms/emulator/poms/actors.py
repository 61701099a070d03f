"""Time: the fake batch side, scripted outcomes, ``mark_failed_submissions`` and ``wrapup_tasks``.

``tick(ctx, now)`` is called by the server about every 0.1 s of real time. All changes go through
the same update path as ``update_submission`` as the internal user ``poms``, so POMS' rollback
rules apply to them exactly as to the real submission agent. Delays are emulated seconds
(``PomsSettings``); the clock scale makes them fast in tests.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_poms.states import PomsStatus

from .launch import launch_followups
from .model import SYSTEM_USER, T_ACTIVE, Db, Record, store_lock
from .seed import ensure_seeded
from .subs import apply_update, current_status, set_status, status_from_text, track_active

_BY_LABEL_EXTRA = {"awaitingapproval": PomsStatus.AWAITING_APPROVAL}


def tick(ctx: Any, now: float | None = None) -> None:
    """One pass of every POMS background actor."""
    with store_lock(ctx):
        db = Db(ctx)
        ensure_seeded(db)
        t = float(now) if now is not None else db.now()
        for key in list(db.t(T_ACTIVE).keys()):
            sub = db.submission(key)
            if sub is None:
                db.t(T_ACTIVE).delete(key)
                continue
            _step(db, sub, t)
        if t - float(db.meta("last_wrapup", 0.0)) >= db.settings.wrapup_interval:
            wrapup(db, now=t)
        if t - float(db.meta("last_mark_failed", 0.0)) >= 60.0:
            mark_failed(db, now=t)


def _jobsub_id(db: Db, sub: Record) -> str:
    cluster = 40_000_000 + int(sub["submission_id"]) * 7
    return f"{cluster}.0@jobsub0{1 + int(sub['submission_id']) % 2}.fnal.gov"


def _script_status(name: str) -> PomsStatus | None:
    st = status_from_text(name)
    if st is None:
        st = _BY_LABEL_EXTRA.get(name.replace(" ", "").lower())
    if st is None:
        try:
            st = PomsStatus.from_label(name)
        except ValueError:
            return None
    return st


def _id_script(ctx: Any, sid: int) -> list[str] | None:
    """A script registered for this id after the submission's first tick (tests script by id
    right after the launch answer). Reads the ScriptBook's id entry without consuming "next"."""
    table = getattr(getattr(ctx, "scripts", None), "_p", None)
    found = table.get(f"id:{int(sid)}") if table is not None else None
    return list(found) if isinstance(found, list) and found else None


def _step(db: Db, sub: Record, now: float) -> None:
    emu = sub.setdefault("_emu", {})
    if emu.get("batch") and not emu.get("script"):
        late = _id_script(db.ctx, sub["submission_id"])
        if late:
            emu.update(script=late, script_pos=0, script_at=now)
            db.save_submission(sub)
    script = emu.get("script") or []
    pos = int(emu.get("script_pos", 0))
    if pos < len(script):
        if now - float(emu.get("script_at", now)) >= db.settings.script_step:
            st = _script_status(script[pos])
            emu["script_pos"] = pos + 1
            emu["script_at"] = now
            if st is not None and st != PomsStatus.LAUNCH_FAILED and not sub.get("jobsub_job_id"):
                sub["jobsub_job_id"] = _jobsub_id(db, sub)
            db.save_submission(sub)
            if st is not None:
                set_status(db, sub, st, SYSTEM_USER, force=True)
                if st == PomsStatus.LOCATED:
                    launch_followups(db, sub)
            track_active(db, sub)
        return
    if emu.get("batch"):
        _batch(db, sub, now)


def _batch(db: Db, sub: Record, now: float) -> None:
    """The submission agent's view of jobsub: New -> Idle -> Running -> Completed (or Held)."""
    s = db.settings
    emu = sub["_emu"]
    st = current_status(sub)
    since = float(emu.get("status_since", emu.get("launched_at", now)))
    launched = float(emu.get("launched_at", now))
    if emu.get("paused"):
        if st in (PomsStatus.IDLE, PomsStatus.RUNNING):
            emu["held_by_pause"] = True
            db.save_submission(sub)
            apply_update(db, sub, SYSTEM_USER, status="Held")
        return
    if st == PomsStatus.HELD and emu.get("held_by_pause"):
        emu["held_by_pause"] = False
        db.save_submission(sub)
        apply_update(db, sub, SYSTEM_USER, status="Running")
        return
    if st == PomsStatus.NEW:
        if not sub.get("jobsub_job_id") and now - launched >= s.jobid_delay:
            apply_update(db, sub, SYSTEM_USER, jobsub_job_id=_jobsub_id(db, sub), status="New")
        if sub.get("jobsub_job_id") and now - launched >= s.jobid_delay + s.idle_delay:
            apply_update(db, sub, SYSTEM_USER, status="Idle")
    elif st == PomsStatus.IDLE:
        if now - since >= s.running_delay:
            project = f"{db.username_of(sub['creator'])}-poms_{sub['submission_id']}"
            apply_update(db, sub, SYSTEM_USER, status="Running", project=project, pct_complete=0)
    elif st == PomsStatus.RUNNING:
        frac = min(1.0, (now - since) / max(s.run_duration, 1e-9))
        files = s.dataset_files
        produced = int(frac * files)
        if produced != sub.get("files_generated") or frac >= 1.0:
            sub["files_generated"] = produced
            sub["files_consumed"] = produced
            db.save_submission(sub)
            apply_update(
                db,
                sub,
                SYSTEM_USER,
                pct_complete=round(frac * 100.0, 1),
                status="Completed" if frac >= 1.0 else None,
            )


def wrapup(db: Db, *, now: float | None = None, force_run: bool = False) -> list[str]:
    """``wrapup_tasks``: Completed -> Located, then recoveries or dependents."""
    t = db.now() if now is None else now
    db.set_meta("last_wrapup", t)
    out: list[str] = []
    for key in list(db.t(T_ACTIVE).keys()):
        sub = db.submission(key)
        if sub is None or current_status(sub) != PomsStatus.COMPLETED:
            continue
        emu = sub.get("_emu") or {}
        if emu.get("script") and int(emu.get("script_pos", 0)) < len(emu["script"]):
            continue
        if t - float(sub.get("created") or t) > 4 * 86400:
            continue
        stage = db.stage(sub["campaign_stage_id"]) or {}
        ready = stage.get("completion_type") != "located"
        if not ready:
            params = sub.get("submission_params") or {}
            done_at = float(emu.get("completed_at", t))
            ready = (
                bool(params.get("force_located"))
                or t - done_at >= db.settings.located_delay
                or t - float(sub.get("created") or t) >= 2 * 86400
            )
        if ready and set_status(db, sub, PomsStatus.LOCATED, SYSTEM_USER):
            out.append(f"located {sub['submission_id']}")
            for child in launch_followups(db, sub):
                out.append(f"launched {child} after {sub['submission_id']}")
    return out


def mark_failed(db: Db, *, now: float | None = None) -> list[str]:
    """``mark_failed_submissions``: still New, no job id, for too long -> LaunchFailed."""
    t = db.now() if now is None else now
    db.set_meta("last_mark_failed", t)
    out: list[str] = []
    for key in list(db.t(T_ACTIVE).keys()):
        sub = db.submission(key)
        if sub is None or current_status(sub) != PomsStatus.NEW or sub.get("jobsub_job_id"):
            continue
        emu = sub.get("_emu") or {}
        if emu.get("script") and int(emu.get("script_pos", 0)) < len(emu["script"]):
            continue
        too_old = t - float(sub.get("created") or t) >= db.settings.launch_failed_after
        if too_old and set_status(db, sub, PomsStatus.LAUNCH_FAILED, SYSTEM_USER):
            out.append(f"marked {sub['submission_id']} LaunchFailed")
    return out
