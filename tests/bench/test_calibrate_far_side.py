"""The far-side prior's calibration rule (bench/calibrate_far_side.py): a k that is a
bound and keeps far-side statements accurate, refusing least."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "bench" / "calibrate_far_side.py"
_SPEC = importlib.util.spec_from_file_location("calibrate_far_side", _PATH)
calibrate = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = calibrate  # its dataclasses look their module up
_SPEC.loader.exec_module(calibrate)


def _outcome(k, stated, within, refused_all):
    return calibrate.Outcome(k, stated, within, 0, 0, 0, refused_all)


def test_the_bound_that_refuses_least_among_accurate_ones_is_chosen():
    outcomes = [_outcome(0.3, 100, 99, 10),  # refuses least, but is no bound
                _outcome(1.5, 90, 90, 20), _outcome(2.0, 80, 80, 30)]
    assert calibrate.choose_k(outcomes, required_k=1.45).k == 1.5


def test_a_bound_with_too_many_misses_is_passed_over():
    outcomes = [_outcome(1.5, 100, 97, 20), _outcome(2.0, 100, 99, 30)]
    assert calibrate.choose_k(outcomes, required_k=1.45).k == 2.0


def test_no_accurate_bound_is_an_error_naming_the_shares():
    with pytest.raises(ValueError, match=r"no k >= 1.45 keeps .* k=1.5: 90.0%"):
        calibrate.choose_k([_outcome(1.5, 100, 90, 20), _outcome(1.0, 100, 99, 5)],
                           required_k=1.45)
