"""Read a remote GGUF header with HTTP Range requests, without downloading the model.

Start with a small prefix and widen it geometrically when the reader says it needs more
(``NeedMoreData``): most headers fit in 256 KiB, but a 262k-token vocabulary takes 6+ MiB.
Split models keep each part's tensor list in that part, so all parts are read and their
tensors merged for the planner.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from app.backend.gguf import DEFAULT_MAX_HEADER_BYTES, BytesPrefixSource, GGUFHeader, NeedMoreData
from app.backend.gguf import read_header as parse
from app.backend.hub import http

FIRST_FETCH = 256 * 1024

Fetch = Callable[[int, int], bytes]  # (start, end inclusive) -> bytes


def read_remote_header(
    fetch: Fetch,
    total_size: int | None,
    *,
    label: str = "The remote model file",
    first_fetch: int = FIRST_FETCH,
    max_bytes: int = DEFAULT_MAX_HEADER_BYTES,
) -> GGUFHeader:
    """Parse a header from a byte-range ``fetch``; raises ``GGUFError`` or ``NetworkError``."""
    data = bytearray()
    want = first_fetch if total_size is None else min(first_fetch, total_size)
    while True:
        if want > len(data):
            chunk = fetch(len(data), want - 1)
            if not chunk:
                raise http.NetworkError("the server sent no bytes for the header")
            data += chunk
        try:
            source = BytesPrefixSource(data, total_size)
            return parse(source, label=label, max_header_bytes=max_bytes)
        except NeedMoreData as more:
            widened = max(more.needed_end, 2 * len(data))
            if total_size is not None:
                widened = min(widened, total_size)
            if widened <= len(data) or widened > max_bytes + first_fetch:
                raise
            want = widened


def fetch_remote_header(
    url: str, total_size: int | None, *, headers: dict[str, str] | None = None, timeout: float = 30
) -> GGUFHeader:
    """The header of the file at ``url`` (a Hub resolve URL; redirects are followed)."""
    name = url.rsplit("/", 1)[-1]
    return read_remote_header(
        lambda start, end: http.fetch_range(url, start, end, headers=headers, timeout=timeout),
        total_size,
        label=f'"{name}"',
    )


def merge_split_headers(headers: Sequence[GGUFHeader]) -> GGUFHeader:
    """The first part's metadata with every part's tensors: what the planner needs."""
    first = headers[0]
    tensors = tuple(t for h in headers for t in h.tensors)
    return dataclasses.replace(first, tensors=tensors)
