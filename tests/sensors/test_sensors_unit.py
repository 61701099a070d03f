"""Sensor arguments, deferral and trigger serialization, without a server."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred
from airflow.sdk.serde import deserialize, serialize

from airflow_provider_poms.sensors.poms import PomsSubmissionSensor
from airflow_provider_poms.sensors.reqmgr2 import ReqMgr2RequestSensor
from airflow_provider_poms.sensors.waiting import ReqMgr2Watch
from airflow_provider_poms.triggers.poms import PomsSubmissionTrigger
from airflow_provider_poms.triggers.reqmgr2 import ReqMgr2RequestTrigger
from airflow_provider_poms.triggers.verdict import WAITING, Judgement


def test_bad_sensor_arguments_fail_at_parse_time_naming_the_argument() -> None:
    with pytest.raises(ValueError, match="target_statuses: unknown ReqMgr2 status 'complete'"):
        ReqMgr2RequestSensor(task_id="s", request_name="r", target_statuses=["complete"])
    with pytest.raises(ValueError, match="request_name or request_names is required"):
        ReqMgr2RequestSensor(task_id="s")
    with pytest.raises(ValueError, match="not both"):
        ReqMgr2RequestSensor(task_id="s", request_name="a", request_names=["b"])
    with pytest.raises(ValueError, match="aborted is also in failure_statuses"):
        ReqMgr2RequestSensor(
            task_id="s", request_name="r", target_statuses="aborted", failure_statuses="aborted"
        )
    with pytest.raises(ValueError, match="submission_id: 'abc' is not a POMS submission id"):
        PomsSubmissionSensor(task_id="s", submission_id="abc")
    with pytest.raises(ValueError, match="failure_statuses: unknown POMS submission status 'Broken'"):
        PomsSubmissionSensor(task_id="s", submission_id=1, failure_statuses=["Broken"])
    with pytest.raises(ValueError, match="fail_on_held_after"):
        PomsSubmissionSensor(task_id="s", submission_id=1, fail_on_held_after=-5)
    with pytest.raises(ValueError, match="mode"):
        PomsSubmissionSensor(task_id="s", submission_id=1, mode="eventually")


def test_defaults_and_templating() -> None:
    sensor = PomsSubmissionSensor(task_id="s", submission_id="{{ ti.xcom_pull('launch') }}")
    assert sensor._check_args(at_parse=True)[1] == ["Located"]
    assert sensor._check_args(at_parse=True)[2] == ["Failed", "Removed", "Cancelled", "LaunchFailed"]
    assert sensor.deferrable is False  # [operators] default_deferrable is off here
    assert set(sensor.template_fields) >= {
        "submission_id",
        "target_statuses",
        "failure_statuses",
        "poms_conn_id",
    }
    req = ReqMgr2RequestSensor(
        task_id="r", request_names="a, b", target_statuses="completed,announced", mode="deferrable"
    )
    assert req.deferrable and req._check_args()[:2] == (["a", "b"], ["completed", "announced"])


class _FakeWatch(ReqMgr2Watch):
    """Looks without HTTP: always 'still waiting'."""

    def check(self, log: Any) -> Judgement:
        return Judgement(WAITING, "request r is assigned; still ahead: assigned -> staging", {})


def test_deferrable_sensor_checks_once_then_defers_with_plain_data(monkeypatch: pytest.MonkeyPatch) -> None:
    sensor = ReqMgr2RequestSensor(
        task_id="s", request_name="r", deferrable=True, poke_interval=30, timeout=600
    )
    watch = _FakeWatch("reqmgr2_default", ["r"], ["completed"])
    monkeypatch.setattr(sensor, "_watch", lambda context: watch)
    monkeypatch.setattr(
        "airflow_provider_poms.sensors.reqmgr2.ReqMgr2RequestLink.persist", lambda *a, **k: None
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})  # type: ignore[arg-type]
    trigger = deferred.value.trigger
    assert isinstance(trigger, ReqMgr2RequestTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout is not None and deferred.value.timeout >= dt.timedelta(seconds=600)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_poms.triggers.reqmgr2.ReqMgr2RequestTrigger"
    assert kwargs["request_names"] == ["r"] and kwargs["poll_interval"] == 30.0
    assert abs(kwargs["deadline"] - (kwargs["started_at"] + 600)) < 1
    # what the task runner does with the kwargs: serde round trip, then the class rebuilds
    rebuilt = ReqMgr2RequestTrigger(**deserialize(serialize(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)


def test_poms_trigger_round_trip_keeps_held_timer_and_progress() -> None:
    trigger = PomsSubmissionTrigger(
        submission_ids=[12],
        target_statuses=["Located"],
        failure_statuses=["Failed"],
        held_since=1000.0,
        fail_on_held_after=3600,
        progress={"12": ["Held", 40.0, 3]},
        seen={"12": 3},
    )
    classpath, kwargs = trigger.serialize()
    rebuilt = PomsSubmissionTrigger(**deserialize(serialize(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)
    assert rebuilt.held_since == 1000.0 and rebuilt.seen == {"12": 3}


def test_failure_in_poke_raises_a_non_retryable_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_poms.triggers.verdict import FAILURE

    sensor = ReqMgr2RequestSensor(task_id="s", request_name="r")

    class Dead(ReqMgr2Watch):
        def check(self, log: Any) -> Judgement:
            return Judgement(FAILURE, "request r is 'aborted'; path taken: new -> aborted", {})

    sensor._current = Dead("reqmgr2_default", ["r"], ["completed"])
    with pytest.raises(AirflowFailException, match="path taken"):
        sensor.poke({})  # type: ignore[arg-type]
