"""The cleaning job's glue: landing files -> lake partitions, quarantine and manifests.

``extract`` reads the landing files of one date or a range as raw lines, ``transform`` runs
the pure functions of :mod:`shopflow.transforms` on them, and ``load`` writes everything in
one Spark job to a per-run staging folder, checks the row accounting against the files, then
swaps each date's partition into place. docs/clean.md has the rules, the layout and the
atomicity each filesystem gives.

DAG files import this module (``job_arguments``, ``lake_partition_current``): nothing heavy
is imported at module level.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import functools
import hashlib
import json
import logging
import operator
import os
import uuid
from pathlib import Path
from typing import Iterable, Sequence

from shopflow.config import is_remote, join
from shopflow.dates import as_date, date_range, describe
from shopflow.schema import QUARANTINE_REASONS

log = logging.getLogger(__name__)

#: Bump when the cleaning rules or the output layout change: partitions built by another
#: version are no longer "current", and the daily DAG rebuilds them.
JOB_VERSION = "2"

#: Landing file names of a date, the first that exists wins.
LANDING_SUFFIXES = (".csv.gz", ".csv")

#: Staged rows are partitioned by this column (the partition date) so that event_date itself
#: stays inside the Parquet files; the swap renames ``_d=D`` folders to ``event_date=D``.
_DIR_COLUMN = "_d"

#: About this much gzip input (roughly 800k rows) per output slice at most, so that the sort
#: of one task fits in a small driver's memory.
_GZIP_BYTES_PER_SLICE = 32 << 20


class AccountingError(RuntimeError):
    """Rows in != valid + duplicates + quarantined, or the written files disagree with the counts."""


# ---------------------------------------------------------------------------------------------
# Dates, paths and arguments (pure Python: used by DAG files and the CLI)


def _absolute(path: str) -> str:
    return str(path).rstrip("/") if is_remote(path) else os.path.abspath(path)


def local_landing_file(landing: str, day: str | dt.date) -> Path | None:
    """The landing file of ``day`` in a local folder (``D.csv.gz``, else ``D.csv``), or None."""
    for suffix in LANDING_SUFFIXES:
        path = Path(landing) / f"{as_date(day)}{suffix}"
        if path.is_file():
            return path
    return None


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_path(lake: str, day: str | dt.date) -> str:
    """Where the manifest of ``day`` lives in the lake."""
    return join(lake, "manifests", f"{as_date(day)}.json")


def partition_path(lake: str, day: str | dt.date) -> str:
    """Where the events partition of ``day`` lives in the lake."""
    return join(lake, "events", f"event_date={as_date(day)}")


def lake_partition_current(landing: str, lake: str, day: str | dt.date) -> bool:
    """Whether the lake partition of ``day`` was built from the current landing file by this code.

    True when the manifest and the events partition exist, and the manifest's job_version and
    source_sha256 match :data:`JOB_VERSION` and the landing file's bytes. Always False for
    gs:// locations (no cloud client here): the job then simply rebuilds the partition.
    """
    if is_remote(landing) or is_remote(lake):
        return False
    source = local_landing_file(landing, day)
    manifest = Path(manifest_path(lake, day))
    partition = Path(partition_path(lake, day))
    if source is None or not manifest.is_file() or not partition.is_dir():
        return False
    try:
        recorded = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(recorded, dict):
        return False
    return recorded.get("job_version") == JOB_VERSION and recorded.get("source_sha256") == sha256_file(source)


def job_arguments(day_or_range, landing: str, lake: str, dates: Sequence | None = None) -> list[str]:
    """Application arguments of ``jobs/clean_events.py`` for a date, an inclusive (start, end)
    range, or (with ``dates``, and ``day_or_range`` None) exactly the dates listed."""
    if dates is not None:
        listed = ["--dates", ",".join(sorted(as_date(d).isoformat() for d in dates))]
        return [*listed, "--landing", str(landing), "--lake", str(lake)]
    if isinstance(day_or_range, (tuple, list)):
        if len(day_or_range) != 2:
            raise ValueError(f"a date range is (start, end), not {day_or_range!r}")
        days = date_range(*day_or_range)
        dates = ["--from", days[0].isoformat(), "--to", days[-1].isoformat()]
    else:
        dates = ["--date", as_date(day_or_range).isoformat()]
    return [*dates, "--landing", str(landing), "--lake", str(lake)]


def add_job_arguments(parser: argparse.ArgumentParser, landing: str | None, lake: str | None) -> None:
    """The arguments shared by ``jobs/clean_events.py`` and ``shopflow clean``."""
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--date", help="the one date to clean (YYYY-MM-DD); its landing file must exist")
    which.add_argument("--from", dest="start", metavar="START",
                       help="first date of a range (with --to); dates in the range without a landing file "
                            "are listed and skipped")
    which.add_argument("--dates", metavar="D1,D2,...", help="exactly these dates (comma-separated); each must "
                       "have a landing file")
    parser.add_argument("--to", dest="end", metavar="END", help="last date of the range, included")
    parser.add_argument("--landing", default=landing, required=landing is None,
                        help="landing folder or gs:// URI" + (f" (default {landing})" if landing else ""))
    parser.add_argument("--lake", default=lake, required=lake is None,
                        help="lake folder or gs:// URI" + (f" (default {lake})" if lake else ""))


def dates_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[dt.date]:
    """The dates named by ``--date``, ``--dates`` or ``--from``/``--to``; bad combinations
    exit via ``parser.error``."""
    try:
        if args.date or getattr(args, "dates", None):
            if args.end:
                parser.error("--to goes with --from, not with --date or --dates")
            if args.date:
                return [as_date(args.date)]
            return sorted({as_date(d) for d in args.dates.split(",") if d.strip()})
        if not args.end:
            parser.error("--from needs --to")
        return date_range(args.start, args.end)
    except ValueError as exc:
        parser.error(str(exc))


# ---------------------------------------------------------------------------------------------
# Filesystem access through Hadoop (local paths and gs:// alike)


class HadoopFs:
    """The few filesystem operations the job needs, through the JVM's Hadoop FileSystem.

    The same calls work on local disk, HDFS and gs:// (with the GCS connector, as on Dataproc).
    """

    def __init__(self, spark, root: str):
        self._jvm = spark._jvm
        self._fs = self._path(root).getFileSystem(spark._jsc.hadoopConfiguration())

    def _path(self, path: str):
        return self._jvm.org.apache.hadoop.fs.Path(path)

    def exists(self, path: str) -> bool:
        return bool(self._fs.exists(self._path(path)))

    def is_file(self, path: str) -> bool:
        return bool(self._fs.isFile(self._path(path)))

    def size(self, path: str) -> int:
        return int(self._fs.getFileStatus(self._path(path)).getLen())

    def delete(self, path: str) -> None:
        if self.exists(path):
            self._fs.delete(self._path(path), True)

    def delete_if_empty(self, path: str) -> None:
        if self.exists(path) and len(self._fs.listStatus(self._path(path))) == 0:
            self._fs.delete(self._path(path), False)

    def list_dirs(self, path: str) -> list[str]:
        if not self.exists(path):
            return []
        return sorted(s.getPath().getName() for s in self._fs.listStatus(self._path(path)) if s.isDirectory())

    def move(self, src: str, dst: str) -> None:
        """Rename ``src`` to ``dst``; ``dst`` must not exist (Hadoop would move src *into* it)."""
        if self.exists(dst):
            raise FileExistsError(f"cannot move {src} to {dst}: the target exists")
        parent = self._path(dst).getParent()
        if parent is not None:
            self._fs.mkdirs(parent)
        if not self._fs.rename(self._path(src), self._path(dst)):
            raise OSError(f"rename {src} -> {dst} failed")

    def move_if_exists(self, src: str, dst: str) -> bool:
        if not self.exists(src):
            return False
        self.move(src, dst)
        return True

    def sha256(self, path: str) -> str:
        """SHA-256 of a file, streamed in the JVM: the bytes never cross into Python."""
        jvm = self._jvm
        digest = jvm.java.security.MessageDigest.getInstance("SHA-256")
        stream = jvm.java.security.DigestInputStream(self._fs.open(self._path(path)), digest)
        try:
            sink = jvm.org.apache.commons.io.output.NullOutputStream.INSTANCE
            jvm.org.apache.commons.io.IOUtils.copyLarge(stream, sink)
        finally:
            stream.close()
        return bytes(digest.digest()).hex()

    def read_text(self, path: str) -> str:
        stream = self._fs.open(self._path(path))
        try:
            return bytes(self._jvm.org.apache.commons.io.IOUtils.toByteArray(stream)).decode("utf-8")
        finally:
            stream.close()

    def write_text(self, path: str, text: str) -> None:
        stream = self._fs.create(self._path(path), True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()


# ---------------------------------------------------------------------------------------------
# Extract, transform, load


def resolve_sources(
    fs: HadoopFs, dates: Sequence[dt.date], landing: str, skip_missing: bool = False
) -> dict[dt.date, str]:
    """Map each date to its landing file; fail naming every date that has none (with
    ``skip_missing``, log those dates and fail only when no date has a file)."""
    sources, missing = {}, []
    for day in dates:
        found = [join(landing, f"{day}{s}") for s in LANDING_SUFFIXES if fs.is_file(join(landing, f"{day}{s}"))]
        if not found:
            missing.append(str(day))
            continue
        if len(found) > 1:
            log.warning("%s: both %s exist; using %s", day, " and ".join(found), found[0])
        sources[day] = found[0]
    names = " or ".join(f"D{s}" for s in LANDING_SUFFIXES)
    if missing and (not skip_missing or not sources):
        raise FileNotFoundError(f"no landing file ({names}) in {landing} for {describe(missing)}")
    if missing:
        log.warning("no landing file (%s) in %s for %s: skipped", names, landing, describe(missing))
    return sources


def landing_repairs(fs: HadoopFs, source: str, day: dt.date) -> dict | None:
    """The float-id repairs ``shopflow land --repair-float-ids`` made in ``day``'s landing file
    (``D.repairs.json`` beside it), or None."""
    folder = source.rsplit("/", 1)[0]
    sidecar = join(folder, f"{day}.repairs.json")
    if not fs.is_file(sidecar):
        return None
    try:
        counts = json.loads(fs.read_text(sidecar))
    except ValueError:
        log.warning("%s is not JSON: its repairs are not recorded in the manifest", sidecar)
        return None
    return {str(k): int(v) for k, v in counts.items()} if isinstance(counts, dict) else None


def slices_per_day(cores: int, days: int, largest_file_bytes: int) -> int:
    """How many time slices (so output files) each day is cut into.

    Enough for about four tasks per core over the run (slices are uneven: nights are quiet),
    and enough that no slice holds much more than 32 MiB of gzip input; at most 8 per day.
    """
    for_cores = -(-4 * max(1, cores) // max(1, days))
    for_memory = -(-largest_file_bytes // _GZIP_BYTES_PER_SLICE)
    return max(1, min(8, max(for_cores, for_memory)))


def extract(spark, sources: dict[dt.date, str]) -> dict:
    """The raw lines of each landing file: date -> frame of ``value`` and ``partition_date``.

    Each file's date is a literal on its own scan, so no per-row file-name parsing is needed;
    :func:`transform` unions the scans into one job.
    """
    from pyspark.sql import functions as F

    return {
        day: spark.read.text(path).select("value", F.lit(day).alias("partition_date"))
        for day, path in sources.items()
    }


def transform(lines: dict, slices: int) -> tuple[object, dict]:
    """Raw lines per date -> (the staged frame, an Observation of the lines read per date).

    The staged frame holds every row in its output partition (one of ``slices`` time slices
    of a day), sorted, valid rows parsed and quarantined rows with their reason (see
    :func:`shopflow.transforms.stage`). Header lines are dropped and not counted.
    """
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    from shopflow import transforms

    dates = sorted(lines)
    counted, frames = {}, []
    for day in dates:
        counted[day] = Observation(f"lines {day}")
        frames.append(transforms.drop_header(lines[day]).observe(counted[day], F.count(F.lit(1)).alias("rows")))
    union = functools.reduce(lambda a, b: a.unionByName(b), frames)
    laid_out = transforms.layout(union, dates[0], slices, len(dates) * slices)
    return transforms.sort_for_output(transforms.stage(transforms.validate(laid_out))), counted


def _phase(spark, text: str | None) -> None:
    """Name the Spark jobs that follow (Spark UI, event log; the benchmark reads them)."""
    spark.sparkContext.setJobDescription(f"shopflow-clean: {text}" if text else None)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def _hex64(value: int | None) -> str:
    return f"{(value or 0) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


#: Session settings while the load step runs (the previous values are restored after).
_LOAD_CONF = {
    # Adaptive execution would re-plan the shuffle and hide its partitioning and order from
    # the dedup, which would then shuffle and sort again; partition counts here are explicit.
    "spark.sql.adaptive.enabled": "false",
    # Dedup by streaming over the rows already sorted by the grouping keys: keep that sort
    # (EliminateSorts drops a sort under an aggregate) and aggregate with SortAggregate.
    "spark.sql.optimizer.excludedRules": "org.apache.spark.sql.catalyst.optimizer.EliminateSorts",
    "spark.sql.execution.replaceHashWithSortAgg": "true",
    # A third smaller than snappy for the same CPU; BigQuery and DuckDB read zstd.
    "spark.sql.parquet.compression.codec": "zstd",
}


@contextlib.contextmanager
def _session_conf(spark, settings: dict[str, str]):
    previous = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def _load_conf(spark) -> dict[str, str]:
    settings = dict(_LOAD_CONF)
    # The small aggregations of the count-back need no more partitions than cores.
    settings["spark.sql.shuffle.partitions"] = str(max(1, spark.sparkContext.defaultParallelism))
    excluded = spark.conf.get("spark.sql.optimizer.excludedRules", None)
    if excluded:
        settings["spark.sql.optimizer.excludedRules"] += "," + excluded
    return settings


def load(
    spark, staged, counted: dict, sources: dict[dt.date, str], lake: str, started_at: str | None = None
) -> list[dict]:
    """Write events, quarantine and manifests for every date of ``sources``; return the manifests.

    ``staged`` and ``counted`` come from :func:`transform`. Everything is written under
    ``lake/_staging/<run>`` first and counted back from the files; only when every date's
    accounting holds are the partitions swapped in, one date at a time. If a check fails,
    nothing in the lake changes.
    """
    started_at = started_at or _now()
    lake = _absolute(lake)
    fs = HadoopFs(spark, lake)
    run_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
    staging = join(lake, "_staging", run_id)
    trash = join(lake, "_trash", run_id)
    dates = sorted(sources)
    _recover(fs, lake, dates)
    # Hashing the landing files overlaps the Spark job: for one day, a single task reads the
    # gzip file while the other core would idle.
    landing_fs = HadoopFs(spark, next(iter(sources.values())))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        checksums = pool.submit(lambda: {day: landing_fs.sha256(path) for day, path in sources.items()})
        try:
            with _session_conf(spark, _load_conf(spark)):
                observed = _write_staged(spark, staged, dates, staging)
                rows_in = {day: int(counted[day].get["rows"]) for day in dates}
                manifests = _account(spark, fs, staging, sources, checksums.result(), rows_in, observed, started_at)
            _swap(fs, lake, staging, trash, manifests)
            fs.delete(trash)
        finally:
            _phase(spark, None)
            fs.delete(staging)
            for leftover in ("_staging", "_trash"):
                fs.delete_if_empty(join(lake, leftover))
    return manifests


def _staged_events(staging: str, day) -> str:
    from shopflow.transforms import EVENTS

    return join(staging, "rows", f"kind={EVENTS}", f"{_DIR_COLUMN}={day}")


def _write_staged(spark, staged, dates: list[dt.date], staging: str) -> dict:
    """Run the one job that reads, cleans and writes all rows; return what the dedup saw.

    Valid and quarantined rows are written together under ``staging/rows/kind=.../_d=D``; the
    quarantined rows (few) are then rewritten in their own layout under ``staging/quarantine``.
    """
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    from shopflow import transforms

    _phase(spark, "read, clean, write")
    is_event = F.col("kind") == transforms.EVENTS
    observation = Observation("dedup")
    deduped = transforms.drop_duplicates(staged).observe(
        observation,
        F.count_if(is_event).alias("kept"),
        F.sum(F.when(is_event, F.col("duplicates")).otherwise(0)).alias("dropped"),
        F.bit_xor(F.when(is_event, transforms.row_hash()).otherwise(0)).alias("checksum"),
    )
    # The directory columns are the leading sort keys (partition_date is event_date for valid
    # rows), so the writer finds its rows grouped already and adds no sort of its own.
    rows = transforms.to_events(deduped, "kind", "partition_date").withColumnRenamed("partition_date", _DIR_COLUMN)
    rows.write.partitionBy("kind", _DIR_COLUMN).parquet(join(staging, "rows"))
    observed = {key: int(value or 0) for key, value in observation.get.items()}

    fs = HadoopFs(spark, staging)
    if fs.exists(join(staging, "rows", f"kind={transforms.QUARANTINE}")):
        _phase(spark, "write quarantine")
        written = spark.read.parquet(join(staging, "rows")).where(F.col("kind") == transforms.QUARANTINE)
        quarantine = transforms.unstage_quarantine(written.withColumnRenamed(_DIR_COLUMN, "partition_date"))
        (
            quarantine.withColumn(_DIR_COLUMN, F.col("event_date"))
            .write.partitionBy(_DIR_COLUMN)
            .parquet(join(staging, "quarantine"))
        )
    schema = rows.drop("kind", _DIR_COLUMN).schema
    for day in dates:
        folder = _staged_events(staging, day)
        if not fs.exists(folder):
            # A date without valid rows still gets a partition with the schema (an empty file).
            _phase(spark, f"empty partition {day}")
            spark.createDataFrame([], schema).coalesce(1).write.parquet(folder)
    return observed


def _account(spark, fs, staging, sources, checksums, rows_in, observed, started_at) -> list[dict]:
    """Count the staged files back and build each date's manifest; fail if anything disagrees.

    Three independent counts meet here: the lines read per file (observed on each scan), what
    the dedup saw (rows kept, copies dropped and a checksum over the whole run) and the staged
    files themselves (valid rows and checksum per date, quarantined rows per reason). A date's
    duplicates are its lines read minus its rows written and quarantined; over the run they
    must equal the copies the dedup dropped, and the files must hold what the dedup kept.
    """
    from pyspark.sql import functions as F

    from shopflow import transforms

    _phase(spark, "count back")
    dates = sorted(sources)
    written: dict[dt.date, tuple[int, int, int]] = {}
    events = spark.read.parquet(join(staging, "rows")).where(F.col("kind") == transforms.EVENTS)
    for row in (
        events.groupBy(_DIR_COLUMN)
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.bit_xor(transforms.row_hash()).alias("checksum"),
            F.count_if(F.col("event_date").isNull() | (F.col("event_date") != F.col(_DIR_COLUMN))).alias("misplaced"),
        )
        .collect()
    ):
        written[row[_DIR_COLUMN]] = (row.rows, row.checksum or 0, row.misplaced)

    quarantined: dict[tuple[dt.date, str], int] = {}
    if fs.exists(join(staging, "quarantine")):
        for row in spark.read.parquet(join(staging, "quarantine")).groupBy("event_date", "reason").count().collect():
            quarantined[(row.event_date, row.reason)] = row["count"]

    problems = []
    stray = (set(written) | {d for d, _ in quarantined}) - set(dates)
    if stray:
        problems.append(f"rows written for dates outside the run: {sorted(map(str, stray))}")
    misplaced = {str(d): m for d, (_, _, m) in written.items() if m}
    if misplaced:
        problems.append(f"rows whose event_date is not their partition's: {misplaced}")
    unknown = {r for _, r in quarantined} - set(QUARANTINE_REASONS)
    if unknown:
        problems.append(f"unknown reason codes {sorted(unknown)}")

    finished_at = _now()
    manifests = []
    landing_fs = HadoopFs(spark, sources[dates[0]]) if dates else None
    for day in dates:
        rows_valid, checksum, _ = written.get(day, (0, 0, 0))
        by_reason = {code: quarantined.get((day, code), 0) for code in QUARANTINE_REASONS}
        rows_quarantined = sum(by_reason.values())
        manifest = {
            "event_date": day.isoformat(),
            "source": sources[day],
            "source_sha256": checksums[day],
            "job_version": JOB_VERSION,
            "rows_in": rows_in[day],
            "rows_valid": rows_valid,
            "duplicates_dropped": rows_in[day] - rows_valid - rows_quarantined,
            "rows_quarantined": rows_quarantined,
            "quarantined_by_reason": by_reason,
            "checksum": _hex64(checksum),
            "started_at": started_at,
            "finished_at": finished_at,
        }
        repairs = landing_repairs(landing_fs, sources[day], day)
        if repairs:
            manifest["landing_repairs"] = repairs
        if manifest["duplicates_dropped"] < 0:
            problems.append(
                f"{day}: {rows_in[day]} lines read, but {rows_valid} valid and {rows_quarantined} quarantined rows written"
            )
        manifests.append(manifest)

    kept = sum(m["rows_valid"] for m in manifests)
    dropped = sum(m["duplicates_dropped"] for m in manifests)
    if (kept, dropped) != (observed["kept"], observed["dropped"]):
        problems.append(
            f"the dedup kept {observed['kept']} rows and dropped {observed['dropped']} copies, but the"
            f" files hold {kept} valid rows and the line counts leave {dropped} copies"
        )
    combined = functools.reduce(operator.xor, (c for _, c, _ in written.values()), 0)
    if _hex64(combined) != _hex64(observed["checksum"]):
        problems.append("the valid rows written differ from the rows the dedup kept (checksum)")
    if problems:
        raise AccountingError("row accounting failed, nothing was published: " + "; ".join(problems))
    return manifests


def _partition_paths(root: str, day) -> dict[str, str]:
    return {
        "events": join(root, "events", f"event_date={day}"),
        "quarantine": join(root, "quarantine", f"event_date={day}"),
        "manifest": join(root, "manifests", f"{day}.json"),
    }


def _swap(fs: HadoopFs, lake: str, staging: str, trash: str, manifests: list[dict]) -> None:
    """Replace each date's partition by the staged one, then publish its manifest.

    Per date: the old manifest goes first (no manifest means "not current", so a run killed
    mid-swap gets rebuilt), then the old partition folders move aside to the run's trash, the
    staged ones move in, and the new manifest is written beside and renamed into place. On an
    error the date's previous state is moved back.
    """
    for manifest in manifests:
        day = manifest["event_date"]
        final, old = _partition_paths(lake, day), _partition_paths(trash, day)
        new = {
            "events": _staged_events(staging, day),
            "quarantine": join(staging, "quarantine", f"{_DIR_COLUMN}={day}"),
        }
        moved_aside: list[str] = []
        moved_in: list[str] = []
        try:
            for kind in ("manifest", "events", "quarantine"):
                if fs.move_if_exists(final[kind], old[kind]):
                    moved_aside.append(kind)
            for kind in ("events", "quarantine"):
                if fs.move_if_exists(new[kind], final[kind]):
                    moved_in.append(kind)
            pending = join(staging, "manifests", f"{day}.json")
            fs.write_text(pending, json.dumps(manifest, indent=2) + "\n")
            fs.move(pending, final["manifest"])
        except Exception:
            log.exception("swap of %s failed; restoring its previous partition", day)
            for kind in moved_in:
                fs.delete(final[kind])
            for kind in moved_aside:
                fs.move(old[kind], final[kind])
            raise


def _recover(fs: HadoopFs, lake: str, dates: Iterable[dt.date]) -> None:
    """Put back the previous partition of a date whose swap a killed run left half done.

    A killed run can leave a date's old folders in ``_trash/<run>`` with no events folder in
    place: then the old events, quarantine and manifest move back together. If the new events
    folder did make it in, the old copies are dropped (its missing manifest marks the date as
    not current, and this run rebuilds it anyway).
    """
    trash_root = join(lake, "_trash")
    for run in fs.list_dirs(trash_root):
        for day in dates:
            final, old = _partition_paths(lake, day), _partition_paths(join(trash_root, run), day)
            if fs.exists(old["events"]) and not fs.exists(final["events"]):
                log.warning("restoring the partition of %s that killed run %s left aside", day, run)
                for kind in ("events", "quarantine", "manifest"):
                    if not fs.exists(final[kind]):
                        fs.move_if_exists(old[kind], final[kind])
            for kind in ("events", "quarantine", "manifest"):
                fs.delete(old[kind])
        fs.delete_if_empty(join(trash_root, run, "events"))
        fs.delete_if_empty(join(trash_root, run, "quarantine"))
        fs.delete_if_empty(join(trash_root, run, "manifests"))
        fs.delete_if_empty(join(trash_root, run))


def run_clean(
    spark, dates: Iterable[str | dt.date], landing: str, lake: str, skip_missing: bool = False
) -> list[dict]:
    """Clean ``dates`` in one Spark job: landing files -> lake partitions; return the manifests.

    A date without a landing file is an error, unless ``skip_missing`` (a range: the dates
    that have files are cleaned, the others are logged)."""
    started_at = _now()
    days = sorted({as_date(d) for d in dates})
    if not days:
        raise ValueError("no dates to clean")
    landing, lake = _absolute(landing), _absolute(lake)
    landing_fs = HadoopFs(spark, landing)
    sources = resolve_sources(landing_fs, days, landing, skip_missing)
    slices = slices_per_day(
        spark.sparkContext.defaultParallelism, len(days), max(landing_fs.size(p) for p in sources.values())
    )
    staged, counted = transform(extract(spark, sources), slices)
    return load(spark, staged, counted, sources, lake, started_at)


# ---------------------------------------------------------------------------------------------
# ``shopflow clean``


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from shopflow.config import get_settings

    settings = get_settings()
    add_job_arguments(parser, settings.landing, settings.lake)
    parser.add_argument("--master", default=settings.spark_master, help="Spark master (default %(default)s)")
    parser.set_defaults(_parser=parser)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from shopflow.config import get_settings
    from shopflow.errors import UserError
    from shopflow.pipeline import clean_dates
    from shopflow.progress import spark_job

    dates = dates_from_args(args._parser, args)
    skip_missing = bool(args.start)
    if not is_remote(args.landing):
        # Checked here, before the JVM starts: a missing named date is the user's to fix.
        missing = [d for d in dates if local_landing_file(args.landing, d) is None]
        if missing and (not skip_missing or len(missing) == len(dates)):
            raise UserError(
                f"no landing file in {args.landing} for {describe(missing)}: "
                "land an export there first (shopflow land SRC, or shopflow generate)"
            )
        if missing:
            print(f"no landing file for {describe(missing)}: skipped", flush=True)
            dates = [d for d in dates if d not in set(missing)]
    # The demo's job path: one spark-submit, Spark's own log in SHOPFLOW_HOME/logs/, a progress
    # bar of the job's tasks and a line per date as it is written; a failure is one line
    # naming the job's error and the log.
    settings = dataclasses.replace(get_settings(), landing=args.landing, lake=args.lake, spark_master=args.master)
    with spark_job("Spark", len(dates)) as (on_progress, on_date):
        log_path = clean_dates([d.isoformat() for d in dates], settings, on_date=on_date, on_progress=on_progress,
                               as_range=skip_missing and is_remote(args.landing))
    print(f"{len(dates)} date{'s' if len(dates) != 1 else ''} cleaned into {args.lake} (Spark log: {log_path})")
    return 0
