"""Time formats POMS puts on the wire.

POMS stores naive timestamps in the server's local zone (US Central) and prints them as
``YYYY-MM-DDTHH:MM:SS`` in JSON, ``YYYY-MM-DD HH:MM:SS`` in a few places, while the window
parameters ``tmin``/``tmax`` and the ``ds`` stamp are UTC. The emulator keeps epoch seconds of its
own clock and converts only at the edge.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@cache
def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local_iso(epoch: float | None, zone: str) -> str | None:
    """``2026-09-17T05:00:19``: naive local time, the JSON encoding of a POMS datetime."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, _zone(zone)).strftime("%Y-%m-%dT%H:%M:%S")


def local_space(epoch: float | None, zone: str) -> str | None:
    """``2026-09-17 05:00:19``: the form session_status_history and last_activity use."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, _zone(zone)).strftime("%Y-%m-%d %H:%M:%S")


def utc_stamp(epoch: float) -> str:
    """``20260917_100019``: UTC stamp used for ``ds`` and launch file names."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d_%H%M%S")


def utc_space(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def utc_iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_window_time(text: str) -> float:
    """``tmin``/``tmax``: first 19 characters as ``YYYY-MM-DD HH:MM:SS`` (or with ``T``), UTC.

    A malformed value raises ValueError, which the dispatcher turns into 400 ``Invalid argument``.
    """
    raw = text.strip()[:19].replace("T", " ").replace("+", " ")
    return datetime.strptime(raw, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()


def days(n: float) -> float:
    return timedelta(days=n).total_seconds()
