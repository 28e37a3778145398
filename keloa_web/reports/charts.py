"""Charts drawn on the server as SVG (no library, no script): bars per day and a weekday-by-hour
heatmap. Each is an image with a text alternative; the page puts its numbers in a table beneath.
Only numbers and our own labels go into the markup, escaped."""
from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 640, 180, 28


def bars(points: list[tuple[str, int]], title: str, color: str = "#5b3cc4") -> Markup:
    """A bar per day; the x axis shows the first and last day, the y axis the highest value."""
    n = max(len(points), 1)
    top = max([v for _, v in points] + [1])
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    step = inner_w / n
    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" class="chart" role="img" aria-label="{escape(title)}">',
             f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>',
             f'<text x="{PAD - 4}" y="{PAD + 4}" class="tick" text-anchor="end">{top}</text>',
             f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" class="tick" text-anchor="end">0</text>']
    for i, (label, value) in enumerate(points):
        h = inner_h * value / top
        x = PAD + i * step + step * 0.15
        parts.append(f'<rect x="{x:.1f}" y="{HEIGHT - PAD - h:.1f}" width="{max(step * 0.7, 1):.1f}" '
                     f'height="{h:.1f}" fill="{color}" data-value="{value}"><title>{escape(label)}: {value}</title></rect>')
    if points:
        parts.append(f'<text x="{PAD}" y="{HEIGHT - 8}" class="tick">{escape(points[0][0])}</text>')
        parts.append(f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" class="tick" text-anchor="end">'
                     f'{escape(points[-1][0])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def heatmap(grid: list[list[int]], days: tuple[str, ...], title: str) -> Markup:
    """7 rows (weekdays) by 24 columns (hours); darker is busier."""
    cell, left, topm = 22, 40, 18
    width, height = left + 24 * cell + 4, topm + 7 * cell + 4
    top = max([v for row in grid for v in row] + [1])
    parts = [f'<svg viewBox="0 0 {width} {height}" class="chart heatmap" role="img" aria-label="{escape(title)}">']
    for h in range(0, 24, 3):
        parts.append(f'<text x="{left + h * cell + cell / 2}" y="12" class="tick" text-anchor="middle">{h:02d}</text>')
    for d, row in enumerate(grid):
        y = topm + d * cell
        parts.append(f'<text x="{left - 6}" y="{y + cell * 0.7}" class="tick" text-anchor="end">{escape(days[d])}</text>')
        for h, value in enumerate(row):
            shade = 0.08 + 0.92 * value / top if value else 0.03
            parts.append(f'<rect x="{left + h * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}" rx="3" '
                         f'fill="#5b3cc4" fill-opacity="{shade:.2f}" data-value="{value}">'
                         f'<title>{escape(days[d])} {h:02d}:00: {value}</title></rect>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line(points: list[tuple[str, int]], title: str, color: str = "#1f8a70") -> Markup:
    """A line through one point per day, each point a dot with its day and value."""
    n = max(len(points) - 1, 1)
    top = max([v for _, v in points] + [1])
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    xy = [(PAD + inner_w * i / n, HEIGHT - PAD - inner_h * v / top) for i, (_, v) in enumerate(points)]
    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" class="chart" role="img" aria-label="{escape(title)}">',
             f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>',
             f'<text x="{PAD - 4}" y="{PAD + 4}" class="tick" text-anchor="end">{top}</text>',
             f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" class="tick" text-anchor="end">0</text>']
    if xy:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for (x, y), (label, value) in zip(xy, points):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}" data-value="{value}">'
                         f'<title>{escape(label)}: {value}</title></circle>')
        parts.append(f'<text x="{PAD}" y="{HEIGHT - 8}" class="tick">{escape(points[0][0])}</text>')
        parts.append(f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" class="tick" text-anchor="end">'
                     f'{escape(points[-1][0])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
