"""Paired promotion: challenger and champion scored on the same test data (ALS: the same users
and held-out pairs; the content model: the same next views, at the end of this module), and
the gates a model must pass to be registered at all.

The old rule (``tracking.decide``) compared the challenger's logged ``temporal_ndcg_at_15`` with
the number the champion logged on its own, older test week. With daily retraining the week
moves, so the rule followed whichever week was easier. Here both models are scored on the
challenger's temporal split (same returning customers, same held-out purchases, the same
already-bought filter), and the challenger takes the alias only when the mean of the per-user
differences of ndcg@15 has a bootstrap confidence interval over users above zero.

How the champion is scored (:func:`incumbent_on_split`) depends on whether it has seen the test
days:

* **its window ended before the cutoff** (an older champion): the registered model itself is
  scored (:class:`IncumbentOnSplit`). Every tested user's factors are solved from their signal
  before the cutoff (the ALS user step against the champion's fixed item factors, implicit's
  ``recalculate_user``, under the champion's event weights); a user none of whose earlier items
  the champion knows gets what serving gives such a user, the champion's best-sellers; an item
  the champion does not know cannot be recommended by it, so buying one is a miss for it;
* **its window reaches into the test days** (the usual case with daily retraining: yesterday's
  champion saw six of the seven test days): its factors have learnt the very purchases it would
  be tested on. Measured on generated data (scale 0.05), yesterday's champion with the same
  settings scored temporal ndcg@15 0.17 higher than today's model on the same split; nothing
  would ever be promoted. Instead the champion's settings (ALS params, seed, event weights) are
  fitted on the challenger's training days, one ALS fit, and that model is scored: the same
  data, the same protocol as the challenger's own temporal model.
* **the same settings as the champion** (a daily retrain): the new version is the same model on
  newer data; it replaces the champion as a refresh, without a comparison (the gates still
  apply). Fitting the same settings on the same split would give the same model, so a paired
  test could only ever keep the stale version.

:func:`decide` is the policy as a pure function; :func:`compare` scores both models;
:func:`record` writes the decision to MLflow and moves the alias.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np

#: Bootstrap resamples of the users, the seed of their draw and the interval's coverage.
N_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
RULE = "paired_bootstrap"


@dataclass(frozen=True)
class PairedDecision:
    """The outcome of :func:`decide`. ``mean_difference`` and the interval are challenger minus
    champion (NaN when there is nothing to compare)."""

    promote: bool
    decision: str  # promoted | kept | rejected
    reason: str
    n_users: int = 0
    mean_difference: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    n_resamples: int = N_RESAMPLES
    seed: int = BOOTSTRAP_SEED
    confidence: float = CONFIDENCE

    def metrics(self) -> dict[str, float]:
        """What a run logs about the comparison (NaN values are logged too, as NaN)."""
        return {
            "promotion_users": self.n_users,
            "promotion_mean_difference": self.mean_difference,
            "promotion_ci_low": self.ci_low,
            "promotion_ci_high": self.ci_high,
            "promotion_resamples": self.n_resamples,
            "promotion_seed": self.seed,
            "promotion_confidence": self.confidence,
        }


def bootstrap_ci(differences, n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                 confidence: float = CONFIDENCE, max_cells: int = 4_000_000) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``differences``: ``n_resamples`` draws of as
    many users with replacement (numpy ``default_rng(seed)``), in blocks of at most
    ``max_cells`` drawn indices so memory stays bounded at any number of users."""
    diff = np.asarray(differences, dtype=np.float64)
    n = len(diff)
    if n == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    block = max(1, max_cells // n)
    for start in range(0, n_resamples, block):
        stop = min(start + block, n_resamples)
        means[start:stop] = diff[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def decide(challenger, champion, *, n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED,
           confidence: float = CONFIDENCE, gate_failures: list[str] | None = None) -> PairedDecision:
    """The promotion policy as a pure function.

    ``challenger`` and ``champion`` are per-user scores of the primary metric on the same users
    in the same order; ``champion`` None means there is no champion yet. Promote when there is
    none, or when the bootstrap interval of the mean difference lies entirely above zero (an
    equal challenger, or one better only by chance, keeps the incumbent).
    """
    settings = {"n_resamples": n_resamples, "seed": seed, "confidence": confidence}
    if gate_failures:
        return PairedDecision(False, "rejected", "below the gate: " + "; ".join(gate_failures), **settings)
    if champion is None:
        return PairedDecision(True, "promoted", "no champion yet", **settings)
    a = np.asarray(challenger, dtype=np.float64)
    b = np.asarray(champion, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"per-user scores must be paired: challenger {a.shape}, champion {b.shape}")
    if len(a) == 0:
        return PairedDecision(False, "kept", "no tested users to compare the two models on", **settings)
    diff = a - b
    low, high = bootstrap_ci(diff, n_resamples, seed, confidence)
    mean = float(diff.mean())
    summary = (f"mean per-user difference {mean:+.6g} over {len(a)} users, "
               f"{confidence:.0%} bootstrap interval [{low:.6g}, {high:.6g}] ({n_resamples} resamples, seed {seed})")
    out = dict(n_users=len(a), mean_difference=mean, ci_low=low, ci_high=high, **settings)
    if low > 0:
        return PairedDecision(True, "promoted", f"beats the champion on the same split: {summary}", **out)
    return PairedDecision(False, "kept", f"not shown better than the champion on the same split: {summary}", **out)


# --------------------------------------------------------------------------- scoring the champion


def remap_columns(matrix, from_items, to_items):
    """``matrix`` (rows x ``from_items``) with its columns moved to ``to_items`` by raw id; columns
    of ids ``to_items`` lacks are dropped."""
    import scipy.sparse as sp

    coo = sp.coo_matrix(matrix)
    cols = to_items.index(from_items.ids[coo.col])
    keep = cols >= 0
    out = sp.csr_matrix((coo.data[keep], (coo.row[keep], cols[keep])), shape=(matrix.shape[0], len(to_items)),
                        dtype=np.float32)
    out.sum_duplicates()
    out.sort_indices()
    return out


def incumbent_history(split, trained, events=None, cutoff=None):
    """The signal of every row of ``split`` before the cutoff, on the champion's item columns and
    under the champion's event weights (``trained.meta['weights']``).

    With the split's own weights (or no events frame) the split's training matrix is reused;
    otherwise it is rebuilt from ``events`` before ``cutoff``.
    """
    import pandas as pd

    from shopflow.recommend.data import build_interactions, parse_weights

    weights = parse_weights(trained.meta.get("weights") or None)
    if events is None or cutoff is None or weights == dict(split.train.weights):
        return remap_columns(split.train.matrix, split.train.items, trained.items)
    dates = pd.to_datetime(events["event_date"]).dt.date
    before = events.loc[dates < cutoff]
    return build_interactions(before, weights, users=split.train.users, items=trained.items).matrix


class IncumbentOnSplit:
    """The champion (a :class:`~shopflow.recommend.artifacts.TrainedALS`) recommending in the
    row and column space of a split it was not trained on (see the module docstring).

    ``recommend`` has the interface :func:`~shopflow.recommend.evaluation.evaluate` uses, so both
    models go through the same evaluation code.
    """

    def __init__(self, trained, split, history=None, num_threads: int = 0):
        from shopflow.recommend.popularity import PopularityRecommender

        self.trained = trained
        self.split = split
        self.history = remap_columns(split.train.matrix, split.train.items, trained.items) if history is None else history
        self.popularity = PopularityRecommender().fit(trained.purchases)
        self.num_threads = num_threads
        self.fallback_users = 0

    def recommend(self, user_idx, k: int, filter_csr=None):
        from shopflow.recommend.topk import top_k

        user_idx = np.asarray(user_idx, dtype=np.int64)
        n = len(user_idx)
        split_items, own_items = self.split.train.items, self.trained.items
        if filter_csr is None:
            import scipy.sparse as sp

            filt = sp.csr_matrix((n, len(own_items)), dtype=np.float32)
        else:
            filt = remap_columns(filter_csr, split_items, own_items)
        history = self.history[user_idx]
        known = np.diff(history.indptr) > 0
        ids = np.full((n, k), -1, dtype=np.int64)
        scores = np.full((n, k), -np.inf, dtype=np.float32)
        model = self.trained.model
        rows = np.flatnonzero(known)
        if len(rows):
            vectors = model.user_vectors(history[rows])
            ids[rows], scores[rows] = top_k(vectors, model.item_factors, k, filter_csr=filt[rows],
                                            num_threads=self.num_threads)
        rest = np.flatnonzero(~known)
        if len(rest):
            ids[rest], scores[rest] = self.popularity.recommend(rest, k, filter_csr=filt[rest])
        self.fallback_users += len(rest)
        # Back to the split's columns: an item the split does not know cannot be a hit (-1).
        valid = ids >= 0
        out = np.full_like(ids, -1)
        out[valid] = split_items.index(own_items.ids[ids[valid]])
        return out, scores


def settings_of(model, weights) -> dict[str, Any]:
    """What makes two ALS models the same model given the same data: params, seed, weights."""
    from shopflow.recommend.data import parse_weights

    return {**model.params.as_dict(), "weights": parse_weights(dict(weights) if weights else None)}


def _same_settings(challenger_model, split, trained) -> bool:
    if getattr(challenger_model, "params", None) is None:
        return False
    return settings_of(challenger_model, split.train.weights) == settings_of(trained.model, trained.meta.get("weights"))


def _window_end(trained):
    import datetime as dt

    end = trained.meta.get("window_end") or trained.meta.get("run_date")
    return dt.date.fromisoformat(str(end)[:10]) if end else None


def refit_history(split, trained, events=None, cutoff=None):
    """The training days of ``split`` as the champion's signal: the split's matrix under the
    champion's event weights (rebuilt from ``events`` before ``cutoff`` when they differ)."""
    import pandas as pd

    from shopflow.recommend.data import build_interactions, parse_weights

    weights = parse_weights(trained.meta.get("weights") or None)
    if events is None or cutoff is None or weights == dict(split.train.weights):
        return split.train.matrix
    dates = pd.to_datetime(events["event_date"]).dt.date
    before = events.loc[dates < cutoff]
    return build_interactions(before, weights, users=split.train.users, items=split.train.items).matrix


def incumbent_on_split(trained, split, cutoff, events=None, num_threads: int = 0):
    """(model recommending in the split's space, how): the registered champion itself when its
    window ended before ``cutoff`` ("artifact"), else its settings fitted on the split's training
    days ("refit"). See the module docstring."""
    from shopflow.recommend.als import ALSRecommender

    end = _window_end(trained)
    if end is not None and cutoff is not None and end < cutoff:
        history = incumbent_history(split, trained, events, cutoff)
        return IncumbentOnSplit(trained, split, history, num_threads), "artifact"
    matrix = refit_history(split, trained, events, cutoff)
    model = ALSRecommender(trained.model.params, num_threads=num_threads, track_loss=False).fit(matrix)
    return model, "refit"


def compare(challenger_model, split, incumbent, k: int = 15) -> dict[str, Any]:
    """Score the challenger and the incumbent (both recommending in ``split``'s space: a model
    fitted on ``split.train``, or an :class:`IncumbentOnSplit`) on ``split``.

    Returns ``challenger`` and ``champion`` (per-user ndcg@k, same users, same order),
    ``champion_metrics`` (every ranking metric of the incumbent, as :func:`evaluate` names them),
    ``fallback_users`` (users the incumbent could only serve best-sellers) and ``seconds``.
    """
    from shopflow.recommend.evaluation import evaluate_per_user

    start = time.perf_counter()
    _, users_a, challenger = evaluate_per_user(challenger_model, split, k)
    champion_metrics, users_b, champion = evaluate_per_user(incumbent, split, k)
    assert np.array_equal(users_a, users_b)
    return {"challenger": challenger, "champion": champion, "champion_metrics": champion_metrics,
            "fallback_users": getattr(incumbent, "fallback_users", 0), "seconds": time.perf_counter() - start}


# --------------------------------------------------------------------------- I/O


def load_incumbent(client, name: str, settings=None):
    """(trained champion, model version, note): (None, None, "") without a champion; a champion
    that cannot be loaded gives (None, version, why), and is then treated as absent."""
    from shopflow import tracking

    version = tracking.current_champion(client, name)
    if version is None:
        return None, None, ""
    try:
        trained, version = tracking.load_champion(name, settings, client)
    except Exception as exc:  # an unreadable champion must not block every later model
        return None, version, f"champion version {version.version} could not be loaded ({type(exc).__name__}: {exc})"
    return trained, version, ""


def record(client, name: str, version: str | None, run_id: str, decision: PairedDecision, incumbent_version=None,
           champion_metrics: Mapping[str, float] | None = None, extra_metrics: Mapping[str, float] | None = None,
           note: str = "", scored_as: str = "none", rule: str = RULE) -> dict[str, Any]:
    """Move the alias if ``decision`` says so; log the decision (tags on the run and, when the
    run was registered, on its model version; interval, resamples, seed and ``champion_*``
    metrics on the run); return it. ``version`` None: a run below a gate, not registered."""
    from shopflow import tracking

    metric, _ = tracking.PRIMARY_METRIC[name]
    if decision.promote:
        if version is None:
            raise ValueError("only a registered version can be promoted")
        client.set_registered_model_alias(name, tracking.CHAMPION_ALIAS, version)
    previous = "" if incumbent_version is None else str(incumbent_version.version)
    reason = decision.reason + (f"; {note}" if note else "")
    result = {
        "champion": decision.promote,
        "champion_decision": decision.decision,
        "champion_reason": reason,
        "champion_metric": metric,
        "champion_rule": rule,
        "champion_scored_as": scored_as,
        "champion_previous_version": previous,
        "champion_version": version if decision.promote else previous,
        "registered": version is not None,
    }
    tags = {k: v for k, v in result.items() if k != "champion"}
    tracking.log_tags(client, run_id, tags)
    if version is not None:
        for key, value in tags.items():
            client.set_model_version_tag(name, version, key, str(value))
    metrics = {**decision.metrics(), **(extra_metrics or {})}
    metrics.update({f"champion_{k}": v for k, v in (champion_metrics or {}).items()})
    tracking.log_metrics(client, run_id, {k: v for k, v in metrics.items() if not _nan(v)})
    return {**result, "promotion": asdict(decision), "champion_metrics": dict(champion_metrics or {})}


def _nan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def gate_failures(client, name: str, run_id: str) -> list[str]:
    """The gates the run misses: those of ``tracking.GATES``, and for ALS the popularity
    baseline, which it must beat on the temporal protocol (``beats_popularity`` = 0 fails; NaN,
    no temporal split, does not)."""
    from shopflow import tracking

    metrics = client.get_run(run_id).data.metrics
    out = []
    if name == tracking.ALS and metrics.get("beats_popularity") == 0.0:
        metric, _ = tracking.PRIMARY_METRIC[name]
        out.append(f"{metric} does not beat the popularity baseline on the same split (beats_popularity = 0)")
    for gate, minimum in tracking.GATES.get(name, {}).items():
        value = metrics.get(gate, float("nan"))
        if math.isnan(value) or value < minimum:
            out.append(f"{gate} = {value:.4g} < {minimum}")
    return out


def register_unless_gated(client, name: str, run_id: str, register, incumbent=(None, None, "")):
    """Register the run's model (``register()`` returns the new version) only when the run
    passes every gate of ``name`` (:func:`gate_failures`): a model below a gate, an ALS model
    that does not beat popularity on the temporal protocol for one, never enters the registry.

    Returns (version, None) when registered, else (None, the rejection as :func:`record`
    logged it on the run). ``incumbent`` is the output of :func:`load_incumbent`.
    """
    failures = gate_failures(client, name, run_id)
    if failures:
        decision = decide(None, None, gate_failures=failures)
        return None, record(client, name, None, run_id, decision, incumbent[1], note=incumbent[2], rule="gate")
    return register(), None


def promote_als(client, version: str, run_id: str, split, challenger_model, incumbent, k: int = 15,
                events=None, cutoff=None, n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                num_threads: int = 0) -> dict[str, Any]:
    """The paired rule for a registered ALS version: compare with ``incumbent`` (the output of
    :func:`load_incumbent`) on ``split`` (None when the run had no temporal split), decide,
    record."""
    from shopflow import tracking

    name = tracking.ALS
    trained, incumbent_version, note = incumbent
    failures = gate_failures(client, name, run_id)
    if trained is None or failures:
        decision = decide(None, None, n_resamples=n_resamples, seed=seed, gate_failures=failures)
        if trained is None and incumbent_version is not None and not failures:
            decision = PairedDecision(True, "promoted", "the champion could not be scored", n_resamples=n_resamples,
                                      seed=seed)
        return record(client, name, version, run_id, decision, incumbent_version, note=note)
    if split is not None and _same_settings(challenger_model, split, trained):
        decision = PairedDecision(True, "promoted", "refresh: the champion's settings on newer data",
                                  n_resamples=n_resamples, seed=seed)
        return record(client, name, version, run_id, decision, incumbent_version, scored_as="refresh")
    if split is None:
        decision = PairedDecision(False, "kept", "no temporal split to compare the two models on",
                                  n_resamples=n_resamples, seed=seed)
        return record(client, name, version, run_id, decision, incumbent_version)
    start = time.perf_counter()
    incumbent_model, how = incumbent_on_split(trained, split, cutoff, events, num_threads)
    scored = compare(challenger_model, split, incumbent_model, k)
    decision = decide(scored["challenger"], scored["champion"], n_resamples=n_resamples, seed=seed)
    champion_metrics = {f"temporal_{key}": value for key, value in scored["champion_metrics"].items()
                        if key != "users_evaluated"}
    return record(client, name, version, run_id, decision, incumbent_version, champion_metrics,
                  {"promotion_fallback_users": scored["fallback_users"],
                   "promotion_seconds": time.perf_counter() - start}, scored_as=how)


# --------------------------------------------------------------------------- the content model
#
# The same policy for the content model, whose primary figure is the next-view hit rate of the
# similar items it publishes (recommend/similar.py). Both models are scored on the challenger's
# test transitions (product -> next product viewed in a session, with their counts). As for ALS,
# the champion's own index was built from a catalogue whose view counts cover most of the test
# days, so its settings are fitted again on the challenger's catalogue ("refit"), and it picks its
# published method on the same transitions as the challenger did; the same settings are a
# refresh. The unit of resampling is a (product, next product) pair, weighted by its count: the
# mean of the per-pair scores below is the weighted hit rate.

def content_pair_scores(model, transitions, k: int = 10) -> np.ndarray:
    """Per row of ``transitions`` (product_id, next_product_id, n_transitions): the row's share
    of the weighted hit rate of ``model``'s published similar items, n_transitions x hit / mean
    n_transitions (so the mean over rows is the hit rate at ``k``). A product the model does not
    know is a miss."""
    from shopflow.recommend.similar import DEFAULT_METHOD, neighbours

    weight = transitions["n_transitions"].to_numpy(dtype=np.float64)
    hits = np.zeros(len(transitions))
    if len(transitions) == 0:
        return hits
    src = model.items.index(transitions["product_id"].to_numpy())
    dst = model.items.index(transitions["next_product_id"].to_numpy())
    rows = (src >= 0) & (dst >= 0)
    if rows.any():
        sources = np.unique(src[rows])
        table = np.full((model.n_items, k), -1, dtype=np.int64)
        method = model.similar_method or DEFAULT_METHOD
        table[sources] = neighbours(model, method, k, sources, views="n_views_train")[0]
        hits[rows] = (table[src[rows]] == dst[rows, None]).any(axis=1)
    return hits * weight / weight.mean()


def content_on_catalogue(trained, catalogue, transitions, k: int = 10):
    """The champion's settings fitted on ``catalogue`` (the challenger's), publishing the method
    that finds most of ``transitions``, as a training run chooses it."""
    from shopflow.recommend.content import ContentModel
    from shopflow.recommend.similar import compare_next_view

    model = ContentModel(trained.params).fit(catalogue)
    model.similar_method = compare_next_view(model, transitions, k)["winner"]
    return model


def known_transitions(model, transitions):
    """The rows of ``transitions`` whose both products ``model`` knows: the rows its own next-view
    figures are measured on."""
    src = model.items.index(transitions["product_id"].to_numpy())
    dst = model.items.index(transitions["next_product_id"].to_numpy())
    return transitions.loc[(src >= 0) & (dst >= 0)]


def promote_content(client, version: str, run_id: str, model, transitions, incumbent, k: int = 10,
                    n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> dict[str, Any]:
    """The paired rule for a registered content version (gates passed): compare with
    ``incumbent`` (the output of :func:`load_incumbent`) on ``transitions`` (the challenger's test
    days; empty without a temporal split), decide, record."""
    from shopflow import tracking

    name = tracking.CONTENT
    trained, incumbent_version, note = incumbent
    settings = {"n_resamples": n_resamples, "seed": seed}
    if trained is None:
        reason = "no champion yet" if incumbent_version is None else "the champion could not be scored"
        return record(client, name, version, run_id, PairedDecision(True, "promoted", reason, **settings),
                      incumbent_version, note=note)
    if trained.params.as_dict() == model.params.as_dict():
        decision = PairedDecision(True, "promoted", "refresh: the champion's settings on newer data", **settings)
        return record(client, name, version, run_id, decision, incumbent_version, scored_as="refresh")
    tested = known_transitions(model, transitions)
    if tested.empty:
        decision = PairedDecision(False, "kept", "no test transitions to compare the two models on", **settings)
        return record(client, name, version, run_id, decision, incumbent_version)
    start = time.perf_counter()
    champion = content_on_catalogue(trained, model.catalogue, tested, k)
    challenger_scores = content_pair_scores(model, tested, k)
    champion_scores = content_pair_scores(champion, tested, k)
    decision = decide(challenger_scores, champion_scores, n_resamples=n_resamples, seed=seed)
    return record(client, name, version, run_id, decision, incumbent_version,
                  {f"similar_items_next_view_hit_rate_at_{k}": float(champion_scores.mean())},
                  {"promotion_seconds": time.perf_counter() - start}, scored_as="refit")
