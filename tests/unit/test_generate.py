"""The synthetic event log: exact format, determinism, and the planted structure.

The files are read back with the csv module and checked against the public file's format
and against the targets stated in shopflow.generate's docstring, with stated tolerances.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import gzip
import re

import numpy as np
import pytest

from shopflow import generate as gen
from shopflow.schema import RAW_COLUMNS

MONTH = gen.GeneratorConfig(
    start=dt.date(2019, 11, 1), days=30, events_per_day=4_000, users=3_000, products=1_500, seed=7, dup_rate=0.004
)

TIME_RE = re.compile(r"^2019-11-(\d\d) (\d\d):(\d\d):(\d\d) UTC$")
PRICE_RE = re.compile(r"^\d+\.\d\d$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
CODE_RE = re.compile(r"^[a-z_]+(\.[a-z_]+){0,2}$")


def read_rows(folder):
    rows = []
    for path in sorted(folder.glob("2019-*.csv.gz")):
        with gzip.open(path, "rt", newline="") as fh:
            reader = csv.reader(fh)
            assert next(reader) == list(RAW_COLUMNS), path
            rows.extend(reader)
    return rows


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    out = tmp_path_factory.mktemp("month")
    summary = gen.generate(MONTH, out, workers=2, log=lambda *_: None)
    return out, summary, read_rows(out)


def share(rows, predicate):
    return sum(1 for r in rows if predicate(r)) / len(rows)


def test_one_file_per_day_in_the_public_format(month):
    out, summary, rows = month
    assert sorted(p.name for p in out.glob("*.csv.gz")) == [f"2019-11-{d:02d}.csv.gz" for d in range(1, 31)]
    assert len(rows) == summary["rows"]
    for r in rows:
        assert len(r) == 9
        assert TIME_RE.match(r[0]), r
        assert r[1] in ("view", "cart", "purchase")
        assert r[2].isdigit() and 1_000_000 <= int(r[2]) < 100_000_000
        assert r[3].isdigit() and len(r[3]) == 19
        assert r[4] == "" or CODE_RE.match(r[4]), r[4]
        assert r[5] == "" or r[5] == r[5].lower()
        assert PRICE_RE.match(r[6]), r[6]
        assert r[7].isdigit() and 512_000_000 <= int(r[7]) < 600_000_000
        assert UUID_RE.match(r[8]), r[8]


def test_rows_are_in_time_order_within_each_file(month):
    out, _, _ = month
    with gzip.open(out / "2019-11-05.csv.gz", "rt") as fh:
        times = [line.split(",", 1)[0] for line in fh.readlines()[1:]]
    assert times == sorted(times)
    assert all(t.startswith("2019-11-05 ") for t in times)


def test_same_seed_same_bytes_whatever_the_workers(tmp_path):
    cfg = gen.GeneratorConfig(days=3, events_per_day=2_000, users=800, products=1_000, seed=11)
    gen.generate(cfg, tmp_path / "a", workers=1, log=lambda *_: None)
    gen.generate(cfg, tmp_path / "b", workers=2, log=lambda *_: None)
    gen.generate(gen.GeneratorConfig(**{**cfg.__dict__, "seed": 12}), tmp_path / "c", workers=1, log=lambda *_: None)
    for day in ("2019-11-01", "2019-11-02", "2019-11-03"):
        a = (tmp_path / "a" / f"{day}.csv.gz").read_bytes()
        assert a == (tmp_path / "b" / f"{day}.csv.gz").read_bytes()
        assert a != (tmp_path / "c" / f"{day}.csv.gz").read_bytes()


def test_event_mix_and_null_rates_near_the_real_file(month):
    _, _, rows = month
    # Targets from REFERENCE.md: view ~94%, cart ~4.5%, purchase ~1.4%; empty category_code
    # in about a third of rows, empty brand in about 14%.
    assert share(rows, lambda r: r[1] == "view") == pytest.approx(0.94, abs=0.012)
    assert share(rows, lambda r: r[1] == "cart") == pytest.approx(0.045, abs=0.008)
    assert share(rows, lambda r: r[1] == "purchase") == pytest.approx(0.014, abs=0.004)
    assert share(rows, lambda r: r[4] == "") == pytest.approx(1 / 3, abs=0.07)
    assert share(rows, lambda r: r[5] == "") == pytest.approx(0.14, abs=0.04)


def test_hour_profile_peaks_between_06_and_15_utc(month):
    _, _, rows = month
    hours = collections.Counter(int(r[0][11:13]) for r in rows)
    day_share = sum(hours[h] for h in range(6, 16)) / len(rows)
    assert day_share > 0.55  # 10 of 24 hours carry over half of the traffic
    assert max(hours, key=hours.get) in range(6, 16)
    assert min(hours, key=hours.get) in (0, 1, 2, 22, 23)


def test_busiest_days_are_the_mid_month_weekend(month):
    _, _, rows = month
    per_day = collections.Counter(r[0][:10] for r in rows)
    top_two = {d for d, _ in per_day.most_common(2)}
    assert top_two == {"2019-11-16", "2019-11-17"}  # a Saturday and a Sunday
    purchases = collections.Counter(dt.date.fromisoformat(r[0][:10]).weekday() for r in rows if r[1] == "purchase")
    days_of = collections.Counter(dt.date(2019, 11, d).weekday() for d in range(1, 31))
    per_weekday = {w: purchases[w] / days_of[w] for w in range(7)}
    assert max(per_weekday, key=per_weekday.get) in (5, 6)  # most purchases at the weekend


def test_day_factors_keep_the_monthly_total():
    dates = [dt.date(2019, 11, 1) + dt.timedelta(days=i) for i in range(30)]
    f = gen.day_factors(dates)
    assert f.mean() == pytest.approx(1.0)
    # Saturday 16 and Sunday 17 November get the weekend boost (1.35) on top of the weekday cycle.
    assert f[15] / f[8] == pytest.approx(1.35)  # Sat 16 vs Sat 9
    assert f[16] / f[9] == pytest.approx(1.35)  # Sun 17 vs Sun 10


def test_scale_one_is_the_real_november_file():
    cfg = gen.GeneratorConfig.from_scale(1.0)
    assert cfg.events_per_day * cfg.days == 67_500_000
    assert (cfg.users, cfg.products) == (3_700_000, 190_000)
    assert gen.GeneratorConfig.from_scale(0.5, users=10).users == 10


def test_sessions_run_view_then_cart_then_purchase(month):
    _, _, rows = month
    seen: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    purchases_per_session = collections.Counter()
    for r in rows:
        session, kind, product = r[8], r[1], r[2]
        if kind == "cart":
            assert ("view", product) in seen[session], "a cart without an earlier view"
        if kind == "purchase":
            assert ("cart", product) in seen[session], "a purchase without an earlier cart"
            purchases_per_session[session] += 1
        seen[session].append((kind, product))
    sizes = [len(v) for v in seen.values()]
    assert 3.5 < np.mean(sizes) < 6.5  # several events per session
    assert max(purchases_per_session.values()) >= 2  # several purchases in one session happen


def test_exact_duplicates_at_the_configured_rate(month):
    _, _, rows = month
    keys = collections.Counter(tuple(r) for r in rows)
    duplicates = sum(n - 1 for n in keys.values())
    # dup_rate 0.004 of ~120k rows: about 480 extra copies.
    assert duplicates == pytest.approx(0.004 * len(rows), rel=0.25)


def test_remove_from_cart_is_an_option(tmp_path):
    cfg = gen.GeneratorConfig(days=1, events_per_day=20_000, users=2_000, products=1_000, remove_from_cart=True)
    gen.generate(cfg, tmp_path, workers=1, log=lambda *_: None)
    rows = read_rows(tmp_path)
    carts = collections.defaultdict(set)
    removes = 0
    for r in rows:
        if r[1] == "cart":
            carts[r[8]].add(r[2])
        if r[1] == "remove_from_cart":
            removes += 1
            assert r[2] in carts[r[8]], "a remove without an earlier cart"
    assert removes > 0


def test_catalogue_taxonomy_and_brands():
    catalog = gen.build_catalog(gen.GeneratorConfig.from_scale(1.0))
    codes = [c for c in catalog.category_code if c]
    assert len(set(codes)) >= 100
    assert {code.count(".") + 1 for code in codes} == {1, 2, 3}
    assert catalog.n_products == 190_000
    brands_in_use = set(catalog.product_brand[catalog.product_brand >= 0].tolist())
    assert len(brands_in_use) >= 1_000
    # A brand is tied to the categories of one top level.
    for c, brands in catalog.category_brands().items():
        assert {catalog.brand_group[b] for b in brands} == {catalog.category_group[c]}
    # Prices are lognormal per category: smartphones cost far more than socks.
    def median_price(code):
        c = catalog.category_code.index(code)
        return np.median(catalog.product_price[catalog.category_first[c]:catalog.category_last[c]])

    assert median_price("electronics.smartphone") > 10 * median_price("apparel.sock")


def test_product_popularity_is_long_tailed(month):
    _, _, rows = month
    views = collections.Counter(r[2] for r in rows if r[1] == "view")
    counts = sorted(views.values(), reverse=True)
    top_1pct = sum(counts[: max(1, len(counts) // 100)]) / sum(counts)
    assert top_1pct > 0.10  # uniform popularity would give 1%


def test_purchases_concentrate_in_the_planted_categories(month):
    _, _, rows = month
    catalog = gen.build_catalog(MONTH)
    people = gen.build_population(MONTH, catalog)
    category_of_product = dict(zip(catalog.product_id.tolist(), catalog.product_category.tolist()))
    purchases = [(int(r[7]), category_of_product[int(r[2])]) for r in rows if r[1] == "purchase"]
    planted = people.planted_categories(sorted({u for u, _ in purchases}))
    category_share = collections.Counter(c for _, c in purchases)
    total = len(purchases)
    hits = sum(1 for u, c in purchases if c in planted[u])
    # By chance a purchase falls in the user's three categories with probability equal to
    # those categories' share of all purchases.
    chance = sum(sum(category_share[c] for c in planted[u]) / total for u, _ in purchases)
    assert hits / total > 0.75
    assert hits / chance > 3
