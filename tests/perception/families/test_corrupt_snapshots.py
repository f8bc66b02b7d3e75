"""A snapshot that is there but broken (a garbage weights file, a config.json that is not
a JSON object) fails one way for every family, through the chain's one loading path:
"the snapshot at X is corrupt (...): run 'spatial-vqa models pull NAME' again"."""

from __future__ import annotations

import re
import shutil

import pytest

from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain

#: fixture of a tiny snapshot -> (family field, family, model field, registry name).
FAMILIES = {
    "da_metric_dir": ("depth_estimator", "depth_anything", "depth_model",
                      "depth_anything_v2_metric_indoor_small"),
    "depth_pro_dir": ("depth_estimator", "depth_pro", "depth_model", "depth_pro"),
    "owlv2_dir": ("detector", "owlv2", "detector_model", "owlv2_base_ensemble"),
    "sam_dir": ("segmenter", "sam", "segmenter_model", "sam_vit_base"),
    "sam2_dir": ("segmenter", "sam2", "segmenter_model", "sam2_hiera_tiny"),
}
DAMAGE = {
    "garbage_weights": ("model.safetensors", b"\x00garbage" * 100),
    "config_a_list": ("config.json", b"[]"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("fixture", sorted(FAMILIES))
def test_a_corrupt_snapshot_says_so_and_names_the_pull(request, tmp_path, fixture, damage):
    pytest.importorskip("transformers")
    role, family, field, name = FAMILIES[fixture]
    directory = shutil.copytree(request.getfixturevalue(fixture), tmp_path / name)
    filename, content = DAMAGE[damage]
    (directory / filename).write_bytes(content)
    spec = PerceptionSpec(**{role: family, field: name}, models_dir=str(tmp_path),
                          perception_device="cpu")
    with pytest.raises(PerceptionError, match=re.escape(f"the snapshot at {directory} is "
                                                        "corrupt (") + r".*\): " + re.escape(
            f"run 'spatial-vqa models pull {name}' again")):
        build_chain(spec)
