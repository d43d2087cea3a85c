"""The local landing sensor's callable: an overdue file fails the task without retries."""

from __future__ import annotations

import importlib.util

import pytest

from shopflow.runtime import REPO_ROOT


@pytest.fixture(scope="module")
def ops():
    spec = importlib.util.spec_from_file_location("shopflow_operators_under_test", REPO_ROOT / "plugins" / "shopflow_operators.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_overdue_landing_fails_without_retries(ops, tmp_path, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setenv("SHOPFLOW_LANDING", str(tmp_path))
    monkeypatch.setenv("SHOPFLOW_LANDING_GRACE_HOURS", "12")
    # 2019-11-01 was due by 2019-11-02 12:00 UTC, long before today.
    with pytest.raises(AirflowFailException, match="no landing file for 2019-11-01"):
        ops._landing_ready_or_fail("2019-11-01")
    (tmp_path / "2019-11-01.csv").write_text("")
    assert ops._landing_ready_or_fail("2019-11-01") is True


def test_local_sensor_waits_at_most_until_the_deadline(ops, monkeypatch):
    from shopflow.config import get_settings

    monkeypatch.setenv("SHOPFLOW_LANDING_GRACE_HOURS", "6")
    sensor = ops.landing_sensor(get_settings())
    assert sensor.mode == "reschedule"
    assert sensor.timeout == (24 + 6) * 3600
