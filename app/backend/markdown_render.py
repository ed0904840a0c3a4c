"""Markdown to the HTML subset Qt's rich text understands, with highlighted code.

cmark-gfm (GitHub's C parser, through ``cmarkgfm``) parses: CommonMark plus tables,
strikethrough and autolinks, about 100x faster than a pure-Python parser (measured: 25 kB in
2 ms against ~200 ms), which is what lets a whole chat render on the UI thread. Raw HTML in a
reply is dropped, never interpreted. Code blocks are highlighted by Pygments with inline
styles and get a header with their language and a ``hearth-copy:N`` link the view turns into
a copy action. Qt's HTML has no CSS boxes to speak of: code blocks are drawn as one-cell
tables, which it renders reliably.
"""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache

import cmarkgfm
from cmarkgfm.cmark import Options
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

COPY_SCHEME = "hearth-copy"
_PRE = re.compile(r'<pre(?: lang="([^"]*)")?><code>(.*?)</code></pre>', re.DOTALL)


@dataclass(frozen=True)
class MarkdownStyle:
    """The colours a rendering needs (the UI passes its theme's)."""

    dark: bool = False
    text: str = "#1d2330"
    muted: str = "#6b7280"
    code_bg: str = "#f3f4f6"
    border: str = "#d5d9e0"
    link: str = "#3b6cf6"


@dataclass
class Rendered:
    html: str
    #: Source of each code block, by the N in its ``hearth-copy:N`` link.
    code_blocks: list[str] = field(default_factory=list)


@lru_cache(maxsize=64)
def _lexer(language: str) -> Lexer:
    try:
        return get_lexer_by_name(language or "text", stripnl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False)


@lru_cache(maxsize=2)
def _formatter(dark: bool) -> HtmlFormatter[str]:
    return HtmlFormatter(nowrap=True, noclasses=True, style="monokai" if dark else "friendly")


@lru_cache(maxsize=512)
def highlight_code(code: str, language: str, dark: bool) -> str:
    """``code`` as inline-styled HTML spans (no wrapper); cached, as streaming re-renders."""
    return highlight(code, _lexer(language.strip().lower()), _formatter(dark))


def _code_block(code: str, language: str, index: int, style: MarkdownStyle) -> str:
    body = highlight_code(code.rstrip("\n"), language, style.dark)
    label = html.escape(language or "code")
    return (
        f'<table width="100%" cellspacing="0" cellpadding="8" border="0"'
        f' bgcolor="{style.code_bg}" style="margin-top:6px; margin-bottom:6px">'
        f'<tr><td><span style="color:{style.muted}; font-size:small">{label}</span>'
        f' &nbsp; <a href="{COPY_SCHEME}:{index}" style="color:{style.link};'
        f' font-size:small; text-decoration:none">Copy</a></td></tr>'
        f'<tr><td><pre style="font-family:monospace; margin:0">{body}</pre></td></tr></table>'
    )


#: cmark-gfm registers its extensions in a global list on first use, without a lock, and cffi
#: drops the GIL around the call: the UI thread and the warm-up thread must not parse at once.
_CMARK_LOCK = threading.Lock()


def render_markdown(
    text: str, style: MarkdownStyle | None = None, first_code_index: int = 0
) -> Rendered:
    """Render a message; never raises on odd input (it is text from a model).

    ``first_code_index`` numbers the copy links when a message is rendered in pieces."""
    style = style or MarkdownStyle()
    with _CMARK_LOCK:
        body = cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_HARDBREAKS)
    blocks: list[str] = []

    def code(match: re.Match[str]) -> str:
        source = html.unescape(match.group(2))
        blocks.append(source)
        index = first_code_index + len(blocks) - 1
        return _code_block(source, html.unescape(match.group(1) or ""), index, style)

    body = _PRE.sub(code, body)
    body = body.replace(
        "<table>",
        f'<table border="1" cellspacing="0" cellpadding="5" style="border-color:{style.border};'
        ' border-collapse:collapse; margin-top:6px; margin-bottom:6px">',
    )
    body = body.replace("<code>", f'<code style="background-color:{style.code_bg}">')
    return Rendered(body, blocks)


def stable_prefix_length(text: str, start: int = 0) -> int:
    """Where the finished blocks of a streaming message end (``start`` if none yet).

    A block is finished once a blank line follows it outside a code fence; everything before
    that point renders the same however the message continues (near enough: a loose list may
    join up, which the final render corrects). ``start`` must be an earlier answer of this
    function (outside any fence): only the text after it is scanned, so a streaming reply
    costs the same per check at 50 kB as at 1 kB."""
    in_fence = False
    fence = ""
    stable = start
    pos = start
    for line in text[start:].splitlines(keepends=True):
        stripped = line.lstrip()
        if not in_fence and (stripped.startswith("```") or stripped.startswith("~~~")):
            in_fence, fence = True, stripped[:3]
        elif in_fence and stripped.startswith(fence):
            in_fence = False
            if line.endswith("\n"):
                stable = pos + len(line)
        elif not in_fence and not stripped.strip() and line.endswith("\n"):
            stable = pos + len(line)
        pos += len(line)
    return stable


#: Fence languages whose lexers are loaded ahead of time (the first use of each imports it).
WARM_LANGUAGES = ("python", "javascript", "typescript", "bash", "json", "c", "cpp", "rust")


def warm_up(languages: tuple[str, ...] = WARM_LANGUAGES) -> None:
    """Do the first-use work (imports of Pygments lexers, cmark extensions) ahead of time.

    Measured: the first code block of a session took ~90 ms to render, later ones ~1 ms; the
    UI runs this on a background thread at start so a streaming reply never pays it."""
    sample = "| a |\n|---|\n| 1 |\n\n" + "".join(f"```{lang}\nx = 1\n```\n\n" for lang in languages)
    for dark in (False, True):
        render_markdown(sample, MarkdownStyle(dark=dark))


def split_blocks(text: str, size: int) -> list[str]:
    """``text`` cut at block boundaries into parts of about ``size`` characters.

    Cuts only where ``stable_prefix_length`` would (after a blank line outside a code fence,
    or after a closing fence), so each part renders as it would inside the whole; a single
    block longer than ``size`` stays whole. ``"".join(parts) == text``."""
    parts: list[str] = []
    start = 0
    in_fence = False
    fence = ""
    pos = 0
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        pos += len(line)
        boundary = False
        if not in_fence and (stripped.startswith("```") or stripped.startswith("~~~")):
            in_fence, fence = True, stripped[:3]
        elif in_fence and stripped.startswith(fence):
            in_fence = False
            boundary = line.endswith("\n")
        elif not in_fence and not stripped.strip() and line.endswith("\n"):
            boundary = True
        if boundary and pos - start >= size:
            parts.append(text[start:pos])
            start = pos
    if start < len(text) or not parts:
        parts.append(text[start:])
    return parts
