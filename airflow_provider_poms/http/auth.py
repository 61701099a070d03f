"""Credentials of one connection: client certificate/key, proxy PEM, bearer token, CA, verification.

Why this module exists: the tokens rotate (a token file is re-read whenever its mtime/size/inode
changes, so a refreshed token is used on the next call without restarting anything), credential
problems must be reported precisely *before* any network call (which field, which path; never the
content), and derived secrets (the token read from a file) must be registered with Airflow's secret
masker when we run inside Airflow. The core itself never imports Airflow: masking happens only when
``airflow.sdk`` is already loaded in the process.

Environment fallbacks (``BEARER_TOKEN_FILE``, ``X509_USER_PROXY``, ``X509_CERT_DIR``) are applied by
``ConnectionSettings.from_connection`` when the connection names no credential / CA.
"""

from __future__ import annotations

import logging
import os
import ssl
import stat
import sys
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from airflow_provider_poms.http.errors import ConfigurationError

if TYPE_CHECKING:
    from airflow_provider_poms.http.settings import ConnectionSettings

__all__ = ["Credentials", "amask_secrets", "mask_secrets"]

log = logging.getLogger(__name__)


def _stat_key(path: str) -> tuple[int, int, int]:
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def mask_secrets(values: Iterable[str]) -> None:
    """Register derived secrets with Airflow's masker (sync contexts); no-op outside Airflow."""
    values = [v for v in values if v]
    if not values or "airflow.sdk" not in sys.modules:
        return
    try:
        from airflow.sdk.log import mask_secret
    except Exception:  # pragma: no cover - Airflow without the SDK log module
        return
    for value in values:
        mask_secret(value)


async def amask_secrets(values: Iterable[str]) -> None:
    """Async twin of ``mask_secrets`` (uses ``amask_secret`` so the triggerer loop never blocks)."""
    values = [v for v in values if v]
    if not values or "airflow.sdk" not in sys.modules:
        return
    try:
        from airflow.sdk.log import amask_secret
    except Exception:  # pragma: no cover
        return
    for value in values:
        await amask_secret(value)


class Credentials:
    """What to present and what to trust, derived from ``ConnectionSettings``.

    Build it once per transport: it checks the files (and that cert and key match) immediately.
    """

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._token_stat: tuple[int, int, int] | None = None
        self._token_value: str | None = None
        self._pending: list[str] = []
        if settings.token:
            self._pending.append(settings.token)
        self._check_client_cert()
        self._check_ca()
        if settings.token_file:
            self._read_token_file()

    # -- client certificate ------------------------------------------------------------------
    @property
    def cert_pair(self) -> tuple[str, str] | None:
        """(certificate, key) paths; a proxy PEM is both."""
        s = self.settings
        if s.proxy:
            return (s.proxy, s.proxy)
        if s.client_cert and s.client_key:
            return (s.client_cert, s.client_key)
        return None

    def _cert_fields(self) -> tuple[str, str]:
        return ("proxy", "proxy") if self.settings.proxy else ("client_cert", "client_key")

    def _check_client_cert(self) -> None:
        pair = self.cert_pair
        if pair is None:
            return
        cert_field, key_field = self._cert_fields()
        for field_name, path in zip((cert_field, key_field), pair, strict=True):
            _require_readable(field_name, path)
        probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            probe.load_cert_chain(pair[0], pair[1])
        except ssl.SSLError as exc:
            reason = exc.reason or "invalid PEM"
            where = pair[0] if pair[0] == pair[1] else f"{pair[0]} / {pair[1]}"
            raise ConfigurationError(
                f"{cert_field}/{key_field}: not a usable PEM certificate and unencrypted key "
                f"({reason}): {where}"
            ) from None
        except OSError as exc:
            raise ConfigurationError(f"{cert_field}: cannot load ({exc.strerror}): {pair[0]}") from None

    def _check_ca(self) -> None:
        """A CA bundle that holds no certificate would otherwise surface as a dropped connection."""
        ca = self.settings.ca_cert
        if not ca or not self.settings.verify or os.path.isdir(ca):
            return
        try:
            ssl.create_default_context(cafile=ca)
        except (ssl.SSLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or "invalid PEM"
            raise ConfigurationError(
                f"ca_cert: no usable CA certificate in the file ({reason}): {ca}"
            ) from None

    def tls_files_state(self) -> tuple[object, ...]:
        """Changes when a certificate, key, proxy or CA file is replaced (proxies are renewed in place)."""
        state: list[object] = []
        for path in (*(self.cert_pair or ()), self.settings.ca_cert):
            if path:
                try:
                    state.append(_stat_key(path))
                except OSError:
                    state.append(None)
        return tuple(state)

    # -- bearer token ------------------------------------------------------------------------
    def _read_token_file(self) -> str:
        path = self.settings.token_file
        assert path is not None
        try:
            key = _stat_key(path)
        except FileNotFoundError:
            raise ConfigurationError(f"token_file: file not found: {path}") from None
        except OSError as exc:
            raise ConfigurationError(f"token_file: cannot stat ({exc.strerror}): {path}") from None
        if key == self._token_stat and self._token_value is not None:
            return self._token_value
        try:
            mode = os.stat(path).st_mode
            with open(path, encoding="utf-8") as fh:
                token = fh.read().strip()
        except OSError as exc:
            raise ConfigurationError(f"token_file: cannot read ({exc.strerror}): {path}") from None
        except UnicodeDecodeError:
            raise ConfigurationError(f"token_file: not a text file: {path}") from None
        if not token:
            raise ConfigurationError(f"token_file: file is empty: {path}")
        if any(c.isspace() for c in token):
            raise ConfigurationError(f"token_file: holds more than one token (whitespace inside): {path}")
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            log.warning(
                "Token file %s is readable by group/others (mode %s); restrict it with chmod 600",
                path,
                oct(stat.S_IMODE(mode)),
            )
        if token != self._token_value:
            self._pending.append(token)
            if self._token_value is not None:
                log.info("Token file %s changed; using the new token", path)
        self._token_stat = key
        self._token_value = token
        return token

    def current_token(self) -> str | None:
        """The literal token, or the token file's content (re-read when the file changed)."""
        if self.settings.token:
            return self.settings.token
        if self.settings.token_file:
            with self._lock:
                return self._read_token_file()
        return None

    def auth_headers(self) -> dict[str, str]:
        """Headers that carry credentials. Never log them."""
        token = self.current_token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    def take_new_secrets(self) -> list[str]:
        """Secrets first seen since the last call, for the masker."""
        with self._lock:
            pending, self._pending = self._pending, []
        return pending

    # -- server verification -----------------------------------------------------------------
    def warn_if_unverified(self) -> None:
        """Verification off is allowed only explicitly, and never silently."""
        if not self.settings.verify:
            log.warning(
                "TLS server verification is OFF for %s: the server's identity is not checked "
                "(connection extra verify=false)",
                self.settings.base_url,
            )

    def requests_verify(self) -> bool | str:
        """``verify=`` for requests: False, True (system/certifi CAs) or a CA file/directory."""
        s = self.settings
        if not s.verify:
            return False
        return s.ca_cert or True

    def ssl_context(self) -> ssl.SSLContext:
        """An SSLContext for httpx with the same trust and client certificate as requests would use."""
        s = self.settings
        if s.ca_cert:
            # Only the configured CA is trusted (as with requests' verify=<path>).
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            try:
                if os.path.isdir(s.ca_cert):
                    ctx.load_verify_locations(capath=s.ca_cert)
                else:
                    ctx.load_verify_locations(cafile=s.ca_cert)
            except (ssl.SSLError, OSError) as exc:
                raise ConfigurationError(
                    f"ca_cert: cannot load CA certificates ({exc}): {s.ca_cert}"
                ) from None
        else:
            ctx = ssl.create_default_context(cafile=_certifi_where())
        if not s.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        pair = self.cert_pair
        if pair:
            ctx.load_cert_chain(pair[0], pair[1])
        return ctx


def _certifi_where() -> str | None:
    """requests trusts certifi's bundle by default; use the same one for httpx."""
    try:
        import certifi

        return str(certifi.where())
    except Exception:  # pragma: no cover
        return None


def _require_readable(field_name: str, path: str) -> None:
    if not os.path.exists(path):
        raise ConfigurationError(f"{field_name}: file not found: {path}")
    if not os.path.isfile(path):
        raise ConfigurationError(f"{field_name}: not a regular file: {path}")
    if not os.access(path, os.R_OK):
        raise ConfigurationError(f"{field_name}: file not readable by this process: {path}")
