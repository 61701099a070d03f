"""The two state machines, as data.

Both the provider (operators check a transition before calling, sensors decide when a target is
unreachable) and the emulator (which enforces the same table) read these tables, so the rules live
in exactly one place. Nothing here imports Airflow.

Sources: WMCore ``ReqMgr/DataStructs/RequestStatus.py`` and the cmsweb authz map (ReqMgr2), POMS
``submission_statuses`` (POMS); see ``../shared/reference``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from functools import cache

# --------------------------------------------------------------------------------------------
# ReqMgr2
# --------------------------------------------------------------------------------------------

#: ``REQUEST_STATE_TRANSITION``, in the server's dict order (``GET /status`` lists the keys in it);
#: each tuple in the order ``GET /status?transition=true`` lists it on the real server.
REQMGR2_TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "new": ("new", "assignment-approved", "rejected"),
    "assignment-approved": ("assigned", "rejected"),
    "assigned": ("staging", "aborted"),
    "staging": ("staged", "aborted"),
    "staged": ("acquired", "aborted", "failed"),
    "acquired": ("running-open", "aborted", "failed"),
    "running-open": ("running-closed", "force-complete", "aborted"),
    "running-closed": ("force-complete", "completed", "aborted"),
    "force-complete": ("completed",),
    "failed": ("rejected", "assigned"),
    "completed": ("closed-out", "rejected"),
    "closed-out": ("announced", "rejected"),
    "announced": ("rejected", "normal-archived"),
    "aborted": ("aborted-completed",),
    "aborted-completed": ("aborted-archived",),
    "rejected": ("rejected-archived",),
    "normal-archived": ("rejected-archived",),
    "aborted-archived": (),
    "rejected-archived": (),
}

REQMGR2_STATUSES: tuple[str, ...] = tuple(REQMGR2_TRANSITIONS)
REQMGR2_ARCHIVED: frozenset[str] = frozenset({"normal-archived", "aborted-archived", "rejected-archived"})
#: ``ACTIVE`` in a ``status=`` query expands to the 16 non-archived statuses.
REQMGR2_ACTIVE: tuple[str, ...] = tuple(s for s in REQMGR2_STATUSES if s not in REQMGR2_ARCHIVED)
REQMGR2_TERMINAL: frozenset[str] = frozenset(s for s, nxt in REQMGR2_TRANSITIONS.items() if not nxt)

#: Statuses a person (or Unified/McM) sets; everything else is moved by the system's agents.
REQMGR2_HUMAN_STATUSES: frozenset[str] = frozenset(
    {"assignment-approved", "assigned", "force-complete", "closed-out", "announced", "rejected", "aborted"}
)

#: What the system does on its own, step by step (StatusChangeTasks, MSTransferor, MSMonitor,
#: MSRuleCleaner). The emulator's actors walk these; the normal path of a request that nobody aborts.
REQMGR2_AUTO_PATH: Mapping[str, str] = {
    "assigned": "staging",
    "staging": "staged",
    "staged": "acquired",
    "acquired": "running-open",
    "running-open": "running-closed",
    "running-closed": "completed",
    "force-complete": "completed",
    "aborted": "aborted-completed",
    "announced": "normal-archived",
    "aborted-completed": "aborted-archived",
    "rejected": "rejected-archived",
}

#: Permission level required to move a request *to* a status (``NO_STATUS`` for create, clone and
#: edits without a status). Production map from ``dmwm/deployment`` ``reqmgr2/config.py``.
NO_STATUS = "NO_STATUS"
REQMGR2_PERMISSION_FOR_STATUS: Mapping[str, str] = {
    **{
        s: "admin"
        for s in (
            "acquired",
            "running-open",
            "running-closed",
            "completed",
            "aborted-completed",
            "failed",
            "rejected-archived",
            "aborted-archived",
            "normal-archived",
        )
    },
    **{s: "ops" for s in ("assigned", "staging", "staged", "force-complete", "closed-out", "announced")},
    **{s: "ppd" for s in ("new", "assignment-approved", "rejected", "aborted", NO_STATUS)},
}

#: Permission level -> allowed (roles, groups). A caller passes when one of its (role, group) pairs
#: has the role in the list and the group in the list. Names are compared in canonical form.
_ADMIN_ROLES = ("admin", "developer", "web-service")
_ADMIN_GROUPS = ("reqmgr", "facops")
REQMGR2_PERMISSION_LEVELS: Mapping[str, tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]] = {
    "admin": ((_ADMIN_ROLES, _ADMIN_GROUPS),),
    "ops": ((_ADMIN_ROLES, _ADMIN_GROUPS), (("production-operator",), ("dataops",))),
    "ppd": (
        (_ADMIN_ROLES, _ADMIN_GROUPS),
        (("production-operator",), ("dataops",)),
        (("data-manager",), ("reqmgr",)),
    ),
}

#: ``ALLOWED_ACTIONS_FOR_STATUS``: keys editable without a status change, by *current* status.
_ASSIGNMENT_APPROVED_EDITABLE = (
    "RequestPriority",
    "Team",
    "SiteWhitelist",
    "SiteBlacklist",
    "AcquisitionEra",
    "ProcessingString",
    "ProcessingVersion",
    "Dashboard",
    "MergedLFNBase",
    "TrustSitelists",
    "UnmergedLFNBase",
    "MinMergeSize",
    "MaxMergeSize",
    "MaxMergeEvents",
    "BlockCloseMaxWaitTime",
    "BlockCloseMaxFiles",
    "BlockCloseMaxEvents",
    "BlockCloseMaxSize",
    "SoftTimeout",
    "GracePeriod",
    "TrustPUSitelists",
    "CustodialSites",
    "NonCustodialSites",
    "Override",
    "SubscriptionPriority",
)
REQMGR2_EDITABLE: Mapping[str, frozenset[str]] = {
    "new": frozenset({"RequestPriority"}),
    "assignment-approved": frozenset(_ASSIGNMENT_APPROVED_EDITABLE),
    "assigned": frozenset({"RequestPriority"}),
    "staging": frozenset({"RequestPriority", "SiteWhitelist", "SiteBlacklist"}),
    "staged": frozenset({"RequestPriority"}),
    "acquired": frozenset({"RequestPriority", "SiteWhitelist", "SiteBlacklist"}),
    "running-open": frozenset({"RequestPriority", "SiteWhitelist", "SiteBlacklist"}),
    "running-closed": frozenset({"RequestPriority"}),
}
#: The global workqueue statistics update, accepted in every status.
REQMGR2_WORKQUEUE_STAT_KEYS: frozenset[str] = frozenset(
    {"total_jobs", "input_lumis", "input_events", "input_num_files"}
)

#: Sensible sensor defaults: these end a wait with a failure unless the user targets them.
REQMGR2_FAILURE_STATUSES: frozenset[str] = frozenset(
    {"aborted", "aborted-completed", "aborted-archived", "rejected", "rejected-archived", "failed"}
)


def reqmgr2_can_transition(current: str, target: str) -> bool:
    """True when the server's table allows ``current -> target``."""
    return target in REQMGR2_TRANSITIONS.get(current, ())


def reqmgr2_permission(target: str | None) -> str:
    """Permission level (admin/ops/ppd) needed to write ``target`` (None: an edit without status)."""
    return REQMGR2_PERMISSION_FOR_STATUS[target or NO_STATUS]


def canonical_role(name: str) -> str:
    """Role and group names as the server compares them: lower case, non-alphanumeric runs -> '-'."""
    out: list[str] = []
    dash = False
    for ch in name.lower():
        if ch.isalnum():
            out.append(ch)
            dash = False
        elif not dash:
            out.append("-")
            dash = True
    return "".join(out)


def reqmgr2_allowed(level: str, role_groups: Iterable[tuple[str, str]]) -> bool:
    """Does a caller holding ``(role, group)`` pairs pass the permission ``level``?"""
    pairs = {(canonical_role(r), canonical_role(g)) for r, g in role_groups}
    for roles, groups in REQMGR2_PERMISSION_LEVELS[level]:
        if any(r in roles and g in groups for r, g in pairs):
            return True
    return False


def _graph_reachable(graph: Mapping[str, Iterable[str]], start: str) -> frozenset[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        node = todo.pop()
        for nxt in graph.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen)


@cache
def reqmgr2_reachable(status: str) -> frozenset[str]:
    """Every status reachable from ``status`` in one or more steps (not including itself,
    unless a cycle leads back)."""
    return _graph_reachable(REQMGR2_TRANSITIONS, status)


def reqmgr2_target_still_reachable(current: str, targets: Iterable[str]) -> bool:
    """False once the request sits where no target can ever be reached: the sensor fails fast."""
    wanted = set(targets)
    return current in wanted or bool(reqmgr2_reachable(current) & wanted)


def reqmgr2_path_between(current: str, target: str) -> list[str] | None:
    """Shortest legal path ``current -> ... -> target`` (both included), or None. Used to explain
    which manual steps a request still needs and to drive the emulator/tests."""
    if current == target:
        return [current]
    prev: dict[str, str] = {}
    frontier = [current]
    seen = {current}
    while frontier:
        nxt_frontier: list[str] = []
        for node in frontier:
            for nxt in REQMGR2_TRANSITIONS.get(node, ()):
                if nxt in seen:
                    continue
                seen.add(nxt)
                prev[nxt] = node
                if nxt == target:
                    path = [nxt]
                    while path[-1] != current:
                        path.append(prev[path[-1]])
                    return path[::-1]
                nxt_frontier.append(nxt)
        frontier = nxt_frontier
    return None


def check_reqmgr2_statuses(statuses: Iterable[str], argument: str) -> tuple[str, ...]:
    """Validate user-given status names; raises ValueError naming the argument and the bad value."""
    out = tuple(statuses)
    unknown = [s for s in out if s not in REQMGR2_TRANSITIONS]
    if unknown:
        raise ValueError(
            f"{argument}: unknown ReqMgr2 status {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(REQMGR2_STATUSES)}"
        )
    return out


# --------------------------------------------------------------------------------------------
# POMS
# --------------------------------------------------------------------------------------------


class PomsStatus(enum.IntEnum):
    """Submission statuses with POMS' numeric ids (the order matters to POMS' rollback rules)."""

    NEW = 1000
    CANCELLED = 1500
    LAUNCH_FAILED = 2000
    AWAITING_APPROVAL = 2400
    APPROVED = 2500
    IDLE = 3000
    RUNNING = 4000
    HELD = 5000
    FAILED = 6000
    COMPLETED = 7000
    LOCATED = 8000
    REMOVED = 9000

    @property
    def label(self) -> str:
        """The name POMS shows and sends (``statusmap``), e.g. ``LaunchFailed``."""
        return POMS_STATUS_NAMES[self]

    @classmethod
    def from_label(cls, label: str) -> PomsStatus:
        try:
            return _POMS_BY_LABEL[label.strip().lower()]
        except KeyError:
            raise ValueError(
                f"unknown POMS submission status {label!r}; known: {', '.join(POMS_STATUS_NAMES.values())}"
            ) from None


POMS_STATUS_NAMES: Mapping[PomsStatus, str] = {
    PomsStatus.NEW: "New",
    PomsStatus.CANCELLED: "Cancelled",
    PomsStatus.LAUNCH_FAILED: "LaunchFailed",
    PomsStatus.AWAITING_APPROVAL: "Awaiting Approval",
    PomsStatus.APPROVED: "Approved",
    PomsStatus.IDLE: "Idle",
    PomsStatus.RUNNING: "Running",
    PomsStatus.HELD: "Held",
    PomsStatus.FAILED: "Failed",
    PomsStatus.COMPLETED: "Completed",
    PomsStatus.LOCATED: "Located",
    PomsStatus.REMOVED: "Removed",
}
_POMS_BY_LABEL = {name.lower(): st for st, name in POMS_STATUS_NAMES.items()}
# Accept the spelling without the space too ("AwaitingApproval").
_POMS_BY_LABEL["awaitingapproval"] = PomsStatus.AWAITING_APPROVAL

#: POMS' own "final" set: updates from the system user ``poms`` no longer change these.
POMS_FINAL: frozenset[PomsStatus] = frozenset({PomsStatus.LOCATED, PomsStatus.REMOVED, PomsStatus.FAILED})
#: Sensor defaults.
POMS_DEFAULT_TARGETS: tuple[str, ...] = ("Located",)
POMS_DEFAULT_FAILURES: tuple[str, ...] = ("Failed", "Removed", "Cancelled", "LaunchFailed")
#: States a watcher must report loudly rather than wait on silently.
POMS_NEEDS_ATTENTION: frozenset[PomsStatus] = frozenset({PomsStatus.HELD, PomsStatus.AWAITING_APPROVAL})

#: The normal life of a submission, as the batch side and the wrapup cron move it.
POMS_NORMAL_PATH: tuple[PomsStatus, ...] = (
    PomsStatus.NEW,
    PomsStatus.IDLE,
    PomsStatus.RUNNING,
    PomsStatus.COMPLETED,
    PomsStatus.LOCATED,
)


def poms_update_allowed(current: PomsStatus | None, new: PomsStatus, *, by_system: bool) -> bool:
    """POMS' rollback rules for a status update (``update_submission_status``).

    Duplicates are dropped; after Completed nothing at or below Completed is accepted; after a
    final status the system user may no longer change it (people still can).
    """
    if current is None:
        return True
    if new == current:
        return False
    if current == PomsStatus.COMPLETED and new <= PomsStatus.COMPLETED:
        return False
    return not (current in POMS_FINAL and by_system)


def check_poms_statuses(labels: Iterable[str], argument: str) -> tuple[str, ...]:
    """Normalise user-given POMS status names to POMS' spelling; ValueError names the argument."""
    out = []
    for label in labels:
        try:
            out.append(PomsStatus.from_label(label).label)
        except ValueError as exc:
            raise ValueError(f"{argument}: {exc}") from None
    return tuple(out)
