"""Bearer tokens: the built-in ones (one file per identity) plus tokens issued at run time.

Issued tokens can expire (in emulated time, so a test advances the clock instead of sleeping)
and be revoked; that is how token rotation and "expired token -> 401" are tested. Only
sha256 digests are kept in memory and in the store; the token itself is only in its 0600 file.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

from airflow_provider_poms.emulator.core import INTERNAL_PREFIX, Clock, Store


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenBook:
    """digest -> grant; built-in grants from the identity token files, issued ones in the store."""

    def __init__(self, builtin: dict[str, str], store: Store, clock: Clock, token_dir: Path) -> None:
        self._builtin = dict(builtin)  # digest -> login
        self._issued = store.table(f"{INTERNAL_PREFIX}_tokens")
        self._clock = clock
        self._dir = token_dir

    def login_for(self, token: str) -> str | None:
        """Login of a valid token; None when unknown, revoked or expired."""
        d = digest(token)
        login = self._builtin.get(d)
        if login is not None:
            return login
        grant = self._issued.get(d)
        if grant is None:
            return None
        if grant.get("expires_at") is not None and self._clock.now() >= grant["expires_at"]:
            return None
        return str(grant["login"])

    def issue(self, login: str, expires_in: float | None = None) -> dict[str, Any]:
        """A new token for ``login`` written to its own 0600 file; returns the file and expiry."""
        token = secrets.token_urlsafe(32)
        self._dir.mkdir(parents=True, exist_ok=True)
        path = self._dir / f"{login}-{secrets.token_hex(4)}.token"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(token + "\n")
        expires_at = None if expires_in is None else self._clock.now() + float(expires_in)
        self._issued.put(digest(token), {"login": login, "expires_at": expires_at, "file": str(path)})
        return {"token_file": str(path), "login": login, "expires_at": expires_at}

    def revoke(self, token_file: str) -> bool:
        """Forget the token held in ``token_file`` (the file stays, the token stops working)."""
        for key, grant in self._issued.items():
            if grant.get("file") == token_file:
                self._issued.delete(key)
                return True
        return False
