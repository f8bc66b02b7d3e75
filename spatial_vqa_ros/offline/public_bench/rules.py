"""The benchmarks' own success rules, as their official scripts compute them.

SpatialRGPT-Bench (``scripts/srgpt/eval/evaluate_spatial_with_gpt4.py``): GPT-4 reads
both texts into metres or a clock hour, then code decides:

- a length is right when ``0.75 g <= p <= 1.25 g`` (inclusive; a band, not the ratio
  rule: 0.76 g passes), its error ``|p - g| / g``;
- a direction is right within one clock hour around the dial;
- a yes/no or which-of-two answer is right when it agrees with the truth;
- an answer that cannot be read is a failure, and is left out of the relative error.

Here our answer verifier's readers take GPT-4's place (the figures say so wherever they
appear); the decisions above are the script's.

Q-Spatial Bench (``examples/evaluate_success_rate.ipynb``, ``QSpatialEvaluator``): the
answer ends with ``\\scalar{...} \\distance_unit{...}``; the last of each is read (the
numbers inside the scalar averaged), converted to cm by the notebook's table, and the
answer is right when ``max(p / g, g / p) < 2``. A unit outside the table counts as cm,
as there; an answer without the two tags is a failure (the notebook raises).
"""

from __future__ import annotations

import math
import re

__all__ = ["QSPATIAL_DELTA", "clock_hours_apart", "qspatial_official_metres",
           "qspatial_success", "relative_error", "spatialrgpt_length_success",
           "unit_metres"]

#: Q-Spatial's success threshold on max(p/g, g/p) (strict, as the notebook).
QSPATIAL_DELTA = 2.0
#: SpatialRGPT-Bench's band around the truth.
SPATIALRGPT_BAND = (0.75, 1.25)
#: The Q-Spatial notebook's ``_get_multiplier`` (to cm), as metres.
_UNIT_METRES = {
    **dict.fromkeys(("meters", "meter", "m", "metre", "metres"), 1.0),
    **dict.fromkeys(("centimeters", "centimeter", "cm", "centimetre", "centimetres"), 0.01),
    **dict.fromkeys(("feet", "foot", "ft"), 0.3048),
    **dict.fromkeys(("inch", "inches", "in"), 0.0254),
    **dict.fromkeys(("mm", "millimeter", "millimeters", "millimetre", "millimetres"), 0.001),
}
_SCALAR = re.compile(r"scalar\{([^}]*)\}")
_UNIT = re.compile(r"distance_unit\{([^}]*)\}")
_NUMBER = re.compile(r"\d+\.?\d*")


def unit_metres(unit: str) -> float | None:
    """Metres per ``unit`` ("centimeter", "ft", ...), None for a unit not in the table."""
    return _UNIT_METRES.get(unit.strip().lower())


def spatialrgpt_length_success(answer_m: float, truth_m: float) -> bool:
    low, high = SPATIALRGPT_BAND
    return low * truth_m <= answer_m <= high * truth_m


def relative_error(answer_m: float, truth_m: float) -> float:
    return abs(answer_m - truth_m) / truth_m


def clock_hours_apart(a: int, b: int) -> int:
    """Hours between two clock positions around the dial (12 and 1: one hour)."""
    difference = abs(int(a) - int(b)) % 12
    return min(difference, 12 - difference)


def qspatial_success(answer_m: float, truth_m: float) -> bool:
    if not (answer_m > 0 and truth_m > 0 and math.isfinite(answer_m)):
        return False
    return max(answer_m / truth_m, truth_m / answer_m) < QSPATIAL_DELTA


def qspatial_official_metres(answer: str) -> float | None:
    """The official notebook's reading of an answer [m]: the last ``\\scalar{}``'s
    numbers averaged, in the last ``\\distance_unit{}`` (cm when it is not in the
    table); None when a tag or a number is missing (a failure there)."""
    scalars, units = _SCALAR.findall(answer), _UNIT.findall(answer)
    if not scalars or not units:
        return None
    numbers = [float(n) for n in _NUMBER.findall(scalars[-1])]
    if not numbers:
        return None
    per_unit = unit_metres(units[-1])
    return sum(numbers) / len(numbers) * (0.01 if per_unit is None else per_unit)
