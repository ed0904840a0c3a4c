"""A Hugging Face Hub emulator on 127.0.0.1: an API host plus a "CDN" host for the bytes.

Faithful enough for unmodified ``huggingface_hub`` calls (``list_models`` with Link-header
paging, ``model_info(files_metadata=True)``, ``list_repo_tree``, ``hf_hub_download``): resolve
URLs of LFS files answer ``302`` to the CDN host with ``X-Repo-Commit``, ``X-Linked-Etag``,
``X-Linked-Size`` and ``ETag``, as the real Hub does. The CDN speaks HEAD and GET with
``Range`` (206 + ``Content-Range``, 416). Faults can be injected per file: a connection
dropped after N bytes, Range ignored, one flipped byte (right size, wrong hash), 416, a rate
limit, 401 for gated repos.

    with HubEmulator() as hub:
        hub.add_repo("acme/tiny-GGUF", {"tiny-Q8_0.gguf": data})
        hub.fault("acme/tiny-GGUF", "tiny-Q8_0.gguf", Fault(drop_after=1000, times=1))
        os.environ["HF_ENDPOINT"] = hub.endpoint
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

CHUNK = 1 << 20
_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def _file_sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _SHA_CACHE:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK * 4):
                h.update(chunk)
        _SHA_CACHE[key] = h.hexdigest()
    return _SHA_CACHE[key]


@dataclass
class EmuFile:
    """A file in a repo: bytes in memory or a path on disk; LFS unless it is small text."""

    path: str
    data: bytes | None = None
    source: Path | None = None
    lfs: bool = True

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else self.source.stat().st_size  # type: ignore[union-attr]

    @property
    def sha256(self) -> str:
        if self.data is not None:
            return hashlib.sha256(self.data).hexdigest()
        assert self.source is not None
        return _file_sha256(self.source)

    @property
    def git_oid(self) -> str:
        """The git blob sha1 (of the LFS pointer for LFS files, as the Hub reports)."""
        body = self.pointer() if self.lfs else (self.data or b"")
        return hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()

    def pointer(self) -> bytes:
        return (
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\n"
            f"size {self.size}\n"
        ).encode()

    def read(self, start: int, length: int) -> bytes:
        if self.data is not None:
            return self.data[start : start + length]
        assert self.source is not None
        with open(self.source, "rb") as f:
            f.seek(start)
            return f.read(length)


@dataclass
class EmuRepo:
    repo_id: str
    files: dict[str, EmuFile]
    gated: bool = False
    downloads: int = 0
    likes: int = 0
    last_modified: datetime = field(default_factory=lambda: datetime(2025, 1, 1, tzinfo=UTC))
    tags: list[str] = field(default_factory=lambda: ["gguf"])
    commit: str = ""

    def __post_init__(self) -> None:
        if not self.commit:
            self.commit = hashlib.sha1(self.repo_id.encode()).hexdigest()


@dataclass
class Fault:
    """What goes wrong on the CDN for one file; ``times`` = how many GETs (None: all)."""

    drop_after: int | None = None  # close the connection after sending this many bytes
    reset_after: bool = False  # with drop_after: abort with a TCP reset instead of a clean close
    ignore_range: bool = False  # answer 200 with the whole file to a Range request
    flip_byte_at: int | None = None  # serve one byte XOR 0xFF (right size, wrong sha256)
    status: int | None = None  # answer with this status (e.g. 416, 500, 503)
    rate_bps: float | None = None  # throttle to this many bytes per second
    times: int | None = None


@dataclass
class RequestRecord:
    host: str  # "api" or "cdn"
    method: str
    path: str
    headers: dict[str, str]
    status: int = 0


class HubEmulator:
    """Two ``ThreadingHTTPServer`` on loopback; use as a context manager."""

    def __init__(self, *, page_size: int = 20, token: str = "hf_test_token") -> None:
        self.repos: dict[str, EmuRepo] = {}
        self.page_size = page_size
        self.token = token
        self.requests: list[RequestRecord] = []
        self._faults: dict[tuple[str, str], Fault] = {}
        self._lock = threading.Lock()
        self._api = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self, "api"))
        self._cdn = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self, "cdn"))
        for server in (self._api, self._cdn):
            server.daemon_threads = True
        self._threads: list[threading.Thread] = []
        self._conns: set[socket.socket] = set()

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._api.server_address[1]}"

    @property
    def cdn_endpoint(self) -> str:
        return f"http://127.0.0.1:{self._cdn.server_address[1]}"

    def start(self) -> HubEmulator:
        for server in (self._api, self._cdn):
            t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
            t.daemon = True
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        for server in (self._api, self._cdn):
            server.shutdown()
            server.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:  # keep-alive connections would keep answering otherwise
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join(5)

    def __enter__(self) -> HubEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- content -------------------------------------------------------------------------
    def add_repo(
        self,
        repo_id: str,
        files: dict[str, bytes | Path],
        *,
        readme: str | None = None,
        **kwargs: Any,
    ) -> EmuRepo:
        emu_files: dict[str, EmuFile] = {}
        for name, content in files.items():
            if isinstance(content, Path):
                emu_files[name] = EmuFile(name, source=content)
            else:
                emu_files[name] = EmuFile(name, data=bytes(content))
        card = readme if readme is not None else f"---\nlicense: mit\n---\n# {repo_id}\n"
        emu_files["README.md"] = EmuFile("README.md", data=card.encode(), lfs=False)
        emu_files[".gitattributes"] = EmuFile(
            ".gitattributes", data=b"*.gguf filter=lfs diff=lfs merge=lfs -text\n", lfs=False
        )
        repo = EmuRepo(repo_id, emu_files, **kwargs)
        self.repos[repo_id] = repo
        return repo

    def fault(self, repo_id: str, filename: str, fault: Fault | None) -> None:
        with self._lock:
            if fault is None:
                self._faults.pop((repo_id, filename), None)
            else:
                self._faults[(repo_id, filename)] = fault

    def take_fault(self, repo_id: str, filename: str) -> Fault | None:
        with self._lock:
            fault = self._faults.get((repo_id, filename))
            if fault is None:
                return None
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self._faults[(repo_id, filename)]
            return fault

    def record(self, rec: RequestRecord) -> None:
        with self._lock:
            self.requests.append(rec)

    def gets(self, filename: str) -> list[RequestRecord]:
        """CDN GETs for ``filename`` (by its blob path), for asserting on Range use."""
        shas = {
            f.sha256 for r in self.repos.values() for f in r.files.values() if f.path == filename
        }
        return [
            r
            for r in list(self.requests)
            if r.host == "cdn" and r.method == "GET" and r.path.split("/")[-1].split("?")[0] in shas
        ]

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization", "") == f"Bearer {self.token}"


# ----------------------------------------------------------------------- JSON shapes
def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _model_json(repo: EmuRepo, *, blobs: bool, siblings: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "_id": repo.commit[:24],
        "id": repo.repo_id,
        "modelId": repo.repo_id,
        "author": repo.repo_id.split("/")[0],
        "sha": repo.commit,
        "lastModified": _iso(repo.last_modified),
        "createdAt": _iso(repo.last_modified - timedelta(days=30)),
        "private": False,
        "gated": "auto" if repo.gated else False,
        "disabled": False,
        "downloads": repo.downloads,
        "likes": repo.likes,
        "tags": repo.tags,
        "pipeline_tag": "text-generation",
        "library_name": "gguf",
    }
    if siblings:
        rows = []
        for f in repo.files.values():
            row: dict[str, Any] = {"rfilename": f.path}
            if blobs:
                row["blobId"] = f.git_oid
                row["size"] = f.size
                if f.lfs:
                    row["lfs"] = {"sha256": f.sha256, "size": f.size, "pointerSize": 134}
            rows.append(row)
        out["siblings"] = rows
        out["usedStorage"] = sum(f.size for f in repo.files.values())
    return out


def _tree_json(repo: EmuRepo, prefix: str, recursive: bool) -> list[dict[str, Any]]:
    base = prefix.strip("/")
    rows: list[dict[str, Any]] = []
    folders: set[str] = set()
    for f in sorted(repo.files.values(), key=lambda x: x.path):
        if base and not f.path.startswith(base + "/"):
            continue
        rest = f.path[len(base) + 1 :] if base else f.path
        if "/" in rest and not recursive:
            folders.add((base + "/" if base else "") + rest.split("/")[0])
            continue
        if recursive:
            parts = rest.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                folders.add((base + "/" if base else "") + "/".join(parts[:i]))
        row: dict[str, Any] = {"type": "file", "oid": f.git_oid, "size": f.size, "path": f.path}
        if f.lfs:
            row["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": 134}
        rows.append(row)
    dirs = [
        {"type": "directory", "oid": hashlib.sha1(d.encode()).hexdigest(), "size": 0, "path": d}
        for d in sorted(folders)
    ]
    return dirs + rows


_SORT_KEYS = {
    "downloads": lambda r: r.downloads,
    "likes": lambda r: r.likes,
    "lastModified": lambda r: r.last_modified,
    "createdAt": lambda r: r.last_modified,
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _make_handler(hub: HubEmulator, host: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "HubEmulator/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            with hub._lock:
                hub._conns.add(self.connection)

        def finish(self) -> None:
            try:
                super().finish()
            except OSError:
                pass
            with hub._lock:
                hub._conns.discard(self.connection)

        # -- plumbing ----------------------------------------------------------------
        def _record(self, status: int) -> None:
            hub.record(RequestRecord(host, self.command, self.path, self._hdrs(), status))

        def _send(
            self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
        ) -> None:
            self._record(status)
            self.send_response(status)
            hdrs = {"Content-Length": str(len(body)), **(headers or {})}
            for k, v in hdrs.items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD" and body:
                self.wfile.write(body)

        def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            body = json.dumps(payload).encode()
            self._send(status, body, {"Content-Type": "application/json", **(headers or {})})

        def _error(self, status: int, code: str, message: str) -> None:
            self._json(
                status, {"error": message}, {"X-Error-Code": code, "X-Error-Message": message}
            )

        def _hdrs(self) -> dict[str, str]:
            return {k.lower(): v for k, v in self.headers.items()}

        def do_HEAD(self) -> None:
            self._route()

        def do_GET(self) -> None:
            self._route()

        def _route(self) -> None:
            try:
                if host == "api":
                    self._api()
                else:
                    self._cdn()
            except (BrokenPipeError, ConnectionResetError):
                pass

        # -- API host ----------------------------------------------------------------
        def _repo_or_error(self, repo_id: str) -> EmuRepo | None:
            repo = hub.repos.get(repo_id)
            if repo is None:
                self._error(404, "RepoNotFound", "Repository not found")
                return None
            return repo

        def _api(self) -> None:
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            query = parse_qs(parts.query)
            if path == "/api/models":
                return self._search(query)
            m = re.match(r"^/api/models/([^/]+/[^/]+?)(?:/revision/([^/]+))?$", path)
            if m:
                repo = self._repo_or_error(m.group(1))
                if repo is None:
                    return None
                if repo.gated and not hub.authorized(self._hdrs()):
                    return self._error(401, "GatedRepo", "Access to this model is restricted")
                blobs = query.get("blobs", ["false"])[0].lower() == "true"
                return self._json(200, _model_json(repo, blobs=blobs, siblings=True))
            m = re.match(r"^/api/models/([^/]+/[^/]+)/tree/([^/]+)(/.*)?$", path)
            if m:
                repo = self._repo_or_error(m.group(1))
                if repo is None:
                    return None
                recursive = query.get("recursive", ["false"])[0].lower() == "true"
                return self._json(200, _tree_json(repo, m.group(3) or "", recursive))
            m = re.match(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
            if m:
                return self._resolve(m.group(1), m.group(2), m.group(3))
            return self._error(404, "EntryNotFound", "Not found")

        def _search(self, query: dict[str, list[str]]) -> None:
            repos = list(hub.repos.values())
            search = query.get("search", [""])[0].lower()
            if search:
                repos = [r for r in repos if search in r.repo_id.lower()]
            for wanted in query.get("filter", []):
                repos = [r for r in repos if wanted in r.tags]
            author = query.get("author", [""])[0]
            if author:
                repos = [r for r in repos if r.repo_id.split("/")[0] == author]
            sort = query.get("sort", [""])[0]
            if sort in _SORT_KEYS:
                repos.sort(key=_SORT_KEYS[sort], reverse=True)  # type: ignore[arg-type]
            limit = int(query.get("limit", [str(hub.page_size)])[0])
            page = min(limit, hub.page_size) if limit else hub.page_size
            start = int(query.get("cursor", ["0"])[0])
            items = repos[start : start + page]
            headers: dict[str, str] = {}
            if start + page < len(repos):
                rest = {k: v for k, v in query.items() if k != "cursor"}
                qs = "&".join(f"{k}={quote(x)}" for k, vs in rest.items() for x in vs)
                nxt = f"{hub.endpoint}/api/models?{qs}&cursor={start + page}"
                headers["Link"] = f'<{nxt}>; rel="next"'
            full = "full" in query
            self._json(200, [_model_json(r, blobs=False, siblings=full) for r in items], headers)

        def _resolve(self, repo_id: str, revision: str, filename: str) -> None:
            repo = self._repo_or_error(repo_id)
            if repo is None:
                return
            if repo.gated and not hub.authorized(self._hdrs()):
                return self._error(401, "GatedRepo", "Access to this model is restricted")
            if revision not in ("main", repo.commit):
                return self._error(404, "RevisionNotFound", "Invalid rev id")
            f = repo.files.get(filename)
            if f is None:
                return self._error(404, "EntryNotFound", "Entry not found")
            common = {"X-Repo-Commit": repo.commit, "Accept-Ranges": "bytes"}
            if f.lfs:
                location = f"{hub.cdn_endpoint}/repos/{quote(repo_id)}/{f.sha256}?sig=emu"
                return self._send(
                    302,
                    b"",
                    {
                        **common,
                        "Location": location,
                        "ETag": f'"{f.git_oid}"',
                        "X-Linked-Etag": f'"{f.sha256}"',
                        "X-Linked-Size": str(f.size),
                    },
                )
            body = f.data or b""
            return self._send(
                200, body, {**common, "ETag": f'"{f.git_oid}"', "Content-Type": "text/plain"}
            )

        # -- CDN host ----------------------------------------------------------------
        def _cdn(self) -> None:
            path = unquote(urlsplit(self.path).path)
            m = re.match(r"^/repos/([^/]+/[^/]+)/([0-9a-f]{64})$", path)
            repo = hub.repos.get(m.group(1)) if m else None
            found = (
                next((f for f in repo.files.values() if f.lfs and f.sha256 == m.group(2)), None)
                if repo and m
                else None
            )
            if repo is None or found is None:
                return self._send(404, b"NoSuchKey", {"Content-Type": "text/plain"})
            fault = hub.take_fault(repo.repo_id, found.path) if self.command == "GET" else None
            size = found.size
            headers = {
                "Accept-Ranges": "bytes",
                "ETag": f'"{found.sha256}"',
                "Content-Type": "application/octet-stream",
                "Content-Disposition": f'attachment; filename="{found.path.split("/")[-1]}"',
            }
            if fault is not None and fault.status is not None:
                extra = {"Content-Range": f"bytes */{size}"} if fault.status == 416 else {}
                return self._send(fault.status, b"", {**headers, **extra})
            start, end = 0, size - 1
            status = 200
            wanted = self.headers.get("Range")
            if wanted and not (fault and fault.ignore_range):
                rm = _RANGE.match(wanted.strip())
                if rm is None:
                    return self._send(400, b"bad range")
                a, b = rm.groups()
                if a == "":
                    start, end = max(0, size - int(b)), size - 1
                else:
                    start = int(a)
                    end = min(int(b), size - 1) if b else size - 1
                if start >= size or start > end:
                    return self._send(416, b"", {**headers, "Content-Range": f"bytes */{size}"})
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            length = end - start + 1
            self._record(status)
            self.send_response(status)
            for k, v in {**headers, "Content-Length": str(length)}.items():
                self.send_header(k, v)
            self.end_headers()
            if self.command == "HEAD":
                return None
            self._stream(found, start, length, fault)
            return None

        def _stream(self, f: EmuFile, start: int, length: int, fault: Fault | None) -> None:
            if fault is None and f.source is not None:
                with open(f.source, "rb") as fh:
                    self.connection.sendfile(fh, offset=start, count=length)
                return
            sent = 0
            began = time.monotonic()
            limit = fault.drop_after if fault and fault.drop_after is not None else None
            step = CHUNK if not (fault and fault.rate_bps) else max(1024, int(fault.rate_bps / 20))
            while sent < length:
                n = min(step, length - sent)
                if limit is not None:
                    n = min(n, limit - sent)
                    if n <= 0:
                        self.wfile.flush()
                        if fault is not None and fault.reset_after:
                            time.sleep(0.05)  # let the bytes arrive first, then RST
                            linger = struct.pack("ii", 1, 0)
                            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                            self.connection.close()
                            self.close_connection = True
                            return
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                chunk = f.read(start + sent, n)
                if fault and fault.flip_byte_at is not None:
                    pos = fault.flip_byte_at - (start + sent)
                    if 0 <= pos < len(chunk):
                        chunk = chunk[:pos] + bytes([chunk[pos] ^ 0xFF]) + chunk[pos + 1 :]
                self.wfile.write(chunk)
                sent += len(chunk)
                if fault and fault.rate_bps:
                    due = began + sent / fault.rate_bps
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)

    return Handler


def serve_forever(port_file: Path | None = None) -> None:  # pragma: no cover - manual use
    """Run an emulator from the command line (for manual testing of the app)."""
    hub = HubEmulator().start()
    print(hub.endpoint, flush=True)
    if port_file:
        port_file.write_text(hub.endpoint)
    try:
        while True:
            time.sleep(3600)
    finally:
        hub.stop()


if __name__ == "__main__":  # pragma: no cover
    serve_forever(Path(os.environ["PORT_FILE"]) if "PORT_FILE" in os.environ else None)


# ----------------------------------------------------------------------- pytest fixtures
# Imported by the conftest files of the hub/download tests.
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def gguf_small(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real GGUF of ~0.7 MB (a tiny llama with a chat template)."""
    from tests.helpers.gguf_factory import write_tiny_llama

    path = tmp_path_factory.mktemp("gguf") / "small.gguf"
    return write_tiny_llama(path, chat_template="{{ messages }}").read_bytes()


@pytest.fixture(scope="session")
def gguf_medium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real GGUF of ~5 MB on disk, for transfers long enough to pause and kill."""
    from tests.helpers.gguf_factory import write_tiny_llama

    path = tmp_path_factory.mktemp("gguf") / "medium.gguf"
    return write_tiny_llama(path, n_layers=3, n_embd=160, n_head=4, n_head_kv=2, seed=3)


@pytest.fixture
def hub() -> Any:
    """A running emulator, stopped after the test."""
    with HubEmulator() as emulator:
        yield emulator
