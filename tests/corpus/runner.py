"""Interpreter of the bad-input corpus (the JSON files next to this module).

Why a separate module: the cases are data; turning a case into a call (placeholders, credential
files, hooks, operators, Airflow connections, raw HTTP) is the same for every file, and
tests/reliability/test_corpus.py stays a short list of assertions.
"""

from __future__ import annotations

import builtins
import copy
import json
import secrets
import shutil
import uuid
from pathlib import Path
from typing import Any

from airflow_provider_poms.emulator.testing import EmulatorProcess
from airflow_provider_poms.http import errors as provider_errors
from airflow_provider_poms.http.settings import ConnectionSettings

CORPUS_DIR = Path(__file__).resolve().parent
_ACCEPTED = json.loads((CORPUS_DIR.parent / "schemas" / "data" / "accepted.json").read_text())
#: Errors raised before any network I/O: such a case must not produce a single request.
_BEFORE_IO = {"ValidationError", "ConfigurationError", "ValueError", "TypeError"}
#: Tables the background actors grow or shrink on their own (not a sign of a write by the case).
_VOLATILE_TABLES = {"poms_active_submissions"}
#: Quick retries: cases that reach the server must not make the corpus slow.
_FAST = {"backoff": 0.01, "max_retries": 1, "read_timeout": 30.0}


def error_class(name: str) -> type[BaseException]:
    """An exception class by name: provider errors first, then builtins, then Airflow's."""
    found = getattr(provider_errors, name, None) or getattr(builtins, name, None)
    if found is None:
        from airflow.sdk import exceptions as airflow_exceptions

        found = getattr(airflow_exceptions, name, None)
    if not (isinstance(found, type) and issubclass(found, BaseException)):
        raise AssertionError(f"unknown error class {name!r} in the corpus")
    return found


def expected_traffic(case: dict[str, Any]) -> str:
    return str(case.get("traffic") or ("none" if case["error"] in _BEFORE_IO else "reads"))


#: POMS answers reads to POST too: these methods change nothing on the server.
POMS_READS = frozenset(
    {
        "session_status_history",
        "campaign_stage_submissions",
        "submission_details",
        "show_campaigns",
        "show_campaign_stages",
        "get_campaign_id",
        "get_campaign_name",
        "get_campaign_stage_id",
        "get_campaign_stage_name",
        "campaign_list_json",
        "file_uploads_json",
    }
)


def accepted_writes(entries: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """Log entries of writes the server accepted (a refused write changed nothing)."""
    out = []
    for e in entries:
        if not e["write"] or e["status"] >= 400:
            continue
        if e["path"].startswith("/poms/") and e["path"].rsplit("/", 1)[-1] in POMS_READS:
            continue
        out.append((e["method"], e["path"], e["status"]))
    return out


class Fixtures:
    """Credential files, tokens and a live request, made once per module and reused by the cases."""

    def __init__(self, emulator: EmulatorProcess, tmp: Path) -> None:
        self.emulator = emulator
        self.tmp = tmp
        self._cache: dict[str, str] = {}

    # -- files ------------------------------------------------------------------------------
    def file(self, kind: str) -> str:
        key = f"file:{kind}"
        if key not in self._cache:
            self._cache[key] = self._make_file(kind)
        return self._cache[key]

    def _make_file(self, kind: str) -> str:
        ident = self.emulator.conn["identities"]
        op, other = ident["operator"], ident["requestor"]
        path = self.tmp / kind
        writers: dict[str, Any] = {
            "empty": b"",
            "garbage": b"this is not a PEM file\n",
            "binary": b"\xff\xfe\x00\x81 not utf-8",
            "two_tokens": b"first-token second-token\n",
            "wrong_token": secrets.token_hex(24).encode(),
            "key_only": Path(op["client_key"]).read_bytes(),
            "cert_only": Path(op["client_cert"]).read_bytes(),
            "other_key": Path(other["client_key"]).read_bytes(),
        }
        if kind == "missing":
            return str(self.tmp / "no-such-dir" / "missing.pem")
        if kind == "dir":
            path.mkdir(exist_ok=True)
            return str(path)
        if kind == "under_a_file":  # a path through a regular file: ENOTDIR, even for root
            return str(Path(self.file("garbage")) / "key.pem")
        if kind in ("cert", "key", "proxy", "token"):
            source = op["client_cert" if kind == "cert" else "client_key" if kind == "key" else kind]
            shutil.copyfile(source, path)
            path.chmod(0o600)
            return str(path)
        if kind == "ca":
            return str(self.emulator.conn["ca_cert"])
        if kind == "other_ca":
            return self._other_ca()
        if kind not in writers:
            raise AssertionError(f"unknown file kind {kind!r}")
        path.write_bytes(writers[kind])
        path.chmod(0o600)
        return str(path)

    def _other_ca(self) -> str:
        """A CA that did not sign the emulator's server certificate."""
        import datetime as dt

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Corpus stranger CA")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        path = self.tmp / "other_ca.pem"
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return str(path)

    # -- tokens -----------------------------------------------------------------------------
    def token(self, kind: str) -> str:
        key = f"token:{kind}"
        if key in self._cache:
            return self._cache[key]
        control = self.emulator.control
        if kind == "expired":
            path = control.issue_token("operator", expires_in=60)
            control.advance_clock(120)
        elif kind == "revoked":
            path = control.issue_token("operator")
            control.revoke_token(path)
        elif kind == "wrong":
            path = self.file("wrong_token")
        else:
            raise AssertionError(f"unknown token kind {kind!r}")
        self._cache[key] = path
        return path

    def token_value(self, kind: str) -> str:
        """The content of a token file (for a connection's password field)."""
        return Path(self.token(kind)).read_text().strip()

    # -- server-side objects ----------------------------------------------------------------
    def request(self, kind: str) -> str:
        key = f"request:{kind}"
        if key not in self._cache:
            from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook

            if kind != "new":
                raise AssertionError(f"unknown request kind {kind!r}")
            hook = ReqMgr2Hook(settings=self.emulator.settings("reqmgr2", **_FAST))
            try:
                spec = body("real_stepchain_minimal")
                spec["RequestString"] = f"Corpus_{uuid.uuid4().hex[:8]}"
                self._cache[key] = hook.create_request(spec)
            finally:
                hook.close()
        return self._cache[key]


def body(base: str, set_: dict[str, Any] | None = None, delete: list[str] | None = None) -> dict[str, Any]:
    """A body the real server accepted (tests/schemas/data/accepted.json), then mutated."""
    for group in _ACCEPTED.values():
        if isinstance(group, dict) and base in group:
            out = copy.deepcopy(group[base])
            break
    else:
        raise AssertionError(f"no accepted body {base!r}")
    for dotted in delete or ():
        parent, last = _walk(out, dotted)
        del parent[last]
    for dotted, value in (set_ or {}).items():
        parent, last = _walk(out, dotted)
        parent[last] = value
    return out


def _walk(doc: Any, dotted: str) -> tuple[Any, Any]:
    parts: list[Any] = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    for part in parts[:-1]:
        doc = doc[part]
    return doc, parts[-1]


def expand(value: Any, fx: Fixtures) -> Any:
    """Replace the corpus placeholders (see tests/reliability/test_corpus.py) recursively."""
    if isinstance(value, dict):
        if "$body" in value:
            return body(value["$body"], expand(value.get("set"), fx), value.get("delete"))
        return {k: expand(v, fx) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, fx) for v in value]
    if not (isinstance(value, str) and "<<" in value):
        return value
    out = value
    while "<<" in out:
        start = out.index("<<")
        end = out.index(">>", start)
        kind, _, arg = out[start + 2 : end].partition(":")
        out = out[:start] + _placeholder(kind, arg, fx) + out[end + 2 :]
    return out


def _placeholder(kind: str, arg: str, fx: Fixtures) -> str:
    if kind == "long":
        return "a" * int(arg)
    if kind == "uid":
        return uuid.uuid4().hex[:8]
    if kind == "file":
        return fx.file(arg)
    if kind == "token":
        return fx.token(arg)
    if kind == "token_value":
        return fx.token_value(arg)
    if kind == "request":
        return fx.request(arg)
    if kind == "url":
        return str(fx.emulator.conn[f"{arg}_url"])
    raise AssertionError(f"unknown placeholder {kind!r}")


# ------------------------------------------------------------------------------------------
# targets
# ------------------------------------------------------------------------------------------


def run_case(case: dict[str, Any], fx: Fixtures) -> Any:
    """The exception the case raised (or its result, which the test then rejects); for raw
    emulator calls ``(status, body, headers as text)``."""
    data = expand(case["input"], fx)
    target: str = case["target"]
    if target == "emulator":
        return _emulator_call(data, fx)
    try:
        if target == "connection":
            return _connection_call(data, fx)
        service, _, name = target.partition(".")
        if service in ("reqmgr2", "poms"):
            return _hook_call(service, name, data, fx)
        if service == "operator":
            return _operator_call(name, data, case["id"], fx)
    except Exception as exc:
        return exc
    raise AssertionError(f"unknown target {target!r}")


def _hook(service: str, fx: Fixtures, identity: str, auth: str, overrides: dict[str, Any]) -> Any:
    fields = {**_FAST, **overrides}
    if service == "poms":
        from airflow_provider_poms.hooks.poms import PomsHook

        fields.setdefault("experiment", "samdev")
        fields.setdefault("role", "production" if identity == "operator" else "analysis")
        return PomsHook(settings=fx.emulator.settings("poms", identity, auth, **fields))
    from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook

    return ReqMgr2Hook(settings=fx.emulator.settings("reqmgr2", identity, auth, **fields))


def _hook_call(service: str, method: str, data: dict[str, Any], fx: Fixtures) -> Any:
    hook = _hook(service, fx, data.get("identity", "operator"), data.get("auth", "cert"), {})
    try:
        return getattr(hook, method)(*data.get("args", []), **data.get("kwargs", {}))
    finally:
        hook.close()


class _FakeTI:
    """Just enough of a task instance for ``execute`` to reach its first hook call."""

    try_number = 1

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def _operator_call(name: str, data: dict[str, Any], case_id: str, fx: Fixtures) -> Any:
    """Build the operator (DAG-parse time); with ``$execute`` also run ``execute`` with a hook on
    the emulator, for the checks that can only happen once templates are rendered."""
    from airflow_provider_poms.operators import poms, reqmgr2

    kwargs = dict(data)
    execute = kwargs.pop("$execute", False)
    cls = getattr(reqmgr2, name, None) or getattr(poms, name)
    task_id = "".join(c if c.isalnum() else "_" for c in case_id)[:200]
    operator = cls(task_id=task_id, **kwargs)
    if not execute:
        return operator
    operator._hook = _hook("poms" if name.startswith("Poms") else "reqmgr2", fx, "operator", "cert", {})
    ti = _FakeTI()
    try:
        return operator.execute({"ti": ti, "task_instance": ti})
    finally:
        operator._hook.close()


def _connection_call(data: dict[str, Any], fx: Fixtures) -> Any:
    from airflow.sdk import Connection  # what a task's hook receives

    fields = dict(data["conn"])
    extra = fields.pop("extra", None)
    conn = Connection(
        conn_id="corpus_conn",
        conn_type=data.get("conn_type", "reqmgr2"),
        extra=extra if isinstance(extra, str) or extra is None else json.dumps(extra),
        **fields,
    )
    # ``extra_given``: what the async path passes (``await conn.aextra_dejson()``, {} for bad JSON).
    settings = ConnectionSettings.from_connection(
        conn, extra=data.get("extra_given"), environ=data.get("environ", {})
    )
    call = data.get("call")
    if not call:
        return settings
    service, _, method = call.partition(".")
    hook = _hook(service, fx, "operator", "cert", {})
    hook.close()
    hook = type(hook)(settings=settings.with_changes(backoff=0.01, max_retries=1))
    try:
        return getattr(hook, method)(*data.get("args", []))
    finally:
        hook.close()


def _tables(fx: Fixtures) -> dict[str, int]:
    sizes = fx.emulator.control.state()["tables"]
    return {k: v for k, v in sizes.items() if not k.startswith("_emulator") and k not in _VOLATILE_TABLES}


def _emulator_call(data: dict[str, Any], fx: Fixtures) -> tuple[int, str]:
    """A raw HTTPS call; afterwards no service table may have grown or shrunk."""
    if data.get("auth") == "none":  # no client credential at all (headers may still carry one)
        import requests

        session = requests.Session()
        session.trust_env = False
        session.verify = fx.emulator.conn["ca_cert"]
    else:
        session = fx.emulator.session(data.get("identity", "operator"), data.get("auth", "cert"))
    headers = {"Accept": "application/json", **data.get("headers", {})}  # None: header left out
    kwargs: dict[str, Any] = {"headers": headers, "timeout": 30}
    if "json" in data:
        kwargs["data"] = json.dumps(data["json"]).encode()
        headers.setdefault("Content-Type", "application/json")
    elif "data" in data:
        kwargs["data"] = data["data"].encode() if isinstance(data["data"], str) else data["data"]
    if "query" in data:
        kwargs["params"] = [tuple(p) for p in data["query"]]
    before = _tables(fx)
    try:
        resp = session.request(data["method"], fx.emulator.url + data["path"], **kwargs)
    finally:
        session.close()
    after = _tables(fx)
    assert before == after, f"a bad input changed server state: {before} -> {after}"
    shown = "\n".join(f"{k}: {v}" for k, v in resp.headers.items())
    return resp.status_code, resp.text, shown


__all__ = [
    "CORPUS_DIR",
    "Fixtures",
    "accepted_writes",
    "body",
    "error_class",
    "expand",
    "expected_traffic",
    "run_case",
]
