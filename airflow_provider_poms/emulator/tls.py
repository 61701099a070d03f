"""uvicorn protocol subclasses that hand the TLS peer and the transport to the ASGI app.

uvicorn puts a copy of its per-protocol ``app_state`` into every request's ``scope["state"]``.
We extend that dict once per connection (after the TLS handshake, which is when asyncio calls
``connection_made``) with the verified client subject and the transport. That gives the app
the certificate identity and a handle to abort the connection (reset faults) without touching
uvicorn's HTTP parsing.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from airflow_provider_poms.emulator.pki import subject_to_dn

STATE_TRANSPORT = "emulator.transport"
STATE_PEER_DN = "emulator.peer_dn"


def _peer_state(transport: asyncio.BaseTransport) -> dict[str, Any]:
    peer = transport.get_extra_info("peercert")
    dn = subject_to_dn(peer["subject"]) if peer and peer.get("subject") else None
    return {STATE_TRANSPORT: transport, STATE_PEER_DN: dn}


class H11TlsProtocol(H11Protocol):
    """h11 protocol that exposes the TLS peer subject and the transport in ``scope["state"]``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.app_state = {**self.app_state, **_peer_state(transport)}


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HttpToolsTlsProtocol(HttpToolsProtocol):
        """Same as ``H11TlsProtocol`` on the faster httptools parser."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # WMCore's client frames an empty POST with both ``Transfer-Encoding: chunked`` and
            # ``Content-Length: 0``; CherryPy takes it (chunked wins, RFC 9112 6.3), so must we.
            with contextlib.suppress(AttributeError):
                self.parser.set_dangerous_leniencies(lenient_chunked_length=True)

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.app_state = {**self.app_state, **_peer_state(transport)}

    PROTOCOL: type[asyncio.Protocol] = HttpToolsTlsProtocol
except ImportError:  # httptools is optional in uvicorn
    PROTOCOL = H11TlsProtocol


def abort_connection(transport: asyncio.BaseTransport | None) -> None:
    """Drop the TCP connection with a RST (SO_LINGER 0), without any TLS close_notify."""
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()  # type: ignore[attr-defined]
