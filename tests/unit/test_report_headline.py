"""The headline and funnel of the dashboard equal the marts, and both equal figures worked out by
hand from the three-day store of test_warehouse_lake (STORE_DAYS, events e1..e16, sessions s1..s7).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from test_report_models import parse, section
from test_warehouse_lake import STORE_DAYS, load_days

from shopflow.config import get_settings
from shopflow.marts import build_marts

HEADLINE = ("n_events", "n_users", "n_sessions", "n_purchases", "revenue", "conversion_rate_events",
            "conversion_rate_views", "conversion_rate_sessions", "cart_abandonment_rate")

# 2019-11-01..03, scope all: e1..e16; users 1..4; sessions s1..s7 (s3 spans midnight, counted
# once); purchases e3 e8 e12 e13 = 1000 + 1000 + 50.25 + 300.50; views 7; viewing sessions: all but
# s5 (6), of which s1 and s3 purchase (s5 buys without a view); carting s1 s2 s4 s7, of which
# s2 s4 s7 buy nothing.
ALL = {"n_events": 16, "n_users": 4, "n_sessions": 7, "n_purchases": 4, "revenue": 2350.75,
       "conversion_rate_events": 4 / 16, "conversion_rate_views": 4 / 7, "conversion_rate_sessions": 2 / 6,
       "cart_abandonment_rate": 3 / 4}
# Reference filter (category_code and brand known): e1 e2 e3 e7..e11 e14..e16; users 1 3 4;
# sessions s1 s3 s4 s6 s7, all viewing; purchases e3 e8; carting s1 s4 s7, s4 s7 abandon.
REFERENCE = {"n_events": 11, "n_users": 3, "n_sessions": 5, "n_purchases": 2, "revenue": 2000.0,
             "conversion_rate_events": 2 / 11, "conversion_rate_views": 2 / 5, "conversion_rate_sessions": 2 / 5,
             "cart_abandonment_rate": 2 / 3}


def settings(tmp_path):
    return dataclasses.replace(get_settings(), mlflow_uri=f"sqlite:///{tmp_path / 'no-mlflow.db'}")


@pytest.fixture
def store(duck):
    wh, lake = duck
    load_days(wh, lake, STORE_DAYS)
    build_marts(wh, dt.date(2019, 11, 2), window_days=2)
    build_marts(wh, dt.date(2019, 11, 3), window_days=3)
    return wh


def headline_cells(html: str) -> dict[tuple[str, str], dict]:
    return {(e["data-scope"], e["data-metric"]): e for e in parse(html) if e.get("data-scope")}


def test_headline_equals_the_marts_and_the_hand_counts(store, tmp_path):
    from shopflow.report import render_report

    html = render_report(settings(tmp_path), warehouse=store)
    cells = headline_cells(html)
    marts = store.query("select * from mart_period_summary where as_of_date = date '2019-11-03'")
    for scope, expected in (("all", ALL), ("reference_filter", REFERENCE)):
        mart = marts[marts["scope"] == scope].iloc[0]
        for metric in HEADLINE:
            shown = float(cells[(scope, metric)]["data-value"])
            assert shown == pytest.approx(expected[metric], rel=1e-12), (scope, metric)
            assert shown == float(mart[metric]), (scope, metric)
    # What the reader sees, rounded.
    assert [cells[("all", m)]["text"] for m in HEADLINE] == [
        "16", "4", "7", "4", "2,350.75", "25.00%", "57.14%", "33.33%", "75.00%"]  # sessions: 2 / 6
    assert [cells[("reference_filter", m)]["text"] for m in HEADLINE] == [
        "11", "3", "5", "2", "2,000.00", "18.18%", "40.00%", "40.00%", "66.67%"]
    sec = section(parse(html), 1)
    assert "16 events from 4 users in 7 sessions over 3 loaded day(s), 2019-11-01 to 2019-11-03" in sec["text"]
    # 25.00% - 2.06% = 22.94 points
    assert "Conversion per event is 25.00%, 22.94 points above the 2.06% industry average" in sec["text"]
    assert "purchases ÷ all events" in sec["text"]  # the definition sits beside the number


def test_an_earlier_snapshot_is_shown_when_asked(store, tmp_path):
    from shopflow.report import render_report

    html = render_report(settings(tmp_path), warehouse=store, as_of=dt.date(2019, 11, 2))
    cells = headline_cells(html)
    # 2019-11-01..02: e1..e13; users 1 2 3 4; sessions s1..s5; purchases e3 e8 e12 e13.
    got = {m: float(cells[("all", m)]["data-value"]) for m in ("n_events", "n_users", "n_sessions", "n_purchases")}
    assert got == {"n_events": 13, "n_users": 4, "n_sessions": 5, "n_purchases": 4}
    assert "period: <b>2019-11-01 to 2019-11-02 (2 days)</b>" in html


def step_cells(html: str) -> dict[tuple[str, str], float | None]:
    return {(e["data-step"], e["data-basis"]): (float(e["data-value"]) if e["data-value"] else None)
            for e in parse(html) if e.get("data-step")}


def test_funnel_step_rates_on_events_and_sessions(store, tmp_path):
    from shopflow.report import render_report

    html = render_report(settings(tmp_path), warehouse=store)
    got = step_cells(html)
    # events: views 7, carts 4, purchases 4; sessions: viewing 6, carting 4, purchasing 3
    assert got == pytest.approx({
        ("view_to_cart", "events"): 4 / 7, ("view_to_cart", "sessions"): 4 / 6,
        ("cart_to_purchase", "events"): 4 / 4, ("cart_to_purchase", "sessions"): 3 / 4,
        ("view_to_purchase", "events"): 4 / 7, ("view_to_purchase", "sessions"): 3 / 6,
    })
    sec = section(parse(html), 2)
    assert ("The steepest drop is at the view → cart step, which converts at 57.14% on events (66.67% on "
            "sessions); purchases are 57.14% of views.") in sec["text"]
    assert sec["data-figures"] == "1"


def test_reference_scope_drives_the_funnel(store, tmp_path):
    from shopflow.report import render_report

    html = render_report(settings(tmp_path), warehouse=store, scope="reference_filter")
    # reference rows: views e1 e7 e9 e14 e15, carts e2 e10 e16, purchases e3 e8; sessions
    # viewing s1 s3 s4 s6 s7, carting s1 s4 s7, purchasing s1 s3.
    assert step_cells(html) == pytest.approx({
        ("view_to_cart", "events"): 3 / 5, ("view_to_cart", "sessions"): 3 / 5,
        ("cart_to_purchase", "events"): 2 / 3, ("cart_to_purchase", "sessions"): 2 / 3,
        ("view_to_purchase", "events"): 2 / 5, ("view_to_purchase", "sessions"): 2 / 5,
    })
    # The headline still shows both scopes.
    assert float(headline_cells(html)[("all", "n_events")]["data-value"]) == 16


def test_unknown_scope_is_a_clear_error(store, tmp_path):
    from shopflow.report import render_report
    from shopflow.report.data import ReportError

    with pytest.raises(ReportError, match="scope must be one of all, reference_filter"):
        render_report(settings(tmp_path), warehouse=store, scope="everything")
