"""mart_rfm on DuckDB against hand-computed scores, with users exactly on the bin edges."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest

from test_warehouse_lake import ev, load_days, rows_of

from shopflow.marts import build_marts

# As of 2019-11-11 with an 11-day window (11-01 .. 11-11). Each purchasing user visits on one
# date only, in `frequency` sessions; the first session holds the purchases.
#
#  user  last visit  recency  frequency  purchases        monetary
#  11    11-01       10        1         110.00           110.00
#  12    11-03        8        3          70.00            70.00
#  13    11-05        6        5          10.00            10.00
#  14    11-07        4        7          69.99            69.99   (one session crosses into 11-07)
#  15    11-09        2        9          30.00            30.00
#  16    11-11        0       11          20.00 + 30.00    50.00
#
# Ranges: recency 0..10 (bin width 2), frequency 1..11 (width 2), monetary 10..110 (width 20).
# Inner edges: recency 2 4 6 8, frequency 3 5 7 9, monetary 30 50 70 90; a value on an edge
# goes to the upper bin, the maximum to bin 5.
PURCHASERS = {
    11: ("2019-11-01", 1, [110.00]),
    12: ("2019-11-03", 3, [70.00]),
    13: ("2019-11-05", 5, [10.00]),
    14: ("2019-11-07", 7, [69.99]),
    15: ("2019-11-09", 9, [30.00]),
    16: ("2019-11-11", 11, [20.00, 30.00]),
}


def rfm_days():
    days = defaultdict(list)
    for user, (day, sessions, prices) in PURCHASERS.items():
        for s in range(sessions):
            days[day].append(ev(f"{day} 12:00:00", "view", 1, user, f"u{user}-s{s}", price=5.0))
        for i, price in enumerate(prices):
            days[day].append(ev(f"{day} 12:30:0{i}", "purchase", 2, user, f"u{user}-s0", price=price))
    # user 14's session s1 started the evening before: still one session
    days["2019-11-06"].append(ev("2019-11-06 23:59:00", "view", 1, 14, "u14-s1", price=5.0))
    # user 17 only views; user 18 bought on 10-31, before the window, and only viewed inside it
    days["2019-11-05"].append(ev("2019-11-05 08:00:00", "view", 1, 17, "u17", price=5.0))
    days["2019-10-31"].append(ev("2019-10-31 08:00:00", "purchase", 1, 18, "u18-a", price=500.0))
    days["2019-11-02"].append(ev("2019-11-02 08:00:00", "view", 1, 18, "u18-b", price=5.0))
    return dict(days)


@pytest.fixture
def rfm(duck):
    wh, lake = duck
    load_days(wh, lake, rfm_days())
    build_marts(wh, dt.date(2019, 11, 11), window_days=11)
    return wh.query("select * from mart_rfm order by user_id")


def test_rfm_inputs_per_purchasing_user(rfm):
    cols = ("user_id", "last_visit_date", "last_purchase_date", "recency_days", "frequency", "n_purchases", "monetary")
    assert rows_of(rfm, cols) == [
        (11, "2019-11-01", "2019-11-01", 10, 1, 1, 110.0),
        (12, "2019-11-03", "2019-11-03", 8, 3, 1, 70.0),
        (13, "2019-11-05", "2019-11-05", 6, 5, 1, 10.0),
        (14, "2019-11-07", "2019-11-07", 4, 7, 1, 69.99),
        (15, "2019-11-09", "2019-11-09", 2, 9, 1, 30.0),
        (16, "2019-11-11", "2019-11-11", 0, 11, 2, 50.0),
    ]  # users 17 (no purchase) and 18 (purchase before the window) are absent
    assert set(rfm["as_of_date"].dt.strftime("%Y-%m-%d")) == {"2019-11-11"}


def test_equal_width_scores_put_edge_values_in_the_upper_bin(rfm):
    assert rows_of(rfm, ("user_id", "r_score_equal_width", "f_score_equal_width", "m_score_equal_width")) == [
        # recency 10 = max -> bin 5 -> R 1; frequency 1 = min -> 1; monetary 110 = max -> 5
        (11, 1, 1, 5),
        # recency 8 on the edge 8 -> bin 5 -> R 1; frequency 3 on edge 3 -> 2; monetary 70 on edge 70 -> 4
        (12, 1, 2, 4),
        # recency 6 (edge) -> bin 4 -> R 2; frequency 5 (edge) -> 3; monetary 10 = min -> 1
        (13, 2, 3, 1),
        # recency 4 (edge) -> bin 3 -> R 3; frequency 7 (edge) -> 4; monetary 69.99 just below 70 -> 3
        (14, 3, 4, 3),
        # recency 2 (edge) -> bin 2 -> R 4; frequency 9 (edge) -> 5; monetary 30 (edge) -> 2
        (15, 4, 5, 2),
        # recency 0 = min -> bin 1 -> R 5; frequency 11 = max -> 5; monetary 50 (edge) -> 3
        (16, 5, 5, 3),
    ]


def test_quintile_scores_segments_and_frequency_quartiles(rfm):
    # NTILE(5) over 6 users makes tiles of 2, 1, 1, 1, 1.
    # R: recency descending 11 12 13 14 15 16 -> 1 1 2 3 4 5
    # F: frequency ascending 11 12 13 14 15 16 -> 1 1 2 3 4 5
    # M: monetary ascending 13 (10) 15 (30) 16 (50) 14 (69.99) 12 (70) 11 (110) -> 1 1 2 3 4 5
    # fm = (F + M) / 2: 11 (1+5)/2=3, 12 2.5, 13 1.5, 14 3, 15 2.5, 16 3.5
    assert rows_of(rfm, ("user_id", "r_score_quintile", "f_score_quintile", "m_score_quintile", "rfm_cell", "segment")) == [
        (11, 1, 1, 5, "115", "at_risk"),  # R 1, fm 3
        (12, 1, 1, 4, "114", "hibernating"),  # R 1, fm 2.5
        (13, 2, 2, 1, "221", "hibernating"),  # R 2, fm 1.5
        (14, 3, 3, 3, "333", "loyal"),  # R 3, fm 3
        (15, 4, 4, 1, "441", "promising"),  # R 4, fm 2.5
        (16, 5, 5, 2, "552", "loyal"),  # R 5, fm 3.5 (< 4: not a champion)
    ]
    # frequencies 1 3 5 7 9 11, linear interpolation at (n - 1) * p = 1.25, 2.5, 3.75:
    # p25 = 3 + 0.25 * 2 = 3.5; median = (5 + 7) / 2 = 6; p75 = 7 + 0.75 * 2 = 8.5
    assert rows_of(rfm.head(1), ("frequency_p25", "frequency_median", "frequency_p75")) == [(3.5, 6.0, 8.5)]
    assert rfm["frequency_quartile"].tolist() == [1, 1, 2, 3, 4, 4]


def test_a_single_purchasing_user_scores_in_bin_one(duck):
    wh, lake = duck
    load_days(wh, lake, {"2019-11-05": [ev("2019-11-05 10:00:00", "purchase", 1, 7, "s", price=12.5)]})
    build_marts(wh, dt.date(2019, 11, 5), window_days=1)
    got = wh.query("select * from mart_rfm")
    # min = max everywhere: every equal-width bin is 1, so R = 6 - 1 = 5, F = 1, M = 1
    assert rows_of(got, ("user_id", "recency_days", "frequency", "monetary", "r_score_equal_width",
                         "f_score_equal_width", "m_score_equal_width", "r_score_quintile", "frequency_quartile")) == [
        (7, 0, 1, 12.5, 5, 1, 1, 1, 1)
    ]
