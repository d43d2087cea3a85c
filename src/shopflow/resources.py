"""Wall time and peak memory of a pipeline step, and a memory guard with an actionable message.

Every task of ``shopflow_training`` (and the demo's stages) runs inside :func:`measured`:

* a sampler thread reads the resident memory (RSS) of this process, and of its children (the
  Spark JVM of a ``spark-submit``), every ``interval`` seconds and keeps the peaks;
* at the end one line goes to the log (``task publish: 41.2 s, peak RSS 1,834 MB``) and one
  JSON line to ``SHOPFLOW_HOME/logs/resources.jsonl`` (the month benchmark reads it);
* while the step runs, ``SHOPFLOW_HOME/logs/running/<step>.json`` holds the step's name, the
  memory it holds and the setting that bounds it. A step killed by the kernel cannot say
  anything itself; the file stays behind, and ``make demo`` (``python -m shopflow.resources
  explain``) turns it into a message naming the step, what it held and the setting to change;
* when the process passes ``SHOPFLOW_TASK_MEMORY_MB`` (default: 60% of the machine's memory)
  the step is stopped with :class:`MemoryBudgetExceeded`, whose message says the same, before
  the kernel's out-of-memory killer ends the process without a word.

Sampling RSS from a thread is used instead of ``ru_maxrss`` because several steps run in one
process (the demo's ``dag.test`` runs every task in-process) and ``ru_maxrss`` only knows the
process's lifetime peak.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

log = logging.getLogger("shopflow.resources")

MB = 1024 * 1024
#: The setting that bounds each step's memory, named in the out-of-memory message.
BOUNDS: dict[str, str] = {
    "publish": "SHOPFLOW_PUBLISH_BATCH_USERS (users per batch written to rec_user_items) and "
               "SHOPFLOW_PUBLISH_DUCKDB_MEMORY_LIMIT (DuckDB's working memory in publish)",
    "train_als": "the training window (window_days) or SHOPFLOW_TASK_MEMORY_MB",
    "train_content": "the training window (window_days) or SHOPFLOW_TASK_MEMORY_MB",
    "report": "SHOPFLOW_DUCKDB_MEMORY_LIMIT (DuckDB's working memory)",
    "marts": "SHOPFLOW_DUCKDB_MEMORY_LIMIT (DuckDB's working memory)",
    "load": "SHOPFLOW_DUCKDB_MEMORY_LIMIT (DuckDB's working memory)",
    "spark": "the Spark driver memory (--driver-memory 2g in shopflow.pipeline.clean_range)",
}


class MemoryBudgetExceeded(MemoryError):
    """A step passed SHOPFLOW_TASK_MEMORY_MB; the message names the step and the bounding setting."""


@dataclass
class Usage:
    """What :func:`measured` saw of one step."""

    name: str
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    peak_children_rss_mb: float = 0.0
    started_at: float = field(default_factory=time.time)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "seconds": round(self.seconds, 3),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "peak_children_rss_mb": round(self.peak_children_rss_mb, 1),
            "started_at": round(self.started_at, 3),
            "pid": os.getpid(),
        }

    def metrics(self, prefix: str) -> dict[str, float]:
        """MLflow metrics: ``<prefix>_seconds`` and ``<prefix>_peak_rss_mb``."""
        return {f"{prefix}_seconds": round(self.seconds, 3), f"{prefix}_peak_rss_mb": round(self.peak_rss_mb, 1)}


def memory_budget_mb() -> float:
    """SHOPFLOW_TASK_MEMORY_MB, else 60% of this machine's memory."""
    value = os.environ.get("SHOPFLOW_TASK_MEMORY_MB")
    if value:
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"SHOPFLOW_TASK_MEMORY_MB must be a number of MB, not {value!r}") from None
    import psutil

    return 0.6 * psutil.virtual_memory().total / MB


def _logs_dir() -> Path:
    return Path(os.environ.get("SHOPFLOW_HOME") or "data").resolve() / "logs"


def _rss(proc) -> tuple[float, float]:
    """(this process's RSS, the largest RSS among its descendants) in MB."""
    import psutil

    own = proc.memory_info().rss / MB
    largest = 0.0
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            largest = max(largest, child.memory_info().rss / MB)
    return own, largest


def oom_message(name: str, held_mb: float, budget_mb: float | None = None) -> str:
    bound = BOUNDS.get(name, "SHOPFLOW_TASK_MEMORY_MB")
    limit = f" (SHOPFLOW_TASK_MEMORY_MB={budget_mb:,.0f})" if budget_mb else ""
    return (f"shopflow: step {name!r} held {held_mb:,.0f} MB of memory{limit}; "
            f"the setting that bounds it: {bound}")


@contextlib.contextmanager
def measured(name: str, interval: float = 0.2, budget_mb: float | None = None) -> Iterator[Usage]:
    """Measure wall time and peak RSS of the enclosed step (see the module docstring)."""
    import psutil

    usage = Usage(name)
    budget = budget_mb if budget_mb is not None else memory_budget_mb()
    proc = psutil.Process()
    stop = threading.Event()
    over: list[float] = []
    running = _logs_dir() / "running"
    running.mkdir(parents=True, exist_ok=True)
    beacon = running / f"{name}-{os.getpid()}.json"
    main_thread = threading.main_thread()
    in_main = threading.current_thread() is main_thread

    def sample() -> None:
        last_write = 0.0
        while True:
            with contextlib.suppress(psutil.Error):
                own, child = _rss(proc)
                usage.peak_rss_mb = max(usage.peak_rss_mb, own)
                usage.peak_children_rss_mb = max(usage.peak_children_rss_mb, child)
                now = time.monotonic()
                if now - last_write > 1.0:
                    beacon.write_text(json.dumps({**usage.as_dict(), "rss_mb": round(own, 1),
                                                  "bound": BOUNDS.get(name, "SHOPFLOW_TASK_MEMORY_MB")}))
                    last_write = now
                if own > budget and not over:
                    over.append(own)
                    log.error(oom_message(name, own, budget))
                    if in_main:
                        signal.pthread_kill(main_thread.ident, signal.SIGUSR1)
            if stop.wait(interval):
                return

    def on_signal(signum, frame):  # runs in the main thread
        raise MemoryBudgetExceeded(oom_message(name, over[0] if over else usage.peak_rss_mb, budget))

    previous = signal.signal(signal.SIGUSR1, on_signal) if in_main else None
    start = time.perf_counter()
    thread = threading.Thread(target=sample, name=f"shopflow-rss-{name}", daemon=True)
    thread.start()
    try:
        yield usage
    finally:
        stop.set()
        thread.join()
        if in_main:
            signal.signal(signal.SIGUSR1, previous)
        usage.seconds = time.perf_counter() - start
        with contextlib.suppress(psutil.Error):
            own, child = _rss(proc)
            usage.peak_rss_mb = max(usage.peak_rss_mb, own)
            usage.peak_children_rss_mb = max(usage.peak_children_rss_mb, child)
        with contextlib.suppress(FileNotFoundError):
            beacon.unlink()
        log.info("step %s: %.1f s, peak RSS %s MB (largest child process %s MB)", name, usage.seconds,
                 f"{usage.peak_rss_mb:,.0f}", f"{usage.peak_children_rss_mb:,.0f}")
        with contextlib.suppress(OSError):
            with open(_logs_dir() / "resources.jsonl", "a") as out:
                out.write(json.dumps(usage.as_dict()) + "\n")


def read_usage(home: str | os.PathLike) -> list[dict]:
    """Every step recorded in ``home/logs/resources.jsonl``, oldest first."""
    path = Path(home) / "logs" / "resources.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def explain_killed(home: str | os.PathLike, returncode: int | None = None) -> list[str]:
    """Messages for the steps whose process ended without finishing them (their beacon files
    remain in ``home/logs/running``), e.g. after the kernel's out-of-memory killer."""
    import psutil

    lines = []
    for beacon in sorted((Path(home) / "logs" / "running").glob("*.json")):
        try:
            state = json.loads(beacon.read_text())
        except (OSError, ValueError):
            continue
        if psutil.pid_exists(int(state.get("pid", -1))):
            continue  # still running
        killed = " was killed" + (" (exit code 137: out of memory?)" if returncode in (137, -9) else "")
        lines.append(f"shopflow: step {state['name']!r}{killed} while holding {state['rss_mb']:,.0f} MB "
                     f"(peak {state['peak_rss_mb']:,.0f} MB); the setting that bounds it: {state['bound']}")
        beacon.unlink()
    return lines


def main(argv: list[str] | None = None) -> int:
    """``python -m shopflow.resources explain RC``: print what a killed step held, exit with RC."""
    import sys

    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] != "explain" or not argv[1].lstrip("-").isdigit():
        print("usage: python -m shopflow.resources explain EXIT_CODE", file=sys.stderr)
        return 2
    rc = int(argv[1])
    for line in explain_killed(os.environ.get("SHOPFLOW_HOME") or "data", rc):
        print(line, file=sys.stderr)
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
