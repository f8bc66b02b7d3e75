"""The ``sensor`` depth family: the depth topic (or recorded depth) as it is."""

from ..descriptor import FamilyDescriptor

DESCRIPTOR = FamilyDescriptor(
    name="sensor", package=__name__,
    adapters={"depth": "...depth:SensorDepth"},
    summary="the depth topic as it is",
    notes="the depth topic as it is (RGB-D cameras)",
)
