"""Markdown to HTML for the ``Markdown`` card component, small and safe.

Cards show text that steps compute (names, metrics, messages from data), so
the renderer must never pass markup through: raw HTML in the text is shown as
text, and a link or an image may only point to http(s), mailto, a relative
path or (images only) a ``data:image/`` URI — never ``javascript:``. It covers
what card text uses: ATX headings, paragraphs, emphasis, inline code, fenced
and indented code, bullet and numbered lists, block quotes, rules, links,
images and pipe tables. Nested lists and reference-style links are not
Markdown this renderer knows; their text is shown as written.
"""

from __future__ import annotations

import re
import textwrap

from flowship.cards.page import escape

__all__ = ["markdown_to_html"]

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^(```|~~~)\s*([\w+-]*)\s*$")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s{0,3}(\d{1,9})[.)]\s+(.*)$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_TABLE_DIVIDER = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_SAFE_LINK = re.compile(r"^(https?:|mailto:|#|/|\.{0,2}/|[\w.-]+(/|$))", re.IGNORECASE)
_SAFE_IMAGE = re.compile(r"^(https?:|data:image/(png|jpeg|gif|webp|svg\+xml);|\.{0,2}/|[\w.-]+(/|$))", re.IGNORECASE)
_INLINE = re.compile(
    r"(?P<code>`+)(?P<code_text>.+?)(?P=code)"
    r"|!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)\)"
    r"|\[(?P<text>[^\]]+)\]\((?P<href>[^)\s]+)\)"
    r"|(?P<strong>\*\*|__)(?P<strong_text>.+?)(?P=strong)"
    r"|(?P<em>\*|_)(?P<em_text>[^\s*_](?:.*?[^\s])?)(?P=em)(?![\w])"
    r"|(?P<auto>https?://[^\s<>()]+[^\s<>().,;:!?'\"])"
)


def _inline(text: str) -> str:
    """One line or paragraph of inline Markdown; everything that is not markup is escaped."""
    out: list[str] = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(escape(text[position : match.start()]))
        position = match.end()
        if match.group("code"):
            out.append(f"<code>{escape(match.group('code_text').strip())}</code>")
        elif match.group("src") is not None:
            src = match.group("src")
            alt = escape(match.group("alt"))
            out.append(f'<img src="{escape(src)}" alt="{alt}">' if _SAFE_IMAGE.match(src) else alt)
        elif match.group("href") is not None:
            href, label = match.group("href"), _inline(match.group("text"))
            out.append(f'<a href="{escape(href)}">{label}</a>' if _SAFE_LINK.match(href) else label)
        elif match.group("strong"):
            out.append(f"<strong>{_inline(match.group('strong_text'))}</strong>")
        elif match.group("em"):
            out.append(f"<em>{_inline(match.group('em_text'))}</em>")
        else:
            url = match.group("auto")
            out.append(f'<a href="{escape(url)}">{escape(url)}</a>')
    out.append(escape(text[position:]))
    return "".join(out).replace("  \n", "<br>\n")


def _cells(row: str) -> list[str]:
    row = row.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", row)]


def _table(lines: list[str]) -> str:
    head = "".join(f"<th>{_inline(c)}</th>" for c in _cells(lines[0]))
    body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in _cells(r)) + "</tr>" for r in lines[2:])
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _starts_block(line: str, following: str) -> bool:
    """Whether ``line`` begins something other than a paragraph (so a paragraph ends before it)."""
    return bool(
        _HEADING.match(line)
        or _FENCE.match(line.strip())
        or _BULLET.match(line)
        or _NUMBERED.match(line)
        or _RULE.match(line)
        or line.lstrip().startswith(">")
        or ("|" in line and _TABLE_DIVIDER.match(following) and "-" in following)
    )


def markdown_to_html(text: str) -> str:
    """``text`` (dedented first, as Metaflow's component does) as HTML blocks."""
    lines = textwrap.dedent(text or "").strip("\n").splitlines()
    blocks: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        following = lines[i + 1] if i + 1 < len(lines) else ""
        fence = _FENCE.match(line.strip())
        if not line.strip():
            i += 1
        elif fence:
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith(fence.group(1))), len(lines))
            language = f' class="language-{escape(fence.group(2))}"' if fence.group(2) else ""
            blocks.append(f"<pre><code{language}>{escape(chr(10).join(lines[i + 1 : end]))}</code></pre>")
            i = end + 1
        elif line.startswith(("    ", "\t")):
            end = i
            while end < len(lines) and (lines[end].startswith(("    ", "\t")) or not lines[end].strip()):
                end += 1
            code = textwrap.dedent("\n".join(lines[i:end])).strip("\n")
            blocks.append(f"<pre><code>{escape(code)}</code></pre>")
            i = end
        elif heading := _HEADING.match(line):
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            i += 1
        elif _RULE.match(line):
            blocks.append("<hr>")
            i += 1
        elif "|" in line and _TABLE_DIVIDER.match(following) and "-" in following:
            end = i + 2
            while end < len(lines) and "|" in lines[end] and lines[end].strip():
                end += 1
            blocks.append(_table(lines[i:end]))
            i = end
        elif line.lstrip().startswith(">"):
            end = i
            while end < len(lines) and lines[end].lstrip().startswith(">"):
                end += 1
            quoted = "\n".join(re.sub(r"^\s*> ?", "", q) for q in lines[i:end])
            blocks.append(f"<blockquote>{markdown_to_html(quoted)}</blockquote>")
            i = end
        elif _BULLET.match(line) or _NUMBERED.match(line):
            ordered = _NUMBERED.match(line)
            pattern = _NUMBERED if ordered else _BULLET
            items: list[str] = []
            while i < len(lines) and lines[i].strip():
                item = pattern.match(lines[i])
                if item:
                    items.append(item.group(item.lastindex or 1))
                elif items:  # a continuation line belongs to the item above
                    items[-1] += "\n" + lines[i].strip()
                i += 1
            tag = "ol" if ordered else "ul"
            start = f' start="{int(ordered.group(1))}"' if ordered and int(ordered.group(1)) != 1 else ""
            blocks.append(f"<{tag}{start}>" + "".join(f"<li>{_inline(x)}</li>" for x in items) + f"</{tag}>")
        else:
            end = i + 1
            while end < len(lines) and lines[end].strip():
                if _starts_block(lines[end], lines[end + 1] if end + 1 < len(lines) else ""):
                    break
                end += 1
            blocks.append(f"<p>{_inline(chr(10).join(lines[i:end]))}</p>")
            i = end
    return "\n".join(blocks)
