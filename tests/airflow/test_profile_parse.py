"""An impossible mix of backends is refused when the DAGs are parsed, naming what to change."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from shopflow.runtime import REPO_ROOT

PARSE = textwrap.dedent(
    """
    import json, sys
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder=sys.argv[1])
    print("RESULT" + json.dumps({"dags": sorted(bag.dags), "errors": {k.rsplit("/", 1)[-1]: str(v)
                                                                     for k, v in bag.import_errors.items()},
                                 "pools": {f"{d.dag_id}.{t.task_id}": t.pool for d in bag.dags.values()
                                           for t in d.tasks}}))
    """
)


def parse(overrides: dict) -> dict:
    import json

    proc = subprocess.run([sys.executable, "-c", PARSE, str(REPO_ROOT / "dags")], env={**os.environ, **overrides},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads([line for line in proc.stdout.splitlines() if line.startswith("RESULT")][-1][len("RESULT"):])


def test_gcp_deployment_with_duckdb_fails_the_parse_of_both_dags():
    out = parse({"SHOPFLOW_DEPLOYMENT": "gcp", "SHOPFLOW_LANDING": "gs://b/landing", "SHOPFLOW_LAKE": "gs://b/lake",
                 "SHOPFLOW_WAREHOUSE": "duckdb"})
    assert out["dags"] == []
    assert sorted(out["errors"]) == ["shopflow_daily.py", "shopflow_training.py"]
    for error in out["errors"].values():
        assert "ConfigError" in error
        assert "SHOPFLOW_DEPLOYMENT=gcp loads the lake into BigQuery, but SHOPFLOW_WAREHOUSE=duckdb: " \
               "set SHOPFLOW_WAREHOUSE=bigquery" in error


def test_training_reads_hold_no_warehouse_slot():
    # Training reads the lake, the report reads the export publish wrote: only the warehouse's
    # own readers and writers take the slot.
    pools = parse({})["pools"]
    training = {k.split(".", 1)[1]: v for k, v in pools.items() if k.startswith("shopflow_training.")}
    assert training == {"resolve_run_date": "shopflow_warehouse", "train_als": "default_pool",
                        "train_content": "default_pool", "publish": "shopflow_warehouse", "report": "default_pool"}
