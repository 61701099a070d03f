"""Wire format of the WMCore REST framework as ReqMgr2 runs it (CherryPy 18.10).

Everything here is a plain function on plain data: the envelope bytes (``REST/Format.py``),
Accept negotiation (CherryPy ``cptools.accept`` ordering), response compression
(``stream_compress``: q-values ignored, raw deflate), ETag/304/412 (``_etag_match``), caching
headers, and the three error paths of ``REST/Error.py`` (RESTError headers, bare HTTPError,
"Server error"). The route handlers in ``app.py`` only raise the exceptions defined here and
return rows; this module turns both into bytes so the framework behaviour lives in one place.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import re
import secrets
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from starlette.responses import Response

CHERRYPY_VERSION = "18.10.0"
JSON = "application/json"
PLAIN = "text/plain"
#: Most GET entities declare these two formats, in this order (``*/*`` picks the first).
GET_FORMATS: tuple[str, ...] = (PLAIN, JSON)
#: Writes and ``status``/``type``/``wmstats_info`` offer JSON only.
JSON_ONLY: tuple[str, ...] = (JSON,)
#: ``REST/Server.py``: methods tried in the client's (sorted) Accept-Encoding order.
COMPRESS_METHODS = ("deflate", "gzip")
#: Responses above this compressed size are streamed without ETag (``etag_limit``).
ETAG_LIMIT = 8 * 1024 * 1024
MAX_AGE = "max-age=3600"
NO_STORE_HEADERS: tuple[tuple[str, str], ...] = (
    ("Cache-Control", "no-store, no-cache, must-revalidate, post-check=0, pre-check=0"),
    ("Pragma", "no-cache"),
    ("Expires", "Sun, 19 Nov 1978 05:00:00 GMT"),
)


# --------------------------------------------------------------------------- errors
class RestError(Exception):
    """A WMCore ``RESTError``: answered with X-REST-Status/X-Error-* headers and an HTML page."""

    http_code = 500
    app_code = 200
    message = "Server error"

    def __init__(
        self, info: str | None = None, *, message: str | None = None, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(message or self.message)
        if message is not None:
            self.message = message
        self.info = info
        self.headers = tuple(headers)


class NotAcceptable(RestError):
    http_code, app_code, message = 406, 201, "Not acceptable"


class UnsupportedMethod(RestError):
    http_code, app_code, message = 405, 202, "Request method not supported"


class MethodWithoutQueryString(RestError):
    http_code, app_code, message = 405, 203, "Query arguments not supported for this request method"


class APIMethodMismatch(RestError):
    http_code, app_code, message = 405, 204, "API not supported for this request method"


class APINotSpecified(RestError):
    http_code, app_code, message = 400, 205, "API not specified"


class NoSuchInstance(RestError):
    http_code, app_code, message = 404, 206, "No such instance"


class APINotSupported(RestError):
    http_code, app_code, message = 404, 207, "API not supported"


class InvalidParameter(RestError):
    http_code, app_code, message = 400, 302, "Invalid input parameter"


def excess_args(args: Sequence[str]) -> InvalidParameter:
    """Leftover path segments after validation (``MiniRESTApi._call``)."""
    return InvalidParameter(f"Excess path arguments, not validated args='{list(args)!r}'")


def excess_kwargs(kwargs: Mapping[str, Any]) -> InvalidParameter:
    """Leftover query arguments after validation; repeated keys show as lists, like CherryPy's."""
    return InvalidParameter(f"Excess keyword arguments, not validated kwargs='{dict(kwargs)!r}'")


def collapse_params(params: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Query items as CherryPy hands them to handlers: one value, or a list when repeated."""
    out: dict[str, Any] = {}
    for k, v in params:
        if k in out:
            prev = out[k]
            out[k] = [*prev, v] if isinstance(prev, list) else [prev, v]
        else:
            out[k] = v
    return out


class MissingBodyData(RestError):
    http_code, app_code, message = 400, 1201, "User did not pass any body data with the request"


class InvalidUnifiedSchema(RestError):
    http_code, app_code = 400, 1202

    def __init__(self, text: str) -> None:
        super().__init__(message=text)


class InvalidStateTransition(RestError):
    """``ReqMgr/DataStructs/RequestError.py``; as observed it reaches the client wrapped in 1102."""

    http_code, app_code = 400, 1101

    def __init__(self, name: str, current: str, target: str) -> None:
        super().__init__(
            message=f"Invalid status transition for request: {name}, from '{current}' to '{target}'"
        )


class InvalidSpecParameterValue(RestError):
    """Every create/clone/update validation failure: ``Invalid spec parameter value: <text>``."""

    http_code, app_code = 400, 1102

    def __init__(self, text: str) -> None:
        super().__init__(message=f"Invalid spec parameter value: {text}")
        self.text = text


class BareHTTPError(Exception):
    """``cherrypy.HTTPError`` raised directly: HTML page, no X-REST-Status, no X-Error-*."""

    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message or "")
        self.code = code
        self.message = message


class ServerError(Exception):
    """Any other exception in a handler: 500 'Server error' with X-REST-Status 400."""


FORBIDDEN_MESSAGE = "You are not allowed to access this resource."


def forbidden() -> BareHTTPError:
    """The authz failure of ``REST/Auth.py``: 403 without X-Error headers."""
    return BareHTTPError(403, FORBIDDEN_MESSAGE)


_ERROR_TEMPLATE = """<!DOCTYPE html PUBLIC
"-//W3C//DTD XHTML 1.0 Transitional//EN"
"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html>
<head>
    <meta http-equiv="Content-Type" content="text/html; charset=utf-8"></meta>
    <title>{status}</title>
    <style type="text/css">
    #powered_by {{
        margin-top: 20px;
        border-top: 2px solid black;
        font-style: italic;
    }}

    #traceback {{
        color: red;
    }}
    </style>
</head>
    <body>
        <h2>{status}</h2>
        <p>{message}</p>
        <pre id="traceback"></pre>
    <div id="powered_by">
      <span>
        Powered by <a href="http://www.cherrypy.dev">CherryPy {version}</a>
      </span>
    </div>
    </body>
</html>
"""


def status_line(code: int) -> str:
    """'400 Bad Request' as CherryPy writes it in the title and heading."""
    return f"{code} {HTTPStatus(code).phrase}"


def error_page(code: int, message: str | None) -> bytes:
    """CherryPy's default HTML error page (tracebacks off); message HTML-escaped, not quoted."""
    if message is None:
        message = HTTPStatus(code).description
    return _ERROR_TEMPLATE.format(
        status=html.escape(status_line(code), quote=False),
        message=html.escape(message, quote=False),
        version=CHERRYPY_VERSION,
    ).encode("utf-8")


#: CherryPy's ``HeaderMap.encode_header_item`` deletes every control character from header values
_HEADER_DELETE = dict.fromkeys([*range(32), 127])


def error_header_value(value: object) -> str:
    """``REST/Error.py``: newlines become '; ', values over 200 characters end in '...'; then CherryPy
    drops control characters on output (the tabs of a WMException banner, after the cut)."""
    text = str(value).replace("\n", "; ")
    if len(text) > 200:
        text = text[:197] + "..."
    return text.translate(_HEADER_DELETE)


def new_error_id() -> str:
    """32 lowercase hex characters, like ``"%032x" % random.randrange(1 << 128)``."""
    return secrets.token_hex(16)


def _latin1(text: str) -> bytes:
    return text.encode("latin-1", "replace")


class RawResponse(Response):
    """A Starlette response with exactly the given headers (CherryPy's Title-Case spelling; the
    HTTP writer may still lower-case the names on the wire)."""

    def __init__(self, status: int, headers: Sequence[tuple[str, str]], body: bytes) -> None:
        super().__init__(content=b"", status_code=status)
        self.body = body
        self.raw_headers = [(_latin1(k), _latin1(v)) for k, v in headers]


def error_response(
    exc: BaseException,
    extra_headers: Sequence[tuple[str, str]] = (),
    *,
    elapsed_us: int | None = None,
    head: bool = False,
) -> RawResponse:
    """The bytes of one of the three error paths. Error responses are never compressed; they
    carry ``X-Rest-Time`` like successes; a HEAD error has no body and ``Content-Length: 0``."""
    headers: list[tuple[str, str]] = list(extra_headers)
    message: str
    if isinstance(exc, RestError):
        code, message = exc.http_code, exc.message
        headers += list(exc.headers)
        headers += [
            ("X-Rest-Status", str(exc.app_code)),
            ("X-Error-Http", str(exc.http_code)),
            ("X-Error-Id", new_error_id()),
            ("X-Error-Detail", error_header_value(exc.message)),
        ]
        if exc.info:
            headers.append(("X-Error-Info", error_header_value(exc.info)))
    elif isinstance(exc, BareHTTPError):
        code = exc.code
        message = exc.message or HTTPStatus(code).description
    else:
        code, message = 500, "Server error"
        headers += [
            ("X-Rest-Status", "400"),
            ("X-Error-Http", "500"),
            ("X-Error-Id", new_error_id()),
            ("X-Error-Detail", "Server error"),
        ]
    body = b"" if head else error_page(code, message)
    if elapsed_us is not None:
        headers.append(("X-Rest-Time", f"{elapsed_us} us"))
    headers += [("Content-Type", "text/html;charset=utf-8"), ("Content-Length", str(len(body)))]
    return RawResponse(code, headers, body)


# --------------------------------------------------------------------------- negotiation
@dataclass(frozen=True)
class _Element:
    value: str
    params: tuple[tuple[str, str], ...]
    q: float
    text: str  # str(AcceptElement): value plus ';k=v' params, used for tie-breaking


def header_elements(value: str | None) -> list[_Element]:
    """CherryPy ``header_elements`` for Accept*: sorted by q, ties by string, then reversed."""
    if not value:
        return []
    out: list[_Element] = []
    for raw in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", value):
        raw = raw.strip()
        if not raw:
            continue
        parts = [p.strip() for p in raw.split(";")]
        params: list[tuple[str, str]] = []
        for p in parts[1:]:
            k, _, v = p.partition("=")
            params.append((k.strip(), v.strip()))
        q_text = dict(params).get("q", "1")
        try:
            q = float(q_text)
        except ValueError:
            raise BareHTTPError(400, f"Malformed accept header element: {raw}") from None
        text = parts[0] + "".join(f";{k}={v}" for k, v in params)
        out.append(_Element(parts[0], tuple(params), q, text))
    out.sort(key=lambda e: (e.q, e.text))
    out.reverse()
    return out


def negotiate(accept: str | None, formats: Sequence[str]) -> str:
    """Chosen Content-Type base, or NotAcceptable exactly as ``MiniRESTApi._call`` raises it."""
    if accept is None:
        raise NotAcceptable("Accept header required")
    for el in header_elements(accept):
        if el.q <= 0:
            continue
        if el.value == "*/*":
            return formats[0]
        if el.value.endswith("/*"):
            prefix = el.value[:-1]
            for f in formats:
                if f.startswith(prefix):
                    return f
        elif el.value in formats:
            return el.value
    if not header_elements(accept):
        return formats[0]
    raise NotAcceptable("Available types: " + ", ".join(formats))


def choose_encoding(accept_encoding: str | None) -> str | None:
    """First client element (CherryPy order) that the server offers; q-values never exclude."""
    for el in header_elements(accept_encoding):
        if el.value in COMPRESS_METHODS:
            return el.value
    return None


def compress(body: bytes, encoding: str) -> bytes:
    """Whole-body compression at level 9; ``deflate`` is a raw stream (negative wbits)."""
    if encoding == "gzip":
        return gzip.compress(body, compresslevel=9)
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(body) + c.flush()


# --------------------------------------------------------------------------- envelope
_dumps = json.JSONEncoder().encode  # json.dumps defaults: ", " and ": " separators


def dumps(obj: Any) -> str:
    """``json.dumps(obj)`` with the defaults the server uses."""
    return _dumps(obj)


@dataclass
class Rows:
    """A successful answer: the rows of ``result``. ``raw`` rows are already JSON text."""

    rows: list[Any] = field(default_factory=list)
    raw: bool = False
    #: lazily builds raw JSON text of the rows (bulk GETs with pre-serialised documents)
    pretty_rows: list[Any] | None = None


def envelope(rows: Rows, fmt: str) -> bytes:
    """``{"result": [`` line, one line per row (' ' or ','), ``]}`` line; PrettyJSON: indent=2."""
    parts = ['{"result": [\n']
    comma = " "
    if fmt == JSON:
        texts: Iterable[str] = rows.rows if rows.raw else (_dumps(r) for r in rows.rows)
        for t in texts:
            parts.append(comma)
            parts.append(t)
            parts.append("\n")
            comma = ","
    else:
        source = rows.pretty_rows if rows.pretty_rows is not None else rows.rows
        if rows.raw and rows.pretty_rows is None:
            source = [json.loads(t) for t in rows.rows]
        for r in source:
            parts.append(comma)
            parts.append(json.dumps(r, indent=2))
            comma = ","
    parts.append("]}\n")
    return "".join(parts).encode("utf-8")


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest() + '"'


def _tag_list(value: str | None) -> list[str]:
    if not value:
        return []
    return [v.strip() for v in value.split(",") if v.strip()]


def success_response(
    *,
    method: str,
    body: bytes,
    fmt: str,
    accept_encoding: str | None,
    if_match: str | None,
    if_none_match: str | None,
    no_store: bool,
    elapsed_us: int,
) -> RawResponse:
    """Headers and bytes of a 200 (or 304/412 on GET/HEAD), as ``MiniRESTApi._call`` builds them."""
    ctype = f"{fmt};charset=utf-8" if fmt == PLAIN else fmt
    encoding = choose_encoding(accept_encoding)
    payload = compress(body, encoding) if encoding else body
    etag = etag_of(body) if len(payload) <= ETAG_LIMIT else None
    cache: list[tuple[str, str]] = []
    if method in ("GET", "HEAD"):
        cache = list(NO_STORE_HEADERS) if no_store else [("Cache-Control", MAX_AGE)]
        if etag is not None:
            match = _tag_list(if_match)
            if match and ("*" in match or etag in match):
                return error_response(
                    BareHTTPError(412, f"Precondition on ETag {etag} failed"),
                    [("X-Rest-Status", "100"), *cache],
                    elapsed_us=elapsed_us,
                    head=method == "HEAD",
                )
            nomatch = _tag_list(if_none_match)
            if nomatch and ("*" in nomatch or etag in nomatch):
                headers = [
                    ("X-Rest-Status", "100"),
                    *cache,
                    ("Vary", "Accept"),
                    ("Etag", etag),
                    ("X-Rest-Time", f"{elapsed_us} us"),
                ]
                return RawResponse(304, headers, b"")
    headers = [("X-Rest-Status", "100"), ("Content-Type", ctype)]
    headers += cache
    headers.append(("Vary", "Accept, Accept-Encoding" if encoding else "Accept"))
    if encoding:
        headers.append(("Content-Encoding", encoding))
    if etag is not None:
        headers.append(("Etag", etag))
    headers.append(("X-Rest-Time", f"{elapsed_us} us"))
    headers.append(("Content-Length", str(len(payload))))
    return RawResponse(200, headers, b"" if method == "HEAD" else payload)
