"""Property-based tests of the request schemas (issue 8 part 5).

Why: the example tests check bodies the real server accepted and hand-made broken variants. Here
the values are generated from the validators' own rules (the ReqMgr2 regexes and ranges of
reqmgr2-api.md section 20): every value the rule allows must be accepted, and a body with any one
field broken must be rejected with that field's JSON path, so a DAG author is told where to look.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_poms import validation
from airflow_provider_poms.http.errors import ValidationError

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_ACCEPTED = json.loads((Path(__file__).parents[1] / "schemas" / "data" / "accepted.json").read_text())
STEPCHAIN: dict[str, Any] = _ACCEPTED["reqmgr2_create"]["real_stepchain_minimal"]
ASSIGNMENT: dict[str, Any] = _ACCEPTED["reqmgr2_assign"]["real_assignment"]


def _regex(pattern: str) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True)


#: Values each rule allows (ASCII only: the server's classes are ASCII ranges).
request_strings = _regex(r"[a-zA-Z0-9._-][a-zA-Z0-9 ._-]{0,58}[a-zA-Z0-9._-]?")
campaigns = _regex(r"[a-zA-Z0-9_-]{0,80}")
eras = _regex(r"[a-zA-Z][a-zA-Z0-9_]{0,30}")
processing_strings = _regex(r"[a-zA-Z0-9_]{1,100}")
sites = _regex(r"T[0-3]_[A-Z]{2}(_[A-Za-z0-9]{1,6}){1,3}")
step_names = _regex(r"[a-zA-Z][a-zA-Z0-9_-]{0,40}")
cmssw = _regex(r"CMSSW_[0-9]{1,2}_[0-9]{1,2}_[0-9]{1,2}(_[a-zA-Z0-9_]{1,10})?")
priorities = st.integers(min_value=0, max_value=999_999)


@FAST
@given(
    rs=request_strings,
    priority=priorities,
    campaign=campaigns,
    era=eras,
    ps=processing_strings,
    pv=st.integers(min_value=0, max_value=10_000) | _regex(r"[0-9]{1,5}"),
    release=cmssw,
    step=step_names,
    events=st.integers(min_value=1, max_value=10**9),
)
def test_stepchain_built_from_the_rules_is_accepted(
    rs: str, priority: int, campaign: str, era: str, ps: str, pv: Any, release: str, step: str, events: int
) -> None:
    spec = copy.deepcopy(STEPCHAIN)
    spec.update(
        RequestString=rs,
        RequestPriority=priority,
        Campaign=campaign,
        AcquisitionEra=era,
        ProcessingString=ps,
        ProcessingVersion=pv,
        CMSSWVersion=release,
    )
    spec["Step1"].update(StepName=step, RequestNumEvents=events)
    assert validation.problems("reqmgr2_create", spec) == []


@FAST
@given(
    white=st.lists(sites, min_size=1, max_size=5, unique=True),
    black=st.lists(sites, max_size=5, unique=True),
    team=st.text(min_size=1, max_size=20),
    soft=st.integers(min_value=1, max_value=10**6),
)
def test_assignment_built_from_the_rules_is_accepted(
    white: list[str], black: list[str], team: str, soft: int
) -> None:
    body = copy.deepcopy(ASSIGNMENT)
    body.update(
        SiteWhitelist=white, SiteBlacklist=[s for s in black if s not in white], Team=team, SoftTimeout=soft
    )
    assert validation.problems("reqmgr2_assign", body) == []


#: (field, values that break its rule); the path of the problem must be the field's.
BREAKERS: list[tuple[str, st.SearchStrategy[Any]]] = [
    (
        "RequestPriority",
        st.integers(min_value=1_000_000) | st.integers(max_value=-1) | st.text() | st.floats(),
    ),
    ("RequestString", st.text(min_size=1).filter(lambda t: any(c in t for c in "/?#%&*+:;")) | st.just("")),
    (
        "RequestType",
        st.text().filter(
            lambda t: t not in validation.load_schema("reqmgr2_defs")["$defs"]["request_type"]["enum"]
        ),
    ),
    ("Campaign", st.text(min_size=1).filter(lambda t: any(c in t for c in "/ .?#"))),
    ("CMSSWVersion", st.text().filter(lambda t: not t.startswith("CMSSW_"))),
    ("StepChain", st.text() | st.integers(max_value=0) | st.none()),
    (
        "AcquisitionEra",
        st.integers() | st.lists(st.integers(), max_size=2) | _regex(r"[0-9_][a-zA-Z0-9_]{0,5}"),
    ),
]


@FAST
@given(data=st.data(), which=st.sampled_from(range(len(BREAKERS))))
def test_one_broken_field_is_reported_at_its_path(data: st.DataObject, which: int) -> None:
    field, strategy = BREAKERS[which]
    spec = copy.deepcopy(STEPCHAIN)
    spec[field] = data.draw(strategy, label=field)
    with pytest.raises(ValidationError) as info:
        validation.validate_request_spec(spec)
    paths = [p for p, _ in info.value.problems]
    assert f"$.{field}" in paths, info.value.problems
    assert all(p.startswith(("$.", "$[")) or p == "$" for p in paths)


@FAST
@given(drop=st.sampled_from(["RequestType", "RequestString", "RequestPriority", "CMSSWVersion", "GlobalTag"]))
def test_missing_mandatory_argument_is_reported_at_its_path(drop: str) -> None:
    spec = copy.deepcopy(STEPCHAIN)
    del spec[drop]
    paths = [p for p, _ in validation.problems("reqmgr2_create", spec)]
    assert f"$.{drop}" in paths


@FAST
@given(
    key=st.sampled_from(["StepName", "RequestNumEvents", "EventsPerLumi", "SplittingAlgo"]),
    value=st.just("") | st.integers(max_value=-1) | st.lists(st.none(), min_size=1, max_size=2),
)
def test_broken_step_field_is_reported_inside_the_step(key: str, value: Any) -> None:
    spec = copy.deepcopy(STEPCHAIN)
    spec["Step1"][key] = value
    paths = [p for p, _ in validation.problems("reqmgr2_create", spec)]
    assert f"$.Step1.{key}" in paths, paths


@FAST
@given(white=st.lists(sites, min_size=1, max_size=4, unique=True), data=st.data())
def test_a_site_in_both_lists_is_named(white: list[str], data: st.DataObject) -> None:
    both = data.draw(st.sampled_from(white))
    body = copy.deepcopy(ASSIGNMENT)
    body.update(SiteWhitelist=white, SiteBlacklist=[both])
    found = validation.problems("reqmgr2_assign", body)
    assert ("$.SiteBlacklist", f"site(s) also in SiteWhitelist: {both}") in found


@FAST
@given(key=st.text(min_size=1, max_size=20).filter(lambda k: k not in ASSIGNMENT and not k[0].isupper()))
def test_unknown_assignment_key_is_named_with_the_allowed_ones(key: str) -> None:
    body = dict(ASSIGNMENT, **{key: 1})
    found = dict(validation.problems("reqmgr2_assign", body))
    assert validation.json_path([key]) in found
    assert "allowed keys" in found[validation.json_path([key])]
