"""Choosing the passages of long attachments that answer the question, with embeddings.

Files are cut into overlapping passages; the question and the passages are embedded by the
loaded model (vectors come back normalised, so a dot product is the cosine similarity) and
the best passages are kept until the budget is spent, then put back in document order.
Embedding is slow on a CPU, so very long files are first narrowed by shared words to
``max_embedded`` candidate passages.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

_WORD = re.compile(r"\w{3,}")


@dataclass(frozen=True)
class Passage:
    source: str
    index: int  # position in its file
    text: str
    score: float = 0.0


def chunk_text(text: str, size: int = 1200, overlap: int = 150) -> list[str]:
    """Passages of about ``size`` characters, cut at paragraph or line ends where possible."""
    text = text.strip()
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = max(
                text.rfind("\n\n", start + size // 2, end), text.rfind("\n", start + size // 2, end)
            )
            if cut > start:
                end = cut
        chunks.append(text[start:end].strip())
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)
    return [c for c in chunks if c]


def _lexical_prefilter(query: str, passages: list[Passage], keep: int) -> list[Passage]:
    words = {w.lower() for w in _WORD.findall(query)}
    if not words:
        return passages[:keep]

    def score(p: Passage) -> int:
        counts = Counter(w.lower() for w in _WORD.findall(p.text))
        return sum(counts[w] for w in words)

    return sorted(passages, key=score, reverse=True)[:keep]


def select_passages(
    query: str,
    files: list[tuple[str, str]],
    embed: Callable[[list[str]], list[list[float]]],
    budget_chars: int,
    *,
    max_embedded: int = 256,
    batch: int = 32,
) -> list[Passage]:
    """The most relevant passages of ``files`` ((name, text) pairs) within ``budget_chars``."""
    passages = [
        Passage(name, i, chunk) for name, text in files for i, chunk in enumerate(chunk_text(text))
    ]
    if not passages:
        return []
    if len(passages) > max_embedded:
        passages = _lexical_prefilter(query, passages, max_embedded)
    [query_vector] = embed([query])
    vectors: list[list[float]] = []
    for start in range(0, len(passages), batch):
        vectors.extend(embed([p.text for p in passages[start : start + batch]]))
    scored = [
        Passage(
            p.source, p.index, p.text, sum(a * b for a, b in zip(query_vector, v, strict=False))
        )
        for p, v in zip(passages, vectors, strict=True)
    ]
    chosen: list[Passage] = []
    used = 0
    for passage in sorted(scored, key=lambda p: p.score, reverse=True):
        if used + len(passage.text) > budget_chars:
            continue
        chosen.append(passage)
        used += len(passage.text)
    return sorted(chosen, key=lambda p: (p.source, p.index))
