"""Run the dbt project in ``sql/`` with the dbt of its own environment (``.venv-dbt``).

dbt cannot live in the Airflow environment (dbt-bigquery needs google-cloud-storage < 3.2, the
Google provider >= 3.10.1), so it is always a subprocess: ``shopflow.marts`` calls it here, and
Cosmos calls the same executable (``DBT_EXECUTABLE``). The profile comes from shopflow's own
settings (``dbt_env``): ``SHOPFLOW_WAREHOUSE`` picks the target, DuckDB writes the file
``SHOPFLOW_DUCKDB_PATH``, BigQuery the dataset ``SHOPFLOW_BQ_PROJECT``/``SHOPFLOW_BQ_DATASET`` in
``SHOPFLOW_BQ_LOCATION`` with Application Default Credentials. Nothing goes over the network:
anonymous usage statistics and the version check are off, and the project uses no packages.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from shopflow.runtime import REPO_ROOT, TELEMETRY_OFF

#: The dbt project (dbt_project.yml, profiles.yml, models/, macros/, tests/).
PROJECT_DIR = REPO_ROOT / "sql"
#: dbt's own virtual environment, created by the Makefile from requirements-dbt.txt.
DBT_VENV = Path(os.environ.get("SHOPFLOW_DBT_VENV") or REPO_ROOT / ".venv-dbt")
DBT_EXECUTABLE = DBT_VENV / "bin" / "dbt"
#: The manifest Cosmos renders the DAG from, written by `dbt parse` (make dbt-manifest).
MANIFEST = PROJECT_DIR / "target" / "manifest.json"


def project_var(name: str) -> Any:
    """A var of dbt_project.yml (the project's defaults, e.g. lookback_days), as Python reads it."""
    import yaml

    variables = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text()).get("vars") or {}
    if name not in variables:
        raise KeyError(f"dbt_project.yml has no var {name!r}")
    return variables[name]


class DbtError(RuntimeError):
    """A dbt invocation failed; the message carries the lines of dbt's output that say why."""


#: Settings of dbt_env that locate the warehouse: taken when a task runs (through plan_marts's
#: XCom), not when the DAG file is parsed, so a process that parsed the DAG under one
#: SHOPFLOW_HOME (the demo, the tests) never builds another home's marts.
LOCATION_SETTINGS = ("SHOPFLOW_WAREHOUSE", "SHOPFLOW_DUCKDB_PATH", "SHOPFLOW_DUCKDB_MEMORY_LIMIT",
                     "SHOPFLOW_BQ_PROJECT", "SHOPFLOW_BQ_DATASET", "SHOPFLOW_BQ_LOCATION")
#: The BigQuery project when none is set: the profile's own default (a DuckDB run never reads
#: it; a BigQuery run without a project is refused by shopflow.profiles before dbt starts).
UNSET_PROJECT = "shopflow-unset"


def dbt_env(settings=None, duckdb_path: str | os.PathLike | None = None) -> dict[str, str]:
    """The environment every dbt invocation runs with: the profile's settings and telemetry off."""
    from shopflow.config import get_settings

    settings = settings or get_settings()
    env = {
        **TELEMETRY_OFF,
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "DBT_PROJECT_DIR": str(PROJECT_DIR),
        "SHOPFLOW_WAREHOUSE": settings.warehouse,
        "SHOPFLOW_DUCKDB_PATH": str(Path(duckdb_path or settings.duckdb_path).resolve()),
        "SHOPFLOW_DUCKDB_MEMORY_LIMIT": str(settings.duckdb_memory_limit),
        "SHOPFLOW_BQ_PROJECT": settings.bq_project or UNSET_PROJECT,
        "SHOPFLOW_BQ_DATASET": settings.bq_dataset,
        "SHOPFLOW_BQ_LOCATION": settings.bq_location,
    }
    return env


def run(args: Sequence[str], *, settings=None, duckdb_path=None, variables: Mapping[str, Any] | None = None,
        extra_env: Mapping[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``dbt <args>`` in the project; raise DbtError on failure unless ``check`` is false.

    Run settings go in ``extra_env`` (SHOPFLOW_DBT_RUN_DATE, ...): a change of ``variables``
    (--vars) makes dbt parse the whole project again, a changed environment variable does not.
    """
    if not DBT_EXECUTABLE.exists():
        raise DbtError(f"dbt is not installed at {DBT_EXECUTABLE}: run `make dbt` (or `make test`/`make demo`)")
    command = [str(DBT_EXECUTABLE), "--no-use-colors", *args]
    if variables:
        command += ["--vars", json.dumps(dict(variables), default=str)]
    env = {**os.environ, **dbt_env(settings, duckdb_path), **(extra_env or {})}
    runs = target_dir(env)
    env.setdefault("DBT_TARGET_PATH", str(runs))
    env.setdefault("DBT_LOG_PATH", str(runs / "logs"))
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    proc.seconds = time.perf_counter() - started  # type: ignore[attr-defined]
    if check and proc.returncode != 0:
        raise DbtError(f"dbt {' '.join(args)} failed ({proc.returncode}):\n{why(proc)}")
    return proc


def target_dir(env: Mapping[str, str]) -> Path:
    """dbt's target folder for the warehouse of ``env`` (:func:`dbt_env`): one per warehouse, since
    dbt re-parses the project when the profile changes and runs on different warehouses (tests,
    benchmarks) must not overwrite each other's files; sql/target/manifest.json itself stays
    what `make dbt` wrote for Cosmos."""
    import hashlib

    where = env["SHOPFLOW_DUCKDB_PATH"] if env["SHOPFLOW_WAREHOUSE"] == "duckdb" else \
        f"{env.get('SHOPFLOW_BQ_PROJECT')}.{env['SHOPFLOW_BQ_DATASET']}"
    return PROJECT_DIR / "target" / "runs" / hashlib.sha256(where.encode()).hexdigest()[:12]


def node_seconds(settings=None, duckdb_path=None) -> dict[str, float]:
    """Seconds per node (model, test, hook) of the last dbt invocation on that warehouse, from
    dbt's run_results.json."""
    path = target_dir(dbt_env(settings, duckdb_path)) / "run_results.json"
    results = json.loads(path.read_text())["results"]
    return {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results}


#: What dbt says when an incremental table was built by an older version of its model.
_SCHEMA_DRIFT = "schemas on this incremental model are out of sync"


def why(proc: subprocess.CompletedProcess, keep: int = 40) -> str:
    """The lines of a dbt run's output that say what went wrong."""
    output = (proc.stdout or "") + (proc.stderr or "")
    if _SCHEMA_DRIFT in output:
        # dbt's own advice lists appending the new columns, which would leave them null on the
        # stored rows: the tables must be rebuilt.
        import re

        models = sorted(set(re.findall(r"Compilation Error in model (\w+)", output)))
        return (f"{', '.join(models) or 'a table'} was built by an older version of the project (its "
                "columns differ): rebuild the marts once with `shopflow marts --date D --full-refresh`")
    lines = [line for line in output.splitlines() if line.strip()]
    wanted = [line for line in lines if any(w in line for w in ("Error", "error", "FAIL", "fail", "ERROR"))]
    return "\n".join((wanted or lines)[-keep:])

