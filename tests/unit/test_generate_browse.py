"""Browsing in generated sessions: a view can move to a neighbour of the previous product (same
category, mostly the same brand at a nearby price), as real shoppers' next views do."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from shopflow import generate as g


def test_follow_previous_by_hand():
    # products 0..4: category 0, 0, 0, 1, 1; brand 2, 1, 1, 0, 0; price 10, 30, 20, 5, 6.
    # Sorted by (category, brand, price): category 0 -> 2, 1, 0 (places 0..2); category 1 -> 3, 4.
    catalog = SimpleNamespace(product_category=np.array([0, 0, 0, 1, 1]), product_brand=np.array([2, 1, 1, 0, 0]),
                              product_price=np.array([10.0, 30.0, 20.0, 5.0, 6.0]), n_categories=2)
    product = np.array([0, 4, 4, 1, 3, 3, 0])
    position = np.array([0, 1, 2, 3, 4, 0, 1])
    fresh = np.array([1, 1, 0, 1, 1, 1, 1], dtype=bool)
    browse = np.array([0, 1, 0, 0, 1, 0, 1], dtype=bool)
    step = np.array([1, 1, 1, 1, -2, 1, 1])
    out = g._follow_previous(catalog, product, position, fresh, browse, step)
    # session 1: 0; browse +1 from place 2 leaves category 0, reflected to place 1 -> 1; re-view -> 1;
    # a fresh draw keeps its 1; browse -2 from place 1 is out both ways, clipped to place 2 -> 0.
    # session 2: 3; browse +1 from place 3 -> place 4 -> 4
    assert out.tolist() == [0, 1, 1, 1, 0, 3, 4]


def _same_brand_share(monkeypatch, browse_share: float) -> float:
    monkeypatch.setattr(g, "BROWSE_SHARE", browse_share)
    cfg = g.GeneratorConfig.from_scale(0.002, days=1, seed=5)
    catalog = g.build_catalog(cfg)
    people = g.build_population(cfg, catalog)
    ev = g.simulate_day(cfg, catalog, people, cfg.dates[0], 1.0)
    views = np.flatnonzero(ev.event == g.VIEW)
    order = views[np.lexsort((ev.second[views], ev.session[views]))]
    same_session = ev.session[order][1:] == ev.session[order][:-1]
    a, b = ev.product[order][:-1][same_session], ev.product[order][1:][same_session]
    distinct = a != b
    brand_a, brand_b = catalog.product_brand[a[distinct]], catalog.product_brand[b[distinct]]
    branded = (brand_a >= 0) & (brand_b >= 0)
    return float((brand_a[branded] == brand_b[branded]).mean())


def test_browsing_makes_next_views_share_the_brand(monkeypatch):
    default = g.BROWSE_SHARE
    assert default == 0.5
    with_browsing = _same_brand_share(monkeypatch, default)
    without = _same_brand_share(monkeypatch, 0.0)
    # half the fresh views are neighbours in (category, brand, price) order: far more stay in
    # the brand than when every view is drawn anew from the category
    assert with_browsing > without + 0.1
