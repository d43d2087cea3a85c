"""The steps DAG tasks call: date resolution and XCom-safe results."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from shopflow import pipeline


def test_the_param_wins_then_the_logical_date_never_the_clock():
    logical = dt.datetime(2019, 11, 5, 0, 0, tzinfo=dt.timezone.utc)
    assert pipeline.resolve_date(logical, None) == "2019-11-05"
    assert pipeline.resolve_date(logical, "2019-11-07") == "2019-11-07"
    assert pipeline.resolve_date(None, "2019-11-07") == "2019-11-07"
    with pytest.raises(ValueError, match="'date' param"):
        pipeline.resolve_date(None, None)
    with pytest.raises(ValueError):
        pipeline.resolve_date(None, "07/11/2019")


def test_training_date_prefers_the_param_then_the_newest_announced_date():
    assert pipeline.training_date("2019-11-20", ["2019-11-30"]) == "2019-11-20"
    assert pipeline.training_date(None, ["2019-11-03", "2019-11-30", "2019-11-12"]) == "2019-11-30"


def test_results_become_strict_json_for_the_api_server():
    result = {
        "ndcg": float("nan"),
        "inf": float("inf"),
        "n": np.int64(3),
        "x": np.float32(0.5),
        "day": dt.date(2019, 11, 1),
        "nested": [{"m": float("-inf")}, np.array([1, 2])],
    }
    clean = pipeline._jsonable(result)
    assert clean == {"ndcg": None, "inf": None, "n": 3, "x": 0.5, "day": "2019-11-01", "nested": [{"m": None}, [1, 2]]}
    json.dumps(clean, allow_nan=False)  # raises on NaN/inf: the API server's rule


def _landing_settings(tmp_path, grace_hours=12):
    import dataclasses

    from shopflow.config import get_settings

    return dataclasses.replace(get_settings(), landing=str(tmp_path), landing_grace_hours=grace_hours)


def test_landing_is_due_twelve_hours_after_the_end_of_its_day():
    utc = dt.timezone.utc
    assert pipeline.landing_deadline("2019-11-01", 12) == dt.datetime(2019, 11, 2, 12, 0, tzinfo=utc)
    assert pipeline.landing_deadline(dt.date(2019, 11, 30), 0) == dt.datetime(2019, 12, 1, 0, 0, tzinfo=utc)


def test_a_missing_landing_file_waits_until_its_deadline_then_fails(tmp_path):
    settings = _landing_settings(tmp_path)
    utc = dt.timezone.utc
    before = dt.datetime(2019, 11, 2, 11, 59, tzinfo=utc)
    at = dt.datetime(2019, 11, 2, 12, 0, tzinfo=utc)
    assert pipeline.landing_ready("2019-11-01", settings, now=before) is False
    with pytest.raises(pipeline.LandingOverdue, match=r"no landing file for 2019-11-01 .* due by 2019-11-02 12:00 UTC"):
        pipeline.landing_ready("2019-11-01", settings, now=at)
    # The file arriving late still counts: a cleared task then goes on.
    (tmp_path / "2019-11-01.csv.gz").write_bytes(b"")
    assert pipeline.landing_ready("2019-11-01", settings, now=at + dt.timedelta(days=2000)) is True
