"""Natural-language spatial questions -> (relation, subject, object).

When the scene's object names are known (the query service always knows them),
names are spotted first — longest first, "the" optional — and replaced by
placeholders, so a description like "the left chair" can never be mistaken for
the word "left". The relation is then read from keyword tables on what remains:
the question's form (yes/no, which-of-two, or how-much) picks the table.

Without names, a list of fixed sentence patterns is used instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import CoreError, echo


@dataclass(frozen=True)
class ParsedQuestion:
    relation: str
    subject: str
    object: str = ""
    #: "choice" questions ("which is taller, A or B?") name the winner.
    choice: bool = False


_HELP = ("try e.g. 'how far is the mug from the chair?', 'is the box left of the chair?', "
         "'how tall is the shelf?', 'which is closer to the camera, the mug or the box?', "
         "'where is the box relative to the chair?', or call with relation/subject/object set")

# Framing that carries no spatial meaning ("would you say that ...", "true or false: ...").
_PREFIX = re.compile(
    r"^(?:(?:would you say|can you confirm|could you confirm|tell me|judging from the "
    r"(?:picture|image|photo)|looking at (?:the|this) (?:picture|image|photo)|in this "
    r"(?:image|picture|photo|scene)|true or false|is it (?:the case|true)|please|roughly|"
    r"approximately|just|so)\b[,:]?\s*(?:whether |if |that )?)+")

_DIRECTION = re.compile(
    r"o'clock|clock (?:position|direction)|\bbearing\b|in degrees|how many degrees|"
    r"at what angle|turn to face|^where (?:is|would you find)|, where (?:is|would you find)|"
    r"in which direction|what direction|which direction")
_CAMERA = re.compile(r"\b(?:closer|nearer|closest|nearest) to the camera")
_CHOICE = re.compile(r"\bwhich\b")
_YES_NO = re.compile(r"^(?:is|are|does|do|would|can|will)\b|^\[obj\d\] (?:is|are|does|sits?)\b")

# Yes/no and choice wording -> relation (longest phrase wins).
_PREDICATE_WORDS: dict[str, tuple[str, ...]] = {
    "left_of": ("to the left of", "left of", "on the left of", "on the left side of",
                "more to the left", "further left", "farther left", "more left"),
    "right_of": ("to the right of", "right of", "on the right of", "on the right side of",
                 "more to the right", "further right", "farther right", "more right"),
    "above": ("above", "higher up than", "higher than", "on top of", "higher up",
              "higher", "at a greater elevation than", "at a greater elevation"),
    "below": ("below", "under", "beneath", "underneath", "lower down than", "lower than",
              "lower down", "lower"),
    "behind": ("behind", "further back than", "farther back than", "further back",
               "farther back", "farther from the camera", "further from the camera",
               "farther away than", "further away than", "farther away", "further away",
               "in back of"),
    "in_front_of": ("in front of", "in front", "further forward than", "farther forward than",
                    "further forward", "farther forward", "closer than", "nearer than"),
    "taller": ("taller than", "taller", "greater in height than", "greater in height"),
    "shorter": ("shorter than", "shorter", "less tall than", "less tall"),
    "wider": ("wider than", "wider", "broader than", "broader"),
    "thinner": ("thinner than", "thinner", "narrower than", "narrower", "slimmer than",
                "slimmer"),
    "bigger": ("bigger than", "bigger", "larger than", "larger", "larger in volume",
               "greater in volume"),
    "smaller": ("smaller than", "smaller", "smaller in volume than", "smaller in volume",
                "tinier"),
}
_PREDICATE_TABLE = sorted(((phrase, rel) for rel, phrases in _PREDICATE_WORDS.items()
                           for phrase in phrases), key=lambda p: -len(p[0]))

# How-much wording -> measure, checked in this order (vertical before horizontal:
# "ignoring any horizontal offset" is a vertical question).
_MEASURE_WORDS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    # (relation, phrases, needs two objects)
    ("horizontal_distance", ("leaving out any difference in height", "ignoring height",
                             "ignoring any difference in height"), True),
    ("vertical_distance", ("vertical", "elevation", "height difference", "higher or lower",
                           "up and down", "up-down", "horizontal offset", "how far above",
                           "how far below", "difference in height"), True),
    ("horizontal_distance", ("horizontal", "along the floor", "from above", "floor plan",
                             "floor-plane", "onto the floor"), True),
    ("distance", ("how far", "distance", "how close", "how near", "apart", "separat",
                  "how distant", "space", "measured from"), True),
    ("width", ("wide", "width", "side to side", "side-to-side", "left to right", "broad"),
     False),
    ("height", ("tall", "height", "bottom to top", "vertical room", "vertical size", "high"),
     False),
)

_REFERENCE_BEFORE = re.compile(r"(?:\bat|\bfrom|relative to|with respect to|compared to)\s+$")


def _normalise(question: str) -> str:
    text = " ".join(question.strip().lower().replace("’", "'").split())
    text = text.rstrip("?.! ")
    previous = None
    while previous != text:
        previous = text
        text = _PREFIX.sub("", text).strip()
    return text


def _spot(text: str, names: Sequence[str]) -> tuple[str, list[tuple[str, int]]]:
    """Replace object names by [objK]; return the text and (name, position) in order."""
    variants: dict[str, str] = {}
    for name in names:
        key = " ".join(name.lower().split())
        if not key:
            continue
        variants.setdefault(key, name)
        if key.startswith("the "):
            variants.setdefault(key[4:], name)
    if not variants:
        return text, []
    pattern = re.compile(r"\b(?:the )?(" + "|".join(
        re.escape(v) for v in sorted(variants, key=len, reverse=True)) + r")(?:'s)?\b")
    found: list[tuple[str, int]] = []

    def replace(match: re.Match) -> str:
        found.append((variants[match.group(1)], match.start()))
        return f"[obj{len(found) - 1}]"

    return pattern.sub(replace, text), found


def _predicate_relation(text: str) -> str | None:
    for phrase, relation in _PREDICATE_TABLE:
        if re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", text):
            return relation
    return None


def _measure_relation(text: str, n_objects: int) -> str | None:
    for relation, phrases, binary in _MEASURE_WORDS:
        if binary != (n_objects >= 2):
            continue
        if any(phrase in text for phrase in phrases):
            return relation
    return None


_NEGATION = re.compile(r"\bnot\b|n't\b|\bnever\b")


def parse_with_names(question: str, names: Sequence[str]) -> ParsedQuestion:
    """Parse a question about objects whose names (labels, descriptions) are known."""
    text, found = _spot(_normalise(question), names)
    if not found:
        raise CoreError(f"the question {echo(question)} names no known object; {_HELP}")
    objects = [name for name, _ in found]
    if len(objects) == 1 and (_DIRECTION.search(text) or _CAMERA.search(text)
                              or _CHOICE.search(text) or _YES_NO.search(text)):
        raise CoreError(f"the question {echo(question)} names one known object ({objects[0]}) "
                        "but the relation needs two")
    if _DIRECTION.search(text) and len(objects) >= 2:
        reference = next((i for i in range(len(found))
                          if _REFERENCE_BEFORE.search(text[:text.index(f"[obj{i}]")])), 0)
        target = 1 if reference == 0 else 0
        return ParsedQuestion("direction", objects[reference], objects[target])
    if _CAMERA.search(text) and len(objects) >= 2:
        return ParsedQuestion("closer_to_camera", objects[0], objects[1],
                              bool(_CHOICE.search(text)))
    is_choice = bool(_CHOICE.search(text))
    if (is_choice or _YES_NO.search(text)) and len(objects) >= 2:
        relation = _predicate_relation(text)
        if relation is not None:
            return ParsedQuestion(relation, objects[0], objects[1], is_choice)
    relation = _measure_relation(text, len(objects))
    if relation is None and len(objects) == 1 and _measure_relation(text, 2) is not None:
        raise CoreError(f"the question {echo(question)} names one known object ({objects[0]}) "
                        "but the relation needs two")
    if relation is not None:
        binary = relation not in ("width", "height")
        return ParsedQuestion(relation, objects[0], objects[1] if binary else "")
    raise CoreError(f"could not understand the question {echo(question)}; {_HELP}")


# --- fixed patterns, for when the object names are not known ------------------------
_A = r"(?P<a>.+?)"
_B = r"(?P<b>.+?)"
_PATTERNS: list[tuple[str, str, bool]] = [
    (rf"^(?:what is the )?horizontal distance (?:between|from) {_A} (?:and|to) {_B}$",
     "horizontal_distance", False),
    (rf"^how far (?:apart )?(?:is|are) {_A} (?:from|and) {_B} horizontally$",
     "horizontal_distance", False),
    (rf"^(?:what is the )?vertical distance (?:between|from) {_A} (?:and|to) {_B}$",
     "vertical_distance", False),
    (rf"^how far (?:apart )?(?:is|are) {_A} (?:from|and) {_B} vertically$",
     "vertical_distance", False),
    (rf"^how far (?:apart )?(?:is|are) {_A} (?:from|and|to) {_B}$", "distance", False),
    (rf"^(?:what is the )?(?:direct )?distance (?:between|from) {_A} (?:and|to) {_B}$",
     "distance", False),
    (rf"^how (?:close|near) is {_A} to {_B}$", "distance", False),
    (rf"^how (?:wide|broad) is {_A}$", "width", False),
    (rf"^what is the width of {_A}$", "width", False),
    (rf"^how (?:tall|high) is {_A}$", "height", False),
    (rf"^what is the height of {_A}$", "height", False),
    (rf"^which is closer to the camera,? {_A} or {_B}$", "closer_to_camera", True),
    (rf"^is {_A} closer to the camera than {_B}$", "closer_to_camera", False),
]
_DIRECTION_PATTERNS = [
    rf"^(?:where is|in which direction is|what direction is) {_B} "
    rf"(?:relative to|from|with respect to) {_A}$",
    rf"^if you are (?:at|standing at) {_A}, where (?:is|would you find) {_B}$",
]
for _phrase, _relation in _PREDICATE_TABLE:
    _PATTERNS.append((rf"^(?:is|are|does) {_A} (?:appear |located |positioned |sit |)"
                      rf"{re.escape(_phrase)} {_B}$", _relation, False))
    _PATTERNS.append((rf"^which (?:is|one is|of these is) {re.escape(_phrase)},? {_A} or {_B}$",
                      _relation, True))
    _PATTERNS.append((rf"^(?:between|of) {_A} and {_B}, which (?:one )?is "
                      rf"{re.escape(_phrase)}$", _relation, True))
_COMPILED = [(re.compile(p), rel, choice) for p, rel, choice in _PATTERNS]
_COMPILED_DIRECTION = [re.compile(p) for p in _DIRECTION_PATTERNS]


def parse_question(question: str, names: Sequence[str] | None = None) -> ParsedQuestion:
    """Map a question to (relation, subject, object); raise CoreError if not understood.

    ``names``: the objects the question may mention (labels and descriptions). With
    them, phrasing is free; without, the question must fit one of the fixed patterns.
    """
    if _NEGATION.search(_normalise(question)):
        raise CoreError(f"the question {echo(question)} is negated; ask it the positive way "
                        "round (e.g. 'is the mug above the box?') and read the answer's truth")
    if names:
        try:
            return parse_with_names(question, names)
        except CoreError as error:
            # An unknown object ("the sofa") is not spotted: the fixed patterns may
            # still find it, so the caller can say which objects do exist.
            try:
                return parse_question(question)
            except CoreError:
                raise error from None
    text = _normalise(question)
    for pattern in _COMPILED_DIRECTION:
        match = pattern.match(text)
        if match:
            return ParsedQuestion("direction", match["a"].strip(), match["b"].strip())
    for pattern, relation, choice in _COMPILED:
        match = pattern.match(text)
        if match:
            groups = match.groupdict()
            return ParsedQuestion(relation, groups["a"].strip(), (groups.get("b") or "").strip(),
                                  choice)
    raise CoreError(f"could not understand the question {echo(question)}; {_HELP}")
