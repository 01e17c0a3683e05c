"""Server-rendered SVG charts: readable without script, printable, allowed by the CSP."""

from markupsafe import Markup, escape

BAR_HEIGHT = 22
GAP = 6
LABEL_WIDTH = 190
CHART_WIDTH = 520


def bar_chart(title: str, bars: list[tuple[str, int, str]], link_for=None) -> Markup:
    """Horizontal bars: (label, value, css class); `link_for(label)` makes a bar a link to its list."""
    if not bars:
        return Markup(f'<p class="muted">{escape(title)}: nothing to show.</p>')
    biggest = max(value for _label, value, _css in bars) or 1
    height = len(bars) * (BAR_HEIGHT + GAP)
    room = CHART_WIDTH - LABEL_WIDTH - 60
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {CHART_WIDTH} {height}" '
             f'width="100%" preserveAspectRatio="xMinYMin meet"><title>{escape(title)}</title>']
    for index, (label, value, css) in enumerate(bars):
        y = index * (BAR_HEIGHT + GAP)
        width = max(2, round(room * value / biggest)) if value else 0
        bar = (f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end" class="chart-label">{escape(label)}</text>'
               f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{BAR_HEIGHT}" rx="3" class="bar bar-{escape(css)}"/>'
               f'<text x="{LABEL_WIDTH + width + 6}" y="{y + 15}" class="chart-value">{value:,}</text>')
        href = link_for(label) if link_for else None
        parts.append(f'<a href="{escape(href)}">{bar}</a>' if href else bar)
    parts.append("</svg>")
    return Markup("".join(parts))
