"""Metres to the units people say. SI inside; conversion happens only when rendering."""

from __future__ import annotations

from dataclasses import dataclass

_M_PER_INCH = 0.0254
_M_PER_FOOT = 0.3048


@dataclass(frozen=True)
class Quantity:
    """A length rounded the way a person would say it."""

    value: float
    unit: str  # "cm", "m", "in", "ft"

    def text(self) -> str:
        names = {"cm": "centimeters", "m": "meters", "in": "inches", "ft": "feet"}
        if self.unit in ("cm", "in"):
            return f"{self.value:.0f} {names[self.unit]}"
        digits = 1 if self.unit == "ft" else 2
        return f"{self.value:.{digits}f} {names[self.unit]}"


def colloquial_length(metres: float, system: str = "metric") -> Quantity:
    """Round a length to a colloquial unit: cm below 1 m, else metres (2 decimals);
    imperial: inches below 3 ft, else feet (1 decimal)."""
    if system == "imperial":
        feet = metres / _M_PER_FOOT
        if feet < 3.0:
            return Quantity(round(metres / _M_PER_INCH), "in")
        return Quantity(round(feet, 1), "ft")
    if metres < 1.0:
        return Quantity(round(metres * 100.0), "cm")
    return Quantity(round(metres, 2), "m")


def to_metres(value: float, unit: str) -> float:
    factors = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": _M_PER_INCH, "ft": _M_PER_FOOT}
    return value * factors[unit]
