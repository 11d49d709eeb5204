"""Server-rendered SVG charts: pure functions from figures to shapes; the templates draw them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

HEATMAP_CELL = 14
HEATMAP_GAP = 3
HEATMAP_LEVELS = (0, 1, 3, 6)  # attempts in a day at which each shade starts
WEEKDAY_LABELS = ("Mon", "", "Wed", "", "Fri", "", "")


def _shade(count: int) -> int:
    return max(index for index, start in enumerate(HEATMAP_LEVELS) if count >= start)


def heatmap(*, activity: dict[date, int], first: date, today: date, left: int = 30, top: int = 16) -> dict:
    """Cells for a weeks-by-weekdays calendar (columns are weeks, rows Monday to Sunday)."""
    step = HEATMAP_CELL + HEATMAP_GAP
    cells: list[dict[str, Any]] = []
    months: list[dict[str, Any]] = []
    day, last_month = first, None
    while day <= today:
        column, row = (day - first).days // 7, day.weekday()
        count = activity.get(day, 0)
        cells.append(
            {
                "x": left + column * step,
                "y": top + row * step,
                "date": day,
                "count": count,
                "shade": _shade(count),
            }
        )
        if row == 0 and day.month != last_month:
            months.append({"x": left + column * step, "label": day.strftime("%b")})
            last_month = day.month
        day += timedelta(days=1)
    columns = (today - first).days // 7 + 1
    return {
        "cells": cells,
        "months": months,
        "weekdays": [
            {"y": top + i * step + HEATMAP_CELL - 3, "label": label}
            for i, label in enumerate(WEEKDAY_LABELS)
            if label
        ],
        "size": HEATMAP_CELL,
        "width": left + columns * step,
        "height": top + 7 * step,
        "total": sum(activity.get(c["date"], 0) for c in cells),
        "active_days": sum(1 for c in cells if c["count"]),
    }


def bar_chart(
    *, values: list[int], labels: list[str], width: int = 560, height: int = 180, left: int = 36
) -> dict[str, Any]:
    """Bars scaled to the largest value, with a labelled top gridline and sparse x labels."""
    bottom, top = height - 22, 12
    peak = max(values, default=0) or 1
    slot = (width - left) / max(len(values), 1)
    bars = []
    for index, (value, label) in enumerate(zip(values, labels, strict=True)):
        bar_height = round((bottom - top) * value / peak, 1)
        bars.append(
            {
                "x": round(left + index * slot + slot * 0.15, 1),
                "y": round(bottom - bar_height, 1),
                "width": round(slot * 0.7, 1),
                "height": bar_height,
                "value": value,
                "label": label,
                "label_x": round(left + index * slot + slot / 2, 1),
                "show_label": index % 2 == 0,
            }
        )
    return {
        "bars": bars,
        "width": width,
        "height": height,
        "left": left,
        "bottom": bottom,
        "top": top,
        "peak": max(values, default=0),
        "label_y": height - 6,
    }


def xp_over_time(
    *, before: int, changes: dict[date, int], first: date, today: date, width: int = 560, height: int = 180
) -> dict[str, Any]:
    """A step line of the player's cumulative XP, one point per day from `first` to `today`."""
    left, bottom, top = 44, height - 22, 12
    days = (today - first).days + 1
    totals, total = [], before
    for offset in range(days):
        day = first + timedelta(days=offset)
        total += changes.get(day, 0)
        totals.append((day, total))
    peak = max((value for _, value in totals), default=0) or 1
    step = (width - left) / max(days - 1, 1)

    def y(value: int) -> float:
        return round(bottom - (bottom - top) * value / peak, 1)

    points = " ".join(
        f"{round(left + index * step, 1)},{y(value)}" for index, (_, value) in enumerate(totals)
    )
    labels = [
        {"x": round(left + index * step, 1), "text": day.strftime("%d %b")}
        for index, (day, _) in enumerate(totals)
        if index % 15 == 0 or index == days - 1
    ]
    return {
        "points": points,
        "labels": labels,
        "width": width,
        "height": height,
        "left": left,
        "bottom": bottom,
        "top": top,
        "peak": max((value for _, value in totals), default=0),
        "start": before,
        "end": total,
        "gained": total - before,
        "label_y": height - 6,
        "days": days,
    }
