"""Settings read from the environment: flags and numbers are parsed strictly."""

from __future__ import annotations

import pytest

from shopflow.config import ConfigError, get_settings


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
