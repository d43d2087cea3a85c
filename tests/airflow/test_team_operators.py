"""Operators under the team profile: the Spark driver's address comes from settings (never
hard-coded loopback), and the landing sensor defers to the triggerer."""

from __future__ import annotations

import datetime as dt
import importlib.util

import pytest

from shopflow.runtime import REPO_ROOT


@pytest.fixture(scope="module")
def ops():
    spec = importlib.util.spec_from_file_location("shopflow_operators_team", REPO_ROOT / "plugins" / "shopflow_operators.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def team(monkeypatch, tmp_path):
    monkeypatch.setenv("SHOPFLOW_PROFILE", "team")
    monkeypatch.setenv("SHOPFLOW_SPARK_DRIVER_HOST", "airflow-scheduler")
    monkeypatch.setenv("SHOPFLOW_LANDING", str(tmp_path))
    monkeypatch.setenv("SHOPFLOW_LANDING_GRACE_HOURS", "12")
    for name in ("SHOPFLOW_SPARK_MASTER", "MLFLOW_TRACKING_URI", "SHOPFLOW_SPARK_BIND_ADDRESS",
                 "SHOPFLOW_DEFERRABLE_SENSORS"):
        monkeypatch.delenv(name, raising=False)
    from shopflow.config import get_settings

    return get_settings()


def test_cluster_driver_advertises_the_configured_host(ops, team):
    op = ops.clean_operator(team)
    assert op.conf["spark.driver.host"] == "airflow-scheduler"
    assert op.conf["spark.driver.bindAddress"] == "0.0.0.0"
    assert op.conf["spark.cores.max"] == "1"
    assert op.env_vars == {"SPARK_LOCAL_IP": "0.0.0.0"}


def test_local_driver_stays_on_loopback(ops, monkeypatch):
    from shopflow.config import get_settings

    for name in ("SHOPFLOW_PROFILE", "SHOPFLOW_SPARK_MASTER", "SHOPFLOW_SPARK_DRIVER_HOST", "SHOPFLOW_SPARK_BIND_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    op = ops.clean_operator(get_settings())
    assert (op.conf["spark.driver.host"], op.conf["spark.driver.bindAddress"]) == ("127.0.0.1", "127.0.0.1")
    assert "spark.cores.max" not in op.conf
    assert op.env_vars == {"SPARK_LOCAL_IP": "127.0.0.1"}


def _sensor(ops, settings, day: str):
    sensor = ops.landing_sensor(settings)
    sensor.day = day  # what rendering the DATE template gives
    sensor.filepath = f"{settings.landing}/{day}.csv*"
    return sensor


def test_team_sensor_defers_until_the_deadline(ops, team):
    from airflow.providers.standard.triggers.file import FileTrigger
    from airflow.sdk.exceptions import TaskDeferred

    day = (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=1)).isoformat()
    sensor = _sensor(ops, team, day)
    assert sensor.deferrable is True
    before = dt.datetime.now(dt.timezone.utc)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, FileTrigger)
    assert trigger.filepath == f"{team.landing}/{day}.csv*"
    # Due at the end of `day` (tomorrow) plus 12 hours.
    due = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), tzinfo=dt.timezone.utc) + dt.timedelta(hours=36)
    assert abs((before + deferred.value.timeout) - due) < dt.timedelta(seconds=5)


def test_team_sensor_present_file_and_overdue_date(ops, team, tmp_path):
    from airflow.sdk.exceptions import AirflowFailException

    (tmp_path / "2019-11-01.csv.gz").write_bytes(b"")
    assert _sensor(ops, team, "2019-11-01").execute({}) is None
    with pytest.raises(AirflowFailException, match="no landing file for 2019-11-02"):
        _sensor(ops, team, "2019-11-02").execute({})
