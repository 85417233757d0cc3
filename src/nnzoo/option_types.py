"""Option values checked against the kind of their default, for models and datasets alike."""

from __future__ import annotations

from nnzoo.errors import NnzooError


def check_option_type(owner: str, key: str, value, default) -> None:
    """A value of the kind the option's default has: true/false for a flag, a whole number for
    a count, a number for a rate, text for a name. None is left to the owner, and options
    without a plain default (None, tuples, paths...) are not checked. ``owner`` names who takes
    the option in the message, e.g. "Model 'seq2seq'"."""
    if value is None or default is None:
        return
    if isinstance(default, bool):
        ok, wanted = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, wanted = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif isinstance(default, float):
        ok, wanted = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    elif isinstance(default, str):
        ok, wanted = isinstance(value, str), "a name"
    else:
        return
    if not ok:
        raise NnzooError(f"{owner} option {key} must be {wanted} (its default is {default!r}); "
                         f"got {value!r}.")
