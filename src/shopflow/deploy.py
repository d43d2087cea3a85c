"""Start-up steps of the team stack, shared by docker-compose.yaml and the `stack` test tier.

``python -m shopflow.deploy airflow-init``
    Migrates the Airflow metadata DB, sizes the ``shopflow_warehouse`` pool from the settings
    (1 slot for DuckDB, which allows one writer) and writes the simple auth manager's password
    file as JSON from AIRFLOW_ADMIN_USER / AIRFLOW_ADMIN_PASSWORD, whatever characters the
    password holds.
``python -m shopflow.deploy mlflow-server [mlflow server options]``
    ``mlflow server --app-name basic-auth``: every request needs a login. The admin user comes
    from MLFLOW_AUTH_ADMIN_USERNAME / MLFLOW_AUTH_ADMIN_PASSWORD (read by MLflow itself on the
    first start); the user store lives in the backend store's database. The auth config file
    holds a password, so it is written at start-up into a private folder, never committed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path


def write_passwords_file(path: str | os.PathLike, user: str, password: str) -> Path:
    """The simple auth manager's ``{"user": "password"}`` file, readable by its owner only."""
    if not user or not password:
        raise SystemExit("AIRFLOW_ADMIN_USER and AIRFLOW_ADMIN_PASSWORD must be set (see deploy/env.example)")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({user: password}, out)
    return target


def airflow_init() -> int:
    from airflow.models.pool import Pool
    from airflow.utils import db

    from shopflow.config import get_settings
    from shopflow.pipeline import WAREHOUSE_POOL

    settings = get_settings()
    db.upgradedb()
    slots = settings.warehouse_pool_slots
    Pool.create_or_update_pool(
        WAREHOUSE_POOL, slots=slots, include_deferred=False,
        description=f"warehouse tasks: {slots} at a time on {settings.warehouse}",
    )
    passwords = os.environ.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")
    if passwords:
        write_passwords_file(passwords, os.environ.get("AIRFLOW_ADMIN_USER", ""),
                             os.environ.get("AIRFLOW_ADMIN_PASSWORD", ""))
    print(f"airflow-init: metadata DB migrated, pool {WAREHOUSE_POOL}={slots}", flush=True)
    return 0


def auth_config(database_uri: str, folder: str | os.PathLike) -> Path:
    """MLflow's basic-auth config: users in ``database_uri``, nobody reads without a login."""
    path = Path(folder) / "basic_auth.ini"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        # configparser would read a "%" in the password as interpolation.
        out.write("[mlflow]\ndefault_permission = READ\n"
                  f"database_uri = {database_uri.replace('%', '%%')}\n"
                  "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n")
    return path


def mlflow_server_command(args: list[str], folder: str | os.PathLike) -> tuple[list[str], dict[str, str]]:
    """The ``mlflow server`` command line and environment for ``args`` (which must name the
    backend store): basic auth on, its users in the backend store's database."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--backend-store-uri", required=True)
    known, _ = parser.parse_known_args(args)
    if not (os.environ.get("MLFLOW_AUTH_ADMIN_USERNAME") and os.environ.get("MLFLOW_AUTH_ADMIN_PASSWORD")):
        raise SystemExit("MLFLOW_AUTH_ADMIN_USERNAME and MLFLOW_AUTH_ADMIN_PASSWORD must be set (from .env)")
    env = {"MLFLOW_AUTH_CONFIG_PATH": str(auth_config(known.backend_store_uri, folder))}
    mlflow = str(Path(sys.executable).with_name("mlflow"))
    return [mlflow, "server", "--app-name", "basic-auth", *args], env


def mlflow_server(args: list[str]) -> int:
    folder = tempfile.mkdtemp(prefix="mlflow-auth-")
    command, env = mlflow_server_command(args, folder)
    os.environ.update(env)
    os.execv(command[0], command)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("airflow-init", "mlflow-server"):
        raise SystemExit("usage: python -m shopflow.deploy airflow-init | mlflow-server [mlflow server options]")
    if argv[0] == "airflow-init":
        return airflow_init()
    return mlflow_server(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
