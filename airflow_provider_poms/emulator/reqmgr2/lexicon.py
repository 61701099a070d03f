"""The ``WMCore.Lexicon`` validators the emulator uses, with the texts and frames they raise.

A Lexicon check raises ``AssertionError("'<value>' does not match regular expression <re>")``, which
WMCore passes through as the error text. On create and clone the WMException banner also lists the
frames of that exception (``_validateArgFunction`` -> the named Lexicon function -> ``check``), so each
validator carries its own frame (line numbers of ``reqmgr2==2.4.5.9``, checked on the real server).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from airflow_provider_poms.emulator.reqmgr2.wmexception import Frame

_LEXICON = "WMCore/Lexicon.py"
CHECK_FRAME = Frame(
    _LEXICON,
    524,
    "check",
    "assert re.compile(regexp).match(candidate) is not None, \\",
    "re.compile(regexp).match(candidate) is not None",
)

DATASET_RE = re.compile(r"^/[a-zA-Z0-9\-_]{1,99}/[a-zA-Z0-9\.\-_]{1,199}/[A-Z0-9\-]{1,99}$")
SITE_RE = re.compile(r"^T[0-3]_[A-Z]{2}((_[A-Za-z0-9]+)+)$")
IDENTIFIER_PATTERN = r"[a-zA-Z0-9\s\.\-_]{1,100}$"


class LexiconCheck:
    """One Lexicon function: ``check(pattern, convert(candidate))`` called from ``func`` at ``line``.

    ``empty_ok``: the function returns early on an empty candidate (``campaign``); ``empty``: it
    raises this text on one instead (``acqname`` at ``empty_line``, ``procstring``).
    """

    def __init__(
        self,
        pattern: str,
        func: str = "",
        line: int = 0,
        source: str = "",
        *,
        convert: Callable[[Any], Any] | None = None,
        empty_ok: bool = False,
        empty: str = "",
        empty_line: int = 0,
    ) -> None:
        self.pattern = pattern
        self.rx = re.compile(pattern)
        self.convert = convert
        self.empty_ok = empty_ok
        self.empty = empty
        self.empty_frames = (Frame(_LEXICON, empty_line, func, f'raise AssertionError("{empty}")'),)
        caller: tuple[Frame, ...] = ()
        if func:
            call = source.split("return ", 1)[1]
            caller = (Frame(_LEXICON, line, func, source, call),)
        self.frames: tuple[Frame, ...] = (*caller, CHECK_FRAME)

    def frames_for(self, value: Any) -> tuple[Frame, ...]:
        """The Lexicon frames of the AssertionError this check raised for ``value``."""
        return self.empty_frames if self.empty and not value else self.frames

    def __call__(self, value: Any) -> bool:
        if self.empty_ok and not value:
            return True
        if self.empty and not value:
            raise AssertionError(self.empty)
        if self.convert is not None:
            value = self.convert(value)
        if not isinstance(value, str) or self.rx.match(value) is None:
            raise AssertionError(f"'{value}' does not match regular expression {self.pattern}")
        return True


def lexicon(pattern: str) -> LexiconCheck:
    """A bare ``check`` (validators the emulator states without a named Lexicon function)."""
    return LexiconCheck(pattern)


def _named(func: str, line: int, pattern: str, arg: str = "candidate", **kw: Any) -> LexiconCheck:
    return LexiconCheck(pattern, func, line, f"return check(r'{pattern}', {arg})", **kw)


IDENTIFIER = _named("identifier", 197, IDENTIFIER_PATTERN)  # RequestName (from RequestString)
CAMPAIGN = _named("campaign", 315, r"^[a-zA-Z0-9-_]{1,80}$", empty_ok=True)
ACQNAME = _named(
    "acqname", 305, r"[a-zA-Z][a-zA-Z0-9_]*$", empty="AcqEra cannot be empty or None.", empty_line=299
)
PROCSTRING = _named(
    "procstring", 278, r"[a-zA-Z0-9_]{1,100}$", empty="ProcStr cannot be empty or None.", empty_line=272
)
PROCVERSION = _named("procversion", 266, r"^[0-9]+$", "str(candidate)", convert=str)
DATASET = LexiconCheck(DATASET_RE.pattern, "dataset", 210, "return check(DATASET_RE, candidate)")
_CMSNAME = lexicon(SITE_RE.pattern)


def cmsnames(value: Any) -> bool:
    """``all([cmsname(y) for y in x])``: trailing underscores are stripped, then the first bad name
    raises. (Only PUT checks sites, and PUT errors show no banner, so no frames are kept.)"""
    for site in value:
        if not isinstance(site, str):  # cmsname calls candidate.rstrip first
            raise AttributeError(f"'{type(site).__name__}' object has no attribute 'rstrip'")
        _CMSNAME(site.rstrip("_"))
    return True
