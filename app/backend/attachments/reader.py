"""Reading an attached file's text: text-like files and PDFs, refusing what is not text.

Limits keep the app responsive: files over ``MAX_FILE_BYTES`` are refused before reading
(LM Studio's limit is 30 MB too), and binary files are recognised by NUL bytes or undecodable
content in their first 64 KiB, so nothing is read whole just to be rejected.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 30 * 1024 * 1024
_SNIFF_BYTES = 64 * 1024


class AttachmentError(ValueError):
    """The file cannot be attached; ``str()`` says why in a sentence."""


@dataclass(frozen=True)
class Extracted:
    name: str
    kind: str  # "text" or "pdf"
    size: int
    text: str


def _human(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _decode(data: bytes, name: str) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise AttachmentError(f"“{name}” could not be read as text.") from exc
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise AttachmentError(
            f"“{name}” looks like a binary file. Attach text files (txt, md, code, csv, json)"
            " or PDFs."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1252", errors="replace")
    if text.count("\ufffd") > max(8, len(text) // 100):
        raise AttachmentError(f"“{name}” is not text in an encoding Hearth can read.")
    return text


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise AttachmentError(f"“{path.name}” is password-protected; Hearth cannot read it.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except AttachmentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise AttachmentError(f"“{path.name}” is not a readable PDF ({exc}).") from exc
    text = "\n\n".join(f"[page {i + 1}]\n{p.strip()}" for i, p in enumerate(pages) if p.strip())
    if not text:
        raise AttachmentError(
            f"“{path.name}” has no text to read (it may be scanned images of pages)."
        )
    return text


def read_attachment(path: Path, max_bytes: int = MAX_FILE_BYTES) -> Extracted:
    """The text of ``path``; raises ``AttachmentError`` with a sentence for the user."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AttachmentError(f"“{path.name}” could not be opened: {exc.strerror or exc}.") from exc
    if size > max_bytes:
        raise AttachmentError(
            f"“{path.name}” is too large to attach ({_human(size)}; the limit is"
            f" {_human(max_bytes)})."
        )
    if not path.is_file():
        raise AttachmentError(f"“{path.name}” is not a file.")
    try:
        with path.open("rb") as handle:
            head = handle.read(5)
            if head == b"%PDF-":
                return Extracted(path.name, "pdf", size, _read_pdf(path))
            data = head + handle.read()
    except OSError as exc:
        raise AttachmentError(f"“{path.name}” could not be read: {exc.strerror or exc}.") from exc
    text = _decode(data, path.name)
    if not text.strip():
        raise AttachmentError(f"“{path.name}” is empty.")
    return Extracted(path.name, "text", size, text)
