"""The training settings' declared ranges: what each accepts, checked before any work starts.

One table serves ``nnzoo.fit`` (the keyword names) and the command line (the flags), so a value
outside its range is refused in the same words from both, naming the setting, the value given
and what is accepted:

    --lr must be a finite number > 0; got nan.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from nnzoo.errors import NnzooError


def _number(value: float) -> str:
    """1e7 as 10,000,000 and 0.5 as 0.5."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class Range:
    """A number: whole or not, within [low, high] (an end is open when ``*_open``), finite."""

    whole: bool
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def accepts(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.whole and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def words(self) -> str:
        kind = "a whole number" if self.whole else "a finite number"
        ends = []
        if self.low is not None:
            ends.append(f"{'>' if self.low_open else '>='} {_number(self.low)}")
        if self.high is not None:
            ends.append(f"{'<' if self.high_open else '<='} {_number(self.high)}")
        return f"{kind} {' and '.join(ends)}".strip()


SETTINGS = {
    "epochs": Range(whole=True, low=1),
    "batch_size": Range(whole=True, low=1),
    "lr": Range(whole=False, low=0, low_open=True),
    "momentum": Range(whole=False, low=0, high=1, high_open=True),
    "weight_decay": Range(whole=False, low=0),
    "schedule_c": Range(whole=False, low=0, low_open=True),
    "schedule_step": Range(whole=True, low=1),
    "patience": Range(whole=True, low=1),
    "clip_grad_norm": Range(whole=False, low=0, low_open=True),
    "seed": Range(whole=True, low=0, high=2 ** 63 - 1),  # what torch.manual_seed takes
    "beta1": Range(whole=False, low=0, high=1, high_open=True),
    "bptt": Range(whole=True, low=1),
    "sample_every": Range(whole=True, low=1),
    "input_noise": Range(whole=False, low=0),  # σ, in the units of the standardised input
    "weight_noise": Range(whole=False, low=0),
    "input_dropout": Range(whole=False, low=0, high=1, high_open=True),  # p must leave some
    "adversarial": Range(whole=False, low=0),  # FGSM's ε
}
CHOICES = {"second_run": ("fresh", "continue"),  # one of these (or null: the default)
           "precision": ("auto", "32", "bf16", "fp16"),
           "compile_mode": ("default", "reduce-overhead", "max-autotune")}
SWITCHES = ("compile", "channels_last", "deterministic")  # true or false (or null: the default)
DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def check_setting(name: str, value, label: str | None = None) -> None:
    """Refuse ``value`` for setting ``name`` when it is outside its declared range. ``label``
    names it in the message (``--lr`` on the command line); None values mean "the default"."""
    if value is None:
        return
    label = label or name
    if name == "device":
        if not isinstance(value, str) or not DEVICE.match(value):
            raise NnzooError(f"{label} must be cpu, cuda, cuda:N, mps or auto; got {value!r}.")
        return
    if name in SWITCHES:
        if not isinstance(value, bool):
            raise NnzooError(f"{label} must be true or false; got {value!r}.")
        return
    if name in CHOICES:
        if str(value) not in CHOICES[name] or isinstance(value, bool):
            raise NnzooError(f"{label} must be one of {', '.join(CHOICES[name])}; got {value!r}.")
        return
    declared = SETTINGS.get(name)
    if declared is not None and not declared.accepts(value):
        raise NnzooError(f"{label} must be {declared.words()}; got {value!r}.")


def check_settings(settings: dict, flag_names: bool = False) -> None:
    """:func:`check_setting` for each of ``settings``; with ``flag_names`` the message names the
    command-line flag (``batch_size`` as ``--batch-size``)."""
    for name, value in settings.items():
        check_setting(name, value, "--" + name.replace("_", "-") if flag_names else None)
