"""Differential check engine: turn one raw response into comparable facts, and diff two of them.

Why facts and not bytes: request names, error ids, timestamps and store URLs legitimately differ
between two servers; what must agree is the status code, the ReqMgr2 status headers, the error text,
the content type, the envelope layout and the shape (types and field sets) of the result. Each fact
is one named *aspect*, so an accepted difference names exactly one aspect of one case, and anything
else that differs fails the test.
"""

from __future__ import annotations

import gzip
import html
import json
import re
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .rawhttp import RawResponse

NAME_RE = re.compile(r"\b[A-Za-z0-9-]+_[A-Za-z0-9_-]+?_\d{6}_\d{6}_\d{1,5}\b")
HEX_RE = re.compile(r"\b[0-9a-f]{32}\b")
URL_RE = re.compile(r"https?://127\.0\.0\.1:\d+")
ADDR_RE = re.compile(r"\b0x[0-9a-f]{6,}\b")
# Request names built from a RequestString that fails validation contain spaces and escape NAME_RE;
# their date/time/random suffix still differs between two servers.
STAMP_RE = re.compile(r"_\d{6}_\d{6}_\d{1,5}\b")
# Python set reprs ({'a', 'b'}) print in hash order, which changes from one server process to the next.
SET_RE = re.compile(r"\{('[^'{}:]*'(?:, '[^'{}:]*')+)\}")
# A WMException banner's non-empty "Traceback:" section lists frames with source lines (and, on Python
# 3.11+, ^^^ markers): it depends on the server's Python version and install, not on ReqMgr2. An empty
# section stays as it is, so "frames on one side only" still differs.
TRACEBACK_RE = re.compile(r"(Traceback: \n)(\s+File .*?)(\n<@-+ WMException End)", re.S)
# WMException banners name the server's install path ("FileName : /.../site-packages/WMCore/...").
SITE_RE = re.compile(r"(FileName : |File \")\S*?/site-packages/")
# Header values are cut at 200 characters; names of different length move the cut, so truncated
# texts agree when one is a prefix of the other up to this many characters.
TRUNCATION_SLACK = 12
HEADERS_BY_VALUE = (
    "x-rest-status",
    "x-error-http",
    "content-type",
    "content-encoding",
    "vary",
    "allow",
    "cache-control",
    "pragma",
)
HEADERS_BY_PRESENCE = ("x-error-id", "etag", "x-rest-time")


def normalize_text(text: str | None, names: Iterable[str] = ()) -> str | None:
    if text is None:
        return None
    for name in sorted(names, key=len, reverse=True):
        if name:
            text = text.replace(name, "<NAME>")
    text = NAME_RE.sub("<NAME>", text)
    text = STAMP_RE.sub("_<STAMP>", text)
    text = SET_RE.sub(lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", text)
    text = HEX_RE.sub("<ID>", text)
    text = ADDR_RE.sub("<ADDR>", text)
    text = SITE_RE.sub(r"\1<SITE>/", text)
    text = TRACEBACK_RE.sub(r"\1<FRAMES>\3", text)
    return URL_RE.sub("<URL>", text)


def decoded_body(resp: RawResponse) -> bytes:
    enc = (resp.header("Content-Encoding") or "").lower()
    if enc == "gzip":
        return gzip.decompress(resp.body)
    if enc == "deflate":
        return zlib.decompress(resp.body, -zlib.MAX_WBITS)
    return resp.body


def render_envelope(rows: list[Any]) -> bytes:
    """The exact JSON envelope bytes of a WMCore REST success (one row per line)."""
    out = ['{"result": [\n']
    for i, row in enumerate(rows):
        out.append((" " if i == 0 else ",") + json.dumps(row) + "\n")
    out.append("]}\n")
    return "".join(out).encode()


def _shape(value: Any, path: str, out: dict[str, Any], names: set[str]) -> None:
    """Flatten ``value`` into {path: type-name} and {path+"{}": sorted keys}; request-name keys -> <NAME>."""
    if isinstance(value, dict):
        keys = []
        for key, item in value.items():
            k = "<NAME>" if (key in names or NAME_RE.fullmatch(key)) else key
            keys.append(k)
            _shape(item, f"{path}.{k}", out, names)
        out[f"type:{path}"] = "object"
        # union over the elements of an enclosing list: every row's fields count
        out[f"fields:{path}"] = sorted(set(out.get(f"fields:{path}", ())) | set(keys))
    elif isinstance(value, list):
        out[f"type:{path}"] = "array" if value else "array(empty)"
        for item in value:
            _shape(item, f"{path}[]", out, names)
    else:
        kind = type(value).__name__ if value is not None else "null"
        prev = out.get(f"type:{path}")
        out[f"type:{path}"] = kind if prev in (None, kind) else "mixed"


def observe(
    resp: RawResponse, names: Iterable[str] = (), value: Any = None, count_rows: bool = True
) -> dict[str, Any]:
    """Every comparable aspect of one response. ``value``: callable(parsed result) -> comparable."""
    names = set(names)
    facts: dict[str, Any] = {"status": resp.status}
    for header in HEADERS_BY_VALUE:
        facts[header] = resp.header(header)
    for header in HEADERS_BY_PRESENCE:
        facts[f"has:{header}"] = resp.header(header) is not None
    facts["x-error-detail"] = normalize_text(resp.header("x-error-detail"), names)
    facts["x-error-info"] = normalize_text(resp.header("x-error-info"), names)
    ctype = (resp.header("content-type") or "").split(";")[0].strip()
    try:
        body = decoded_body(resp)
    except (OSError, zlib.error) as exc:
        facts["body"] = f"undecodable: {exc}"
        return facts
    if not body:
        facts["body"] = "empty"
    elif ctype == "text/html":
        facts["body"] = "html"
        match = re.search(rb"<p>(.*?)</p>", body, re.S)
        facts["html-message"] = normalize_text(
            html.unescape(match.group(1).decode()) if match else None, names
        )
        title = re.search(rb"<title>(.*?)</title>", body, re.S)
        facts["html-title"] = title.group(1).decode() if title else None
    elif ctype in ("application/json", "text/plain"):
        try:
            parsed = json.loads(body)
        except ValueError:
            facts["body"] = "not-json"
            return facts
        facts["body"] = "json"
        if ctype == "application/json":
            facts["envelope-bytes"] = (
                "exact"
                if isinstance(parsed, dict)
                and list(parsed) == ["result"]
                and isinstance(parsed["result"], list)
                and body == render_envelope(parsed["result"])
                else "different"
            )
        else:
            facts["envelope-bytes"] = (
                "indent-2" if body.rstrip(b"\n") == json.dumps(parsed, indent=2).encode() else "different"
            )
        shape: dict[str, Any] = {}
        _shape(parsed, "$", shape, names)
        facts.update(shape)
        if count_rows and isinstance(parsed, dict) and isinstance(parsed.get("result"), list):
            facts["rows"] = len(parsed["result"])
        if value is not None and isinstance(parsed, dict) and "result" in parsed:
            got = value(parsed["result"])
            if isinstance(got, dict):  # one aspect per field: a difference names the field
                facts.update({f"value.{k}": v for k, v in got.items()})
            else:
                facts["value"] = got
    else:
        facts["body"] = f"other:{ctype}"
    return facts


def diff(real: dict[str, Any], emu: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Aspects whose facts differ: {aspect: (real, emulator)}; a missing aspect counts as None."""
    out: dict[str, tuple[Any, Any]] = {}
    for aspect in sorted(set(real) | set(emu)):
        r, e = real.get(aspect), emu.get(aspect)
        if r != e and not _same_truncated(r, e):
            out[aspect] = (r, e)
    return out


def _same_truncated(a: Any, b: Any) -> bool:
    if not (isinstance(a, str) and isinstance(b, str) and a.endswith("...") and b.endswith("...")):
        return False
    a, b = a[:-3].rstrip(), b[:-3].rstrip()
    n = min(len(a), len(b))
    return (
        abs(len(a) - len(b)) <= TRUNCATION_SLACK
        and n > TRUNCATION_SLACK
        and a[: n - TRUNCATION_SLACK] == b[: n - TRUNCATION_SLACK]
    )


# ------------------------------------------------------------------ the accepted-differences list
DIFF_DOC = Path(__file__).resolve().parents[2] / "docs" / "emulator-differences.md"
SECTION = "## Accepted differences (conformance)"


def accepted_differences(doc: Path = DIFF_DOC) -> dict[tuple[str, str], str]:
    """Parse the table in docs/emulator-differences.md's conformance section: (case, aspect) -> reason.

    Rows look like ``| case-id | aspect | reason |``; an aspect ending in ``*`` matches every aspect
    with that prefix (e.g. ``fields:$[].<NAME>*``).
    """
    if not doc.exists():
        return {}
    text = doc.read_text()
    if SECTION not in text:
        return {}
    section = text.split(SECTION, 1)[1]
    nxt = re.search(r"^## ", section, re.M)
    if nxt:
        section = section[: nxt.start()]
    out: dict[tuple[str, str], str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if (
            len(cells) < 3
            or not line.strip().startswith("|")
            or cells[0] in ("case", "")
            or set(cells[0]) <= {"-"}
        ):
            continue
        case, aspect, reason = cells[0].strip("`"), cells[1].strip("`"), " | ".join(cells[2:])
        out[(case, aspect)] = reason
    return out


def is_accepted(case: str, aspect: str, accepted: dict[tuple[str, str], str]) -> str | None:
    for (c, a), reason in accepted.items():
        if c not in (case, "*"):
            continue
        if a == aspect or (a.endswith("*") and aspect.startswith(a[:-1])):
            return reason
    return None
