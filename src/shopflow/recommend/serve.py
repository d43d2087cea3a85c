"""``shopflow recommend --user ID [--item ID] [-k 15]``: one shopper's list from the champions.

* A user with a purchase history gets ALS items (already-bought filtered) blended with items
  similar to the anchor: the ``--item`` they are looking at, else the last product they viewed.
  A user the ALS champion was not trained on but who bought items it knows is scored from those
  purchases (the user's factors solved against the fixed item factors).
* A user without a purchase history gets items similar to the anchor.
* Places left empty are filled with best-sellers of the anchor's category, then of the shop.

The models come from the registry (``models:/shopflow-als@champion``,
``models:/shopflow-content@champion``); best-sellers from the content champion's catalogue
(purchases in its training window). The user's history (purchases, last viewed product) and the
category of an item the content model does not know come from the warehouse ``events`` table,
over the ``--history-days`` up to the run date, so a purchase made after training is filtered too.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopflow.queries import query_sql

class UnknownItemError(LookupError):
    """The item is neither in the content model's catalogue nor in the warehouse."""


@dataclass
class History:
    """What the warehouse knows about one user and the requested item."""

    bought: list[int] = field(default_factory=list)
    last_viewed: int | None = None
    last_viewed_category: str | None = None
    item_category: str | None = None
    item_found: bool = False


def _category(category_id, category_code) -> str | None:
    from shopflow.recommend.content import category_keys

    if category_id is None or pd.isna(category_id):
        return None if not isinstance(category_code, str) else category_code
    return str(category_keys(pd.DataFrame({"category_id": [category_id], "category_code": [category_code]}))[0])


def read_history(wh, user_id: int, item_id: int | None, run_date: dt.date, history_days: int = 30) -> History:
    """The user's purchases and last view, and the item's category, from the warehouse."""
    days = {"start_date": run_date - dt.timedelta(days=history_days - 1), "end_date": run_date}
    out = History()
    rows = wh.query(query_sql("serve/history"), {"user_id": int(user_id), **days})
    out.bought = sorted(int(p) for p in rows.loc[rows["event_type"] == "purchase", "product_id"])
    views = rows.loc[rows["event_type"] == "view"].sort_values(["last_at", "product_id"])
    if len(views):
        last = views.iloc[-1]
        out.last_viewed = int(last["product_id"])
        out.last_viewed_category = _category(last["category_id"], last["category_code"])
    if item_id is not None:
        found = wh.query(query_sql("serve/item"), {"product_id": int(item_id), "end_date": run_date})
        if len(found):
            out.item_found = True
            out.item_category = _category(found["category_id"].iloc[0], found["category_code"].iloc[0])
    return out


def recommend_for(user_id: int, item_id: int | None, k: int, als, content, history: History) -> tuple[pd.DataFrame, str]:
    """The hybrid list for one shopper: (user_id, rank, product_id, score, source), and a line
    saying which path was taken. Raises UnknownItemError for an item nobody knows."""
    from shopflow.recommend import hybrid
    from shopflow.recommend.similar import similar_items_frame
    from shopflow.recommend.content import category_keys

    in_content = content is not None and item_id is not None and item_id in content.items
    if item_id is not None and not in_content and not history.item_found:
        raise UnknownItemError(
            f"item {item_id} is unknown: it is not in the content model's catalogue and has no events "
            "in the warehouse. Check the product id.")
    anchor = item_id if item_id is not None else history.last_viewed

    catalogue = content.catalogue if content is not None else None
    anchor_category = None
    if anchor is not None and catalogue is not None and anchor in content.items:
        row = catalogue.iloc[[content.items.lookup(anchor)]]
        anchor_category = str(category_keys(row)[0])
    elif anchor is not None:
        anchor_category = history.item_category if anchor == item_id else history.last_viewed_category

    parts, path = [], []
    if als is not None:
        bought = pd.DataFrame({"user_id": user_id, "product_id": np.asarray(history.bought, dtype=np.int64)})
        if user_id in als.users:
            ranked = als.recommend_users([user_id], k, extra_bought=bought)
            path.append("ALS (known customer)")
        elif history.bought and (als.items.index(history.bought) >= 0).any():
            ranked = als.recommend_history(history.bought, k).assign(user_id=user_id)
            path.append("ALS from the purchases in the warehouse")
        else:
            ranked = None
        if ranked is not None:
            parts.append(hybrid.als_candidates(ranked))
    if anchor is not None and content is not None and anchor in content.items:
        # the method the content run chose (recommend/similar.py), as rec_similar_items is made
        similar = similar_items_frame(content, 10, item_idx=[content.items.lookup(anchor)])
        parts.append(hybrid.similar_candidates(
            pd.DataFrame({"user_id": [user_id], "anchor_product_id": [anchor]}), similar))
        path.append(f"items similar to {'item' if anchor == item_id else 'last viewed item'} {anchor}")
    if catalogue is not None:
        sales = catalogue.assign(category=category_keys(catalogue))
        if "n_purchases" not in sales.columns:
            sales["n_purchases"] = 0
        if anchor_category is not None:
            best = hybrid.category_bestsellers(sales.loc[sales["category"] == anchor_category], k)
            parts.append(hybrid.category_candidates(
                pd.DataFrame({"user_id": [user_id], "category": [anchor_category]}), best))
        global_items = hybrid.global_bestsellers(sales, 2 * k)
    elif als is not None:
        order = np.lexsort((als.items.ids, -als.item_popularity))
        global_items = als.items.ids[order][: 2 * k]
    else:
        global_items = np.empty(0, dtype=np.int64)
    empty = pd.DataFrame({"user_id": pd.Series(dtype="int64"), "product_id": pd.Series(dtype="int64"),
                          "source": pd.Series(dtype="object"), "rank": pd.Series(dtype="int64")})
    candidates = pd.concat([empty, *parts], ignore_index=True)
    exclude = pd.DataFrame({"user_id": user_id, "product_id": np.asarray(
        history.bought + ([anchor] if anchor is not None else []), dtype=np.int64)})
    if als is not None and user_id in als.users:
        exclude = pd.concat([exclude, pd.DataFrame({"user_id": user_id, "product_id": als.bought(user_id)})])
    recs = hybrid.with_global_fill(candidates, [user_id], global_items, k, exclude)
    if recs["source"].str.contains("bestseller").any():
        path.append("best-sellers to fill")
    return recs, ", ".join(path) or "nothing to recommend"


def add_arguments(parser) -> None:
    from shopflow.errors import date_arg, int_range

    parser.add_argument("--user", type=int, required=True, help="user id")
    parser.add_argument("--item", type=int, help="the product the user is looking at")
    parser.add_argument("-k", type=int_range(1), default=15, help="number of items (default 15)")
    parser.add_argument("--run-date", type=date_arg,
                        help="today for the history look-up, YYYY-MM-DD (default: the latest event_date)")
    parser.add_argument("--history-days", type=int_range(1), default=30,
                        help="days of history read from the warehouse (default 30)")


def run(args) -> int:
    from shopflow import tracking
    from shopflow.config import get_settings
    from shopflow.dates import as_date
    from shopflow.warehouse import get_warehouse

    if args.k < 1:
        print("-k must be at least 1", file=sys.stderr)
        return 2
    settings = get_settings()
    client = tracking.connect(settings)
    als = tracking.load_champion(tracking.ALS, settings, client)
    content = tracking.load_champion(tracking.CONTENT, settings, client)
    if als is None and content is None:
        from shopflow.errors import UserError

        raise UserError("no champion model in the registry: run `shopflow train all` (or make demo) first")
    with get_warehouse(settings) as wh:
        history = History()
        if wh.table_exists("events"):
            latest = wh.query(query_sql("events/latest_date"))["latest_date"].iloc[0]
            if args.run_date or not pd.isna(latest):
                run_date = as_date(args.run_date or latest)
                history = read_history(wh, args.user, args.item, run_date, args.history_days)
    als_model, content_model = (als[0] if als else None), (content[0] if content else None)
    try:
        recs, path = recommend_for(args.user, args.item, args.k, als_model, content_model, history)
    except UnknownItemError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    versions = " + ".join(f"{name} v{m[1].version}" for name, m in ((tracking.ALS, als), (tracking.CONTENT, content)) if m)
    print(f"user {args.user}: {path} [{versions}]")
    if content_model is not None:
        info = content_model.catalogue[["product_id", "category_code", "brand", "price"]]
        recs = recs.merge(info, on="product_id", how="left")
    print(recs.drop(columns="user_id").to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0
