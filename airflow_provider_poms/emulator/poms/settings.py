"""Tunables of the POMS emulator (delays in *emulated* seconds, switches for known server bugs).

Why a separate object: the core's ``EmulatorConfig`` is shared by both services and owned by
another module, so POMS reads its own knobs from it defensively (``poms_<name>`` attributes or a
``poms`` mapping) and falls back to realistic defaults. Tests run the same defaults under a fast clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

#: Optional JSON object of PomsSettings fields, read from the emulator's state directory at start.
SETTINGS_FILE = "poms-settings.json"


@dataclass(frozen=True)
class PomsSettings:
    """Everything the POMS side may be tuned with. Defaults are minutes-scale like production."""

    #: Location of a successful launch: ``submission_id`` (production, poms_metacat_devel) or
    #: ``fname`` (main branch: ``fname=<YYYYmmdd_HHMMSS>_<user>_<sid>``).
    launch_redirect: str = "submission_id"
    #: Analysis launches without an uploaded vault token answer 303 to /poms/auth/<exp>/<role>.
    credential_check: bool = False
    #: Real server bug (confirmed live): get_campaign_stage_name answers 400. On by default.
    bug_stage_name: bool = True
    #: Real server bug (source only): modify_job_type_recoveries merges only the last existing key.
    bug_recoveries_merge: bool = False
    #: Fake batch side.
    jobid_delay: float = 30.0  # launch -> jobsub_job_id known (wrapper reports New + id)
    idle_delay: float = 60.0  # -> Idle
    running_delay: float = 120.0  # Idle -> Running
    run_duration: float = 900.0  # Running -> Completed, output grows meanwhile
    #: wrapup_tasks cron period; completion_type=complete goes Located on the next run.
    wrapup_interval: float = 300.0
    #: completion_type=located: Located this long after Completed (or at once with force_located).
    located_delay: float = 1800.0
    #: mark_failed_submissions: still New (no job id) this long -> LaunchFailed (POMS: 4 h).
    launch_failed_after: float = 4 * 3600.0
    #: Scripted outcomes: emulated seconds between two scripted status steps.
    script_step: float = 60.0
    #: Files in every emulated dataset (split types slice this).
    dataset_files: int = 20
    #: Per-user upload quota in bytes ("Upload exeeds quota").
    upload_quota: int = 10 * 1024 * 1024
    #: Zone of the naive local timestamps (the real server runs in US Central).
    timezone: str = "America/Chicago"
    #: Launch dependents/recoveries after Located ([POMS] launch_recovery_jobs).
    launch_recovery_jobs: bool = True


def settings_for(ctx: Any) -> PomsSettings:
    """Settings of one context, computed once (cached in ``ctx.extra``)."""
    extra = getattr(ctx, "extra", None)
    if isinstance(extra, dict) and isinstance(extra.get("poms_settings"), PomsSettings):
        return extra["poms_settings"]
    found = settings_from(getattr(ctx, "config", None))
    if isinstance(extra, dict):
        extra["poms_settings"] = found
    return found


def settings_from(config: Any) -> PomsSettings:
    """Build settings from the core's config: ``--launch-redirect``, then ``STATE_DIR/poms-settings.json``
    (a JSON object of field names), then ``config.poms`` (mapping) or ``poms_<field>`` attributes."""
    base = PomsSettings()
    if config is None:
        return base
    overrides: dict[str, Any] = {}
    names = {f.name for f in fields(PomsSettings)}
    alt = getattr(config, "launch_redirect", None)
    if alt:
        overrides["launch_redirect"] = alt
    state_dir = getattr(config, "state_dir", None)
    if state_dir is not None and (Path(state_dir) / SETTINGS_FILE).is_file():
        data = json.loads((Path(state_dir) / SETTINGS_FILE).read_text())
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"{SETTINGS_FILE}: unknown POMS settings {sorted(unknown)}")
        overrides.update(data)
    mapping = getattr(config, "poms", None)
    if isinstance(config, dict):
        mapping = config.get("poms", config)
    if isinstance(mapping, dict):
        overrides.update({k: v for k, v in mapping.items() if k in names})
    for name in names:
        val = getattr(config, f"poms_{name}", None)
        if val is not None:
            overrides[name] = val
    return replace(base, **overrides)
