"""The ``shopflow`` command.

Each sub-command lives in its own module, imported only when it runs, so
``shopflow --help`` and every command start fast. A command module provides
``add_arguments(parser)`` and ``run(args) -> int | None``.

The error boundary: a user error (:class:`shopflow.errors.UserError`, a bad argument, a bad
setting) prints ONE line, ``shopflow <command>: <problem and what to do>``, and exits 2. A
step that ran and failed (:class:`shopflow.errors.JobFailed`: a Spark job, a DAG run) prints
one line with its error and log file, and exits 1. Any other exception keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

#: name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("shopflow.generate", "write a synthetic REES46-format event log, one landing file per day"),
    "land": ("shopflow.landing", "split a real monthly export into daily landing files"),
    "clean": ("shopflow.clean", "run the Spark cleaning job for a date or a date range"),
    "load": ("shopflow.warehouse.cli", "load lake partitions into the warehouse events table"),
    "marts": ("shopflow.marts", "build the SQL marts and run the data-quality checks"),
    "train": ("shopflow.train", "train and evaluate the recommenders, tracked in MLflow"),
    "recommend": ("shopflow.recommend.serve", "print recommendations for a user and/or an item"),
    "publish": ("shopflow.publish", "publish recommendations from the champion models to the warehouse"),
    "report": ("shopflow.report", "write the self-contained HTML dashboard"),
    "demo": ("shopflow.demo", "run the whole pipeline on a sample month through Airflow"),
    "airflow": ("shopflow.airflow_local", "the local Airflow stack: standalone, backfill, run, mlflow-ui"),
}


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors raised as UserError (one line) instead of usage + exit."""

    def error(self, message: str):
        from shopflow.errors import JobFailed, UserError

        raise UserError(f"{message} (see `{self.prog} --help`)")


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shopflow",
        description="E-commerce event log -> lake -> warehouse marts -> recommenders -> dashboard.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    from shopflow.runtime import apply_defaults

    apply_defaults()
    # MLflow announces creating and migrating its store at INFO on a first run: not the user's concern.
    for noisy in ("mlflow.store.db.utils", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        parser = _top_parser()
        if not argv or argv[0] in ("-h", "--help"):
            parser.print_help()
            return 0
        print(f"shopflow: unknown command {argv[0]!r}; the commands are {', '.join(COMMANDS)}"
              " (see `shopflow --help`)", file=sys.stderr)
        return 2
    name = argv[0]
    module_name, help_text = COMMANDS[name]
    from shopflow.config import ConfigError
    from shopflow.errors import JobFailed, UserError

    try:
        module = importlib.import_module(module_name)
        parser = _Parser(prog=f"shopflow {name}", description=help_text)
        module.add_arguments(parser)
        args = parser.parse_args(argv[1:])
        result = module.run(args)
    except UserError as exc:
        print(f"shopflow {name}: {exc.one_line()}", file=sys.stderr)
        return 2
    except JobFailed as exc:
        print(f"shopflow {name}: {exc.one_line()}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"shopflow {name}: {exc} (fix the environment variable)", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
