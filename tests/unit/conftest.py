"""Fixtures shared by the warehouse, marts and report tests (lake helpers: test_warehouse_lake.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from shopflow.config import get_settings


@pytest.fixture
def duck(tmp_path):
    """A fresh DuckDB warehouse in a private folder and its lake folder."""
    from shopflow.warehouse.duckdb import DuckDBWarehouse

    wh = DuckDBWarehouse(get_settings(), path=tmp_path / "warehouse.duckdb")
    yield wh, tmp_path / "lake"
    wh.close()


@pytest.fixture
def store(duck):
    """The three-day store of test_warehouse_lake.STORE_DAYS loaded, marts built as of 2019-11-03."""
    from test_warehouse_lake import STORE_DAYS, load_days

    from shopflow.marts import build_marts

    wh, lake = duck
    load_days(wh, lake, STORE_DAYS)
    build_marts(wh, dt.date(2019, 11, 3), window_days=3)
    return wh
