"""The generator's own count of duplicate rows per event type equals a count on its CSV."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from shopflow import generate as gen


def test_duplicates_per_type_match_the_written_lines(tmp_path):
    cfg = gen.GeneratorConfig(start=dt.date(2019, 11, 1), days=2, events_per_day=3_000, users=500,
                              products=400, seed=5, dup_rate=0.05)
    summary = gen.generate(cfg, tmp_path, workers=1, log=lambda *_: None)
    saved = json.loads((tmp_path / "_generator.json").read_text())
    for day in ("2019-11-01", "2019-11-02"):
        lines = pd.read_csv(tmp_path / f"{day}.csv.gz", dtype=str, keep_default_na=False)
        repeated = lines[lines.duplicated(keep="first")]
        expected = repeated["event_type"].value_counts().to_dict()
        got = summary["days"][day]["duplicates"]
        assert {k: v for k, v in got.items() if v} == expected
        assert sum(got.values()) > 100  # 5% of about 3,000 rows: the check is not vacuous
        assert saved["days"][day]["duplicates"] == got
