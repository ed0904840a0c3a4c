"""Attachments: what is read, what is refused (and how fast), and which passages are chosen."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.backend.attachments import AttachmentError, read_attachment, select_passages
from app.backend.attachments.retrieval import chunk_text


def test_text_and_code_files_are_read(tmp_path: Path) -> None:
    f = tmp_path / "main.py"
    f.write_text("print('héllo')\n", encoding="utf-8")
    got = read_attachment(f)
    assert got.kind == "text" and "héllo" in got.text and got.name == "main.py"


def test_binary_is_refused_with_a_sentence(tmp_path: Path) -> None:
    f = tmp_path / "image.png"
    f.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 10)
    with pytest.raises(AttachmentError, match="binary"):
        read_attachment(f)


def test_a_200_mb_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    f = tmp_path / "huge.txt"
    with f.open("wb") as handle:  # sparse: 200 MB on paper, nothing on disk
        handle.truncate(200 * 1024 * 1024)
    started = time.perf_counter()
    with pytest.raises(AttachmentError, match="too large"):
        read_attachment(f)
    assert time.perf_counter() - started < 1.0


def test_broken_pdf_and_empty_file(tmp_path: Path) -> None:
    pdf = tmp_path / "broken.pdf"
    pdf.write_bytes(b"%PDF-1.7\n garbage")
    with pytest.raises(AttachmentError, match="PDF"):
        read_attachment(pdf)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(AttachmentError, match="empty"):
        read_attachment(empty)


def test_a_real_pdf_is_read(tmp_path: Path) -> None:
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, StreamObject

    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = StreamObject()
    stream.set_data(b"BT /F1 12 Tf 20 100 Td (Lighthouse keeper notes) Tj ET")
    page[NameObject("/Contents")] = writer._add_object(stream)
    path = tmp_path / "notes.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    got = read_attachment(path)
    assert got.kind == "pdf" and "Lighthouse keeper notes" in got.text


def test_chunks_cover_the_text() -> None:
    text = "\n\n".join(f"Paragraph {i} " + "word " * 50 for i in range(40))
    chunks = chunk_text(text, size=600, overlap=50)
    assert all(len(c) <= 600 for c in chunks)
    assert "Paragraph 0" in chunks[0] and "Paragraph 39" in chunks[-1]


def test_passages_follow_the_embeddings_and_the_budget() -> None:
    files = [("a.txt", "\n\n".join(["cats purr softly " * 60, "rockets need fuel " * 60]))]

    def embed(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] if ("rocket" in t) else [0.0, 1.0] for t in texts]

    chosen = select_passages("tell me about rockets", files, embed, budget_chars=1500)
    assert chosen and all("rockets" in p.text and p.score == 1.0 for p in chosen)
    assert sum(len(p.text) for p in chosen) <= 1500
    assert [p.index for p in chosen] == sorted(p.index for p in chosen)  # document order
