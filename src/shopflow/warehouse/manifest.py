"""Lake manifests and the loading contract shared by both warehouse backends.

Loading a date replaces that date's ``events`` partition and records the partition's manifest
(``lake/manifests/YYYY-MM-DD.json``, written by the cleaning job) in two tables, so the dashboard
can show rows in / valid / duplicates / quarantined per reason for every date:

* ``manifests``: one row per event_date (the manifest's fields plus ``rows_loaded``);
* ``manifest_quarantine``: one row per (event_date, reason), every reason of
  ``shopflow.schema.QUARANTINE_REASONS`` present, zeros included.

Both backends read and validate manifests through :func:`read_manifest` here, so a manifest that
breaks the contract fails the load the same way on DuckDB and on BigQuery; :func:`check_slice`
guards ``write_table(..., replace_where=...)`` on both.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any, Callable, Mapping

from shopflow.clean import manifest_path
from shopflow.config import is_remote, validate_identifier
from shopflow.schema import QUARANTINE_REASONS

log = logging.getLogger(__name__)

#: Manifest keys the cleaning job writes (see the Spark job's contract).
MANIFEST_KEYS = (
    "event_date",
    "source",
    "source_sha256",
    "job_version",
    "rows_in",
    "rows_valid",
    "duplicates_dropped",
    "rows_quarantined",
    "quarantined_by_reason",
    "checksum",
    "started_at",
    "finished_at",
)
_COUNT_KEYS = ("rows_in", "rows_valid", "duplicates_dropped", "rows_quarantined")

#: Columns of the ``manifests`` table, with BigQuery types.
MANIFESTS_SCHEMA = (
    ("event_date", "DATE"),
    ("source", "STRING"),
    ("source_sha256", "STRING"),
    ("job_version", "STRING"),
    ("rows_in", "INT64"),
    ("rows_valid", "INT64"),
    ("duplicates_dropped", "INT64"),
    ("rows_quarantined", "INT64"),
    ("checksum", "STRING"),
    ("started_at", "TIMESTAMP"),
    ("finished_at", "TIMESTAMP"),
    ("rows_loaded", "INT64"),
)
#: Columns of the ``manifest_quarantine`` table, with BigQuery types.
MANIFEST_QUARANTINE_SCHEMA = (("event_date", "DATE"), ("reason", "STRING"), ("n_rows", "INT64"))


class LoadError(RuntimeError):
    """A lake partition or its manifest cannot be loaded as it is."""


def _read_text(path: str) -> str:
    if is_remote(path):
        if not path.startswith("gs://"):
            raise LoadError(f"cannot read {path}: only local paths and gs:// are supported")
        from google.api_core.exceptions import NotFound
        from google.cloud import storage

        bucket, _, blob = path[len("gs://") :].partition("/")
        try:
            return storage.Client().bucket(bucket).blob(blob).download_as_text()
        except NotFound:
            raise FileNotFoundError(path) from None
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def read_manifest(lake: str, day: dt.date, reader: Callable[[str], str] | None = None) -> dict:
    """Read and validate the manifest of ``day``; a missing or malformed manifest is a LoadError."""
    path = manifest_path(lake, day)
    try:
        text = (reader or _read_text)(path)
    except FileNotFoundError:
        raise LoadError(
            f"no manifest for {day} at {path}: run the cleaning job for {day} before loading it"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError(f"manifest {path} is not valid JSON: {exc}") from None
    return validate_manifest(data, day, path)


def validate_manifest(data: Any, day: dt.date, where: str = "manifest") -> dict:
    """Check a manifest against the contract and return it with typed fields."""
    if not isinstance(data, Mapping):
        raise LoadError(f"{where}: expected a JSON object, got {type(data).__name__}")
    missing = [key for key in MANIFEST_KEYS if key not in data]
    if missing:
        raise LoadError(f"{where}: missing keys {', '.join(missing)}")
    if str(data["event_date"]) != day.isoformat():
        raise LoadError(f"{where}: event_date is {data['event_date']!r}, expected {day.isoformat()}")
    out = dict(data)
    for key in _COUNT_KEYS:
        out[key] = _count(data[key], f"{where}: {key}")
    by_reason = data["quarantined_by_reason"]
    if not isinstance(by_reason, Mapping):
        raise LoadError(f"{where}: quarantined_by_reason must be an object of reason -> count")
    unknown = sorted(set(by_reason) - set(QUARANTINE_REASONS))
    absent = [r for r in QUARANTINE_REASONS if r not in by_reason]
    if unknown or absent:
        raise LoadError(
            f"{where}: quarantined_by_reason must name every reason exactly"
            + (f"; unknown {unknown}" if unknown else "")
            + (f"; missing {absent}" if absent else "")
        )
    out["quarantined_by_reason"] = {
        r: _count(by_reason[r], f"{where}: quarantined_by_reason[{r}]") for r in QUARANTINE_REASONS
    }
    total = sum(out["quarantined_by_reason"].values())
    if total != out["rows_quarantined"]:
        raise LoadError(
            f"{where}: quarantined_by_reason adds up to {total}, rows_quarantined is {out['rows_quarantined']}"
        )
    for key in ("started_at", "finished_at"):
        out[key] = _timestamp(data[key], f"{where}: {key}")
    out["event_date"] = day
    return out


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LoadError(f"{what} must be a non-negative integer, got {value!r}")
    return value


def _timestamp(value: Any, what: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        stamp = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise LoadError(f"{what} is not an ISO-8601 timestamp: {value!r}") from None
    # Naive timestamps from the job are UTC (the pipeline runs in UTC throughout).
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)


def manifest_frames(manifest: Mapping[str, Any], rows_loaded: int):
    """The ``manifests`` row and the ``manifest_quarantine`` rows of one validated manifest."""
    import pandas as pd

    row = {name: manifest.get(name) for name, _ in MANIFESTS_SCHEMA if name != "rows_loaded"}
    row["rows_loaded"] = int(rows_loaded)
    for key in ("source", "source_sha256", "job_version", "checksum"):
        row[key] = None if row[key] is None else str(row[key])
    manifests = pd.DataFrame([row], columns=[name for name, _ in MANIFESTS_SCHEMA])
    for key in ("started_at", "finished_at"):
        manifests[key] = pd.to_datetime(manifests[key], utc=True)
    for key in (*_COUNT_KEYS, "rows_loaded"):
        manifests[key] = manifests[key].astype("int64")
    quarantine = pd.DataFrame(
        {
            "event_date": [manifest["event_date"]] * len(QUARANTINE_REASONS),
            "reason": list(QUARANTINE_REASONS),
            "n_rows": [manifest["quarantined_by_reason"][r] for r in QUARANTINE_REASONS],
        }
    )
    quarantine["n_rows"] = quarantine["n_rows"].astype("int64")
    return manifests, quarantine


def check_slice(frame: pd.DataFrame, replace_where: Mapping[str, Any], name: str) -> None:
    """``write_table`` on either backend: refuse rows outside the slice being replaced (they would
    be appended next to rows they were meant to replace)."""
    import pandas as pd

    for col, value in replace_where.items():
        validate_identifier(col, "column name")
        if col not in frame.columns:
            raise ValueError(f"write_table({name}): replace_where column {col!r} is not in the frame")
        series = frame[col]
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            series = pd.to_datetime(series).dt.date
        outside = int((series != value).sum())
        if outside:
            raise ValueError(
                f"write_table({name}): {outside} rows have {col} != {value!r}; "
                "replace_where replaces exactly that slice"
            )
