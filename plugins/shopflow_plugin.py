"""Links in the Airflow UI to the shopflow dashboard and to the MLflow UI.

The dashboard is served by the Airflow API server itself: a small FastAPI app mounted at
``/shopflow`` returns ``$SHOPFLOW_HOME/reports/dashboard.html`` (written by ``shopflow report``
or the daily DAG's last task) at ``/shopflow/dashboard``, to logged-in Airflow users only. The
"shopflow dashboard" entry under Browse shows it inside the Airflow UI. This is the one place
the dashboard is served (``make dashboard`` writes it and starts Airflow if needed). Set
``SHOPFLOW_DASHBOARD_URL`` to link somewhere else instead.

MLflow runs its own UI (``make mlflow``); the "MLflow" entry opens ``SHOPFLOW_MLFLOW_URL``, else
the tracking server when ``MLFLOW_TRACKING_URI`` is one, else http://127.0.0.1:5000.

Airflow loads plugins in every component, so nothing heavy is imported here: FastAPI and the
shopflow package load when the API server first asks for the app.
"""

# No ``from __future__ import annotations``: FastAPI reads the dependency's annotation
# (``Request``, imported inside create_app) at route registration, which needs it evaluated.
import functools
import os
from urllib.parse import urlsplit, urlunsplit

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/shopflow"
DEFAULT_MLFLOW_URL = "http://127.0.0.1:5000"


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def mlflow_url() -> str:
    explicit = os.environ.get("SHOPFLOW_MLFLOW_URL")
    if explicit:
        return explicit
    tracking = os.environ.get("MLFLOW_TRACKING_URI", "")
    if tracking.startswith(("http://", "https://")):
        return _without_credentials(tracking)
    return DEFAULT_MLFLOW_URL


def dashboard_view() -> dict:
    external = os.environ.get("SHOPFLOW_DASHBOARD_URL")
    if external:
        return {"name": "shopflow dashboard", "href": external, "destination": "nav", "category": "browse"}
    # Relative href: the UI resolves it against its <base href>, so it also works behind a proxy
    # that serves Airflow under a sub-path. url_route makes the UI show it in a frame.
    return {
        "name": "shopflow dashboard",
        "href": f"{URL_PREFIX.lstrip('/')}/dashboard",
        "url_route": "shopflow-dashboard",
        "destination": "nav",
        "category": "browse",
    }


def dashboard_path():
    from shopflow.report import default_path

    return default_path()


async def require_login(request) -> None:
    """Airflow's own check (Bearer token or the UI's session cookie): the dashboard shows sales data."""
    from fastapi.security import HTTPBearer

    from airflow.api_fastapi.core_api.security import get_user

    credentials = await HTTPBearer(auto_error=False)(request)
    await get_user(request, None, credentials)


@functools.cache
def create_app():
    from fastapi import Depends, FastAPI, Request
    from fastapi.responses import FileResponse, HTMLResponse

    async def login(request: Request) -> None:
        await require_login(request)

    app = FastAPI(title="shopflow", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/dashboard", dependencies=[Depends(login)])
    def dashboard():
        path = dashboard_path()
        if not path.is_file():
            return HTMLResponse(
                f"<!DOCTYPE html><title>shopflow dashboard</title><p>No dashboard at {path} yet: run "
                "<code>shopflow report</code> or the shopflow_daily DAG.</p>",
                status_code=404,
            )
        return FileResponse(path, media_type="text/html", headers={"Cache-Control": "no-store"})

    return app


class ShopflowPlugin(AirflowPlugin):
    name = "shopflow"
    external_views = [
        dashboard_view(),
        {"name": "MLflow", "href": mlflow_url(), "destination": "nav", "category": "browse"},
    ]

    @property
    def fastapi_apps(self) -> list[dict]:  # built on first use: only the API server needs it
        return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "shopflow dashboard"}]
