"""`make demo DATA=...` (``shopflow demo --data``) on damaged exports as they are met in the wild
(issue 14), built here from a small generated sample:

* a pandas export that skips a day, with its leading index column and a truncated last line;
* an export without a header line, with ids written as floats, ending in an empty line,
  demoed with ``--repair-float-ids``.

Each goes through the demo as a user runs it (landing, the Spark job, the daily runs; training
is skipped, it does not read the export) and ends with every row accounted for. The float-id
export without the switch is tests/e2e/test_pipeline.py::test_a_date_whose_every_row_is_quarantined_fails_its_run.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

from shopflow import cli, generate

SAMPLE = generate.GeneratorConfig(
    start=dt.date(2019, 11, 1), days=3, events_per_day=1_500, users=600, products=400, seed=9, dup_rate=0.0
)
DAYS = ["2019-11-01", "2019-11-02", "2019-11-03"]


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> dict[str, list[list[str]]]:
    """The generated rows of each day (header first)."""
    folder = tmp_path_factory.mktemp("sample")
    generate.generate(SAMPLE, folder, workers=1, log=lambda *_: None)
    out = {}
    for day in DAYS:
        with gzip.open(folder / f"{day}.csv.gz", "rt", newline="") as fh:
            out[day] = list(csv.reader(fh))
    return out


def demo(monkeypatch, home: Path, *argv: str, capsys) -> tuple[int, str]:
    monkeypatch.setenv("SHOPFLOW_HOME", str(home))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow.db'}")
    home.mkdir(parents=True, exist_ok=True)
    rc = cli.main(["demo", *argv, "--skip-training"])
    return rc, capsys.readouterr().out


def warehouse_counts(home: Path) -> dict[str, int]:
    from shopflow.config import get_settings
    from shopflow.warehouse.duckdb import DuckDBWarehouse

    with DuckDBWarehouse(get_settings(), path=home / "warehouse.duckdb") as wh:
        events = wh.query("select cast(event_date as varchar) as d, count(*) as n from events group by 1")
        funnel = wh.query("select count(*) as n from mart_daily_funnel where scope = 'all'").iloc[0]["n"]
        checked = wh.query("select cast(run_date as varchar) as d, count(*) as n from dq_results "
                           "where status = 'pass' group by 1")
    return {**dict(zip(events["d"], events["n"].astype(int))), "funnel_days": int(funnel),
            "passed_checks": dict(zip(checked["d"], checked["n"].astype(int)))}


def manifest(home: Path, day: str) -> dict:
    return json.loads((home / "lake" / "manifests" / f"{day}.json").read_text())


def test_a_pandas_export_that_skips_a_day_and_ends_mid_line(tmp_path, monkeypatch, capsys, rows):
    header, first, third = rows[DAYS[0]][0], rows[DAYS[0]][1:], rows[DAYS[2]][1:]
    export = tmp_path / "sample.csv"
    with export.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["", *header])  # pandas' unnamed index column
        for i, row in enumerate(first + third):
            writer.writerow([i, *row])
    # the last line cut off after its brand: no price, user or session (and no newline)
    text = export.read_text()
    last = text.rstrip("\n").rsplit("\n", 1)[1]
    export.write_text(text[: len(text) - len(last) - 1] + ",".join(last.split(",")[:7]))
    home = tmp_path / "home"

    rc, out = demo(monkeypatch, home, "--data", str(export), capsys=capsys)

    assert rc == 0, out
    n_in = len(first) + len(third)
    assert f"{n_in:,} rows in = {n_in - 1:,} landed + 1 rejected" in out
    assert "no rows for 2019-11-02: those dates are skipped" in out
    rejects = (home / "landing" / "rejects").glob("*.rejects.csv")
    assert [r.split(",")[1] for p in rejects for r in p.read_text().splitlines()[1:]] == ["wrong_column_count"]
    # the two dates with rows are in the lake and the warehouse, each row accounted for
    counts = warehouse_counts(home)
    for day, landed in ((DAYS[0], len(first)), (DAYS[2], len(third) - 1)):
        m = manifest(home, day)
        assert m["rows_in"] == landed
        assert m["rows_in"] == m["rows_valid"] + m["duplicates_dropped"] + m["rows_quarantined"]
        assert m["rows_quarantined"] == 0 and counts[day] == m["rows_valid"]
    assert DAYS[1] not in counts and counts["funnel_days"] == 2
    # the demo builds both dates in its last run, and checks both (not only the last)
    from shopflow.marts import CHECKS

    assert counts["passed_checks"] == {DAYS[0]: len(CHECKS), DAYS[2]: len(CHECKS)}


def test_a_headerless_export_with_float_ids_repaired(tmp_path, monkeypatch, capsys, rows):
    header = rows[DAYS[0]][0]
    ids = [header.index(c) for c in ("product_id", "category_id", "user_id")]
    day_rows = [row for day in DAYS[:2] for row in rows[day][1:]]
    export = tmp_path / "sample.csv"
    with export.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        for row in day_rows:
            writer.writerow([f"{v}.0" if i in ids and v else v for i, v in enumerate(row)])
        fh.write("\n")  # an empty last row
    home = tmp_path / "home"

    rc, out = demo(monkeypatch, home, "--data", str(export), "--repair-float-ids", capsys=capsys)

    assert rc == 0, out
    n_in = len(day_rows) + 1
    assert f"{n_in:,} rows in = {len(day_rows):,} landed + 1 rejected" in out
    n_product = sum(1 for r in day_rows if r[ids[0]])
    assert f"product_id: {n_product:,}" in out
    counts = warehouse_counts(home)
    for day in DAYS[:2]:
        m = manifest(home, day)
        assert m["rows_quarantined"] == 0, m["quarantined_by_reason"]
        assert m["rows_in"] == len(rows[day]) - 1 == m["rows_valid"] + m["duplicates_dropped"]
        assert counts[day] == m["rows_valid"]
    # the ids are the generated ones, exactly
    from shopflow.config import get_settings
    from shopflow.warehouse.duckdb import DuckDBWarehouse

    with DuckDBWarehouse(get_settings(), path=home / "warehouse.duckdb") as wh:
        got = wh.query("select sum(product_id) as p, sum(user_id) as u from events").iloc[0]
    distinct = {tuple(r) for r in day_rows}
    assert int(got["p"]) == sum(int(r[ids[0]]) for r in distinct)
    assert int(got["u"]) == sum(int(r[ids[2]]) for r in distinct)


def test_shopflow_clean_reports_each_date_and_keeps_sparks_log(tmp_path, monkeypatch, capsys, rows):
    # `shopflow clean` runs the demo's job path: a line per date as the job writes it, Spark's
    # own output in SHOPFLOW_HOME/logs/ rather than on the terminal, a range's missing date named.
    home, landing, lake = tmp_path / "home", tmp_path / "landing", tmp_path / "lake"
    landing.mkdir()
    for day in (DAYS[0], DAYS[2]):
        with gzip.open(landing / f"{day}.csv.gz", "wt", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows[day])
    monkeypatch.setenv("SHOPFLOW_HOME", str(home))

    rc = cli.main(["clean", "--from", DAYS[0], "--to", DAYS[2], "--landing", str(landing), "--lake", str(lake)])

    captured = capsys.readouterr()
    out, progress = captured.out, captured.err  # the bar and its lines go to stderr
    assert rc == 0, out
    log = home / "logs" / f"clean-{DAYS[0]}-{DAYS[2]}.log"
    assert f"2 dates cleaned into {lake} (Spark log: {log})" in out
    assert "no landing file for 2019-11-02: skipped" in out
    for day in (DAYS[0], DAYS[2]):
        n = len(rows[day]) - 1
        assert f"{day}: {n:,} rows in, {n:,} valid, 0 duplicates, 0 quarantined" in progress
        assert manifest(tmp_path, day)["rows_valid"] == n
    assert "SparkContext" in log.read_text() and "SparkContext" not in out + progress
