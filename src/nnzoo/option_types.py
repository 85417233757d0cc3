"""The declared kind and range of every model (``-o``) and dataset (``-d``) option.

An option's kind follows its default (true/false for a flag, a whole number for a count, a
number for a rate, text for a name); a number's range is declared here by the option's name,
which means the same in every model that takes it (``dropout`` is a probability in all of
them), with the odd exception declared per owner. Both are checked before anything is built,
and the message names the option, the value given and what is accepted:

    Model 'mlp' option dropout must be a finite number >= 0 and < 1; got 2.

``tests/test_bad_input.py`` checks that every numeric option of every registered model and
dataset has a range declared here.
"""

from __future__ import annotations

from nnzoo.errors import NnzooError
from nnzoo.settings import Range

COUNT = Range(whole=True, low=1, high=10 ** 7)  # a size: units, channels, steps, samples
RATE = Range(whole=False, low=0, high=1, high_open=True)  # a probability that must leave some
SHARE = Range(whole=False, low=0, high=1)  # a probability or fraction, 1 included
POSITIVE = Range(whole=False, low=0, low_open=True)
NON_NEGATIVE = Range(whole=False, low=0)
ANY = Range(whole=False)
SEED = Range(whole=True, low=0, high=2 ** 63 - 1)

# Options that are not a single number: one size or a list of them (hidden=256,128), one
# character (a CSV delimiter), or free text (a path, an alphabet).
SIZES, CHARACTER, TEXT = "sizes", "character", "text"
EACH = "each"  # a finite number, or one per unit (a list or a tensor of finite numbers)

MODEL_OPTIONS = {
    "num_classes": COUNT, "classes": COUNT, "in_channels": COUNT, "in_features": COUNT,
    "input_size": COUNT, "hidden": SIZES, "hidden_size": COUNT, "embed_size": COUNT,
    "code_size": COUNT, "z_dim": COUNT, "centres": COUNT, "size": COUNT, "visible": COUNT,
    "steps": COUNT, "window": COUNT, "src_len": COUNT, "num_layers": COUNT,
    "image_size": COUNT, "branch3_kernel": COUNT, "width": COUNT, "widths": SIZES,
    "sizes": SIZES, "periods": SIZES, "alphabet": TEXT, "noise": TEXT,
    "dropout": RATE, "noise_level": SHARE, "weight_decay": NON_NEGATIVE,
    "temperature": POSITIVE, "rbf_temperature": POSITIVE, "width_scale": POSITIVE,
    "threshold": EACH,
}
DATA_OPTIONS = {
    "T": COUNT, "copies": COUNT, "digits": COUNT, "length": COUNT, "max_len": COUNT,
    "min_len": COUNT, "n_train": COUNT, "n_val": COUNT, "n_test": COUNT, "seq_len": COUNT,
    "side": COUNT, "window": COUNT, "noise": NON_NEGATIVE, "tau": POSITIVE, "seed": SEED,
    "column": Range(whole=True, low=0), "delimiter": CHARACTER, "path": TEXT, "letters": TEXT,
}
# (owner, option): a declaration that differs from the name's usual one.
OVERRIDES = {
    ("letters", "noise"): SHARE,  # the share of pixels flipped
    ("rbf", "width"): None,  # a rule's name, shared or nearest, that the model checks
}
ALSO_NAMES = {"column"}  # a number, or a name (a CSV column's header)


def declared(owner_name: str, key: str, table: dict):
    """What option ``key`` of ``owner_name`` accepts: a Range, SIZES, CHARACTER or TEXT; None
    when nothing is declared (a name the owner checks against its own list, a flag)."""
    return OVERRIDES.get((owner_name, key), table.get(key))


def _flat(values):
    for v in values:
        yield from _flat(v) if isinstance(v, (list, tuple)) else (v,)


def _kind_ok(value, default) -> tuple[bool, str]:
    """Whether ``value`` is of the kind of ``default``, and that kind in words."""
    if isinstance(default, bool):
        return isinstance(value, bool), "true or false"
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool), "a whole number"
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    if isinstance(default, str):
        return isinstance(value, str), "a name"
    return True, ""


def check_option(owner: str, owner_name: str, key: str, value, default, table: dict) -> None:
    """Refuse ``value`` for option ``key`` unless it is of its default's kind and within what
    is declared for it. ``owner`` names who takes it in the message ("Model 'seq2seq'"); a
    value of None leaves the choice to the owner (its default)."""
    if value is None:
        return
    spec = declared(owner_name, key, table)
    label = f"{owner} option {key}"
    if spec == SIZES:
        sizes = value if isinstance(value, (tuple, list)) else (value,)
        if not sizes or not all(COUNT.accepts(v) for v in sizes):
            raise NnzooError(f"{label} must be {COUNT.words()}, or a list of them separated by "
                             f"commas (e.g. {key}=256,128); got {value!r}.")
        return
    if spec == EACH:
        values = value.tolist() if hasattr(value, "tolist") else value
        values = values if isinstance(values, (list, tuple)) else [values]
        if not all(ANY.accepts(v) for v in _flat(values)):
            raise NnzooError(f"{label} must be a finite number, or one per unit (a list or a "
                             f"tensor of finite numbers); got {value!r}.")
        return
    if spec in (CHARACTER, TEXT):
        if not isinstance(value, str) or (spec == CHARACTER and len(value) != 1):
            wanted = "one character" if spec == CHARACTER else "text"
            raise NnzooError(f"{label} must be {wanted}; got {value!r}.")
        return
    if key in ALSO_NAMES and isinstance(value, str):
        return  # a name: the owner looks it up
    if isinstance(spec, Range) and (default is None or key in ALSO_NAMES):
        default = 0 if spec.whole else 0.0  # the kind the range declares
    ok, wanted = _kind_ok(value, default)
    if not ok:
        raise NnzooError(f"{label} must be {wanted}; got {value!r}.")
    if isinstance(spec, Range) and not spec.accepts(value):
        raise NnzooError(f"{label} must be {spec.words()}; got {value!r}.")
