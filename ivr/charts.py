"""Charts for the dashboard, drawn on the server as SVG: no script, no library, nothing fetched.

Two shapes cover every figure: columns over time (calls per hour or day, stacked by
language) and horizontal bars (choices, nodes, desks), each bar split into its parts.
Every bar carries a `<title>`, so the pointer (or a long press) shows its number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
WIDTH = 760


def _legend(series: Sequence[str], y: float) -> str:
    out, x = [], 8.0
    for i, name in enumerate(series):
        out.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
                   f'<text x="{x + 14}" y="{y + 9}" font-size="11">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    return "".join(out)


def _svg(height: float, body: str, label: str) -> str:
    return (f'<svg class="chart" role="img" aria-label="{escape(label)}" viewBox="0 0 {WIDTH} {height:.0f}" '
            f'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif">{body}</svg>')


def columns(label: str, buckets: Sequence[str], series: Mapping[str, Sequence[float]],
            ticks: Sequence[str] | None = None) -> str:
    """Stacked columns, one per bucket (e.g. an hour), each split by series (e.g. language); `ticks`,
    the text under each column (blank: none), default the buckets themselves."""
    names = list(series)
    totals = [sum(series[s][i] for s in names) for i in range(len(buckets))]
    top = max(totals, default=0) or 1
    left, plot_h, base = 44, 200, 230
    step = (WIDTH - left - 8) / max(len(buckets), 1)
    parts = [f'<line x1="{left}" y1="{base}" x2="{WIDTH - 8}" y2="{base}" stroke="#999"/>',
             f'<text x="{left - 4}" y="{base - plot_h + 4}" font-size="11" text-anchor="end">{top:,.0f}</text>',
             f'<text x="{left - 4}" y="{base}" font-size="11" text-anchor="end">0</text>']
    under = list(ticks) if ticks is not None else list(buckets)
    for i, bucket in enumerate(buckets):
        y = float(base)
        for j, name in enumerate(names):
            value = series[name][i]
            if not value:
                continue
            h = plot_h * value / top
            y -= h
            parts.append(f'<rect class="bar" x="{left + i * step + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" '
                         f'height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(bucket)} {escape(name)}: '
                         f'{value:,.0f}</title></rect>')
        if under[i]:
            parts.append(f'<text x="{left + i * step + step / 2:.1f}" y="{base + 14}" font-size="10" '
                         f'text-anchor="middle">{escape(under[i])}</text>')
    parts.append(_legend(names, base + 24))
    return _svg(base + 40, "".join(parts), label)


def bars(label: str, rows: Sequence[str], series: Mapping[str, Sequence[float]]) -> str:
    """Horizontal bars, one per row (a key, a node, a desk), each split by series."""
    names = list(series)
    totals = [sum(series[s][i] for s in names) for i in range(len(rows))]
    top = max(totals, default=0) or 1
    left, right, h = 190, 70, 20
    parts = []
    for i, row in enumerate(rows):
        y = 6 + i * (h + 6)
        parts.append(f'<text x="{left - 6}" y="{y + 14}" font-size="12" text-anchor="end">{escape(row[:28])}</text>')
        x = float(left)
        for j, name in enumerate(names):
            value = series[name][i]
            if not value:
                continue
            w = (WIDTH - left - right) * value / top
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{h}" '
                         f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(row)} {escape(name)}: {value:,.0f}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 14}" font-size="11">{totals[i]:,.0f}</text>')
    end = 6 + len(rows) * (h + 6)
    if len(names) > 1:
        parts.append(_legend(names, end + 4))
        end += 20
    return _svg(end + 4, "".join(parts), label)
