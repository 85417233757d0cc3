"""Parsing helpers shared by the commands (no torch imports here)."""

from __future__ import annotations

import ast


def parse_value(text: str):
    """``3`` → 3, ``0.5`` → 0.5, ``256,128`` → (256, 128), ``true`` → True, else the string."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_pairs(pairs: list[str] | None, what: str) -> dict:
    """``["hidden=256,128", "dropout=0.2"]`` → {"hidden": (256, 128), "dropout": 0.2}."""
    from nnzoo.errors import NnzooError

    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise NnzooError(f"{what} {pair!r} is not of the form KEY=VALUE (for example "
                             f"hidden=256,128 or dropout=0.2).")
        options[key.strip().replace("-", "_")] = parse_value(value)
    return options


def add_model_options(parser) -> None:
    parser.add_argument("-o", "--option", action="append", metavar="KEY=VALUE",
                        help="a model option, repeatable (see `nnzoo info MODEL`), e.g. -o hidden=256,128")
