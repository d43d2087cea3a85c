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

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

PUBLISH_DEFAULTS = {"k": 15, "active_days": 30, "n_similar": 10, "n_bestsellers": 20}

ACTIVE_USERS_SQL = """
-- grain: one row per user with any event in the window; their last viewed product, if any
with activity as (
  select user_id, product_id, event_type, event_time, category_id, category_code
  from events
  where event_date between @start_date and @end_date
),
last_view as (
  select
    user_id,
    product_id as last_product_id,
    category_id as last_category_id,
    category_code as last_category_code
  from activity
  where event_type = 'view'
  qualify row_number() over (partition by user_id order by event_time desc, product_id desc) = 1
),
active as (
  select distinct user_id from activity
)
select
  a.user_id,
  v.last_product_id,
  v.last_category_id,
  v.last_category_code
from active as a
left join last_view as v on a.user_id = v.user_id
"""

PURCHASES_SQL = """
-- grain: one row per user and product bought in the window
select distinct user_id, product_id
from events
where event_date between @start_date and @end_date and event_type = 'purchase'
"""

ITEM_SALES_SQL = """
-- grain: one row per product seen in the window
select
  product_id,
  max(category_id) as category_id,
  max(category_code) as category_code,
  countif(event_type = 'purchase') as n_purchases
from events
where event_date between @start_date and @end_date
group by product_id
"""

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
    """The three ``rec_*`` frames from warehouse extracts and the champion models (pure).

    ``active``: (user_id, last_product_id, last_category_id, last_category_code);
    ``purchases``: (user_id, product_id); ``item_sales``: (product_id, category_id,
    category_code, n_purchases). ``als`` is a TrainedALS, ``content`` a ContentModel; either
    may be None (that source is then absent).
    """
    import numpy as np
    import pandas as pd

    from shopflow.recommend import hybrid
    from shopflow.recommend.artifacts import similar_frame

    sales = item_sales.assign(category=_keys(item_sales["category_id"], item_sales["category_code"]))
    bestsellers = hybrid.category_bestsellers(sales, n_bestsellers)
    global_items = hybrid.global_bestsellers(sales, 2 * k)

    if content is not None:
        similar = similar_frame(content, None, n_similar)
    else:
        similar = pd.DataFrame({"product_id": pd.Series(dtype="int64"), "rank": pd.Series(dtype="int64"),
                                "similar_product_id": pd.Series(dtype="int64"), "score": pd.Series(dtype="float64")})

    users = active["user_id"].to_numpy(dtype=np.int64)
    viewed = active.loc[active["last_product_id"].notna()]
    anchors = pd.DataFrame({
        "user_id": viewed["user_id"].to_numpy(dtype=np.int64),
        "anchor_product_id": viewed["last_product_id"].to_numpy(dtype=np.int64),
        "category": _keys(viewed["last_category_id"], viewed["last_category_code"]),
    })
    exclude = [purchases[["user_id", "product_id"]],
               anchors.rename(columns={"anchor_product_id": "product_id"})[["user_id", "product_id"]]]
    parts = [hybrid.similar_candidates(anchors[["user_id", "anchor_product_id"]], similar),
             hybrid.category_candidates(anchors[["user_id", "category"]], bestsellers)]
    if als is not None:
        known = users[als.users.index(users) >= 0]
        ranked = als.recommend_users(known, k, extra_bought=purchases)
        parts.insert(0, hybrid.als_candidates(ranked))
        rows = als.users.index(known)
        sub = als.purchases[rows].tocoo()
        exclude.append(pd.DataFrame({"user_id": known[sub.row], "product_id": als.items.ids[sub.col]}))
    candidates = pd.concat(parts, ignore_index=True)
    recs = hybrid.with_global_fill(candidates, users, global_items, k, pd.concat(exclude, ignore_index=True))

    version = model_version_label(als_version, content_version)
    user_items = recs.assign(model_version=version, run_date=run_date)
    similar_items = similar.assign(model_version=model_version_label(None, content_version), run_date=run_date)
    return {
        "rec_user_items": user_items[["user_id", "rank", "product_id", "score", "source", "model_version", "run_date"]],
        "rec_similar_items": similar_items[["product_id", "rank", "similar_product_id", "score", "model_version",
                                            "run_date"]],
        "rec_category_bestsellers": bestsellers.assign(run_date=run_date),
    }


def publish_recommendations(run_date, settings=None, params: dict | None = None) -> dict[str, Any]:
    """Write the ``rec_*`` tables for ``run_date`` from the champion models; return row counts.

    Raises if neither model has a champion (train first).
    """
    from shopflow import tracking
    from shopflow.config import get_settings
    from shopflow.dates import as_date
    from shopflow.warehouse import get_warehouse

    settings = settings or get_settings()
    run_date = as_date(run_date)
    opts = {**PUBLISH_DEFAULTS, **{k: v for k, v in (params or {}).items() if v is not None}}
    client = tracking.connect(settings)
    als = tracking.load_champion(tracking.ALS, settings, client)
    content = tracking.load_champion(tracking.CONTENT, settings, client)
    if als is None and content is None:
        raise RuntimeError("no champion model in the registry: run `shopflow train all` first")
    days = {"start_date": run_date - dt.timedelta(days=int(opts["active_days"]) - 1), "end_date": run_date}
    with get_warehouse(settings) as wh:
        active = wh.query(ACTIVE_USERS_SQL, days)
        purchases = wh.query(PURCHASES_SQL, days)
        item_sales = wh.query(ITEM_SALES_SQL, days)
        tables = build_tables(
            active, purchases, item_sales, run_date,
            als=als[0] if als else None, content=content[0] if content else None,
            als_version=als[1].version if als else None, content_version=content[1].version if content else None,
            k=int(opts["k"]), n_similar=int(opts["n_similar"]), n_bestsellers=int(opts["n_bestsellers"]),
        )
        counts = {name: wh.write_table(name, frame, replace_where={"run_date": run_date})
                  for name, frame in tables.items()}
    log.info("published %s for %s", counts, run_date)
    return {
        "run_date": run_date.isoformat(),
        **counts,
        "als_version": als[1].version if als else None,
        "content_version": content[1].version if content else None,
        "active_users": int(len(active)),
    }


def add_arguments(parser) -> None:
    from shopflow.errors import date_arg, int_range

    parser.add_argument("--run-date", type=date_arg,
                        help="last day of activity considered, YYYY-MM-DD (default: the latest event_date)")
    parser.add_argument("-k", type=int_range(1), default=PUBLISH_DEFAULTS["k"], help="items per user (default 15)")
    parser.add_argument("--active-days", type=int_range(1), default=PUBLISH_DEFAULTS["active_days"],
                        help="a user is active with any event in this many days up to the run date (default 30)")


def run(args) -> int:
    from shopflow.config import get_settings
    from shopflow.dates import as_date
    from shopflow.train import _latest_event_date

    settings = get_settings()
    run_date = as_date(args.run_date) if args.run_date else _latest_event_date(settings)
    result = publish_recommendations(run_date, settings, {"k": args.k, "active_days": args.active_days})
    for name in TABLES:
        print(f"{name:26s} {result[name]:>10,d} rows for {result['run_date']}")
    return 0
