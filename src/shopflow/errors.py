"""User errors and the argument types that report them.

A :class:`UserError` is a problem with what the user asked for (a bad date, an option out of
range, a missing or empty file, an unknown layout, an empty warehouse). ``shopflow`` prints its
message as ONE line, ``shopflow <command>: <message>``, and exits 2; any other exception keeps
its traceback. The message names the problem and what to do about it.

The argument types below turn a bad value into argparse's error, which the CLI reports the
same way; they run before any JVM or Airflow starts.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path


class UserError(Exception):
    """Something the user asked for cannot be done as asked; the message says what to do."""

    def one_line(self) -> str:
        return " ".join(part.strip() for part in str(self).splitlines() if part.strip())


def date_arg(text: str) -> dt.date:
    """An argparse type: ``YYYY-MM-DD``."""
    from shopflow.dates import as_date

    try:
        return as_date(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write YYYY-MM-DD, e.g. 2019-11-01") from None


def _number(text: str, cast, minimum, maximum=None, what: str = "a number"):
    try:
        value = cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if value != value or value < minimum or (maximum is not None and value > maximum):
        bound = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise argparse.ArgumentTypeError(f"{text} is out of range: give {what} {bound}")
    return value


def int_range(minimum: int, maximum: int | None = None):
    """An argparse type: a whole number in [minimum, maximum]."""

    def parse(text: str) -> int:
        return _number(text, int, minimum, maximum, "a whole number")

    parse.__name__ = "whole number"
    return parse


def positive_float(text: str) -> float:
    """An argparse type: a number above 0."""
    value = _number(text, float, 0.0, None, "a number")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is out of range: give a number above 0")
    return value


def existing_file(path: str | Path, what: str = "file") -> Path:
    """``path`` if it is a non-empty file; a UserError naming the problem otherwise."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such {what}; check the path")
    if not path.is_file():
        raise UserError(f"{path} is not a file; give the path of the {what}")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: the {what} is empty")
    return path


class JobFailed(RuntimeError):
    """A step ran and failed (a Spark job, a DAG run): the message names the step, the error and
    the log file to read. The CLI prints it as one line and exits 1."""

    def one_line(self) -> str:
        return " ".join(part.strip() for part in str(self).splitlines() if part.strip())


class ParamError(UserError, ValueError):
    """A parameter value out of range or unknown (still a ValueError for library callers)."""


def checked(check, *args, **kwargs):
    """Call a parameter check; its ValueError becomes a ParamError with the same message."""
    try:
        return check(*args, **kwargs)
    except ParamError:
        raise
    except ValueError as exc:
        raise ParamError(str(exc)) from exc


class NotReady(UserError, RuntimeError):
    """A step's inputs are not there yet (no events loaded, no champion model): the message says
    which step to run first. Still a RuntimeError for callers that catch one."""
