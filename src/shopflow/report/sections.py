"""The eight sections of the dashboard, each from the frames of :mod:`shopflow.report.data` and
:mod:`shopflow.report.models`.

Every section has a one-line reading worked out from the data it shows, and a note instead of a
chart wherever there is nothing to draw (an empty period, no purchases, a mart not built, no
training run). Figures shown as numbers carry ``data-metric`` / ``data-value`` attributes with the
unrounded value, so a test (or a scraper) can compare them with the marts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from shopflow.report.data import DashboardData
from shopflow.report.models import PROTOCOLS, ModelSummary, TrackingData, ranking_metrics
from shopflow.report.page import Section, data_value, esc, fmt_count, fmt_metric, fmt_money, fmt_rate, table

EVENT_TYPES = ("view", "cart", "remove_from_cart", "purchase")
TYPE_COLORS = {"view": "#4c78a8", "cart": "#f58518", "remove_from_cart": "#b279a2", "purchase": "#54a24b"}
TYPE_PLURALS = {"view": "views", "cart": "carts", "remove_from_cart": "removals from cart", "purchase": "purchases"}
TYPE_COUNT_COLUMN = {"view": "n_views", "cart": "n_carts", "remove_from_cart": "n_removes", "purchase": "n_purchases"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SCOPE_LABELS = {
    "all": "All events (unfiltered)",
    "reference_filter": "Reference filter (rows with both category_code and brand)",
}
#: The hours the reference found busiest, [06:00, 15:00) UTC.
REFERENCE_HOURS = range(6, 15)
INDUSTRY_CONVERSION = 0.0206

#: (column, label, kind, definition) of the headline table, in order.
HEADLINE = (
    ("n_events", "Events", "count", "every event of the period: views, carts, removals from cart and purchases"),
    ("n_users", "Users", "count", "distinct user_id with at least one event in the period"),
    ("n_sessions", "Sessions", "count",
     "distinct (user_id, user_session) pairs; a session that crosses midnight counts once"),
    ("n_purchases", "Purchases", "count", "purchase events (one order can hold several)"),
    ("revenue", "Revenue", "money", "sum of price over purchase events (the file does not name the currency)"),
    ("conversion_rate_events", "Conversion, per event", "rate",
     "purchases ÷ all events: the reference's definition (1.57% on its filtered November 2019 data, "
     "against a 2.06% industry average)"),
    ("conversion_rate_views", "Conversion, per view", "rate", "purchases ÷ views"),
    ("conversion_rate_sessions", "Conversion, per session", "rate",
     "sessions with a purchase ÷ sessions with a view"),
    ("cart_abandonment_rate", "Cart abandonment", "rate",
     "sessions with a cart but no purchase ÷ sessions with a cart"),
)
_FORMAT = {"count": fmt_count, "money": fmt_money, "rate": fmt_rate}

TOP_DIMENSIONS = (
    ("category", "Top 10 categories (first level of category_code)"),
    ("brand", "Top 10 brands"),
    ("product", "Top 10 product types (last level of category_code)"),
    ("product_id", "Top 10 products (product_id, with brand and category_code)"),
)
SEGMENTS = ("champions", "loyal", "promising", "need_attention", "at_risk", "hibernating")
SEGMENT_RULES = {
    "champions": "R ≥ 4 and (F+M)/2 ≥ 4",
    "loyal": "R ≥ 3 and (F+M)/2 ≥ 3",
    "promising": "R ≥ 4",
    "need_attention": "R = 3",
    "at_risk": "(F+M)/2 ≥ 3",
    "hibernating": "everyone else",
}


def _layout(fig, title: str = "", legend_y: float = 1.02, top: int = 90, **kwargs) -> None:
    """One look for every figure: title at the top left, legend between it and the plot.

    The styling is set here rather than through a named plotly template: copying a full template
    into each of the page's figures took most of the report's run time.
    """
    settings = dict(
        template="none",
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d"],
        title=dict(text=title, x=0.01, xanchor="left", y=0.98, yref="container", yanchor="top",
                   font=dict(size=16, color="#243b53")),
        margin=dict(l=60, r=30, t=top, b=50),
        font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif", size=12, color="#334e68"),
        legend=dict(orientation="h", yanchor="bottom", y=legend_y, xanchor="left", x=0),
        hoverlabel=dict(align="left"),
    )
    settings.update(kwargs)
    fig.update_layout(**settings)
    fig.update_xaxes(gridcolor="#e4e7eb", zeroline=False, linecolor="#bcccdc", automargin=True)
    fig.update_yaxes(gridcolor="#e4e7eb", zeroline=False, linecolor="#bcccdc", automargin=True)


def _num(value: Any) -> float:
    """A mart value as a float, 0 for null (the marts leave counts of absent rows null)."""
    if value is None:
        return 0.0
    try:
        return 0.0 if pd.isna(value) else float(value)
    except TypeError:
        return 0.0


def _ratio(numerator: Any, denominator: Any) -> float | None:
    d = _num(denominator)
    return None if d == 0 else _num(numerator) / d


def _weekday(day: dt.date) -> str:
    return WEEKDAYS[day.isoweekday() - 1]


# ------------------------------------------------------------------------------ 1. headline


def headline(data: DashboardData) -> Section:
    s = Section(1, "headline", "Headline figures for the period")
    if data.period is None or data.summary.empty:
        s.note("No events in this period: there are no headline figures to show.")
        if "mart_period_summary" in data.missing and data.period is not None:
            s.note("mart_period_summary is not built: run `shopflow marts --date D`.")
        return s
    rows = {scope: data.summary_row(scope) for scope in SCOPE_LABELS}
    main = rows.get("all") or {}
    cells = []
    for column, label, kind, definition in HEADLINE:
        row = [label]
        for scope in SCOPE_LABELS:
            value = None if rows[scope] is None else rows[scope].get(column)
            row.append((_FORMAT[kind](value), {
                "class": "figure-value", "data-metric": column, "data-scope": scope, "data-value": data_value(value),
            }))
        row.append((definition, {"class": "definition"}))
        cells.append(row)
    s.add(table(["Figure", SCOPE_LABELS["all"], SCOPE_LABELS["reference_filter"], "Definition"], cells, css="headline"))
    if rows["reference_filter"] is None:
        s.note("No event of the period has both a category_code and a brand: the reference filter keeps nothing.")
    n_purchases = int(_num(main.get("n_purchases")))
    rate = main.get("conversion_rate_events")
    s.reading = (
        f"{fmt_count(main.get('n_events'))} events from {fmt_count(main.get('n_users'))} users in "
        f"{fmt_count(main.get('n_sessions'))} sessions over {data.period.n_days_loaded} loaded day(s), "
        f"{data.period.start} to {data.period.as_of}; {fmt_count(n_purchases)} purchases worth "
        f"{fmt_money(main.get('revenue'))}. Conversion per event is {fmt_rate(rate)}"
        + ("" if rate is None or pd.isna(rate) else
           f", {abs(100 * (rate - INDUSTRY_CONVERSION)):.2f} points {'below' if rate < INDUSTRY_CONVERSION else 'above'} "
           "the 2.06% industry average the reference cites")
        + "."
    )
    if n_purchases == 0:
        s.note("No purchases in this period: every conversion rate is 0 and the purchase charts below are empty.")

    fig = go.Figure()
    types = [t for t in EVENT_TYPES if t != "remove_from_cart" or any(_num((r or {}).get("n_removes")) for r in rows.values())]
    for scope, colour in (("all", "#486581"), ("reference_filter", "#9fb3c8")):
        row = rows[scope]
        if row is None:
            continue
        counts = [_num(row.get(TYPE_COUNT_COLUMN[t])) for t in types]
        total = _num(row.get("n_events"))
        fig.add_trace(go.Bar(
            name=SCOPE_LABELS[scope], x=list(types), y=counts, marker_color=colour,
            text=[fmt_count(c) for c in counts], textposition="outside",
            customdata=[fmt_rate(c / total if total else None) for c in counts],
            hovertemplate="%{x}: %{y:,} events (%{customdata} of the scope)<extra>%{fullData.name}</extra>",
        ))
    _layout(fig, barmode="group", title="Events by type", yaxis_title="events")
    fig.update_traces(cliponaxis=False)
    s.figure(fig, "fig-headline-mix", 380)
    return s


# ------------------------------------------------------------------------------ 2. funnel


def funnel_steps(row: dict[str, Any]) -> list[tuple[str, str, float | None, float | None]]:
    """(step key, label, rate on events, rate on sessions) of the view -> cart -> purchase funnel."""
    return [
        ("view_to_cart", "view → cart", _ratio(row.get("n_carts"), row.get("n_views")),
         _ratio(row.get("n_carting_sessions"), row.get("n_viewing_sessions"))),
        ("cart_to_purchase", "cart → purchase", _ratio(row.get("n_purchases"), row.get("n_carts")),
         _ratio(row.get("n_purchasing_sessions"), row.get("n_carting_sessions"))),
        ("view_to_purchase", "view → purchase (overall)", _ratio(row.get("n_purchases"), row.get("n_views")),
         _ratio(row.get("n_purchasing_sessions"), row.get("n_viewing_sessions"))),
    ]


def funnel(data: DashboardData) -> Section:
    s = Section(2, "funnel", "Funnel: view → cart → purchase")
    row = data.summary_row(data.scope) if data.period else None
    if row is None or _num(row.get("n_events")) == 0:
        s.note("No events in this period: there is no funnel to draw.")
        return s
    steps = funnel_steps(row)
    s.add(table(
        ["Step", "Rate on events", "Rate on sessions"],
        [[label,
          (fmt_rate(ev), {"data-step": key, "data-basis": "events", "data-value": data_value(ev)}),
          (fmt_rate(se), {"data-step": key, "data-basis": "sessions", "data-value": data_value(se)})]
         for key, label, ev, se in steps],
    ))
    s.caption("Rates on events divide event counts (carts ÷ views); rates on sessions divide sessions that "
              "reached a step by sessions that reached the one before. A purchase needs no cart event in this "
              "log, so a step rate can exceed 100%.")
    candidates = [(rate, label, on_sessions) for _, label, rate, on_sessions in steps[:2] if rate is not None]
    if candidates:
        rate, label, on_sessions = min(candidates)
        s.reading = (
            f"The steepest drop is at the {label} step, which converts at {fmt_rate(rate)} on events "
            f"({fmt_rate(on_sessions)} on sessions); purchases are {fmt_rate(steps[2][2])} of views."
        )
    if _num(row.get("n_purchases")) == 0:
        s.note("No purchases in this period: the funnel stops at the cart step.")

    fig = make_subplots(rows=1, cols=2, subplot_titles=("Events", "Sessions reaching the step"), horizontal_spacing=0.18)
    labels = ["view", "cart", "purchase"]
    for col, values in (
        (1, [row.get("n_views"), row.get("n_carts"), row.get("n_purchases")]),
        (2, [row.get("n_viewing_sessions"), row.get("n_carting_sessions"), row.get("n_purchasing_sessions")]),
    ):
        fig.add_trace(go.Funnel(
            y=labels, x=[_num(v) for v in values], textinfo="value+percent previous",
            marker=dict(color=[TYPE_COLORS[t] for t in labels]), showlegend=False,
        ), row=1, col=col)
    _layout(fig, title=f"Funnel, {SCOPE_LABELS[data.scope].lower()}")
    s.figure(fig, "fig-funnel", 380)
    return s


# ------------------------------------------------------------------------------ 3. daily trend


def daily_trend(data: DashboardData) -> Section:
    s = Section(3, "daily-trend", "Daily trend of each event type")
    daily = data.daily[data.daily["scope"] == data.scope] if not data.daily.empty else data.daily
    if data.period is None or daily.empty:
        s.note("No events in this period: there is no daily trend to draw.")
        return s
    daily = daily.sort_values("event_date")
    window = [data.period.start + dt.timedelta(days=i) for i in range(data.period.window_days)]
    loaded = set(daily["event_date"])
    absent = [d for d in window if d not in loaded]
    if absent:
        shown = ", ".join(str(d) for d in absent[:8]) + (" …" if len(absent) > 8 else "")
        s.note(f"{len(absent)} date(s) of the window have no events loaded: {shown}.")
    types = [t for t in EVENT_TYPES if t != "remove_from_cart" or daily["n_removes"].sum() > 0]

    busiest = daily.loc[daily["n_events"].idxmax()]
    weekend = daily[daily["is_weekend"].astype(bool)]
    weekday = daily[~daily["is_weekend"].astype(bool)]
    parts = [f"Busiest day: {busiest['event_date']} ({_weekday(busiest['event_date'])}) with "
             f"{fmt_count(busiest['n_events'])} events"]
    if len(weekend) and len(weekday):
        parts.append(f"weekend days average {weekend['n_events'].mean():,.1f} events against "
                     f"{weekday['n_events'].mean():,.1f} on weekdays")
    if daily["n_purchases"].sum() > 0:
        top = daily.loc[daily["n_purchases"].idxmax()]
        parts.append(f"most purchases on {top['event_date']} ({_weekday(top['event_date'])}, "
                     f"{fmt_count(top['n_purchases'])})")
    else:
        s.note("No purchases in this period: the purchase line stays at zero.")
    s.reading = "; ".join(parts) + ". Weekends are shaded."

    fig = make_subplots(rows=len(types), cols=1, shared_xaxes=True, vertical_spacing=0.05,
                    subplot_titles=[f"{t} events per day" for t in types])
    x = [pd.Timestamp(d) for d in daily["event_date"]]
    for i, t in enumerate(types, start=1):
        fig.add_trace(go.Scatter(
            x=x, y=daily[TYPE_COUNT_COLUMN[t]].tolist(), mode="lines+markers", name=t,
            line=dict(color=TYPE_COLORS[t]), hovertemplate="%{x|%a %Y-%m-%d}: %{y:,}<extra>" + t + "</extra>",
        ), row=i, col=1)
    # One band per weekend day across every row (the rows share the x axis), noon to noon around it.
    for day in window:
        if day.isoweekday() >= 6:
            start = pd.Timestamp(day) - pd.Timedelta(hours=12)
            fig.add_shape(type="rect", xref="x", yref="paper", x0=start, x1=start + pd.Timedelta(hours=24),
                          y0=0, y1=1, fillcolor="#9aa5b1", opacity=0.18, line_width=0, layer="below")
    _layout(fig, title="Events per day (shaded: Saturday and Sunday)", showlegend=False)
    fig.update_xaxes(range=[pd.Timestamp(window[0]) - pd.Timedelta(hours=12),
                            pd.Timestamp(window[-1]) + pd.Timedelta(hours=12)])
    if len(window) <= 35:
        fig.update_xaxes(dtick=86_400_000, tickformat="%a<br>%d %b", tickangle=0)
    s.figure(fig, "fig-daily-trend", 170 * len(types) + 110)
    return s


# ------------------------------------------------------------------------------ 4. hour x weekday


def hour_weekday_matrix(hourly: pd.DataFrame, days_per_weekday: dict[int, int], event_type: str | None = None):
    """7 x 24 average events per hour on each weekday (None where no date of that weekday is loaded)."""
    frame = hourly if event_type is None else hourly[hourly["event_type"] == event_type]
    totals = frame.groupby(["event_weekday", "event_hour"])["n_events"].sum()
    out = []
    for wd in range(1, 8):
        n_days = days_per_weekday.get(wd, 0)
        out.append([None if n_days == 0 else float(totals.get((wd, h), 0)) / n_days for h in range(24)])
    return out


def heatmaps(data: DashboardData) -> Section:
    s = Section(4, "hour-weekday", "Activity by hour and weekday")
    hourly = data.hourly
    if data.period is None or hourly.empty:
        s.note("No events in this period: there is no hourly activity to draw.")
        return s
    by_hour = hourly.groupby("event_hour")["n_events"].sum()
    total = by_hour.sum()
    peak = int(by_hour.idxmax())
    in_reference_hours = by_hour[by_hour.index.isin(list(REFERENCE_HOURS))].sum()
    parts = [f"Activity peaks at {peak:02d}:00 UTC; 06:00–15:00 UTC holds {fmt_rate(in_reference_hours / total, 1)} of events"]
    purchases = hourly[hourly["event_type"] == "purchase"]
    matrices = [("all events", None, "fig-heatmap-activity", "Blues")]
    if purchases["n_events"].sum() > 0:
        per_day = {wd: purchases[purchases["event_weekday"] == wd]["n_events"].sum() / n
                   for wd, n in data.days_per_weekday.items() if n}
        best = max(per_day, key=per_day.get)
        parts.append(f"purchases per day are highest on {WEEKDAYS[best - 1]}s ({per_day[best]:,.1f} on average)")
        matrices.append(("purchases", "purchase", "fig-heatmap-purchases", "Greens"))
    else:
        s.note("No purchases in this period: only the activity heatmap is drawn.")
    s.reading = "; ".join(parts) + "."
    missing = [WEEKDAYS[wd - 1] for wd in range(1, 8) if not data.days_per_weekday.get(wd)]
    if missing:
        s.note(f"No loaded date falls on {', '.join(missing)}: those rows are blank.")

    for label, event_type, div_id, scale in matrices:
        z = hour_weekday_matrix(hourly, data.days_per_weekday, event_type)
        fig = go.Figure(go.Heatmap(
            z=z, x=[f"{h:02d}" for h in range(24)], y=list(WEEKDAYS), colorscale=scale,
            hovertemplate="%{y} %{x}:00 UTC: %{z:,.1f} per day<extra></extra>", colorbar=dict(title="per day"),
        ))
        _layout(fig, title=f"Average {label} per hour (UTC) on each weekday, {SCOPE_LABELS[data.scope].lower()}",
                xaxis_title="hour of day (UTC)", xaxis_type="category")
        fig.update_yaxes(autorange="reversed")
        s.figure(fig, div_id, 360)
    return s


# ------------------------------------------------------------------------------ 5. top items


def _item_label(row) -> str:
    if row["dimension"] != "product_id":
        return str(row["item"])
    extra = " · ".join(str(v) for v in (row.get("item_brand"), row.get("item_category_code")) if v and not pd.isna(v))
    return f"{row['item']} · {extra}" if extra else str(row["item"])


def top_items(data: DashboardData) -> Section:
    s = Section(5, "top-items", "Top 10 categories, brands and products per event type")
    top = data.top_items
    if data.period is None or top.empty:
        s.note("No ranked items in this period (no events, or mart_top_items not built for this date).")
        return s
    readings = []
    for dimension, what in (("category", "categories"), ("brand", "brands")):
        rows = top[(top["dimension"] == dimension) & (top["item_rank"] <= 3)]
        shares = []
        for t in EVENT_TYPES:
            sub = rows[rows["event_type"] == t]
            if len(sub):
                shares.append(f"{fmt_rate(sub.sort_values('item_rank')['cumulative_share_of_events'].iloc[-1], 1)} of {TYPE_PLURALS[t]}")
        if shares:
            readings.append(f"the top 3 {what} hold " + ", ".join(shares))
    s.reading = (readings[0][0].upper() + "; ".join(readings)[1:] + ".") if readings else ""
    s.caption("Shares are of all events of that type in the period, including events whose category or brand "
              "is unknown (those are never ranked).")
    if not (top["event_type"] == "purchase").any():
        s.note("No purchases in this period: the purchase rankings are empty.")

    types = [t for t in EVENT_TYPES if (top["event_type"] == t).any()]
    n_rows = (len(types) + 1) // 2
    for dimension, title in TOP_DIMENSIONS:
        frame = top[top["dimension"] == dimension]
        if frame.empty:
            s.add(f"<h3>{esc(title)}</h3>")
            s.note(f"No event of the period has a known {dimension}.")
            continue
        fig = make_subplots(rows=n_rows, cols=2, subplot_titles=[TYPE_PLURALS[t] for t in types],
                        horizontal_spacing=0.3, vertical_spacing=0.18 if n_rows > 1 else 0.0)
        for i, t in enumerate(types):
            row, col = i // 2 + 1, i % 2 + 1
            sub = frame[frame["event_type"] == t].sort_values("item_rank")
            shares = sub["share_of_events"].tolist()
            fig.add_trace(go.Bar(
                x=shares, y=[_item_label(r)[:48] for _, r in sub.iterrows()], orientation="h",
                marker_color=TYPE_COLORS[t], text=[fmt_rate(v, 1) for v in shares], textposition="outside",
                textangle=0, cliponaxis=False, showlegend=False,
                customdata=list(zip(sub["n_events"].tolist(), [fmt_rate(v, 1) for v in sub["cumulative_share_of_events"]])),
                hovertemplate="%{y}: %{customdata[0]:,} events, %{x:.1%} (top-n cumulative %{customdata[1]})<extra>"
                + t + "</extra>",
            ), row=row, col=col)
            fig.update_yaxes(autorange="reversed", row=row, col=col, tickfont=dict(size=10))
            fig.update_xaxes(tickformat=".0%", range=[0, max(shares + [0.01]) * 1.2], row=row, col=col)
        _layout(fig, title=title, margin=dict(l=260, r=40, t=80, b=40))
        s.figure(fig, f"fig-top-{dimension}", 80 + 300 * n_rows)
    return s


# ------------------------------------------------------------------------------ 6. RFM


def rfm(data: DashboardData) -> Section:
    s = Section(6, "rfm", "RFM of purchasing customers")
    overview = data.rfm_overview
    n = int(_num(overview.get("n_customers")))
    if data.period is None or "mart_rfm" in data.missing or n == 0:
        s.note("No purchasing customers in this period: RFM scores customers with at least one purchase."
               if "mart_rfm" not in data.missing else "mart_rfm is not built: run `shopflow marts --date D`.")
        return s
    scores = data.rfm_scores

    def share(dim: str, method: str, score: int) -> float:
        hit = scores[(scores["rfm_dimension"] == dim) & (scores["method"] == method) & (scores["score"] == score)]
        return float(hit["n_customers"].sum()) / n

    s.reading = (
        f"{fmt_count(n)} purchasing customers. Equal-width bins put {fmt_rate(share('F', 'equal_width', 1), 1)} "
        f"of them in F=1 and {fmt_rate(share('M', 'equal_width', 1), 1)} in M=1, as the reference found; "
        f"quintiles spread them evenly. Median visit frequency: {_num(overview.get('frequency_median')):g} "
        f"sessions (quartiles {_num(overview.get('frequency_p25')):g} and {_num(overview.get('frequency_p75')):g})."
    )
    s.caption("Recency: days from the last visit to the end of the period (5 = most recent). Frequency: "
              "sessions in the period. Monetary: purchase revenue in the period. Equal-width: the min–max "
              "range cut into five bins (the reference's method); quintile: five groups of equal size.")

    fig = make_subplots(rows=1, cols=3, subplot_titles=("Recency score", "Frequency score", "Monetary score"))
    for col, dim in enumerate(("R", "F", "M"), start=1):
        for method, colour, label in (("equal_width", "#829ab1", "equal-width bins"), ("quintile", "#2f6fb0", "quintiles")):
            sub = scores[(scores["rfm_dimension"] == dim) & (scores["method"] == method)].set_index("score")
            counts = [int(sub["n_customers"].get(k, 0)) for k in range(1, 6)]
            fig.add_trace(go.Bar(
                x=[1, 2, 3, 4, 5], y=[c / n for c in counts], name=label, marker_color=colour,
                legendgroup=method, showlegend=col == 1, customdata=counts,
                hovertemplate="score %{x}: %{customdata:,} customers (%{y:.1%})<extra>" + label + "</extra>",
            ), row=1, col=col)
        fig.update_yaxes(tickformat=".0%", row=1, col=col)
        fig.update_xaxes(dtick=1, row=1, col=col)
    _layout(fig, barmode="group", title="Score distributions under both binnings (share of customers)",
            legend_y=1.12, top=110)
    s.figure(fig, "fig-rfm-scores", 360)

    quartiles = data.rfm_quartiles.sort_values("frequency_quartile")
    labels = [f"Q{int(r.frequency_quartile)}: {int(r.min_frequency)}–{int(r.max_frequency)} sessions"
              for r in quartiles.itertuples()]
    fig = go.Figure(go.Bar(
        x=labels, y=quartiles["n_customers"].tolist(), marker_color="#486581",
        text=[fmt_count(v) for v in quartiles["n_customers"]], textposition="outside",
        hovertemplate="%{x}: %{y:,} customers<extra></extra>",
    ))
    _layout(fig, title=(f"Frequency quartiles (p25 = {_num(overview.get('frequency_p25')):g}, median = "
                        f"{_num(overview.get('frequency_median')):g}, p75 = {_num(overview.get('frequency_p75')):g})"),
            yaxis_title="customers")
    s.figure(fig, "fig-rfm-quartiles", 340)

    segments = data.rfm_segments.set_index("segment")
    order = [seg for seg in SEGMENTS if seg in segments.index] + [seg for seg in segments.index if seg not in SEGMENTS]
    counts = [int(segments.loc[seg, "n_customers"]) for seg in order]
    fig = go.Figure(go.Bar(
        x=order, y=counts, marker_color="#2f6fb0", text=[fmt_rate(c / n, 1) for c in counts], textposition="outside",
        customdata=[[fmt_money(segments.loc[seg, "monetary"]), SEGMENT_RULES.get(seg, "")] for seg in order],
        hovertemplate="%{x}: %{y:,} customers, revenue %{customdata[0]}<br>rule: %{customdata[1]}<extra></extra>",
    ))
    _layout(fig, title="Segment sizes (from the quintile scores)", yaxis_title="customers")
    s.figure(fig, "fig-rfm-segments", 340)
    s.add(table(
        ["Segment", "Rule", "Customers", "Share", "Revenue", "Avg recency (days)", "Avg sessions"],
        [[seg, SEGMENT_RULES.get(seg, ""),
          (fmt_count(segments.loc[seg, "n_customers"]), {"data-segment": seg, "data-value": data_value(segments.loc[seg, "n_customers"])}),
          fmt_rate(segments.loc[seg, "n_customers"] / n, 1), fmt_money(segments.loc[seg, "monetary"]),
          f"{segments.loc[seg, 'avg_recency_days']:.1f}", f"{segments.loc[seg, 'avg_frequency']:.1f}"]
         for seg in order],
    ))
    return s


# ------------------------------------------------------------------------------ 7. recommenders


def _metric_label(name: str) -> str:
    return name.replace("_at_", "@").replace("_strict", " (strict)").replace("_", " ")


def recommenders(tracking: TrackingData) -> Section:
    from shopflow.tracking import ALS, CONTENT, PRIMARY_METRIC

    s = Section(7, "recommenders", "Recommenders: champion against the popularity baseline")
    for note in tracking.notes:
        s.note(note)
    if not tracking.has_runs:
        if not tracking.notes:
            s.note(f"No training run is recorded in MLflow ({tracking.uri}) yet: run `shopflow train` "
                   "or the shopflow_training DAG.")
        return s
    als = tracking.models.get(ALS) or ModelSummary(ALS)
    content = tracking.models.get(CONTENT) or ModelSummary(CONTENT)
    readings = []

    shown = als.champion or (als.recent[0] if als.recent else None)
    if shown is None:
        s.note("No ALS run is recorded yet.")
    else:
        if als.champion is None:
            s.note("No ALS version holds the champion alias yet: showing the latest run.")
        who = (f"champion v{als.champion_version}" if als.champion else "latest run") + f" ({shown.run_name})"
        primary, _ = PRIMARY_METRIC[ALS]
        prefix = "temporal_" if primary.startswith("temporal_") else ""
        base_name = primary[len(prefix):]
        value, baseline = shown.metrics.get(primary), shown.metrics.get(f"{prefix}baseline_{base_name}")
        text = f"ALS {who}: {_metric_label(base_name)} {fmt_metric(value)} against {fmt_metric(baseline)} for popularity"
        if value is not None and baseline:
            text += f" ({value / baseline:.2f}×)"
        knn = shown.metrics.get(f"{prefix}itemknn_{base_name}")
        if knn is not None:
            text += f" and {fmt_metric(knn)} for item-kNN"
            if value is not None:
                text += " (ALS beats it)" if value > knn else " (ALS does not beat it)"
        text += f" on the {'temporal split' if prefix else 'random hold-out'}"
        if "precision_at_15" in shown.metrics:
            text += f"; precision@15 {fmt_metric(shown.metrics['precision_at_15'])} (the reference reported 0.028)"
        readings.append(text)

        protocols = [(p, label) for p, label in PROTOCOLS if ranking_metrics(shown.metrics, p)]
        if not protocols:
            s.note(f"ALS {who} logged no ranking metrics.")
        rows = []
        # Runs logged before the item-kNN baseline existed have no itemknn_ metrics: no column then.
        has_knn = any(k.startswith(("itemknn_", "temporal_itemknn_")) for k in shown.metrics)
        fig = make_subplots(rows=1, cols=max(1, len(protocols)), subplot_titles=[label for _, label in protocols])
        for col, (prefix, label) in enumerate(protocols, start=1):
            names = [n for n in ranking_metrics(shown.metrics, prefix) if not n.startswith("next_view")]
            model_values = [shown.metrics.get(f"{prefix}{n}") for n in names]
            base_values = [shown.metrics.get(f"{prefix}baseline_{n}") for n in names]
            knn_values = [shown.metrics.get(f"{prefix}itemknn_{n}") for n in names]
            bars = [("ALS", model_values, "#2f6fb0"), ("popularity baseline", base_values, "#bcccdc")]
            if has_knn:
                bars.append(("item-kNN baseline", knn_values, "#e3a23b"))
            for series, values, colour in bars:
                fig.add_trace(go.Bar(
                    x=[_metric_label(n) for n in names], y=values, name=series, marker_color=colour,
                    legendgroup=series, showlegend=col == 1, text=[fmt_metric(v) for v in values],
                    textposition="outside", hovertemplate="%{x}: %{y:.4f}<extra>" + series + "</extra>",
                ), row=1, col=col)
            for n, mv, bv, kv in zip(names, model_values, base_values, knn_values):
                row = [label.split(" (")[0], _metric_label(n),
                       (fmt_metric(mv), {"data-model": ALS, "data-metric": f"{prefix}{n}", "data-value": data_value(mv)}),
                       (fmt_metric(bv), {"data-model": ALS, "data-metric": f"{prefix}baseline_{n}", "data-value": data_value(bv)}),
                       "—" if not bv or mv is None else f"{mv / bv:.2f}×"]
                if has_knn:
                    row += [(fmt_metric(kv), {"data-model": ALS, "data-metric": f"{prefix}itemknn_{n}",
                                              "data-value": data_value(kv)}),
                            "—" if not kv or mv is None else f"{mv / kv:.2f}×"]
                rows.append(row)
        if protocols:
            _layout(fig, barmode="group", title=f"ALS {who}: metrics against the "
                    + ("popularity and item-kNN baselines" if has_knn else "popularity baseline"),
                    legend_y=1.12, top=110)
            fig.update_traces(cliponaxis=False)
            s.figure(fig, "fig-als-champion", 380)
            s.add(table(["Protocol", "Metric", "ALS", "Popularity", "Lift"]
                        + (["Item-kNN", "Lift over item-kNN"] if has_knn else []), rows))

    latest = als.recent[0] if als.recent else None
    if latest is not None and latest.tags.get("champion_decision"):
        # The promotion of the newest run (recommend/promotion.py): what it was compared with and why.
        decision = latest.tags["champion_decision"]
        s.add(f'<p class="caption" data-promotion-run="{esc(latest.run_id)}" data-decision="{esc(decision)}">'
              f'Latest ALS run {esc(latest.run_name)}: {esc(decision)}, '
              f'{esc(latest.tags.get("champion_reason", ""))}.</p>')

    if als.loss:
        steps, values = zip(*als.loss)
        run = als.loss_run
        fig = go.Figure(go.Scatter(x=list(steps), y=list(values), mode="lines+markers", line=dict(color="#2f6fb0"),
                                   hovertemplate="iteration %{x}: loss %{y:.6g}<extra></extra>"))
        started = run.start_time.strftime("%Y-%m-%d %H:%M UTC") if run.start_time else "?"
        _layout(fig, title=f"Training loss of the latest ALS run ({run.run_name}, started {started})",
                xaxis_title="iteration", yaxis_title="loss")
        s.figure(fig, "fig-als-loss", 320)
        s.add(f'<p class="caption" data-loss-run="{esc(run.run_id)}" data-loss-points="{len(steps)}" '
              f'data-final-loss="{data_value(values[-1])}">Final loss after {len(steps)} iterations: {values[-1]:.6g}.</p>')
    elif als.recent:
        s.note("The latest ALS runs logged no loss curve.")

    if als.recent:
        ordered = sorted((r for r in als.recent if r.start_time), key=lambda r: r.start_time)
        series = [(k, k.replace("_", " ")) for k in ("temporal_ndcg_at_15", "ndcg_at_15", "precision_at_15")]
        series += [("temporal_baseline_ndcg_at_15", "temporal baseline ndcg@15")]
        fig = go.Figure()
        for key, label in series:
            points = [(r.start_time, r.metrics[key], r.run_name) for r in ordered if key in r.metrics]
            if not points:
                continue
            fig.add_trace(go.Scatter(
                x=[p[0] for p in points], y=[p[1] for p in points], text=[p[2] for p in points],
                mode="lines+markers", name=_metric_label(key),
                line=dict(dash="dash" if "baseline" in key else "solid"),
                hovertemplate="%{text}<br>%{x|%Y-%m-%d %H:%M}: %{y:.4f}<extra>" + label + "</extra>",
            ))
        if fig.data:
            _layout(fig, title=f"ALS metrics of the {len(ordered)} most recent runs", xaxis_title="run start (UTC)")
            s.figure(fig, "fig-als-runs", 340)
        s.add(table(
            ["Run", "Started (UTC)", "Status", "factors", "regularization", "alpha", "iterations",
             "temporal ndcg@15", "precision@15"],
            [[r.run_name, r.start_time.strftime("%Y-%m-%d %H:%M") if r.start_time else "?", r.status,
              r.params.get("factors", ""), r.params.get("regularization", ""), r.params.get("alpha", ""),
              r.params.get("iterations", ""), fmt_metric(r.metrics.get("temporal_ndcg_at_15")),
              fmt_metric(r.metrics.get("precision_at_15"))] for r in reversed(ordered)],
        ))

    shown = content.champion or (content.recent[0] if content.recent else None)
    if shown is None:
        s.note("No content-model run is recorded yet.")
    else:
        who = (f"champion v{content.champion_version}" if content.champion else "latest run") + f" ({shown.run_name})"
        names = [k for k in sorted(shown.metrics) if k.startswith(("next_view_hit_rate", "annoy_recall"))]
        hit = next((k for k in names if k.startswith("next_view_hit_rate")), None)
        if hit:
            base = shown.metrics.get(f"baseline_{hit}")
            readings.append(f"content {who}: next-view hit rate {fmt_metric(shown.metrics[hit])} against "
                            f"{fmt_metric(base)} for same-category best-sellers")
            fig = go.Figure(go.Bar(
                x=["content model (Annoy)", "same-category best-sellers"],
                y=[shown.metrics[hit], base], marker_color=["#2f6fb0", "#bcccdc"],
                text=[fmt_metric(shown.metrics[hit]), fmt_metric(base)], textposition="outside",
            ))
            _layout(fig, title=f"Content {who}: {_metric_label(hit)}")
            s.figure(fig, "fig-content-champion", 320)
        # The similar-items comparison (recommend/similar.py): each method's next-view hit rate.
        methods = [k for k in sorted(shown.metrics)
                   if k.startswith(("category_popular_next_view", "blend_next_view", "similar_items_next_view"))]
        s.add(table(["Content metric", "Value"], [
            [_metric_label(k), (fmt_metric(shown.metrics.get(k)), {"data-model": CONTENT, "data-metric": k,
                                                                   "data-value": data_value(shown.metrics.get(k))})]
            for k in names + [f"baseline_{n}" for n in names if f"baseline_{n}" in shown.metrics] + methods
        ]))
        method = shown.params.get("similar_items_method")
        if method:
            s.add(f'<p class="caption" data-similar-method="{esc(method)}">Similar items are published by the '
                  f'<b>{esc(method.replace("_", " "))}</b> method, the best next-view hit rate of this run.</p>')
    s.reading = "; ".join(readings) + "." if readings else ""
    return s


# ------------------------------------------------------------------------------ 8. data quality


def data_quality(data: DashboardData) -> Section:
    s = Section(8, "data-quality", "Data quality: rows in, valid, duplicates and quarantined; checks")
    manifests, quarantine, checks = data.manifests, data.quarantine, data.checks
    if data.period is None or (manifests.empty and checks.empty):
        s.note("No manifest and no check result for this period: nothing was cleaned or loaded for these dates.")
        return s
    readings = []
    if manifests.empty:
        s.note("No manifest is loaded for the dates of this period.")
    else:
        rows_in = int(manifests["rows_in"].sum())
        reasons = (quarantine.groupby("reason")["n_rows"].sum() if not quarantine.empty else pd.Series(dtype="int64"))
        reasons = reasons[reasons > 0].sort_values(ascending=False)
        text = (f"{fmt_count(rows_in)} input rows over {len(manifests)} date(s): "
                f"{fmt_rate(_ratio(manifests['rows_valid'].sum(), rows_in), 2)} valid, "
                f"{fmt_rate(_ratio(manifests['duplicates_dropped'].sum(), rows_in), 2)} exact duplicates dropped, "
                f"{fmt_rate(_ratio(manifests['rows_quarantined'].sum(), rows_in), 2)} quarantined")
        if len(reasons):
            text += f" (mostly {reasons.index[0]})"
        readings.append(text)
        unloaded = manifests[manifests["rows_loaded"] != manifests["rows_valid"]]
        for r in unloaded.itertuples():
            s.note(f"{r.event_date}: {r.rows_loaded:,} rows in the warehouse but {r.rows_valid:,} valid rows in the manifest.")

        x = [str(d) for d in manifests["event_date"]]
        fig = go.Figure()
        fig.add_trace(go.Bar(x=x, y=manifests["rows_valid"].tolist(), name="valid", marker_color="#54a24b"))
        fig.add_trace(go.Bar(x=x, y=manifests["duplicates_dropped"].tolist(), name="exact duplicates dropped",
                             marker_color="#9aa5b1"))
        palette = ("#e45756", "#f58518", "#b279a2", "#ff9da6", "#9d755d", "#eeca3b", "#72b7b2", "#bab0ac", "#4c78a8")
        per_reason = quarantine.pivot_table(index="event_date", columns="reason", values="n_rows", aggfunc="sum") \
            if not quarantine.empty else pd.DataFrame()
        for i, reason in enumerate(reasons.index):
            fig.add_trace(go.Bar(x=x, y=[int(per_reason[reason].get(d, 0)) for d in manifests["event_date"]],
                                 name=f"quarantined: {reason}", marker_color=palette[i % len(palette)]))
        _layout(fig, barmode="stack", title="Input rows per date (the stack adds up to the rows read)",
                yaxis_title="rows", xaxis_type="category")
        s.figure(fig, "fig-dq-rows", 360)
        table_rows = []
        for r in manifests.itertuples():
            day_reasons = quarantine[(quarantine["event_date"] == r.event_date) & (quarantine["n_rows"] > 0)] \
                if not quarantine.empty else quarantine
            table_rows.append([str(r.event_date)] + [
                (fmt_count(getattr(r, c)), {"data-date": str(r.event_date), "data-metric": c, "data-value": data_value(getattr(r, c))})
                for c in ("rows_in", "rows_valid", "duplicates_dropped", "rows_quarantined", "rows_loaded")
            ] + [", ".join(f"{q.reason} {q.n_rows:,}" for q in day_reasons.itertuples()) or "—"])
        s.add(table(["Date", "Rows in", "Valid", "Duplicates", "Quarantined", "Loaded", "Quarantined by reason"], table_rows))

    if checks.empty:
        s.note("No data-quality check has run for the dates of this period.")
    else:
        failed = checks[checks["status"] != "pass"]
        names = sorted(checks["check_name"].unique())
        dates = sorted(checks["run_date"].unique())
        if failed.empty:
            readings.append(f"all {len(names)} checks passed on each of {len(dates)} run date(s)")
        else:
            readings.append(f"{len(failed)} check result(s) failed: " +
                            ", ".join(sorted(set(f"{r.check_name} on {r.run_date}" for r in failed.itertuples()))))
        code = {"pass": 0, "fail": 1, "error": 2}
        grid = checks.set_index(["check_name", "run_date"])
        z, hover = [], []
        for name in names:
            z.append([code.get(grid.loc[(name, d), "status"], 2) if (name, d) in grid.index else None for d in dates])
            hover.append([f"{grid.loc[(name, d), 'status']}, {grid.loc[(name, d), 'n_violations']:,} violating rows"
                          if (name, d) in grid.index else "not run" for d in dates])
        fig = go.Figure(go.Heatmap(
            z=z, x=[str(d) for d in dates], y=names, zmin=0, zmax=2, text=hover, xgap=2, ygap=2,
            colorscale=[[0, "#54a24b"], [0.33, "#54a24b"], [0.34, "#e45756"], [0.66, "#e45756"], [0.67, "#f58518"], [1, "#f58518"]],
            colorbar=dict(tickvals=[0, 1, 2], ticktext=["pass", "fail", "error"]),
            hovertemplate="%{y} on %{x}: %{text}<extra></extra>",
        ))
        _layout(fig, title="Check results per run date", xaxis_type="category", margin=dict(l=220, r=30, t=90, b=50))
        s.figure(fig, "fig-dq-checks", 120 + 26 * len(names))
        s.add(table(["Check", "What it checks", "Dates run", "Failed"], [
            [name, checks[checks["check_name"] == name]["description"].iloc[0],
             len(checks[checks["check_name"] == name]),
             (str(len(failed[failed["check_name"] == name])), {"data-check": name, "data-value": len(failed[failed["check_name"] == name])})]
            for name in names
        ], css="checks"))
        if not failed.empty:
            s.add(table(["Run date", "Check", "Status", "Violations", "Details"], [
                [str(r.run_date), r.check_name, (r.status, {"class": f"status-{r.status}"}), fmt_count(r.n_violations),
                 (r.details or "")[:400]] for r in failed.itertuples()
            ], css="checks"))
    s.reading = ("; ".join(readings) + ".") if readings else ""
    s.reading = s.reading[:1].upper() + s.reading[1:]
    return s


def build_sections(data: DashboardData, tracking: TrackingData) -> list[Section]:
    return [
        headline(data),
        funnel(data),
        daily_trend(data),
        heatmaps(data),
        top_items(data),
        rfm(data),
        recommenders(tracking),
        data_quality(data),
    ]
