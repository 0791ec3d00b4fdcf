"""Static SVG charts (no JavaScript, work offline): bars, trend lines and the closure funnel."""
from __future__ import annotations

from html import escape

PALETTE = ["#2f6db5", "#e07b39", "#3a9a5b", "#c0392b", "#8e6bb8", "#7f8c8d"]


def bar_chart(items: list[tuple[str, float]], title: str, width: int = 560, unit: str = "") -> str:
    if not items:
        return f'<svg class="chart" width="{width}" height="40" role="img"><title>{escape(title)}</title>' \
               f'<text x="8" y="24" font-size="13">（无数据）</text></svg>'
    row, left = 26, 150
    top = max(v for _, v in items) or 1
    h = row * len(items) + 10
    parts = [f'<svg class="chart" width="{width}" height="{h}" role="img" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    for i, (label, v) in enumerate(items):
        y = 5 + i * row
        w = (width - left - 60) * v / top
        parts.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end" font-size="13">{escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{PALETTE[0]}"/>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 16}" font-size="12">{v:g}{unit}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(labels: list[str], series: dict[str, list[float | None]], title: str, width: int = 560,
               height: int = 220, percent: bool = False) -> str:
    left, right, top, bottom = 55, 45, 20, 40
    values = [v for s in series.values() for v in s if v is not None]
    parts = [f'<svg class="chart" width="{width}" height="{height}" role="img" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    if not values or not labels:
        parts.append('<text x="8" y="24" font-size="13">（无数据）</text></svg>')
        return "".join(parts)
    lo, hi = min(values), max(values)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    iw, ih = width - left - right, height - top - bottom
    x = (lambda i: left + (iw * i / (len(labels) - 1) if len(labels) > 1 else iw / 2))
    y = (lambda v: top + ih - ih * (v - lo) / (hi - lo))
    fmt = (lambda v: f"{v * 100:.1f}%") if percent else (lambda v: f"{v:g}")
    parts.append(f'<line x1="{left}" y1="{top + ih}" x2="{left + iw}" y2="{top + ih}" stroke="#999"/>')
    for i, lab in enumerate(labels):
        parts.append(f'<text x="{x(i):.1f}" y="{height - 18}" text-anchor="middle" font-size="12">{escape(lab)}</text>')
    for k, (name, vals) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        pts = [(x(i), y(v)) for i, v in enumerate(vals) if v is not None]
        if len(pts) > 1:
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="'
                         + " ".join(f"{a:.1f},{b:.1f}" for a, b in pts) + '"/>')
        for (a, b), v in zip(pts, [v for v in vals if v is not None]):
            parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3.5" fill="{color}"/>')
            parts.append(f'<text x="{a:.1f}" y="{b - 8:.1f}" text-anchor="middle" font-size="11">{fmt(v)}</text>')
        parts.append(f'<text x="{left + 10 + k * 150}" y="{height - 2}" font-size="12" fill="{color}">'
                     f'■ {escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def funnel(stages: list[tuple[str, int]], title: str, width: int = 560) -> str:
    row = 34
    top = max((v for _, v in stages), default=0) or 1
    parts = [f'<svg class="chart" width="{width}" height="{row * len(stages) + 6}" role="img" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, v) in enumerate(stages):
        w = max(2.0, (width - 40) * v / top)
        xo = (width - w) / 2
        parts.append(f'<rect x="{xo:.1f}" y="{i * row + 3}" width="{w:.1f}" height="{row - 6}" '
                     f'fill="{PALETTE[(i + 1) % len(PALETTE)]}" opacity="0.85"/>')
        parts.append(f'<text x="{width / 2}" y="{i * row + 22}" text-anchor="middle" font-size="13" fill="#111">'
                     f'{escape(label)} {v}</text>')
    parts.append("</svg>")
    return "".join(parts)
