"""Progress: land reports bytes and rows as it reads; the bars print their final state when
there is no terminal, and nothing when the work fails before its first step."""

from __future__ import annotations

import pytest

from test_landing import A1, A2, B1, HEADER, write

from shopflow import landing
from shopflow.progress import bytes_and_rows, steps


def test_land_reports_bytes_and_rows_read(tmp_path, monkeypatch):
    monkeypatch.setattr(landing, "PROGRESS_LINES", 2)
    src = write(tmp_path / "m.csv", [HEADER, A1, A2, B1, B1])
    calls = []
    landing.land(src, tmp_path / "landing", log=lambda *_: None, progress=lambda done, rows: calls.append((done, rows)))
    size = src.stat().st_size
    # After file lines 3 and 5 (the next line number is even: rows 2 and 4), then at the end.
    assert [rows for _, rows in calls] == [2, 4, 4]
    assert calls[-1] == (size, 4)
    assert all(0 < done <= size for done, _ in calls)


def test_a_bar_prints_its_final_state_without_a_terminal(capsys):
    with steps("generating", 3, "days") as done:
        for day in ("2019-11-01", "2019-11-02", "2019-11-03"):
            done(f"{day}: 10 rows")
    err = capsys.readouterr().err
    assert "generating" in err and "3/3 days" in err


def test_no_bar_when_the_work_fails_before_its_first_step(capsys):
    with pytest.raises(ValueError):
        with bytes_and_rows("landing", 100):
            raise ValueError("unknown layout")
    assert capsys.readouterr().err == ""
