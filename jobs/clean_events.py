"""Spark entry point of the cleaning job: landing CSV -> lake Parquet, quarantine and manifests.

    spark-submit jobs/clean_events.py --date 2019-11-01 --landing data/landing --lake data/lake
    spark-submit jobs/clean_events.py --from 2019-11-01 --to 2019-11-30 \\
        --landing gs://bucket/landing --lake gs://bucket/lake
    spark-submit jobs/clean_events.py --dates 2019-10-01,2019-10-31 --landing ... --lake ...

A range skips (and logs) dates without a landing file; ``--date`` and ``--dates`` fail on one.

The master comes from spark-submit (local[2] when the script runs outside it). A range is one
job over all its files. Prints each date's manifest as a JSON line. Rules, layout and
cluster/Dataproc use: docs/clean.md. While it runs it prints the running stages' task counts
(``{"progress": {...}}`` lines).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    from shopflow.clean import add_job_arguments, dates_from_args, run_clean
    from shopflow.spark import build_session

    parser = argparse.ArgumentParser(prog="clean_events.py", description="Clean REES46 landing files into the lake.")
    add_job_arguments(parser, landing=None, lake=None)
    args = parser.parse_args(argv)
    dates = dates_from_args(parser, args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    spark = build_session("shopflow-clean")
    stop = threading.Event()
    threading.Thread(target=_report_progress, args=(spark, stop), daemon=True).start()
    try:
        # A range cleans the dates that have landing files; --date and --dates name each date.
        manifests = run_clean(spark, dates, args.landing, args.lake, skip_missing=bool(args.start))
    finally:
        stop.set()
        spark.stop()
    for manifest in manifests:
        print(json.dumps(manifest))
    return 0


def _report_progress(spark, stop: threading.Event, every: float = 2.0) -> None:
    """Print the running stages' task counts as a JSON line every ``every`` seconds (when they
    change): ``shopflow demo`` and ``make backfill`` draw them as a progress bar."""
    tracker = spark.sparkContext.statusTracker()
    last = None
    while not stop.wait(every):
        done = total = 0
        for stage_id in tracker.getActiveStageIds():
            info = tracker.getStageInfo(stage_id)
            if info is not None:
                done, total = done + info.numCompletedTasks, total + info.numTasks
        if total and (done, total) != last:
            last = (done, total)
            print(json.dumps({"progress": {"tasks_done": done, "tasks_total": total}}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
