"""Cosmos and dbt send nothing over the network, and dbt stays out of the Airflow environment."""

from __future__ import annotations

import os
import subprocess
import sys

from shopflow.runtime import REPO_ROOT

TELEMETRY = ("DO_NOT_TRACK", "SCARF_NO_ANALYTICS", "AIRFLOW__COSMOS__ENABLE_TELEMETRY",
             "DBT_SEND_ANONYMOUS_USAGE_STATS", "DBT_VERSION_CHECK")


def test_cosmos_telemetry_is_off_with_the_project_defaults():
    env = {k: v for k, v in os.environ.items() if k not in TELEMETRY}
    code = ("from shopflow.runtime import apply_defaults; apply_defaults(); "
            "from cosmos import telemetry; print('EMIT', telemetry.should_emit())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "EMIT False" in out.stdout
    # and without the defaults Cosmos would send them: the check above is not vacuous
    out = subprocess.run([sys.executable, "-c", "from cosmos import telemetry; print('EMIT', telemetry.should_emit())"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert "EMIT True" in out.stdout


def test_dbt_runs_from_its_own_environment_with_statistics_off():
    from shopflow import dbt

    env = dbt.dbt_env()
    assert env["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "false" and env["DBT_VERSION_CHECK"] == "false"
    assert dbt.DBT_EXECUTABLE == REPO_ROOT / ".venv-dbt" / "bin" / "dbt"
    # dbt-bigquery and the Google provider cannot share an environment: no dbt in this one
    out = subprocess.run([sys.executable, "-c", "import dbt.cli.main"], capture_output=True, text=True)
    assert out.returncode != 0 and "No module named 'dbt" in out.stderr
    # (not `dbt --version`: it asks the package index whatever DBT_VERSION_CHECK says)
    code = "import importlib.metadata as m; print([m.version(p) for p in ('dbt-core', 'dbt-duckdb', 'dbt-bigquery')])"
    out = subprocess.run([str(dbt.DBT_VENV / "bin" / "python"), "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "['1.11.6', '1.11.1', '1.12.1']"
    pins = (REPO_ROOT / "requirements-dbt.txt").read_text()
    assert "dbt-core==1.11.6" in pins and "--index-url" not in pins and "--extra-index-url" not in pins
