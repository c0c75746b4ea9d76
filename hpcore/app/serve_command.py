"""The options of ``hpexplorer serve``: light, so the command line answers at once.

The server itself (:mod:`hpcore.app.serve`, Bokeh, the engine) is imported
only when the command runs.
"""

from __future__ import annotations

import argparse

from .common import Command, add_data_options
from .serve_settings import DEFAULT_PORT, EXTRA, FORMATS


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``hpexplorer serve`` to its sub-parser."""
    add_data_options(parser)
    parser.add_argument(
        "--port",
        metavar="P",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on (default: {DEFAULT_PORT}; 0: any free port)",
    )
    parser.add_argument(
        "--host",
        metavar="H",
        help="address to listen on (default: 127.0.0.1, this machine only); "
        "another address lets other machines see the data and save reports",
    )
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="do not open the page in a web browser",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default="report",
        help="folder the page's 'save report' writes (as hpexplorer report "
        "--out; default: report)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="png",
        help="figure format of saved reports (default: png)",
    )
    parser.epilog = (
        "Opens one page with the linked views: histogram (drag to brush a "
        "range), pair matrix (click a cell to filter), importance, trellis, "
        "the selected networks and 'save report'. The state of the page is in "
        "its address. Needs the 'serve' extra: " + EXTRA + "."
    )


def run(args: argparse.Namespace) -> int:
    """Run ``hpexplorer serve`` (imports the server only now)."""
    from . import serve

    return serve.run(args)


COMMAND = Command(
    help="serve the paper's linked views as one interactive page in the browser "
    "(needs the 'serve' extra)",
    configure=configure,
    run=run,
    examples=(
        ("hpexplorer serve", "the built-in ensemble at http://127.0.0.1:5006"),
        (
            "hpexplorer serve runs.csv --metric val_acc --no-browser --port 8080",
            "your networks; open the printed address yourself",
        ),
    ),
)
