"""Streaming decompression with a cap: gzip, raw/zlib deflate, identity, bombs, truncation."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest

from airflow_provider_poms.http.errors import InvalidResponse, ResponseTooLarge, TruncatedResponse
from airflow_provider_poms.http.gzip import BodyDecoder, decode_body

MiB = 1 << 20
PAYLOAD = b'{"result": [\n' + b",".join(b'{"RequestName": "r%d"}\n' % i for i in range(5000)) + b"]}\n"


def chunks(data: bytes, size: int = 1000) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def stream(encoding: str | None, raw: bytes, cap: int = 10 * MiB, size: int = 1000) -> bytes:
    decoder = BodyDecoder(encoding, cap, "https://h/x")
    for piece in chunks(raw, size):
        decoder.feed(piece)
    return decoder.finish()


def test_gzip_streamed_in_small_chunks() -> None:
    assert stream("gzip", gzip.compress(PAYLOAD), size=7) == PAYLOAD


def test_identity_and_missing_encoding() -> None:
    assert stream(None, PAYLOAD) == PAYLOAD
    assert stream("identity", PAYLOAD) == PAYLOAD


def test_raw_deflate_as_wmcore_sends_it_and_zlib_wrapped() -> None:
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw_body = raw.compress(PAYLOAD) + raw.flush()
    assert stream("deflate", raw_body, size=1) == PAYLOAD
    assert stream("deflate", zlib.compress(PAYLOAD), size=3) == PAYLOAD


def test_multi_member_gzip() -> None:
    assert decode_body("gzip", gzip.compress(b"ab") + gzip.compress(b"cd"), MiB) == b"abcd"


def test_truncated_gzip_is_a_retryable_transport_error() -> None:
    full = gzip.compress(PAYLOAD)
    with pytest.raises(TruncatedResponse, match="ended early") as info:
        stream("gzip", full[: len(full) // 2])
    assert info.value.maybe_sent


def test_corrupt_gzip() -> None:
    with pytest.raises(InvalidResponse, match="corrupt gzip"):
        decode_body("gzip", b"\x1f\x8b\x08\x00" + b"\xff" * 40, MiB)


def test_unsupported_encoding() -> None:
    with pytest.raises(InvalidResponse, match="br"):
        BodyDecoder("br", MiB)


def test_cap_exact_boundary() -> None:
    body = b"x" * 4096
    assert decode_body("gzip", gzip.compress(body), 4096) == body
    with pytest.raises(ResponseTooLarge, match="4096 bytes limit decompressed"):
        decode_body("gzip", gzip.compress(body + b"y"), 4096)


def test_cap_applies_to_uncompressed_bodies() -> None:
    with pytest.raises(ResponseTooLarge, match="max_response_mb"):
        stream(None, b"x" * (2 * MiB), cap=MiB, size=64 * 1024)


def test_gzip_bomb_is_stopped_with_bounded_memory() -> None:
    """1 GiB of zeros in ~1 MiB of gzip: rejected after the cap, never materialised."""
    member = gzip.compress(b"\0" * (64 * MiB), compresslevel=9)
    bomb = member * 16  # 16 members = 1 GiB decompressed
    assert len(bomb) < 2 * MiB
    cap = 4 * MiB
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge):
            stream("gzip", bomb, cap=cap, size=64 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < cap + 4 * MiB, f"peak {peak / MiB:.1f} MiB"
