"""Names that come from the Hub or from the user, checked before they touch a path.

A repo listing is remote input: a file called ``../../.bashrc`` or ``C:\\evil.gguf`` must be
refused before any path is built from it, not cleaned up after.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

REPO_PART = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,95})$")
_DRIVE = re.compile(r"^[A-Za-z]:")
_HUB_HOSTS = {"huggingface.co", "www.huggingface.co", "hf.co"}


class UnsafeFilename(ValueError):
    """A remote filename that could escape the folder it is written to."""


class BadRepoReference(ValueError):
    """Text that is neither ``user/repo``, ``user/repo:QUANT`` nor a Hub URL."""


def validate_remote_filename(name: str) -> str:
    """Return ``name`` if it is a safe relative POSIX path; raise ``UnsafeFilename`` if not.

    Rejects empty names, absolute paths, ``..`` and ``.`` segments, backslashes (Windows
    separators, UNC paths), drive letters, NUL and other control characters.
    """
    if not isinstance(name, str) or not name or len(name) > 1024:
        raise UnsafeFilename("The Hub listed a file with an empty or overlong name.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise UnsafeFilename(f"The Hub listed a file name with control characters: {name!r}.")
    if "\\" in name:
        raise UnsafeFilename(f"The Hub listed a file name with a backslash: {name!r}.")
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafeFilename(f"The Hub listed an absolute file path: {name!r}.")
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise UnsafeFilename(f"The Hub listed a file path that leaves its folder: {name!r}.")
    if any(_DRIVE.match(part) or part.endswith((" ", ".")) for part in parts):
        raise UnsafeFilename(f"The Hub listed a file name Windows can't store safely: {name!r}.")
    return name


def validate_repo_id(repo_id: str) -> str:
    """``user/repo`` with Hub-legal characters, or ``BadRepoReference``."""
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(REPO_PART.match(p) for p in parts) or ".." in repo_id:
        raise BadRepoReference(
            f"'{repo_id}' is not a Hugging Face model id; use the form user/repo."
        )
    return repo_id


@dataclass(frozen=True)
class RepoReference:
    """What a user typed or pasted: a repo, and maybe a quantization or one file."""

    repo_id: str
    quant: str | None = None
    filename: str | None = None
    revision: str = "main"


def parse_repo_reference(text: str, endpoint: str | None = None) -> RepoReference:
    """Parse ``user/repo``, ``user/repo:Q4_K_M``, ``hf.co/user/repo:Q4_K_M`` or a Hub URL.

    URLs may point at the repo page or at one file (``/blob/`` or ``/resolve/``); a URL on
    ``endpoint`` (a mirror, or the test emulator) counts as a Hub URL too.
    """
    raw = text.strip()
    if not raw:
        raise BadRepoReference("Type a search, a user/repo name or paste a Hugging Face link.")
    parsed = urlparse(raw if "://" in raw else f"//{raw}" if raw.startswith("hf.co/") else raw)
    host = (parsed.hostname or "").lower()
    hosts = set(_HUB_HOSTS)
    if endpoint:
        hosts.add((urlparse(endpoint).hostname or "").lower())
    if host:
        if host not in hosts:
            raise BadRepoReference(f"'{raw}' is not a Hugging Face link.")
        path = unquote(parsed.path).strip("/")
    else:
        path = raw.strip("/")
    quant: str | None = None
    segments = path.split("/")
    if len(segments) >= 2 and ":" in segments[1] and len(segments) == 2:
        name, _, quant = segments[1].partition(":")
        segments[1] = name
        quant = quant.upper() or None
    if len(segments) < 2:
        raise BadRepoReference(f"'{raw}' is not a Hugging Face model id; use the form user/repo.")
    repo_id = validate_repo_id("/".join(segments[:2]))
    rest = segments[2:]
    if not rest or (rest[0] == "tree" and len(rest) <= 2):
        revision = rest[1] if len(rest) == 2 else "main"
        return RepoReference(repo_id, quant=quant, revision=revision)
    if rest[0] in ("blob", "resolve") and len(rest) >= 3:
        filename = validate_remote_filename("/".join(rest[2:]))
        return RepoReference(repo_id, filename=filename, revision=rest[1])
    raise BadRepoReference(f"'{raw}' is not a link to a model or one of its files.")
