"""Training into a temporary MLflow store from a DuckDB warehouse holding the planted shop;
then publishing and ``shopflow recommend`` from the registered champions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from test_recommend_planted import ITEMS_PER_BLOCK, N_BLOCKS, item_block, planted_events, user_block

from shopflow import cli, tracking
from shopflow.config import get_settings
from shopflow.recommend import similar

RUN_DATE = dt.date(2019, 11, 10)
WINDOW = {"window_days": 10, "test_days": 3}
GOOD = {**WINDOW, "factors": 4, "iterations": 15, "alpha": 10.0, "regularization": 0.1, "seed": 3}
BAD = {**WINDOW, "factors": 1, "iterations": 1, "alpha": 1.0, "regularization": 0.1, "seed": 3}
DESIGN_METRICS = ("precision_at_15", "precision_at_15_strict", "recall_at_15", "map_at_15", "ndcg_at_15", "coverage")


@pytest.fixture(scope="module")
def events():
    return planted_events()


def _home(tmp_path_factory, name, events):
    """A fresh SHOPFLOW_HOME with the planted events in its DuckDB warehouse."""
    from shopflow.warehouse.duckdb import DuckDBWarehouse

    home = tmp_path_factory.mktemp(name)
    mp = pytest.MonkeyPatch()
    mp.setenv("SHOPFLOW_HOME", str(home))
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow.db'}")
    for var in ("SHOPFLOW_DUCKDB_PATH", "SHOPFLOW_MLFLOW_ARTIFACTS", "SHOPFLOW_WAREHOUSE"):
        mp.delenv(var, raising=False)
    settings = get_settings()
    with DuckDBWarehouse(settings) as wh:
        wh.write_table("events", events)
    return mp, settings


@pytest.fixture(scope="module")
def trained(tmp_path_factory, events):
    """bad ALS run -> good ALS run -> bad again (through the CLI); a content run; a publish."""
    from shopflow.publish import publish_recommendations
    from shopflow.train import train_als, train_content

    mp, settings = _home(tmp_path_factory, "trained", events)
    try:
        runs = {
            "bad": train_als(RUN_DATE, BAD, settings=settings),
            "good": train_als(RUN_DATE, GOOD, settings=settings),
        }
        rc = cli.main(["train", "als", "--run-date", str(RUN_DATE), "--factors", "1", "--iterations", "1",
                       "--alpha", "1", "--seed", "4", "--window-days", "10", "--test-days", "3"])
        assert rc == 0
        runs["content"] = train_content(RUN_DATE, {**WINDOW, "n_trees": 10}, settings=settings)
        runs["publish"] = publish_recommendations(RUN_DATE, settings)
        runs["publish_again"] = publish_recommendations(RUN_DATE, settings)
        yield settings, tracking.connect(settings), runs
    finally:
        mp.undo()


def test_logged_params_and_data_window(trained, events):
    _, client, runs = trained
    params = client.get_run(runs["good"]["run_id"]).data.params
    bought = events.loc[events["event_type"] == "purchase", ["user_id", "product_id"]].drop_duplicates()
    assert {k: params[k] for k in ("factors", "regularization", "alpha", "iterations", "seed", "weights",
                                   "window_start", "window_end", "cutoff_date", "test_fraction")} == {
        "factors": "4", "regularization": "0.1", "alpha": "10.0", "iterations": "15", "seed": "3",
        "weights": "purchase=1", "window_start": "2019-11-01", "window_end": "2019-11-10",
        "cutoff_date": "2019-11-08", "test_fraction": "0.2",
    }
    assert int(params["n_users"]) == events["user_id"].nunique() == 120
    assert int(params["n_items"]) == bought["product_id"].nunique()
    assert int(params["n_purchase_pairs"]) == len(bought)


def test_loss_is_logged_once_per_iteration(trained):
    _, client, runs = trained
    history = client.get_metric_history(runs["good"]["run_id"], "loss")
    assert [m.step for m in sorted(history, key=lambda m: m.step)] == list(range(1, 16))
    losses = [m.value for m in sorted(history, key=lambda m: m.step)]
    assert losses[-1] < losses[0]


def test_both_protocols_and_the_baseline_are_logged(trained):
    _, client, runs = trained
    metrics = client.get_run(runs["good"]["run_id"]).data.metrics
    for prefix in ("", "temporal_"):
        for name in DESIGN_METRICS:
            for variant in (f"{prefix}{name}", f"{prefix}baseline_{name}", f"{prefix}itemknn_{name}"):
                assert 0.0 <= metrics[variant] <= 1.0, variant
        assert metrics[f"{prefix}users_evaluated"] > 0
        assert metrics[f"{prefix}itemknn_seconds"] > 0
    params = client.get_run(runs["good"]["run_id"]).data.params
    assert (params["itemknn_method"], params["itemknn_neighbours"]) == ("cosine", "100")
    # the flags say which side of each baseline the temporal ndcg@15 fell
    assert metrics["beats_popularity"] == 1.0
    assert metrics["beats_itemknn"] == float(metrics["temporal_ndcg_at_15"] > metrics["temporal_itemknn_ndcg_at_15"])
    # on the planted blocks ALS wins under both protocols
    assert metrics["ndcg_at_15"] > metrics["baseline_ndcg_at_15"]
    assert metrics["temporal_ndcg_at_15"] > metrics["temporal_baseline_ndcg_at_15"]
    assert metrics["temporal_test_pairs"] > 0


def test_champion_rule_in_the_registry(trained):
    _, client, runs = trained
    bad, good = runs["bad"], runs["good"]
    assert good["metrics"]["temporal_ndcg_at_15"] > bad["metrics"]["temporal_ndcg_at_15"]
    assert (bad["version"], bad["champion_decision"]) == ("1", "promoted")
    assert (good["version"], good["champion_decision"]) == ("2", "promoted")
    versions = client.search_model_versions(f"name='{tracking.ALS}'")
    assert sorted(int(v.version) for v in versions) == [1, 2, 3]
    third = client.get_model_version(tracking.ALS, "3")
    assert third.tags["champion_decision"] == "kept"
    assert client.get_run(third.run_id).data.tags["champion_decision"] == "kept"
    assert client.get_model_version_by_alias(tracking.ALS, "champion").version == 2
    # v2 was compared with v1 on its own split. v1's window covers the test days, so v1's
    # settings were fitted on the split's training days: the model v1's own run tested
    metrics = client.get_run(good["run_id"]).data.metrics
    assert metrics["champion_temporal_ndcg_at_15"] == pytest.approx(bad["metrics"]["temporal_ndcg_at_15"])
    assert metrics["champion_temporal_ndcg_at_15"] < metrics["temporal_ndcg_at_15"]
    assert client.get_run(good["run_id"]).data.tags["champion_scored_as"] == "refit"
    assert metrics["promotion_users"] == metrics["temporal_users_evaluated"]
    assert (metrics["promotion_resamples"], metrics["promotion_seed"]) == (1000, 3)
    assert 0 < metrics["promotion_ci_low"] <= metrics["promotion_mean_difference"] <= metrics["promotion_ci_high"]
    assert metrics["promotion_mean_difference"] == pytest.approx(
        metrics["temporal_ndcg_at_15"] - metrics["champion_temporal_ndcg_at_15"])
    assert client.get_run(good["run_id"]).data.tags["champion_rule"] == "paired_bootstrap"
    assert third.tags["champion_previous_version"] == "2"


def test_the_logged_model_scores_from_the_registry(trained):
    import mlflow.pyfunc

    _, client, runs = trained
    names = {a.path for a in client.list_artifacts(runs["good"]["run_id"])}
    assert "summary.json" in names
    model = mlflow.pyfunc.load_model(f"models:/{tracking.ALS}@champion")
    out = model.predict(pd.DataFrame({"user_id": [10_000, 10_300, 424242]}))
    # unknown user 424242 gets nothing from ALS alone; the others 15 items, their own block first
    assert out.groupby("user_id").size().to_dict() == {10_000: 15, 10_300: 15}
    assert len(model.predict(pd.DataFrame({"user_id": [10_000]}), params={"k": 3})) == 3
    top = out.loc[out["rank"] <= 5]
    assert (item_block(top["product_id"]) == user_block(top["user_id"])).all()


def test_content_run(trained):
    _, client, runs = trained
    run = client.get_run(runs["content"]["run_id"])
    assert run.data.params["n_items"] == str(N_BLOCKS * ITEMS_PER_BLOCK)
    assert run.data.params["n_trees"] == "10"
    assert run.data.metrics["annoy_recall_at_10"] >= 0.9
    for key in ("next_view_hit_rate_at_10", "baseline_next_view_hit_rate_at_10"):
        assert 0.0 < run.data.metrics[key] <= 1.0
    assert run.data.metrics["transitions_evaluated"] > 0
    # the next-view comparison of the similar-items methods, and the one chosen for publishing
    rates = {m: run.data.metrics[f"{m}_next_view_hit_rate_at_10"] for m in ("content", "category_popular", "blend")}
    assert all(0.0 <= r <= 1.0 for r in rates.values())
    assert rates["content"] == run.data.metrics["next_view_hit_rate_at_10"]
    assert rates["category_popular"] == run.data.metrics["baseline_next_view_hit_rate_at_10"]
    method = run.data.params["similar_items_method"]
    assert rates[method] == max(rates.values()) == run.data.metrics["similar_items_next_view_hit_rate_at_10"]
    content, _ = tracking.load_champion(tracking.CONTENT, client=client)
    assert content.similar_method == method
    # the registered pyfunc serves the chosen method's lists (category_popular: window views)
    import mlflow.pyfunc

    served = mlflow.pyfunc.load_model(f"models:/{tracking.CONTENT}@champion").predict(
        pd.DataFrame({"product_id": [100, 205]}), params={"k": 3})
    assert served.groupby("product_id").size().to_dict() == {100: 3, 205: 3}
    assert (item_block(served["similar_product_id"]) == item_block(served["product_id"])).all()
    expected = similar.similar_items_frame(content, 3, method, item_idx=content.items.index([100, 205]))
    pd.testing.assert_frame_equal(served.reset_index(drop=True), expected)
    assert {"neighbours_sample.csv", "summary.json"} <= {a.path for a in client.list_artifacts(run.info.run_id)}
    assert runs["content"]["champion_decision"] == "promoted"


def test_content_promotion_is_paired(tmp_path_factory, events):
    # A first content run is promoted (no champion), a rerun with the same settings is a
    # refresh, and a run with other settings is compared with the champion's settings fitted
    # on its own catalogue and scored on its own test transitions.
    from shopflow.recommend.content import ContentModel
    from shopflow.train import load_content_inputs, train_content, window

    mp, settings = _home(tmp_path_factory, "content-promotion", events)
    try:
        first = {**WINDOW, "n_trees": 10}
        other = {**first, "dims": 2, "price_weight": 0.0}
        runs = [train_content(RUN_DATE, params, settings=settings) for params in (first, first, other)]
        assert [r["champion_reason"] for r in runs[:2]] == ["no champion yet", "refresh: the champion's settings on newer data"]
        client = tracking.connect(settings)
        run = client.get_run(runs[2]["run_id"])
        assert (run.data.tags["champion_rule"], run.data.tags["champion_scored_as"]) == ("paired_bootstrap", "refit")
        assert run.data.tags["champion_metric"] == "similar_items_next_view_hit_rate_at_10"
        # the champion's settings on the same catalogue, its method chosen on the same transitions
        from shopflow.lake_reader import events_reader

        with events_reader(settings) as wh:
            catalogue, transitions, _, _ = load_content_inputs(wh, window(RUN_DATE, 10, 3))
        again = ContentModel({**ContentModel().params.as_dict(), "n_trees": 10}).fit(catalogue)
        rates = similar.compare_next_view(again, transitions, 10)
        expected = rates["metrics"][f"{rates['winner']}_next_view_hit_rate_at_10"]
        metrics = run.data.metrics
        assert metrics["champion_similar_items_next_view_hit_rate_at_10"] == pytest.approx(expected)
        assert metrics["promotion_mean_difference"] == pytest.approx(
            metrics["similar_items_next_view_hit_rate_at_10"] - expected)
        assert metrics["promotion_ci_low"] <= metrics["promotion_mean_difference"] <= metrics["promotion_ci_high"]
        promoted = metrics["promotion_ci_low"] > 0
        assert runs[2]["champion_decision"] == ("promoted" if promoted else "kept")
        assert client.get_model_version_by_alias(tracking.CONTENT, "champion").version == (3 if promoted else 2)
    finally:
        mp.undo()


@pytest.mark.parametrize("env, shown", [(None, "1.8 GiB"), ("300MB", "286.1 MiB")])
def test_publish_bounds_duckdbs_memory_with_its_own_setting(trained, monkeypatch, env, shown):
    # DuckDB shares publish's process with the models and a batch: its working memory is
    # SHOPFLOW_PUBLISH_DUCKDB_MEMORY_LIMIT (2GB by default), not the 6GB the marts get.
    from shopflow import publish

    seen = []

    def spy(wh, run_date, **_):
        seen.append(wh._con.execute("select current_setting('memory_limit')").fetchone()[0])
        return {}

    monkeypatch.setattr(publish, "write_recommendations", spy)
    if env:
        monkeypatch.setenv("SHOPFLOW_PUBLISH_DUCKDB_MEMORY_LIMIT", env)
    else:
        monkeypatch.delenv("SHOPFLOW_PUBLISH_DUCKDB_MEMORY_LIMIT", raising=False)
    monkeypatch.setenv("SHOPFLOW_DUCKDB_MEMORY_LIMIT", "6GB")
    publish.publish_recommendations(RUN_DATE)
    assert seen == [shown]


def test_sweep_logs_children_under_a_parent(tmp_path_factory, events):
    from shopflow.train import train_als

    mp, settings = _home(tmp_path_factory, "sweep", events)
    try:
        out = train_als(RUN_DATE, {**GOOD, "factors": [1, 4], "iterations": 5}, sweep=True, settings=settings)
        client = tracking.connect(settings)
        children = [client.get_run(r) for r in out["child_run_ids"]]
        assert sorted(c.data.params["factors"] for c in children) == ["1", "4"]
        assert {c.data.tags["mlflow.parentRunId"] for c in children} == {out["parent_run_id"]}
        parent = client.get_run(out["parent_run_id"])
        best = max(children, key=lambda c: c.data.metrics["temporal_ndcg_at_15"])
        assert parent.data.tags["best_child_run_id"] == best.info.run_id == out["run_id"]
        assert client.get_model_version(tracking.ALS, "1").run_id == best.info.run_id
        assert all(len(client.get_metric_history(c.info.run_id, "loss")) == 5 for c in children)
    finally:
        mp.undo()


def test_bad_parameters_are_refused(events):
    from shopflow.train import fit_als, train_als

    with pytest.raises(ValueError, match="need --sweep"):
        train_als(RUN_DATE, {"factors": [1, 2], **WINDOW}, settings=None)
    with pytest.raises(ValueError, match="can be swept"):
        train_als(RUN_DATE, {"window_days": [10, 20]}, sweep=True, settings=None)
    with pytest.raises(ValueError, match="regularization must be >= 0"):
        train_als(RUN_DATE, {"regularization": [0.1, -1]}, sweep=True, settings=None)
    with pytest.raises(ValueError, match=r"unknown parameters \['factor'\]"):
        fit_als(events, RUN_DATE, {"factor": 8})
    with pytest.raises(ValueError, match="alpha > 0"):
        fit_als(events, RUN_DATE, {"alpha": 0})


def test_resolve_cutoff():
    from shopflow.train import resolve_cutoff, window

    days = window(RUN_DATE, 10, 3)
    assert days == {"start_date": dt.date(2019, 11, 1), "end_date": RUN_DATE, "cutoff_date": dt.date(2019, 11, 8)}
    d = [dt.date(2019, 11, i) for i in range(1, 11)]
    assert resolve_cutoff(days, d) == (dt.date(2019, 11, 8), "")
    # a window only partly filled: the last day with events is the test day
    cutoff, note = resolve_cutoff(days, [d[0], d[1]])
    assert cutoff == dt.date(2019, 11, 2) and "planned cutoff 2019-11-08" in note
    cutoff, note = resolve_cutoff(days, [d[8], d[9]])
    assert cutoff == dt.date(2019, 11, 10)
    assert resolve_cutoff(days, [d[4]])[0] is None
    assert resolve_cutoff(days, [dt.date(2019, 10, 1), d[4]])[0] is None  # outside the window
    with pytest.raises(ValueError, match="test_days"):
        window(RUN_DATE, 7, 7)


def test_als_on_two_days_of_data(events):
    """As in the first days of a backfill: a 30-day window holding two days of events."""
    from shopflow.train import fit_als

    dates = pd.to_datetime(events["event_date"]).dt.date
    two = events.loc[dates >= dt.date(2019, 11, 9)]
    out = fit_als(two, RUN_DATE, {**GOOD, "window_days": 30, "test_days": None})
    assert out["params"]["test_days"] == 7
    assert out["params"]["cutoff_date"] == "2019-11-10"
    assert out["params"]["planned_cutoff_date"] == "2019-11-04"
    assert "last day with events" in out["note"]
    assert out["metrics"]["temporal_users_evaluated"] > 0
    one = events.loc[dates == dt.date(2019, 11, 10)]
    out = fit_als(one, RUN_DATE, {**GOOD, "window_days": 30, "test_days": None})
    assert out["params"]["cutoff_date"] == "none"
    assert np.isnan(out["metrics"]["temporal_ndcg_at_15"]) and out["metrics"]["temporal_users_evaluated"] == 0
    assert out["metrics"]["users_evaluated"] > 0  # the random protocol still runs


# --------------------------------------------------------------------------- publish


def _table(settings, name):
    from shopflow.warehouse.duckdb import DuckDBWarehouse

    with DuckDBWarehouse(settings) as wh:
        return wh.read_table(name)


def test_published_user_items(trained, events):
    settings, _, runs = trained
    recs = _table(settings, "rec_user_items")
    assert runs["publish"]["rec_user_items"] == runs["publish_again"]["rec_user_items"] == len(recs) == 120 * 15
    assert set(pd.to_datetime(recs["run_date"]).dt.date) == {RUN_DATE}
    assert set(recs["model_version"]) == {"shopflow-als/2+shopflow-content/1"}
    assert recs.groupby("user_id")["rank"].apply(sorted).map(lambda r: r == list(range(1, 16))).all()
    bought = events.loc[events["event_type"] == "purchase", ["user_id", "product_id"]].drop_duplicates()
    assert recs.merge(bought, on=["user_id", "product_id"]).empty
    top = recs.loc[recs["rank"] <= 5]
    assert (item_block(top["product_id"]) == user_block(top["user_id"])).all()
    assert top["source"].str.contains("als").all()
    scores = recs.sort_values(["user_id", "rank"]).groupby("user_id")["score"].apply(lambda s: s.is_monotonic_decreasing)
    assert scores.all()


def test_published_similar_items_and_bestsellers(trained, events):
    settings, _, runs = trained
    similar = _table(settings, "rec_similar_items")
    assert len(similar) == N_BLOCKS * ITEMS_PER_BLOCK * 10 == runs["publish"]["rec_similar_items"]
    assert (item_block(similar["product_id"]) == item_block(similar["similar_product_id"])).all()
    assert set(similar["model_version"]) == {"shopflow-content/1"}
    best = _table(settings, "rec_category_bestsellers")
    purchases = events.loc[events["event_type"] == "purchase"]
    expected = purchases.groupby("category_code").size().to_dict()
    assert best.groupby("category")["n_purchases"].sum().to_dict() == expected
    first = best.loc[best["rank"] == 1].set_index("category")["n_purchases"].to_dict()
    assert first == purchases.groupby(["category_code", "product_id"]).size().groupby(level=0).max().to_dict()


# --------------------------------------------------------------------------- shopflow recommend


def _rows(stdout: str) -> pd.DataFrame:
    lines = stdout.strip().splitlines()
    header = lines[1].split()
    return pd.DataFrame([line.split()[: len(header)] for line in lines[2:]], columns=header)


def test_recommend_known_user(trained, events, capsys):
    assert cli.main(["recommend", "--user", "10005"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("user 10005: ALS (known customer), items similar to last viewed item")
    rows = _rows(out)
    assert len(rows) == 15
    assert (item_block(rows["product_id"].astype(int).head(5)) == 0).all()
    bought = set(events.loc[(events["user_id"] == 10005) & (events["event_type"] == "purchase"), "product_id"])
    assert not bought & set(rows["product_id"].astype(int))


def test_recommend_unknown_user_with_an_item(trained, capsys):
    assert cli.main(["recommend", "--user", "999", "--item", "203", "-k", "5"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("user 999: items similar to item 203")
    rows = _rows(out)
    assert rows["source"].tolist() == ["similar"] * 5
    assert (item_block(rows["product_id"].astype(int)) == 1).all() and "203" not in set(rows["product_id"])


def test_recommend_unknown_user_without_an_item_gets_bestsellers(trained, events, capsys):
    assert cli.main(["recommend", "--user", "999", "-k", "3"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("user 999: best-sellers to fill")
    rows = _rows(out)
    assert rows["source"].tolist() == ["global_bestseller"] * 3
    sales = events.loc[events["event_type"] == "purchase"].groupby("product_id").size()
    expected = sales.reset_index(name="n").sort_values(["n", "product_id"], ascending=[False, True])
    assert rows["product_id"].astype(int).tolist() == expected["product_id"].head(3).tolist()


def test_recommend_unknown_item(trained, capsys):
    assert cli.main(["recommend", "--user", "999", "--item", "77777"]) == 2
    err = capsys.readouterr().err
    assert "item 77777 is unknown" in err
