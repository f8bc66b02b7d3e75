"""Reading what a model answered: lengths with units, yes/no, which of two, clock
positions, bearings and lettered options, from free text.

Why: a VLM under RL fine-tuning answers in its own words ("roughly 4 feet", "Nope,
it's to the right of the lamp", "The answer is (B)"), and a reward that only accepts the
template's wording teaches the template, not the space. Each reader returns what it
found (or None when the text does not say), and a number carries the precision it was
stated with, so "exact" can mean exact at the precision the answer chose.

Rules that matter, documented once here:

- when a text states several lengths (a reasoning chain, "120 cm, about 4 feet"), the
  LAST one is the answer (reasoning answers end with it); adjacent parts of one length
  ("3 feet 2 inches", 3'2", "1 m 20 cm") add up; a range ("1 to 1.5 m") is its middle;
- a number without a unit is read in ``bare_unit`` (metres by default);
- a minus sign ("-1.37 m", "minus 1.37 m", "negative 1.37 m") is kept: a negative
  length is read as stated, and scores as wrong, never as its absolute value; a
  number too large for a float states nothing;
- yes/no: the last explicit yes-word or no-word wins ("No, wait, yes" is yes); without
  one, a stated relation phrase decides, flipped by "not" before it or by naming the
  object first ("B is to the right of A" answers "Is A left of B?" with yes);
- which of two: the one after the last "answer is", else the first one named, matched
  longest expression first so "the red cup" is not read as "the cup".

Pure Python: no numpy, torch or ROS.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["Length", "parse_choice", "parse_clock", "parse_degrees", "parse_length",
           "parse_letter", "parse_yes_no"]

#: metres per unit, by every spelling accepted.
_UNITS = {
    "mm": 0.001, "millimeter": 0.001, "millimeters": 0.001, "millimetre": 0.001,
    "millimetres": 0.001,
    "cm": 0.01, "centimeter": 0.01, "centimeters": 0.01, "centimetre": 0.01,
    "centimetres": 0.01, "cms": 0.01,
    "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0, "mtr": 1.0,
    "km": 1000.0, "kilometer": 1000.0, "kilometers": 1000.0, "kilometre": 1000.0,
    "kilometres": 1000.0,
    "in": 0.0254, "inch": 0.0254, "inches": 0.0254, '"': 0.0254, "\u2033": 0.0254,
    "ft": 0.3048, "foot": 0.3048, "feet": 0.3048, "'": 0.3048, "\u2032": 0.3048,
    "yd": 0.9144, "yard": 0.9144, "yards": 0.9144,
}
_SMALL = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
          "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
          "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
          "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_TENS_WORDS = "|".join(_TENS)
_UNIT_WORDS = "|".join(k for k in _SMALL if k != "zero")
_SMALL_WORDS = "|".join(_SMALL)
_WORD_NUMBER = (rf"(?:(?:{_TENS_WORDS})(?:[\s-](?:{_UNIT_WORDS}))?|(?:{_SMALL_WORDS})"
                rf"(?:\s+hundred)?|a\s+hundred|hundred)")
_DIGIT_WORDS = "|".join(list(_SMALL)[:10])
#: "zero point five": a decimal in words.
_POINT = rf"(?:{_SMALL_WORDS})\s+point(?:\s+(?:{_DIGIT_WORDS}))+"
_DIGITS = r"\d+(?:[.,]\d+)?|\.\d+"
_FRACTION = r"(?:\d+\s+)?\d+\s*/\s*\d+"

# a number: digits, a fraction, words, "a"/"an" (one), with an optional "and a half".
_NUMBER = (rf"(?:{_FRACTION}|{_DIGITS}|{_POINT}|{_WORD_NUMBER}|an?|half\s+an?|half"
           rf"|a\s+quarter|quarter)(?:\s+and\s+an?\s+(?:half|quarter))?")
_UNIT = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_LENGTH = re.compile(
    rf"(?<![\w.])(?P<low>{_NUMBER})(?:\s*(?:-|\u2013|to|or)\s*(?P<high>{_NUMBER}))?"
    rf"\s*(?:of\s+an?\s+)?(?P<unit>{_UNIT})(?![A-Za-z])", re.IGNORECASE)
_BARE = re.compile(rf"(?<![\w./])(?P<low>{_DIGITS})(?![\w./])")
# A minus sign right before a number (not a hyphen inside a word: "about-1"), or the
# word "minus" / "negative".
_SIGN = re.compile(r"(?:(?<![\w-])[-\u2212]|\b(?:minus|negative)\s+)$", re.IGNORECASE)
_WORD_AFTER = re.compile(r"\s+[a-z]")
# "between 1 and 2 m": the first number is the low end of a range.
_BETWEEN = re.compile(rf"between\s+(?P<low>{_NUMBER})\s*(?P<unit>{_UNIT})?\s+and\s+$",
                      re.IGNORECASE)


@dataclass(frozen=True)
class Length:
    """A length an answer states: metres, and half the step of its last stated digit
    (in metres), the precision the answer chose."""

    metres: float
    half_step_m: float


def _digits(text: str) -> tuple[float, float]:
    """(value, half of its last digit's step) of a number in digits."""
    if "," in text:  # 1,200 (thousands) or 1,5 (a decimal comma)
        head, tail = text.split(",")
        text = head + tail if len(tail) == 3 else f"{head}.{tail}"
    decimals = len(text.split(".")[1]) if "." in text else 0
    return float(text), 0.5 * 10.0 ** -decimals


def _words(text: str) -> float | None:
    """A whole number in words ("twenty five", "a hundred"), or None."""
    value = 0
    for word in text.split():
        if word in _SMALL:
            value += _SMALL[word]
        elif word in _TENS:
            value += _TENS[word]
        elif word == "hundred":
            value = max(value, 1) * 100
        elif word != "a":
            return None
    return float(value)


_FIXED = {"a": (1.0, 0.5), "an": (1.0, 0.5), "half": (0.5, 0.25), "half a": (0.5, 0.25),
          "half an": (0.5, 0.25), "quarter": (0.25, 0.125), "a quarter": (0.25, 0.125)}


def _number(text: str) -> tuple[float, float] | None:
    """(value, half of its last digit's step) of one number in words or digits; an
    "and a half" adds 0.5 and makes the step a half."""
    text = " ".join(text.lower().replace("-", " ").split())
    extra = 0.0
    for tail, add in ((" and a half", 0.5), (" and an half", 0.5), (" and a quarter", 0.25)):
        if text.endswith(tail):
            text, extra = text[: -len(tail)], add
    if text in _FIXED:
        value, half = _FIXED[text]
    elif "/" in text:
        whole, _, fraction = text.rpartition(" ")
        top, bottom = (float(v) for v in fraction.split("/"))
        if not bottom:
            return None
        value, half = float(whole or 0) + top / bottom, 0.5 / bottom
    elif " point " in text:
        whole, _, digits = text.partition(" point ")
        value = _words(whole)
        if value is None:
            return None
        decimals = "".join(str(_SMALL[d]) for d in digits.split())
        value, half = float(f"{int(value)}.{decimals}"), 0.5 * 10.0 ** -len(decimals)
    elif re.fullmatch(_DIGITS, text):
        value, half = _digits(text)
    else:
        words = _words(text)
        if words is None:
            return None
        value, half = words, 0.5
    return (value + extra, 0.25) if extra else (value, half)


def _mentions(text: str, bare_unit: str | None) -> list[tuple]:
    """(start, end, metres, half step in metres, unit factor, whole number) of every
    length stated."""
    found: list[tuple] = []
    for match in _LENGTH.finditer(text):
        unit = match["unit"]
        factor = _UNITS.get(unit.lower(), _UNITS.get(unit))
        if unit.lower() == "in" and _WORD_AFTER.match(text, match.end()):
            continue  # "2 in front": the word, not inches
        low = _number(match["low"])
        if low is None or factor is None:
            continue
        value, half = low
        start = match.start()
        if _negative(text, start):
            value = -value
        between = _BETWEEN.search(text[max(0, start - 40):start])
        if match["high"]:
            high = _number(match["high"])
            if high is None:
                continue
            value, half = (value + high[0]) / 2, max(min(half, high[1]),
                                                     abs(high[0] - value) / 2)
        elif between and (first := _number(between["low"])) is not None:
            first_unit = between["unit"]
            first_m = first[0] * (_UNITS.get(first_unit.lower(), factor) if first_unit
                                  else factor)
            found.append((start, match.end(), (first_m + value * factor) / 2,
                          max(half * factor, abs(value * factor - first_m) / 2), factor,
                          False))
            continue
        found.append((start, match.end(), value * factor, half * factor, factor,
                      float(value).is_integer()))
    if not found and bare_unit is not None:
        factor = _UNITS[bare_unit]
        for match in _BARE.finditer(text):
            parsed = _number(match["low"])
            if parsed is not None:
                sign = -1.0 if _negative(text, match.start()) else 1.0
                found.append((match.start(), match.end(), sign * parsed[0] * factor,
                              parsed[1] * factor, factor, False))
    # A number too large for a float ("1111...1 m", 400 digits) states no length.
    return [m for m in found if math.isfinite(m[2]) and math.isfinite(m[3])]


def _negative(text: str, start: int) -> bool:
    """Whether the number at ``start`` has a minus sign ("-1.37 m", "minus 1.37 m")."""
    return _SIGN.search(text, max(0, start - 12), start) is not None


def parse_length(text: str, *, bare_unit: str | None = "m") -> Length | None:
    """The length an answer states (see the module docstring), or None."""
    mentions = _mentions(text, bare_unit)
    if not mentions:
        return None
    # Join parts of one length: a whole number of a larger unit, then less than one of
    # it in a smaller unit, joined by nothing, a space, a comma or "and" ("3 feet 2
    # inches", "1 m and 20 cm", 3'2"); "1.2 m, 120 cm" stays two statements.
    merged: list[list[float]] = []
    previous_end = -1
    for start, end, metres, half, factor, whole in mentions:
        gap = text[previous_end:start] if previous_end >= 0 else None
        if (merged and gap is not None and re.fullmatch(r"\s*(?:,|and)?\s*", gap)
                and merged[-1][3] and factor < merged[-1][2]
                and 0 <= metres < merged[-1][2]):
            merged[-1] = [merged[-1][0] + metres, half, factor, False]
        else:
            merged.append([metres, half, factor, whole])
        previous_end = end
    metres, half = merged[-1][0], merged[-1][1]
    return Length(metres, half)


_YES = re.compile(r"\b(?:yes|yeah|yep|yup|correct|true|indeed|affirmative|certainly|"
                  r"definitely|absolutely|right you are)\b", re.IGNORECASE)
_NO = re.compile(r"\b(?:no|nope|nah|incorrect|false|not so|negative|wrong)\b",
                 re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:not|isn't|isnt|aren't|doesn't|does not|is not|never|"
                       r"n't)\s*(?:\w+\s+){0,2}$", re.IGNORECASE)


def _label_pattern(label: str) -> str:
    core = re.sub(r"^(?:the|a|an)\s+", "", label.strip().lower())
    return rf"\b(?:(?:the|a|an)\s+)?{re.escape(core)}\b" if core else r"(?!x)x"


Names = str | tuple[str, ...]


def _named(text: str, sides: tuple[Names, Names]) -> list[tuple[int, int]]:
    """(position, side) of every mention of either side's names (a referring
    expression, a label), longest name matched first so that one inside another ("the
    cup" in "the red cup") is not read twice."""
    lowered = text.lower()
    names = [(name, side) for side, given in enumerate(sides)
             for name in ((given,) if isinstance(given, str) else given) if name]
    # Characters already taken by a longer name: checking a match against them costs
    # its own length, so the whole scan is linear in the text (checking against every
    # earlier match was quadratic: 9 s for a 100 kB answer).
    taken = bytearray(len(lowered))
    spans: list[tuple[int, int]] = []
    for name, side in sorted(names, key=lambda item: -len(item[0])):
        for match in re.finditer(_label_pattern(name), lowered):
            start, end = match.span()
            if not any(taken[start:end]):
                taken[start:end] = b"\1" * (end - start)
                spans.append((start, side))
    return sorted(spans)


def parse_yes_no(text: str, *, affirm: tuple[str, ...] = (), oppose: tuple[str, ...] = (),
                 subject: Names = "", obj: Names = "") -> bool | None:
    """True for yes, False for no, None when the text does not say (module docstring)."""
    explicit = [(m.start(), True) for m in _YES.finditer(text)]
    explicit += [(m.start(), False) for m in _NO.finditer(text)]
    if explicit:
        return max(explicit)[1]
    lowered = text.lower()
    hits = [(lowered.find(p), True) for p in affirm if p and p in lowered]
    hits += [(lowered.find(p), False) for p in oppose if p and p in lowered]
    if not hits:
        return None
    position, said = min(hits)
    if _NEGATION.search(lowered[:position]):
        said = not said
    if subject and obj:
        before = [which for start, which in _named(text[:position], (subject, obj))]
        if before and before[-1] == 1:  # "B is <phrase> A": the relation read backwards
            said = not said
    return said


def parse_choice(text: str, subject: Names, obj: Names) -> bool | None:
    """True when the answer picks the subject, False the object, None neither. A side
    is named by one text or several (a referring expression and a label)."""
    lowered = text.lower()
    last_answer = max((m.end() for m in re.finditer(r"answer\s+is\b|answer:", lowered)),
                      default=-1)
    if last_answer >= 0:
        after = _named(text[last_answer:], (subject, obj))
        if after:
            return after[0][1] == 0
    named = _named(text, (subject, obj))
    return named[0][1] == 0 if named else None


_CLOCK = re.compile(rf"\b(?P<hour>\d{{1,2}}|{'|'.join(list(_SMALL)[1:13])})"
                    r"(?::00)?\s*(?:o\s*['\u2019`]?\s*clock|oclock)", re.IGNORECASE)
_CLOCK_AT = re.compile(r"\bat\s+(?P<hour>\d{1,2}):00\b", re.IGNORECASE)


def parse_clock(text: str) -> int | None:
    """The clock hour (1..12) an answer names last, or None."""
    found = [(m.start(), m["hour"]) for m in _CLOCK.finditer(text)]
    found += [(m.start(), m["hour"]) for m in _CLOCK_AT.finditer(text)]
    if not found:
        return None
    hour_text = max(found)[1].lower()
    hour = int(hour_text) if hour_text.isdigit() else _SMALL[hour_text]
    return hour if 1 <= hour <= 12 else None


_DEGREES = re.compile(r"(?P<sign>[-+\u2212])?\s*(?P<value>\d+(?:\.\d+)?)\s*"
                      r"(?:degrees?|deg|\u00b0)(?=(?P<after>[^.;]{0,30}))", re.IGNORECASE)
_STRAIGHT = re.compile(r"\b(?:straight|directly)\s+ahead\b|\bdead ahead\b", re.IGNORECASE)
_BEHIND = re.compile(r"\b(?:directly|straight|right)\s+behind\b", re.IGNORECASE)


def parse_degrees(text: str) -> float | None:
    """The bearing an answer names last, degrees counter-clockwise (+ = left), or None.
    "35 degrees to the right" is -35; a signed number keeps its sign."""
    found: list[tuple[int, float]] = []
    for match in _DEGREES.finditer(text):
        value = float(match["value"])
        after = match["after"].lower()
        before = text[max(0, match.start() - 20):match.start()].lower()
        if match["sign"] in ("-", "\u2212"):
            value = -value
        elif re.search(r"\bleft\b", after):
            pass
        elif re.search(r"\bright\b", after) or re.search(r"\bright\b", before):
            value = -value
        found.append((match.start(), value))
    if not found:  # words only where no angle is given ("45 degrees right of straight
        found += [(m.start(), 0.0) for m in _STRAIGHT.finditer(text)]  # ahead")
        found += [(m.start(), 180.0) for m in _BEHIND.finditer(text)]
    return max(found)[1] if found else None


_LETTER = re.compile(r"(?:^|[\s(\[])(?P<letter>[A-Z])(?:[)\].:]|\s|$)")
#: "A" or "I" as a word ("A mug", "I think"), not an option letter.
_WORD_A_OR_I = re.compile(r"[AI]\s+[a-z]")


def parse_letter(text: str, n_options: int) -> int | None:
    """The option index (0 = A) an answer picks, or None: "(B)", "B.", "Option C",
    "The answer is D". The last one after "answer" wins, else the first one given."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:n_options]
    stripped = text.strip()
    tail = re.split(r"answer\s+is|answer:|option", stripped, flags=re.IGNORECASE)
    for part in (tail[-1] if len(tail) > 1 else None, stripped):
        if part is None:
            continue
        for match in _LETTER.finditer(part):
            letter = match["letter"]
            if letter in letters and not (letter in "AI" and _WORD_A_OR_I.match(
                    part, match.start("letter"))):
                return letters.index(letter)
    return None
