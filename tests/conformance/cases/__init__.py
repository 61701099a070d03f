"""The differential cases: raw HTTP requests sent unchanged to the real server and to the emulator.

Each case is one request (after any set-up it needs, e.g. a fresh request in ``new``). Together they
cover the transport rules (Accept, gzip/deflate, ETag, query strings on writes, unknown API and
method), the request decision tables (create, PUT, clone, status changes, priority typing, role
checks), the read shapes and values (name, mask, detail, common_dict, filters, status, type, info,
aux documents, splitting) and requests moved through their statuses.
"""

from __future__ import annotations

from . import arg_checks, aux_queries, states, transport, writes
from .base import Case, CaseContext

CASES: list[Case] = [
    *transport.CASES,
    *writes.CASES,
    *arg_checks.CASES,
    *aux_queries.CASES,
    *states.CASES,
]

__all__ = ["CASES", "Case", "CaseContext"]
