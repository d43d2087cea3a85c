"""Registering a logged model names its model id: an MLflow tracking server refuses a
``models:/m-...`` source without it (the team stack's first training run failed so)."""

from __future__ import annotations

from types import SimpleNamespace

from shopflow import tracking


class RecordingClient:
    def __init__(self):
        self.calls = []

    def get_registered_model(self, name):
        return SimpleNamespace(name=name)

    def create_model_version(self, name, source, run_id=None, **kwargs):
        self.calls.append({"name": name, "source": source, "run_id": run_id, **kwargs})
        return SimpleNamespace(version=3)


def test_a_logged_model_is_registered_with_its_model_id():
    client = RecordingClient()
    assert tracking.register(client, "shopflow-als", "models:/m-5483be2c", "run1") == "3"
    assert client.calls == [{"name": "shopflow-als", "source": "models:/m-5483be2c", "run_id": "run1",
                             "model_id": "m-5483be2c"}]


def test_other_sources_carry_no_model_id():
    client = RecordingClient()
    tracking.register(client, "shopflow-als", "runs:/run1/model", "run1")
    assert client.calls[0]["model_id"] is None
