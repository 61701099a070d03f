"""Roles, permissions and ownership as POMS' ``Permissions.py`` applies them (reference section 10).

Objects are identified the way the decorator's permission specs name them (an id or a name in the
acting experiment); the owner of a submission is the creator of its stage, as in POMS.
"""

from __future__ import annotations

from typing import Any

from .model import T_JOB_TYPES, T_LOGIN_SETUPS, Db, int_or_none

ROLES = ("analysis", "production-shifter", "production", "superuser")
Owner = tuple[str | None, str | None, str | None]  # (experiment, owner username, creator_role)


class Acting:
    """The mutable part of POMS' Ctx the checks read and fill in (experiment/role may be defaulted)."""

    def __init__(self, db: Db, username: str, experiment: str | None, role: str | None) -> None:
        self.db = db
        self.username = username
        self.experiment = experiment
        self.role = role

    # -- is_superuser / check_experiment_role -------------------------------------------------
    def is_superuser(self) -> bool:
        return bool(self.db.experimenter(self.username).get("root"))

    def check_experiment_role(self) -> str:
        if self.is_superuser():
            return "superuser"
        if self.experiment == "fermilab":
            self.experiment = "samdev"
        member = self.db.membership(self.username, self.experiment)
        if not member:
            raise PermissionError(f"username {self.username} is not in experiment {self.experiment}")
        if self.role not in ROLES:
            raise PermissionError(f"invalid role {self.role}")
        if member == "analysis" and self.role != member:
            raise PermissionError(
                f"username {self.username} cannot have role {self.role} in experiment {self.experiment}"
            )
        if member == "production" and self.role == "superuser":
            raise PermissionError(
                f"username {self.username} cannot have role {self.role} in experiment {self.experiment}"
            )
        return member

    def _bypass(self) -> bool:
        return self.is_superuser() and self.role == "superuser"

    # -- owners -------------------------------------------------------------------------------
    def owner_of(self, t: str, item_id: Any = None, name: Any = None, campaign_name: Any = None) -> Owner:
        db = self.db
        if t in ("Experiment", "Experimenter"):
            return None, None, None
        rec: dict[str, Any] | None = None
        if t == "Submission":
            sub = db.submission(item_id)
            stage = db.stage(sub["campaign_stage_id"]) if sub else None
            if stage is not None:
                return stage["experiment"], db.username_of(stage["creator"]), stage["creator_role"]
            return None, None, None
        if t == "CampaignStage":
            if isinstance(name, list) and len(name) == 2:
                campaign_name, name = name
            if int_or_none(item_id) is not None:
                rec = db.stage(item_id)
            elif name and campaign_name:
                rec = db.find_stage(self.experiment, campaign_name, name)
            elif isinstance(name, str) and name.find(",") > 0:
                cname, sname = name.split(",", 1)
                rec = db.find_stage(self.experiment, cname, sname)
        elif t == "Campaign":
            if int_or_none(item_id) is not None:
                rec = db.campaign(item_id)
            elif name:
                rec = db.find_campaign(self.experiment, name)
        elif t == "JobType":
            rec = db.get(T_JOB_TYPES, int_or_none(item_id)) if item_id else None
            if name:
                rec = db.find_job_type(self.experiment, str(name))
        elif t == "LoginSetup":
            rec = db.get(T_LOGIN_SETUPS, int_or_none(item_id)) if item_id else None
            if name:
                rec = db.find_login_setup(self.experiment, str(name))
        if rec is None:
            return None, None, None
        return rec.get("experiment"), db.username_of(rec.get("creator")), rec.get("creator_role")

    # -- the three checks ---------------------------------------------------------------------
    def _start(
        self, t: str, item_id: Any, name: Any, campaign_name: Any, unset: tuple[Any, ...]
    ) -> Owner | None:
        """The common start of every check: superuser bypass (None), the object's owner, and the
        acting experiment/role defaulted from the object when they count as ``unset``."""
        if self._bypass():
            return None
        exp, owner, role = (
            self.owner_of(t, item_id, name, campaign_name) if (item_id or name) else (None,) * 3
        )
        if self.experiment in unset:
            self.experiment = exp
        if self.role in unset:
            self.role = role
        self.check_experiment_role()
        return exp, owner, role

    def _settled(self, t: str, item_id: Any, name: Any, exp: str | None, verb: str) -> bool:
        """The object-level start of can_modify/can_do: True when nothing more is to check (no
        object named, or the Experimenter is oneself); raises for someone else or another experiment."""
        if not item_id and not name:
            return True
        if t == "Experimenter":
            if item_id != self.username:
                raise PermissionError(f"Only user {item_id} can {verb} this")
            return True
        if exp and exp != self.experiment and not self.is_superuser():
            raise PermissionError(f"Must be acting as experiment {exp} to {verb} this")
        return False

    def can_view(self, t: str, item_id: Any = None, name: Any = None, campaign_name: Any = None) -> None:
        started = self._start(t, item_id, name, campaign_name, (None,))
        if started is None:
            return
        exp = started[0]
        if t == "Experimenter":
            if item_id is not None and item_id != self.username:
                raise PermissionError(f"Only user {item_id} can view this")
            return
        if not item_id and not name:
            return
        if exp and exp != self.experiment and not self.is_superuser():
            raise PermissionError(f"Must be acting as experiment {exp} to see this")

    def can_modify(self, t: str, item_id: Any = None, name: Any = None, campaign_name: Any = None) -> None:
        started = self._start(t, item_id, name, campaign_name, (None,))
        if started is None:
            return
        exp, owner, role = started
        if self._settled(t, item_id, name, exp, "change"):
            return
        if role and self.role not in ("coordinator", "superuser") and role != self.role:
            raise PermissionError(f"Must be role {role} to change this")
        if self.role == "analysis" and owner and owner != self.username:
            raise PermissionError(f"Must be user {owner} to change this")

    def can_do(self, t: str, item_id: Any = None, name: Any = None, campaign_name: Any = None) -> None:
        started = self._start(t, item_id, name, campaign_name, (None, "None", ""))
        if started is None:
            return
        exp, owner, role = started
        if self._settled(t, item_id, name, exp, "do"):
            return
        if role and self.role == "analysis" and owner and owner != self.username:
            raise PermissionError(f"Must be user {owner} to do this")
        if self.role == "production" and role == "analysis":
            return  # POMS lets production act on analysis objects (kept for get_task_id_for)
        if role == "production" and self.role == "production-shifter":
            role = "production-shifter"
        if role and self.role not in ("coordinator", "superuser") and role != self.role:
            raise PermissionError(f"Must be role {role}, not {self.role} to do this")

    def check(
        self, kind: str, t: str, item_id: Any = None, name: Any = None, campaign_name: Any = None
    ) -> None:
        if kind == "is_superuser":
            if not self.is_superuser():
                raise PermissionError(f"username {self.username} is not a superuser")
            return
        getattr(self, kind)(t, item_id=item_id, name=name, campaign_name=campaign_name)
