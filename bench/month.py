"""``make bench-month``: the whole user path on a month at the real file's size, measured.

1. ``shopflow generate --scale 1.0 --days 30`` (67.5M rows), then the daily files joined into
   ONE CSV with one header, the way the public 2019-Nov.csv is laid out;
2. ``make demo DATA=<that CSV>`` in a separate SHOPFLOW_HOME (land, one Spark job, 30
   ``shopflow_daily`` runs, ``shopflow_training``), exactly the command a user types;
3. while it runs, every process of its tree is sampled (RSS) twice a second; stages are told
   apart by the demo's own ``== ...`` lines, and the training tasks (train_als, train_content,
   publish, report) by the wall time and peak RSS they record themselves
   (SHOPFLOW_HOME/logs/resources.jsonl, see shopflow.resources);
4. the warehouse's rows per event type must equal the generator's own counts, less the exact
   duplicates it planted (which cleaning drops), with nothing quarantined.

Writes bench/results/bench_month.json, and with ``--docs`` docs/bench-month.json and the table
in docs/bench-month.md. Not part of ``make bench`` or ``make test``: it takes most of an hour.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.common import write_result

REPO = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
#: The demo's step lines (``== text``) -> stage names of the result.
STAGE_OF_LINE = (
    ("landing", "land"),
    ("generating", "generate"),
    ("Spark", "spark"),
    ("Airflow: shopflow_daily", "daily_runs"),
    ("Airflow: shopflow_training", "training"),
    ("results", "summary"),
)


def stage_of(line: str) -> str | None:
    text = line[3:].strip()
    for prefix, name in STAGE_OF_LINE:
        if text.startswith(prefix):
            return name
    return None


def join_month(gen: Path, out: Path) -> int:
    """The daily files as one CSV (one header), streamed; returns data lines written."""
    from isal import igzip

    files = sorted(gen.glob("*.csv.gz"))
    lines = 0
    with open(out, "wb") as sink:
        for i, path in enumerate(files):
            with igzip.open(path, "rb") as src:
                header = src.readline()
                if i == 0:
                    sink.write(header)
                while chunk := src.read(64 << 20):
                    sink.write(chunk)
                    lines += chunk.count(b"\n")
    return lines


class TreeSampler:
    """RSS of a process and its descendants, sampled on a thread; peaks kept per stage."""

    def __init__(self, root_pid: int, interval: float = 0.5):
        self.root, self.interval = root_pid, interval
        self.stage = "start"
        self.stages: dict[str, dict] = {}
        self.processes: dict[int, dict] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()

    def _run(self):
        import psutil

        try:
            root = psutil.Process(self.root)
        except psutil.Error:
            return
        while not self._stop.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            largest, total = 0.0, 0.0
            for proc in procs:
                try:
                    rss = proc.memory_info().rss / MB
                    if proc.pid not in self.processes:
                        self.processes[proc.pid] = {"pid": proc.pid, "name": " ".join(proc.cmdline()[:3])[:120],
                                                    "peak_rss_mb": 0.0, "stage": self.stage}
                except psutil.Error:
                    continue
                entry = self.processes[proc.pid]
                if rss > entry["peak_rss_mb"]:
                    entry.update(peak_rss_mb=round(rss, 1), stage=self.stage)
                largest, total = max(largest, rss), total + rss
            peaks = self.stages.setdefault(self.stage, {"peak_rss_mb": 0.0, "peak_tree_rss_mb": 0.0})
            peaks["peak_rss_mb"] = round(max(peaks["peak_rss_mb"], largest), 1)
            peaks["peak_tree_rss_mb"] = round(max(peaks["peak_tree_rss_mb"], total), 1)
            self._stop.wait(self.interval)


def run_demo(csv: Path, home: Path, log_path: Path) -> dict:
    env = {**os.environ, "SHOPFLOW_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    cmd = ["make", "--no-print-directory", "demo", f"DATA={csv}"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sampler = TreeSampler(proc.pid).start()
    marks = [("start", 0.0)]
    with open(log_path, "w") as log:
        for line in proc.stdout:
            now = time.perf_counter() - started
            log.write(f"{now:9.1f} {line}")
            log.flush()
            sys.stdout.write(line)
            if line.startswith("== "):
                name = stage_of(line)
                if name:
                    marks.append((name, now))
                    sampler.stage = name
    rc = proc.wait()
    total = time.perf_counter() - started
    sampler.stop()
    stages = []
    for (name, t0), (_, t1) in zip(marks, [*marks[1:], ("end", total)]):
        stages.append({"name": name, "seconds": round(t1 - t0, 1), **sampler.stages.get(name, {})})
    return {"returncode": rc, "seconds": round(total, 1), "stages": stages,
            "processes": sorted(sampler.processes.values(), key=lambda p: -p["peak_rss_mb"])[:8]}


def task_stages(home: Path) -> list[dict]:
    """The training tasks' own records (in the order they ran), and the daily marts' total."""
    from shopflow.resources import read_usage

    usage = read_usage(home)
    wanted = ("train_als", "train_content", "publish")
    out = [{"name": u["name"], "seconds": u["seconds"], "peak_rss_mb": u["peak_rss_mb"]}
           for u in usage if u["name"] in wanted]
    reports = [u for u in usage if u["name"] == "report"]
    if reports:
        last = reports[-1]  # the training DAG's redraw, after publish
        out.append({"name": "dashboard", "seconds": last["seconds"], "peak_rss_mb": last["peak_rss_mb"]})
    for name in ("load", "marts"):
        runs = [u for u in usage if u["name"] == name]
        if runs:
            out.append({"name": f"daily_{name}", "runs": len(runs), "seconds": round(sum(u["seconds"] for u in runs), 1),
                        "first_seconds": runs[0]["seconds"], "last_seconds": runs[-1]["seconds"],
                        "peak_rss_mb": max(u["peak_rss_mb"] for u in runs)})
    return out


def warehouse_counts(home: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        by_type = dict(con.execute("select event_type, count(*) from events group by 1").fetchall())
        manifests = con.execute(
            "select sum(rows_in), sum(rows_valid), sum(duplicates_dropped), sum(rows_quarantined) from manifests"
        ).fetchall()[0]
    finally:
        con.close()
    return {"events_by_type": by_type,
            "manifests": dict(zip(("rows_in", "rows_valid", "duplicates_dropped", "rows_quarantined"),
                                  (int(v or 0) for v in manifests)))}


def compare_counts(generator: dict, warehouse: dict) -> dict:
    written, dups = {}, {}
    for day in generator["days"].values():
        for kind in ("view", "cart", "remove_from_cart", "purchase"):
            written[kind] = written.get(kind, 0) + day.get(kind, 0)
            dups[kind] = dups.get(kind, 0) + day.get("duplicates", {}).get(kind, 0)
    expected = {k: written[k] - dups[k] for k in written if written[k]}
    got = {k: int(v) for k, v in warehouse["events_by_type"].items()}
    m = warehouse["manifests"]
    equal = (expected == got and m["rows_in"] == generator["rows"] and m["rows_quarantined"] == 0
             and m["duplicates_dropped"] == sum(dups.values()))
    return {"generator_rows": generator["rows"], "generator_by_type": written, "generator_duplicates": dups,
            "expected_events_by_type": expected, "warehouse_events_by_type": got, "manifests": m,
            "counts_equal": bool(equal)}


def markdown(result: dict) -> str:
    lines = [
        "# `make bench-month`: the real month's size, end to end",
        "",
        f"Measured {result['finished_at']} on {result['machine']['cpus']} cores with "
        f"`{result['command']}`: scale {result['scale']}, {result['counts']['generator_rows']:,} rows in one "
        f"{result['csv_gb']:.1f} GB CSV, through `make demo DATA=...` in a separate SHOPFLOW_HOME. "
        f"Counts equal the generator's: **{result['counts_equal']}**. "
        f"Total (the demo, landing to dashboard): **{result['total_seconds'] / 60:.1f} min**; "
        f"largest process: **{result['peak_rss_mb']:,.0f} MB**.",
        "",
        "| stage | seconds | share | peak RSS of one process (MB) | peak RSS of the tree (MB) |",
        "|---|---:|---:|---:|---:|",
    ]
    for s in result["stages"]:
        share = s["seconds"] / result["total_seconds"] if result["total_seconds"] else 0
        lines.append(f"| {s['name']} | {s['seconds']:,.1f} | {share:.0%} | {s.get('peak_rss_mb', 0):,.0f} | "
                     f"{s.get('peak_tree_rss_mb', 0):,.0f} |")
    lines += ["", "Inside the stages, as each task recorded itself (shopflow.resources):", "",
              "| task | seconds | peak RSS (MB) | notes |", "|---|---:|---:|---|"]
    for t in result["tasks"]:
        note = (f"{t['runs']} runs, first {t['first_seconds']:.1f} s, last {t['last_seconds']:.1f} s"
                if "runs" in t else "")
        lines.append(f"| {t['name']} | {t['seconds']:,.1f} | {t['peak_rss_mb']:,.0f} | {note} |")
    lines += ["", f"Before the run: generate {result['generate_seconds']:.0f} s, joining the daily files into one "
              f"CSV {result['join_seconds']:.0f} s (not counted in the total).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.month", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = the real month (67.5M rows)")
    parser.add_argument("--days", type=int, default=30, help="days in the month (30)")
    parser.add_argument("--work", default=os.environ.get("SHOPFLOW_BENCH_DIR", "/tmp/shopflow-bench-month"),
                        help="scratch folder: generated files, the CSV, the demo's SHOPFLOW_HOME (about 20 GB at 1.0)")
    parser.add_argument("--docs", action="store_true", help="also write docs/bench-month.json and docs/bench-month.md")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder afterwards")
    args = parser.parse_args(argv)

    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    gen, home, csv = work / "generated", work / "home", work / "month.csv"
    home.mkdir(parents=True)
    shopflow = str(Path(sys.executable).with_name("shopflow"))

    print(f"== bench-month: generating scale {args.scale}, {args.days} days", flush=True)
    t = time.perf_counter()
    subprocess.run([shopflow, "generate", "--scale", str(args.scale), "--days", str(args.days), "--out", str(gen)],
                   check=True, stdout=subprocess.DEVNULL)
    generate_seconds = time.perf_counter() - t
    generator = json.loads((gen / "_generator.json").read_text())

    print(f"== bench-month: joining {len(generator['days'])} daily files into {csv}", flush=True)
    t = time.perf_counter()
    lines = join_month(gen, csv)
    join_seconds = time.perf_counter() - t
    assert lines == generator["rows"], f"joined {lines} lines, the generator wrote {generator['rows']}"
    for path in gen.glob("*.csv.gz"):
        path.unlink()  # the disk holds the CSV and the demo's copies, not a third copy

    print("== bench-month: make demo DATA=...", flush=True)
    demo = run_demo(csv, home, work / "demo.log")
    tasks = task_stages(home)
    counts = compare_counts(generator, warehouse_counts(home)) if demo["returncode"] == 0 else {
        "generator_rows": generator["rows"], "counts_equal": False}
    peak = max([s.get("peak_rss_mb", 0) for s in demo["stages"]] + [t_["peak_rss_mb"] for t_ in tasks])
    result = {
        "command": "make bench-month",
        "scale": args.scale,
        "days": args.days,
        "csv_gb": round(csv.stat().st_size / 1e9, 2),
        "generate_seconds": round(generate_seconds, 1),
        "join_seconds": round(join_seconds, 1),
        "returncode": demo["returncode"],
        "total_seconds": demo["seconds"],
        "peak_rss_mb": round(peak, 1),
        "under_8gb": peak < 8192,
        "counts_equal": counts["counts_equal"],
        "stages": demo["stages"],
        "tasks": tasks,
        "largest_processes": demo["processes"],
        "counts": counts,
    }
    path = write_result("bench_month", result)
    if args.docs:
        payload = json.loads(path.read_text())
        (REPO / "docs" / "bench-month.json").write_text(json.dumps(payload, indent=2) + "\n")
        (REPO / "docs" / "bench-month.md").write_text(markdown(payload))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if demo["returncode"] == 0 and counts["counts_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
