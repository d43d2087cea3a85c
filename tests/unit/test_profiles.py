"""SHOPFLOW_PROFILE: one setting picks a set of backends; overrides win and are validated the
same way; each impossible mix is refused with a message saying what to change."""

from __future__ import annotations

import pytest

from shopflow.config import ConfigError, get_settings

BACKEND_VARS = (
    "SHOPFLOW_PROFILE", "SHOPFLOW_WAREHOUSE", "SHOPFLOW_DEPLOYMENT", "SHOPFLOW_SPARK_MASTER", "SHOPFLOW_LANDING",
    "SHOPFLOW_LAKE", "MLFLOW_TRACKING_URI", "SHOPFLOW_WAREHOUSE_POOL_SLOTS", "SHOPFLOW_SPARK_DRIVER_HOST",
    "SHOPFLOW_SPARK_BIND_ADDRESS", "SHOPFLOW_DEFERRABLE_SENSORS", "SHOPFLOW_BQ_PROJECT",
)
GCP = {
    "SHOPFLOW_PROFILE": "gcp",
    "SHOPFLOW_LANDING": "gs://shop/landing",
    "SHOPFLOW_LAKE": "gs://shop/lake",
    "SHOPFLOW_BQ_PROJECT": "shop-project",
    "MLFLOW_TRACKING_URI": "https://mlflow.example.com",
}


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in BACKEND_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SHOPFLOW_HOME", str(tmp_path))

    def set_env(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


def test_local_profile_is_the_embedded_default(env, tmp_path):
    s = get_settings()
    assert (s.profile, s.deployment, s.warehouse, s.spark_master) == ("local", "local", "duckdb", "local[2]")
    assert s.mlflow_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert (s.warehouse_pool_slots, s.spark_driver_host, s.spark_bind_address) == (1, "127.0.0.1", "127.0.0.1")
    assert s.deferrable_sensors is False


def test_team_profile(env, tmp_path):
    env(SHOPFLOW_PROFILE="team", SHOPFLOW_SPARK_DRIVER_HOST="airflow-scheduler")
    s = get_settings()
    assert (s.deployment, s.warehouse, s.spark_master) == ("local", "duckdb", "spark://spark-master:7077")
    assert s.mlflow_uri == "http://mlflow:5000"
    assert s.lake == str(tmp_path / "lake")
    assert (s.warehouse_pool_slots, s.spark_driver_host, s.spark_bind_address) == (1, "airflow-scheduler", "0.0.0.0")
    assert s.deferrable_sensors is True


def test_gcp_profile(env):
    env(**GCP)
    s = get_settings()
    assert (s.deployment, s.warehouse, s.warehouse_pool_slots, s.deferrable_sensors) == ("gcp", "bigquery", 4, True)


def test_explicit_settings_override_the_profile(env):
    env(SHOPFLOW_PROFILE="team", SHOPFLOW_SPARK_MASTER="spark://127.0.0.1:17077",
        MLFLOW_TRACKING_URI="http://127.0.0.1:15000", SHOPFLOW_DEFERRABLE_SENSORS="false")
    s = get_settings()
    assert (s.spark_master, s.mlflow_uri, s.deferrable_sensors) == (
        "spark://127.0.0.1:17077", "http://127.0.0.1:15000", False)
    # A cluster master on loopback: the workers share the machine, loopback reaches the driver.
    assert s.spark_driver_host is None


def test_unknown_profile(env):
    env(SHOPFLOW_PROFILE="staging")
    with pytest.raises(ConfigError, match="SHOPFLOW_PROFILE must be one of local, team, gcp, not 'staging'"):
        get_settings()


# One test per rule: the mix, and the change the message asks for.

def test_gcp_deployment_refuses_duckdb(env):
    env(SHOPFLOW_DEPLOYMENT="gcp", SHOPFLOW_LANDING="gs://shop/landing", SHOPFLOW_LAKE="gs://shop/lake")
    with pytest.raises(ConfigError, match="SHOPFLOW_DEPLOYMENT=gcp .* SHOPFLOW_WAREHOUSE=duckdb: set SHOPFLOW_WAREHOUSE=bigquery"):
        get_settings()


def test_gcp_profile_with_duckdb_override_is_refused_the_same_way(env):
    env(**{**GCP, "SHOPFLOW_WAREHOUSE": "duckdb", "SHOPFLOW_LAKE": "/tmp/lake"})
    with pytest.raises(ConfigError, match="set SHOPFLOW_WAREHOUSE=bigquery") as info:
        get_settings()
    # Every rule it breaks is named at once: BigQuery for gcp, and gcp's Cloud Storage lake.
    assert str(info.value).count("; ") == 1
    assert "set SHOPFLOW_LAKE to gs://bucket/... locations" in str(info.value)


def test_duckdb_refuses_a_multi_slot_pool(env):
    env(SHOPFLOW_WAREHOUSE_POOL_SLOTS="4")
    with pytest.raises(ConfigError, match="DuckDB warehouse allows one writer, but SHOPFLOW_WAREHOUSE_POOL_SLOTS=4: "
                                          "unset SHOPFLOW_WAREHOUSE_POOL_SLOTS"):
        get_settings()


def test_pool_slots_follow_the_warehouse(env):
    env(**GCP)
    assert get_settings().warehouse_pool_slots == 4
    env(SHOPFLOW_WAREHOUSE_POOL_SLOTS="8")
    assert get_settings().warehouse_pool_slots == 8
    env(SHOPFLOW_WAREHOUSE_POOL_SLOTS="0")
    with pytest.raises(ConfigError, match="SHOPFLOW_WAREHOUSE_POOL_SLOTS must be a whole number above 0, not '0'"):
        get_settings()


def test_duckdb_refuses_a_gcs_lake(env):
    env(SHOPFLOW_LAKE="gs://shop/lake")
    with pytest.raises(ConfigError, match="DuckDB warehouse loads from a local lake, not SHOPFLOW_LAKE=gs://shop/lake"):
        get_settings()


def test_gcp_deployment_needs_gcs_locations(env):
    env(**{**GCP, "SHOPFLOW_LANDING": "/srv/landing"})
    with pytest.raises(ConfigError, match="set SHOPFLOW_LANDING to gs://bucket/... locations"):
        get_settings()


def test_bigquery_needs_a_project(env):
    env(**{k: v for k, v in GCP.items() if k != "SHOPFLOW_BQ_PROJECT"})
    with pytest.raises(ConfigError, match="SHOPFLOW_WAREHOUSE=bigquery needs SHOPFLOW_BQ_PROJECT"):
        get_settings()


def test_a_remote_spark_cluster_needs_a_reachable_driver_host(env):
    env(SHOPFLOW_PROFILE="team")
    with pytest.raises(ConfigError, match="cannot reach a driver at an unset address: set SHOPFLOW_SPARK_DRIVER_HOST"):
        get_settings()
    env(SHOPFLOW_PROFILE="local", SHOPFLOW_SPARK_MASTER="spark://spark-master:7077")
    with pytest.raises(ConfigError, match="cannot reach a driver at 127.0.0.1: set SHOPFLOW_SPARK_DRIVER_HOST"):
        get_settings()


def test_a_shared_profile_needs_a_tracking_server(env, tmp_path):
    env(SHOPFLOW_PROFILE="team", SHOPFLOW_SPARK_DRIVER_HOST="airflow-scheduler",
        MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path}/mlflow.db")
    with pytest.raises(ConfigError, match="SHOPFLOW_PROFILE=team .* cannot share MLFLOW_TRACKING_URI=sqlite:///"):
        get_settings()
