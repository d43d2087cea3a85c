"""``shopflow load`` and ``shopflow marts`` end to end on DuckDB, in-process."""

from __future__ import annotations

import pytest

from test_warehouse_lake import STORE_DAYS, ev, write_partition

from shopflow.cli import main


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("SHOPFLOW_LAKE", str(tmp_path / "lake"))
    monkeypatch.setenv("SHOPFLOW_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    for day, rows in STORE_DAYS.items():
        write_partition(tmp_path / "lake", day, rows)
    return tmp_path


def test_load_a_range_then_build_and_check_the_marts(home, capsys):
    assert main(["load", "--from", "2019-11-01", "--to", "2019-11-03"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "2019-11-01: 7 rows loaded into duckdb events",
        "2019-11-02: 6 rows loaded into duckdb events",
        "2019-11-03: 3 rows loaded into duckdb events",
    ]
    assert main(["marts", "--date", "2019-11-03", "--window-days", "3"]) == 0
    out = capsys.readouterr().out
    assert "mart_daily_funnel: 6 rows" in out  # 3 dates x 2 scopes
    assert "mart_period_summary: 2 rows" in out
    assert "check unique_events: pass" in out
    assert (home / "warehouse.duckdb").exists()


def test_a_failed_check_exits_1_naming_the_check_and_date(home, capsys):
    rows = STORE_DAYS["2019-11-01"] + [STORE_DAYS["2019-11-01"][0]]  # one event twice
    write_partition(home / "lake", "2019-11-01", rows)
    assert main(["load", "--date", "2019-11-01"]) == 0
    assert main(["marts", "--date", "2019-11-01", "--skip-checks"]) == 0
    assert main(["marts", "--date", "2019-11-01"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("shopflow marts: check unique_events failed for 2019-11-01: 1 violating rows")


def test_marts_checks_every_date_the_run_builds(home, capsys):
    """A date loaded but never built (here 11-01, with an event twice) is built by the next run
    and checked by it: before, `shopflow marts --date 2019-11-02` checked 11-02 only and passed."""
    rows = STORE_DAYS["2019-11-01"] + [STORE_DAYS["2019-11-01"][0]]
    write_partition(home / "lake", "2019-11-01", rows)
    assert main(["load", "--from", "2019-11-01", "--to", "2019-11-02"]) == 0
    assert main(["marts", "--date", "2019-11-02"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("shopflow marts: check unique_events failed for 2019-11-01: 1 violating rows")
    assert "failed for 2019-11-02" not in err
    # Once 11-01 is repaired and reloaded, the next run rebuilds and checks it again, and passes.
    write_partition(home / "lake", "2019-11-01", STORE_DAYS["2019-11-01"])
    assert main(["load", "--date", "2019-11-01"]) == 0
    assert main(["marts", "--date", "2019-11-02"]) == 0
    out = capsys.readouterr().out
    assert "check unique_events: pass" in out
    assert "checks also passed for 2019-11-01 (built by this run)" in out


def test_load_reports_a_missing_manifest(home, capsys):
    write_partition(home / "lake", "2019-11-04", [ev("2019-11-04 10:00:00", "view", 1, 1, "s")], write_manifest=False)
    assert main(["load", "--date", "2019-11-04"]) == 2
    assert capsys.readouterr().err == (
        f"shopflow load: the lake {home / 'lake'} has no partition for 2019-11-04: "
        "build it first (shopflow clean --date D, or --from/--to)\n"
    )


def test_load_arguments_are_checked(home, capsys):
    assert main(["load", "--from", "2019-11-01"]) == 2
    assert capsys.readouterr().err == "shopflow load: --from needs --to\n"
    assert main(["load", "--date", "2019-11-01", "--from", "2019-11-01"]) == 2
    assert capsys.readouterr().err == (
        "shopflow load: argument --from: not allowed with argument --date (see `shopflow load --help`)\n"
    )
    assert main(["load", "--date", "Nov 1"]) == 2
    assert capsys.readouterr().err == (
        "shopflow load: argument --date: 'Nov 1' is not a date: write YYYY-MM-DD, e.g. 2019-11-01"
        " (see `shopflow load --help`)\n"
    )


def test_marts_before_any_load_is_a_clear_error(home, capsys):
    assert main(["marts", "--date", "2019-11-01"]) == 2
    assert capsys.readouterr().err == (
        "shopflow marts: the warehouse has no events table yet: run `shopflow load` for a date first\n"
    )
