"""A synthetic event log in the exact format of the public REES46 export.

``shopflow generate`` writes one ``YYYY-MM-DD.csv.gz`` per day with the public file's
header, ``2019-11-01 00:00:00 UTC`` timestamps, empty fields for nulls, 2-decimal prices,
UUID sessions and REES46-like id ranges. The same seed and options give the same bytes,
whatever the number of worker processes.

The planted structure (what an analysis or a model can find):

* **Catalogue.** About 130 dotted category codes of 1 to 3 levels (``catalog_data.TAXONOMY``)
  plus categories without a code, which carry about a third of the traffic, as in the real
  file. Over 1,000 brands, each tied to one to six categories of one top level; about 14%
  of rows have no brand. Prices are lognormal per category (median and spread from the
  taxonomy) times a brand premium. Within a category, product popularity is Zipf-like
  (exponent ZIPF_EXPONENT, 0.7: calibrated so that ALS at the reference's size and protocol
  scores near the reference's precision@15, see docs/generator.md), so a few products take
  most views.
* **Users and tastes.** Every user belongs to one *taste profile*. A profile has three
  categories (weights 0.6, 0.3, 0.1), two favourite brands in each, and a price level in
  [0, 1] (the product's price quantile within its category it prefers); a user adds a
  personal offset to the price level. A session picks its category from the user's profile
  with probability 0.8 (else from overall popularity), then each viewed product is the best
  of 4 popularity-drawn candidates by ``2.0 * favourite_brand - 4.0 * |price_q - user_q|``
  plus Gumbel noise. Carts and purchases are more likely for products that fit the taste
  (rates rescaled each day so the event mix stays fixed). Users of one profile therefore
  buy from the same categories, brands and price band: a collaborative model can beat
  popularity, and a user's purchases concentrate in their profile's categories.
* **Sessions.** A session is a user visit: 1 + geometric views (mean about 4.5, 30% re-views
  of the previous product), a cart right after some views, purchases of carted items at the
  end (several per session allowed), optional ``remove_from_cart`` for carts not bought.
  Events of a session stay within its day. Half of the other views browse: the product one
  or two places from the previous one in its category sorted by (brand, price).
* **Time.** Session starts follow an hour-of-day profile peaking 06:00-15:00 UTC. Daily
  volume follows a weekday cycle (weekends busier, weekend conversion 12% higher) and a
  boost on the mid-month weekend (the Saturday nearest the 16th and the Sunday after it),
  the busiest days of a month, as the 16th and 17th were in November 2019.
* **Mix and damage.** About 94% views, 4.5% carts, 1.4% purchases. Exact duplicate rows at
  ``--dup-rate`` (default 0.2%), written right after their original.

``--scale 1.0`` is the size of the real November file: 2.25M events a day (67.5M over 30
days), 3.7M users, 190k products.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shopflow import catalog_data
from shopflow.schema import RAW_HEADER

FULL_EVENTS_PER_DAY = 2_250_000
FULL_USERS = 3_700_000
FULL_PRODUCTS = 190_000
DEFAULT_SCALE = 0.01

EVENT_CODES = ("view", "cart", "remove_from_cart", "purchase")
VIEW, CART, REMOVE, PURCHASE = range(4)

# Behaviour constants (documented in the module docstring).
TASTE_SESSION_SHARE = 0.8
PROFILE_CATEGORY_WEIGHTS = (0.6, 0.3, 0.1)
FAVOURITE_BRANDS_PER_CATEGORY = 2
CANDIDATES = 4
BRAND_WEIGHT = 2.0
NO_NAME_FIT = 0.5
PRICE_WEIGHT = 4.0
VIEW_GEOMETRIC_P = 0.22
REVIEW_SHARE = 0.3
BROWSE_SHARE = 0.5
BROWSE_STEP = 2
CART_PER_VIEW = 0.0485
PURCHASE_PER_CART = 0.29
AFFINITY_GAIN = 1.2
WEEKEND_CONVERSION = 1.12
REMOVE_SHARE = 0.5
NULL_BRAND_SHARE = 0.14
UNCODED_TRAFFIC_SHARE = 1 / 3
ZIPF_EXPONENT = 0.7
HOUR_WEIGHTS = np.array(
    [0.9, 0.7, 0.9, 1.6, 2.8, 4.2, 5.3, 5.8, 6.0, 6.0, 5.9, 5.8,
     5.7, 5.8, 5.9, 5.8, 5.0, 4.2, 3.5, 2.9, 2.3, 1.8, 1.4, 1.1]
)
WEEKDAY_VOLUME = np.array([0.97, 0.95, 0.95, 0.97, 1.0, 1.06, 1.10])  # Monday .. Sunday
MID_MONTH_BOOST = {"weekend": 1.35, "adjacent": 1.12}


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate. Use :meth:`from_scale` to derive sizes from one number."""

    start: dt.date = dt.date(2019, 11, 1)
    days: int = 30
    events_per_day: int = round(FULL_EVENTS_PER_DAY * DEFAULT_SCALE)
    users: int = round(FULL_USERS * DEFAULT_SCALE)
    products: int = 5_000
    seed: int = 46
    dup_rate: float = 0.002
    remove_from_cart: bool = False
    compresslevel: int = 1

    @classmethod
    def from_scale(cls, scale: float, **overrides) -> "GeneratorConfig":
        """Sizes for ``scale`` (1.0 = the real November file), then explicit overrides."""
        if scale <= 0:
            raise ValueError("--scale must be positive")
        sizes = {
            "events_per_day": max(100, round(FULL_EVENTS_PER_DAY * scale)),
            "users": max(200, round(FULL_USERS * scale)),
            # Products grow slower than traffic so small samples keep enough purchases per item.
            "products": max(1_000, round(FULL_PRODUCTS * scale**0.75)),
        }
        sizes.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**sizes)

    def validate(self) -> None:
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.events_per_day < 1 or self.users < 1:
            raise ValueError("events per day and users must be positive")
        if self.products < 200:
            raise ValueError("products must be at least 200 (one per category)")
        if not 0 <= self.dup_rate < 0.5:
            raise ValueError("dup rate must be in [0, 0.5)")
        if not 0 <= self.compresslevel <= 3:
            raise ValueError("compresslevel must be 0..3 (ISA-L gzip levels)")

    @property
    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]


# --------------------------------------------------------------------------- catalogue


@dataclass
class Catalog:
    """Categories, brands and products; products of one category are contiguous."""

    category_code: list  # str or None per category
    category_id: np.ndarray
    category_group: np.ndarray
    category_weight: np.ndarray
    category_first: np.ndarray  # first product index of each category
    category_last: np.ndarray  # one past the last product index
    brand_name: list
    brand_group: np.ndarray
    brand_size: np.ndarray
    product_id: np.ndarray
    product_category: np.ndarray
    product_brand: np.ndarray  # -1 = no brand
    product_price: np.ndarray
    product_price_q: np.ndarray
    groups: list

    @property
    def n_categories(self) -> int:
        return len(self.category_code)

    @property
    def n_products(self) -> int:
        return len(self.product_id)

    def product_weight(self) -> np.ndarray:
        """Expected share of traffic of each product (before tastes reorder it)."""
        counts = self.category_last - self.category_first
        share = self.category_weight / self.category_weight.sum()
        return _position_share(counts) * share[self.product_category]

    def category_brands(self) -> dict[int, set[int]]:
        out: dict[int, set[int]] = {}
        for c, b in zip(self.product_category.tolist(), self.product_brand.tolist()):
            if b >= 0:
                out.setdefault(c, set()).add(b)
        return out


def product_category_of(counts: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(counts)), counts)


def _position_share(counts: np.ndarray) -> np.ndarray:
    """Share of its category's views of each product position, under the Zipf-like draw of
    :func:`_zipf_ranks` (continuous density x^-a on [1, n + 1))."""
    a = ZIPF_EXPONENT
    size = np.repeat(counts, counts).astype(float)
    rank = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + 1.0
    return ((rank + 1) ** (1 - a) - rank ** (1 - a)) / ((size + 1) ** (1 - a) - 1)


def _parse_taxonomy():
    rows = []
    for line in catalog_data.TAXONOMY.strip().splitlines():
        code, median, sigma, weight = line.split()
        rows.append((code, float(median), float(sigma), float(weight)))
    return rows


def _brand_names(rng: np.random.Generator, groups: list[str], n_synthetic: int):
    names, group_of = [], []
    seen = set()
    for g, group in enumerate(groups):
        for name in catalog_data.BRANDS.get(group, "").split():
            if name not in seen:
                seen.add(name)
                names.append(name)
                group_of.append(g)
    n_real = len(names)
    syl = catalog_data.SYLLABLES
    group_sizes = np.array([max(1, len(catalog_data.BRANDS.get(g, "").split())) for g in groups], float)
    while len(names) < n_real + n_synthetic:
        k = 2 if rng.random() < 0.7 else 3
        name = "".join(syl[i] for i in rng.integers(0, len(syl), k))
        if rng.random() < 0.05:
            name += "-" + syl[rng.integers(0, len(syl))]
        if name in seen:
            continue
        seen.add(name)
        names.append(name)
        group_of.append(int(rng.choice(len(groups), p=group_sizes / group_sizes.sum())))
    return names, np.array(group_of, dtype=np.int32), n_real


def build_catalog(cfg: GeneratorConfig) -> Catalog:
    """The catalogue is a function of the seed and the product count only."""
    rng = np.random.default_rng([cfg.seed, 0])
    taxonomy = _parse_taxonomy()
    groups = sorted({code.split(".")[0] for code, *_ in taxonomy} | {g for g, *_ in catalog_data.UNCODED_GROUPS})
    group_index = {g: i for i, g in enumerate(groups)}

    codes = [row[0] for row in taxonomy]
    medians = [row[1] for row in taxonomy]
    sigmas = [row[2] for row in taxonomy]
    weights = np.array([row[3] for row in taxonomy], dtype=float)
    cat_group = [group_index[c.split(".")[0]] for c in codes]

    # Categories without a code carry a third of the traffic, split Zipf-like among them.
    n_uncoded = int(np.clip(cfg.products // 300, 10, 300))
    uncoded_w = 1.0 / np.arange(1, n_uncoded + 1) ** 0.9
    uncoded_w *= weights.sum() * UNCODED_TRAFFIC_SHARE / (1 - UNCODED_TRAFFIC_SHARE) / uncoded_w.sum()
    for i in range(n_uncoded):
        share = np.array([g[3] for g in catalog_data.UNCODED_GROUPS])
        gname, gmedian, gsigma, _ = catalog_data.UNCODED_GROUPS[rng.choice(len(share), p=share / share.sum())]
        codes.append(None)
        medians.append(gmedian * float(np.exp(rng.normal(0, 0.5))))
        sigmas.append(gsigma)
        cat_group.append(group_index[gname])
    weights = np.concatenate([weights, uncoded_w])
    cat_group = np.array(cat_group, dtype=np.int32)
    n_cat = len(codes)

    # 19-digit category ids like the real ones (2053013555631882655); uncoded ones elsewhere.
    coded_ids = 2053013552_000_000_000 + np.sort(rng.choice(10**9, size=n_cat, replace=False))
    uncoded_ids = 2232732_000_000_000_000 + np.sort(rng.choice(10**12, size=n_cat, replace=False))
    category_id = np.where(np.array([c is not None for c in codes]), coded_ids, uncoded_ids).astype(np.int64)

    brand_name, brand_group, n_real = _brand_names(rng, groups, n_synthetic=1_100)
    n_brand = len(brand_name)
    # Market size: real brands by their rank in their group's list (samsung before sony),
    # the synthetic long tail small. Big brands sell in more categories, mostly big ones.
    rank_in_group = np.zeros(n_brand)
    for g in range(len(groups)):
        members = np.flatnonzero(brand_group[:n_real] == g)
        rank_in_group[members] = np.arange(len(members))
    brand_size = np.where(np.arange(n_brand) < n_real, 1.0 / (rank_in_group + 1.0), 0.03 * rng.lognormal(0, 0.7, n_brand))
    cats_of_group = [np.flatnonzero(cat_group == g) for g in range(len(groups))]
    cat_brands: list[list[int]] = [[] for _ in range(n_cat)]
    for b in range(n_brand):
        pool = cats_of_group[brand_group[b]]
        k = min(len(pool), 1 + int(rng.integers(0, 3) + 6 * brand_size[b]))
        p = weights[pool] ** 0.7
        for c in rng.choice(pool, size=k, replace=False, p=p / p.sum()):
            cat_brands[c].append(b)
    for c in range(n_cat):
        if not cat_brands[c]:
            cat_brands[c].append(int(rng.choice(np.flatnonzero(brand_group == cat_group[c]))))

    # Products per category grow with traffic; at least one each.
    share = weights**0.6 / (weights**0.6).sum()
    counts = np.maximum(1, np.floor(share * (cfg.products - n_cat)).astype(int) + 1)
    counts[np.argmax(counts)] += cfg.products - counts.sum()
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    last = first + counts
    product_category = product_category_of(counts).astype(np.int32)
    n_prod = int(counts.sum())

    # Brand per product by market size, or none; within a category, products are ordered by
    # popularity (position 0 = most viewed), and big brands' products tend to come first.
    product_brand = np.empty(n_prod, dtype=np.int32)
    for c in range(n_cat):
        bl = np.array(cat_brands[c])
        bw = brand_size[bl]
        chosen = rng.choice(bl, size=counts[c], p=bw / bw.sum())
        appeal = np.sqrt(brand_size[chosen]) * rng.lognormal(0, 1.0, counts[c])
        product_brand[first[c]:last[c]] = chosen[np.argsort(-appeal, kind="stable")]
    # Products without a brand: drawn at random until they carry NULL_BRAND_SHARE of the
    # expected traffic (skipping the few products big enough to overshoot on their own).
    traffic = _position_share(counts) * (weights / weights.sum())[product_category]
    pool = rng.permutation(n_prod)
    pool = pool[traffic[pool] < NULL_BRAND_SHARE / 20]
    k = int(np.searchsorted(np.cumsum(traffic[pool]), NULL_BRAND_SHARE))
    product_brand[pool[:k]] = -1

    # Prices: lognormal per category times a per-brand premium, 2 decimals, at least 0.5.
    premium = np.exp(rng.normal(0, 0.25, n_brand))
    mu = np.log(np.array(medians))[product_category]
    sig = np.array(sigmas)[product_category]
    price = np.exp(mu + sig * rng.standard_normal(n_prod))
    price *= np.where(product_brand >= 0, premium[np.maximum(product_brand, 0)], 0.8)
    price = np.clip(np.round(price, 2), 0.5, 2600.0)
    price_q = np.empty(n_prod, dtype=np.float32)
    for c in range(n_cat):
        seg = price[first[c]:last[c]]
        price_q[first[c]:last[c]] = (np.argsort(np.argsort(seg, kind="stable"), kind="stable") + 0.5) / len(seg)

    # Popularity is Zipf-like by position: the first product of a category is its most
    # viewed. Product ids, in REES46-like ranges (1,000,000 to ~100,000,000, blocked by
    # category), are shuffled within the block so they say nothing about popularity.
    block = 99_000_000 // n_cat
    product_id = np.empty(n_prod, dtype=np.int64)
    for c in range(n_cat):
        steps = rng.integers(1, max(2, min(50, block // max(1, counts[c]))), counts[c])
        product_id[first[c]:last[c]] = rng.permutation(1_000_000 + c * block + np.cumsum(steps))

    return Catalog(
        category_code=codes,
        category_id=category_id,
        category_group=cat_group,
        category_weight=weights,
        category_first=first,
        category_last=last,
        brand_name=brand_name,
        brand_group=brand_group,
        brand_size=brand_size,
        product_id=product_id,
        product_category=product_category,
        product_brand=product_brand,
        product_price=price,
        product_price_q=price_q,
        groups=groups,
    )


# --------------------------------------------------------------------------- population


@dataclass
class Population:
    """Users, their taste profiles and activity."""

    user_id: np.ndarray
    user_profile: np.ndarray
    user_price_q: np.ndarray
    user_cum: np.ndarray  # cumulative activity weights
    profile_categories: np.ndarray  # (profiles, 3) category indices
    profile_favourite: np.ndarray  # (profiles, brands) bool: favourite brands of each profile

    def planted_categories(self, user_ids) -> dict[int, set[int]]:
        """The category indices of each given user's taste profile."""
        pos = np.searchsorted(self.user_id, np.asarray(user_ids, dtype=np.int64))
        return {int(u): set(self.profile_categories[self.user_profile[p]].tolist()) for u, p in zip(user_ids, pos)}


def build_population(cfg: GeneratorConfig, catalog: Catalog) -> Population:
    rng = np.random.default_rng([cfg.seed, 2])
    n_users = cfg.users
    n_profiles = int(np.clip(n_users // 150, 20, 3_000))
    cat_p = catalog.category_weight / catalog.category_weight.sum()
    profile_categories = np.empty((n_profiles, 3), dtype=np.int32)
    n_brand = len(catalog.brand_name)
    favourite = np.zeros((n_profiles, n_brand), dtype=bool)
    cat_brands = catalog.category_brands()
    for p in range(n_profiles):
        cats = rng.choice(len(cat_p), size=3, replace=False, p=cat_p)
        profile_categories[p] = cats
        for c in cats:
            available = np.array(sorted(cat_brands.get(int(c), ())), dtype=np.int64)
            if len(available):
                size = catalog.brand_size[available]
                favs = rng.choice(
                    available, size=min(FAVOURITE_BRANDS_PER_CATEGORY, len(available)), replace=False, p=size / size.sum()
                )
                favourite[p, favs] = True
    profile_level = rng.beta(2, 2, n_profiles)

    gaps = rng.integers(1, 30, n_users)
    user_id = 512_000_000 + np.cumsum(gaps).astype(np.int64)
    user_profile = rng.integers(0, n_profiles, n_users).astype(np.int32)
    user_price_q = np.clip(profile_level[user_profile] + rng.normal(0, 0.08, n_users), 0, 1).astype(np.float32)
    activity = rng.lognormal(0.0, 1.0, n_users)
    return Population(
        user_id=user_id,
        user_profile=user_profile,
        user_price_q=user_price_q,
        user_cum=np.cumsum(activity),
        profile_categories=profile_categories,
        profile_favourite=favourite,
    )


# --------------------------------------------------------------------------- days


def day_factors(dates: list[dt.date]) -> np.ndarray:
    """Relative volume per date: weekday cycle times the mid-month weekend boost, mean 1."""
    f = np.array([WEEKDAY_VOLUME[d.weekday()] * _mid_month(d) for d in dates])
    return f / f.mean()


def _mid_month(d: dt.date) -> float:
    sixteenth = d.replace(day=16)
    saturday = sixteenth + dt.timedelta(days=(5 - sixteenth.weekday() + 3) % 7 - 3)
    offset = (d - saturday).days
    if offset in (0, 1):
        return MID_MONTH_BOOST["weekend"]
    if offset in (-1, 2):
        return MID_MONTH_BOOST["adjacent"]
    return 1.0


@dataclass
class DayEvents:
    """One day's events as integer arrays, in output order."""

    second: np.ndarray  # seconds since midnight UTC
    event: np.ndarray  # index into EVENT_CODES
    product: np.ndarray  # product index
    user: np.ndarray  # user index
    session: np.ndarray  # session index within the day
    session_uuid: np.ndarray  # (sessions, 36) uint8


SESSION_BLOCK = 100_000


def simulate_day(cfg: GeneratorConfig, catalog: Catalog, people: Population, day: dt.date, factor: float) -> DayEvents:
    """Simulate one day's sessions, in blocks of sessions to bound memory, then order them."""
    rng = np.random.default_rng([cfg.seed, 1, day.toordinal()])
    mean_views = 1 / VIEW_GEOMETRIC_P
    per_session = mean_views * (1 + CART_PER_VIEW * (1 + PURCHASE_PER_CART))
    n_sessions = max(1, round(cfg.events_per_day * factor / per_session))
    weekend = day.weekday() >= 5
    blocks = [
        _simulate_sessions(rng, cfg, catalog, people, min(SESSION_BLOCK, n_sessions - lo), lo, weekend)
        for lo in range(0, n_sessions, SESSION_BLOCK)
    ]
    second, event, product, user, session = (np.concatenate(parts) for parts in zip(*blocks))
    del blocks

    order = np.argsort((second.astype(np.int64) << 40) | (session.astype(np.int64) << 3) | event, kind="stable")
    if cfg.dup_rate > 0:
        order = np.repeat(order, 1 + (rng.random(len(order)) < cfg.dup_rate))

    raw = np.frombuffer(rng.bytes(16 * n_sessions), dtype=np.uint8).reshape(n_sessions, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    return DayEvents(
        second=second[order],
        event=event[order],
        product=product[order],
        user=user[order],
        session=session[order],
        session_uuid=_uuid_text(raw),
    )


def _simulate_sessions(rng, cfg, catalog: Catalog, people: Population, n_sessions: int, offset: int, weekend: bool):
    """Events of ``n_sessions`` sessions: (second, event, product, user, session) arrays."""
    user = np.searchsorted(people.user_cum, rng.random(n_sessions) * people.user_cum[-1], side="right")
    user = np.minimum(user, len(people.user_id) - 1)
    profile = people.user_profile[user]
    cum_w = np.cumsum(PROFILE_CATEGORY_WEIGHTS)
    pick = (rng.random(n_sessions)[:, None] > cum_w[None, :-1]).sum(axis=1)
    taste_cat = people.profile_categories[profile, pick]
    cat_cum = np.cumsum(catalog.category_weight)
    pop_cat = np.minimum(np.searchsorted(cat_cum, rng.random(n_sessions) * cat_cum[-1], side="right"), len(cat_cum) - 1)
    category = np.where(rng.random(n_sessions) < TASTE_SESSION_SHARE, taste_cat, pop_cat)

    n_views = rng.geometric(VIEW_GEOMETRIC_P, n_sessions)
    starts = np.cumsum(n_views) - n_views
    n_total = int(n_views.sum())
    sess = np.repeat(np.arange(n_sessions), n_views)

    product, affinity = _choose_products(rng, catalog, people, category[sess], user[sess], profile[sess])

    # Re-views repeat the previous product of the session; browsing views move to a neighbour of
    # it (same category, mostly the same brand at a nearby price), as real shoppers browse.
    fresh = rng.random(n_total) >= REVIEW_SHARE
    fresh[starts] = True
    browse = fresh & (rng.random(n_total) < BROWSE_SHARE)
    browse[starts] = False
    step = rng.integers(1, BROWSE_STEP + 1, n_total) * np.where(rng.random(n_total) < 0.5, -1, 1)
    if (~fresh | browse).any():
        product = _follow_previous(catalog, product, np.arange(n_total) - starts[sess], fresh, browse, step)
        affinity = _fit(catalog, people, product[:, None], user[sess], profile[sess])[:, 0]

    gaps = rng.exponential(45.0, n_total).astype(np.int64) + 1
    gaps[starts] = 0
    cum = np.cumsum(gaps)
    rel = cum - cum[starts][sess]

    lift = np.exp(AFFINITY_GAIN * affinity)
    p_cart = np.minimum(1.0, CART_PER_VIEW * lift / lift.mean())
    carted = np.flatnonzero(rng.random(n_total) < p_cart)
    cart_rel = rel[carted] + rng.integers(3, 40, len(carted))
    lift_c = lift[carted]
    rate = PURCHASE_PER_CART * (WEEKEND_CONVERSION if weekend else 1.0)
    p_buy = np.minimum(1.0, rate * lift_c / lift_c.mean()) if len(carted) else lift_c
    bought = rng.random(len(carted)) < p_buy
    session_end = np.maximum.reduceat(rel, starts)
    cart_sess = sess[carted]
    parts_sess = [sess, cart_sess]
    parts_rel = [rel, cart_rel]
    parts_event = [np.full(n_total, VIEW), np.full(len(carted), CART)]
    parts_product = [product, product[carted]]
    if cfg.remove_from_cart:
        # Some carts that will not be bought are removed a little later in the session.
        dropped = np.flatnonzero(~bought)
        dropped = dropped[rng.random(len(dropped)) < REMOVE_SHARE]
        parts_sess.append(cart_sess[dropped])
        parts_rel.append(cart_rel[dropped] + rng.integers(5, 120, len(dropped)))
        parts_event.append(np.full(len(dropped), REMOVE))
        parts_product.append(product[carted[dropped]])
    # Purchases come after everything else in the session, in cart order.
    last_before = session_end.copy()
    for s_part, r_part in zip(parts_sess[1:], parts_rel[1:]):
        np.maximum.at(last_before, s_part, r_part)
    checkout = last_before + rng.integers(20, 300, n_sessions)
    buy_idx = carted[bought]
    parts_sess.append(sess[buy_idx])
    parts_rel.append(checkout[sess[buy_idx]] + np.arange(len(buy_idx)) % 7)
    parts_event.append(np.full(len(buy_idx), PURCHASE))
    parts_product.append(product[buy_idx])

    ev_sess = np.concatenate(parts_sess)
    ev_rel = np.concatenate(parts_rel)

    # Sessions start by the hour profile and are moved earlier so they end within the day.
    duration = np.zeros(n_sessions, np.int64)
    np.maximum.at(duration, ev_sess, ev_rel)
    duration = np.minimum(duration, 86_399)
    hour = rng.choice(24, size=n_sessions, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    start = hour * 3600 + rng.integers(0, 3600, n_sessions)
    start = np.minimum(start, 86_399 - duration)
    return (
        np.minimum(start[ev_sess] + ev_rel, 86_399).astype(np.int32),
        np.concatenate(parts_event).astype(np.int8),
        np.concatenate(parts_product).astype(np.int32),
        user[ev_sess].astype(np.int32),
        (ev_sess + offset).astype(np.int32),
    )


def _browse_order(catalog: Catalog) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Products sorted by (category, brand, price): (order, each product's place in it, each
    place's category). A browsing step moves a few places along it within the category."""
    order = np.lexsort((catalog.product_price, catalog.product_brand, catalog.product_category))
    place = np.empty_like(order)
    place[order] = np.arange(len(order))
    return order, place, catalog.product_category[order]


def _follow_previous(catalog: Catalog, product, position, fresh, browse, step):
    """Views in session order: a re-view (not ``fresh``) takes the previous view's product, a
    ``browse`` view the product ``step`` places from it in :func:`_browse_order` (reflected at
    the ends of the category). Sequential in the position within the session only."""
    order, place, sorted_cat = _browse_order(catalog)
    categories = np.arange(catalog.n_categories)
    cat_first = np.searchsorted(sorted_cat, categories, side="left")
    cat_last = np.searchsorted(sorted_cat, categories, side="right") - 1
    product = product.copy()
    by_position = np.argsort(position, kind="stable")
    bounds = np.searchsorted(position[by_position], np.arange(1, int(position.max()) + 2))
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        at = by_position[lo:hi]
        prev = product[at - 1]
        moved = place[prev] + step[at]
        cat = catalog.product_category[prev]
        first, last = cat_first[cat], cat_last[cat]
        moved = np.where((moved < first) | (moved > last), place[prev] - step[at], moved)
        moved = np.clip(moved, first, last)
        product[at] = np.where(~fresh[at], prev, np.where(browse[at], order[moved], product[at]))
    return product


def _fit(catalog: Catalog, people: Population, cand, user, profile):
    """Taste fit of candidate products (rows x candidates) for each row's user and profile."""
    brand = catalog.product_brand[cand]
    fav = people.profile_favourite[profile[:, None], np.maximum(brand, 0)] & (brand >= 0)
    gap = np.abs(catalog.product_price_q[cand] - people.user_price_q[user][:, None])
    # A no-name product is neither favourite nor shunned: half the favourite bonus.
    return BRAND_WEIGHT * np.where(brand >= 0, fav, NO_NAME_FIT) - PRICE_WEIGHT * gap


def _choose_products(rng, catalog: Catalog, people: Population, category, user, profile, chunk: int = 1_000_000):
    """For each view, one of CANDIDATES popularity-drawn products of its category, chosen with
    probability proportional to exp(taste fit) -- the same as the best by fit plus Gumbel
    noise. Returns the products and their fit. Works in chunks to bound memory."""
    n = len(category)
    product = np.empty(n, dtype=np.int64)
    affinity = np.empty(n)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        first = catalog.category_first[category[lo:hi]]
        size = catalog.category_last[category[lo:hi]] - first
        cand = first[:, None] + _zipf_ranks(size[:, None], rng.random((hi - lo, CANDIDATES))) - 1
        fit = _fit(catalog, people, cand, user[lo:hi], profile[lo:hi])
        cum_fit = np.cumsum(np.exp(fit), axis=1)
        best = (cum_fit < (rng.random(hi - lo) * cum_fit[:, -1])[:, None]).sum(axis=1)
        rows = np.arange(hi - lo)
        product[lo:hi] = cand[rows, best]
        affinity[lo:hi] = fit[rows, best]
    return product, affinity


def _zipf_ranks(n: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Ranks 1..n drawn Zipf-like (exponent ZIPF_EXPONENT) by inverting the continuous CDF."""
    a = ZIPF_EXPONENT
    x = (1 + u * ((n + 1.0) ** (1 - a) - 1)) ** (1 / (1 - a))
    return np.minimum(x.astype(np.int64), n)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_UUID_POS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def _uuid_text(raw: np.ndarray) -> np.ndarray:
    """(n, 16) bytes -> (n, 36) ASCII of canonical UUIDs."""
    nibbles = np.empty((raw.shape[0], 32), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0x0F
    out = np.full((raw.shape[0], 36), ord("-"), dtype=np.uint8)
    out[:, _UUID_POS] = _HEX[nibbles]
    return out


# --------------------------------------------------------------------------- formatting


class _Formatter:
    """Per-catalogue string columns, built once and taken by index for every day."""

    def __init__(self, catalog: Catalog, people: Population):
        import pyarrow as pa
        import pyarrow.compute as pc

        cat = catalog.product_category
        self.product_id = pc.cast(pa.array(catalog.product_id), pa.string())
        self.category_id = pc.cast(pa.array(catalog.category_id[cat]), pa.string())
        codes = pa.array(catalog.category_code, type=pa.string())
        self.category_code = codes.take(pa.array(cat))
        names = pa.array(catalog.brand_name, type=pa.string())
        brand = catalog.product_brand
        self.brand = names.take(pa.array(np.maximum(brand, 0), mask=brand < 0))
        self.price = pa.array([f"{p:.2f}" for p in catalog.product_price.tolist()], type=pa.string())
        self.user_id = people.user_id
        self.event_type = pa.array(EVENT_CODES, type=pa.string())
        clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]
        self.clock = np.frombuffer("".join(clock).encode(), dtype=np.uint8).reshape(86_400, 8)

    def table(self, day: dt.date, ev: DayEvents, lo: int, hi: int):
        import pyarrow as pa
        import pyarrow.compute as pc

        n = hi - lo
        stamp = np.empty((n, 23), dtype=np.uint8)
        stamp[:, :11] = np.frombuffer(f"{day.isoformat()} ".encode(), dtype=np.uint8)
        stamp[:, 11:19] = self.clock[ev.second[lo:hi]]
        stamp[:, 19:] = np.frombuffer(b" UTC", dtype=np.uint8)
        product = pa.array(ev.product[lo:hi])
        return pa.table(
            {
                "event_time": _fixed_width_strings(stamp),
                "event_type": self.event_type.take(pa.array(ev.event[lo:hi])),
                "product_id": self.product_id.take(product),
                "category_id": self.category_id.take(product),
                "category_code": self.category_code.take(product),
                "brand": self.brand.take(product),
                "price": self.price.take(product),
                "user_id": pc.cast(pa.array(self.user_id[ev.user[lo:hi]]), pa.string()),
                "user_session": _fixed_width_strings(ev.session_uuid[ev.session[lo:hi]]),
            }
        )


def _fixed_width_strings(chars: np.ndarray):
    """(n, w) uint8 -> an Arrow string array without a Python loop."""
    import pyarrow as pa

    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars)))


def write_day(path: Path, day: dt.date, ev: DayEvents, fmt: _Formatter, compresslevel: int, chunk: int = 500_000) -> int:
    """Write one landing file atomically; deterministic bytes (gzip mtime 0, no file name)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    from isal import igzip

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    n = len(ev.second)
    # ISA-L writes standard gzip 4-5x faster than zlib; levels 0-3 (zlib levels above 3 map to 3).
    level = min(compresslevel, 3)
    with open(tmp, "wb") as raw, igzip.IGzipFile(filename="", mode="wb", fileobj=raw, compresslevel=level, mtime=0) as gz:
        gz.write((RAW_HEADER + "\n").encode())
        for lo in range(0, n, chunk):
            sink = pa.BufferOutputStream()
            pacsv.write_csv(fmt.table(day, ev, lo, min(n, lo + chunk)), sink, options)
            gz.write(memoryview(sink.getvalue()))
    os.replace(tmp, path)
    return n


# --------------------------------------------------------------------------- driver

_WORKER: dict = {}


def _generate_one(args) -> tuple[str, int, dict]:
    day, factor, out = args
    cfg, catalog, people, fmt = _WORKER["cfg"], _WORKER["catalog"], _WORKER["people"], _WORKER["fmt"]
    ev = simulate_day(cfg, catalog, people, day, factor)
    n = write_day(Path(out) / f"{day.isoformat()}.csv.gz", day, ev, fmt, cfg.compresslevel)
    counts = np.bincount(ev.event, minlength=4)
    return day.isoformat(), n, {**dict(zip(EVENT_CODES, counts.tolist())), "duplicates": duplicate_counts(ev)}


def duplicate_counts(ev: DayEvents) -> dict[str, int]:
    """Rows per event type that repeat an earlier row of the day exactly (what deduplication
    drops): the planted duplicates, and any identical events that happened to coincide. Every
    CSV column is a function of (second, event, product, user, session), so equal keys are
    equal lines."""
    first = (ev.second.astype(np.int64) << 40) | (ev.session.astype(np.int64) << 3) | ev.event
    second = (ev.product.astype(np.int64) << 32) | ev.user.astype(np.int64)
    order = np.lexsort((second, first))
    a, b = first[order], second[order]
    repeat = np.zeros(len(order), dtype=bool)
    repeat[1:] = (a[1:] == a[:-1]) & (b[1:] == b[:-1])
    dup = np.bincount(ev.event[order][repeat], minlength=4)
    return dict(zip(EVENT_CODES, dup.tolist()))


def generate(cfg: GeneratorConfig, out: str | Path, workers: int | None = None, log=print) -> dict:
    """Write ``out/YYYY-MM-DD.csv.gz`` for every date; return a summary.

    Days are independent given the catalogue and users (each has its own seed), so they are
    generated in parallel by forked workers; the bytes do not depend on ``workers``.
    """
    cfg.validate()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    catalog = build_catalog(cfg)
    people = build_population(cfg, catalog)
    _WORKER.update(cfg=cfg, catalog=catalog, people=people, fmt=_Formatter(catalog, people))
    dates = cfg.dates
    jobs = [(d, f, str(out)) for d, f in zip(dates, day_factors(dates))]
    # An explicit worker count is used as given; more workers than days would idle.
    workers = max(1, min(workers or min(os.cpu_count() or 1, 2), len(jobs)))
    per_day = {}
    if workers == 1:
        results = map(_generate_one, jobs)
    else:
        import multiprocessing as mp

        pool = mp.get_context("fork").Pool(workers)
        results = pool.imap(_generate_one, jobs)
    try:
        for day, n, counts in results:
            per_day[day] = {"rows": n, **counts}
            log(f"{day}: {n:,} rows ({counts['view']:,} views, {counts['cart']:,} carts, {counts['purchase']:,} purchases)")
    finally:
        if workers > 1:
            pool.close()
            pool.join()
    total = sum(v["rows"] for v in per_day.values())
    seconds = time.perf_counter() - started
    summary = {
        "config": {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in dataclasses.asdict(cfg).items()},
        "rows": total,
        "seconds": round(seconds, 3),
        "rows_per_second": round(total / seconds) if seconds else None,
        "categories": catalog.n_categories,
        "brands": len(catalog.brand_name),
        "products": catalog.n_products,
        "days": per_day,
    }
    (out / "_generator.json").write_text(json.dumps(summary, indent=2) + "\n")
    log(f"wrote {total:,} rows in {len(per_day)} files to {out} in {seconds:.1f} s ({summary['rows_per_second']:,} rows/s)")
    return summary


# --------------------------------------------------------------------------- CLI


def add_arguments(parser) -> None:
    from shopflow.errors import date_arg, int_range, positive_float

    parser.add_argument("--out", help="folder for the daily files (default: $SHOPFLOW_HOME/landing)")
    parser.add_argument("--start", type=date_arg, default=dt.date(2019, 11, 1), help="first date, YYYY-MM-DD (2019-11-01)")
    parser.add_argument("--days", type=int_range(1), default=30, help="number of days, one file each (30)")
    parser.add_argument("--scale", type=positive_float, default=DEFAULT_SCALE,
                        help=f"size relative to the real November file, 1.0 = 67.5M rows a month ({DEFAULT_SCALE})")
    parser.add_argument("--events-per-day", type=int_range(1), help="mean events per day (overrides --scale)")
    parser.add_argument("--users", type=int_range(1), help="number of users (overrides --scale)")
    parser.add_argument("--products", type=int_range(200), help="number of products, at least 200 (overrides --scale)")
    parser.add_argument("--seed", type=int, default=46,
                        help="random seed: the same seed and sizes write the same bytes (46)")
    parser.add_argument("--dup-rate", type=float, default=0.002, help="share of rows written twice, 0 to 0.5 (0.002)")
    parser.add_argument("--remove-from-cart", action="store_true", help="also emit remove_from_cart events")
    parser.add_argument("--compresslevel", type=int_range(0, 3), default=1, help="gzip level 0-3 (ISA-L; 1: fast)")
    parser.add_argument("--workers", type=int_range(1), help="processes generating days in parallel (default: the "
                        "CPU count, at most 2); never more than one per day, and the output does not depend on it")


def run(args) -> int:
    from shopflow.config import get_settings
    from shopflow.errors import UserError

    cfg = GeneratorConfig.from_scale(
        args.scale,
        start=args.start,
        days=args.days,
        events_per_day=args.events_per_day,
        users=args.users,
        products=args.products,
        seed=args.seed,
        dup_rate=args.dup_rate,
        remove_from_cart=args.remove_from_cart,
        compresslevel=args.compresslevel,
    )
    try:
        cfg.validate()
    except ValueError as exc:
        raise UserError(str(exc)) from None
    from shopflow.progress import steps

    with steps("generating", cfg.days, "days") as done:
        # generate() logs a line per day ("YYYY-MM-DD: ...") and then its summary.
        generate(cfg, args.out or get_settings().landing, workers=args.workers,
                 log=lambda text: done(text, advance=int(text[:4].isdigit())))
    return 0
