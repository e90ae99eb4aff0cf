"""One self-contained HTML page: the skeleton every card (and the run report) is poured into.

A card is opened from a file, offline, possibly years later: everything it
needs — styles, scripts, images — is inside the one file, and nothing is
fetched from a network. This module owns the parts every such page shares:
the document skeleton, the stylesheet, escaping of text, and inlining a
script so that its text cannot end the ``<script>`` element early.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

__all__ = ["page", "escape", "inline_script", "STYLE"]

STYLE = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; --accent: #0969da;
        --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg);
       background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; word-break: break-all; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.subtitle { color: var(--muted); margin: 0 0 16px; }
.component { margin: 12px 0; }
table { border-collapse: collapse; margin: 4px 0; max-width: 100%; }
th, td { border: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
table.vertical th { width: 1%; white-space: nowrap; }
.table-wrap { overflow-x: auto; }
pre, code { font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px;
      overflow: auto; max-height: 480px; margin: 6px 0; white-space: pre-wrap; word-break: break-word; }
code { background: var(--soft); padding: 1px 4px; border-radius: 4px; }
pre code { background: none; padding: 0; }
img { max-width: 100%; height: auto; }
figure { margin: 8px 0; display: inline-block; }
figcaption { color: var(--muted); font-size: 12.5px; }
blockquote { margin: 6px 0; padding: 0 12px; color: var(--muted); border-left: 3px solid var(--line); }
.muted { color: var(--muted); }
.error { border: 1px solid var(--bad); border-left-width: 4px; border-radius: 6px; padding: 8px 12px;
         background: #ffebe9; }
.error > strong { color: var(--bad); }
.warning { border: 1px solid var(--warn); border-left-width: 4px; border-radius: 6px; padding: 8px 12px;
           background: #fff8c5; }
.progress { display: flex; align-items: center; gap: 10px; }
.progress progress { width: 320px; height: 14px; }
.valuebox { display: inline-block; min-width: 180px; border: 1px solid var(--line); border-radius: 8px;
            padding: 10px 16px; background: var(--soft); }
.valuebox .title { color: var(--muted); font-size: 12.5px; }
.valuebox .value { font-size: 26px; font-weight: 600; }
.valuebox.success { border-color: var(--ok); } .valuebox.warning { border-color: var(--warn); }
.valuebox.danger { border-color: var(--bad); }
.artifacts td:first-child { font-weight: 600; white-space: nowrap; }
.artifacts code { white-space: pre-wrap; display: inline-block; max-height: 160px; overflow: auto; }
.timeline li { margin: 4px 0; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; background: var(--soft);
         border: 1px solid var(--line); }
details > summary { cursor: pointer; color: var(--accent); }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
"""


def escape(text: object) -> str:
    """Any value as text that is safe inside an element or a quoted attribute."""
    return html.escape(str(text), quote=True)


def inline_script(source: str) -> str:
    """A ``<script>`` element holding ``source``; ``</script`` and ``<!--`` inside it are split so that the
    HTML parser cannot see the element end early (the code is unchanged for the JavaScript engine)."""
    safe = source.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT").replace("<!--", "<\\!--")
    return f"<script>{safe}</script>"


def page(title: str, body_html: str, *, scripts: Iterable[str] = (), style: str = "") -> str:
    """A complete HTML document: ``title`` escaped, ``body_html`` as given (already safe HTML), each script in
    ``scripts`` inlined before the body (so the body's own scripts can use them), ``style`` added to ours."""
    head_scripts = "\n".join(inline_script(s) for s in scripts)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f"<style>{STYLE}{style}</style>\n"
        f"{head_scripts}\n"
        f"</head>\n<body>\n<main>\n{body_html}\n</main>\n</body>\n</html>\n"
    )
