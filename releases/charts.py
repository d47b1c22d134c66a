"""Small charts drawn on the server as inline SVG: no JavaScript, no chart library.

``bar_chart`` and ``line_chart`` take categories (the x axis) and one or more series of
numbers, and return a ``Chart``: the SVG (``role="img"`` with an ``aria-label``, a
``<title>``, axis labels, and a ``<title>`` tooltip on every bar or point) and the same
figures as an HTML table for screen readers and for copying. Every piece of text is
escaped here, so callers pass plain strings (department names, kinds) as they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 880
HEIGHT = 300
# Colour-blind-safe palette (Okabe–Ito, darkened to pass contrast on white); lines also
# differ by dash pattern so that the series stay apart in greyscale.
COLOURS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#8a6d00", "#56b4e9", "#5d6575"]
DASHES = ["", "6 3", "2 3", "8 3 2 3", "1 2", "10 4"]
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 30, 46
LEGEND_ROW = 18
CHAR_W = 7  # the width of a character of the 12px labels, near enough, for the layout


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per category; None means no data (no bar/point)


@dataclass(frozen=True)
class Chart:
    svg: SafeString
    table: SafeString

    def __html__(self) -> str:
        return self.svg + self.table

    def __str__(self) -> str:
        return self.__html__()


def bar_chart(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    notes: Sequence[str] = (),
    width: int = WIDTH,
    height: int = HEIGHT,
    value_format: Callable[[float | None], str] | None = None,
) -> Chart:
    """Grouped bars: one group per category, one bar per series. ``value_format`` writes a
    value for people in the tooltips and the table (the axis keeps plain numbers)."""
    return _chart(
        "bar", title, categories, series, x_label, y_label, notes, width, height, value_format
    )


def line_chart(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    notes: Sequence[str] = (),
    width: int = WIDTH,
    height: int = HEIGHT,
    value_format: Callable[[float | None], str] | None = None,
) -> Chart:
    """One line per series, with a marker (and tooltip) on every point."""
    return _chart(
        "line", title, categories, series, x_label, y_label, notes, width, height, value_format
    )


def format_value(value: float | None) -> str:
    if value is None:
        return "no data"
    if float(value).is_integer():
        return str(int(value))
    if abs(value) >= 1:
        return f"{value:.1f}"
    # Below one (a review decided within hours): two significant digits, no exponent.
    decimals = min(6, 1 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def _ticks(top: float, *, whole: bool = False) -> list[float]:
    """Round numbers from 0 to at least ``top``: about five steps of 1, 2 or 5 × 10ⁿ;
    ``whole`` (counts) never steps by less than one."""
    if top <= 0:
        return [0, 1]
    raw = top / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if whole:
        step = max(step, 1)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _n(value: float) -> str:
    """A coordinate: short, with no exponent."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _legend_rows(names: list[str], width: int, left: int) -> list[list[tuple[int, str]]]:
    """The legend's entries as (x, name) per row, wrapped so that none runs past the edge."""
    rows: list[list[tuple[int, str]]] = [[]]
    x = left
    for name in names:
        entry = 24 + CHAR_W * len(name)
        if rows[-1] and x + entry > width - RIGHT:
            rows.append([])
            x = left
        rows[-1].append((x, name))
        x += entry
    return rows


def _chart(
    kind, title, categories, series, x_label, y_label, notes, width, height, value_format=None
) -> Chart:
    shown = value_format or format_value
    categories = [str(c) for c in categories]
    series = [Series(str(s.name), list(s.values)) for s in series]
    for s in series:
        if len(s.values) != len(categories):
            raise ValueError(f"Series {s.name!r} has {len(s.values)} values for "
                             f"{len(categories)} categories.")  # fmt: skip
    values = [v for s in series for v in s.values if v is not None]
    ticks = _ticks(max(values, default=0), whole=all(float(v).is_integer() for v in values))
    y_top = ticks[-1]
    # Room for the longest tick label beside the rotated axis label, so neither is clipped
    # nor overlaps the other.
    left = max(LEFT, 30 + CHAR_W * max(len(format_value(t)) for t in ticks))
    legend = len(series) > 1
    legend_rows = _legend_rows([_short(s.name, 24) for s in series], width, left) if legend else []
    top = TOP + LEGEND_ROW * len(legend_rows)
    plot_w = width - left - RIGHT
    plot_h = height - top - BOTTOM
    bottom = top + plot_h
    band = plot_w / max(len(categories), 1)

    def y(value: float) -> float:
        return bottom - value / y_top * plot_h

    def tip(series_name: str, i: int, value) -> str:
        text = f"{categories[i]}: {shown(value)}"
        if len(series) > 1:
            text = f"{series_name}, {text}"
        if i < len(notes) and notes[i]:
            text += f" ({notes[i]})"
        return escape(text)

    label = f"{'Bar' if kind == 'bar' else 'Line'} chart: {title}. {y_label} by {x_label}."
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" '
        f'aria-label="{escape(label)}" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
        f'<text class="chart-title" x="{left}" y="16" font-weight="600">{escape(title)}</text>',
    ]
    # Grid lines and the y axis labels.
    for tick in ticks:
        ty = _n(y(tick))
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{ty}" y2="{ty}" stroke="#e3e6eb"/>'
            f'<text x="{left - 6}" y="{ty}" text-anchor="end" dominant-baseline="middle">'
            f"{format_value(tick)}</text>"
        )
    parts.append(
        f'<line class="axis" x1="{left}" x2="{left + plot_w}" y1="{bottom}" y2="{bottom}" '
        f'stroke="#5d6575"/>'
        f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{bottom}" stroke="#5d6575"/>'
    )
    # Category labels: every k-th, so that they never overlap.
    every = max(1, math.ceil(len(categories) * 64 / plot_w))
    limit = max(6, int(band * every / 7))
    for i, category in enumerate(categories):
        if i % every == 0:
            cx = _n(left + band * (i + 0.5))
            parts.append(
                f'<text x="{cx}" y="{bottom + 16}" text-anchor="middle">'
                f"{escape(_short(category, limit))}</text>"
            )
    parts.append(
        f'<text class="axis-label" x="{_n(left + plot_w / 2)}" y="{height - 6}" '
        f'text-anchor="middle">{escape(x_label)}</text>'
        f'<text class="axis-label" x="14" y="{_n(top + plot_h / 2)}" text-anchor="middle" '
        f'transform="rotate(-90 14 {_n(top + plot_h / 2)})">{escape(y_label)}</text>'
    )
    k = 0
    for row_number, row in enumerate(legend_rows):
        row_y = TOP + LEGEND_ROW * row_number
        for x, name in row:
            colour = COLOURS[k % len(COLOURS)]
            parts.append(
                f'<rect x="{x}" y="{row_y - 4}" width="10" height="10" fill="{colour}"/>'
                f'<text x="{x + 14}" y="{row_y + 5}">{escape(name)}</text>'
            )
            k += 1
    if not values:
        parts.append(
            f'<text x="{_n(left + plot_w / 2)}" y="{_n(top + plot_h / 2)}" '
            f'text-anchor="middle" fill="#5d6575">No data</text>'
        )
    elif kind == "bar":
        group = band * 0.8
        bar_w = group / len(series)
        for k, s in enumerate(series):
            colour = COLOURS[k % len(COLOURS)]
            for i, value in enumerate(s.values):
                if value is None:
                    continue
                x = left + band * i + (band - group) / 2 + bar_w * k
                parts.append(
                    f'<rect class="bar" x="{_n(x)}" y="{_n(y(value))}" width="{_n(bar_w)}" '
                    f'height="{_n(bottom - y(value))}" fill="{colour}" '
                    f'data-value="{format_value(value)}"><title>{tip(s.name, i, value)}</title>'
                    f"</rect>"
                )
    else:
        for k, s in enumerate(series):
            colour = COLOURS[k % len(COLOURS)]
            dash = DASHES[k % len(DASHES)]
            points = [
                (left + band * (i + 0.5), y(v), i, v) for i, v in enumerate(s.values)
                if v is not None
            ]  # fmt: skip
            path = " ".join(
                f"{'M' if j == 0 or points[j - 1][2] != i - 1 else 'L'}{_n(px)},{_n(py)}"
                for j, (px, py, i, _) in enumerate(points)
            )
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}/>'
            )
            for px, py, i, v in points:
                parts.append(
                    f'<circle class="point" cx="{_n(px)}" cy="{_n(py)}" r="3.5" '
                    f'fill="{colour}" data-value="{format_value(v)}">'
                    f"<title>{tip(s.name, i, v)}</title></circle>"
                )
    parts.append("</svg>")
    svg = mark_safe("".join(parts))  # noqa: S308 -- all text above went through escape()
    return Chart(svg=svg, table=_table(title, categories, series, x_label, notes, shown))


def _table(title, categories, series, x_label, notes, shown=format_value) -> SafeString:
    head = "".join(f'<th scope="col">{escape(s.name)}</th>' for s in series)
    if any(notes):
        head += '<th scope="col">Notes</th>'
    rows = []
    for i, category in enumerate(categories):
        cells = "".join(f"<td>{escape(shown(s.values[i]))}</td>" for s in series)
        if any(notes):
            cells += f"<td>{escape(notes[i] if i < len(notes) else '')}</td>"
        rows.append(f'<tr><th scope="row">{escape(category)}</th>{cells}</tr>')
    return mark_safe(  # noqa: S308 -- every piece of text above went through escape()
        f'<table class="chart-data"><caption>{escape(title)}</caption>'
        f'<thead><tr><th scope="col">{escape(x_label)}</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
