"""Generator and landing throughput at full scale.

* ``shopflow generate --scale 1.0 --days 7``: a full-size week (about 15.8M rows), timed three
  times; rows/s and the peak resident memory of the whole process tree (workers included).
* Baseline in the same run: DuckDB re-writing the same rows as gzip CSV
  (``COPY (SELECT * FROM read_csv(...)) TO ... (COMPRESSION gzip)``), i.e. what a C++ engine
  needs just to format and compress these bytes.
* ``shopflow land`` on the week joined into one export, against the floor of decompressing
  and recompressing the same bytes in Python with ISA-L (the I/O that land cannot avoid).

Run: ``make bench`` or ``.venv/bin/python -m bench.bench_generate [--days N] [--repeat R]``.
Scratch data goes to $SHOPFLOW_BENCH_DIR (default /tmp/shopflow-bench), never the repo.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from bench.common import run_sampled, timed, write_result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    scratch = Path(os.environ.get("SHOPFLOW_BENCH_DIR", "/tmp/shopflow-bench")) / "generate"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    shopflow = str(Path(sys.executable).with_name("shopflow"))

    gen_runs = []
    for i in range(args.repeat):
        out = scratch / "landing"
        shutil.rmtree(out, ignore_errors=True)
        seconds, peak_mb, stdout = run_sampled(
            [shopflow, "generate", "--out", str(out), "--scale", str(args.scale), "--days", str(args.days)]
        )
        import json

        rows = json.loads((out / "_generator.json").read_text())["rows"]
        gen_runs.append({"seconds": seconds, "rows": rows, "rows_per_s": rows / seconds, "peak_rss_mb": peak_mb})
        print(f"generate run {i + 1}: {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s, peak {peak_mb:.0f} MB")
    files = sorted(str(p) for p in (scratch / "landing").glob("*.csv.gz"))
    rows = gen_runs[-1]["rows"]

    import duckdb

    def duck_copy():
        con = duckdb.connect()
        con.execute("set threads=2")
        con.execute(
            f"copy (select * from read_csv({files!r}, header=true, all_varchar=true)) "
            f"to '{scratch / 'duck.csv.gz'}' (format csv, compression gzip)"
        )
        con.close()

    duck_median, duck_times, _ = timed(duck_copy, repeat=args.repeat)

    # land: the week as one export
    from isal import igzip

    export = scratch / "week.csv.gz"
    with igzip.open(export, "wb", compresslevel=1) as dst:
        for i, f in enumerate(files):
            with igzip.open(f, "rb") as src:
                header = src.readline()
                if i == 0:
                    dst.write(header)
                shutil.copyfileobj(src, dst, 1 << 20)

    def io_floor():
        with igzip.open(export, "rb") as src, igzip.open(scratch / "floor.csv.gz", "wb", compresslevel=1) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)

    floor_median, floor_times, _ = timed(io_floor, repeat=args.repeat)
    land_runs = []
    for _ in range(args.repeat):
        seconds, peak_mb, _ = run_sampled([shopflow, "land", str(export), "--out", str(scratch / "landed")])
        land_runs.append((seconds, peak_mb))
    land_median = statistics.median(s for s, _ in land_runs)

    gen_median = statistics.median(r["seconds"] for r in gen_runs)
    result = {
        "command": f"shopflow generate --scale {args.scale} --days {args.days}",
        "rows": rows,
        "generate": {
            "median_seconds": round(gen_median, 2),
            "median_rows_per_s": round(rows / gen_median),
            "peak_rss_mb_max": round(max(r["peak_rss_mb"] for r in gen_runs)),
            "runs": gen_runs,
        },
        "duckdb_csv_gzip_rewrite": {"median_seconds": round(duck_median, 2), "runs": duck_times,
                                    "rows_per_s": round(rows / duck_median)},
        "generate_vs_duckdb_rewrite_time_ratio": round(gen_median / duck_median, 2),
        "land": {
            "median_seconds": round(land_median, 2),
            "median_rows_per_s": round(rows / land_median),
            "peak_rss_mb_max": round(max(m for _, m in land_runs)),
            "io_floor_median_seconds": round(floor_median, 2),
            "land_vs_io_floor_ratio": round(land_median / floor_median, 2),
        },
        "targets": {"generate_rows_per_s_min": 300_000, "peak_rss_mb_max": 2048},
    }
    write_result("generate", result)
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
