"""Helpers of the PomsHook tests: unique campaigns uploaded through the hook itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from airflow_provider_poms.hooks.poms import PomsHook, build_call

EXPERIMENT = "samdev"


def campaign_ini(tag: str, stages: dict[str, str], *, recoveries: str = "[]") -> str:
    """A campaign ``.ini`` with its own job type and login setup (names are unique per database).

    ``stages`` maps a stage name to extra ``key=value`` lines (e.g. ``cs_split_type=draining``).
    Stages have no dependencies, so each is a leading stage.
    """
    body = [
        f"[campaign]\nname=camp_{tag}\n",
        "[campaign_defaults]\nvo_role=Production\nsoftware_version=v1_0\n"
        f"dataset_or_split_data=ds_{tag}\ncs_split_type=None\ncompletion_type=complete\n"
        'completion_pct=95\nparam_overrides=[]\ntest_param_overrides=[["--events=","10"]]\n'
        f"login_setup=ls_{tag}\njob_type=jt_{tag}\n",
    ]
    for name, extra in stages.items():
        body.append(f"[campaign_stage {name}]\n{extra}\n")
    body.append(f"[login_setup ls_{tag}]\nhost=samdevgpvm01.fnal.gov\naccount=samdevpro\nsetup=source s.sh\n")
    body.append(
        f"[job_type jt_{tag}]\nlaunch_script=fife_launch -c t.cfg\nparameters=[]\n"
        f"output_file_patterns=%%.root\nrecoveries={recoveries}\n"
    )
    return "\n".join(body)


@dataclass
class Campaign:
    """A campaign uploaded for one test."""

    tag: str
    name: str
    campaign_id: int
    stage_ids: dict[str, int] = field(default_factory=dict)

    @property
    def job_type(self) -> str:
        return f"jt_{self.tag}"

    @property
    def login_setup(self) -> str:
        return f"ls_{self.tag}"


def upload_campaign(hook: PomsHook, tmp_path: Path, stages: dict[str, str] | None = None) -> Campaign:
    tag = uuid.uuid4().hex[:10]
    path = tmp_path / f"camp_{tag}.ini"
    path.write_text(campaign_ini(tag, stages or {"main": ""}))
    answer = hook.upload_wf(path)
    return Campaign(
        tag=tag,
        name=f"camp_{tag}",
        campaign_id=int(answer["campaign_id"]),
        stage_ids={name: int(sid) for sid, name in answer["campaign_stage_ids"]},
    )


def stage_submission_ids(hook: PomsHook, stage_id: int) -> set[int]:
    data = hook.campaign_stage_submissions(EXPERIMENT, None, "", "", campaign_stage_id=stage_id)
    return {int(r["submission_id"]) for r in (data.get("data") or {}).get("submissions") or []}


def hold_stage(hook: PomsHook, stage_id: int, what: str = "Hold") -> None:
    """``mark_campaign_hold`` (no poms_client function: a GUI call) as a raw request."""
    settings = hook.get_settings()
    request = build_call(
        "mark_campaign_hold",
        [("ids2HR", stage_id), ("is_hold", what)],
        experiment=settings.experiment,
        role=settings.role,
    )
    assert hook.send(request).status == 303
