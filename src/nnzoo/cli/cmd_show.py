"""``nnzoo show VIEW ...``: pictures of a model or a run (filters, maps, gradients, …).

Each view is a module ``nnzoo.cli.show_<view>`` with ``add_parser(subparsers)`` and
``run(args) -> int``, listed in ``VIEWS``.
"""

from __future__ import annotations

import importlib

VIEWS: tuple[str, ...] = ("filters", "maps", "gradients", "deconv")


def add_parser(sub) -> None:
    p = sub.add_parser("show", help="draw pictures of a model or a run",
                       description="Draw a picture of a trained run or a model and say where it "
                                   "was written.")
    views = p.add_subparsers(dest="view", metavar="VIEW")
    for name in VIEWS:
        importlib.import_module(f"nnzoo.cli.show_{name}").add_parser(views)
    p.set_defaults(run=lambda args: (p.print_help(), 0)[1])
