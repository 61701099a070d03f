"""POMS launch from the Airflow UI: a validated form, one stage launched, watched until Located.

What it does
    "Trigger DAG" in the Airflow UI shows a form built from the params below (Airflow checks each
    value against its JSON Schema before the run is created):

    - ``campaign``: the campaign the stage belongs to (used when the stage is given by name);
    - ``campaign_stage``: the stage's name, or its numeric POMS id;
    - ``test_launch``: yes/no; a test launch applies the stage's test overrides and test split;
    - ``dataset_override``: optional; this launch reads that SAM dataset/definition instead of
      the stage's next split (POMS ``launch_jobs`` ``dataset_override``);
    - ``priority``: optional integer 1..100, sent as the parameter override ``PRIORITY_OVERRIDE``.
      POMS stores parameter overrides on the stage (later launches keep it: an empty value
      removes it); for a test launch it goes to the test overrides only.

    ``launch``, one task, reads all of them through templated fields, launches, pushes the
    "POMS submission" / "POMS campaign stage" links, then defers until the submission is Located
    (fails on Failed/Removed/Cancelled/LaunchFailed, or after ``HELD_LIMIT`` seconds Held).

Connections
    ``poms_default`` (conn type ``poms``; host, certificate/token, extra ``experiment`` and
    ``role``), see docs/connections.md; the ``poms_conn_id`` field or ``POMS_CONN_ID`` picks another.

How to adapt it
    Set the defaults to your campaign and stage, narrow ``campaign_stage`` with an ``enum`` of
    your stages if the list is short, set ``PRIORITY_OVERRIDE`` to the key your job type's launch
    configuration reads, raise ``POLL_SECONDS``. The form's field names are what the UI shows and
    what ``airflow dags trigger --conf`` takes. Running it against the offline emulator: see the
    README's "Example DAGs" section.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from airflow.sdk import DAG, Param
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_poms.hooks.poms import LaunchResult
from airflow_provider_poms.operators.poms import PomsLaunchStageOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

#: Default connection (the ``poms_conn_id`` form field overrides it per run).
POMS_CONN_ID = "poms_default"
#: The parameter override the ``priority`` field sets (what your launch configuration reads).
PRIORITY_OVERRIDE = "-Oglobal.priority="
#: Seconds between two looks at the submission. The emulator needs little; production: 300.
POLL_SECONDS = 10.0
#: A submission Held this long fails the task instead of waiting on silently.
HELD_LIMIT = 6 * 3600.0
WAIT_TIMEOUT = 3 * 24 * 3600.0
#: ``[[key, value]]`` when a priority was given, else nothing (rendered as a Python object).
OVERRIDES = (
    "{{ [['" + PRIORITY_OVERRIDE + "', params.priority | string]] if params.priority is not none else none }}"
)


def _yes(value: Any) -> bool:
    """The form's boolean, also when it arrives as text (``--conf '{"test_launch": "false"}'``)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y", "on")
    return bool(value)


class FormLaunchStageOperator(PomsLaunchStageOperator):
    """``PomsLaunchStageOperator`` whose stage, test flag and dataset come from the trigger form.

    Why a subclass: the stage may be typed as a name or an id, and ``test_launch`` and
    ``dataset_override`` are per-run choices here, so they must be templated fields.
    """

    template_fields = (
        *PomsLaunchStageOperator.template_fields,
        "test_launch",
        "dataset_override",
        "stage_campaign",
    )

    def __init__(self, *, stage_campaign: str, dataset_override: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stage_campaign = stage_campaign
        self.dataset_override = dataset_override

    def execute(self, context: Context) -> Any:
        self.test_launch = _yes(self.test_launch)
        self.dataset_override = str(self.dataset_override).strip() if self.dataset_override else None
        if self.test_launch and self.param_overrides:
            self.test_param_overrides, self.param_overrides = self.param_overrides, None
        self.campaign_stage_id = self._stage_id_from_form()
        return super().execute(context)

    def _stage_id_from_form(self) -> int:
        text = str(self.campaign_stage_id).strip()
        if text.isdigit():
            return int(text)
        found = self.hook.get_campaign_stage_id(self.experiment, self.stage_campaign, text, role=self.role)
        if found is None:
            raise AirflowFailException(
                f"campaign_stage: POMS knows no stage {text!r} in campaign {self.stage_campaign!r}"
            )
        return int(found)

    def launch(self) -> LaunchResult:
        return self.hook.launch_campaign_stage_jobs(
            self.stage_for_overrides(),
            test_launch=self.test_launch or None,
            experiment=self.experiment,
            role=self.role,
            dataset_override=self.dataset_override,
        )


with DAG(
    dag_id="poms_ui_launch",
    description="POMS: launch a campaign stage from the Airflow UI's trigger form and wait Located",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    render_template_as_native_obj=True,
    tags=["example", "poms", "ui"],
    doc_md=__doc__,
    params={
        "campaign": Param(
            "demo_campaign",
            type="string",
            minLength=1,
            maxLength=200,
            title="Campaign",
            description="Campaign of the stage (only used when the stage is given by name).",
        ),
        "campaign_stage": Param(
            "stage1",
            type="string",
            pattern=r"^([0-9]+|[A-Za-z0-9][A-Za-z0-9_.+-]{0,199})$",
            title="Campaign stage",
            description="Stage name (e.g. stage1) or numeric POMS campaign stage id.",
        ),
        "test_launch": Param(
            True,
            type="boolean",
            title="Test launch",
            description="Yes: POMS applies the stage's test overrides and test split.",
        ),
        "dataset_override": Param(
            None,
            type=["null", "string"],
            pattern=r"^[A-Za-z0-9_.:+-]{0,255}$",  # empty = no override (what an empty field sends)
            title="Dataset override",
            description="Optional SAM dataset/definition this launch reads instead of the next split.",
        ),
        "priority": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            maximum=100,
            title="Priority",
            description=f"Optional 1-100, sent as the parameter override {PRIORITY_OVERRIDE}",
        ),
        "poms_conn_id": Param(POMS_CONN_ID, type="string", minLength=1, title="POMS connection id"),
    },
) as dag:
    FormLaunchStageOperator(
        task_id="launch",
        campaign_stage_id="{{ params.campaign_stage }}",
        stage_campaign="{{ params.campaign }}",
        test_launch="{{ params.test_launch }}",  # type: ignore[arg-type]  # rendered to a bool
        dataset_override="{{ params.dataset_override }}",
        param_overrides=OVERRIDES,
        wait_for_completion=True,
        target_statuses="Located",
        fail_on_held_after=HELD_LIMIT,
        deferrable=True,
        poll_interval=POLL_SECONDS,
        timeout=WAIT_TIMEOUT,
        poms_conn_id="{{ params.poms_conn_id }}",
    )
