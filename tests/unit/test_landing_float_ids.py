"""Exports written by pandas: ids as floats, an index column, no header, a truncated last line,
an empty last row. ``land`` says so; ``--repair-float-ids`` restores integral ids exactly and
nulls a category id that lost precision, counting every repair."""

from __future__ import annotations

import json

import pytest

from test_landing import HEADER, day_lines, write

from shopflow import cli
from shopflow.landing import land, repair_id

S = "3bfb58cd-7892-48cc-8020-2f17e6de6e7f"
# The first line as pandas writes the cosmetics export with float ids and its index column.
P1 = f"0,2019-12-01 00:00:00 UTC,remove_from_cart,5712790.0,1.4875800052684562e+18,,f.o.x,6.27,576802932.0,{S}"
P2 = f"1,2019-12-01 00:00:05 UTC,view,5764655.0,2053013.0,,cnd,29.05,412120092.0,{S}"
P3 = f"2,2019-12-31 23:59:57 UTC,view,5635090.0,1.4875800057549955e+18,,,4.44,420652863.0,{S}"
TRUNC = "3,2019-12-31 23:59:58 UTC,view,563"


@pytest.mark.parametrize("text, nullable, expected", [
    (b"5802432.0", False, (b"5802432", "restored")),
    (b"5802432.", False, (b"5802432", "restored")),
    (b"5.802432e+06", False, (b"5802432", "restored")),
    (b"9007199254740992.0", False, (b"9007199254740992", "restored")),  # 2**53: still exact
    (b"1.4875800092865987e+18", True, (b"", "nulled")),
    (b"1.4875800092865987e+18", False, (b"1.4875800092865987e+18", None)),  # a product id: not guessed
    (b"5.5", False, (b"5.5", None)),  # not integral: left for the quarantine
    (b"5802432", False, (b"5802432", None)),  # already an integer
    (b"-5.0", False, (b"-5.0", None)),
    (b"", True, (b"", None)),
])
def test_repair_id(text, nullable, expected):
    assert repair_id(text, nullable) == expected


def test_float_ids_are_detected_and_left_alone_without_the_switch(tmp_path):
    said = []
    src = write(tmp_path / "dec.csv", ["," + HEADER, P1, P2, P3, TRUNC, ""], end="\n")
    report = land(src, tmp_path / "landing", log=said.append)
    assert report.header == "index_column"
    assert (report.rows_in, report.rows_landed, report.rows_rejected) == (5, 3, 2)
    assert report.rejected_by_reason == {"wrong_column_count": 1, "empty_line": 1}
    assert (report.float_ids, report.float_id_example, report.repairs) == ("detected", "5712790.0", {})
    assert said[-1] == (
        "dec.csv: ids written as floats (e.g. 5712790.0): the cleaning job will quarantine those rows as "
        "non_integer_id; land again with --repair-float-ids to restore them"
    )
    assert day_lines(tmp_path / "landing", "2019-12-01")[1] == P1[2:]
    assert not (tmp_path / "landing" / "2019-12-01.repairs.json").exists()


def test_the_switch_repairs_and_counts_per_date(tmp_path):
    src = write(tmp_path / "dec.csv", [P1[2:], P2[2:], P3[2:], TRUNC[2:]])  # no header, no index column
    report = land(src, tmp_path / "landing", log=lambda *_: None, repair_float_ids=True)
    assert report.header == "no_header"
    assert report.float_ids == "repaired"
    assert day_lines(tmp_path / "landing", "2019-12-01") == [
        HEADER,
        f"2019-12-01 00:00:00 UTC,remove_from_cart,5712790,,,f.o.x,6.27,576802932,{S}",
        f"2019-12-01 00:00:05 UTC,view,5764655,2053013,,cnd,29.05,412120092,{S}",
    ]
    assert day_lines(tmp_path / "landing", "2019-12-31") == [
        HEADER, f"2019-12-31 23:59:57 UTC,view,5635090,,,,4.44,420652863,{S}"
    ]
    assert report.repairs_per_day == {
        "2019-12-01": {"category_id": 1, "category_id_nulled": 1, "product_id": 2, "user_id": 2},
        "2019-12-31": {"category_id_nulled": 1, "product_id": 1, "user_id": 1},
    }
    assert report.repairs == {"category_id": 1, "category_id_nulled": 2, "product_id": 3, "user_id": 3}
    assert json.loads((tmp_path / "landing" / "2019-12-31.repairs.json").read_text()) == {
        "category_id_nulled": 1, "product_id": 1, "user_id": 1
    }
    # Landing a clean export of the same date again drops the stale repair record.
    clean = write(tmp_path / "clean.csv", [HEADER, f"2019-12-31 23:59:57 UTC,view,5635090,,,,4.44,420652863,{S}"])
    assert land(clean, tmp_path / "landing", log=lambda *_: None, repair_float_ids=True).repairs == {}
    assert not (tmp_path / "landing" / "2019-12-31.repairs.json").exists()


def test_a_quoted_line_keeps_its_quoting(tmp_path):
    line = f'2019-12-01 00:00:00 UTC,view,5712790.0,2053013.0,,"brand, inc",6.27,576802932.0,{S}'
    report = land(write(tmp_path / "q.csv", [HEADER, line]), tmp_path / "landing", log=lambda *_: None,
                  repair_float_ids=True)
    assert report.repairs == {"category_id": 1, "product_id": 1, "user_id": 1}
    assert day_lines(tmp_path / "landing", "2019-12-01")[1] == (
        f'2019-12-01 00:00:00 UTC,view,5712790,2053013,,"brand, inc",6.27,576802932,{S}'
    )


def test_cli_says_what_it_repaired(tmp_path, capsys):
    src = write(tmp_path / "dec.csv", ["," + HEADER, P1, P3])
    assert cli.main(["land", str(src), "--out", str(tmp_path / "landing"), "--repair-float-ids"]) == 0
    out = capsys.readouterr().out
    assert "float ids repaired: category_id_nulled: 2, product_id: 2, user_id: 2" in out
