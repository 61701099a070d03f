"""POMS' error rewrite: which exception becomes which status and text.

The real ``error_rewrite`` turns handler exceptions into short messages; the live server sends them
as plain text (see the captured "No more splits" body), so the emulator does the same.
"""

from __future__ import annotations


class HTTPError(Exception):
    """An explicit status with a message (CherryPy ``HTTPError``), e.g. 423 for held launches."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Redirect(Exception):
    """An explicit redirect raised inside a handler (CherryPy ``HTTPRedirect``), always 303."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class UnknownUser(Exception):
    """No Experimenter row for the caller: POMS fails with a 500 HTML page."""


def rewrite(exc: BaseException) -> tuple[int, str]:
    """Status and body text for an exception escaping a handler (``error_rewrite``)."""
    if isinstance(exc, HTTPError):
        return exc.status, exc.message
    if isinstance(exc, PermissionError):
        return 401, repr(exc)
    if isinstance(exc, TypeError):
        return 400, repr(exc)
    if isinstance(exc, KeyError):
        return 400, f"Missing form field: {exc!r}"
    if isinstance(exc, AttributeError):
        return 400, f"Not found item: {exc!r}"
    if isinstance(exc, ValueError):
        return 400, f"Invalid argument: {exc!r}"
    return 400, f"Unknown error {exc!r}"
