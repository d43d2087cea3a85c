"""The ``shopflow`` command.

Each sub-command lives in its own module, imported only when it runs, so
``shopflow --help`` and every command start fast. A command module provides
``add_arguments(parser)`` and ``run(args) -> int | None``.
"""

from __future__ import annotations

import argparse
import importlib
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
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        parser = _top_parser()
        if not argv or argv[0] in ("-h", "--help"):
            parser.print_help()
            return 0
        parser.error(f"unknown command {argv[0]!r}")
    name = argv[0]
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"shopflow {name}", description=help_text)
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    result = module.run(args)
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
