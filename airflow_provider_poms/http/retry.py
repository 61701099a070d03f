"""When to try a call again and how long to wait: plain decisions on plain data.

The rule that keeps duplicates away: a request marked non-idempotent (create, clone, launch) is
re-sent only when the failure happened before any byte of it left this process (connect error,
TLS not even started). Every other failure of such a request surfaces to the hook, with
``maybe_sent=True`` when the server may have acted, so the hook can look before sending again.

Idempotent requests are retried on transport failures (resets, timeouts, truncated or unreadable
bodies), on 429, 502, 503, 504 and on whatever the service's dialect calls retryable (ReqMgr2's 500
"Server error"), with exponential backoff, jitter and ``Retry-After``.

Both transports drive the same loop, ``RetryLoop`` (only ``time.sleep`` vs ``asyncio.sleep`` and
the I/O differ)::

    plan = RetryLoop(request, call, dialect, policy, log)
    plan.record(<one exchange>)          # an ApiResponse or the ProviderError it raised
    for delay in plan:                   # one delay per retry the policy grants
        sleep(delay)
        plan.record(<one exchange>)
    return plan.result()                 # the answer, or the typed exception raised
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from airflow_provider_poms.http.auth import Credentials
from airflow_provider_poms.http.errors import (
    ProviderError,
    RateLimited,
    ServerError,
    TLSError,
    TransportError,
)
from airflow_provider_poms.http.protocol import ApiRequest, ApiResponse, Dialect, PreparedCall, prepare
from airflow_provider_poms.http.settings import ConnectionSettings

__all__ = [
    "RETRYABLE_STATUSES",
    "Attempt",
    "RetryLoop",
    "RetryPolicy",
    "TransportBase",
    "conclude",
    "parse_retry_after",
]

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# A gateway answer to a write says nothing about whether the backend committed it.
AMBIGUOUS_WRITE_STATUSES = frozenset({500, 502, 504})


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date); None if absent/bad."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if 0.0 <= seconds < float("inf") else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long. ``backoff`` is the first delay; it doubles each attempt."""

    max_retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 60.0
    max_retry_after: float = 300.0  # a longer Retry-After is reported to the caller, not slept through
    jitter: float = 0.5  # fraction of the delay that is randomised (0 = deterministic)
    rng: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: object) -> RetryPolicy:
        return cls(max_retries=settings.max_retries, backoff=settings.backoff)  # type: ignore[attr-defined]

    def start(self, request: ApiRequest, dialect: Dialect) -> Attempt:
        return Attempt(self, request, dialect)

    def backoff_delay(self, retry_number: int) -> float:
        """Delay before retry ``retry_number`` (1-based): backoff * 2**(n-1), capped, with jitter."""
        base = min(self.max_backoff, self.backoff * (2 ** (retry_number - 1)))
        spread = base * self.jitter
        return base - spread + spread * self.rng()

    # -- the two decisions --------------------------------------------------------------------
    def should_retry_error(self, request: ApiRequest, error: TransportError) -> bool:
        """A transport failure: retry if nothing can have been sent, or the request is idempotent."""
        if isinstance(error, TLSError):
            return False  # wrong CA / refused certificate: retrying cannot help
        if not error.maybe_sent:
            return True
        return request.idempotent

    def should_retry_response(self, request: ApiRequest, response: ApiResponse, dialect: Dialect) -> bool:
        """An HTTP answer: only idempotent requests are retried on error answers."""
        if not request.idempotent:
            return False
        if response.status in RETRYABLE_STATUSES:
            return True
        return dialect.is_retryable(request, response)

    def retry_after_for(self, response: ApiResponse) -> float | None:
        if response.status not in (429, 503):
            return None
        return parse_retry_after(response.headers.get("Retry-After"))


@dataclass
class Attempt:
    """The retry state of one call."""

    policy: RetryPolicy
    request: ApiRequest
    dialect: Dialect
    retries: int = 0
    last_reason: str = ""

    def next_delay(self, outcome: ApiResponse | TransportError) -> float | None:
        """Seconds to wait before the next attempt, or None to stop and ``conclude``."""
        policy = self.policy
        if self.retries >= policy.max_retries:
            return None
        if isinstance(outcome, TransportError):
            if not policy.should_retry_error(self.request, outcome):
                return None
            delay = policy.backoff_delay(self.retries + 1)
            self.last_reason = type(outcome).__name__
        else:
            if not policy.should_retry_response(self.request, outcome, self.dialect):
                return None
            delay = policy.backoff_delay(self.retries + 1)
            after = policy.retry_after_for(outcome)
            if after is not None:
                if after > policy.max_retry_after:
                    return None
                delay = max(delay, after)
            self.last_reason = f"HTTP {outcome.status}"
        self.retries += 1
        return delay


class TransportBase:
    """What both transports hold for the retry loop: settings, dialect, credentials and policy."""

    def __init__(self, settings: ConnectionSettings, dialect: Dialect, policy: RetryPolicy | None) -> None:
        self.settings = settings
        self.dialect = dialect
        self.credentials = Credentials(settings)
        self.policy = policy or RetryPolicy.from_settings(settings)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.settings.base_url!r}, {self.dialect.name})"

    def _plan(self, request: ApiRequest, log: logging.Logger) -> tuple[PreparedCall, RetryLoop]:
        """The prepared bytes of ``request`` and a fresh retry loop for sending them."""
        call = prepare(request, self.settings, self.dialect)
        return call, RetryLoop(request, call, self.dialect, self.policy, log)


class RetryLoop:
    """The retry loop of one call, written once for both transports; they only do the I/O.

    ``record`` takes each exchange's outcome (a ``TransportError`` is judged like an answer; any
    other ``ProviderError``, e.g. a response over the size cap or unreadable TLS files, is final and
    raised at once with the call's name); iterating yields the delay before each retry the policy
    grants; ``result`` turns the last outcome into the answer or the typed exception. Messages go
    to the transport's own logger, so its log configuration keeps applying.
    """

    def __init__(
        self,
        request: ApiRequest,
        call: PreparedCall,
        dialect: Dialect,
        policy: RetryPolicy,
        log: logging.Logger,
    ) -> None:
        self.request = request
        self.call = call
        self.dialect = dialect
        self.policy = policy
        self.log = log
        self.attempt = policy.start(request, dialect)
        self._outcome: ApiResponse | TransportError | None = None

    def record(self, outcome: ApiResponse | ProviderError) -> None:
        if isinstance(outcome, TransportError):
            self.log.debug("%s %s failed: %s", self.call.method, self.call.safe_url, outcome.message)
        elif isinstance(outcome, ProviderError):  # too large, bad TLS files: final, but say which call
            outcome.operation = outcome.operation or self.request.label
            raise outcome
        self._outcome = outcome

    def __iter__(self) -> Iterator[float]:
        return self

    def __next__(self) -> float:
        if self._outcome is None:
            raise RuntimeError("RetryLoop: record an outcome before asking for a retry")
        delay = self.attempt.next_delay(self._outcome)
        if delay is None:
            raise StopIteration
        self.log.info(
            "%s: retry %d/%d in %.2f s after %s",
            self.request.label,
            self.attempt.retries,
            self.policy.max_retries,
            delay,
            self.attempt.last_reason,
        )
        return delay

    def result(self) -> ApiResponse:
        if self._outcome is None:
            raise RuntimeError("RetryLoop: no outcome recorded")
        return conclude(self.request, self._outcome, self.dialect, self.attempt.retries)


def conclude(
    request: ApiRequest, outcome: ApiResponse | TransportError, dialect: Dialect, retries: int = 0
) -> ApiResponse:
    """Turn the final outcome into a response or a typed exception (with retry context)."""
    if isinstance(outcome, TransportError):
        if not outcome.operation:
            outcome.operation = request.label
        _note_retries(outcome, retries)
        raise outcome
    error = dialect.error_for(request, outcome)
    if error is None:
        return outcome
    _fill(error, request, outcome)
    _note_retries(error, retries)
    if isinstance(error, RateLimited) and error.retry_after is None:
        error.retry_after = parse_retry_after(outcome.headers.get("Retry-After"))
    if (
        not request.idempotent
        and isinstance(error, ServerError)
        and outcome.status in AMBIGUOUS_WRITE_STATUSES
    ):
        error.maybe_sent = True
    raise error


def _fill(error: ProviderError, request: ApiRequest, response: ApiResponse) -> None:
    if not error.operation:
        error.operation = request.label
    if not error.url:
        error.url = response.url
    if error.status is None:
        error.status = response.status


def _note_retries(error: ProviderError, retries: int) -> None:
    if retries:
        error.message += f" (after {retries} {'retry' if retries == 1 else 'retries'})"
        error.args = (error.message,)
