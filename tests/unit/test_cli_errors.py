"""The CLI's error boundary: a user error is ONE line on stderr and exit code 2, before any
JVM or Airflow starts; an unexpected error keeps its traceback. One or more bad inputs per
subcommand, run in-process through ``shopflow.cli.main``."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from shopflow import cli


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A fresh SHOPFLOW_HOME: no landing files, no lake, an empty warehouse, no models."""
    for name in ("SHOPFLOW_LANDING", "SHOPFLOW_LAKE", "SHOPFLOW_DUCKDB_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SHOPFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path / "home"


@pytest.fixture
def no_jvm(monkeypatch):
    """Fail the test if anything tries to start Spark."""
    import shopflow.spark

    def refuse(*args, **kwargs):
        raise AssertionError("a JVM was started for a user error")

    monkeypatch.setattr(shopflow.spark, "build_session", refuse)


def user_error(capsys, argv) -> str:
    """Run the CLI; assert exit code 2 and one line on stderr; return that line."""
    code = cli.main(argv)
    captured = capsys.readouterr()
    assert code == 2, captured
    assert captured.err.endswith("\n") and captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err
    return captured.err.rstrip("\n")


def test_generate(capsys):
    assert user_error(capsys, ["generate", "--workers", "0"]) == (
        "shopflow generate: argument --workers: 0 is out of range: give a whole number at least 1"
        " (see `shopflow generate --help`)"
    )
    assert user_error(capsys, ["generate", "--days", "ten"]) == (
        "shopflow generate: argument --days: 'ten' is not a whole number (see `shopflow generate --help`)"
    )
    assert user_error(capsys, ["generate", "--dup-rate", "0.7"]) == "shopflow generate: dup rate must be in [0, 0.5)"


def test_land(capsys, tmp_path):
    missing = tmp_path / "2019-Nov.csv"
    assert user_error(capsys, ["land", str(missing)]) == (
        f"shopflow land: {missing}: no such file; check the path of the export"
    )
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert user_error(capsys, ["land", str(empty)]) == f"shopflow land: {empty}: the file is empty; nothing to land"
    assert user_error(capsys, ["land", str(tmp_path)]).startswith(f"shopflow land: {tmp_path} is not a file")


def test_clean_bad_date_and_missing_landing_file_before_the_jvm(capsys, home, no_jvm):
    assert user_error(capsys, ["clean", "--date", "2019-02-30"]) == (
        "shopflow clean: '2019-02-30' is not a date (YYYY-MM-DD) (see `shopflow clean --help`)"
    )
    assert user_error(capsys, ["clean", "--from", "2019-11-01"]) == (
        "shopflow clean: --from needs --to (see `shopflow clean --help`)"
    )
    assert user_error(capsys, ["clean", "--date", "2019-11-01"]) == (
        f"shopflow clean: no landing file in {home / 'landing'} for 2019-11-01: land an export there first"
        " (shopflow land SRC, or shopflow generate)"
    )
    # A range with no landing file at all is an error too; one with some files is not (test_landing_dates).
    assert user_error(capsys, ["clean", "--from", "2019-11-01", "--to", "2019-11-03"]).endswith(
        "for 2019-11-01..2019-11-03: land an export there first (shopflow land SRC, or shopflow generate)"
    )


def test_load(capsys, home):
    assert user_error(capsys, ["load", "--date", "2019-11-31"]) == (
        "shopflow load: argument --date: '2019-11-31' is not a date: write YYYY-MM-DD, e.g. 2019-11-01"
        " (see `shopflow load --help`)"
    )
    assert user_error(capsys, ["load", "--from", "2019-11-03", "--to", "2019-11-01"]) == (
        "shopflow load: date range ends (2019-11-01) before it starts (2019-11-03): give the range in order"
    )
    assert user_error(capsys, ["load", "--from", "2019-11-01", "--to", "2019-11-02"]) == (
        f"shopflow load: the lake {home / 'lake'} has no partition for 2019-11-01..2019-11-02:"
        " build it first (shopflow clean --date D, or --from/--to)"
    )


def test_marts_on_an_empty_warehouse(capsys):
    assert user_error(capsys, ["marts", "--date", "2019-11-01"]) == (
        "shopflow marts: the warehouse has no events table yet: run `shopflow load` for a date first"
    )
    assert user_error(capsys, ["marts", "--date", "2019-11-01", "--window-days", "0"]).startswith(
        "shopflow marts: argument --window-days: 0 is out of range"
    )


def test_train(capsys):
    assert user_error(capsys, ["train", "als", "--alpha", "0"]).startswith(
        "shopflow train: regularization must be >= 0 and alpha > 0: "
    )
    assert user_error(capsys, ["train", "als", "--factors", "thirty"]) == (
        "shopflow train: --factors 'thirty': give whole numbers (comma-separated with --sweep)"
    )
    assert user_error(capsys, ["train", "als", "--alpha", "10,40"]) == "shopflow train: several values for alpha need --sweep"
    assert user_error(capsys, ["train", "content", "--run-date", "yesterday"]).startswith(
        "shopflow train: argument --run-date: 'yesterday' is not a date"
    )
    assert user_error(capsys, ["train", "all"]) == (
        "shopflow train: the warehouse has no events table: load some days first (shopflow load, or make demo)"
    )


def test_recommend(capsys):
    assert user_error(capsys, ["recommend", "--user", "1", "-k", "0"]) == (
        "shopflow recommend: argument -k: 0 is out of range: give a whole number at least 1"
        " (see `shopflow recommend --help`)"
    )
    assert user_error(capsys, ["recommend", "--user", "1"]) == (
        "shopflow recommend: no champion model in the registry: run `shopflow train all` (or make demo) first"
    )


def test_publish(capsys):
    assert user_error(capsys, ["publish", "--run-date", "2019/11/01"]).startswith(
        "shopflow publish: argument --run-date: '2019/11/01' is not a date"
    )
    assert user_error(capsys, ["publish", "--run-date", "2019-11-01"]) == (
        "shopflow publish: no champion model in the registry: run `shopflow train all` (or make demo) first"
    )
    assert user_error(capsys, ["publish", "--batch-users", "0"]).startswith(
        "shopflow publish: argument --batch-users: 0 is out of range"
    )
    assert user_error(capsys, ["publish"]) == (
        "shopflow publish: the warehouse has no events table: load some days first (shopflow load, or make demo)"
    )


def test_report(capsys):
    assert user_error(capsys, ["report", "--as-of", "11/01"]).startswith(
        "shopflow report: argument --as-of: '11/01' is not a date"
    )
    assert user_error(capsys, ["report", "--scope", "everything"]).startswith(
        "shopflow report: argument --scope: invalid choice: 'everything'"
    )


def test_demo_checks_its_arguments_before_starting(capsys, tmp_path, no_jvm):
    missing = tmp_path / "2019-Oct.csv"
    assert user_error(capsys, ["demo", "--data", str(missing)]) == (
        f"shopflow demo: {missing}: no such export; check the path"
    )
    assert user_error(capsys, ["demo", "--days", "0"]).startswith("shopflow demo: argument --days: 0 is out of range")


def test_airflow_checks_dates_before_starting_airflow(capsys, home):
    assert user_error(capsys, ["airflow", "backfill", "--from", "2019-11-05", "--to", "2019-11-01"]) == (
        "shopflow airflow: --to 2019-11-01 is before --from 2019-11-05: give the range in order"
    )
    assert user_error(capsys, ["airflow", "run", "--from", "2019-11-01", "--to", "2019-11-02"]) == (
        f"shopflow airflow: no landing file in {home / 'landing'} for any date of 2019-11-01..2019-11-02:"
        " land an export first (shopflow land SRC)"
    )
    assert user_error(capsys, ["airflow", "mlflow-ui", "--port", "70000"]).startswith(
        "shopflow airflow: argument --port: 70000 is out of range: give a whole number from 1 to 65535"
    )


def test_unknown_command(capsys):
    assert cli.main(["lnad"]) == 2
    assert capsys.readouterr().err.startswith("shopflow: unknown command 'lnad'; the commands are generate, land,")


def test_an_unexpected_error_keeps_its_traceback(monkeypatch):
    import shopflow.marts

    def broken(args):
        raise KeyError("a bug")

    monkeypatch.setattr(shopflow.marts, "run", broken)
    with pytest.raises(KeyError, match="a bug"):
        cli.main(["marts", "--date", "2019-11-01"])


def test_a_subprocess_sees_one_line_and_exit_code_2(tmp_path):
    shopflow = Path(sys.executable).with_name("shopflow")
    proc = subprocess.run([str(shopflow), "clean", "--date", "2019-11-1x"], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "SHOPFLOW_HOME": str(tmp_path)})
    assert proc.returncode == 2
    assert proc.stderr == "shopflow clean: '2019-11-1x' is not a date (YYYY-MM-DD) (see `shopflow clean --help`)\n"


def _actions(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                yield parser.prog, choice
            for sub in action.choices.values():
                yield from _actions(sub)
        elif not isinstance(action, argparse._HelpAction):
            yield parser.prog, action


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_option_has_help(name):
    module = importlib.import_module(cli.COMMANDS[name][0])
    parser = cli._Parser(prog=f"shopflow {name}")
    module.add_arguments(parser)
    undocumented = [f"{prog} {action.dest}" for prog, action in _actions(parser)
                    if not action.help or action.help == argparse.SUPPRESS]
    assert undocumented == []
