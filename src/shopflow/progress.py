"""Progress on long work, drawn by rich (one library for every command).

Each helper is a context manager that yields an ``update`` callable; the work itself only
calls that callable (landing, generating, the Spark job's dates, the daily runs), so it runs
the same without a terminal. Progress goes to stderr, beside the logs, so stdout keeps only
the results; rich redraws in place on a terminal and prints the final state otherwise. A bar
appears at its first update, so an argument error before any work prints only its own line.
"""

from __future__ import annotations

import contextlib
import time


class _LazyBar:
    """A rich Progress started on first use and dropped (not printed) if the work fails."""

    def __init__(self, columns, description: str, auto_refresh: bool = True, **task):
        from rich.console import Console
        from rich.progress import Progress

        # Without a refresh thread, print() is left alone too (no stdout/stderr redirection).
        self.bar = Progress(*columns, console=Console(stderr=True), transient=False, auto_refresh=auto_refresh,
                            redirect_stdout=auto_refresh, redirect_stderr=auto_refresh)
        self.auto_refresh = auto_refresh
        self.description, self.task_fields, self.task = description, task, None

    def update(self, **changes) -> None:
        if self.task is None:
            self.bar.start()
            self.task = self.bar.add_task(self.description, **self.task_fields)
        self.bar.update(self.task, **changes)
        if not self.auto_refresh:
            self.bar.refresh()

    def print(self, text: str) -> None:
        (self.bar.console if self.task is not None else _stdout()).print(text, highlight=False)

    def close(self, failed: bool) -> None:
        if self.task is not None:
            self.bar.live.transient = failed
            self.bar.stop()


def _stdout():
    from rich.console import Console

    return Console()


@contextlib.contextmanager
def _lazy(columns, description: str, auto_refresh: bool = True, **task):
    bar = _LazyBar(columns, description, auto_refresh, **task)
    try:
        yield bar
    except BaseException:
        bar.close(failed=True)
        raise
    bar.close(failed=False)


@contextlib.contextmanager
def bytes_and_rows(description: str, total_bytes: int):
    """Bytes read of ``total_bytes`` (percent, bytes/s) and rows (rows/s): ``update(done, rows)``."""
    from rich.progress import (BarColumn, DownloadColumn, TaskProgressColumn, TextColumn, TimeRemainingColumn,
                               TransferSpeedColumn)

    columns = (TextColumn("{task.description}"), BarColumn(bar_width=24), TaskProgressColumn(), DownloadColumn(),
               TransferSpeedColumn(), TextColumn("{task.fields[rows]:,} rows, {task.fields[rate]:,.0f} rows/s"),
               TimeRemainingColumn())
    started = time.perf_counter()
    with _lazy(columns, description, total=total_bytes, rows=0, rate=0.0) as bar:

        def update(done: int, rows: int) -> None:
            bar.update(completed=done, rows=rows, rate=rows / max(time.perf_counter() - started, 1e-6))

        yield update


@contextlib.contextmanager
def steps(description: str, total: int, unit: str = "dates"):
    """``total`` steps: ``update(label)`` after each one, printing ``label`` above the bar.

    The bar is redrawn only by ``update`` (no refresh thread): the daily runs send this
    process's output to a log file while they run, and a redraw then would land there."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn(), TextColumn(unit),
               TimeElapsedColumn())
    with _lazy(columns, description, auto_refresh=False, total=total) as bar:

        def update(label: str | None = None, advance: int = 1) -> None:
            bar.update(advance=advance)
            if label:
                bar.print(label)

        yield update


@contextlib.contextmanager
def spark_job(description: str, n_dates: int):
    """The cleaning job: its running tasks as a bar, and a line per date when it is written.

    Yields ``(on_progress, on_date)`` for :func:`shopflow.pipeline.clean_range`."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn(),
               TextColumn("tasks of the running stages, {task.fields[dates]}/" + str(n_dates) + " dates written"),
               TimeElapsedColumn())
    with _lazy(columns, description, total=None, dates=0) as bar:
        written = 0

        def on_progress(done: int, total: int) -> None:
            bar.update(completed=done, total=total)

        def on_date(manifest: dict) -> None:
            nonlocal written
            written += 1
            bar.update(dates=written)
            bar.print(f"  {manifest['event_date']}: {manifest['rows_in']:,} rows in, {manifest['rows_valid']:,} valid, "
                      f"{manifest['duplicates_dropped']:,} duplicates, {manifest['rows_quarantined']:,} quarantined")

        yield on_progress, on_date
        if bar.task is not None:  # the job is done: every task of its last stage too
            total = bar.bar.tasks[0].total
            bar.update(completed=total if total is not None else 0)
