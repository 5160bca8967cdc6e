"""The reports page's charts: their data (from the hourly counters and the summary) and SVG drawn on the
server, so the page needs no chart library and no script; each chart has a table beside it.

- volume per day per channel (messages in + out);
- hour-of-week heatmap of customers' messages (when demand arrives, in the report's zone);
- distribution of first-response times (buckets);
- SMS cost per day.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.db.tables import report_activity
from atende.reports.filters import Filters
from atende.reports.period import Period

# First-response buckets: upper bounds in seconds (the last is open).
RESPONSE_BUCKETS = (60, 5 * 60, 15 * 60, 30 * 60, 60 * 60, 4 * 3600, 24 * 3600)
WEEKDAYS = 7
HOURS = 24


@dataclass
class ChartData:
    days: list[date]
    volume: dict[str, list[int]] = field(default_factory=dict)  # channel → messages per day
    cost: list[Decimal] = field(default_factory=list)  # SMS cost per day
    heatmap: list[list[int]] = field(default_factory=list)  # [weekday Monday=0][local hour] customers' messages
    responses: list[int] = field(default_factory=list)  # first responses per bucket


def bucket_of(seconds: int) -> int:
    for i, bound in enumerate(RESPONSE_BUCKETS):
        if seconds <= bound:
            return i
    return len(RESPONSE_BUCKETS)


async def chart_data(conn: AsyncConnection, period: Period, flt: Filters, first_responses: Sequence[int]
                     ) -> ChartData:
    days = period.days()
    index = {d: i for i, d in enumerate(days)}
    data = ChartData(days=days, cost=[Decimal(0)] * len(days),
                     heatmap=[[0] * HOURS for _ in range(WEEKDAYS)], responses=[0] * (len(RESPONSE_BUCKETS) + 1))
    t = report_activity
    rows = await conn.execute(
        select(t.c.hour, t.c.channel, func.sum(t.c.messages_in), func.sum(t.c.messages_out), func.sum(t.c.sms_cost))
        .where(t.c.hour >= period.start, t.c.hour < period.end, flt.counters(t)).group_by(t.c.hour, t.c.channel))
    for hour, channel, n_in, n_out, cost in rows:
        local = hour.astimezone(period.tz)
        i = index.get(local.date())
        if i is None:
            continue
        data.volume.setdefault(channel, [0] * len(days))[i] += int(n_in or 0) + int(n_out or 0)
        data.cost[i] += cost or Decimal(0)
        data.heatmap[local.weekday()][local.hour] += int(n_in or 0)
    for seconds in first_responses:
        data.responses[bucket_of(seconds)] += 1
    return data


# ---- SVG -----------------------------------------------------------------------------------------

W, H = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 40


def _nice_max(value: float) -> float:
    """A round top for the axis (1, 2, 2.5, 5 × 10^n) at or above `value`."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _svg(title: str, body: list[str], *, width: int = W, height: int = H) -> Markup:
    # The table beside the chart carries the numbers; the picture is described by its title.
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{"".join(body)}</svg>')


def _axis(top: float, fmt: Callable[[float], str]) -> list[str]:
    parts = []
    for k in range(5):
        value = top * k / 4
        y = H - BOTTOM - (H - TOP - BOTTOM) * k / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(value))}</text>')
    return parts


def bars(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]], *,
         fmt: Callable[[float], str] = lambda v: f"{v:g}", css: Callable[[str], str] = lambda name: name) -> Markup:
    """Stacked bars: one bar per label, one colour (CSS class) per series."""
    n = max(1, len(labels))
    totals = [sum(float(s[i]) for s in series.values()) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    slot = plot_w / n
    width = max(1.0, slot * 0.7)
    parts = _axis(top, fmt)
    every = max(1, round(n / 12))  # at most ~12 labels under the axis
    for i, label in enumerate(labels):
        x = LEFT + slot * i + (slot - width) / 2
        y = float(H - BOTTOM)
        for name, values in series.items():
            h = plot_h * float(values[i]) / top
            if h > 0:
                y -= h
                tip = f"{label} · {name}: {fmt(float(values[i]))}"
                parts.append(f'<rect class="bar {escape(css(name))}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                             f'height="{h:.1f}"><title>{escape(tip)}</title></rect>')
        if i % every == 0:
            parts.append(f'<text class="tick" x="{x + width / 2:.1f}" y="{H - BOTTOM + 16}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    return _svg(title, parts)


def heatmap(title: str, grid: Sequence[Sequence[int]], row_labels: Sequence[str]) -> Markup:
    """Weekdays × 24 hours; darker is busier (five steps)."""
    cell_w, cell_h, left, top_pad = 24, 24, 48, 18
    width, height = left + cell_w * HOURS + 4, top_pad + cell_h * len(grid) + 4
    peak = max((v for row in grid for v in row), default=0)
    parts = [f'<text class="tick" x="{left + cell_w * h + cell_w / 2}" y="12" text-anchor="middle">{h}</text>'
             for h in range(0, HOURS, 3)]
    for r, row in enumerate(grid):
        y = top_pad + cell_h * r
        parts.append(f'<text class="tick" x="{left - 6}" y="{y + cell_h / 2 + 4}" text-anchor="end">'
                     f'{escape(row_labels[r])}</text>')
        for h, value in enumerate(row):
            level = 0 if value == 0 or peak == 0 else min(4, 1 + (4 * value - 1) // peak)
            tip = f"{row_labels[r]} {h:02d}h: {value}"
            parts.append(f'<rect class="heat heat-{level}" x="{left + cell_w * h}" y="{y}" width="{cell_w - 2}" '
                         f'height="{cell_h - 2}" rx="3"><title>{escape(tip)}</title></rect>')
    return _svg(title, parts, width=width, height=height)


def response_labels(gettext: Callable[[str], str]) -> list[str]:
    return [gettext("até 1 min"), gettext("1–5 min"), gettext("5–15 min"), gettext("15–30 min"),
            gettext("30–60 min"), gettext("1–4 h"), gettext("4–24 h"), gettext("mais de 24 h")]


def page_charts(data: ChartData, *, gettext: Callable[[str], str], day_label: Callable[[date], str],
                money: Callable[[Decimal], str], channel_label: Callable[[str], str]) -> dict[str, Any]:
    labels = [day_label(d) for d in data.days]
    weekdays = [gettext("Seg"), gettext("Ter"), gettext("Qua"), gettext("Qui"), gettext("Sex"), gettext("Sáb"),
                gettext("Dom")]
    volume_series = {channel_label(c): values for c, values in sorted(data.volume.items())}
    css = {channel_label(c): f"ch-{c}" for c in data.volume}
    return {
        "volume": bars(gettext("Mensagens por dia e canal"), labels, volume_series, css=lambda n: css.get(n, "")),
        "cost": bars(gettext("Custo de SMS por dia"), labels, {gettext("Custo"): [float(c) for c in data.cost]},
                     fmt=lambda v: money(Decimal(str(round(v, 2)))), css=lambda _n: "ch-sms"),
        "heatmap": heatmap(gettext("Mensagens de clientes por dia da semana e hora"), data.heatmap, weekdays),
        "responses": bars(gettext("Distribuição dos tempos de primeira resposta"),
                          response_labels(gettext), {gettext("Respostas"): data.responses},
                          css=lambda _n: "accent"),
        "weekdays": weekdays,
        "day_labels": labels,
        "response_labels": response_labels(gettext),
        "volume_series": volume_series,
    }
