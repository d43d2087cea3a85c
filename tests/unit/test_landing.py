"""``shopflow land``: rows conserved, bad lines rejected with reasons, layouts handled."""

from __future__ import annotations

import csv
import gzip

import pytest

from shopflow import cli
from shopflow.landing import LandingError, land

HEADER = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
# Lines in the public file's format (values made up for the tests).
A1 = "2019-11-01 00:00:00 UTC,view,1003461,2053013555631882655,electronics.smartphone,xiaomi,489.07,520088904,4d3b30da-a5e4-49df-b1a8-ba5943f1dd33"
A2 = "2019-11-01 23:59:59 UTC,purchase,5000088,2053013566100866035,appliances.sewing_machine,janome,293.65,530496790,8e5f4f83-366c-4f70-860e-ca7417414283"
B1 = "2019-11-02 00:00:01 UTC,cart,17302664,2053013553853497655,,creed,28.31,561587266,755422e7-9040-477b-9bd2-6a6e8fd97387"
B2 = "2019-11-02 10:15:00 UTC,view,3601530,2053013563810775923,appliances.kitchen.washer,lg,712.87,518085591,3bfb58cd-7892-48cc-8020-2f17e6de6e7f"
FLOAT_ID = "2019-11-02 10:15:02 UTC,view,5802432.0,2053013563810775923,,,12.00,518085591.0,3bfb58cd-7892-48cc-8020-2f17e6de6e7f"
TRUNCATED = "2019-11-02 11:00:00 UTC,view,1003461,20530135556"
BAD_DATE = "2019-11-31 00:00:00 UTC,view,1003461,2053013555631882655,,,1.00,520088904,4d3b30da-a5e4-49df-b1a8-ba5943f1dd33"
NOT_A_DATE = "yesterday,view,1003461,2053013555631882655,,,1.00,520088904,4d3b30da-a5e4-49df-b1a8-ba5943f1dd33"


def day_lines(out, day):
    with gzip.open(out / f"{day}.csv.gz", "rt") as fh:
        return fh.read().splitlines()


def write(path, lines, gz=False, end="\n"):
    text = end.join(lines) + end
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def quiet(*_):
    pass


def test_splits_by_day_keeping_lines_and_rejecting_with_reasons(tmp_path):
    src = write(tmp_path / "2019-Nov.csv", [HEADER, A1, B1, A2, FLOAT_ID, B2, "", BAD_DATE, NOT_A_DATE, TRUNCATED])
    report = land(src, tmp_path / "landing", log=quiet)

    assert report.header == "header"
    assert report.rows_in == 9
    assert (report.rows_landed, report.rows_rejected) == (5, 4)
    assert report.per_day == {"2019-11-01": 2, "2019-11-02": 3}
    assert report.rejected_by_reason == {"empty_line": 1, "unparseable_date": 2, "wrong_column_count": 1}
    # Every landed line is byte-identical, in input order, under the public header.
    assert day_lines(tmp_path / "landing", "2019-11-01") == [HEADER, A1, A2]
    assert day_lines(tmp_path / "landing", "2019-11-02") == [HEADER, B1, FLOAT_ID, B2]
    with open(report.rejects_file, newline="") as fh:
        rejects = list(csv.reader(fh))
    assert rejects == [
        ["line_number", "reason", "line"],
        ["7", "empty_line", ""],
        ["8", "unparseable_date", BAD_DATE],
        ["9", "unparseable_date", NOT_A_DATE],
        ["10", "wrong_column_count", TRUNCATED],
    ]


def test_gzip_input_crlf_and_rerun_replaces(tmp_path):
    src = write(tmp_path / "export.csv.gz", [HEADER, A1, B1], gz=True, end="\r\n")
    out = tmp_path / "landing"
    first = land(src, out, log=quiet)
    second = land(src, out, log=quiet)
    assert first.per_day == second.per_day == {"2019-11-01": 1, "2019-11-02": 1}
    assert day_lines(out, "2019-11-02") == [HEADER, B1]  # replaced, not appended
    assert sorted(p.name for p in out.iterdir()) == ["2019-11-01.csv.gz", "2019-11-02.csv.gz"]


@pytest.mark.parametrize("index_header", ["", "Unnamed: 0"])
def test_leading_index_column_is_dropped_and_said(tmp_path, index_header):
    said = []
    lines = [f"{index_header},{HEADER}", f"0,{A1}", f"1,{B1}", "2,2019-11-02 11:00:00 UTC,view"]
    report = land(write(tmp_path / "pandas.csv", lines), tmp_path / "landing", log=said.append)
    assert report.header == "index_column"
    assert "index column" in said[0]
    assert day_lines(tmp_path / "landing", "2019-11-01") == [HEADER, A1]
    assert (report.rows_in, report.rows_landed, report.rejected_by_reason) == (3, 2, {"wrong_column_count": 1})


def test_file_without_header_keeps_its_first_line(tmp_path):
    said = []
    report = land(write(tmp_path / "part.csv", [A1, B1]), tmp_path / "landing", log=said.append)
    assert report.header == "no_header"
    assert "no header" in said[0]
    assert report.rows_in == 2 and report.per_day == {"2019-11-01": 1, "2019-11-02": 1}


def test_unknown_header_is_a_clear_error(tmp_path):
    src = write(tmp_path / "other.csv", ["time,type,product", "1,2,3"])
    with pytest.raises(LandingError, match="unknown layout: the first line 'time,type,product'"):
        land(src, tmp_path / "landing", log=quiet)
    assert not (tmp_path / "landing").exists() or not any((tmp_path / "landing").iterdir())


def test_quoted_fields_are_counted_as_csv(tmp_path):
    quoted = '2019-11-01 01:00:00 UTC,view,1,2053013555631882655,,"brand, inc",1.00,520088904,4d3b30da-a5e4-49df-b1a8-ba5943f1dd33'
    report = land(write(tmp_path / "q.csv", [HEADER, quoted]), tmp_path / "landing", log=quiet)
    assert report.rows_landed == 1
    assert day_lines(tmp_path / "landing", "2019-11-01") == [HEADER, quoted]


def test_cli_reports_rows_per_day_and_fails_clearly(tmp_path, capsys):
    src = write(tmp_path / "m.csv", [HEADER, A1, B1, TRUNCATED])
    assert cli.main(["land", str(src), "--out", str(tmp_path / "landing")]) == 0
    printed = capsys.readouterr().out
    assert "2019-11-01: 1 rows" in printed
    assert "3 rows in = 2 landed + 1 rejected" in printed
    bad = write(tmp_path / "bad.csv", ["a,b,c"])
    assert cli.main(["land", str(bad), "--out", str(tmp_path / "landing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("shopflow land: unknown layout: the first line 'a,b,c' is neither the REES46 header")
    assert err.count("\n") == 1
