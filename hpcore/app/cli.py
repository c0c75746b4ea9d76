"""The ``hpexplorer`` command line: one sub-command per module of :mod:`hpcore.app`.

This module only dispatches; the options the commands share live in
:mod:`hpcore.app.common`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..data.errors import HpcoreError
from .common import Command


def commands() -> dict[str, Command]:
    """The available sub-commands, by name."""
    from . import findings, report

    return {"report": report.COMMAND, "findings": findings.COMMAND}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command."""
    parser = _Parser(
        prog="hpexplorer",
        description="Visual analysis of the impact of neural-network hyper-parameters.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in commands().items():
        child = sub.add_parser(name, help=command.help, description=command.help)
        command.configure(child)
        child.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``hpexplorer``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except HpcoreError as err:
        print(f"hpexplorer {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hpexplorer {args.command}: interrupted", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
