"""Streaming, capped decoding of response bodies (gzip, zlib/raw deflate, identity).

Why streaming with a cap: ReqMgr2 compresses everything (level 9, no threshold), and a status query
over many requests expands by 10-50x. Decompressing in bounded steps (``max_length``) means a
corrupt or hostile body can never take more memory than ``max_response_bytes`` plus one chunk,
whatever its compression ratio. Both transports feed raw network chunks into a ``BodyDecoder``.
"""

from __future__ import annotations

import zlib

from airflow_provider_poms.http.errors import InvalidResponse, ResponseTooLarge, TruncatedResponse

__all__ = ["BodyDecoder", "decode_body"]

_STEP = 256 * 1024  # largest piece produced per decompress() call


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n} bytes"


class BodyDecoder:
    """Feed raw chunks, get the decoded body; raises as soon as the cap is passed."""

    def __init__(self, content_encoding: str | None, max_bytes: int, url: str = "") -> None:
        self.url = url
        self.max_bytes = max_bytes
        self.encoding = (content_encoding or "identity").strip().lower()
        if self.encoding in ("x-gzip",):
            self.encoding = "gzip"
        if self.encoding not in ("gzip", "deflate", "identity", ""):
            raise InvalidResponse(
                f"unsupported Content-Encoding {content_encoding!r} (only gzip and deflate are asked for)",
                url=url,
                maybe_sent=True,
            )
        self._parts: list[bytes] = []
        self._size = 0
        self._raw = 0
        # Compressed bytes are bounded too (a never-ending stream), but deflate may expand
        # incompressible data slightly: allow its worst case (+0.1% and a header) so the cap on the
        # decompressed body stays exact.
        self._raw_limit = max_bytes + max_bytes // 1000 + 1024
        self._decomp: zlib._Decompress | None = None
        self._started = False
        self._pending = b""  # deflate: wait for two bytes to tell zlib-wrapped from raw

    @property
    def size(self) -> int:
        return self._size

    def _too_large(self) -> ResponseTooLarge:
        what = "decompressed " if self.encoding in ("gzip", "deflate") else ""
        return ResponseTooLarge(
            f"response body exceeds the {_mib(self.max_bytes)} limit {what}(connection extra "
            "max_response_mb); ask for less (filters, mask, fewer names) or raise the limit",
            url=self.url,
        )

    def _emit(self, data: bytes) -> None:
        if not data:
            return
        self._size += len(data)
        if self._size > self.max_bytes:
            raise self._too_large()
        self._parts.append(data)

    def _new_decompressor(self, head: bytes) -> zlib._Decompress:
        if self.encoding == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is zlib-wrapped by the RFC but raw in practice (WMCore sends raw): sniff it.
        zlib_wrapped = len(head) >= 2 and (head[0] & 0x0F) == 8 and ((head[0] << 8) | head[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS)

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._raw += len(chunk)
        if self.encoding in ("identity", ""):
            self._emit(chunk)
            return
        if self._raw > self._raw_limit:
            raise self._too_large()
        data = self._pending + chunk
        self._pending = b""
        while data:
            if self._decomp is None:
                if self.encoding == "deflate" and len(data) < 2 and not self._started:
                    self._pending = data
                    return
                self._decomp = self._new_decompressor(data)
                self._started = True
            data = self._inflate(data)

    def _inflate(self, data: bytes) -> bytes:
        """Decompress ``data`` in bounded steps; returns bytes left over after the end of a member."""
        decomp = self._decomp
        assert decomp is not None
        try:
            while data:
                budget = min(_STEP, self.max_bytes - self._size + 1)
                self._emit(decomp.decompress(data, budget))
                data = decomp.unconsumed_tail
                if decomp.eof:
                    break
        except zlib.error as exc:
            raise InvalidResponse(
                f"corrupt {self.encoding} body ({exc})", url=self.url, maybe_sent=True
            ) from None
        if decomp.eof:
            rest = decomp.unused_data
            self._decomp = None
            if self.encoding == "gzip" and rest.strip(b"\0"):
                return rest  # another gzip member follows
            return b""
        return b""

    def finish(self) -> bytes:
        """The whole body. A compressed stream that did not reach its end is a truncated response."""
        if self._pending:
            self._decomp = self._new_decompressor(self._pending)
            self._pending = b""
            self._inflate(b"")
        decomp = self._decomp
        if decomp is not None:
            try:
                while True:
                    budget = min(_STEP, self.max_bytes - self._size + 1)
                    out = decomp.decompress(decomp.unconsumed_tail, budget) if decomp.unconsumed_tail else b""
                    if not out:
                        break
                    self._emit(out)
                self._emit(decomp.flush())
            except zlib.error as exc:
                raise InvalidResponse(
                    f"corrupt {self.encoding} body ({exc})", url=self.url, maybe_sent=True
                ) from None
            if not decomp.eof:
                raise TruncatedResponse(
                    f"{self.encoding} body ended early after {self._raw} bytes (connection cut mid-answer)",
                    url=self.url,
                    maybe_sent=True,
                )
        return b"".join(self._parts)


def decode_body(content_encoding: str | None, raw: bytes, max_bytes: int, url: str = "") -> bytes:
    """One-shot helper over ``BodyDecoder`` (tests, small bodies)."""
    decoder = BodyDecoder(content_encoding, max_bytes, url)
    decoder.feed(raw)
    return decoder.finish()
