"""Peak memory and wall time per step, the memory guard, and the message for a killed step."""

from __future__ import annotations

import json
import time

import numpy as np
import psutil
import pytest

from shopflow import resources

MB = 1024 * 1024


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPFLOW_HOME", str(tmp_path))
    return tmp_path


def test_peak_rss_sees_an_allocation_freed_before_the_step_ends(home):
    before = psutil.Process().memory_info().rss / MB
    with resources.measured("train_als", interval=0.02, budget_mb=1e9) as usage:
        block = np.ones(400 * MB // 8)  # 400 MB, touched
        time.sleep(0.2)
        del block
        time.sleep(0.05)
    assert usage.peak_rss_mb >= before + 350
    assert usage.seconds >= 0.25
    (line,) = resources.read_usage(home)
    assert line["name"] == "train_als" and line["peak_rss_mb"] == round(usage.peak_rss_mb, 1)
    assert usage.metrics("task") == {"task_seconds": round(usage.seconds, 3),
                                     "task_peak_rss_mb": round(usage.peak_rss_mb, 1)}
    assert not list((home / "logs" / "running").iterdir())  # the beacon is gone after a clean end


def test_a_step_over_its_budget_stops_with_a_message_naming_the_setting(home):
    budget = psutil.Process().memory_info().rss / MB + 150
    with pytest.raises(resources.MemoryBudgetExceeded) as err:
        with resources.measured("publish", interval=0.02, budget_mb=budget):
            block = np.ones(600 * MB // 8)
            for _ in range(100):
                time.sleep(0.02)
            del block
    text = str(err.value)
    assert "'publish'" in text and "SHOPFLOW_PUBLISH_BATCH_USERS" in text
    assert f"SHOPFLOW_TASK_MEMORY_MB={budget:,.0f}" in text


def test_a_killed_step_is_explained_from_its_beacon(home):
    running = home / "logs" / "running"
    running.mkdir(parents=True)
    dead = psutil.Popen(["true"])
    dead.wait()
    (running / f"publish-{dead.pid}.json").write_text(json.dumps({
        "name": "publish", "pid": dead.pid, "rss_mb": 20123.4, "peak_rss_mb": 21000.0,
        "bound": resources.BOUNDS["publish"]}))
    (lines) = resources.explain_killed(home, 137)
    assert lines == ["shopflow: step 'publish' was killed (exit code 137: out of memory?) while holding "
                     "20,123 MB (peak 21,000 MB); the setting that bounds it: SHOPFLOW_PUBLISH_BATCH_USERS "
                     "(users per batch written to rec_user_items) and SHOPFLOW_PUBLISH_DUCKDB_MEMORY_LIMIT "
                     "(DuckDB's working memory in publish)"]
    assert not list(running.iterdir())
    assert resources.main(["explain", "137"]) == 137


def test_a_running_steps_beacon_is_left_alone(home):
    running = home / "logs" / "running"
    running.mkdir(parents=True)
    import os

    (running / f"marts-{os.getpid()}.json").write_text(json.dumps({
        "name": "marts", "pid": os.getpid(), "rss_mb": 1.0, "peak_rss_mb": 1.0, "bound": "x"}))
    assert resources.explain_killed(home, 1) == []
