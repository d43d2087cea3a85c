"""Sections 3 to 6 and 8 against hand-worked figures, the empty and purchase-free periods, and the
page's self-containment. The store is test_warehouse_lake.STORE_DAYS (e1..e16, see there):

  Fri 2019-11-01  08h e1 e2 e3 (purchase e3) | 09h e4 e5 e6 | 23h e7
  Sat 2019-11-02  00h e8 (purchase)          | 10h e9 e10 e11 e12 e13 (purchases e12 e13)
  Sun 2019-11-03  12h e14 e15                | 13h e16
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pandas as pd
import pytest

from test_report_models import parse, section
from test_warehouse_lake import STORE_DAYS, write_partition

from shopflow.config import get_settings
from shopflow.marts import build_marts, checks, run_checks
from shopflow.schema import QUARANTINE_REASONS
from shopflow.warehouse.base import DataQualityError


def settings(tmp_path, **changes):
    return dataclasses.replace(get_settings(), mlflow_uri=f"sqlite:///{tmp_path / 'no-mlflow.db'}", **changes)


def render(wh, tmp_path, **kwargs) -> str:
    from shopflow.report import render_report

    return render_report(settings(tmp_path), warehouse=wh, **kwargs)


def test_daily_trend_reading_and_weekend_shading(store, tmp_path):
    html = render(store, tmp_path)
    sec = section(parse(html), 3)
    # Events per day 7, 6, 3; weekend (Sat 2, Sun 3) mean (6 + 3) / 2 = 4.5, weekday (Fri 1) 7;
    # purchases 1, 3, 0.
    assert ("Busiest day: 2019-11-01 (Friday) with 7 events; weekend days average 4.5 events against 7.0 on "
            "weekdays; most purchases on 2019-11-02 (Saturday, 3)") in sec["text"]
    figure = re.search(r'Plotly.newPlot\(\s*"fig-daily-trend",\s*(\[.*?\]),\s*(\{.*?\})\s*,\s*\{"displaylogo"', html, re.S)
    # One shaded rectangle per weekend day of the window: Saturday 2 and Sunday 3, noon to noon.
    rects = re.findall(r'"x0":"([^"]+)","x1":"([^"]+)"', figure.group(2).replace(" ", ""))
    assert [(a[:13], b[:13]) for a, b in rects] == [("2019-11-01T12", "2019-11-02T12"), ("2019-11-02T12", "2019-11-03T12")]


def test_hour_weekday_matrix_averages_per_loaded_date():
    from shopflow.report.sections import hour_weekday_matrix

    hourly = pd.DataFrame(
        [(1, 10, "view", 6), (1, 10, "purchase", 2), (1, 11, "view", 1), (3, 3, "view", 5), (7, 23, "cart", 4)],
        columns=["event_weekday", "event_hour", "event_type", "n_events"],
    )
    # Two Mondays, one Wednesday and one Sunday loaded; no Tuesday.
    days = {1: 2, 3: 1, 7: 1}
    every = hour_weekday_matrix(hourly, days)
    assert every[0][10] == 4.0 and every[0][11] == 0.5 and every[0][9] == 0.0
    assert every[1] == [None] * 24
    assert every[2][3] == 5.0 and every[6][23] == 4.0
    purchases = hour_weekday_matrix(hourly, days, "purchase")
    assert purchases[0][10] == 1.0 and sum(v for row in purchases if row[0] is not None for v in row) == 1.0


def test_heatmap_reading(store, tmp_path):
    sec = section(parse(render(store, tmp_path)), 4)
    # By hour: 08h 3, 09h 3, 10h 5, 12h 2, 13h 1, 00h 1, 23h 1 -> peak 10h; 06-15h: 3+3+5+2+1 = 14
    # of 16 = 87.5%. Purchases per loaded day: Fri 1, Sat 3, Sun 0.
    assert ("Activity peaks at 10:00 UTC; 06:00–15:00 UTC holds 87.5% of events; purchases per day are "
            "highest on Saturdays (3.0 on average)") in sec["text"]
    assert sec["data-figures"] == "2"
    assert "No loaded date falls on Monday, Tuesday, Wednesday, Thursday" in sec["text"]


def test_top_items_reading(store, tmp_path):
    sec = section(parse(render(store, tmp_path)), 5)
    # Categories: views e1 e7 e9 e14 e15 electronics, e4 appliances, e5 unknown -> top 3 hold 6/7;
    # carts e2 e10 e16 electronics, e6 unknown -> 3/4; removal e11 -> 1/1; purchases e3 e8
    # electronics, e13 appliances, e12 unknown -> 3/4. Brands: views apple e1 e7 e14, sony e9 e15,
    # samsung e5 (e4 none) -> 6/7; carts apple e2, samsung e6, sony e10 e16 -> 4/4; purchases
    # apple e3 e8, samsung e12 (e13 none) -> 3/4.
    assert ("The top 3 categories hold 85.7% of views, 75.0% of carts, 100.0% of removals from cart, "
            "75.0% of purchases; the top 3 brands hold 85.7% of views, 100.0% of carts, 100.0% of removals "
            "from cart, 75.0% of purchases") in sec["text"]
    assert sec["data-figures"] == "4"


def test_rfm_section(store, tmp_path):
    html = render(store, tmp_path)
    sec = section(parse(html), 6)
    # Buyers: user 1 (s1 s6, 1000.00), user 2 (s2 s5, 350.75), user 3 (s3, 1000.00). Frequency
    # 2, 2, 1: equal-width F=1 only user 3; monetary 1000, 350.75, 1000: M=1 only user 2.
    # Frequency quartiles of (1, 2, 2): p25 1.5, median 2, p75 2.
    assert ("3 purchasing customers. Equal-width bins put 33.3% of them in F=1 and 33.3% in M=1, as the "
            "reference found; quintiles spread them evenly. Median visit frequency: 2 sessions (quartiles "
            "1.5 and 2)") in sec["text"]
    segments = {e["data-segment"]: int(e["data-value"]) for e in parse(html) if e.get("data-segment")}
    # Quintile scores (3 buyers: ntile(5) gives 1, 2, 3). Recency (days before 11-03, desc):
    # user 2 (1 day) and user 3 (1 day) -> r 1 and 2 by user_id, user 1 (0) r 3. Frequency by
    # (frequency, user_id): user 3 f1, user 1 f2, user 2 f3. Monetary by (monetary, user_id):
    # user 2 m1, user 1 m2, user 3 m3. User 1: r3, (2+2)/2=2 -> need_attention. Users 2 (r1) and
    # 3 (r2) with (f+m)/2 = 2 -> hibernating.
    assert segments == {"need_attention": 1, "hibernating": 2}
    assert sec["data-figures"] == "3"


def test_data_quality_section_counts_reasons_and_failed_checks(duck, tmp_path):
    wh, lake = duck
    by_reason = {r: 0 for r in QUARANTINE_REASONS}
    by_reason.update(unparseable_time=2, negative_price=1)
    days = dict(STORE_DAYS)
    for day, rows in days.items():
        write_partition(lake, day, rows)
    # 11-01: 7 valid + 2 duplicates + 3 quarantined = 12 rows in. 11-02's manifest claims 7 valid
    # rows but its partition holds 6: the partition check fails for that date.
    write_partition(lake, "2019-11-01", days["2019-11-01"], manifest={
        "rows_in": 12, "duplicates_dropped": 2, "rows_quarantined": 3, "quarantined_by_reason": by_reason})
    write_partition(lake, "2019-11-02", days["2019-11-02"], manifest={"rows_in": 7, "rows_valid": 7})
    for day in days:
        wh.load_events_partition(dt.date.fromisoformat(day), str(lake))
    build_marts(wh, dt.date(2019, 11, 3), window_days=3)
    # 3 of 11-01's 12 rows quarantined (25%) would also fail quarantine_share (over 5%), which
    # this test is not about: the other checks only.
    others = [c for c in checks() if c != "quarantine_share"]
    for day in days:
        if day == "2019-11-02":
            with pytest.raises(DataQualityError, match="partition_matches_manifest"):
                run_checks(wh, day, names=others)
        else:
            run_checks(wh, day, names=others)
    html = render(wh, tmp_path)
    sec = section(parse(html), 8)
    # rows in 12 + 7 + 3 = 22; valid 7 + 7 + 3 = 17 (77.27%); duplicates 2 (9.09%); quarantined 3
    # (13.64%), two of them unparseable_time.
    assert ("22 input rows over 3 date(s): 77.27% valid, 9.09% exact duplicates dropped, 13.64% quarantined "
            "(mostly unparseable_time); 1 check result(s) failed: partition_matches_manifest on 2019-11-02") in sec["text"]
    assert "2019-11-02: 6 rows in the warehouse but 7 valid rows in the manifest" in sec["text"]
    cells = {(e["data-date"], e["data-metric"]): int(e["data-value"]) for e in parse(html) if e.get("data-date")}
    assert [cells[("2019-11-01", m)] for m in ("rows_in", "rows_valid", "duplicates_dropped", "rows_quarantined", "rows_loaded")] \
        == [12, 7, 2, 3, 7]
    assert cells[("2019-11-02", "rows_loaded")] == 6
    failed = {e["data-check"]: int(e["data-value"]) for e in parse(html) if e.get("data-check")}
    assert failed["partition_matches_manifest"] == 1 and failed["unique_events"] == 0
    assert "unparseable_time 2, negative_price 1" in html or "negative_price 1, unparseable_time 2" in html
    assert sec["data-figures"] == "2"


def figures_and_notes(html: str) -> dict[int, tuple[int, str]]:
    elements = parse(html)
    return {n: (int(section(elements, n)["data-figures"]), section(elements, n)["text"]) for n in range(1, 9)}


def test_period_without_purchases(store, tmp_path):
    build_marts(store, dt.date(2019, 11, 3), window_days=1)  # only Sunday: views e14 e15, cart e16
    html = render(store, tmp_path)
    cells = {(e["data-scope"], e["data-metric"]): e for e in parse(html) if e.get("data-scope")}
    assert [cells[("all", m)]["text"] for m in ("n_events", "n_users", "n_sessions", "n_purchases", "revenue",
                                                "conversion_rate_events", "cart_abandonment_rate")] \
        == ["3", "2", "2", "0", "0.00", "0.00%", "100.00%"]
    got = figures_and_notes(html)
    assert "No purchases in this period: every conversion rate is 0" in got[1][1]
    assert got[2][0] == 1 and "No purchases in this period: the funnel stops at the cart step" in got[2][1]
    assert got[4][0] == 1 and "only the activity heatmap is drawn" in got[4][1]
    assert got[5][0] == 4 and "the purchase rankings are empty" in got[5][1]
    assert got[6][0] == 0 and "No purchasing customers in this period" in got[6][1]


def test_empty_period_renders_a_note_in_every_section(store, tmp_path):
    build_marts(store, dt.date(2019, 12, 31), window_days=3)  # nothing loaded after 11-03
    # An empty window leaves no snapshot row, so the latest snapshot is still 11-03's: the DAG
    # passes its run date, as here.
    html = render(store, tmp_path, as_of=dt.date(2019, 12, 31))
    got = figures_and_notes(html)
    assert all(n == 0 for n, _ in got.values()), got
    assert "No events in this period" in got[1][1] and "no funnel" in got[2][1]
    assert "No ranked items" in got[5][1] and "No purchasing customers" in got[6][1]
    assert "No manifest and no check result for this period" in got[8][1]
    assert "the window holds no events, or the marts were not built for that date" in html
    # The window is as long as the latest snapshot's (3 days).
    assert "period: <b>2019-12-29 to 2019-12-31 (3 days)</b>" in html


def test_asking_for_a_date_without_marts_is_an_empty_period(store, tmp_path):
    # The 30-day window ending 11-20 holds 11-01..03, but without that date's snapshot the page
    # shows no section from other periods' marts.
    html = render(store, tmp_path, as_of=dt.date(2019, 11, 20))
    assert "run `shopflow marts --date 2019-11-20`" in html
    assert all(n == 0 for n, _ in figures_and_notes(html).values())


def test_no_warehouse_yet(tmp_path):
    from shopflow.report import render_report

    missing = tmp_path / "warehouse.duckdb"
    html = render_report(settings(tmp_path, duckdb_path=missing))
    assert f"No warehouse at {missing} yet" in html
    assert not missing.exists()  # the report does not create an empty warehouse
    for n, (figures, text) in figures_and_notes(html).items():
        assert figures == 0 and 'class="note"' in section_html(html, n)


def section_html(html: str, number: int) -> str:
    return re.search(rf'<section[^>]*data-section="{number}".*?</section>', html, re.S).group(0)


def test_page_is_self_contained(store, tmp_path):
    html = render(store, tmp_path)
    # plotly.js is inlined exactly once, ahead of every figure.
    assert html.count("* plotly.js v") == 1
    assert html.index("* plotly.js v") < html.index("Plotly.newPlot(")
    # 1 + 1 + 1 + 2 heatmaps + 4 top-10 + 3 RFM + 0 (no MLflow) + 1 (manifests; no checks ran)
    assert html.count("Plotly.newPlot(") == sum(n for n, _ in figures_and_notes(html).values()) == 13
    # Nothing on the page names something to fetch.
    tags = re.findall(r"<(?:script|link|img|iframe|source|embed|object)\b[^>]*>", html, re.I)
    assert tags and not [t for t in tags if re.search(r"\b(src|href|data)\s*=", t, re.I)], tags
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", html.split("<script>", 1)[0])
    assert "cdn.plot.ly/plotly" not in html.replace("https://cdn.plot.ly/un/", "")
