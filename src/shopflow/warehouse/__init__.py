"""Warehouse backends behind one interface, chosen by SHOPFLOW_WAREHOUSE."""

from __future__ import annotations

from shopflow.warehouse.base import DataQualityError, Warehouse

__all__ = ["DataQualityError", "Warehouse", "get_warehouse"]


def get_warehouse(settings=None) -> Warehouse:
    """Return the configured warehouse (DuckDB unless SHOPFLOW_WAREHOUSE=bigquery)."""
    from shopflow.config import get_settings

    settings = settings or get_settings()
    if settings.warehouse == "bigquery":
        from shopflow.warehouse.bigquery import BigQueryWarehouse

        return BigQueryWarehouse(settings)
    from shopflow.warehouse.duckdb import DuckDBWarehouse

    return DuckDBWarehouse(settings)
