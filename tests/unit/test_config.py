"""Settings read from the environment: flags and numbers are parsed strictly."""

from __future__ import annotations

import pytest

from shopflow.config import ConfigError, get_settings
from shopflow.errors import UserError


def test_catchup_and_grace_defaults(monkeypatch):
    monkeypatch.delenv("SHOPFLOW_CATCHUP", raising=False)
    monkeypatch.delenv("SHOPFLOW_LANDING_GRACE_HOURS", raising=False)
    settings = get_settings()
    assert settings.catchup is True
    assert settings.landing_grace_hours == 12


@pytest.mark.parametrize("value, expected", [("false", False), ("0", False), ("No", False), ("true", True), ("1", True)])
def test_catchup_flag(monkeypatch, value, expected):
    monkeypatch.setenv("SHOPFLOW_CATCHUP", value)
    assert get_settings().catchup is expected


@pytest.mark.parametrize("name, value", [("SHOPFLOW_CATCHUP", "sometimes"), ("SHOPFLOW_LANDING_GRACE_HOURS", "-3"),
                                         ("SHOPFLOW_LANDING_GRACE_HOURS", "1.5")])
def test_bad_values_are_clear_errors(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        get_settings()


def test_start_date_setting(monkeypatch):
    import datetime as dt

    monkeypatch.delenv("SHOPFLOW_START_DATE", raising=False)
    assert get_settings().start_date == dt.date(2019, 11, 1)
    monkeypatch.setenv("SHOPFLOW_START_DATE", "2019-10-01")
    assert get_settings().start_date == dt.date(2019, 10, 1)
    monkeypatch.setenv("SHOPFLOW_START_DATE", "October")
    with pytest.raises(ConfigError, match="SHOPFLOW_START_DATE"):
        get_settings()


def test_dates_before_the_dag_start_are_refused_with_the_fix(monkeypatch):
    from shopflow.airflow_local import check_start_date

    monkeypatch.setenv("SHOPFLOW_START_DATE", "2019-11-01")
    check_start_date("2019-11-01")
    with pytest.raises(UserError, match="SHOPFLOW_START_DATE=2019-10-31"):
        check_start_date("2019-10-31")
