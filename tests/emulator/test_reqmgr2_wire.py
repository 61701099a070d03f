"""ReqMgr2 emulator transport over real HTTPS: routing errors, Accept, envelope bytes,
compression, ETag/304/412, caching headers, the three error paths and their check order."""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import re
import uuid
import zlib

import pytest
import requests

from airflow_provider_poms.emulator.reqmgr2.rawclient import RawReqMgr2
from airflow_provider_poms.emulator.reqmgr2.samples import stepchain_spec
from airflow_provider_poms.emulator.testing import EmulatorProcess
from airflow_provider_poms.states import REQMGR2_STATUSES

ACCEPT = {"Accept": "application/json"}
STATUS_BODY = (
    '{"result": [\n' + "".join(f'{"," if i else " "}"{s}"\n' for i, s in enumerate(REQMGR2_STATUSES)) + "]}\n"
).encode()


@pytest.fixture(scope="module")
def op(emulator: EmulatorProcess) -> RawReqMgr2:
    return RawReqMgr2(emulator.session("operator"), emulator.conn["reqmgr2_url"])


@pytest.fixture(scope="module")
def name(op: RawReqMgr2) -> str:
    return op.create(stepchain_spec(f"Wire_{uuid.uuid4().hex[:10]}"))


def _raw(resp: requests.Response) -> bytes:
    """Body bytes exactly as sent (before any Content-Encoding is undone)."""
    return resp.raw.read(decode_content=False)


def _assert_rest_error(
    resp: requests.Response,
    http: int,
    app: int,
    detail: str,
    info: str | None = None,
    *,
    any_info: bool = False,
) -> None:
    assert resp.status_code == http
    assert resp.headers["X-Rest-Status"] == str(app)
    assert resp.headers["X-Error-Http"] == str(http)
    assert re.fullmatch(r"[0-9a-f]{32}", resp.headers["X-Error-Id"])
    assert resp.headers["X-Error-Detail"] == detail
    if any_info:
        assert resp.headers["X-Error-Info"]
    elif info is None:
        assert "X-Error-Info" not in resp.headers
    else:
        assert resp.headers["X-Error-Info"] == info
    assert resp.headers["Content-Type"] == "text/html;charset=utf-8"
    assert "Content-Encoding" not in resp.headers and "Etag" not in resp.headers
    assert f"<p>{detail}</p>" in resp.text or len(detail) == 200
    assert re.fullmatch(r"\d+ us", resp.headers["X-Rest-Time"])  # errors carry it too
    assert 'Powered by <a href="http://www.cherrypy.dev">CherryPy 18.10.0</a>' in resp.text


# ------------------------------------------------------------------ routing
@pytest.mark.parametrize("api", ["team", "group", "software", "permissions", "nonsense"])
def test_unknown_api_is_404_207(op: RawReqMgr2, api: str) -> None:
    resp = op.get(api)
    _assert_rest_error(resp, 404, 207, "API not supported", any_info=True)
    info = resp.headers["X-Error-Info"]
    assert info.startswith(
        f"Api \"{api}\" not found. This method supports these Apis: ['about', 'info', "
        "'app_config', 'request', 'cmsswversions', 'wmagentconfig'"
    )
    assert len(info) == 200 and info.endswith("...")
    assert resp.headers["Allow"] == ""
    assert resp.text.startswith("<!DOCTYPE html PUBLIC\n")
    assert "<title>404 Not Found</title>" in resp.text and "<h2>404 Not Found</h2>" in resp.text


def test_no_api_is_400_205(op: RawReqMgr2) -> None:
    _assert_rest_error(op.get(""), 400, 205, "API not specified")


def test_query_string_on_writes_is_405_203(op: RawReqMgr2, name: str) -> None:
    for method in ("POST", "PUT", "DELETE"):
        resp = op.call(method, "request", params={"name": name}, body={"RequestPriority": 1})
        _assert_rest_error(resp, 405, 203, "Query arguments not supported for this request method")
        assert resp.headers["Allow"] == "GET HEAD"


def test_unknown_method_is_405_202(op: RawReqMgr2) -> None:
    resp = op.call("PATCH", "request", body={})
    _assert_rest_error(resp, 405, 202, "Request method not supported")
    assert resp.headers["Allow"] == "DELETE GET HEAD POST PUT"


def test_api_verb_mismatch_is_405_204(op: RawReqMgr2) -> None:
    resp = op.call("POST", "status", body={})
    _assert_rest_error(
        resp,
        405,
        204,
        "API not supported for this request method",
        'Api "status" only supported in method(s): "GET HEAD"',
    )
    assert resp.headers["Allow"] == "GET HEAD"
    assert op.call("DELETE", "splitting/x").headers["Allow"] == "GET HEAD POST"


def test_head_is_served_by_get(op: RawReqMgr2, name: str) -> None:
    get = op.get("type")
    head = op.call("HEAD", "type")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Etag"] == get.headers["Etag"]
    assert head.headers["X-Rest-Status"] == "100"


def test_head_on_request_leaves_every_argument_over(op: RawReqMgr2, name: str) -> None:
    """The request validator consumes nothing for HEAD: 400/302 with an empty body."""
    resp = op.call("HEAD", "request", params={"name": name})
    assert resp.status_code == 400 and resp.content == b"" and resp.headers["Content-Length"] == "0"
    assert resp.headers["X-Rest-Status"] == "302"
    assert (
        resp.headers["X-Error-Info"]
        == f"Excess keyword arguments, not validated kwargs='{{'name': '{name}'}}'"
    )
    resp = op.call("HEAD", f"request/{name}")
    assert resp.headers["X-Error-Info"] == f"Excess path arguments, not validated args='['{name}']'"
    assert "Etag" not in resp.headers and "Cache-Control" not in resp.headers


# ------------------------------------------------------------------ Accept
def test_missing_accept_is_406_with_info(op: RawReqMgr2) -> None:
    resp = op.get("status", headers={"Accept": None})  # type: ignore[dict-item]  # requests drops it
    _assert_rest_error(resp, 406, 201, "Not acceptable", "Accept header required")


def test_unsupported_accept_is_406_listing_types(op: RawReqMgr2) -> None:
    resp = op.get("info", headers={"Accept": "text/html"})
    _assert_rest_error(resp, 406, 201, "Not acceptable", "Available types: text/plain, application/json")
    resp = op.get("status", headers={"Accept": "text/plain"})  # status offers JSON only
    _assert_rest_error(resp, 406, 201, "Not acceptable", "Available types: application/json")


@pytest.mark.parametrize("accept", ["*/*", "application/json, text/plain, */*", "text/*"])
def test_star_accept_gets_pretty_text_plain(op: RawReqMgr2, name: str, accept: str) -> None:
    resp = op.get("request", params={"name": name, "mask": "RequestStatus"}, headers={"Accept": accept})
    assert resp.headers["Content-Type"] == "text/plain;charset=utf-8"
    expected = '{"result": [\n ' + json.dumps({name: {"RequestStatus": "new"}}, indent=2) + "]}\n"
    assert resp.content == expected.encode()


def test_json_preferred_by_q_value(op: RawReqMgr2, name: str) -> None:
    resp = op.get(
        "request",
        params={"name": name, "mask": "RequestStatus"},
        headers={"Accept": "text/plain;q=0.5, application/json"},
    )
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.content == ('{"result": [\n {"' + name + '": {"RequestStatus": "new"}}\n]}\n').encode()


# ------------------------------------------------------------------ envelope
def test_envelope_line_format(op: RawReqMgr2) -> None:
    resp = op.get("status")
    assert resp.status_code == 200
    assert resp.content == STATUS_BODY
    assert op.get("request", params={"name": "no_such_" + uuid.uuid4().hex}).content == b'{"result": [\n]}\n'


def test_success_headers(op: RawReqMgr2, name: str) -> None:
    resp = op.get("request", params={"name": name}, headers={**ACCEPT, "Accept-Encoding": "identity"})
    assert resp.headers["X-Rest-Status"] == "100"
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["Cache-Control"] == "max-age=3600"
    assert resp.headers["Vary"] == "Accept"
    assert re.fullmatch(r"\d+ us", resp.headers["X-Rest-Time"])
    assert resp.headers["Content-Length"] == str(len(resp.content))
    assert resp.headers["Etag"] == f'"{hashlib.sha1(resp.content).hexdigest()}"'


@pytest.mark.parametrize(
    "api",
    [
        "info",
        "about",
        "spec_template?name=ReReco",
        "workload_config/{name}",
        "splitting/{name}",
        "wmstats_info/{name}",
    ],
)
def test_no_store_entities(op: RawReqMgr2, name: str, api: str) -> None:
    path, _, query = api.format(name=name).partition("?")
    resp = op.get(path, params=dict([query.split("=")]) if query else None)
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store, no-cache, must-revalidate, post-check=0, pre-check=0"
    assert resp.headers["Pragma"] == "no-cache"
    assert resp.headers["Expires"] == "Sun, 19 Nov 1978 05:00:00 GMT"


def test_writes_answer_200_without_cache_headers(op: RawReqMgr2, name: str) -> None:
    resp = op.put(name, {"RequestPriority": 123})
    assert resp.status_code == 200 and "Cache-Control" not in resp.headers
    assert resp.content == ('{"result": [\n {"' + name + '": "OK"}\n]}\n').encode()


# ------------------------------------------------------------------ compression
def test_gzip_whole_body_no_threshold(op: RawReqMgr2) -> None:
    plain = op.get("status")
    resp = op.session.get(op.url("status"), headers={**ACCEPT, "Accept-Encoding": "gzip"}, stream=True)
    raw = _raw(resp)
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Vary"] == "Accept, Accept-Encoding"
    assert gzip.decompress(raw) == plain.content == STATUS_BODY
    assert resp.headers["Content-Length"] == str(len(raw))
    assert resp.headers["Etag"] == plain.headers["Etag"]  # sha1 of the uncompressed body


def test_deflate_is_a_raw_stream(op: RawReqMgr2) -> None:
    resp = op.session.get(op.url("type"), headers={**ACCEPT, "Accept-Encoding": "deflate"}, stream=True)
    assert resp.headers["Content-Encoding"] == "deflate"
    assert zlib.decompress(_raw(resp), -zlib.MAX_WBITS) == op.get("type").content


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip;q=0", "gzip"),
        ("gzip, deflate", "gzip"),
        ("gzip,deflate,identity", "gzip"),
        ("deflate;q=0.5, gzip;q=0.4", "deflate"),
        ("br", None),
        ("identity", None),
        ("*", None),
    ],
)
def test_encoding_choice_ignores_q_zero(op: RawReqMgr2, header: str, expected: str | None) -> None:
    resp = op.session.get(op.url("type"), headers={**ACCEPT, "Accept-Encoding": header}, stream=True)
    _raw(resp)
    assert resp.headers.get("Content-Encoding") == expected


def test_errors_are_never_compressed(op: RawReqMgr2) -> None:
    resp = op.session.get(op.url("team"), headers={**ACCEPT, "Accept-Encoding": "gzip"}, stream=True)
    raw = _raw(resp)
    assert resp.status_code == 404 and "Content-Encoding" not in resp.headers
    assert raw.startswith(b"<!DOCTYPE html")


# ------------------------------------------------------------------ ETag
def test_if_none_match_gives_304(op: RawReqMgr2, name: str) -> None:
    first = op.get("request", params={"name": name, "mask": "RequestName"})
    etag = first.headers["Etag"]
    resp = op.get(
        "request", params={"name": name, "mask": "RequestName"}, headers={**ACCEPT, "If-None-Match": etag}
    )
    assert resp.status_code == 304 and resp.content == b""
    other = op.get(
        "request", params={"name": name, "mask": "RequestName"}, headers={**ACCEPT, "If-None-Match": '"0000"'}
    )
    assert other.status_code == 200 and other.content == first.content


def test_if_match_matching_gives_412_quirk(op: RawReqMgr2) -> None:
    etag = op.get("type").headers["Etag"]
    resp = op.get("type", headers={**ACCEPT, "If-Match": etag})
    assert resp.status_code == 412
    assert "X-Error-Detail" not in resp.headers and "X-Error-Id" not in resp.headers
    assert resp.headers["X-Rest-Status"] == "100" and resp.headers["Cache-Control"] == "max-age=3600"
    assert "<title>412 Precondition Failed</title>" in resp.text
    assert f"<p>Precondition on ETag {etag} failed</p>" in resp.text
    assert op.get("type", headers={**ACCEPT, "If-Match": '"other"'}).status_code == 200


# ------------------------------------------------------------------ error paths
def test_error_detail_truncated_to_200_chars(op: RawReqMgr2) -> None:
    bogus = {f"BogusArgumentNumber{i:03d}": i for i in range(20)}
    resp = op.call("POST", "request", body=stepchain_spec("Trunc", **bogus))
    assert resp.status_code == 400 and resp.headers["X-Rest-Status"] == "1102"
    detail = resp.headers["X-Error-Detail"]
    assert len(detail) == 200 and detail.endswith("...")
    message = "There are unknown/unsupported arguments in your request spec: " + str(sorted(bogus))
    full = (
        "Invalid spec parameter value: <@========== WMException Start ==========@>\n"
        f"Exception Class: WMSpecFactoryException\nMessage: {message}\n"
    )
    assert detail == full.replace("\n", "; ")[:197] + "..."
    assert html.escape(full, quote=False) in resp.text  # the body keeps the whole text, newlines included
    assert resp.text.count("&lt;@---------- WMException End ----------@&gt;</p>") == 1


def test_server_error_path(op: RawReqMgr2, name: str) -> None:
    resp = op.get("request", params={"name": name, "common_dict": "abc"})
    assert resp.status_code == 500
    assert resp.headers["X-Rest-Status"] == "400"
    assert resp.headers["X-Error-Http"] == "500"
    assert resp.headers["X-Error-Detail"] == "Server error"
    assert re.fullmatch(r"[0-9a-f]{32}", resp.headers["X-Error-Id"])
    assert "<p>Server error</p>" in resp.text
    resp = op.get("status/new")  # the path form crashes on the 'transiton' typo
    assert resp.status_code == 500 and resp.headers["X-Error-Detail"] == "Server error"


def test_bare_http_errors_have_no_rest_headers(op: RawReqMgr2) -> None:
    resp = op.get("workload_config/no_such_" + uuid.uuid4().hex)
    assert resp.status_code == 404
    assert "X-Rest-Status" not in resp.headers and "X-Error-Id" not in resp.headers
    assert "<p>Cannot find workload: no_such_" in resp.text


def test_delete_request_is_excess_path_arguments(op: RawReqMgr2, name: str) -> None:
    resp = op.call("DELETE", f"request/{name}")
    assert resp.status_code == 400 and resp.headers["X-Rest-Status"] == "302"
    assert resp.headers["X-Error-Detail"] == "Invalid input parameter"
    assert resp.headers["X-Error-Info"].startswith("Excess path arguments")
    assert op.doc(name)["RequestName"] == name


# ------------------------------------------------------------------ order of checks
def test_check_order(emulator: EmulatorProcess, op: RawReqMgr2, name: str) -> None:
    outsider = RawReqMgr2(emulator.session("outsider"), emulator.conn["reqmgr2_url"])
    # method before query string before API name
    assert op.call("PATCH", "team", params={"a": "1"}).headers["X-Rest-Status"] == "202"
    assert op.call("POST", "team", params={"a": "1"}).headers["X-Rest-Status"] == "203"
    # API name before Accept
    assert op.get("team", headers={"Accept": "text/html"}).headers["X-Rest-Status"] == "207"
    assert op.call("POST", "status", headers={"Accept": "text/html"}).headers["X-Rest-Status"] == "204"
    # Accept before authorization
    resp = outsider.call(
        "PUT",
        f"request/{name}",
        body={"RequestStatus": "rejected"},
        headers={"Accept": "text/html", "Content-Type": "application/json"},
    )
    assert resp.status_code == 406
    # authorization before the transition check and argument validation
    resp = outsider.put(name, {"RequestStatus": "completed", "Bogus": 1})
    assert resp.status_code == 403 and "X-Rest-Status" not in resp.headers
    # an unknown target status fails in the permission lookup (400, not 403)
    resp = outsider.put(name, {"RequestStatus": "bogus"})
    assert (
        resp.status_code == 400 and resp.headers["X-Error-Detail"] == "Invalid spec parameter value: 'bogus'"
    )
