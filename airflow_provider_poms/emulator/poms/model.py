"""POMS data model on top of the core's Store: plain JSON-able records, one table per POMS table.

Records are dicts shaped like POMS' ORM rows (same column names), so the JSON views are mostly
copies plus the expanded relationship objects POMS' encoder adds. Every table lives in
``ctx.store`` so ``--persist`` keeps the whole POMS state across restarts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from .settings import PomsSettings, settings_for
from .timefmt import local_iso

Record = dict[str, Any]

T_EXPERIMENTERS = "poms_experimenters"
T_CAMPAIGNS = "poms_campaigns"
T_STAGES = "poms_campaign_stages"
T_JOB_TYPES = "poms_job_types"
T_LOGIN_SETUPS = "poms_login_setups"
T_DEPS = "poms_campaign_dependencies"
T_SUBMISSIONS = "poms_submissions"
T_STAGE_SUBS = "poms_stage_submissions"  # campaign_stage_id -> [submission ids]
T_ACTIVE = "poms_active_submissions"  # submissions the actors still move
T_HELD = "poms_held_launches"
T_UPLOADS = "poms_uploaded_files"
T_TAGS = "poms_tags"
T_META = "poms_meta"
T_SNAPSHOTS = "poms_snapshots"  # only used for ids

SYSTEM_USER = "poms"

RECOVERY_TYPES: dict[str, tuple[int, str]] = {
    "consumed_status": (1, "Resubmit files that were not consumed"),
    "process_status": (2, "Resubmit files not consumed or from processes that reported failure"),
    "pending_files": (3, "Resubmit files without suitable children for this version"),
    "added_files": (4, "Submit files added to the definition since the run"),
    "script_run": (5, "Rerun the launch script"),
    "state_failed": (6, "Data dispatcher: files in failed state"),
    "state_not_done": (7, "Data dispatcher: files not done"),
    "reprocess_orphans": (8, "Data dispatcher: reprocess orphans"),
    "reprocess_all": (9, "Data dispatcher: reprocess all"),
}
RECOVERY_BY_ID: dict[int, str] = {v[0]: k for k, v in RECOVERY_TYPES.items()}

_LOCKS: dict[int, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def store_lock(ctx: Any) -> threading.RLock:
    """One lock per store: HTTP handlers and the actors' tick never interleave a read-modify-write."""
    key = id(ctx.store)
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = threading.RLock()
        return lock


class Db:
    """Typed access to the POMS tables of one EmulatorContext."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.settings: PomsSettings = settings_for(ctx)

    # ---- plumbing -----------------------------------------------------------------------
    def t(self, name: str) -> Any:
        return self.ctx.store.table(name)

    def now(self) -> float:
        return float(self.ctx.clock.now())

    def next_id(self, table: str) -> int:
        return int(self.t(table).next_id())

    def get(self, table: str, key: Any) -> Record | None:
        if key is None:
            return None
        val = self.t(table).get(str(key))
        return dict(val) if isinstance(val, dict) else None

    def put(self, table: str, key: Any, rec: Any) -> None:
        self.t(table).put(str(key), rec)

    def delete(self, table: str, key: Any) -> None:
        self.t(table).delete(str(key))

    def values(self, table: str) -> Iterator[Record]:
        for _, v in list(self.t(table).items()):
            if isinstance(v, dict):
                yield dict(v)

    def iso(self, epoch: float | None) -> str | None:
        return local_iso(epoch, self.settings.timezone)

    # ---- experimenters ------------------------------------------------------------------
    def identity(self, username: str) -> Any | None:
        return dict(getattr(self.ctx, "identities", {}) or {}).get(username)

    def experimenter(self, username: str) -> Record:
        """The Experimenter row of a login, created on first sight from the core's Identity."""
        rec = self.get(T_EXPERIMENTERS, username)
        ident = self.identity(username)
        root = bool(getattr(ident, "poms_root", False)) or username == SYSTEM_USER
        if rec is None:
            name = str(getattr(ident, "name", "") or username)
            first, _, last = name.partition(" ")
            exps = dict(getattr(ident, "poms_experiments", {}) or {})
            sess_exp = next(iter(sorted(exps)), None) if exps else None
            rec = {
                "experimenter_id": self.next_id(T_EXPERIMENTERS),
                "first_name": first,
                "last_name": last,
                "username": username,
                "last_login": None,
                "session_experiment": "samdev" if "samdev" in exps else sess_exp,
                "session_role": exps.get("samdev") if "samdev" in exps else exps.get(sess_exp or ""),
                "root": root,
            }
            self.put(T_EXPERIMENTERS, username, rec)
        elif rec.get("root") != root:
            rec["root"] = root
            self.put(T_EXPERIMENTERS, username, rec)
        return rec

    def experimenter_by_id(self, eid: Any) -> Record | None:
        for rec in self.values(T_EXPERIMENTERS):
            if rec["experimenter_id"] == eid:
                return rec
        return None

    def username_of(self, eid: Any) -> str | None:
        rec = self.experimenter_by_id(eid)
        return rec["username"] if rec else None

    def membership(self, username: str, experiment: str | None) -> str | None:
        """Role the user holds in the experiment (experiments_experimenters), None if not a member."""
        if experiment is None:
            return None
        ident = self.identity(username)
        exps = dict(getattr(ident, "poms_experiments", {}) or {})
        return exps.get(experiment)

    def experiments(self) -> list[str]:
        names = {"samdev"}
        for ident in (getattr(self.ctx, "identities", {}) or {}).values():
            names.update(dict(getattr(ident, "poms_experiments", {}) or {}))
        return sorted(names)

    def experimenter_obj(self, eid: Any) -> Record | None:
        rec = self.experimenter_by_id(eid)
        if rec is None:
            return None
        out = dict(rec)
        out["last_login"] = self.iso(rec.get("last_login"))
        out["exp_expers"] = None
        return out

    # ---- campaigns / stages / job types / login setups ----------------------------------
    def campaign(self, cid: Any) -> Record | None:
        return self.get(T_CAMPAIGNS, _int_or_none(cid))

    def find_campaign(self, experiment: str | None, name: str | None) -> Record | None:
        for rec in self.values(T_CAMPAIGNS):
            if rec["name"] == name and rec["experiment"] == experiment:
                return rec
        return None

    def stage(self, csid: Any) -> Record | None:
        return self.get(T_STAGES, _int_or_none(csid))

    def stages_of(self, campaign_id: int) -> list[Record]:
        return sorted(
            (s for s in self.values(T_STAGES) if s.get("campaign_id") == campaign_id),
            key=lambda s: s["campaign_stage_id"],
        )

    def find_stage(
        self, experiment: str | None, campaign_name: str | None, stage_name: str | None
    ) -> Record | None:
        camp = self.find_campaign(experiment, campaign_name)
        if camp is None:
            return None
        for s in self.stages_of(camp["campaign_id"]):
            if s["name"] == stage_name:
                return s
        return None

    def job_type(self, jid: Any) -> Record | None:
        return self.get(T_JOB_TYPES, _int_or_none(jid))

    def find_job_type(self, experiment: str | None, name: str) -> Record | None:
        for rec in self.values(T_JOB_TYPES):
            if rec["name"] == name and (experiment is None or rec["experiment"] == experiment):
                return rec
        return None

    def login_setup(self, lid: Any) -> Record | None:
        return self.get(T_LOGIN_SETUPS, _int_or_none(lid))

    def find_login_setup(self, experiment: str | None, name: str) -> Record | None:
        for rec in self.values(T_LOGIN_SETUPS):
            if rec["name"] == name and (experiment is None or rec["experiment"] == experiment):
                return rec
        return None

    def deps_into(self, csid: int) -> list[Record]:
        """Dependency rows whose downstream (``provides``) stage is ``csid``."""
        return [d for d in self.values(T_DEPS) if d["provides_campaign_stage_id"] == csid]

    def deps_from(self, csid: int) -> list[Record]:
        """Dependency rows whose upstream (``needs``) stage is ``csid``: what launches after it."""
        return sorted(
            (d for d in self.values(T_DEPS) if d["needs_campaign_stage_id"] == csid),
            key=lambda d: d["campaign_dep_id"],
        )

    # ---- submissions --------------------------------------------------------------------
    def submission(self, sid: Any) -> Record | None:
        return self.get(T_SUBMISSIONS, _int_or_none(sid))

    def save_submission(self, sub: Record) -> None:
        self.put(T_SUBMISSIONS, sub["submission_id"], sub)

    def stage_submission_ids(self, csid: int) -> list[int]:
        val = self.t(T_STAGE_SUBS).get(str(csid))
        return list(val) if isinstance(val, list) else []

    def add_stage_submission(self, csid: int, sid: int) -> None:
        ids = self.stage_submission_ids(csid)
        ids.append(sid)
        self.t(T_STAGE_SUBS).put(str(csid), ids)

    def submissions_of_stage(self, csid: int) -> list[Record]:
        out = []
        for sid in self.stage_submission_ids(csid):
            sub = self.submission(sid)
            if sub is not None:
                out.append(sub)
        return out

    def meta(self, key: str, default: Any = None) -> Any:
        val = self.t(T_META).get(key)
        return default if val is None else val

    def set_meta(self, key: str, value: Any) -> None:
        self.t(T_META).put(key, value)

    # ---- JSON views (JSONORMEncoder look-alikes) ----------------------------------------
    def stage_json(self, s: Record) -> Record:
        camp = self.campaign(s.get("campaign_id"))
        out = {k: v for k, v in s.items() if not k.startswith("_")}
        for k in ("created", "updated"):
            out[k] = self.iso(s.get(k))
        out["experimenter_creator_obj"] = self.experimenter_obj(s.get("creator"))
        out["experimenter_updater_obj"] = self.experimenter_obj(s.get("updater"))
        out["experimenter_holder_obj"] = self.experimenter_obj(s.get("hold_experimenter_id"))
        out["experiment_obj"] = None
        out["job_type_obj"] = None
        out["login_setup_obj"] = None
        out["campaign_obj"] = {"name": camp["name"]} if camp else None
        out["providers"] = None
        out["consumers"] = None
        out["consumer_associations"] = None
        out["provider_associations"] = None
        return out

    def campaign_json(self, c: Record) -> Record:
        out = {k: v for k, v in c.items() if not k.startswith("_") and k != "tag_ids"}
        out["tags"] = None
        out["stages"] = [self.stage_json(s) for s in self.stages_of(c["campaign_id"])]
        out["experimenter_creator_obj"] = self.experimenter_obj(c.get("creator"))
        out["experiment_obj"] = None
        return out

    def job_type_json(self, j: Record) -> Record:
        out = {k: v for k, v in j.items() if not k.startswith("_")}
        for k in ("created", "updated"):
            out[k] = self.iso(j.get(k))
        return out

    def login_setup_json(self, ls: Record) -> Record:
        out = {k: v for k, v in ls.items() if not k.startswith("_")}
        for k in ("created", "updated"):
            out[k] = self.iso(ls.get(k))
        return out


def _int_or_none(val: Any) -> int | None:
    if val is None:
        return None
    if isinstance(val, bool):
        return None
    if isinstance(val, int):
        return val
    text = str(val).strip()
    return int(text) if text.isdigit() else None


def int_or_none(val: Any) -> int | None:
    """Public twin of the id parser: digits -> int, anything else -> None."""
    return _int_or_none(val)
