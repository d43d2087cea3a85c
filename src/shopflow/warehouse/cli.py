"""``shopflow load``: lake partitions -> the warehouse ``events`` table (see manifest.py)."""

from __future__ import annotations

import argparse
import sys

from shopflow.dates import as_date, date_range
from shopflow.warehouse.manifest import LoadError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--date", type=as_date, help="the event date to load (YYYY-MM-DD)")
    which.add_argument("--from", dest="start", type=as_date, help="first date of a range (with --to)")
    parser.add_argument("--to", dest="end", type=as_date, help="last date of a range, inclusive")
    parser.add_argument("--lake", help="lake root (default: SHOPFLOW_LAKE)")


def run(args: argparse.Namespace) -> int:
    from shopflow.config import get_settings
    from shopflow.warehouse import get_warehouse

    if args.date is not None:
        if args.end is not None:
            print("shopflow load: --to goes with --from, not with --date", file=sys.stderr)
            return 2
        days = [args.date]
    else:
        if args.end is None:
            print("shopflow load: --from needs --to", file=sys.stderr)
            return 2
        try:
            days = date_range(args.start, args.end)
        except ValueError as exc:
            print(f"shopflow load: {exc}", file=sys.stderr)
            return 2
    settings = get_settings()
    lake = args.lake or settings.lake
    try:
        with get_warehouse(settings) as wh:
            for day in days:
                rows = wh.load_events_partition(day, lake)
                print(f"{day}: {rows} rows loaded into {wh.backend} events")
    except LoadError as exc:
        print(f"shopflow load: {exc}", file=sys.stderr)
        return 1
    return 0
