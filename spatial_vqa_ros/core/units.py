"""Metres to the units people say. SI inside; conversion happens only when rendering."""

from __future__ import annotations

from dataclasses import dataclass

_M_PER_INCH = 0.0254
_M_PER_FOOT = 0.3048
_NAMES = {"cm": ("centimeter", "centimeters"), "m": ("meter", "meters"),
          "in": ("inch", "inches"), "ft": ("foot", "feet")}


@dataclass(frozen=True)
class Quantity:
    """A length rounded the way a person would say it."""

    value: float
    unit: str  # "cm", "m", "in", "ft"
    #: Decimals shown: small lengths keep one so rounding stays within a few percent.
    decimals: int = 0

    def text(self) -> str:
        singular, plural = _NAMES[self.unit]
        number = f"{self.value:.{self.decimals}f}"
        return f"{number} {singular if number == '1' else plural}"


def colloquial_length(metres: float, system: str = "metric") -> Quantity:
    """Round a length to a colloquial unit.

    metric: centimetres with two decimals below 1 cm, one below 10 cm, whole
    centimetres below 1 m, metres with two decimals above; imperial: inches with two
    decimals below 1 in, one below 4 in, whole inches below 3 ft, feet with one
    decimal above. The shown number stays within 5% of the measured one.
    """
    if system == "imperial":
        inches = metres / _M_PER_INCH
        if inches < 1.0:
            return Quantity(round(inches, 2), "in", 2)
        if inches < 4.0:
            return Quantity(round(inches, 1), "in", 1)
        if inches < 36.0:
            return Quantity(round(inches), "in")
        return Quantity(round(metres / _M_PER_FOOT, 1), "ft", 1)
    if metres < 0.01:
        return Quantity(round(metres * 100.0, 2), "cm", 2)
    if metres < 0.1:
        return Quantity(round(metres * 100.0, 1), "cm", 1)
    if metres < 1.0:
        return Quantity(round(metres * 100.0), "cm")
    return Quantity(round(metres, 2), "m", 2)


def to_metres(value: float, unit: str) -> float:
    factors = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": _M_PER_INCH, "ft": _M_PER_FOOT}
    return value * factors[unit]
