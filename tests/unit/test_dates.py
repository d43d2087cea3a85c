"""Run dates: one parser and one inclusive range for every module."""

from __future__ import annotations

import datetime as dt

import pytest

from shopflow.dates import as_date, date_range


@pytest.mark.parametrize(
    "value",
    [
        "2019-11-01",
        " 2019-11-01 ",
        dt.date(2019, 11, 1),
        dt.datetime(2019, 11, 1, 23, 59, tzinfo=dt.timezone.utc),
        "2019-11-01T00:00:00+00:00",  # an Airflow logical date as text
        "2019-11-01 23:59:59",
    ],
)
def test_as_date_accepts_dates_datetimes_and_iso_text(value):
    assert as_date(value) == dt.date(2019, 11, 1)


@pytest.mark.parametrize("value", ["2019-13-01", "2019-11-01garbage", "", None, "11/01/2019"])
def test_as_date_rejects_anything_else(value):
    with pytest.raises(ValueError, match="not a date"):
        as_date(value)


def test_date_range_includes_both_ends_across_a_month():
    assert date_range("2019-11-29", dt.date(2019, 12, 2)) == [
        dt.date(2019, 11, 29), dt.date(2019, 11, 30), dt.date(2019, 12, 1), dt.date(2019, 12, 2)
    ]
    assert date_range("2019-11-01", "2019-11-01") == [dt.date(2019, 11, 1)]
    with pytest.raises(ValueError, match="before it starts"):
        date_range("2019-11-02", "2019-11-01")
