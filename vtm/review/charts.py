"""Server-rendered SVG charts for the dashboard: no JavaScript, no CDN, nothing to load.

Every label is escaped (:func:`markupsafe.escape`); colours are SVG presentation attributes, so
the app's Content-Security-Policy (no inline styles) does not block them.

Usage::

    svg = bar_chart([("2026-11-23", 4), ("2026-11-24", 7)], title="Sessions per day")
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

__all__ = ["bar_chart", "grouped_bar_chart", "line_chart"]

_W, _H = 640, 240
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 48, 16, 28, 48
_PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#c53030", "#805ad5", "#718096")


def _frame(title: str, body: list[str], max_value: float, unit: str) -> Markup:
    plot_h = _H - _PAD_T - _PAD_B
    grid = []
    for i in range(5):
        value = max_value * i / 4
        y = _PAD_T + plot_h - plot_h * i / 4
        grid.append(f'<line x1="{_PAD_L}" y1="{y:.1f}" x2="{_W - _PAD_R}" y2="{y:.1f}" stroke="#e2e8f0"/>')
        grid.append(
            f'<text x="{_PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#4a5568">'
            f"{_tick(value)}{escape(unit)}</text>"
        )
    # Every interpolated label went through escape(); the rest are numbers and constants.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" role="img" class="chart" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<text x="{_PAD_L}" y="18" font-size="14" font-weight="bold" fill="#1a202c">{escape(title)}</text>'
        + "".join(grid)
        + "".join(body)
        + "</svg>"
    )


def _tick(value: float) -> str:
    """Compact axis label: ``750``, ``1.5k``, ``20k``."""
    return f"{value / 1000:g}k" if value >= 1000 else f"{value:.0f}"


def _nice_max(values: Sequence[float]) -> float:
    top = max([v for v in values if v is not None] + [1.0])
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if top <= step * 4:
            return float(step * 4)
    return float(top)


def _x_label(x: float, label: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{_H - _PAD_B + 16}" text-anchor="middle" font-size="10" fill="#4a5568">'
        f"{escape(label)}</text>"
    )


def bar_chart(
    points: Sequence[tuple[str, float]], *, title: str, unit: str = "", max_value: float | None = None
) -> Markup:
    """One bar per (label, value)."""
    return grouped_bar_chart(
        [label for label, _ in points],
        [("", [v for _, v in points])],
        title=title,
        unit=unit,
        max_value=max_value,
    )


def grouped_bar_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    unit: str = "",
    max_value: float | None = None,
) -> Markup:
    """Bars grouped by label, one colour per series (a legend names the series)."""
    top = max_value or _nice_max([v for _, values in series for v in values])
    plot_w, plot_h = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B
    slot = plot_w / max(1, len(labels))
    bar_w = slot * 0.8 / max(1, len(series))
    body: list[str] = []
    for i, label in enumerate(labels):
        x0 = _PAD_L + i * slot + slot * 0.1
        for j, (name, values) in enumerate(series):
            value = values[i]
            h = plot_h * min(value, top) / top
            x = x0 + j * bar_w
            body.append(
                f'<rect x="{x:.1f}" y="{_PAD_T + plot_h - h:.1f}" width="{bar_w * 0.9:.1f}" '
                f'height="{h:.1f}" fill="{_PALETTE[j % len(_PALETTE)]}">'
                f"<title>{escape(label)} {escape(name)}: {value:g}{escape(unit)}</title></rect>"
            )
        body.append(_x_label(x0 + slot * 0.4, label))
    body.extend(_legend([name for name, _ in series if name]))
    return _frame(title, body, top, unit)


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    unit: str = "",
    max_value: float | None = None,
) -> Markup:
    """One polyline per series over the labels; ``None`` values leave a gap."""
    top = max_value or _nice_max([v for _, values in series for v in values if v is not None])
    plot_w, plot_h = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B
    step = plot_w / max(1, len(labels))
    body: list[str] = []
    for j, (name, values) in enumerate(series):
        colour = _PALETTE[j % len(_PALETTE)]
        points = []
        for i, value in enumerate(values):
            if value is None:
                continue
            x, y = _PAD_L + step * (i + 0.5), _PAD_T + plot_h - plot_h * min(value, top) / top
            points.append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(labels[i])} {escape(name)}: {value:.1f}{escape(unit)}</title></circle>"
            )
        if len(points) > 1:
            body.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="2"/>')
    body.extend(_x_label(_PAD_L + step * (i + 0.5), label) for i, label in enumerate(labels))
    body.extend(_legend([name for name, _ in series if name]))
    return _frame(title, body, top, unit)


def _legend(names: Sequence[str]) -> list[str]:
    out = []
    for j, name in enumerate(names):
        x = _PAD_L + j * 130
        out.append(
            f'<rect x="{x}" y="{_H - 18}" width="10" height="10" fill="{_PALETTE[j % len(_PALETTE)]}"/>'
            f'<text x="{x + 14}" y="{_H - 9}" font-size="11" fill="#1a202c">{escape(name)}</text>'
        )
    return out
