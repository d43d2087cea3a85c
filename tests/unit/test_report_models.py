"""Section 7 of the dashboard against a temporary MLflow store holding hand-logged runs.

``log_fake_runs`` writes runs with the metric names train.py logs (random protocol unprefixed,
``temporal_`` and ``baseline_`` twins, ``loss`` per iteration) and registers a champion; the
browser test reuses it.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from shopflow.config import get_settings

ALS, CONTENT = "shopflow-als", "shopflow-content"
BASE_MS = 1_573_900_000_000  # 2019-11-16 10:26:40 UTC

# Run 1 is registered as the champion; run 2 is newer (so its loss is "the latest run's") but
# not promoted; the sweep parent repeats run 2's metrics and must not count as a run.
RUN1 = {
    "precision_at_15": 0.031, "precision_at_15_strict": 0.012, "recall_at_15": 0.052, "map_at_15": 0.021,
    "ndcg_at_15": 0.044, "coverage": 0.11,
    "baseline_precision_at_15": 0.015, "baseline_precision_at_15_strict": 0.006, "baseline_recall_at_15": 0.024,
    "baseline_map_at_15": 0.008, "baseline_ndcg_at_15": 0.019, "baseline_coverage": 0.001,
    "temporal_precision_at_15": 0.022, "temporal_ndcg_at_15": 0.035, "temporal_recall_at_15": 0.041,
    "temporal_baseline_precision_at_15": 0.018, "temporal_baseline_ndcg_at_15": 0.014,
    "temporal_baseline_recall_at_15": 0.02,
    "itemknn_ndcg_at_15": 0.05, "itemknn_precision_at_15": 0.03,
    "temporal_itemknn_ndcg_at_15": 0.028, "temporal_itemknn_precision_at_15": 0.02,
    "temporal_itemknn_recall_at_15": 0.025, "itemknn_seconds": 1.5,
}
RUN1_LOSS = [0.9, 0.5, 0.25, 0.2]
RUN2 = {**RUN1, "temporal_ndcg_at_15": 0.030, "ndcg_at_15": 0.040}
RUN2_LOSS = [0.8, 0.3, 0.12, 0.09, 0.085, 0.084]
RUN2_TAGS = {"champion_decision": "kept", "champion_reason": "not shown better than the champion on the same "
             "split: mean per-user difference -0.005 over 120 users, 95% bootstrap interval [-0.01, 0.001]"}
CONTENT_RUN = {"next_view_hit_rate_at_10": 0.21, "baseline_next_view_hit_rate_at_10": 0.09, "annoy_recall_at_10": 0.97,
               "content_next_view_hit_rate_at_10": 0.21, "category_popular_next_view_hit_rate_at_10": 0.09,
               "blend_next_view_hit_rate_at_10": 0.24, "similar_items_next_view_hit_rate_at_10": 0.24}


def log_fake_runs(uri: str, artifacts: Path) -> dict[str, str]:
    """Log the runs above into the store at ``uri``; return their run ids."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    def run(experiment, name, start_ms, metrics, loss=(), params=None, tags=None):
        info = client.create_run(experiment, start_time=start_ms, run_name=name, tags=tags or {}).info
        entries = [Metric(k, v, start_ms, 0) for k, v in metrics.items()]
        entries += [Metric("loss", v, start_ms, i + 1) for i, v in enumerate(loss)]
        client.log_batch(info.run_id, metrics=entries,
                         params=[Param(k, str(v)) for k, v in (params or {}).items()])
        client.set_terminated(info.run_id, "FINISHED", end_time=start_ms + 60_000)
        return info.run_id

    als = client.create_experiment(ALS, artifact_location=(artifacts / ALS).as_uri())
    ids = {
        "run1": run(als, "als-2019-11-16", BASE_MS, RUN1, RUN1_LOSS,
                    {"factors": 30, "regularization": 0.1, "alpha": 40, "iterations": 4}),
        "run2": run(als, "als-2019-11-17", BASE_MS + 86_400_000, RUN2, RUN2_LOSS,
                    {"factors": 50, "regularization": 0.1, "alpha": 40, "iterations": 6}, RUN2_TAGS),
        "sweep": run(als, "als-sweep-2019-11-17", BASE_MS + 86_400_000 + 1000, {**RUN2, "temporal_ndcg_at_15": 0.5},
                     tags={"sweep": "true"}),
    }
    client.create_registered_model(ALS)
    version = client.create_model_version(ALS, source=f"{artifacts.as_uri()}/model", run_id=ids["run1"])
    client.set_registered_model_alias(ALS, "champion", version.version)
    content = client.create_experiment(CONTENT, artifact_location=(artifacts / CONTENT).as_uri())
    ids["content"] = run(content, "content-2019-11-17", BASE_MS + 86_400_000, CONTENT_RUN,
                         params={"similar_items_method": "blend"})
    return ids


class Cells(HTMLParser):
    """Every element's attributes and text, for finding data-metric cells and section notes."""

    def __init__(self):
        super().__init__()
        self.elements: list[dict] = []
        self._open: list[dict] = []

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, **dict(attrs), "text": ""}
        self.elements.append(element)
        if tag not in ("br", "meta", "img", "input", "link"):
            self._open.append(element)

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for element in self._open:
            element["text"] += data


def parse(html: str) -> list[dict]:
    parser = Cells()
    parser.feed(html)
    return parser.elements


def section(elements: list[dict], number: int) -> dict:
    return next(e for e in elements if e["tag"] == "section" and e.get("data-section") == str(number))


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory) -> Path:
    """A migrated, empty MLflow SQLite store; creating one takes seconds, copying it does not."""
    from mlflow import MlflowClient

    db = tmp_path_factory.mktemp("mlflow-empty") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments()
    return db


def copy_store(empty_db: Path, folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(empty_db, folder / "mlflow.db")
    return f"sqlite:///{folder / 'mlflow.db'}"


@pytest.fixture(scope="module")
def store(empty_db, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow")
    uri = copy_store(empty_db, folder)
    ids = log_fake_runs(uri, folder / "artifacts")
    return uri, ids


def settings_for(uri: str, home: Path):
    return dataclasses.replace(get_settings(), home=home, mlflow_uri=uri, duckdb_path=home / "absent.duckdb")


def test_tracking_reader_picks_champion_latest_loss_and_skips_sweep_parents(store, tmp_path):
    from shopflow.report import models

    uri, ids = store
    tracking = models.load(settings_for(uri, tmp_path))
    als = tracking.models[ALS]
    assert als.champion_version == "1"
    assert als.champion.run_id == ids["run1"]
    assert [r.run_id for r in als.recent] == [ids["run2"], ids["run1"]]  # newest first, no sweep parent
    assert als.loss_run.run_id == ids["run2"]
    assert als.loss == [(1, 0.8), (2, 0.3), (3, 0.12), (4, 0.09), (5, 0.085), (6, 0.084)]
    content = tracking.models[CONTENT]
    assert content.champion is None and [r.run_id for r in content.recent] == [ids["content"]]


def test_section_shows_the_champions_metrics_against_the_baseline(store, tmp_path):
    from shopflow.report import render_report

    uri, _ = store
    html = render_report(settings_for(uri, tmp_path))
    sec = section(parse(html), 7)
    assert int(sec["data-figures"]) == 4  # champion bars, loss curve, recent runs, content bars
    cells = {(e["data-model"], e["data-metric"]): e for e in parse(html) if e.get("data-model")}
    # The champion is run 1 (version 1), not the newer run 2.
    assert float(cells[(ALS, "ndcg_at_15")]["data-value"]) == 0.044
    assert float(cells[(ALS, "baseline_ndcg_at_15")]["data-value"]) == 0.019
    assert float(cells[(ALS, "temporal_ndcg_at_15")]["data-value"]) == 0.035
    assert float(cells[(ALS, "temporal_baseline_ndcg_at_15")]["data-value"]) == 0.014
    assert cells[(ALS, "precision_at_15_strict")]["text"] == "0.0120"
    assert float(cells[(CONTENT, "next_view_hit_rate_at_10")]["data-value"]) == 0.21
    # The reading names the champion and its primary metric (temporal ndcg@15) against popularity:
    # 0.035 / 0.014 = 2.50.
    assert "ALS champion v1 (als-2019-11-16): ndcg@15 0.0350 against 0.0140 for popularity (2.50×)" in sec["text"]
    loss = next(e for e in parse(html) if e.get("data-loss-points"))
    assert (loss["data-loss-points"], float(loss["data-final-loss"])) == ("6", 0.084)
    # The loss figure carries run 2's six values in order.
    figure = re.search(r'Plotly.newPlot\(\s*"fig-als-loss",\s*(\[.*?\]),\s*\{', html, re.S).group(1)
    assert '"y":[0.8,0.3,0.12,0.09,0.085,0.084]' in figure.replace(" ", "")


def test_no_tracking_store_gives_a_clear_note_and_creates_nothing(tmp_path):
    from shopflow.report import render_report

    db = tmp_path / "mlflow.db"
    html = render_report(settings_for(f"sqlite:///{db}", tmp_path))
    sec = section(parse(html), 7)
    assert sec["data-figures"] == "0"
    assert f"No MLflow tracking store at {db} yet" in sec["text"]
    assert not db.exists()


def test_store_without_runs_says_so(empty_db, tmp_path):
    from mlflow import MlflowClient

    from shopflow.report import render_report

    uri = copy_store(empty_db, tmp_path / "store")
    MlflowClient(tracking_uri=uri).create_experiment(ALS, artifact_location=(tmp_path / "a").as_uri())
    html = render_report(settings_for(uri, tmp_path))
    sec = section(parse(html), 7)
    assert sec["data-figures"] == "0"
    assert "No training run is recorded in MLflow" in sec["text"]


def test_unreadable_store_is_a_note_not_a_crash(tmp_path):
    from shopflow.report import render_report

    class Broken:
        def get_experiment_by_name(self, name):
            raise ConnectionError("tracking server unreachable")

    html = render_report(settings_for("http://user:secret@mlflow.invalid:5000", tmp_path), mlflow_client=Broken())
    sec = section(parse(html), 7)
    assert "Could not read the MLflow tracking store at http://mlflow.invalid:5000: ConnectionError" in sec["text"]
    assert "secret" not in html


def test_section_shows_the_item_knn_baseline(store, tmp_path):
    from shopflow.report import render_report

    uri, _ = store
    html = render_report(settings_for(uri, tmp_path))
    elements = parse(html)
    cells = {(e["data-model"], e["data-metric"]): e for e in elements if e.get("data-model")}
    assert float(cells[(ALS, "itemknn_ndcg_at_15")]["data-value"]) == 0.05
    assert float(cells[(ALS, "temporal_itemknn_ndcg_at_15")]["data-value"]) == 0.028
    # a metric item-kNN did not log is a dash, not a number
    assert cells[(ALS, "itemknn_map_at_15")]["text"] == "—"
    # temporal ndcg@15: ALS 0.035 against item-kNN 0.028, 0.035 / 0.028 = 1.25x
    assert "0.0140 for popularity (2.50×) and 0.0280 for item-kNN (ALS beats it) on the temporal split" in section(
        elements, 7)["text"]
    rows = [e["text"] for e in elements if e["tag"] == "tr"]
    assert any(r.startswith("temporal splitndcg@15") and r.endswith("0.02801.25×") for r in rows)
    figure = re.search(r'Plotly.newPlot\(\s*"fig-als-champion",\s*(\[.*?\]),\s*\{', html, re.S).group(1)
    assert '"name":"item-kNN baseline"' in figure
    # the temporal panel's item-kNN bars: precision, recall, ndcg as logged
    assert '"y":[0.02,0.025,0.028],"type":"bar","xaxis":"x2"' in figure.replace(" ", "")


def test_section_says_how_the_latest_run_was_promoted(store, tmp_path):
    from shopflow.report import render_report

    uri, ids = store
    html = render_report(settings_for(uri, tmp_path))
    caption = next(e for e in parse(html) if e.get("data-promotion-run"))
    # run 2 is the newest run (the sweep parent is not a run); run 1 logged no decision
    assert (caption["data-promotion-run"], caption["data-decision"]) == (ids["run2"], "kept")
    assert caption["text"] == ("Latest ALS run als-2019-11-17: kept, not shown better than the champion on the "
                               "same split: mean per-user difference -0.005 over 120 users, 95% bootstrap "
                               "interval [-0.01, 0.001].")


def test_section_shows_the_similar_items_comparison(store, tmp_path):
    from shopflow.report import render_report

    uri, _ = store
    elements = parse(render_report(settings_for(uri, tmp_path)))
    cells = {(e["data-model"], e["data-metric"]): e for e in elements if e.get("data-model")}
    assert float(cells[(CONTENT, "blend_next_view_hit_rate_at_10")]["data-value"]) == 0.24
    assert float(cells[(CONTENT, "category_popular_next_view_hit_rate_at_10")]["data-value"]) == 0.09
    caption = next(e for e in elements if e.get("data-similar-method"))
    assert caption["data-similar-method"] == "blend"
    assert caption["text"] == ("Similar items are published by the blend method, the best next-view hit rate "
                               "of this run.")
