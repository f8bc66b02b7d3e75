"""bag2dataset on Ray Data (2 local workers) writes exactly what one process writes, with
the simulation chain and with a model chain rebuilt in the workers from its spec."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
#: Ray Data warns about its own deprecated settings when it copies its context.
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated:DeprecationWarning")

from bag_support import (  # noqa: E402
    CONFIG,
    MODEL_CHAIN_ARGS,
    ssd_weights_missing,
    write_bag,
    write_image_folder,
    write_motorcycle_bag,
)

from spatial_vqa_ros.io.datasets import load_records  # noqa: E402
from spatial_vqa_ros.offline.bag2dataset import (  # noqa: E402
    Bag2DatasetConfig,
    bag2dataset,
    images2dataset,
)
from spatial_vqa_ros.perception.types import InputSettings  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    yield
    ray.shutdown()


def _content(root: Path) -> tuple[list[dict], list[str], dict[str, bytes], dict]:
    records = sorted(load_records(root), key=lambda r: r["id"])
    scenes = sorted((root / "scene_graphs.jsonl").read_text().splitlines())
    images = {str(p.relative_to(root)): p.read_bytes() for p in (root / "images").rglob("*.jpg")}
    manifest = json.loads((root / "progress.json").read_text())
    return records, scenes, images, manifest


def test_ray_engine_output_equals_the_local_engine_output(tmp_path: Path, local_ray) -> None:
    bags = [write_bag(tmp_path / "lab_a", 1, blank=frozenset({2})),
            write_bag(tmp_path / "lab_b", 2), write_bag(tmp_path / "lab_c", 3, n_frames=5)]
    local = bag2dataset(bags, tmp_path / "local", CONFIG, progress=False)
    remote = bag2dataset(bags, tmp_path / "ray", CONFIG, engine="ray", workers=2,
                         progress=False)
    assert remote.ok and local.ok
    assert remote.totals() == {**local.totals()}
    records, scenes, images, manifest = _content(tmp_path / "ray")
    expected = _content(tmp_path / "local")
    assert len(records) == 20
    assert records == expected[0]
    assert scenes == expected[1]
    assert images == expected[2]
    assert manifest["skipped"] == expected[3]["skipped"]
    assert manifest["settings"] == expected[3]["settings"]
    assert ray.is_initialized()  # a running instance is used, not shut down


#: A valid depth range that leaves out whole objects of the folders below.
NEAR = InputSettings(0.05, 2.0)


def _wholly_beyond(frame, limit_m: float) -> set[str]:
    """Labels (unique in the frame) of the objects with every pixel beyond ``limit_m``."""
    labels = list(frame.id_to_label.values())
    return {label for i, label in frame.id_to_label.items() if labels.count(label) == 1
            and (frame.instance_ids == i).any()
            and np.nanmin(frame.depth_m[frame.instance_ids == i]) > limit_m}


def test_image_folders_on_ray_equal_the_local_engine(tmp_path: Path, local_ray) -> None:
    """With a depth range of its own: the actors rebuild the sources and the config with
    it, so no object beyond it is measured there either."""
    made = {name: write_image_folder(tmp_path / name, seed, 3)
            for name, seed in (("kitchen", 1), ("office", 2))}
    written = [root for root, _, _ in made.values()]
    config = dataclasses.replace(CONFIG, inputs=NEAR)
    # several folders: each one's side files live in a subfolder named after it
    for side in ("images", "depth", "instances"):
        (tmp_path / side).mkdir()
        for root in written:
            (root / side).rename(tmp_path / side / root.name)
    roots = [tmp_path / "images" / root.name for root in written]
    kwargs = {"depth_dir": tmp_path / "depth", "instances_dir": tmp_path / "instances",
              "camera_info": written[0] / "camera.yaml", "progress": False}
    local = images2dataset(roots, tmp_path / "local", config, **kwargs)
    remote = images2dataset(roots, tmp_path / "ray", config, engine="ray", workers=2,
                            **kwargs)
    assert local.ok and remote.ok and local.totals()["records"] >= 4
    assert remote.totals() == local.totals()
    assert _content(tmp_path / "ray")[:3] == _content(tmp_path / "local")[:3]
    assert len(_content(tmp_path / "ray")[1]) == 6  # a scene line per image
    assert _content(tmp_path / "ray")[3]["settings"]["inputs"]["depth_max_m"] == 2.0
    cut = 0
    for line in _content(tmp_path / "ray")[1]:
        scene = json.loads(line)
        folder, _, view = scene["id"].partition("/")
        frame = made[folder][2][int(view.removesuffix(".png").split("_")[-1])]
        beyond = _wholly_beyond(frame, NEAR.depth_max_m)
        assert not beyond & {o["label"] for o in scene["objects"]}, scene["id"]
        cut += len(beyond)
    assert cut > 0  # the range did leave objects out


@pytest.mark.skipif(bool(ssd_weights_missing()), reason=ssd_weights_missing())
def test_ray_workers_rebuild_the_model_chain_from_the_spec(tmp_path: Path, local_ray) -> None:
    import argparse

    from spatial_vqa_ros.commands.perception_options import (
        add_perception_options,
        prompts_from,
        spec_from,
    )

    parser = argparse.ArgumentParser()
    add_perception_options(parser)
    args = parser.parse_args(list(MODEL_CHAIN_ARGS))
    config = Bag2DatasetConfig(synthesis=CONFIG.synthesis, perception=spec_from(args),
                               prompts=tuple(prompts_from(args)), shard_size=4)
    bags = [write_motorcycle_bag(tmp_path / "moto_a", 2),
            write_motorcycle_bag(tmp_path / "moto_b", 1)]
    local = bag2dataset(bags, tmp_path / "local", config, progress=False)
    remote = bag2dataset(bags, tmp_path / "ray", config, engine="ray", workers=2,
                         progress=False)
    assert local.ok and remote.ok  # the simulation chain would fail every frame here
    assert remote.totals() == local.totals() and remote.totals()["records"] == 3
    records, scenes, images, manifest = _content(tmp_path / "ray")
    assert (records, scenes, images) == _content(tmp_path / "local")[:3]
    for record in records:
        assert [o["label"] for o in record["scene_graph"]["objects"]] == ["motorcycle"]
        assert record["scene_graph"]["provenance"]["detector"].startswith("opencv-dnn")
        assert record["scene_graph"]["provenance"]["segmenter"] == "depth_box"
    assert manifest["settings"]["perception"]["detector"] == "opencv_dnn"
    assert manifest["settings"]["prompts"] == ["motorcycle"]
