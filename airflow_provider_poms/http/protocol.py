"""Requests and responses as plain data, and the per-service ``Dialect``.

A hook builds an ``ApiRequest`` (pure data), a transport turns it into bytes on the wire with
``prepare`` and back into an ``ApiResponse``, and the service's ``Dialect`` says what the answer
means. Nothing here does I/O, so the sync and async transports share every decision.
"""

from __future__ import annotations

import json as _json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from airflow_provider_poms.http.errors import ApiError, InvalidResponse

if TYPE_CHECKING:
    from airflow_provider_poms.http.settings import ConnectionSettings

__all__ = [
    "NO_BODY",
    "ApiRequest",
    "ApiResponse",
    "Dialect",
    "Headers",
    "PreparedCall",
    "build_url",
    "encode_body",
    "finish_response",
    "prepare",
    "redact_url",
]


class _NoBody:
    """Sentinel: "no JSON body" (``None`` is a valid JSON body: ``null``)."""

    _instance: _NoBody | None = None

    def __new__(cls) -> _NoBody:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_BODY"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "NO_BODY"


NO_BODY: Final = _NoBody()

METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "HEAD"})


@dataclass(frozen=True)
class ApiRequest:
    """One logical API call. ``path`` is relative to the base URL with segments already quoted."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    json: Any = NO_BODY
    form: tuple[tuple[str, str], ...] | None = None
    files: tuple[tuple[str, str, bytes], ...] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    idempotent: bool = True
    operation: str = ""

    def __post_init__(self) -> None:
        method = self.method.upper()
        if method not in METHODS:
            raise ValueError(f"unsupported HTTP method {self.method!r}")
        object.__setattr__(self, "method", method)
        if self.json is not NO_BODY and (self.form is not None or self.files is not None):
            raise ValueError("an ApiRequest has either a JSON body or a form/multipart body, not both")
        # Accept lists for convenience, store tuples (hashable, immutable).
        for name in ("params", "form", "files", "headers"):
            value = getattr(self, name)
            if isinstance(value, Mapping):
                value = value.items()
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(tuple(v) for v in value))

    @property
    def label(self) -> str:
        """What to call this request in messages."""
        return self.operation or f"{self.method} {self.path}"


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only header mapping (repeated headers joined with ', ')."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        store: dict[str, tuple[str, str]] = {}
        for name, value in pairs:
            key = name.lower()
            if key in store:
                store[key] = (store[key][0], f"{store[key][1]}, {value}")
            else:
                store[key] = (name, value)
        self._items = store

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (original for original, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


_UNSET: Final = object()


def _loads(body: bytes) -> Any:
    """msgspec (Airflow installs it) parses large answers about twice as fast as ``json`` (bench/,
    docs/benchmarks.md); anything it refuses goes to ``json``, whose errors and leniency stay the rule."""
    try:
        import msgspec.json
    except ImportError:  # pragma: no cover - Airflow depends on msgspec
        return _json.loads(body)
    try:
        return msgspec.json.decode(body)
    except (msgspec.DecodeError, ValueError):
        return _json.loads(body)


@dataclass(frozen=True)
class ApiResponse:
    """A complete answer: status, case-insensitive headers, decompressed body, final URL."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str
    _parsed: Any = field(default=_UNSET, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.headers, Headers):
            object.__setattr__(self, "headers", Headers(self.headers))

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()

    @property
    def is_json(self) -> bool:
        ctype = self.content_type
        return ctype == "application/json" or ctype.endswith("+json")

    def json(self) -> Any:
        """The body parsed as JSON (parsed once); ``InvalidResponse`` when it is not JSON."""
        if self._parsed is _UNSET:
            try:
                value = _loads(self.body)
            except ValueError as exc:
                snippet = self.body[:80].decode("utf-8", "replace")
                if isinstance(exc, _json.JSONDecodeError):
                    why = f"{exc.msg} at byte {exc.pos}"
                else:
                    why = "not UTF-8 text"
                raise InvalidResponse(
                    f"body is not valid JSON ({why}); starts with {snippet!r}",
                    url=self.url,
                    status=self.status,
                    maybe_sent=True,
                ) from None
            object.__setattr__(self, "_parsed", value)
        return self._parsed

    def text(self) -> str:
        return self.body.decode(_charset(self.headers.get("Content-Type", "")), "replace")


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip('"') or "utf-8"
    return "utf-8"


class Dialect(Protocol):
    """Per-service rules: default headers and what an answer means. Plain functions on plain data."""

    name: str

    def default_headers(self, settings: ConnectionSettings) -> dict[str, str]: ...

    def error_for(self, request: ApiRequest, response: ApiResponse) -> ApiError | None: ...

    def is_retryable(self, request: ApiRequest, response: ApiResponse) -> bool: ...


# -- preparing the bytes -----------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedCall:
    """Exactly what goes on the wire (minus the credential headers, added per attempt)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    safe_url: str  # for logs and messages

    def with_headers(self, extra: Mapping[str, str]) -> dict[str, str]:
        merged = dict(self.headers)
        merged.update(extra)
        return merged


def build_url(base_url: str, path: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """``base_url/path?params``; query values are percent-encoded (spaces as %20, '/' too)."""
    url = base_url.rstrip("/")
    if path:
        url += "/" + path.lstrip("/")
    items = [(str(k), _param_value(v)) for k, v in params]
    if items:
        url += ("&" if "?" in url else "?") + urlencode(items, quote_via=quote, safe="")
    return url


def _param_value(value: Any) -> str:
    if isinstance(value, bool):
        # Never let Python's "False" reach a server that reads any non-empty string as true.
        raise ValueError("boolean query values are ambiguous; the hook must encode them explicitly")
    return str(value)


def redact_url(url: str) -> str:
    """URL safe to log: no userinfo; the query is kept (it never carries secrets in this provider)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def encode_body(request: ApiRequest) -> tuple[bytes | None, str | None]:
    """The request body and its Content-Type (JSON, form, or multipart)."""
    if request.json is not NO_BODY:
        return _json.dumps(request.json, separators=(",", ":")).encode(), "application/json"
    if request.files:
        return _multipart(request.form or (), request.files)
    if request.form is not None:
        items = [(k, _param_value(v)) for k, v in request.form]
        return urlencode(items).encode(), "application/x-www-form-urlencoded"
    return None, None


def _multipart(form: Iterable[tuple[str, str]], files: Iterable[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """multipart/form-data built here so both transports send identical bytes."""
    boundary = "poms-" + uuid.uuid4().hex
    out: list[bytes] = []

    def disposition(name: str, filename: str | None = None) -> bytes:
        text = f'Content-Disposition: form-data; name="{_quote_field(name)}"'
        if filename is not None:
            text += f'; filename="{_quote_field(filename)}"'
        return text.encode()

    for name, value in form:
        out += [f"--{boundary}".encode(), disposition(name), b"", _param_value(value).encode()]
    for name, filename, content in files:
        out += [
            f"--{boundary}".encode(),
            disposition(name, filename),
            b"Content-Type: application/octet-stream",
            b"",
            content,
        ]
    out += [f"--{boundary}--".encode(), b""]
    return b"\r\n".join(out), f"multipart/form-data; boundary={boundary}"


def _quote_field(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def prepare(request: ApiRequest, settings: ConnectionSettings, dialect: Dialect) -> PreparedCall:
    """Everything but credentials: URL, dialect headers, encoding headers, body."""
    url = build_url(settings.base_url, request.path, request.params)
    headers: dict[str, str] = {"User-Agent": USER_AGENT}
    headers["Accept-Encoding"] = "gzip" if settings.gzip else "identity"
    headers.update(dialect.default_headers(settings))
    body, content_type = encode_body(request)
    if content_type:
        headers["Content-Type"] = content_type
    if body is not None:
        headers["Content-Length"] = str(len(body))
    elif request.method in ("POST", "PUT", "DELETE"):
        headers["Content-Length"] = "0"
    for name, value in request.headers:
        if name.lower() == "authorization":
            raise ValueError("credentials come from the connection, not from request headers")
        headers[name] = value
    return PreparedCall(request.method, url, headers, body, redact_url(url))


def _user_agent() -> str:
    try:
        from importlib.metadata import version

        return f"airflow-provider-poms/{version('airflow-provider-poms')}"
    except Exception:
        return "airflow-provider-poms"


USER_AGENT: Final = _user_agent()


def finish_response(
    method: str, status: int, headers: Headers | Mapping[str, str], body: bytes, url: str
) -> ApiResponse:
    """Build the ``ApiResponse``; a success that promises JSON but does not parse is a broken answer.

    Checking here (once, the parse is cached) lets the retry policy treat a garbled body like any
    other transport failure: retried for idempotent calls, reported ``maybe_sent`` for writes.
    """
    response = ApiResponse(status, headers, body, url)
    if method != "HEAD" and 200 <= status < 300 and status != 204 and response.is_json:
        response.json()
    return response
