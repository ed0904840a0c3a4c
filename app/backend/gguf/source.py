"""Random-access byte sources the header reader can parse from.

A local file, an in-memory buffer, or the prefix of a remote file fetched with an HTTP
range request: the reader only ever asks for ``read_at(offset, size)``.
"""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

from .errors import NeedMoreData


@runtime_checkable
class ByteSource(Protocol):
    """Anything that can return ``size`` bytes starting at ``offset``.

    May return fewer bytes only when the end of the file is reached.
    """

    def read_at(self, offset: int, size: int) -> bytes: ...


class BytesSource:
    """A whole file already in memory."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._data = bytes(data)

    def read_at(self, offset: int, size: int) -> bytes:
        return self._data[offset : offset + size]

    @property
    def size(self) -> int:
        return len(self._data)


class BytesPrefixSource:
    """The first ``len(data)`` bytes of a file of ``total_size`` bytes (``None``: unknown).

    Reading past what it holds, but not past the known end of the file, raises
    ``NeedMoreData`` so the caller can fetch a longer prefix and retry.
    """

    def __init__(self, data: bytes | bytearray | memoryview, total_size: int | None = None) -> None:
        self._data = bytes(data)
        self.total_size = total_size

    def read_at(self, offset: int, size: int) -> bytes:
        end = offset + size
        if self.total_size is not None:
            end = min(end, self.total_size)
        if end > len(self._data):
            raise NeedMoreData(end)
        return self._data[offset:end]


class FileSource:
    """A local file opened for reading; use as a context manager or call ``close()``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()/__exit__
        self.size = os.fstat(self._file.fileno()).st_size

    def read_at(self, offset: int, size: int) -> bytes:
        if offset >= self.size or size <= 0:
            return b""
        self._file.seek(offset)
        return self._file.read(size)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
