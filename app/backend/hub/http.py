"""A small streaming HTTP client for file bytes: Range requests and careful redirects.

``huggingface_hub`` is used for the API (search, repo info); the bytes themselves go
through this module because downloads need what ``hf_hub_download`` lacks: pause, a
Range resume whose first byte we check, sha256 computed while writing, and our own retry
policy. Like the Hub client, the token is never sent to another host than the Hub's
(resolve URLs redirect to a CDN with a signed URL).
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 5
USER_AGENT = "hearth (+https://github.com/hearth)"


class HttpError(Exception):
    """A response with an error status; ``status`` and the Hub's error code are kept."""

    def __init__(self, status: int, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class NetworkError(OSError):
    """The connection failed or dropped: worth retrying."""


@dataclass
class Response:
    """An open response; read it with ``readinto`` and always ``close`` it."""

    status: int
    headers: http.client.HTTPMessage
    url: str
    _conn: http.client.HTTPConnection
    _resp: http.client.HTTPResponse

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def raw(self) -> http.client.HTTPResponse:
        """The underlying response (its ``fp``, ``length``, ``chunked``): for zero-copy reads."""
        return self._resp

    @property
    def socket(self) -> socket.socket | None:
        return self._conn.sock

    def read_some(self, limit: int) -> bytes:
        """Whatever has arrived, up to ``limit`` bytes (b"" at the end): never waits to fill."""
        try:
            return self._resp.read1(limit)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise NetworkError(f"the connection dropped ({exc or type(exc).__name__})") from None

    def readinto_some(self, view: memoryview) -> int:
        """Like ``read_some`` but into the caller's buffer: no allocation, no extra copy.

        A plain (not chunked) body is read straight from the socket into ``view``, which is
        what lets a download reuse a few buffers instead of allocating one per read.
        """
        resp = self._resp
        try:
            if resp.chunked or resp.fp is None:
                data = resp.read1(len(view))
                view[: len(data)] = data
                return len(data)
            if resp.length is not None:
                view = view[: resp.length]
            n = resp.fp.readinto1(view)
            if resp.length is not None:
                resp.length -= n
            return n
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise NetworkError(f"the connection dropped ({exc or type(exc).__name__})") from None

    def abort(self) -> None:
        """Unblock a reader in another thread (pause, cancel, shutdown)."""
        sock = self._conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def read(self, limit: int) -> bytes:
        try:
            return self._resp.read(limit)
        except (OSError, http.client.HTTPException) as exc:
            raise NetworkError(f"the connection dropped ({exc or type(exc).__name__})") from None

    def close(self) -> None:
        try:
            self._resp.close()
        finally:
            self._conn.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def _connect(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NetworkError(f"unsupported URL: {url}")
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return conn, target


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
    accept_status: tuple[int, ...] = (200, 206),
) -> Response:
    """Send ``method`` to ``url`` following redirects; raise ``HttpError`` or ``NetworkError``.

    ``Authorization`` is dropped as soon as a redirect leaves the first URL's origin.
    """
    sent = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **(headers or {})}
    first_origin = _origin(url)
    for _ in range(MAX_REDIRECTS + 1):
        if _origin(url) != first_origin:
            sent.pop("Authorization", None)
        conn, target = _connect(url, timeout)
        try:
            conn.request(method, target, headers=sent)
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise NetworkError(f"could not reach {urlsplit(url).netloc} ({exc})") from None
        if resp.status in (301, 302, 303, 307, 308) and resp.getheader("Location"):
            location = resp.getheader("Location") or ""
            resp.close()
            conn.close()
            url = urljoin(url, location)
            continue
        if resp.status not in accept_status:
            body = b""
            try:
                body = resp.read(2048) if method != "HEAD" else b""
            except (OSError, http.client.HTTPException):
                pass
            code = resp.getheader("X-Error-Code")
            message = resp.getheader("X-Error-Message") or body.decode("utf-8", "replace")
            resp.close()
            conn.close()
            raise HttpError(resp.status, message.strip() or resp.reason, code)
        return Response(resp.status, resp.headers, url, conn, resp)
    raise NetworkError(f"too many redirects for {url}")


def fetch_range(
    url: str, start: int, end: int, *, headers: dict[str, str] | None = None, timeout: float = 30
) -> bytes:
    """Bytes ``start..end`` (inclusive) of ``url``; copes with a server that ignores Range."""
    wanted = end - start + 1
    with request(
        "GET", url, headers={**(headers or {}), "Range": f"bytes={start}-{end}"}, timeout=timeout
    ) as resp:
        if resp.status == 200 and start > 0:
            # Range ignored: skip to ``start`` rather than trusting the first bytes.
            skipped = 0
            while skipped < start:
                chunk = resp.read(min(1 << 20, start - skipped))
                if not chunk:
                    return b""
                skipped += len(chunk)
        out = bytearray()
        while len(out) < wanted:
            chunk = resp.read(min(1 << 20, wanted - len(out)))
            if not chunk:
                break
            out += chunk
        return bytes(out)
