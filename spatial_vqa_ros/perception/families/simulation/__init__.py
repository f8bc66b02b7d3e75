"""The ``simulation`` family: boxes and masks from a simulator's instance image."""

from ..descriptor import FamilyDescriptor

DESCRIPTOR = FamilyDescriptor(
    name="simulation", package=__name__,
    adapters={"detector": "...simulation:SimulationDetector",
              "segmenter": "...simulation:SimulationSegmenter"},
    summary="a simulator's instance image",
    notes="boxes and masks of a simulator's instance image (ground truth)",
)
