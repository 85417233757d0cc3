"""``nnzoo``: one sub-command per module of this package.

Each command module has ``add_parser(subparsers)`` and ``run(args) -> int``. Modules import
torch only inside ``run``, so ``nnzoo --help`` answers at once. Bad input raises
:class:`nnzoo.errors.NnzooError`, printed here as one paragraph with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Order is the order `nnzoo --help` lists them.
COMMANDS = ("train", "eval", "predict", "export", "list", "info", "summary", "show", "data",
            "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnzoo",
        description="Build, train, evaluate and explain the classic neural-network architectures.",
        epilog="Run `nnzoo COMMAND --help` for a command's options. "
               "`nnzoo train` with no arguments trains LeNet-5 on the embedded digits.")
    from nnzoo import __version__

    parser.add_argument("--version", action="version", version=f"nnzoo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"nnzoo.cli.cmd_{name}").add_parser(sub)
    return parser


def _fail(message: str) -> int:
    print(f"nnzoo: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


def _print_paths_as_bytes() -> None:
    """A path named in another encoding than UTF-8 is held by Python with surrogate escapes;
    printing it writes its own bytes back, as `ls` does, rather than failing."""
    for stream in (sys.stdout, sys.stderr):
        if callable(getattr(stream, "reconfigure", None)):
            try:
                stream.reconfigure(errors="surrogateescape")
            except (ValueError, OSError):  # pragma: no cover - a stream that cannot change
                pass


def _warnings_as_one_line() -> None:
    """An nnzoo warning (a diverging loss, say) is printed as ``nnzoo: warning: ...``, like
    an error, not with Python's file, line and source."""
    import warnings

    shown = warnings.showwarning
    if getattr(shown, "nnzoo", False):
        return  # installed by an earlier call

    def show(message, category, filename, lineno, file=None, line=None):
        if category.__module__.startswith("nnzoo"):
            print(f"nnzoo: warning: {' '.join(str(message).split())}", file=file or sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    show.nnzoo = True
    warnings.showwarning = show


def main(argv: list[str] | None = None) -> int:
    _print_paths_as_bytes()
    _warnings_as_one_line()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from nnzoo.errors import NnzooError

    try:
        return int(args.run(args) or 0)
    except NnzooError as err:
        return _fail(str(err))
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (nnzoo.train.signals.Stopped)
        by = f" by {stop.signal_name}" if hasattr(stop, "signal_name") else ""
        _fail(f"interrupted{by}; nothing half-written was left behind (files are written to a "
              f"temporary name and renamed when complete).")
        return getattr(stop, "exit_status", 130)  # 128 + the signal, as shells report it
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except OSError as err:  # the machine's refusal (permissions, a full or read-only disk...)
        from nnzoo.os_errors import explain

        return _fail(str(explain(err)))


def _quiet_broken_pipe() -> int:
    """The reader went away (`nnzoo list | head`): stop quietly, as other command-line tools
    do. Output still buffered would raise again when Python flushes it at exit, so standard
    output is pointed at the null device first."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 141  # 128 + SIGPIPE, as shells report a tool stopped by a closed pipe


if __name__ == "__main__":
    sys.exit(main())
