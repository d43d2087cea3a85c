"""The old champion rule (a pure function) and batched logging."""

from __future__ import annotations

import pytest

from shopflow import tracking

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
