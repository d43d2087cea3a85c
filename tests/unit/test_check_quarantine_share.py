"""The quarantine-share check: a date whose export was damaged (every row quarantined as
non_integer_id, as a pandas export with float ids is) fails, naming --repair-float-ids; a date
with a little quarantine passes; a date with no valid rows fails."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from test_warehouse_lake import ev, write_partition

from shopflow.marts import run_checks
from shopflow.schema import QUARANTINE_REASONS
from shopflow.warehouse.base import DataQualityError

DAY = dt.date(2019, 11, 1)


def manifest(rows_in: int, rows_valid: int, **quarantined: int) -> dict:
    by_reason = {r: quarantined.get(r, 0) for r in QUARANTINE_REASONS}
    return {"rows_in": rows_in, "rows_valid": rows_valid, "rows_quarantined": sum(by_reason.values()),
            "quarantined_by_reason": by_reason}


def load(duck, rows: list[dict], body: dict):
    wh, lake = duck
    write_partition(lake, str(DAY), rows, manifest=body)
    wh.load_events_partition(DAY, str(lake))
    return wh


def outcome(wh):
    got = wh.query("select * from dq_results where check_name = 'quarantine_share'")
    return got.iloc[0]


def test_one_quarantined_row_in_twenty_passes(duck):
    rows = [ev(f"2019-11-01 08:{m:02d}:00", "view", 100 + m, 1, "s1") for m in range(19)]
    wh = load(duck, rows, manifest(20, 19, missing_user_session=1))
    run_checks(wh, DAY, names=["quarantine_share"])
    assert (outcome(wh).status, outcome(wh).n_violations) == ("pass", 0)


def test_float_ids_quarantining_most_rows_fail_naming_the_switch(duck):
    rows = [ev("2019-11-01 08:00:00", "view", 100, 1, "s1")]
    wh = load(duck, rows, manifest(10, 1, non_integer_id=8, missing_price=1))
    with pytest.raises(DataQualityError, match="check quarantine_share failed for 2019-11-01: 1 violating rows"):
        run_checks(wh, DAY, names=["quarantine_share"])
    got = outcome(wh)
    assert got.status == "fail"
    [row] = json.loads(got.details.split(", e.g. ", 1)[1])
    assert (row["rows_in"], row["rows_valid"], row["rows_quarantined"]) == (10, 1, 9)
    assert (row["quarantined_share"], row["top_reason"]) == (0.9, "non_integer_id")
    assert row["what_to_do"] == (
        "ids written as floats (5802432.0)? land the export again with shopflow land --repair-float-ids"
    )


def test_a_date_without_valid_rows_fails(duck):
    wh = load(duck, [], manifest(0, 0))
    with pytest.raises(DataQualityError):
        run_checks(wh, DAY, names=["quarantine_share"])
    [row] = json.loads(outcome(wh).details.split(", e.g. ", 1)[1])
    assert (row["rows_in"], row["rows_valid"], row["top_reason"]) == (0, 0, None)
    assert row["what_to_do"] == "the landing file of this date holds no events"
