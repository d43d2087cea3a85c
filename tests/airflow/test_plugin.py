"""The shopflow Airflow plugin, loaded by Airflow's own plugin manager from plugins/.

Checks what the UI receives (the links, in the shape Airflow's API validates), that the API
server would mount the dashboard app at /shopflow, and that the app serves the dashboard only to
an authenticated user.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shopflow.runtime import REPO_ROOT

PLUGIN_FILE = REPO_ROOT / "plugins" / "shopflow_plugin.py"


def load_module(name: str = "shopflow_plugin_under_test"):
    spec = importlib.util.spec_from_file_location(name, PLUGIN_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def airflow_plugins():
    from airflow import plugins_manager

    assert Path(os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"]) == REPO_ROOT / "plugins"
    plugins, errors = plugins_manager._get_plugins()
    assert errors == {}
    return plugins_manager, {p.name: p for p in plugins}


def test_airflow_loads_the_plugin_and_its_links(airflow_plugins):
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse

    manager, plugins = airflow_plugins
    plugin = plugins["shopflow"]
    views = [ExternalViewResponse.model_validate(v) for v in plugin.external_views]
    assert [(v.name, v.href, v.destination, v.category, v.url_route) for v in views] == [
        ("shopflow dashboard", "shopflow/dashboard", "nav", "browse", "shopflow-dashboard"),
        ("MLflow", "http://127.0.0.1:5000", "nav", "browse", None),
    ]
    # The UI lists views with a url_route as pages of its own (the dashboard, in a frame).
    ui_views, _ = manager._get_ui_plugins()
    assert [v["url_route"] for v in ui_views if v.get("url_route")] == ["shopflow-dashboard"]


def test_the_api_server_mounts_the_dashboard_app(airflow_plugins):
    from fastapi import FastAPI

    from airflow.api_fastapi.app import init_plugins

    manager, _ = airflow_plugins
    apps, _ = manager.get_fastapi_plugins()
    # Other plugins (Cosmos's dbt docs app) may mount apps of their own; ours is there once.
    mounts = [(a["url_prefix"], a["name"]) for a in apps]
    assert mounts.count(("/shopflow", "shopflow dashboard")) == 1, mounts
    root = FastAPI()
    init_plugins(root)
    mounted = [r.path for r in root.routes]
    assert "/shopflow" in mounted


@pytest.fixture
def client(tmp_path, monkeypatch):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    monkeypatch.setenv("SHOPFLOW_HOME", str(tmp_path))
    module = load_module()
    root = FastAPI()
    root.mount("/shopflow", module.create_app())
    return TestClient(root), tmp_path / "reports" / "dashboard.html"


def test_dashboard_needs_an_airflow_login(client):
    from airflow.api_fastapi.app import init_auth_manager

    init_auth_manager()  # the API server's (simple) auth manager, which judges the token
    http, page = client
    page.parent.mkdir(parents=True)
    page.write_text("<!DOCTYPE html>sales figures", encoding="utf-8")
    response = http.get("/shopflow/dashboard")
    assert response.status_code == 401 and response.json() == {"detail": "Not authenticated"}
    for attempt in ({"headers": {"Authorization": "Bearer not-a-jwt"}}, {"cookies": {"_token": "not-a-jwt"}}):
        response = http.get("/shopflow/dashboard", **attempt)
        assert response.status_code == 403 and "sales figures" not in response.text


def test_dashboard_is_served_to_a_logged_in_user(client, monkeypatch):
    from airflow.api_fastapi.core_api import security

    seen = []

    async def accept(request, _oauth_token, credentials):
        # Stands in for the token check, which needs the Airflow metadata database.
        seen.append((request.cookies.get("_token"), credentials))
        return object()

    monkeypatch.setattr(security, "get_user", accept)
    http, page = client
    missing = http.get("/shopflow/dashboard", cookies={"_token": "t"})
    assert missing.status_code == 404 and "run <code>shopflow report</code>" in missing.text
    page.parent.mkdir(parents=True)
    page.write_text("<!DOCTYPE html><title>x</title>dashboard body", encoding="utf-8")
    served = http.get("/shopflow/dashboard", cookies={"_token": "t"})
    assert served.status_code == 200
    assert served.text.endswith("dashboard body")
    assert served.headers["content-type"].startswith("text/html")
    assert seen[-1] == ("t", None)  # the UI's session cookie is what the check received


def test_links_follow_the_environment(monkeypatch):
    monkeypatch.setenv("SHOPFLOW_DASHBOARD_URL", "http://127.0.0.1:8050/dashboard.html")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://user:pw@mlflow.example.com:8443/")
    views = load_module("shopflow_plugin_env").ShopflowPlugin.external_views
    assert views[0] == {"name": "shopflow dashboard", "href": "http://127.0.0.1:8050/dashboard.html",
                        "destination": "nav", "category": "browse"}
    assert views[1]["href"] == "https://mlflow.example.com:8443/"
    monkeypatch.setenv("SHOPFLOW_MLFLOW_URL", "http://mlflow.internal:5000")
    assert load_module("shopflow_plugin_env2").ShopflowPlugin.external_views[1]["href"] == "http://mlflow.internal:5000"


def test_importing_the_plugin_stays_light():
    # Airflow imports plugins in every component: FastAPI, pandas and plotly wait for first use.
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('p', {str(PLUGIN_FILE)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print(sorted(x for x in ('fastapi', 'pandas', 'plotly', 'duckdb', 'mlflow') if x in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
