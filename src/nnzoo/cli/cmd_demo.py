"""``nnzoo demo NAME``: run a one-command demonstration that writes pictures."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="run a demonstration that writes pictures (--list shows them)",
                       description="Run a demonstration and write its PNG pictures to a folder.")
    p.add_argument("name", nargs="?", help="demo to run (see --list)")
    p.add_argument("--list", action="store_true", help="list the demos and exit")
    p.add_argument("--out", default=None, help="folder for the pictures (default runs/demo-NAME)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(run=run)


def run(args) -> int:
    from pathlib import Path

    from nnzoo.demos import get_demo, list_demos
    from nnzoo.errors import NnzooError

    if args.list or not args.name:
        for name, description in list_demos().items():
            print(f"{name:<14} {description}")
        return 0
    demo = get_demo(args.name)
    out = Path(args.out or f"runs/demo-{args.name}")
    out.mkdir(parents=True, exist_ok=True)
    paths = demo.run(out, seed=args.seed)
    if not paths:
        raise NnzooError(f"demo {args.name!r} wrote no pictures")
    for path in paths:
        print(f"wrote {path}")
    return 0
