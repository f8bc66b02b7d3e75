"""Spatial VQA from the scene graph: the template catalogue and the sampler.

:data:`CATEGORIES` maps each category to one relation of the core's relation table
and its question/answer templates; :func:`render_qa` renders one QA (or refuses an
unclear, partial-size or floorless one); :func:`synthesize` samples a balanced,
seeded set per image; :func:`conversation` turns QAs into LLaVA-style turns.
ROS-free, pure Python + numpy.
"""

from .synthesis import (
    QA,
    EmissionStats,
    SynthesisConfig,
    VQAError,
    conversation,
    conversations,
    render_qa,
    skip_reason,
    synthesize,
)
from .templates import CATEGORIES, Category

__all__ = [
    "CATEGORIES",
    "QA",
    "Category",
    "EmissionStats",
    "SynthesisConfig",
    "VQAError",
    "conversation",
    "conversations",
    "render_qa",
    "skip_reason",
    "synthesize",
]
