"""Publish recommendations from the champion models to the warehouse (``shopflow publish``).

Tables (each replaced for the run date, so a rerun of a day replaces that day's rows):

* ``rec_user_items`` (user_id, rank, product_id, score, source, model_version, run_date) -- the
  hybrid list of every user active in the last ``active_days`` days up to the run date;
* ``rec_similar_items`` (product_id, rank, similar_product_id, score, model_version, run_date)
  -- the content model's top 10 neighbours of every item in its catalogue;
* ``rec_category_bestsellers`` (category, rank, product_id, n_purchases, run_date) -- the most
  purchased products per category over the same days (category: the category code, or the
  category id as text for products without a code).

A user's history comes from the warehouse: the last product viewed (the anchor of the
``similar`` and ``category_bestseller`` sources) and the purchases in the window (filtered out,
together with the ALS model's training purchases).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from shopflow.queries import query_sql

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

PUBLISH_DEFAULTS = {"k": 15, "active_days": 30, "n_similar": 10, "n_bestsellers": 20}

TABLES = ("rec_user_items", "rec_similar_items", "rec_category_bestsellers")


def _keys(category_id, category_code):
    import pandas as pd

    from shopflow.recommend.content import category_keys

    return category_keys(pd.DataFrame({"category_id": category_id, "category_code": category_code}))


def model_version_label(als_version=None, content_version=None) -> str:
    from shopflow import tracking

    parts = []
    if als_version is not None:
        parts.append(f"{tracking.ALS}/{als_version}")
    if content_version is not None:
        parts.append(f"{tracking.CONTENT}/{content_version}")
    return "+".join(parts)


def shared_sources(
    item_sales: pd.DataFrame, content=None, k: int = 15, n_similar: int = 10, n_bestsellers: int = 20,
) -> dict[str, Any]:
    """The parts of the hybrid that do not depend on the user (pure): per-category and global
    best-sellers from ``item_sales`` (product_id, category_id, category_code, n_purchases) and the
    content model's neighbours (an empty frame without a content model)."""
    import pandas as pd

    from shopflow.recommend import hybrid
    from shopflow.recommend.similar import similar_items_frame

    sales = item_sales.assign(category=_keys(item_sales["category_id"], item_sales["category_code"]))
    if content is not None:
        # the method the content run found best on next views (content, category best-sellers or their blend)
        similar = similar_items_frame(content, k=n_similar)
    else:
        similar = pd.DataFrame({"product_id": pd.Series(dtype="int64"), "rank": pd.Series(dtype="int64"),
                                "similar_product_id": pd.Series(dtype="int64"), "score": pd.Series(dtype="float64")})
    return {
        "bestsellers": hybrid.category_bestsellers(sales, n_bestsellers),
        "global_items": hybrid.global_bestsellers(sales, 2 * k),
        "similar": similar,
    }


def user_items(
    active: pd.DataFrame,
    purchases: pd.DataFrame,
    shared: dict[str, Any],
    run_date: dt.date,
    als=None,
    version: str = "",
    k: int = 15,
) -> pd.DataFrame:
    """``rec_user_items`` rows of the users in ``active`` (one batch of users; pure).

    ``active``: (user_id, last_product_id, last_category_id, last_category_code), one row per user;
    ``purchases``: (user_id, product_id) bought in the window (rows of other users are ignored).
    Every step is per user, so a batch's rows do not depend on which other users share it.
    """
    import numpy as np
    import pandas as pd

    from shopflow.recommend import hybrid

    users = active["user_id"].to_numpy(dtype=np.int64)
    purchases = purchases.loc[purchases["user_id"].isin(users), ["user_id", "product_id"]]
    viewed = active.loc[active["last_product_id"].notna()]
    anchors = pd.DataFrame({
        "user_id": viewed["user_id"].to_numpy(dtype=np.int64),
        "anchor_product_id": viewed["last_product_id"].to_numpy(dtype=np.int64),
        "category": _keys(viewed["last_category_id"], viewed["last_category_code"]),
    })
    exclude = [purchases, anchors.rename(columns={"anchor_product_id": "product_id"})[["user_id", "product_id"]]]
    parts = [hybrid.similar_candidates(anchors[["user_id", "anchor_product_id"]], shared["similar"]),
             hybrid.category_candidates(anchors[["user_id", "category"]], shared["bestsellers"])]
    if als is not None:
        known = users[als.users.index(users) >= 0]
        ranked = als.recommend_users(known, k, extra_bought=purchases)
        parts.insert(0, hybrid.als_candidates(ranked))
        sub = als.purchases[als.users.index(known)].tocoo()
        exclude.append(pd.DataFrame({"user_id": known[sub.row], "product_id": als.items.ids[sub.col]}))
    candidates = pd.concat(parts, ignore_index=True)
    recs = hybrid.with_global_fill(candidates, users, shared["global_items"], k, pd.concat(exclude, ignore_index=True))
    return recs.assign(model_version=version, run_date=run_date)[
        ["user_id", "rank", "product_id", "score", "source", "model_version", "run_date"]]


def build_tables(
    active: pd.DataFrame,
    purchases: pd.DataFrame,
    item_sales: pd.DataFrame,
    run_date: dt.date,
    als=None,
    content=None,
    als_version=None,
    content_version=None,
    k: int = 15,
    n_similar: int = 10,
    n_bestsellers: int = 20,
) -> dict[str, pd.DataFrame]:
    """The three ``rec_*`` frames for a small set of users at once (pure; tests and one-off
    use). :func:`publish_recommendations` builds the same rows batch by batch."""
    shared = shared_sources(item_sales, content, k, n_similar, n_bestsellers)
    version = model_version_label(als_version, content_version)
    return {
        "rec_user_items": user_items(active, purchases, shared, run_date, als, version, k),
        **_item_tables(shared, run_date, content_version),
    }


def _item_tables(shared: dict[str, Any], run_date: dt.date, content_version) -> dict[str, pd.DataFrame]:
    similar = shared["similar"].assign(model_version=model_version_label(None, content_version), run_date=run_date)
    return {
        "rec_similar_items": similar[["product_id", "rank", "similar_product_id", "score", "model_version",
                                      "run_date"]],
        "rec_category_bestsellers": shared["bestsellers"].assign(run_date=run_date),
    }


def publish_settings(settings):
    """``settings`` with DuckDB's working memory set to SHOPFLOW_PUBLISH_DUCKDB_MEMORY_LIMIT: its
    queries stream (the active users) or are small, and the process's own memory holds the
    models and a batch. Measured at scale 0.2 (600k users): peak RSS 2.9 GB under the 6GB
    limit, 1.7 GB under 300MB, in the same time."""
    import dataclasses

    return dataclasses.replace(settings, duckdb_memory_limit=settings.publish_duckdb_memory_limit)


def publish_recommendations(run_date, settings=None, params: dict | None = None) -> dict[str, Any]:
    """Write the ``rec_*`` tables for ``run_date`` from the champion models; return row counts.

    ``rec_user_items`` is built and written in batches of ``batch_users`` users
    (SHOPFLOW_PUBLISH_BATCH_USERS): the active users stream out of the warehouse as Arrow
    record batches, and each batch's rows go back through :meth:`Warehouse.write_batches` (one
    transaction on DuckDB, load jobs into a scratch table on BigQuery) before the next batch is
    read. Memory is bounded by a batch (about batch_users x 45 candidate rows), not by the
    number of users: the real month has about 3M active users, whose 45M rows in one frame were
    what ran out of memory.

    Raises if neither model has a champion (train first).
    """
    from shopflow import tracking
    from shopflow.config import get_settings
    from shopflow.dates import as_date
    from shopflow.warehouse import get_warehouse

    settings = publish_settings(settings or get_settings())
    run_date = as_date(run_date)
    opts = {**PUBLISH_DEFAULTS, "batch_users": settings.publish_batch_users,
            **{k: v for k, v in (params or {}).items() if v is not None}}
    client = tracking.connect(settings)
    als = tracking.load_champion(tracking.ALS, settings, client)
    content = tracking.load_champion(tracking.CONTENT, settings, client)
    if als is None and content is None:
        from shopflow.errors import NotReady

        raise NotReady("no champion model in the registry: run `shopflow train all` (or make demo) first")
    with get_warehouse(settings) as wh:
        result = write_recommendations(
            wh, run_date, als=als[0] if als else None, content=content[0] if content else None,
            als_version=als[1].version if als else None, content_version=content[1].version if content else None,
            **{key: int(opts[key]) for key in ("k", "active_days", "n_similar", "n_bestsellers", "batch_users")})
    return result


def write_recommendations(
    wh, run_date: dt.date, als=None, content=None, als_version=None, content_version=None,
    k: int = 15, active_days: int = 30, n_similar: int = 10, n_bestsellers: int = 20, batch_users: int = 50_000,
) -> dict[str, Any]:
    """Build and write the three ``rec_*`` tables for ``run_date`` through warehouse ``wh``,
    ``rec_user_items`` one batch of ``batch_users`` users at a time (see
    :func:`publish_recommendations`). Returns row counts and the batching figures."""
    if batch_users < 1:
        raise ValueError(f"batch_users must be at least 1, not {batch_users}")
    version = model_version_label(als_version, content_version)
    days = {"start_date": run_date - dt.timedelta(days=active_days - 1), "end_date": run_date}
    stats = {"batches": 0, "active_users": 0, "max_batch_rows": 0}
    # Both are one row per bought pair or per product: small next to the users x k output.
    purchases = wh.query(query_sql("publish/purchases"), days)
    item_sales = wh.query(query_sql("publish/item_sales"), days)
    shared = shared_sources(item_sales, content, k, n_similar, n_bestsellers)

    def batches():
        for active in wh.query_batches(query_sql("publish/active_users"), days, batch_rows=batch_users):
            frame = user_items(active, purchases, shared, run_date, als, version, k)
            stats["batches"] += 1
            stats["active_users"] += len(active)
            stats["max_batch_rows"] = max(stats["max_batch_rows"], len(frame))
            log.info("publish %s: batch %d, %s users so far", run_date, stats["batches"],
                     f"{stats['active_users']:,}")
            if len(frame):
                yield frame

    counts = {"rec_user_items": wh.write_batches("rec_user_items", batches(), replace_where={"run_date": run_date})}
    for name, frame in _item_tables(shared, run_date, content_version).items():
        counts[name] = wh.write_table(name, frame, replace_where={"run_date": run_date})
    log.info("published %s for %s in %d batches of up to %d users", counts, run_date, stats["batches"], batch_users)
    return {
        "run_date": run_date.isoformat(),
        **counts,
        "als_version": als_version,
        "content_version": content_version,
        **stats,
        "batch_users": batch_users,
    }


def add_arguments(parser) -> None:
    from shopflow.errors import date_arg, int_range

    parser.add_argument("--run-date", type=date_arg,
                        help="last day of activity considered, YYYY-MM-DD (default: the latest event_date)")
    parser.add_argument("-k", type=int_range(1), default=PUBLISH_DEFAULTS["k"], help="items per user (default 15)")
    parser.add_argument("--active-days", type=int_range(1), default=PUBLISH_DEFAULTS["active_days"],
                        help="a user is active with any event in this many days up to the run date (default 30)")
    parser.add_argument("--batch-users", type=int_range(1),
                        help="users per batch written to rec_user_items; bounds memory "
                             "(default: SHOPFLOW_PUBLISH_BATCH_USERS, 50000)")


def run(args) -> int:
    from shopflow.config import get_settings
    from shopflow.dates import as_date
    from shopflow.train import _latest_event_date

    settings = get_settings()
    run_date = as_date(args.run_date) if args.run_date else _latest_event_date(settings)
    result = publish_recommendations(run_date, settings, {"k": args.k, "active_days": args.active_days,
                                                          "batch_users": args.batch_users})
    for name in TABLES:
        print(f"{name:26s} {result[name]:>10,d} rows for {result['run_date']}")
    return 0
