"""Split a real monthly export into daily landing files.

``shopflow land SRC`` streams SRC (CSV or CSV.gz, e.g. the public ``2019-Nov.csv``) once and
writes ``landing/YYYY-MM-DD.csv.gz`` with the public header and every line of that date,
byte for byte (only a trailing carriage return is dropped). Lines it cannot place go to
``landing/rejects/<source>.rejects.csv`` with their line number and a reason:

* ``wrong_column_count``: not 9 fields (a truncated last line, a stray fragment);
* ``unparseable_date``: the first field does not start with a valid ``YYYY-MM-DD`` date;
* ``empty_line``: nothing on the line.

rows in = rows landed + rows rejected, always; the command fails otherwise. Header handling
is explicit and reported: the public header is expected; a leading index column (a pandas
export: ``,event_time,...`` or ``Unnamed: 0,event_time,...``) is recognised and dropped from
every line; a file without a header is recognised when its first line is an event; any
other first line is an error. Damage inside a line (bad times, negative prices) is left to
the Spark job, which quarantines it with a reason.

Ids written as floats by pandas (``5802432.0``, ``1.4875800092865987e+18``) are detected in
the first rows and reported. With ``repair_float_ids`` (``--repair-float-ids``) every
product, category and user id written as an integral float is restored exactly
(``5802432.0`` -> ``5802432``); a float above 2**53 has lost digits and cannot be restored: a
category id is then set to null (empty), a product or user id is left as written (the job
quarantines the row). Each repair is counted per column and date in the report and in
``D.repairs.json`` beside the landing file, which the cleaning job copies into the date's
manifest. Without the switch such rows are quarantined as ``non_integer_id``.

Each daily file is written to a temporary name and renamed when complete, so a failed run
leaves earlier landing files intact; rerunning replaces the days the source holds.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from shopflow.errors import UserError
from shopflow.schema import RAW_COLUMNS, RAW_HEADER

N_FIELDS = len(RAW_COLUMNS)
_DATE = re.compile(rb"^\d{4}-\d{2}-\d{2}$")
_EVENT_START = re.compile(rb'^"?\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}')
_INDEX_NAMES = {b"", b"unnamed: 0", b"index", b"id", b"_c0"}
FLUSH_LINES = 20_000
PROGRESS_LINES = 100_000
#: Fields holding ids, by position in the 9 public columns.
ID_FIELDS = {2: "product_id", 3: "category_id", 7: "user_id"}
_FLOAT_TEXT = re.compile(rb"^\d+(?:\.\d*)?(?:[eE][+-]?\d+)?$")
#: Floats are exact integers up to 2**53; a float id above it may have lost digits.
EXACT_FLOAT_LIMIT = 2**53
#: Rows looked at for float ids when they are not being repaired.
DETECT_ROWS = 1000
REPAIR_SWITCH = "--repair-float-ids"


class LandingError(UserError, ValueError):
    """The source cannot be landed as it is; the message says why and what was expected."""


@dataclass
class LandReport:
    source: str
    header: str  # "header", "no_header", "index_column", "index_column_no_header"
    rows_in: int = 0
    rows_landed: int = 0
    rows_rejected: int = 0
    per_day: dict = field(default_factory=dict)
    rejected_by_reason: dict = field(default_factory=dict)
    rejects_file: str | None = None
    seconds: float = 0.0
    #: None, "detected" (float ids seen in the first rows, not repaired) or "repaired".
    float_ids: str | None = None
    float_id_example: str | None = None
    #: Repairs per kind: product_id, category_id, user_id (restored), category_id_nulled.
    repairs: dict = field(default_factory=dict)
    repairs_per_day: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _open_source(path: Path, stack: contextlib.ExitStack):
    """(lines, a function giving the bytes of ``path`` read so far): gzip is read through."""
    from isal import igzip

    raw = stack.enter_context(open(path, "rb", buffering=1 << 20))
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        return stack.enter_context(igzip.IGzipFile(fileobj=raw, mode="rb")), raw.tell
    return raw, raw.tell


def _fields(line: bytes) -> list[bytes]:
    if b'"' not in line:
        return line.split(b",")
    row = next(csv.reader([line.decode("utf-8", "replace")]))
    return [f.encode() for f in row]


def detect_layout(first_line: bytes) -> tuple[str, bool]:
    """Return (layout, first line is data) for a source's first line, or raise LandingError."""
    fields = [f.strip().lower() for f in _fields(first_line)]
    expected = [c.encode() for c in RAW_COLUMNS]
    if fields == expected:
        return "header", False
    if len(fields) == N_FIELDS + 1 and fields[1:] == expected and fields[0] in _INDEX_NAMES:
        return "index_column", False
    if _EVENT_START.match(first_line) and len(fields) == N_FIELDS:
        return "no_header", True
    if len(fields) == N_FIELDS + 1 and fields[0].isdigit() and _EVENT_START.match(fields[1]):
        return "index_column_no_header", True
    found = first_line[:120].decode("utf-8", "replace")
    raise LandingError(
        f"unknown layout: the first line {found!r} is neither the REES46 header ({RAW_HEADER}), "
        "that header after an index column, nor an event; export the 9 columns in that order"
    )


class _DayWriters:
    """One gzip writer per date, written under a temporary name and renamed on commit."""

    def __init__(self, out: Path, compresslevel: int):
        self.out = out
        self.level = compresslevel
        self.files: dict[str, tuple] = {}
        self.buffers: dict[str, list[bytes]] = {}

    def add(self, day: str, line: bytes) -> None:
        buf = self.buffers.get(day)
        if buf is None:
            buf = self.buffers[day] = []
        buf.append(line)
        if len(buf) >= FLUSH_LINES:
            self._flush(day)

    def _flush(self, day: str) -> None:
        from isal import igzip

        buf = self.buffers[day]
        if not buf:
            return
        if day not in self.files:
            if len(self.files) >= 1000:
                raise LandingError("the source spans more than 1000 dates; split it first")
            tmp = self.out / f".{day}.csv.gz.tmp-{os.getpid()}"
            raw = open(tmp, "wb")
            gz = igzip.IGzipFile(filename="", mode="wb", fileobj=raw, compresslevel=self.level, mtime=0)
            gz.write((RAW_HEADER + "\n").encode())
            self.files[day] = (tmp, raw, gz)
        gz = self.files[day][2]
        buf.append(b"")
        gz.write(b"\n".join(buf))
        buf.clear()

    def commit(self) -> list[Path]:
        for day in list(self.buffers):
            self._flush(day)
        written = []
        for day, (tmp, raw, gz) in sorted(self.files.items()):
            gz.close()
            raw.close()
            final = self.out / f"{day}.csv.gz"
            os.replace(tmp, final)
            written.append(final)
        self.files.clear()
        return written

    def abort(self) -> None:
        for tmp, raw, gz in self.files.values():
            try:
                gz.close()
                raw.close()
            finally:
                Path(tmp).unlink(missing_ok=True)
        self.files.clear()


def float_id(text: bytes) -> bool:
    """Whether an id field is written as a float (``5802432.0``, ``1.48758e+18``)."""
    return (b"." in text or b"e" in text or b"E" in text) and bool(_FLOAT_TEXT.match(text))


def repair_id(text: bytes, nullable: bool) -> tuple[bytes, str | None]:
    """(the id as an integer, what was done) for a float-written id; the text unchanged and
    None when it is not an integral float, or lost precision and is not ``nullable``."""
    from decimal import Decimal, InvalidOperation

    if not float_id(text):
        return text, None
    try:
        value = Decimal(text.decode("ascii"))
    except (InvalidOperation, UnicodeDecodeError):  # pragma: no cover - the pattern is stricter
        return text, None
    if value != value.to_integral_value():
        return text, None
    number = int(value)
    if number > EXACT_FLOAT_LIMIT:
        return (b"", "nulled") if nullable else (text, None)
    return str(number).encode(), "restored"


def _repair_line(line: bytes, counts: dict) -> bytes:
    """``line`` with its float-written ids repaired; ``counts`` gets one per repair."""
    quoted = b'"' in line
    fields = _fields(line) if quoted else line.split(b",")
    changed = False
    for index, name in ID_FIELDS.items():
        fixed, done = repair_id(fields[index], nullable=name == "category_id")
        if done is not None:
            fields[index] = fixed
            key = name if done == "restored" else f"{name}_nulled"
            counts[key] = counts.get(key, 0) + 1
            changed = True
    if not changed:
        return line
    if not quoted:
        return b",".join(fields)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([f.decode("utf-8", "replace") for f in fields])
    return buffer.getvalue().encode()


def _float_fields(line: bytes) -> list[bytes]:
    fields = _fields(line) if b'"' in line else line.split(b",")
    return [fields[i] for i in ID_FIELDS if float_id(fields[i])]


def check_source(source: str | Path) -> Path:
    """``source`` as a Path if it is a file; a LandingError naming the problem otherwise."""
    source = Path(source)
    if not source.exists():
        raise LandingError(f"{source}: no such file; check the path of the export")
    if not source.is_file():
        raise LandingError(f"{source} is not a file; give the path of one CSV or CSV.gz export")
    if source.stat().st_size == 0:
        raise LandingError(f"{source}: the file is empty; nothing to land")
    return source


def land(
    source: str | Path, out: str | Path, compresslevel: int = 1, log=print, repair_float_ids: bool = False,
    progress=None,
) -> LandReport:
    """Split ``source`` into ``out/YYYY-MM-DD.csv.gz``; return the row accounting.

    With ``repair_float_ids``, ids written as floats are repaired (see the module doc).
    ``progress(bytes_read, rows_read)`` is called every PROGRESS_LINES lines and at the end."""
    source = check_source(source)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rejects_dir = out / "rejects"
    rejects_path = rejects_dir / f"{source.name.split('.')[0]}.rejects.csv"
    writers = _DayWriters(out, compresslevel)
    reject_buf = io.StringIO()
    reject_writer = csv.writer(reject_buf, lineterminator="\n")
    reject_writer.writerow(["line_number", "reason", "line"])
    dates: dict[bytes, str | None] = {}

    with contextlib.ExitStack() as stack:
        fh, position = _open_source(source, stack)
        first = fh.readline()
        if not first:
            raise LandingError(f"{source}: the file is empty; nothing to land")
        layout, first_is_data = detect_layout(first.rstrip(b"\r\n"))
        report = LandReport(source=str(source), header=layout)
        if layout != "header":
            log(f"{source.name}: {_LAYOUT_NOTE[layout]}")
        strip_index = layout.startswith("index_column")
        lines = _chain([first] if first_is_data else [], fh)
        line_no = 1 if first_is_data else 2
        per_day = report.per_day
        rejected = report.rejected_by_reason
        repairs: dict[str, dict] = {}
        try:
            for raw_line in lines:
                line = raw_line.rstrip(b"\n").rstrip(b"\r")
                report.rows_in += 1
                if strip_index and line:
                    comma = line.find(b",")
                    line = line[comma + 1:] if comma >= 0 else b""
                reason = None
                if not line.strip():
                    reason = "empty_line"
                elif (line.count(b",") + 1 if b'"' not in line else len(_fields(line))) != N_FIELDS:
                    reason = "wrong_column_count"
                else:
                    prefix = line[1:11] if line[:1] == b'"' else line[:10]
                    day = dates.get(prefix, False)
                    if day is False:
                        day = dates[prefix] = _parse_date(prefix)
                    if day is None:
                        reason = "unparseable_date"
                if reason is None:
                    if repair_float_ids:
                        counts = repairs.get(day)
                        if counts is None:
                            counts = repairs[day] = {}
                        line = _repair_line(line, counts)
                    elif report.rows_landed < DETECT_ROWS and report.float_ids is None:
                        floats = _float_fields(line)
                        if floats:
                            report.float_ids = "detected"
                            report.float_id_example = floats[0].decode("ascii", "replace")
                    writers.add(day, line)
                    per_day[day] = per_day.get(day, 0) + 1
                    report.rows_landed += 1
                else:
                    rejected[reason] = rejected.get(reason, 0) + 1
                    report.rows_rejected += 1
                    reject_writer.writerow([line_no, reason, raw_line.rstrip(b"\r\n").decode("utf-8", "replace")])
                line_no += 1
                if progress is not None and line_no % PROGRESS_LINES == 0:
                    progress(position(), report.rows_in)
        except BaseException:
            writers.abort()
            raise

    if progress is not None:
        progress(source.stat().st_size, report.rows_in)
    if report.rows_in != report.rows_landed + report.rows_rejected:  # pragma: no cover - invariant
        writers.abort()
        raise LandingError(f"row accounting broke: {report.rows_in} in != {report.rows_landed} + {report.rows_rejected}")
    written = writers.commit()
    for path in written:
        day = path.name[:10]
        sidecar = out / f"{day}.repairs.json"
        counts = {k: v for k, v in sorted(repairs.get(day, {}).items()) if v}
        if counts:
            sidecar.write_text(json.dumps(counts, indent=2) + "\n")
            report.repairs_per_day[day] = counts
            for key, n in counts.items():
                report.repairs[key] = report.repairs.get(key, 0) + n
        else:
            sidecar.unlink(missing_ok=True)  # left by an earlier landing of this date
    if repair_float_ids:
        report.float_ids = "repaired" if report.repairs else None
    elif report.float_ids:
        log(f"{source.name}: ids written as floats (e.g. {report.float_id_example}): the cleaning job will "
            f"quarantine those rows as non_integer_id; land again with {REPAIR_SWITCH} to restore them")
    if report.rows_rejected:
        rejects_dir.mkdir(exist_ok=True)
        rejects_path.write_text(reject_buf.getvalue())
        report.rejects_file = str(rejects_path)
    report.per_day = dict(sorted(per_day.items()))
    report.seconds = round(time.perf_counter() - started, 3)
    return report


_LAYOUT_NOTE = {
    "no_header": "no header line; the first line is treated as an event",
    "index_column": "a leading index column was found; it is dropped from every line",
    "index_column_no_header": "no header line and a leading index column; the column is dropped from every line",
}


def _chain(head: list[bytes], rest):
    yield from head
    yield from rest


def _parse_date(prefix: bytes) -> str | None:
    if not _DATE.match(prefix):
        return None
    try:
        return dt.date.fromisoformat(prefix.decode()).isoformat()
    except ValueError:
        return None


def add_arguments(parser) -> None:
    from shopflow.errors import int_range

    parser.add_argument("source", metavar="SRC", help="a monthly export, CSV or CSV.gz (e.g. 2019-Nov.csv)")
    parser.add_argument("--out", help="landing folder (default: $SHOPFLOW_HOME/landing)")
    parser.add_argument("--compresslevel", type=int_range(0, 3), default=1, help="gzip level 0-3 (ISA-L; default 1)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(REPAIR_SWITCH, action="store_true", dest="repair_float_ids",
                        help="restore ids written as floats by pandas (5802432.0 -> 5802432); a category id "
                             "above 2**53 lost digits and is set to null; each repair is counted")


def run(args) -> int:
    from shopflow.config import get_settings

    from shopflow.dates import date_range, describe
    from shopflow.progress import bytes_and_rows

    out = args.out or get_settings().landing
    source = check_source(args.source)
    if args.json:
        report = land(source, out, compresslevel=args.compresslevel, repair_float_ids=args.repair_float_ids,
                      log=lambda text: print(text, file=sys.stderr))
    else:
        with bytes_and_rows("landing", source.stat().st_size) as update:
            report = land(source, out, compresslevel=args.compresslevel, repair_float_ids=args.repair_float_ids,
                          progress=update)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    for day, n in report.per_day.items():
        print(f"{day}: {n:,} rows")
    print(
        f"{report.rows_in:,} rows in = {report.rows_landed:,} landed + {report.rows_rejected:,} rejected"
        f" ({report.seconds:.1f} s) -> {out}"
    )
    if report.rows_rejected:
        reasons = ", ".join(f"{k}: {v:,}" for k, v in sorted(report.rejected_by_reason.items()))
        print(f"rejected ({reasons}) -> {report.rejects_file}")
    if report.repairs:
        print("float ids repaired: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(report.repairs.items())))
    if report.per_day:
        days = list(report.per_day)
        gaps = sorted(set(d.isoformat() for d in date_range(days[0], days[-1])) - set(days))
        if gaps:
            print(f"no rows for {describe(gaps)} (between the first and the last date of the export)")
    return 0
