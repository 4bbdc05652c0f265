"""The inventory levels report: for a date range, per product (and per location for the
state), what was on hand, received, administered, wasted, transferred and corrected; a chart of
stock over time drawn on the server as SVG (with its data as a table), and the CSV download as
the API makes it. State admins also see the whole state.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from portal.auth import api, api_download, signed_in
from portal.catalog import location_page, product_label, products
from portal.formatting import parse_day, today
from portal.forms import FormErrors
from portal.gateway import ApiProblem
from portal.views.inventory import WASTAGE_REASONS

bp = Blueprint("reports", __name__)

DEFAULT_DAYS = 30
PAGE_SIZE = 200
COLUMNS = [
    ("on_hand_start", _l("On hand at the start")),
    ("received", _l("Received")),
    ("administered", _l("Administered")),
    ("administrations_voided", _l("Doses put back (voided)")),
    ("wasted", _l("Wasted")),
    ("transferred_in", _l("Transferred in")),
    ("transferred_out", _l("Transferred out")),
    ("corrections", _l("Corrections")),
    ("on_hand_end", _l("On hand at the end")),
    ("expiring_within_30_days", _l("Expiring within 30 days")),
]
# Lines of the chart: a colour AND a dash pattern each, and every line named in the legend and
# the table, so no meaning is carried by colour alone.
LINE_STYLES = [
    ("#005ea2", ""),
    ("#b50909", "8 4"),
    ("#00703c", "2 4"),
    ("#5c1a70", "12 4 2 4"),
    ("#8a4b00", "4 2"),
    ("#1b1b1b", "16 6"),
]
CHART = {"width": 760, "height": 320, "left": 64, "right": 16, "top": 16, "bottom": 48}


# -- the range ------------------------------------------------------------------------------------
def _range() -> tuple[str, str]:
    end = today()
    start = end - timedelta(days=DEFAULT_DAYS - 1)
    return (
        request.args.get("from", "").strip() or start.isoformat(),
        request.args.get("to", "").strip() or end.isoformat(),
    )


def _page_number() -> int:
    try:
        return max(int(request.args.get("page", "1")), 1)
    except ValueError:
        return 1


# -- the chart ------------------------------------------------------------------------------------
def _nice_ceiling(value: int) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        ceiling = int(step * magnitude)
        if ceiling >= value:
            return ceiling
    return int(10 * magnitude)


def build_chart(series: list[dict], catalog: dict, date_from: str, date_to: str) -> dict | None:
    """The chart's geometry: one polyline per product over the days of the range."""
    if not series:
        return None
    days = [p["date"] for p in series[0]["points"]]
    if not days:
        return None
    w, h = CHART["width"], CHART["height"]
    plot_w = w - CHART["left"] - CHART["right"]
    plot_h = h - CHART["top"] - CHART["bottom"]
    peak = max((p["on_hand"] for s in series for p in s["points"]), default=0)
    top = _nice_ceiling(max(peak, 0))
    span = max(len(days) - 1, 1)

    def x(index: int) -> float:
        return round(CHART["left"] + plot_w * (index / span if len(days) > 1 else 0.5), 1)

    def y(value: int) -> float:
        return round(CHART["top"] + plot_h * (1 - max(value, 0) / top), 1)

    lines = []
    for number, item in enumerate(series):
        colour, dash = LINE_STYLES[number % len(LINE_STYLES)]
        points = item["points"]
        lines.append(
            {
                "product_id": item["product_id"],
                "name": product_label(item["product_id"], catalog),
                "colour": colour,
                "dash": dash,
                "points": " ".join(f"{x(i)},{y(p['on_hand'])}" for i, p in enumerate(points)),
                "single": len(points) == 1,
                "first": points[0]["on_hand"],
                "last": points[-1]["on_hand"],
                "low": min(p["on_hand"] for p in points),
                "high": max(p["on_hand"] for p in points),
                "x0": x(0),
                "y0": y(points[0]["on_hand"]),
            }
        )
    y_ticks = [{"value": top * n // 4, "y": y(top * n // 4)} for n in range(5)]
    label_every = max(1, -(-len(days) // 6))
    x_ticks = [
        {"label": parse_day(day), "x": x(i)}
        for i, day in enumerate(days)
        if i % label_every == 0 or i == len(days) - 1
    ]
    if len(x_ticks) > 1 and x_ticks[-1]["x"] - x_ticks[-2]["x"] < plot_w / 12:
        x_ticks.pop(-2)  # two labels on top of each other at the end
    for number, tick in enumerate(x_ticks):
        # The first and last labels stay inside the drawing.
        first, last = number == 0, number == len(x_ticks) - 1
        tick["anchor"] = (
            "middle" if len(x_ticks) == 1 else "start" if first else "end" if last else "middle"
        )
    table = [
        {"date": day, "values": [item["points"][i]["on_hand"] for item in series]}
        for i, day in enumerate(days)
    ]
    return {
        **CHART,
        "plot_right": w - CHART["right"],
        "plot_bottom": h - CHART["bottom"],
        "lines": lines,
        "y_ticks": y_ticks,
        "x_ticks": x_ticks,
        "table": table,
        "date_from": parse_day(date_from),
        "date_to": parse_day(date_to),
    }


# -- the pages ------------------------------------------------------------------------------------
def _report(location_id: str | None):
    date_from, date_to = _range()
    page_number = _page_number()
    base = f"/locations/{location_id}" if location_id else ""
    params = {"from": date_from, "to": date_to}
    errors = FormErrors()
    report, daily = None, None
    try:
        report = api(
            "GET",
            f"{base}/inventory-levels",
            params={**params, "page": page_number, "limit": PAGE_SIZE},
        )
        daily = api("GET", f"{base}/inventory-levels/daily", params=params)
    except ApiProblem as problem:
        errors = FormErrors.refusal(problem, (400, 422))
    catalog = products()
    chart = build_chart(daily["products"], catalog, date_from, date_to) if daily else None
    pages = 1
    if report:
        pages = max(1, -(-report["total_rows"] // (report.get("page_size") or PAGE_SIZE)))
    return {
        "values": {"from": date_from, "to": date_to},
        "errors": errors,
        "report": report,
        "chart": chart,
        "columns": COLUMNS,
        "wasted_columns": [(f"wasted_{code}", label) for code, label in WASTAGE_REASONS],
        "catalog": catalog,
        "page_number": page_number,
        "pages": pages,
        "range_from": parse_day(date_from),
        "range_to": parse_day(date_to),
    }


@bp.get("/provider/locations/<location_id>/reports/levels")
@signed_in
def levels(location_id: str):
    context = _report(location_id)
    return location_page(
        "reports/levels.html",
        location_id,
        400 if context["errors"] else 200,
        state=False,
        csv_url=url_for(
            ".levels_csv", location_id=location_id, **context["values"], page=context["page_number"]
        ),
        **context,
    )


@bp.get("/provider/reports/levels")
@signed_in
def state_levels():
    context = _report(None)
    return (
        render_template(
            "reports/state_levels.html",
            state=True,
            csv_url=url_for(".state_levels_csv", **context["values"], page=context["page_number"]),
            **context,
        ),
        400 if context["errors"] else 200,
    )


def _csv_params() -> dict:
    date_from, date_to = _range()
    return {
        "from": date_from,
        "to": date_to,
        "format": "csv",
        "page": _page_number(),
        "limit": PAGE_SIZE,
    }


@bp.get("/provider/locations/<location_id>/reports/levels.csv")
@signed_in
def levels_csv(location_id: str):
    return api_download(
        f"/locations/{location_id}/inventory-levels", _csv_params(), "inventory-levels.csv"
    )


@bp.get("/provider/reports/levels.csv")
@signed_in
def state_levels_csv():
    return api_download("/inventory-levels", _csv_params(), "inventory-levels.csv")
