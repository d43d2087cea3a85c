"""``shopflow load``: lake partitions -> the warehouse ``events`` table (see manifest.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shopflow.dates import date_range
from shopflow.warehouse.manifest import LoadError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from shopflow.errors import date_arg

    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--date", type=date_arg, help="the event date to load (YYYY-MM-DD)")
    which.add_argument("--from", dest="start", type=date_arg, help="first date of a range (with --to)")
    parser.add_argument("--to", dest="end", type=date_arg, help="last date of a range, inclusive")
    parser.add_argument("--lake", help="lake root (default: SHOPFLOW_LAKE)")


def run(args: argparse.Namespace) -> int:
    from shopflow.clean import manifest_path
    from shopflow.config import get_settings, is_remote
    from shopflow.dates import describe
    from shopflow.errors import UserError
    from shopflow.warehouse import get_warehouse

    if args.date is not None:
        if args.end is not None:
            raise UserError("--to goes with --from, not with --date")
        days = [args.date]
    else:
        if args.end is None:
            raise UserError("--from needs --to")
        try:
            days = date_range(args.start, args.end)
        except ValueError as exc:
            raise UserError(f"{exc}: give the range in order") from None
    settings = get_settings()
    lake = args.lake or settings.lake
    if not is_remote(lake):
        unbuilt = [d for d in days if not Path(manifest_path(lake, d)).is_file()]
        if unbuilt:
            raise UserError(f"the lake {lake} has no partition for {describe(unbuilt)}: "
                            "build it first (shopflow clean --date D, or --from/--to)")
    try:
        with get_warehouse(settings) as wh:
            for day in days:
                rows = wh.load_events_partition(day, lake)
                print(f"{day}: {rows} rows loaded into {wh.backend} events")
    except LoadError as exc:
        print(f"shopflow load: {exc}", file=sys.stderr)
        return 1
    return 0
