"""ConnectionSettings: everything a connection says, validated before any network I/O.

A frozen dataclass so it can key shared connection pools and be passed between threads. The core
never imports Airflow: ``from_connection`` only duck-types an Airflow ``Connection`` (``host``,
``port``, ``schema``, ``password``, ``extra_dejson``).

Environment fallbacks (applied by ``from_connection`` only, and only when the connection names no
credential / CA at all; explicit settings always win):

* no client_cert / proxy / token / token_file: ``BEARER_TOKEN_FILE`` when it names an existing file
  (the poms_client convention), else ``X509_USER_PROXY``;
* no ca_cert: ``X509_CERT_DIR``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from airflow_provider_poms.http.errors import ConfigurationError

__all__ = ["ConnectionSettings"]

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}

# Extra names exactly as declared in get_provider_info.conn-fields.
_EXTRA_KEYS = (
    "client_cert",
    "client_key",
    "proxy",
    "ca_cert",
    "token_file",
    "verify",
    "connect_timeout",
    "read_timeout",
    "max_retries",
    "backoff",
    "gzip",
    "max_response_mb",
    "experiment",
    "role",
)


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigurationError(f"{name} must be true or false, got {value!r}")


def _as_float(name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} must be a number, got {value!r}") from None


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ConfigurationError(f"{name} must be an integer, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} must be an integer, got {value!r}") from None
    if number != int(number):
        raise ConfigurationError(f"{name} must be an integer, got {value!r}")
    return int(number)


def _blank_to_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _check_readable_file(field: str, path: str) -> None:
    """Fail early and precisely on a credential path; never read or show the content."""
    p = Path(path)
    if not p.exists():
        raise ConfigurationError(f"{field}: file not found: {path}")
    if not p.is_file():
        raise ConfigurationError(f"{field}: not a regular file: {path}")
    if not os.access(p, os.R_OK):
        raise ConfigurationError(f"{field}: file not readable by this process: {path}")


@dataclass(frozen=True, repr=False)
class ConnectionSettings:
    """What one POMS or ReqMgr2 connection says. See docs/architecture.md section 1."""

    base_url: str
    client_cert: str | None = None
    client_key: str | None = None
    proxy: str | None = None
    ca_cert: str | None = None
    token: str | None = None
    token_file: str | None = None
    verify: bool = True
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    max_retries: int = 5
    backoff: float = 1.0
    gzip: bool = True
    max_response_bytes: int = 1 << 30
    experiment: str | None = None
    role: str | None = None

    def __post_init__(self) -> None:
        self._validate()

    # -- validation -------------------------------------------------------------------------
    def _validate(self) -> None:
        url = self.base_url
        if not isinstance(url, str) or not url:
            raise ConfigurationError("base_url (connection host) is empty")
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ConfigurationError(
                f"base_url must be an http(s) URL such as https://host:8443/poms, got {url!r}"
            )
        if parts.query or parts.fragment:
            raise ConfigurationError(f"base_url must not have a query or fragment: {url!r}")
        bad = sorted({c for c in url if c.isspace() or not c.isprintable()})
        if bad:
            raise ConfigurationError(
                f"base_url must not contain spaces or control characters ({', '.join(map(repr, bad))}): "
                f"{url[:200]!r}"
            )
        if url.endswith("/"):
            object.__setattr__(self, "base_url", url.rstrip("/"))
        if parts.username or parts.password:
            raise ConfigurationError("base_url must not embed credentials; use the password/token fields")
        if self.client_cert and not self.client_key:
            raise ConfigurationError(
                "client_cert is set without client_key (use proxy for one PEM holding both)"
            )
        if self.client_key and not self.client_cert:
            raise ConfigurationError("client_key is set without client_cert")
        if self.proxy and self.client_cert:
            raise ConfigurationError("set either client_cert/client_key or proxy, not both")
        if self.token and self.token_file:
            raise ConfigurationError("set either a token (password) or token_file, not both")
        for name in ("client_cert", "client_key", "proxy", "token_file"):
            path = getattr(self, name)
            if path is not None:
                _check_readable_file(name, path)
        if self.ca_cert is not None:
            p = Path(self.ca_cert)
            if not p.exists():
                raise ConfigurationError(f"ca_cert: file or directory not found: {self.ca_cert}")
            if not os.access(p, os.R_OK):
                raise ConfigurationError(f"ca_cert: not readable by this process: {self.ca_cert}")
        if self.token is not None and any(c in self.token for c in "\r\n"):
            raise ConfigurationError("token contains a line break")
        for name in ("connect_timeout", "read_timeout"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not value > 0
                or not math.isfinite(value)
            ):
                raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise ConfigurationError(f"max_retries must be an integer, got {self.max_retries!r}")
        if not 0 <= self.max_retries <= 20:
            raise ConfigurationError(f"max_retries must be between 0 and 20, got {self.max_retries}")
        if isinstance(self.backoff, bool) or not isinstance(self.backoff, int | float) or self.backoff < 0:
            raise ConfigurationError(f"backoff must be a number >= 0, got {self.backoff!r}")
        if (
            isinstance(self.max_response_bytes, bool)
            or not isinstance(self.max_response_bytes, int)
            or self.max_response_bytes < 1024
        ):
            raise ConfigurationError(
                f"max_response_bytes must be an integer >= 1024, got {self.max_response_bytes!r}"
            )
        for name in ("verify", "gzip"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(f"{name} must be a boolean, got {getattr(self, name)!r}")

    # -- identity ---------------------------------------------------------------------------
    def key(self) -> tuple[Any, ...]:
        """Hashable identity for sharing pools; the token is represented by a digest only."""
        values: list[Any] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "token" and value is not None:
                value = "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16]
            values.append(value)
        return tuple(values)

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value == f.default:
                continue
            if f.name == "token":
                shown.append("token='***'")
            else:
                shown.append(f"{f.name}={value!r}")
        return f"ConnectionSettings({', '.join(shown)})"

    __str__ = __repr__

    def with_changes(self, **changes: Any) -> ConnectionSettings:
        """A validated copy with some fields changed (tests, benchmarks)."""
        return replace(self, **changes)

    @property
    def auth_kind(self) -> str:
        """Short description of how this connection authenticates (for messages)."""
        kinds = []
        if self.client_cert:
            kinds.append("certificate")
        if self.proxy:
            kinds.append("proxy")
        if self.token:
            kinds.append("token")
        if self.token_file:
            kinds.append("token file")
        return "+".join(kinds) or "none"

    # -- constructors -----------------------------------------------------------------------
    @classmethod
    def from_connection(
        cls,
        conn: Any,
        *,
        extra: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ConnectionSettings:
        """Build from an Airflow Connection: host = base URL, password = literal token, extras.

        ``extra`` may be passed when the caller already holds the parsed extras (the async path reads
        them with ``await conn.aextra_dejson()``). ``environ`` defaults to ``os.environ`` and is used
        only for the documented fallbacks.
        """
        conn_id = getattr(conn, "conn_id", None) or "?"
        try:
            return cls(**_kwargs_from_connection(conn, extra, os.environ if environ is None else environ))
        except ConfigurationError as exc:
            exc.message = f"connection {conn_id!r}: {exc.message}"
            exc.args = (exc.message,)
            raise

    @classmethod
    def from_emulator(
        cls,
        connection_json: str | os.PathLike[str] | Mapping[str, Any],
        service: Literal["poms", "reqmgr2"],
        identity: str = "operator",
        auth: Literal["cert", "proxy", "token"] = "cert",
        **overrides: Any,
    ) -> ConnectionSettings:
        """Settings for the offline emulator, from its ``connection.json`` (a path or the parsed dict).

        ``identity`` is a login from the file's ``identities`` object; ``auth`` picks the
        certificate+key, the proxy PEM, or the bearer token file. ``overrides`` change any other field
        (e.g. ``backoff=0.01`` in tests).
        """
        if isinstance(connection_json, Mapping):
            data: Mapping[str, Any] = connection_json
        else:
            path = Path(connection_json)
            try:
                data = json.loads(path.read_text())
            except OSError as exc:
                raise ConfigurationError(
                    f"emulator connection file unreadable: {path} ({exc.strerror})"
                ) from None
            except ValueError:
                raise ConfigurationError(f"emulator connection file is not JSON: {path}") from None
        if service not in ("poms", "reqmgr2"):
            raise ConfigurationError(f"service must be 'poms' or 'reqmgr2', got {service!r}")
        base_url = data.get(f"{service}_url") or (str(data.get("url", "")).rstrip("/") + f"/{service}")
        identities = data.get("identities") or {}
        ident = identities.get(identity)
        if ident is None:
            if identity == "operator" and data.get("client_cert"):
                ident = data
            else:
                known = ", ".join(sorted(identities)) or "none"
                raise ConfigurationError(f"emulator has no identity {identity!r} (known: {known})")
        kwargs: dict[str, Any] = {"base_url": base_url, "ca_cert": data.get("ca_cert")}
        if auth == "cert":
            kwargs["client_cert"] = ident.get("client_cert")
            kwargs["client_key"] = ident.get("client_key")
        elif auth == "proxy":
            kwargs["proxy"] = ident.get("proxy")
        elif auth == "token":
            token = ident.get("token_file") or ident.get("token")
            if token and Path(str(token)).is_file():
                kwargs["token_file"] = str(token)
            else:
                kwargs["token"] = token
        else:
            raise ConfigurationError(f"auth must be 'cert', 'proxy' or 'token', got {auth!r}")
        for name, value in list(kwargs.items()):
            if value is None and name != "ca_cert":
                raise ConfigurationError(f"emulator connection file lacks {name} for identity {identity!r}")
        kwargs.update(overrides)
        return cls(**kwargs)


def _kwargs_from_connection(
    conn: Any, extra: Mapping[str, Any] | None, env: Mapping[str, str]
) -> dict[str, Any]:
    """Constructor arguments from an Airflow Connection (see ``ConnectionSettings.from_connection``)."""
    parsed = _parsed_extra(conn)  # also when the caller parsed it: aextra_dejson hides bad JSON too
    if extra is None:
        extra = parsed
    if not isinstance(extra, Mapping):
        raise ConfigurationError(f"connection extra must be a JSON object, got {type(extra).__name__}")
    unknown = sorted(str(k) for k in extra if k not in _EXTRA_KEYS)
    if unknown:
        # A misspelt key (client_certificate, verify_ssl, ...) would otherwise be ignored silently.
        raise ConfigurationError(
            f"unknown extra {', '.join(map(repr, unknown))} (known: {', '.join(_EXTRA_KEYS)})"
        )
    base_url = _base_url_from_connection(conn)
    if not base_url:
        raise ConfigurationError("no host (the service base URL)")
    # Airflow's URI form stores every extra as a string; accept both spellings.
    ex = {k: extra.get(k) for k in _EXTRA_KEYS}
    kwargs: dict[str, Any] = {"base_url": base_url}
    for name in ("client_cert", "client_key", "proxy", "ca_cert", "token_file", "experiment", "role"):
        value = _blank_to_none(ex[name])
        if value is not None:
            kwargs[name] = os.path.expanduser(value) if name not in ("experiment", "role") else value
    token = _blank_to_none(getattr(conn, "password", None))
    if token is not None:
        kwargs["token"] = token
    for name in ("verify", "gzip"):  # an empty form field means "default", not false
        if _blank_to_none(ex[name]) is not None:
            kwargs[name] = _as_bool(name, ex[name])
    for name in ("connect_timeout", "read_timeout", "backoff"):
        if _blank_to_none(ex[name]) is not None:
            kwargs[name] = _as_float(name, ex[name])
    if _blank_to_none(ex["max_retries"]) is not None:
        kwargs["max_retries"] = _as_int("max_retries", ex["max_retries"])
    if _blank_to_none(ex["max_response_mb"]) is not None:
        mb = _as_int("max_response_mb", ex["max_response_mb"])
        if mb < 1:
            raise ConfigurationError(f"max_response_mb must be >= 1, got {mb}")
        kwargs["max_response_bytes"] = mb << 20
    _apply_env_fallbacks(kwargs, env)
    return kwargs


def _parsed_extra(conn: Any) -> Any:
    """The extras as JSON; Airflow's ``extra_dejson`` turns malformed JSON into ``{}`` silently."""
    raw = getattr(conn, "extra", None)
    if isinstance(raw, str) and raw.strip():
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"connection extra is not valid JSON ({exc.msg} at {exc.pos})") from None
    return getattr(conn, "extra_dejson", None) or {}


def _base_url_from_connection(conn: Any) -> str:
    """Host may hold the whole base URL (JSON form) or only the host name (URI form)."""
    host = (getattr(conn, "host", None) or "").strip()
    if not host:
        return ""
    if "://" in host:
        return host.rstrip("/")
    port = getattr(conn, "port", None)
    schema = (getattr(conn, "schema", None) or "").strip("/")
    url = f"https://{host}"
    if port:
        url += f":{port}"
    if schema:
        url += f"/{schema}"
    return url


def _apply_env_fallbacks(kwargs: dict[str, Any], env: Mapping[str, str]) -> None:
    if not any(kwargs.get(k) for k in ("client_cert", "proxy", "token", "token_file")):
        token_file = env.get("BEARER_TOKEN_FILE")
        proxy = env.get("X509_USER_PROXY")
        if token_file and Path(token_file).is_file():
            kwargs["token_file"] = token_file
        elif proxy:
            kwargs["proxy"] = proxy
    if not kwargs.get("ca_cert") and env.get("X509_CERT_DIR"):
        kwargs["ca_cert"] = env["X509_CERT_DIR"]
