"""Process environment defaults shared by the CLI, the Makefile targets and the tests.

Each value is only a default: anything already set in the environment wins.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

#: The repository root (holds dags/, plugins/, jobs/, sql/); the package is installed editable.
REPO_ROOT = Path(__file__).resolve().parents[2]

#: Nothing phones home, in any profile: MLflow's usage telemetry (DO_NOT_TRACK must be "true"
#: for MLflow), Cosmos's and Scarf's analytics, dbt's anonymous statistics and version check.
#: The Makefile, docker-compose.yaml and the stack tier set the same values (tests hold them equal).
TELEMETRY_OFF = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "SCARF_NO_ANALYTICS": "true",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DBT_VERSION_CHECK": "false",
}


def _spark_master() -> str:
    from shopflow.profiles import PROFILES

    profile = PROFILES.get((os.environ.get("SHOPFLOW_PROFILE") or "local").lower(), PROFILES["local"])
    return os.environ.get("SHOPFLOW_SPARK_MASTER") or profile["spark_master"]


def apply_defaults(home: str | os.PathLike | None = None) -> dict[str, str]:
    """Set the environment defaults this project runs with and return what was set."""
    home_path = Path(home or os.environ.get("SHOPFLOW_HOME") or "data").resolve()
    bin_dir = str(Path(sys.executable).parent)
    local = (os.environ.get("SHOPFLOW_PROFILE") or "local").lower() == "local"
    defaults = {
        "SHOPFLOW_HOME": str(home_path),
        **TELEMETRY_OFF,
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        # BLAS threads inside implicit's own threads slow ALS down tenfold.
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "AIRFLOW_HOME": str(home_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        # The local API server (UI) listens on loopback only.
        "AIRFLOW__API__HOST": "127.0.0.1",
        # spark-submit's master: SHOPFLOW_SPARK_MASTER, else the profile's.
        "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps({"conn_type": "spark", "host": _spark_master()}),
        # Offline machines: no metadata-server probe, no price-list download in MLflow.
        "NO_GCE_CHECK": "true",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "GIT_PYTHON_REFRESH": "quiet",
    }
    if local:
        # The local profile: Spark on loopback (the machines here have no resolvable public
        # hostname) and an MLflow file store. Other profiles take both from their settings.
        defaults["SPARK_LOCAL_IP"] = "127.0.0.1"
        defaults["MLFLOW_TRACKING_URI"] = f"sqlite:///{home_path / 'mlflow.db'}"
    applied = {}
    for key, value in defaults.items():
        if not os.environ.get(key):
            os.environ[key] = value
            applied[key] = value
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    return applied
