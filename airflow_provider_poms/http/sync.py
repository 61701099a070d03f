"""Blocking transport on a ``requests.Session`` (keep-alive pool per transport).

Thin edge: ``prepare`` (protocol.py) builds the bytes, ``BodyDecoder`` (gzip.py) reads the body,
``RetryPolicy`` (retry.py) decides about another attempt and the dialect decides what the answer
means. This module only moves bytes and translates requests/urllib3 exceptions.

Redirects are never followed (``allow_redirects=False``): POMS' 303 is an answer, and a redirect to
another host must never receive our credentials. The session ignores the environment
(``trust_env=False``: no ``.netrc`` credentials, no ``REQUESTS_CA_BUNDLE`` overriding ``ca_cert``),
except for HTTP(S) proxy variables, which are honoured explicitly.
"""

from __future__ import annotations

import logging
import threading
import time

import requests
import requests.adapters
import requests.utils
import urllib3.exceptions

from airflow_provider_poms.http import failures
from airflow_provider_poms.http.auth import mask_secrets
from airflow_provider_poms.http.errors import ConfigurationError, ProviderError
from airflow_provider_poms.http.gzip import BodyDecoder
from airflow_provider_poms.http.protocol import (
    ApiRequest,
    ApiResponse,
    Dialect,
    Headers,
    PreparedCall,
    finish_response,
)
from airflow_provider_poms.http.retry import RetryPolicy, TransportBase
from airflow_provider_poms.http.settings import ConnectionSettings

__all__ = ["SyncTransport"]

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024
_CONNECT_ERRORS = (
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.NameResolutionError,
    urllib3.exceptions.ConnectTimeoutError,
)


class SyncTransport(TransportBase):
    """One keep-alive pool for one connection's settings; safe to share between threads."""

    def __init__(
        self,
        settings: ConnectionSettings,
        dialect: Dialect,
        *,
        policy: RetryPolicy | None = None,
        pool_maxsize: int = 10,
    ) -> None:
        super().__init__(settings, dialect, policy)
        self._session = requests.Session()
        self._session.trust_env = False
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=pool_maxsize, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._proxies = requests.utils.get_environ_proxies(settings.base_url)
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> SyncTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True
        self._session.close()

    # -- public -------------------------------------------------------------------------------
    def send(self, request: ApiRequest) -> ApiResponse:
        """Send with retries; return the success answer or raise a ``ProviderError`` subclass."""
        if self._closed:
            raise ConfigurationError("transport is closed")
        call, plan = self._plan(request, log)
        plan.record(self._try(call))
        for delay in plan:
            time.sleep(delay)
            plan.record(self._try(call))
        return plan.result()

    def _try(self, call: PreparedCall) -> ApiResponse | ProviderError:
        try:
            return self._exchange(call)
        except ProviderError as exc:
            return exc

    # -- one exchange ---------------------------------------------------------------------------
    def _exchange(self, call: PreparedCall) -> ApiResponse:
        creds = self.credentials
        headers = call.with_headers(creds.auth_headers())
        mask_secrets(creds.take_new_secrets())
        creds.warn_if_unverified()
        settings = self.settings
        started = time.monotonic()
        try:
            resp = self._session.request(
                call.method,
                call.url,
                headers=headers,
                data=call.body,
                stream=True,
                allow_redirects=False,
                timeout=(settings.connect_timeout, settings.read_timeout),
                cert=creds.cert_pair,
                verify=creds.requests_verify(),
                proxies=self._proxies,
            )
        except requests.exceptions.RequestException as exc:
            raise self._request_failed(exc, call) from None
        except OSError as exc:  # certificate file vanished between validation and use
            raise ConfigurationError(f"cannot load TLS files ({exc})", url=call.safe_url) from None
        try:
            body = self._read_body(resp, call)
        finally:
            resp.close()
        response = finish_response(
            call.method, resp.status_code, Headers(resp.headers.items()), body, call.safe_url
        )
        log.debug(
            "%s %s -> %d in %.3f s (%d bytes)",
            call.method,
            call.safe_url,
            response.status,
            time.monotonic() - started,
            len(body),
        )
        return response

    def _read_body(self, resp: requests.Response, call: PreparedCall) -> bytes:
        decoder = BodyDecoder(
            resp.headers.get("Content-Encoding"), self.settings.max_response_bytes, call.safe_url
        )
        received = 0
        try:
            for chunk in resp.raw.stream(_CHUNK, decode_content=False):
                received += len(chunk)
                decoder.feed(chunk)
        except ProviderError:
            raise
        except urllib3.exceptions.ReadTimeoutError:
            raise failures.read_timeout(call.safe_url, self.settings) from None
        except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError) as exc:
            raise failures.truncated(exc, call.safe_url, received) from None
        return decoder.finish()

    def _request_failed(self, exc: requests.exceptions.RequestException, call: PreparedCall) -> ProviderError:
        url, settings = call.safe_url, self.settings
        if failures.is_tls_config_problem(exc):
            # requests does not tell handshake from later reads; only a verify failure is surely early
            return failures.tls_failed(exc, url, settings, handshake=False)
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return failures.connect_failed(exc, url, settings, timeout=True)
        if isinstance(exc, requests.exceptions.ReadTimeout):
            return failures.read_timeout(url, settings)
        # Anything else TLS-flavoured (EOF, "operation did not complete") may come from a reused
        # keep-alive connection after the request was written: falls through to send_failed.
        if isinstance(exc, requests.exceptions.ConnectionError):
            if any(isinstance(c, _CONNECT_ERRORS) for c in failures.causes(exc)):
                return failures.connect_failed(exc, url, settings, timeout=False)
            return failures.send_failed(exc, url)
        if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
            return ConfigurationError(f"invalid URL {url}: {exc}")
        return failures.send_failed(exc, url)
