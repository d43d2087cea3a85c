"""The champion rule, batched logging and the registry, on a temporary SQLite MLflow store."""

from __future__ import annotations

import math

import pytest

from shopflow import tracking
from shopflow.config import get_settings

NAN = float("nan")


@pytest.mark.parametrize(
    "new, champion, failures, expected",
    [
        (0.30, None, [], (True, "promoted")),           # first version
        (0.30, 0.20, [], (True, "promoted")),           # strictly better
        (0.20, 0.20, [], (False, "kept")),              # a tie keeps the incumbent
        (0.10, 0.20, [], (False, "kept")),              # worse
        (NAN, 0.20, [], (False, "rejected")),           # not evaluable
        (0.30, NAN, [], (True, "promoted")),            # incumbent not evaluable
        (0.90, 0.20, ["recall 0.5 < 0.9"], (False, "rejected")),  # gate beats everything
        (0.90, None, ["recall 0.5 < 0.9"], (False, "rejected")),
    ],
)
def test_champion_rule(new, champion, failures, expected):
    promote, decision, reason = tracking.decide(new, champion, True, failures)
    assert (promote, decision) == expected
    assert reason


def test_champion_rule_lower_is_better():
    assert tracking.decide(0.1, 0.2, higher_is_better=False)[0] is True
    assert tracking.decide(0.3, 0.2, higher_is_better=False)[0] is False


class _RecordingClient:
    def __init__(self):
        self.calls = []

    def log_batch(self, run_id, metrics=(), params=(), tags=()):
        self.calls.append((run_id, list(metrics), list(params), list(tags)))


def test_metrics_go_out_in_batches_of_1000():
    client = _RecordingClient()
    tracking.log_metrics(client, "r", {f"m{i}": i for i in range(2500)})
    assert [len(c[1]) for c in client.calls] == [1000, 1000, 500]
    client = _RecordingClient()
    tracking.log_params(client, "r", {f"p{i}": "x" * 7000 for i in range(150)})
    assert [len(c[2]) for c in client.calls] == [100, 50]
    assert len(client.calls[0][2][0].value) == 6000  # MLflow's limit on a param value


def test_series_are_logged_as_steps():
    client = _RecordingClient()
    tracking.log_series(client, "r", "loss", [0.5, 0.25, 0.125])
    (_, metrics, _, _), = client.calls
    assert [(m.key, m.value, m.step) for m in metrics] == [("loss", 0.5, 1), ("loss", 0.25, 2), ("loss", 0.125, 3)]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store for this module (creating its tables takes seconds); the tests use
    different registered models."""
    home = tmp_path_factory.mktemp("mlflow-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHOPFLOW_HOME", str(home))
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow.db'}")
        settings = get_settings()
        yield settings, tracking.connect(settings), home


def _version(client, name, experiment_id, metrics, tmp_path):
    run_id = tracking.start_run(client, experiment_id, "r")
    tracking.log_metrics(client, run_id, metrics)
    source = tmp_path / run_id
    source.mkdir()
    return tracking.register(client, name, str(source), run_id), run_id


def test_alias_moves_only_to_a_better_version(store, tmp_path):
    settings, client, home = store
    exp = tracking.ensure_experiment(client, tracking.ALS, settings)
    assert client.get_experiment(exp).artifact_location.startswith("file://")
    assert str(home / "mlartifacts" / tracking.ALS) in client.get_experiment(exp).artifact_location

    v1, r1 = _version(client, tracking.ALS, exp, {"temporal_ndcg_at_15": 0.10}, tmp_path)
    assert tracking.apply_champion_rule(client, tracking.ALS, v1, r1)["champion_decision"] == "promoted"
    v2, r2 = _version(client, tracking.ALS, exp, {"temporal_ndcg_at_15": 0.05}, tmp_path)
    out = tracking.apply_champion_rule(client, tracking.ALS, v2, r2)
    assert (out["champion"], out["champion_decision"], out["champion_previous_version"]) == (False, "kept", "1")
    assert client.get_model_version_by_alias(tracking.ALS, "champion").version == 1
    v3, r3 = _version(client, tracking.ALS, exp, {"temporal_ndcg_at_15": 0.20}, tmp_path)
    assert tracking.apply_champion_rule(client, tracking.ALS, v3, r3)["champion_decision"] == "promoted"
    assert client.get_model_version_by_alias(tracking.ALS, "champion").version == 3
    # the decision is on the run and on the model version
    assert client.get_run(r2).data.tags["champion_decision"] == "kept"
    assert client.get_model_version(tracking.ALS, "2").tags["champion_decision"] == "kept"
    assert "does not beat" in client.get_run(r2).data.tags["champion_reason"]


def test_content_gate_blocks_an_inaccurate_index(store, tmp_path):
    settings, client, _ = store
    exp = tracking.ensure_experiment(client, tracking.CONTENT, settings)
    v1, r1 = _version(client, tracking.CONTENT, exp,
                      {"next_view_hit_rate_at_10": 0.9, "annoy_recall_at_10": 0.5}, tmp_path)
    out = tracking.apply_champion_rule(client, tracking.CONTENT, v1, r1)
    assert out["champion_decision"] == "rejected" and "annoy_recall_at_10" in out["champion_reason"]
    assert tracking.current_champion(client, tracking.CONTENT) is None
    v2, r2 = _version(client, tracking.CONTENT, exp,
                      {"next_view_hit_rate_at_10": 0.3, "annoy_recall_at_10": 0.97}, tmp_path)
    assert tracking.apply_champion_rule(client, tracking.CONTENT, v2, r2)["champion"] is True
    assert tracking.current_champion(client, tracking.CONTENT).version == 2
    assert tracking.load_champion("shopflow-never-registered", settings, client) is None
    assert not math.isnan(client.get_run(r2).data.metrics["annoy_recall_at_10"])
