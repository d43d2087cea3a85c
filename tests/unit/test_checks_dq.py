"""Data-quality checks: each defect trips exactly its checks, results land in dq_results first."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from test_warehouse_lake import STORE_DAYS, ev, load_days, rows_of, write_partition

from shopflow.marts import build_marts, checks, run_checks
from shopflow.warehouse.base import DataQualityError

DAY = dt.date(2019, 11, 1)
CHECKS = [
    "accepted_event_types",
    "derived_columns_consistent",
    "funnel_counts_non_negative",
    "funnel_matches_events",
    "manifest_accounting",
    "not_null_keys",
    "partition_matches_manifest",
    "quarantine_share",
    "unique_events",
]


def base_rows():
    return [
        ev("2019-11-01 08:00:00", "view", 100, 1, "s1"),
        ev("2019-11-01 08:05:00", "cart", 100, 1, "s1"),
        ev("2019-11-01 09:00:00", "purchase", 200, 2, "s2", brand=None),
    ]


def results(wh):
    return wh.query("select * from dq_results where run_date = @d order by check_name", {"d": DAY})


def test_every_check_file_is_run(duck):
    assert checks() == CHECKS


def test_a_clean_day_passes_every_check(duck):
    wh, lake = duck
    load_days(wh, lake, STORE_DAYS)
    build_marts(wh, DAY, window_days=1)
    for day in STORE_DAYS:
        run_checks(wh, day)
    got = results(wh)
    assert rows_of(got, ("check_name", "n_violations", "status", "details")) == [(c, 0, "pass", "") for c in CHECKS]
    assert len(wh.read_table("dq_results")) == 3 * len(CHECKS)


def _defect(kind, rows, manifest):
    if kind == "duplicate_event":
        rows.append(dict(rows[0]))
    elif kind == "unknown_event_type":
        rows[1]["event_type"] = "click"
    elif kind == "null_session":
        rows[2]["user_session"] = None
    elif kind == "manifest_rows_valid":
        manifest.update(rows_in=5, rows_valid=5)
    elif kind == "manifest_accounting":
        manifest.update(rows_in=4)
    elif kind == "wrong_weekday":
        rows[0]["event_weekday"] = 1  # the 1st is a Friday, ISO 5
    elif kind == "wrong_category":
        rows[0]["category"] = "appliances"


@pytest.mark.parametrize(
    "kind, failing",
    [
        ("duplicate_event", {"unique_events": 1}),
        # 'click' is none of the four types, so the funnel's types no longer add up either, in
        # both scopes (the row has a category_code and a brand)
        ("unknown_event_type", {"accepted_event_types": 1, "funnel_counts_non_negative": 2}),
        ("null_session", {"not_null_keys": 1}),
        ("manifest_rows_valid", {"partition_matches_manifest": 1}),
        ("manifest_accounting", {"manifest_accounting": 1}),
        ("wrong_weekday", {"derived_columns_consistent": 1}),
        ("wrong_category", {"derived_columns_consistent": 1}),
    ],
)
def test_each_defect_fails_its_checks(duck, kind, failing):
    wh, lake = duck
    rows, manifest = base_rows(), {}
    _defect(kind, rows, manifest)
    write_partition(lake, "2019-11-01", rows, manifest=manifest)
    wh.load_events_partition(DAY, str(lake))
    build_marts(wh, DAY, window_days=1)
    first = sorted(failing)[0]
    with pytest.raises(DataQualityError, match=rf"^check {first} failed for 2019-11-01: {failing[first]} violating rows"):
        run_checks(wh, DAY)
    got = results(wh)  # recorded before the error was raised
    assert {r.check_name: r.n_violations for r in got.itertuples() if r.status == "fail"} == failing
    assert set(got.loc[got["status"] == "pass", "check_name"]) == set(CHECKS) - set(failing)


def test_details_show_the_violating_rows(duck):
    wh, lake = duck
    rows = base_rows()
    rows[1]["event_type"] = "click"
    write_partition(lake, "2019-11-01", rows)
    wh.load_events_partition(DAY, str(lake))
    build_marts(wh, DAY, window_days=1)
    with pytest.raises(DataQualityError) as raised:
        run_checks(wh, DAY)
    message = str(raised.value)
    assert "check accepted_event_types failed for 2019-11-01: 1 violating rows" in message
    assert "; check funnel_counts_non_negative failed for 2019-11-01" in message
    details = results(wh).set_index("check_name").loc["accepted_event_types", "details"]
    assert details == '1 violating rows, e.g. [{"event_date":"2019-11-01","event_type":"click","n_events":1}]'


def test_a_tampered_funnel_fails_and_a_rerun_replaces_the_results(duck):
    wh, lake = duck
    write_partition(lake, "2019-11-01", base_rows())
    wh.load_events_partition(DAY, str(lake))
    build_marts(wh, DAY, window_days=1)
    # tampered in place (a table rewritten with other column types would fail the next dbt run
    # instead: on_schema_change is fail)
    wh._con.execute("update mart_daily_funnel set n_views = -1, n_events = 2 where scope = 'all'")
    with pytest.raises(DataQualityError, match="check funnel_counts_non_negative failed for 2019-11-01: 1 violating"):
        run_checks(wh, DAY)
    failed = results(wh).query("status == 'fail'")
    # n_views = -1; and the funnel's 2 events are not the 3 loaded
    assert failed["check_name"].tolist() == ["funnel_counts_non_negative", "funnel_matches_events"]
    sample = json.loads(failed.iloc[1]["details"].split("e.g. ", 1)[1])
    assert (sample[0]["n_loaded"], sample[0]["n_in_funnel"]) == (3, 2)

    build_marts(wh, DAY, window_days=1)  # rebuilding from events repairs the funnel
    run_checks(wh, DAY)
    assert results(wh)["status"].tolist() == ["pass"] * len(CHECKS)


def test_a_check_that_cannot_run_fails(duck):
    wh, lake = duck
    write_partition(lake, "2019-11-01", base_rows())
    wh.load_events_partition(DAY, str(lake))
    # no marts built: the funnel checks have no table to read
    with pytest.raises(DataQualityError, match="check funnel_counts_non_negative failed for 2019-11-01: could not run"):
        run_checks(wh, DAY)
    got = results(wh).set_index("check_name")["status"]
    assert got["funnel_counts_non_negative"] == "error"
    assert got["unique_events"] == "pass"


def test_a_range_build_checks_every_date_and_names_the_bad_one(duck):
    """A build of several dates (the demo's deferred month, a backfill in one invocation) checks
    each of them: before, only the run date was checked and recorded."""
    wh, lake = duck
    bad = base_rows()
    bad[1]["event_type"] = "click"
    write_partition(lake, "2019-11-01", bad)
    later = dt.date(2019, 11, 2)
    write_partition(lake, "2019-11-02", [ev("2019-11-02 10:00:00", "view", 100, 1, "s9"),
                                         ev("2019-11-02 10:01:00", "purchase", 100, 1, "s9")])
    for day in (DAY, later):
        wh.load_events_partition(day, str(lake))
    build_marts(wh, later, window_days=1, as_of_dates=[DAY])
    with pytest.raises(DataQualityError) as raised:
        run_checks(wh, later, dates=[DAY])
    message = str(raised.value)
    assert "check accepted_event_types failed for 2019-11-01: 1 violating rows" in message
    assert "failed for 2019-11-02" not in message
    got = wh.query("select cast(run_date as varchar) as d, check_name, n_violations, status from dq_results "
                   "where status != 'pass' or run_date = @d order by d, check_name", {"d": later})
    failing = [(d, c, n, s) for d, c, n, s in rows_of(got) if d == "2019-11-01"]
    assert ("2019-11-01", "accepted_event_types", 1, "fail") in failing
    assert rows_of(got[got["d"] == "2019-11-02"], ("check_name", "n_violations", "status")) == \
        [(c, 0, "pass") for c in CHECKS]
    assert len(wh.read_table("dq_results")) == 2 * len(CHECKS)
