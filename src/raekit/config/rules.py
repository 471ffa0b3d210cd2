"""One table of rules for every RunConfig field: what a valid value is, checked whenever a config
is built (make_config, --set, a config.yaml read back), so a bad value fails at once, before any
training, with the field's name and the rule.

The type comes from the field's annotation (checked in raekit.config); RULES adds the range or the
allowed names. Every field must have an entry (tests check it): a new field gets one here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from raekit.config.dataset_specs import DATASET_SPECS, OWN_DATA
from raekit.config.presets import PRESETS
from raekit.errors import RaekitError, unknown


@dataclass(frozen=True)
class Rule:
    """A test of a value already of the field's type, and what a valid value is, in words."""

    test: Callable[[Any], bool]
    wanted: str
    names: Callable[[], tuple[str, ...]] | None = None  # a name from a table: 'did you mean'

    def check(self, key: str, value: Any) -> None:
        if self.names is not None:
            if value not in self.names():
                raise unknown(key, value, self.names())
        elif not self.test(value):
            raise RaekitError(f"config {key} must be {self.wanted}, got {value!r}")


def at_least(low: int, none: str = "") -> Rule:
    return Rule(lambda v: v >= low, f"at least {low}{none}")


def number(low: float, high: float = math.inf, low_open: bool = False, wanted: str = "") -> Rule:
    """A finite number in [low, high] ((low, high] with low_open); NaN and infinity never pass."""
    if not wanted and high == math.inf:
        wanted = f"a finite number {'>' if low_open else '>='} {low:g}"
    elif not wanted:
        wanted = f"a finite number in {'(' if low_open else '['}{low:g}, {high:g}]"

    def test(v: float) -> bool:
        return math.isfinite(v) and (v > low if low_open else v >= low) and v <= high

    return Rule(test, wanted)


def one_of(*choices: str) -> Rule:
    return Rule(lambda v: v in choices, " or ".join(map(repr, choices)), lambda: choices)


def named(table: Callable[[], Any], what: str) -> Rule:
    return Rule(lambda v: True, what, lambda: tuple(table()))


_DEVICE_NAME = re.compile(r"(auto|cpu|cuda|mps|xpu)(:\d+)?")


def is_device_name(name: str) -> bool:
    """Whether `name` is a device raekit accepts: auto, cpu, cuda, cuda:N, mps or xpu."""
    return _DEVICE_NAME.fullmatch(name) is not None and not name.startswith("auto:")


ANY_BOOL = Rule(lambda v: True, "true or false")
ANY_PATH = Rule(lambda v: v != "", "a folder, or none for raekit's cache")
ALL = ", or none for all"

RULES: dict[str, Rule] = {
    # what is trained
    "dataset": named(lambda: (*DATASET_SPECS, OWN_DATA), "a known dataset"),
    "model": Rule(lambda v: True, "a known model"),  # raekit.config looks it up (get_variant)
    "preset": named(lambda: PRESETS, "a known preset"),
    "data_root": ANY_PATH,
    "data": Rule(lambda v: v != "", "the path of your images"),
    "data_sha256": Rule(
        lambda v: re.fullmatch(r"[0-9a-f]{64}", v) is not None, "a SHA-256 in hex (64 digits)"
    ),
    "resolution": Rule(lambda v: v in (32, 64, 128), "32, 64 or 128"),
    "channels": Rule(lambda v: v in (1, 3), "1 or 3"),
    "data_seed": Rule(lambda v: 0 <= v < 2**63, "an integer in [0, 2^63)"),
    # the networks
    "latent_dim": at_least(1),
    "width": number(1 / 1024, 64.0, wanted="a finite number in [1/1024, 64]"),
    "filters": Rule(lambda v: 1 <= v <= 4096, "an integer in [1, 4096]"),
    "net": one_of("paper", "official"),
    "scale_input": ANY_BOOL,
    "input_noise": number(0.0, 1.0),
    # the loss
    "beta": number(0.0),
    "lam": number(0.0),
    "l2_layers": one_of("all", "transposed"),
    "cv_sigma": number(0.0, low_open=True),
    "gp_estimator": one_of("official", "projection"),
    "gp_projections": at_least(1),
    "sn_all_layers": ANY_BOOL,
    "mc_samples": at_least(1),
    # optimisation
    "epochs": at_least(1),
    "batch_size": at_least(1),
    "lr": number(0.0, low_open=True),
    "lr_factor": Rule(lambda v: 0 < v < 1, "between 0 and 1 (exclusive)"),
    "lr_patience": at_least(0),
    "min_lr": number(0.0),
    "train_limit": at_least(1, ALL),
    "valid_limit": at_least(1, ALL),
    "max_rows": at_least(1, ALL),
    "sequence_recipe": one_of("raekit", "grammarvae"),
    "seed": Rule(lambda v: 0 <= v < 2**63, "an integer in [0, 2^63)"),
    "keep_checkpoints": at_least(1),
    "keep_epochs": Rule(
        lambda v: re.fullmatch(r"(\s*[1-9][0-9]*\s*(,\s*[1-9][0-9]*\s*)*)?", v) is not None,
        'comma-separated epochs, e.g. "8,25,50" (empty: none)',
    ),
    "stop_patience": at_least(1, ", or none for no early stop"),
    "stop_after_cuts": at_least(0),
    "skip_nonfinite": at_least(0),
    "device": Rule(is_device_name, "auto, cpu, cuda, cuda:N, mps or xpu"),
    "engine": one_of("fast", "eager"),
    # ex-post densities
    "gmm_components": at_least(1),
    "gmm_max_iter": at_least(1),
    "two_stage_hidden": at_least(1),
    "two_stage_layers": at_least(1),
    "two_stage_epochs": at_least(1),
    "two_stage_batch": at_least(1),
    "two_stage_lr": number(0.0, low_open=True),
    "two_stage_schedule": one_of("cosine", "plateau"),
    "two_stage_sample_noise": ANY_BOOL,
    # evaluation protocol
    "eval_images": one_of("test", "valid"),
    "rec_sampled": ANY_BOOL,
    "rec_second_stage": ANY_BOOL,
}


def check(key: str, value: Any) -> None:
    """Refuse `value` for field `key` (already of the field's type; None is 'not set')."""
    if value is not None:
        RULES[key].check(key, value)
