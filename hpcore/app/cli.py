"""The ``hpexplorer`` command line: one sub-command per module of :mod:`hpcore.app`.

This module only dispatches; the options the commands share live in
:mod:`hpcore.app.common`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import textwrap
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, NoReturn, TextIO

if TYPE_CHECKING:
    from .common import Command


def commands() -> dict[str, Command]:
    """The available sub-commands, by name."""
    from . import findings, report, serve_command

    return {
        "report": report.COMMAND,
        "findings": findings.COMMAND,
        "serve": serve_command.COMMAND,
    }


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _epilog(text: str | None, examples: Sequence[tuple[str, str]]) -> str:
    """The end of a --help: the command's notes, wrapped, then its examples."""
    parts = [textwrap.fill(text, 79)] if text else []
    if examples:
        lines = ["examples:"]
        for line, comment in examples:
            lines += [f"  # {comment}", f"  {line}"]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _version() -> str:
    """The installed distribution's version (no import of the package root)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hpexplorer")
    except PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        return "(not installed)"


EXAMPLES = (
    ("hpexplorer report", "the paper's views of the built-in synthetic ensemble"),
    (
        "hpexplorer report trainings.csv --metric test_acc --range 0.9 1",
        "your trainings: the top networks against all",
    ),
    ("hpexplorer findings trainings.csv", "rank what moves the metric"),
)


def build_parser() -> tuple[
    argparse.ArgumentParser, dict[str, argparse.ArgumentParser]
]:
    """The top-level parser, and one sub-parser per command by name."""
    parser = _Parser(
        prog="hpexplorer",
        description="Visual analysis of the impact of neural-network hyper-parameters.",
        epilog=_epilog(None, EXAMPLES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    children: dict[str, argparse.ArgumentParser] = {}
    for name, command in commands().items():
        child = sub.add_parser(
            name,
            help=command.help,
            description=command.help,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.configure(child)
        child.epilog = _epilog(child.epilog, command.examples)
        child.set_defaults(run=command.run, uses_blas=command.uses_blas)
        children[name] = child
    return parser, children


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``hpexplorer``; returns the exit status.

    Ctrl-C at any point, imports and argument parsing included, ends the
    command with status 130 and one line, never a traceback.
    """
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("hpexplorer: interrupted", file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    from ..data.errors import HpcoreError
    from .common import cli_message, one_blas_thread
    from .output import Terminated, signals_end_the_run

    parser, children = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # named by the command they were given to
        children[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    data = getattr(args, "data", None)
    if data is not None and not str(data).strip():
        children[args.command].error(
            "DATA: the name is empty; name a file or folder, or leave DATA out "
            "for the built-in ensemble"
        )
    if not args.uses_blas:
        one_blas_thread()  # before the command imports numpy and scipy
    try:
        with signals_end_the_run(), _warnings_as_lines():
            status: int = args.run(args)
    except HpcoreError as err:
        print(
            f"hpexplorer {args.command}: error: {cli_message(str(err))}",
            file=sys.stderr,
        )
        return 2
    except Terminated as stop:
        print(f"hpexplorer {args.command}: stopped by {stop}", file=sys.stderr)
        return 128 + stop.signum
    except KeyboardInterrupt:
        print(f"hpexplorer {args.command}: interrupted", file=sys.stderr)
        return 130
    return status


@contextlib.contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """hpcore's warnings (e.g. NWS networks without an accuracy) as one
    line each, ``hpexplorer: warning: ...``, not Python's
    ``file:line: Category: ...`` with a line of source; others as Python
    shows them."""
    home = os.path.dirname(os.path.dirname(os.path.realpath(__file__))) + os.sep
    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: TextIO | None = None,
            line: str | None = None,
        ) -> None:
            if os.path.realpath(filename).startswith(home):
                print(f"hpexplorer: warning: {message}", file=sys.stderr)
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
