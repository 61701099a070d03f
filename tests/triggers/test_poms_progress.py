"""When the expensive progress numbers are read, and what is logged (pure logic, no server)."""

from __future__ import annotations

from airflow_provider_poms.triggers.poms_progress import ProgressTracker, _parse, describe


def test_progress_is_read_on_status_change_and_rarely_while_running() -> None:
    tracker = ProgressTracker(every=300)
    snap = {"status": "Running", "pct_complete": None, "available_output": None}
    assert tracker.due("7", snap, now=1000.0)
    assert tracker.apply("7", snap, {"pct_complete": 40.0, "available_output": 8, "campaign_stage_id": 3})
    assert snap["pct_complete"] == 40.0 and tracker.stage_id("7") == 3
    fetched_at = tracker.progress["7"][3]
    assert not tracker.due("7", {"status": "Running"}, now=fetched_at + 10)
    assert tracker.due("7", {"status": "Running"}, now=fetched_at + 301)
    assert tracker.due("7", {"status": "Completed"}, now=fetched_at + 10)
    # between reads the last known numbers are kept, and an unchanged view is not logged again
    later = {"status": "Running", "pct_complete": None, "available_output": None}
    assert not tracker.apply("7", later, None)
    assert later["available_output"] == 8
    assert describe("7", later) == "submission 7: Running, 40.0% complete, 8 output files available"
    # plain data for trigger kwargs
    assert ProgressTracker(tracker.dump()).progress == tracker.progress


def test_parse_reads_details_and_the_stage_listing_row() -> None:
    details = {"submission": {"pct_complete": 12.5, "campaign_stage_id": 4}}
    page = {
        "data": {
            "submissions": [
                {"submission_id": 6, "available_output": 1},
                {"submission_id": 7, "available_output": 3},
            ]
        }
    }
    assert _parse(7, details, page) == {"pct_complete": 12.5, "campaign_stage_id": 4, "available_output": 3}
    assert _parse(7, None, None) == {}
