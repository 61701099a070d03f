"""Argument checks: casts, Lexicon validators and site lists, and where their texts come from.

Why a module of its own: these cases pin the exact wording, the WMException banner's MethodName /
LineNumber and whether its Traceback lists frames (an error built while a cast or a Lexicon check's
exception is handled lists them; one from a check that answered False does not) - details a client
shows its users, which the emulator got wrong before the conformance tier compared them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..rawhttp import RawResponse
from ..specs import ASSIGNMENT, stepchain, unique_tag
from .base import Case, CaseContext, _get, _ok_rows

Run = Callable[[CaseContext], RawResponse]


def _create(**overrides: Any) -> Run:
    return lambda c: c.op.post_json("request", stepchain(c.target, unique_tag("DiffArg"), **overrides))


def _create_without(key: str) -> Run:
    def run(c: CaseContext) -> RawResponse:
        spec = stepchain(c.target, unique_tag("DiffArg"))
        del spec[key]
        return c.op.post_json("request", spec)

    return run


def _assign(**overrides: Any) -> Run:
    return lambda c: c.op.put_json(f"request/{c.approved()}", {**ASSIGNMENT, **overrides})


CASES: list[Case] = [
    # ---- create: casts (frames of the cast), Lexicon (frames of the check), None (no frames)
    Case("create-string-arg-int", _create(GlobalTag=5)),
    Case("create-float-arg-string", _create(Memory="lots")),
    Case("create-bool-arg-mixed-case", _create(DeterministicPileup="tRuE")),
    Case("create-scramarch-int", _create(ScramArch=5)),
    Case("create-missing-cmssw", _create_without("CMSSWVersion")),
    Case("create-bad-campaign", _create(Campaign="bad campaign")),
    Case("create-bad-acqera", _create(AcquisitionEra="1Bad")),
    Case("create-empty-procstring", _create(ProcessingString="")),
    # ---- assignment: site lists (Lexicon cmsname), the non-empty whitelist, Team's safeStr
    Case("put-assign-empty-whitelist", _assign(SiteWhitelist=[])),
    Case("put-assign-site-trailing-underscore", _assign(SiteWhitelist=["T1_US_FNAL_"]), value=_ok_rows),
    Case("put-assign-blacklist-bad-site", _assign(SiteBlacklist=["T2"])),
    Case("put-assign-site-int", _assign(SiteWhitelist=[5])),
    Case("put-assign-team-list", _assign(Team=["production"])),
    # ---- GET request with one empty name: a server error with or without other filters
    Case("request-empty-name-detail-false", _get("request?name=&detail=false")),
    Case("request-empty-name-status", _get("request?name=&status=new&detail=false")),
]
