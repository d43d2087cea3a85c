"""The Spark cleaning job against DuckDB's plain CSV -> Parquet copy of the same files.

* Input: ``shopflow generate --events-per-day 2200000 --days 7`` (a full-size day is the real
  November's daily average, about 2.2M rows; the week about 15.4M), generated once into
  $SHOPFLOW_BENCH_DIR/clean (default /tmp/shopflow-bench/clean) and reused while the options
  match.
* Spark: ``spark-submit --master local[2] --driver-memory 2g jobs/clean_events.py`` as users run
  it, into a fresh lake each time: the first day alone (``--date``) and the week as one job
  (``--from/--to``). Wall time of the whole command, JVM start included.
* JVM start, measured apart: spark-submit of a script that only builds the session with
  :func:`shopflow.spark.build_session` and stops it.
* Baseline in the same run, interleaved with the Spark runs: DuckDB (2 threads)
  ``COPY (SELECT * FROM read_csv(files)) TO 'x.parquet' (FORMAT parquet)``.
* Spark's own floor, in the same run: spark-submit of a plain ``spark.read.csv`` (all-string
  schema) -> ``write.parquet`` of the same files, nothing else: what any Spark job pays here
  before cleaning anything.
* Breakdown: every Spark run writes an event log; the jobs are named by phase
  (``shopflow-clean: ...``), and the median run's wall and executor CPU seconds per phase are
  reported.

Targets (issue 3): week as one job <= 3x DuckDB, everything included; single day <= 3x
DuckDB with the JVM start taken out.

Run: ``make bench`` or ``.venv/bin/python -m bench.bench_clean [--repeat 3] [--week-repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from bench.common import run_measured, write_result

START = "2019-11-01"
SPARK_CONF = ["--master", "local[2]", "--driver-memory", "2g", "--conf", "spark.ui.showConsoleProgress=false"]

SESSION_ONLY = '''
from shopflow.spark import build_session
build_session("shopflow-bench-start").stop()
'''

PLAIN_COPY = '''
import sys
from shopflow.schema import RAW_COLUMNS
from shopflow.spark import build_session
spark = build_session("shopflow-bench-plain-copy")
schema = ", ".join(f"{c} string" for c in RAW_COLUMNS)
spark.read.csv(sys.argv[2:], header=True, schema=schema).write.mode("overwrite").parquet(sys.argv[1])
spark.stop()
'''


def _generate(scratch: Path, events_per_day: int, days: int) -> Path:
    landing = scratch / "landing"
    stamp = landing / "_bench.json"
    wanted = {"events_per_day": events_per_day, "days": days, "start": START, "seed": 0}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return landing
    shutil.rmtree(landing, ignore_errors=True)
    from shopflow.cli import main as shopflow

    code = shopflow(
        ["generate", "--out", str(landing), "--start", START, "--days", str(days),
         "--events-per-day", str(events_per_day), "--seed", "0"]
    )
    if code:
        raise RuntimeError("shopflow generate failed")
    stamp.write_text(json.dumps(wanted))
    return landing


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _phases(event_log_dir: Path) -> dict:
    """Wall and executor CPU seconds per named phase (job), and per stage, from one run's event log."""
    logs = sorted(event_log_dir.iterdir(), key=lambda p: p.stat().st_mtime)
    jobs, stage_job, stages = {}, {}, {}
    for line in logs[-1].read_text().splitlines():
        event = json.loads(line)
        kind = event["Event"]
        if kind == "SparkListenerJobStart":
            desc = (event.get("Properties") or {}).get("spark.job.description") or "other"
            jobs[event["Job ID"]] = {"phase": desc.replace("shopflow-clean: ", ""), "start": event["Submission Time"]}
            for stage in event["Stage IDs"]:
                stage_job[stage] = event["Job ID"]
        elif kind == "SparkListenerJobEnd":
            jobs[event["Job ID"]]["end"] = event["Completion Time"]
        elif kind == "SparkListenerStageCompleted":
            info = event["Stage Info"]
            entry = stages.setdefault(info["Stage ID"], {"cpu_s": 0.0})
            entry.update(tasks=info["Number of Tasks"], wall_s=(info["Completion Time"] - info["Submission Time"]) / 1000)
        elif kind == "SparkListenerTaskEnd" and event.get("Task Metrics"):
            entry = stages.setdefault(event["Stage ID"], {"cpu_s": 0.0})
            entry["cpu_s"] += event["Task Metrics"]["Executor CPU Time"] / 1e9
    phases: dict[str, dict] = {}
    for job_id, job in sorted(jobs.items()):
        entry = phases.setdefault(job["phase"], {"wall_s": 0.0, "cpu_s": 0.0, "stages": []})
        entry["wall_s"] += (job.get("end", job["start"]) - job["start"]) / 1000
        for stage_id, stage in sorted(stages.items()):
            if stage_job.get(stage_id) == job_id and "wall_s" in stage:
                entry["cpu_s"] += stage["cpu_s"]
                entry["stages"].append({k: round(v, 2) for k, v in stage.items()})
    for entry in phases.values():
        entry["wall_s"], entry["cpu_s"] = round(entry["wall_s"], 2), round(entry["cpu_s"], 2)
    return phases


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events-per-day", type=int, default=2_200_000)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each single-day measurement")
    ap.add_argument("--week-repeat", type=int, default=3, help="runs of each week measurement")
    args = ap.parse_args(argv)

    from shopflow.runtime import REPO_ROOT, apply_defaults

    scratch = Path(os.environ.get("SHOPFLOW_BENCH_DIR", "/tmp/shopflow-bench")) / "clean"
    scratch.mkdir(parents=True, exist_ok=True)
    apply_defaults(scratch / "home")
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    spark_submit = shutil.which("spark-submit")
    job = str(REPO_ROOT / "jobs" / "clean_events.py")

    landing = _generate(scratch, args.events_per_day, args.days)
    files = sorted(landing.glob("*.csv.gz"))
    first, last = files[0].name[:10], files[-1].name[:10]
    starter = scratch / "session_only.py"
    starter.write_text(SESSION_ONLY)
    plain = scratch / "plain_copy.py"
    plain.write_text(PLAIN_COPY)
    event_logs = scratch / "event-logs"

    def spark_start() -> float:
        seconds, _, _ = run_measured([spark_submit, *SPARK_CONF, str(starter)], env=env)
        return seconds

    def spark_clean(dates: list[str]) -> tuple[float, float, dict]:
        lake = scratch / "lake"
        shutil.rmtree(lake, ignore_errors=True)
        shutil.rmtree(event_logs, ignore_errors=True)
        event_logs.mkdir()
        logging = [
            f"--conf={key}={value}"
            for key, value in {
                "spark.eventLog.enabled": "true",
                "spark.eventLog.dir": event_logs,
                # One plain JSON-lines file per run, which _phases reads.
                "spark.eventLog.rolling.enabled": "false",
                "spark.eventLog.compress": "false",
            }.items()
        ]
        cmd = [spark_submit, *SPARK_CONF, *logging, job, *dates, "--landing", str(landing), "--lake", str(lake)]
        before = _children_cpu()
        seconds, peak_mb, proc = run_measured(cmd, env=env)
        cpu = _children_cpu() - before
        manifests = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        return seconds, peak_mb, {"cpu_s": cpu, "phases": _phases(event_logs), "manifests": manifests}

    def duckdb_copy(inputs: list[Path]) -> tuple[float, float]:
        import duckdb

        target = scratch / "duckdb.parquet"
        target.unlink(missing_ok=True)
        start, cpu = time.perf_counter(), time.process_time()
        con = duckdb.connect()
        con.execute("set threads=2")
        con.execute(f"copy (select * from read_csv({[str(f) for f in inputs]!r})) to '{target}' (format parquet)")
        con.close()
        return time.perf_counter() - start, time.process_time() - cpu

    def spark_plain_copy(inputs: list[Path]) -> float:
        target = scratch / "plain.parquet"
        seconds, _, _ = run_measured([spark_submit, *SPARK_CONF, str(plain), str(target), *map(str, inputs)], env=env)
        shutil.rmtree(target, ignore_errors=True)
        return seconds

    def measure(name: str, inputs: list[Path], dates: list[str], repeat: int, with_start: bool) -> dict:
        runs = []
        for i in range(repeat):
            duck, duck_cpu = duckdb_copy(inputs)
            start = spark_start() if with_start else None
            copy = spark_plain_copy(inputs)
            seconds, peak_mb, info = spark_clean(dates)
            runs.append(
                {"spark_s": seconds, "duckdb_s": duck, "duckdb_cpu_s": duck_cpu, "jvm_start_s": start,
                 "spark_plain_copy_s": copy, "peak_rss_mb": peak_mb, **info}
            )
            note = f", JVM start {start:.1f} s" if start is not None else ""
            print(f"{name} run {i + 1}: spark {seconds:.1f} s, spark plain copy {copy:.1f} s, duckdb {duck:.1f} s{note}",
                  flush=True)
        rows = sum(m["rows_in"] for m in runs[-1]["manifests"])
        spark_med = statistics.median(r["spark_s"] for r in runs)
        duck_med = statistics.median(r["duckdb_s"] for r in runs)
        median_run = sorted(runs, key=lambda r: r["spark_s"])[len(runs) // 2]
        copy_med = statistics.median(r["spark_plain_copy_s"] for r in runs)
        out = {
            "rows": rows,
            "input_gz_mb": round(sum(f.stat().st_size for f in inputs) / 2**20, 1),
            "runs": repeat,
            "spark_median_s": round(spark_med, 2),
            "duckdb_median_s": round(duck_med, 2),
            "ratio_spark_to_duckdb": round(spark_med / duck_med, 2),
            "spark_plain_copy_median_s": round(copy_med, 2),
            "ratio_spark_plain_copy_to_duckdb": round(copy_med / duck_med, 2),
            "ratio_clean_job_to_spark_plain_copy": round(spark_med / copy_med, 2),
            "spark_rows_per_s": round(rows / spark_med),
            "duckdb_rows_per_s": round(rows / duck_med),
            "peak_rss_mb_max": round(max(r["peak_rss_mb"] for r in runs)),
            # CPU seconds (user + system) are less sensitive than wall time to other load.
            "spark_cpu_median_s": round(statistics.median(r["cpu_s"] for r in runs), 1),
            "duckdb_cpu_median_s": round(statistics.median(r["duckdb_cpu_s"] for r in runs), 1),
            "phases_of_median_run": median_run["phases"],
            "rows_valid": sum(m["rows_valid"] for m in median_run["manifests"]),
            "duplicates_dropped": sum(m["duplicates_dropped"] for m in median_run["manifests"]),
            "rows_quarantined": sum(m["rows_quarantined"] for m in median_run["manifests"]),
            "all_runs": [{k: v for k, v in r.items() if k not in ("phases", "manifests")} for r in runs],
        }
        # Outside the Spark jobs: session start, planning and code generation in a cold JVM,
        # the swap, the manifests and the shutdown.
        out["outside_spark_jobs_s_of_median_run"] = round(
            median_run["spark_s"] - sum(p["wall_s"] for p in median_run["phases"].values()), 2
        )
        if with_start:
            start_med = statistics.median(r["jvm_start_s"] for r in runs)
            net = statistics.median(r["spark_s"] - r["jvm_start_s"] for r in runs)
            out.update(
                {
                    "jvm_start_median_s": round(start_med, 2),
                    "spark_without_jvm_start_median_s": round(net, 2),
                    "ratio_without_jvm_start": round(net / duck_med, 2),
                    "spark_rows_per_s_without_jvm_start": round(rows / net),
                }
            )
        return out

    day = measure("day", files[:1], ["--date", first], args.repeat, with_start=True)
    week = measure("week", files, ["--from", first, "--to", last], args.week_repeat, with_start=False)
    result = {
        "command": f"spark-submit {' '.join(SPARK_CONF)} jobs/clean_events.py ... vs duckdb copy read_csv -> parquet",
        "generated": f"shopflow generate --events-per-day {args.events_per_day} --days {args.days} --seed 0",
        "single_day": day,
        "week_one_job": week,
        "targets": {"week_ratio_max": 3.0, "single_day_ratio_without_jvm_start_max": 3.0},
        "met": {
            "week": week["ratio_spark_to_duckdb"] <= 3.0,
            "single_day": day["ratio_without_jvm_start"] <= 3.0,
        },
    }
    write_result("clean", result)
    shutil.rmtree(scratch / "lake", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
