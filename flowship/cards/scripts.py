"""The scripts a card inlines when it draws a Vega-Lite chart, read from the vendored files.

Only a card that contains a ``VegaChart`` carries them (about 830 KB), so
every other card stays small. ``flowshipVega`` is our few lines that hand
each chart's spec, kept in a JSON script element beside it, to vega-embed,
and show an error in place of a chart that cannot be drawn.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["scripts_for", "STATIC"]

STATIC = Path(__file__).resolve().parent / "static"
_EMBED = """
function flowshipVega(id, options) {
  var element = document.getElementById(id);
  var spec = JSON.parse(document.getElementById(id + "-spec").textContent);
  vegaEmbed(element, spec, options).catch(function (error) {
    element.className += " error";
    element.textContent = "The chart cannot be drawn: " + error.message;
  });
}
"""


@cache
def _vendored(name: str) -> str:
    return (STATIC / f"{name}.min.js").read_text(encoding="utf-8")


def scripts_for(needs: set[str]) -> list[str]:
    """The script sources a card needs, in load order, for the names its components asked for."""
    if "vega" not in needs:
        return []
    return [_vendored("vega"), _vendored("vega-lite"), _vendored("vega-embed"), _EMBED]
