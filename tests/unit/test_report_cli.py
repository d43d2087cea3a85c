"""``shopflow report``: writing the file, rerunning, bad arguments, and ``--serve``."""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from test_report_models import parse
from test_warehouse_lake import STORE_DAYS, load_days

from shopflow.cli import main
from shopflow.marts import build_marts


@pytest.fixture
def warehouse_env(duck, tmp_path, monkeypatch):
    """A built three-day warehouse the command finds through the environment."""
    wh, lake = duck
    load_days(wh, lake, STORE_DAYS)
    build_marts(wh, dt.date(2019, 11, 3), window_days=3)
    wh.close()  # the command opens the file itself
    monkeypatch.setenv("SHOPFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHOPFLOW_DUCKDB_PATH", str(wh.path))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'none' / 'mlflow.db'}")
    return tmp_path / "home"


def test_report_writes_the_default_file_and_a_rerun_replaces_it(warehouse_env, capsys):
    assert main(["report"]) == 0
    path = warehouse_env / "reports" / "dashboard.html"
    assert f"dashboard written to {path}" in capsys.readouterr().out
    first = path.read_text(encoding="utf-8")
    cells = {(e["data-scope"], e["data-metric"]): e["data-value"] for e in parse(first) if e.get("data-scope")}
    assert cells[("all", "n_events")] == "16" and cells[("reference_filter", "n_purchases")] == "2"
    assert main(["report"]) == 0
    second = path.read_text(encoding="utf-8")

    def stamp_free(text):
        return re.sub(r"generated: <b>[^<]*</b>", "", text)

    assert stamp_free(second) == stamp_free(first)
    assert [p.name for p in path.parent.iterdir()] == ["dashboard.html"]  # no temporary file left


def test_out_as_of_and_scope(warehouse_env, tmp_path):
    out = tmp_path / "elsewhere" / "d.html"
    assert main(["report", "--out", str(out), "--as-of", "2019-11-03", "--scope", "reference_filter"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "scope of sections 2–5: <b>Reference filter" in text


@pytest.mark.parametrize("argv, message", [
    (["report", "--as-of", "2019-13-01"], "not a date"),
    (["report", "--scope", "everything"], "invalid choice"),
])
def test_bad_arguments_are_rejected(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_server_serves_only_the_dashboard_and_rereads_it(tmp_path):
    from shopflow.report import make_server

    page = tmp_path / "dashboard.html"
    page.write_text("<html>one</html>", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("not for the browser")
    server = make_server(page, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert get(f"{base}/dashboard.html") == (200, b"<html>one</html>")
        assert get(f"{base}/") == (200, b"<html>one</html>")
        assert get(f"{base}/secret.txt")[0] == 404
        assert get(f"{base}/../secret.txt")[0] == 404
        page.write_text("<html>two</html>", encoding="utf-8")
        assert get(f"{base}/dashboard.html") == (200, b"<html>two</html>")
    finally:
        server.shutdown()
        server.server_close()
    assert server.server_address[0] == "127.0.0.1"


def test_serve_reports_a_busy_port(tmp_path, capsys):
    from shopflow.report import serve

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert serve(tmp_path / "dashboard.html", port) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_report_serve_prints_the_url_and_serves_the_file(warehouse_env):
    # The command as `make dashboard` runs it, in its own process (it serves until stopped).
    process = subprocess.Popen(
        [sys.executable, "-m", "shopflow.cli", "report", "--serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    try:
        lines = [process.stdout.readline(), process.stdout.readline()]
        found = re.search(r"Serving the dashboard at (http://127\.0\.0\.1:\d+/dashboard\.html)", lines[1])
        assert found, (lines, process.stderr.read() if process.poll() is not None else "")
        status, body = get(found.group(1))
        assert status == 200
        assert body == (warehouse_env / "reports" / "dashboard.html").read_bytes()
    finally:
        process.terminate()
        process.wait(timeout=30)
