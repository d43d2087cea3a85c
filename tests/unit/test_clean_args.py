"""The pure-Python side of the cleaning job: arguments, and the "is the lake current" check."""

from __future__ import annotations

import argparse
import datetime as dt
import json

import pytest

from shopflow import clean

ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2 test vector


def test_job_arguments_for_a_day_and_a_range():
    assert clean.job_arguments("2019-11-01", "/l", "gs://b/lake") == [
        "--date", "2019-11-01", "--landing", "/l", "--lake", "gs://b/lake"
    ]
    assert clean.job_arguments((dt.date(2019, 11, 1), "2019-11-07"), "/l", "/k") == [
        "--from", "2019-11-01", "--to", "2019-11-07", "--landing", "/l", "--lake", "/k"
    ]
    with pytest.raises(ValueError):
        clean.job_arguments(("2019-11-01",), "/l", "/k")


def _parse(argv):
    parser = argparse.ArgumentParser()
    clean.add_job_arguments(parser, landing=None, lake=None)
    return clean.dates_from_args(parser, parser.parse_args(argv))


def test_the_job_parses_what_job_arguments_writes():
    assert _parse(clean.job_arguments(("2019-11-30", "2019-12-01"), "/l", "/k")) == [
        dt.date(2019, 11, 30), dt.date(2019, 12, 1)
    ]
    assert _parse(clean.job_arguments("2019-11-05", "/l", "/k")) == [dt.date(2019, 11, 5)]


@pytest.mark.parametrize(
    "argv",
    [
        ["--from", "2019-11-01", "--landing", "/l", "--lake", "/k"],
        ["--date", "2019-11-01", "--to", "2019-11-02", "--landing", "/l", "--lake", "/k"],
        ["--date", "2019-11-01", "--from", "2019-11-01", "--landing", "/l", "--lake", "/k"],
        ["--date", "1 Nov", "--landing", "/l", "--lake", "/k"],
        ["--date", "2019-11-01", "--landing", "/l"],
    ],
)
def test_bad_argument_combinations_exit_with_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        _parse(argv)
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_slices_per_day():
    # One day on 2 cores: 8 tasks (4 per core); a week: the memory bound (90 MB of gzip a day).
    assert clean.slices_per_day(cores=2, days=1, largest_file_bytes=90 << 20) == 8
    assert clean.slices_per_day(cores=2, days=7, largest_file_bytes=90 << 20) == 3
    assert clean.slices_per_day(cores=2, days=30, largest_file_bytes=1 << 20) == 1
    assert clean.slices_per_day(cores=64, days=1, largest_file_bytes=1 << 20) == 8


@pytest.fixture
def lake_for(tmp_path):
    """A landing file holding b'abc' and a built partition whose manifest records ``sha``."""

    def make(sha=ABC_SHA256, version=clean.JOB_VERSION, suffix=".csv.gz", partition=True):
        landing, lake = tmp_path / "landing", tmp_path / "lake"
        landing.mkdir(exist_ok=True)
        (landing / f"2019-11-01{suffix}").write_bytes(b"abc")
        (lake / "manifests").mkdir(parents=True, exist_ok=True)
        (lake / "manifests" / "2019-11-01.json").write_text(json.dumps({"source_sha256": sha, "job_version": version}))
        if partition:
            (lake / "events" / "event_date=2019-11-01").mkdir(parents=True, exist_ok=True)
        return str(landing), str(lake)

    return make


def test_lake_partition_current_when_source_and_code_match(lake_for):
    assert clean.lake_partition_current(*lake_for(), "2019-11-01") is True
    assert clean.lake_partition_current(*lake_for(suffix=".csv"), dt.date(2019, 11, 1)) is True


@pytest.mark.parametrize(
    "change",
    [
        {"sha": "0" * 64},  # the landing file changed
        {"version": "0"},  # the cleaning code changed
        {"partition": False},  # the events partition is gone
    ],
)
def test_lake_partition_not_current(lake_for, change):
    assert clean.lake_partition_current(*lake_for(**change), "2019-11-01") is False


def test_lake_partition_not_current_without_a_readable_manifest_or_landing_file(lake_for, tmp_path):
    landing, lake = lake_for()
    assert clean.lake_partition_current(landing, lake, "2019-11-02") is False
    (tmp_path / "lake" / "manifests" / "2019-11-01.json").write_text("{not json")
    assert clean.lake_partition_current(landing, lake, "2019-11-01") is False
    assert clean.lake_partition_current("gs://bucket/landing", "gs://bucket/lake", "2019-11-01") is False


def test_importing_clean_stays_light():
    import subprocess
    import sys

    code = "import sys, shopflow.clean; print(sorted(m for m in ('pyspark', 'pandas', 'duckdb') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
