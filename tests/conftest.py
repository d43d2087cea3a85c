"""Test tiers and the shared, once-per-run resources.

Tiers follow the folder a test lives in: tests/unit -> ``unit``, tests/spark -> ``spark``,
tests/airflow -> ``airflow``, tests/e2e -> ``e2e``, tests/stack -> ``stack``. Select with ``pytest -m unit`` etc.

One SparkSession and one Airflow home serve the whole run. The Airflow home must exist in
the environment before anything imports ``airflow``, so it is set here at import time.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import pytest

_RUN_DIR = Path(tempfile.mkdtemp(prefix="shopflow-tests-"))
os.environ["SHOPFLOW_HOME"] = str(_RUN_DIR / "home")
os.environ["AIRFLOW_HOME"] = str(_RUN_DIR / "airflow")
os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{_RUN_DIR / 'home' / 'mlflow.db'}"
os.environ.pop("SHOPFLOW_WAREHOUSE", None)
os.environ.pop("SHOPFLOW_DEPLOYMENT", None)

from shopflow.runtime import apply_defaults  # noqa: E402

apply_defaults(_RUN_DIR / "home")

# py4j logs its connection shutdown from __del__ after pytest closed the log streams.
logging.getLogger("py4j").setLevel(logging.WARNING)

TIERS = ("unit", "spark", "airflow", "e2e", "stack")


def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = Path(str(item.fspath)).parts
        for tier in TIERS:
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def run_dir() -> Path:
    """A folder private to this test run."""
    return _RUN_DIR


@pytest.fixture(scope="session")
def spark():
    """The one SparkSession of the test run (one shuffle partition: tiny inputs)."""
    from shopflow.spark import build_session

    session = build_session(
        "shopflow-tests",
        master="local[2]",
        conf={"spark.sql.shuffle.partitions": "1", "spark.default.parallelism": "2"},
    )
    yield session
    session.stop()
