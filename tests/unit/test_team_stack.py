"""The team deployment as docker-compose.yaml declares it, checked offline against the code:
telemetry off everywhere, ports on loopback unless .env says otherwise, MLflow behind basic
auth and reachable as http://mlflow:5000, the team profile's backends, a safe password file."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shopflow.runtime import REPO_ROOT, TELEMETRY_OFF

COMPOSE = Path(sys.executable).parents[1] / "lib" / "python3.11" / "site-packages" / "compose" / "docker-compose"


def compose_model(env_file: Path | str = "deploy/env.example") -> dict:
    proc = subprocess.run([str(COMPOSE), "--env-file", str(env_file), "config", "--format", "json"], cwd=REPO_ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def services() -> dict:
    return compose_model()["services"]


def test_telemetry_values():
    assert TELEMETRY_OFF == {
        "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "SCARF_NO_ANALYTICS": "true",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_VERSION_CHECK": "false",
    }


def test_telemetry_off_in_every_compose_service(services):
    for name, service in services.items():
        env = service.get("environment") or {}
        assert {k: env.get(k) for k in TELEMETRY_OFF} == TELEMETRY_OFF, name


def test_telemetry_off_in_the_makefile():
    text = (REPO_ROOT / "Makefile").read_text()
    exported = dict(re.findall(r"^export (\w+) := (\S+)$", text, re.MULTILINE))
    assert {k: exported.get(k) for k in TELEMETRY_OFF} == TELEMETRY_OFF


def test_telemetry_off_in_the_runtime_defaults(monkeypatch, tmp_path):
    from shopflow.runtime import apply_defaults

    for key in TELEMETRY_OFF:
        monkeypatch.delenv(key, raising=False)
    applied = apply_defaults(tmp_path)
    assert {k: applied.get(k) for k in TELEMETRY_OFF} == TELEMETRY_OFF


def test_runtime_defaults_follow_the_profile(monkeypatch, tmp_path):
    from shopflow.runtime import apply_defaults

    for key in ("SPARK_LOCAL_IP", "MLFLOW_TRACKING_URI", "AIRFLOW_CONN_SPARK_DEFAULT", "SHOPFLOW_SPARK_MASTER"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SHOPFLOW_PROFILE", "team")
    applied = apply_defaults(tmp_path)
    # No loopback driver and no file store forced onto a team deployment.
    assert "SPARK_LOCAL_IP" not in applied and "MLFLOW_TRACKING_URI" not in applied
    assert json.loads(applied["AIRFLOW_CONN_SPARK_DEFAULT"]) == {"conn_type": "spark", "host": "spark://spark-master:7077"}


def test_published_ports_bind_to_loopback_unless_env_sets_a_host(services, tmp_path):
    published = {name: s["ports"] for name, s in services.items() if s.get("ports")}
    assert sorted(published) == ["airflow-apiserver", "mlflow", "spark-master"]
    for ports in published.values():
        assert [p["host_ip"] for p in ports] == ["127.0.0.1"]
    env_file = tmp_path / "env"
    env_file.write_text((REPO_ROOT / "deploy" / "env.example").read_text() + "SHOPFLOW_PUBLISH_HOST=10.1.2.3\n")
    opened = compose_model(env_file)["services"]
    assert [p["host_ip"] for p in opened["mlflow"]["ports"]] == ["10.1.2.3"]


def test_airflow_services_use_the_team_profile(services):
    from shopflow.profiles import PROFILES

    team = PROFILES["team"]
    env = services["airflow-scheduler"]["environment"]
    assert env["SHOPFLOW_PROFILE"] == "team"
    assert env["SHOPFLOW_SPARK_MASTER"] == team["spark_master"]
    assert json.loads(env["AIRFLOW_CONN_SPARK_DEFAULT"])["host"] == team["spark_master"]
    assert env["MLFLOW_TRACKING_URI"] == team["mlflow_uri"]
    assert env["SHOPFLOW_SPARK_DRIVER_HOST"] == "airflow-scheduler"
    assert "SPARK_LOCAL_IP" not in env
    # The tasks log in to MLflow with the admin credentials of .env.
    assert (env["MLFLOW_TRACKING_USERNAME"], env["MLFLOW_TRACKING_PASSWORD"]) == ("admin", "change-me")
    assert services["airflow-init"]["command"] == ["python", "-m", "shopflow.deploy", "airflow-init"]
    # sql/ is mounted read-only, so dbt must write its target and logs to the data volume.
    sql = [v for v in services["airflow-scheduler"]["volumes"] if v["target"] == "/opt/shopflow/sql"]
    assert sql[0]["read_only"] is True
    data = [v["target"] for v in services["airflow-scheduler"]["volumes"] if v.get("source") == "shopflow-data"]
    assert data == ["/opt/shopflow/data"]
    assert env["DBT_TARGET_PATH"] == "/opt/shopflow/data/dbt/target"
    assert env["DBT_LOG_PATH"] == "/opt/shopflow/data/dbt/logs"


def _mlflow_args(services) -> dict[str, str]:
    command = services["mlflow"]["command"]
    assert command[:4] == ["python", "-m", "shopflow.deploy", "mlflow-server"]
    args = command[4:]
    return {a: args[i + 1] for i, a in enumerate(args) if a.startswith("--") and i + 1 < len(args)
            and not args[i + 1].startswith("--")}


def test_mlflow_runs_with_basic_auth_and_accepts_the_tasks_host_header(services, tmp_path, monkeypatch):
    from mlflow.server.security_utils import get_default_allowed_hosts, is_allowed_host_header

    args = _mlflow_args(services)
    allowed = args["--allowed-hosts"].split(",")
    # MLflow's default list refuses the Host header of http://mlflow:5000; the compose list takes it.
    assert not is_allowed_host_header(get_default_allowed_hosts(), "mlflow:5000")
    assert is_allowed_host_header(allowed, "mlflow:5000")
    assert is_allowed_host_header(allowed, "127.0.0.1:5000")
    assert not is_allowed_host_header(allowed, "evil.example:5000")

    from shopflow.deploy import mlflow_server_command

    env = services["mlflow"]["environment"]
    # Basic auth's CSRF protection refuses to start without a key shared by every worker.
    assert env["MLFLOW_FLASK_SERVER_SECRET_KEY"] == "change-me-to-a-long-random-string"
    monkeypatch.setenv("MLFLOW_AUTH_ADMIN_USERNAME", env["MLFLOW_AUTH_ADMIN_USERNAME"])
    monkeypatch.setenv("MLFLOW_AUTH_ADMIN_PASSWORD", env["MLFLOW_AUTH_ADMIN_PASSWORD"])
    command, extra = mlflow_server_command(services["mlflow"]["command"][4:], tmp_path)
    assert command[1:4] == ["server", "--app-name", "basic-auth"]
    ini = Path(extra["MLFLOW_AUTH_CONFIG_PATH"]).read_text()
    assert "database_uri = postgresql+psycopg2://mlflow:change-me@mlflow-db:5432/mlflow\n" in ini
    assert Path(extra["MLFLOW_AUTH_CONFIG_PATH"]).stat().st_mode & 0o077 == 0


def test_password_file_holds_any_password(tmp_path):
    from shopflow.deploy import write_passwords_file

    password = """it's "quoted" \\ and {braced}"""
    path = write_passwords_file(tmp_path / "auth" / "passwords.json", "admin", password)
    assert json.loads(path.read_text()) == {"admin": password}
    assert path.stat().st_mode & 0o777 == 0o600



def test_the_pinned_set_has_what_the_team_services_import():
    """Basic auth needs Flask-WTF (mlflow[auth]); Airflow on PostgreSQL needs psycopg2 and asyncpg."""
    import importlib.util

    assert [m for m in ("flask_wtf", "psycopg2", "asyncpg") if importlib.util.find_spec(m) is None] == []
