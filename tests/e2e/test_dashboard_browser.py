"""The dashboard in a real browser: Debian's headless Chromium opens the generated file.

A two-week store (seeded, a few thousand events) goes through the real load, marts and checks on
DuckDB, and two hand-logged ALS runs plus a content run go into a temporary MLflow store. The
page reports what it drew into ``#render-status`` (see shopflow.report.page); Chromium's
``--dump-dom`` hands that back after the page has run. The test needs ``/usr/bin/chromium``
(``.ci/run`` installs it) and fails, never skips, without it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))  # the lake and MLflow fixtures

from test_report_models import log_fake_runs  # noqa: E402
from test_warehouse_lake import ev, write_partition  # noqa: E402

from shopflow.config import get_settings  # noqa: E402
from shopflow.schema import QUARANTINE_REASONS  # noqa: E402

CHROMIUM = os.environ.get("SHOPFLOW_CHROMIUM", "/usr/bin/chromium")
FIRST_DAY, N_DAYS = dt.date(2019, 11, 4), 14  # Monday 4 to Sunday 17 November 2019
AS_OF = FIRST_DAY + dt.timedelta(days=N_DAYS - 1)

CATALOGUE = [
    ("electronics.smartphone", ("samsung", "apple", "xiaomi"), 300.0),
    ("electronics.audio.headphone", ("sony", "apple", "jbl"), 80.0),
    ("appliances.kitchen.washer", ("bosch", "lg", "samsung"), 420.0),
    ("computers.notebook", ("lenovo", "hp", "asus"), 700.0),
    ("apparel.shoes", ("nike", None), 60.0),
    (None, ("cordiant", None), 45.0),
]


def synthetic_days(seed: int = 7) -> dict[str, list[dict]]:
    """Sessions of views, some carts and purchases; busier at weekends and 06:00-15:00 UTC."""
    rng = random.Random(seed)
    products = []
    for i in range(60):
        code, brands, price = CATALOGUE[i % len(CATALOGUE)]
        products.append((1000 + i, code, brands[i % len(brands)], round(price * rng.uniform(0.6, 1.6), 2)))
    weights = [1 / (rank + 1) for rank in range(len(products))]
    hours = [1 if h < 6 or h >= 19 else 4 if h < 15 else 2 for h in range(24)]
    days = {}
    for d in range(N_DAYS):
        day = FIRST_DAY + dt.timedelta(days=d)
        rows = []
        for s in range(45 if day.isoweekday() >= 6 else 30):
            user = int(rng.paretovariate(1.2) * 10) % 150 + 1
            session = f"{day:%m%d}-{s:03d}-{user}"
            t = dt.datetime(day.year, day.month, day.day, rng.choices(range(24), hours)[0], rng.randrange(50))
            # Distinct products in a session, so no two rows of it are exact duplicates.
            chosen = {p[0]: p for p in rng.choices(products, weights, k=rng.randint(1, 6))}
            for product_id, code, brand, price in chosen.values():
                item = dict(code=code, brand=brand, price=price)
                steps = ["view"] + (["cart"] if rng.random() < 0.3 else [])
                steps += ["purchase"] if len(steps) == 2 and rng.random() < 0.45 else []
                for step in steps:
                    if t.date() != day:
                        break
                    rows.append(ev(f"{t:%Y-%m-%d %H:%M:%S}", step, product_id, user, session, **item))
                    t += dt.timedelta(seconds=rng.randint(5, 50))
        days[day.isoformat()] = rows
    return days


def build_home(home: Path) -> Path:
    """Lake, warehouse and MLflow store of the synthetic fortnight under ``home``; return the page."""
    from shopflow.marts import build_range, run_checks
    from shopflow.report import build_report
    from shopflow.warehouse.duckdb import DuckDBWarehouse

    settings = dataclasses.replace(
        get_settings(), home=home, lake=str(home / "lake"), duckdb_path=home / "warehouse.duckdb",
        mlflow_uri=f"sqlite:///{home / 'mlflow.db'}",
    )
    rng = random.Random(11)
    with DuckDBWarehouse(settings) as wh:
        for day, rows in synthetic_days().items():
            by_reason = {r: 0 for r in QUARANTINE_REASONS}
            by_reason["unparseable_time"] = rng.randint(0, 3)
            by_reason["missing_user_session"] = rng.randint(0, 2)
            duplicates = rng.randint(0, 4)
            write_partition(Path(settings.lake), day, rows, manifest={
                "rows_in": len(rows) + duplicates + sum(by_reason.values()),
                "duplicates_dropped": duplicates,
                "rows_quarantined": sum(by_reason.values()),
                "quarantined_by_reason": by_reason,
            })
            wh.load_events_partition(dt.date.fromisoformat(day), settings.lake)
        # every date's marts in one dbt run (the same tables as a run per date, oldest first)
        build_range(wh, synthetic_days(), window_days=N_DAYS)
        for day in synthetic_days():
            run_checks(wh, day)
    log_fake_runs(settings.mlflow_uri, home / "mlartifacts")
    return build_report(settings)


def chromium(*args: str, user_data: Path) -> subprocess.CompletedProcess:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: the browser test needs Debian's chromium "
                    "(apt-get install -y chromium; .ci/run installs it)", pytrace=False)
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-extensions",
        "--disable-dev-shm-usage", f"--user-data-dir={user_data}", "--virtual-time-budget=20000", *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def render_status(page: Path, user_data: Path) -> tuple[dict, str]:
    # The same width as the screenshot, so the page height it reports is the screenshot's.
    result = chromium("--window-size=1400,1000", "--dump-dom", page.as_uri(), user_data=user_data)
    assert result.returncode == 0, f"chromium --dump-dom failed ({result.returncode}): {result.stderr[-2000:]}"
    found = re.search(r'<pre id="render-status"[^>]*>(.*?)</pre>', result.stdout, re.S)
    assert found, "the dumped page has no #render-status element"
    text = found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    body = re.search(r'<body[^>]*data-render="([a-z]+)"', result.stdout)
    return json.loads(text), body.group(1) if body else "?"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory) -> tuple[Path, dict, str]:
    """The page of the synthetic fortnight and what Chromium found when it ran it."""
    page = build_home(tmp_path_factory.mktemp("home"))
    status, render = render_status(page, tmp_path_factory.mktemp("profile"))
    return page, status, render


def test_every_section_draws_without_errors_or_fetches(dashboard):
    _, status, render = dashboard
    assert status["errors"] == []
    assert status["resources"] == []  # nothing fetched: no script, stylesheet, font or XHR
    sections = status["sections"]
    assert sorted(sections, key=int) == [str(n) for n in range(1, 9)]
    # Figures per section: 1 event mix; 2 funnel; 3 trend; 4 two heatmaps; 5 four top-10 charts;
    # 6 scores, quartiles, segments; 7 ALS bars, loss, recent runs, content; 8 rows, checks.
    assert {k: v["expected"] for k, v in sections.items()} == {
        "1": 1, "2": 1, "3": 1, "4": 2, "5": 4, "6": 3, "7": 4, "8": 2,
    }
    for number, found in sections.items():
        assert found["drawn"] == found["expected"] == found["figures"], f"section {number}: {found}"
        assert found["notes"] == 0, f"section {number} shows a warning note on complete data: {found}"
    assert status["complete"] is True and render == "ok"


def test_screenshot(dashboard, tmp_path):
    page, status, _ = dashboard
    shot = tmp_path / "dashboard.png"
    height = int(status["height"])
    result = chromium("--hide-scrollbars", f"--window-size=1400,{height}", f"--screenshot={shot}", page.as_uri(),
                      user_data=tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, got_height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, got_height) == (1400, height)
    # A blank page compresses to almost nothing; eight sections of charts do not.
    assert len(data) > 300_000, f"screenshot is only {len(data)} bytes"
    keep = get_settings().reports
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, keep / "dashboard-screenshot.png")
    print(f"screenshot: {keep / 'dashboard-screenshot.png'}")


def test_the_page_reports_errors_undrawn_charts_and_fetches(dashboard, tmp_path):
    # The check above can only fail if the page's own check sees problems: break a copy on purpose.
    page, _, _ = dashboard
    html = page.read_text(encoding="utf-8")
    html = html.replace("<main>", '<main><script>throw new Error("planted")</script>'
                                  '<img src="http://192.0.2.1/planted.png" alt="">', 1)
    html, replaced = re.subn(r'Plotly\.newPlot\((\s*"fig-headline-mix")', r"Plotly.notAFunction(\1", html, count=1)
    assert replaced == 1
    broken = tmp_path / "broken.html"
    broken.write_text(html, encoding="utf-8")
    status, render = render_status(broken, tmp_path / "profile")
    assert render == "failed" and status["complete"] is False
    assert status["sections"]["1"]["drawn"] == 0 and status["sections"]["2"]["drawn"] == 1
    assert any("planted" in e for e in status["errors"])
    assert any("notAFunction" in e for e in status["errors"])
    assert status["resources"] == ["http://192.0.2.1/planted.png"]


def test_empty_dashboard_renders_notes_without_errors(tmp_path):
    from shopflow.report import build_report

    home = tmp_path / "empty"
    settings = dataclasses.replace(get_settings(), home=home, duckdb_path=home / "warehouse.duckdb",
                                   mlflow_uri=f"sqlite:///{home / 'mlflow.db'}")
    page = build_report(settings)
    status, render = render_status(page, tmp_path / "profile")
    assert status["errors"] == [] and status["resources"] == []
    for number, found in status["sections"].items():
        assert found["expected"] == found["drawn"] == 0, f"section {number}: {found}"
        assert found["notes"] >= 1, f"section {number} shows neither a chart nor a note"
    assert render == "ok"
