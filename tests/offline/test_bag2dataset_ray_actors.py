"""Image folders on the ray engine's actor pool: the folder is cut into windows spread
over the actors, each actor loads its models once for all the windows it runs, and the
dataset, the totals and the per-source report (failure notes, reader counts, every_n on
the folder's own frame numbers) equal the local engine's. Ray is started by the engine
here (not by a fixture), so the workers inherit this test's environment."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated:DeprecationWarning")

from bag_support import CONFIG, write_image_folder  # noqa: E402
from test_bag2dataset_ray import _content  # noqa: E402

from spatial_vqa_ros.offline.bag2dataset import images2dataset  # noqa: E402
from spatial_vqa_ros.offline.bag2dataset.ray_engine import _windows  # noqa: E402
from spatial_vqa_ros.perception.factories import PerceptionSpec  # noqa: E402
from spatial_vqa_ros.synthetic.doubles import COUNT_DIR_ENV, COUNTING_DETECTOR  # noqa: E402


def remote_sources(root: Path, config, kwargs: dict) -> list:
    from spatial_vqa_ros.offline.bag2dataset.images import ImageFolderSource

    return [ImageFolderSource(root / "images", perception=config.perception,
                              depth_dir=kwargs["depth_dir"],
                              instances_dir=kwargs["instances_dir"],
                              camera_info=kwargs["camera_info"])]


def test_actors_load_the_chain_once_and_windows_merge_to_the_local_result(
        tmp_path: Path, monkeypatch) -> None:
    if ray.is_initialized():  # another module's fixture: its workers lack our variable
        ray.shutdown()
    counts = tmp_path / "constructions"
    monkeypatch.setenv(COUNT_DIR_ENV, str(counts))
    root = write_image_folder(tmp_path / "folder", 5, 6)[0]
    (root / "images" / "broken.png").write_bytes(b"not a png")  # frame 0: unreadable
    config = dataclasses.replace(CONFIG, every_n=2,
                                 perception=PerceptionSpec(detector=COUNTING_DETECTOR))
    kwargs = {"depth_dir": root / "depth", "instances_dir": root / "instances",
              "camera_info": root / "camera.yaml", "progress": False}
    local = images2dataset([root / "images"], tmp_path / "local", config, **kwargs)
    in_driver = {p.name for p in counts.iterdir()}
    remote = images2dataset([root / "images"], tmp_path / "ray", config, engine="ray",
                            workers=2, **kwargs)
    assert not ray.is_initialized()  # started by the engine, so stopped by it

    assert local.totals()["records"] == 3 and local.totals()["frames_failed"] == 1
    assert remote.totals() == local.totals()
    mine, theirs = remote.sources[0], local.sources[0]
    assert mine.reader == theirs.reader == {"images": 7, "unreadable": 1,
                                            "key_collisions": 0}
    assert mine.failure_notes == theirs.failure_notes and mine.complete
    assert (mine.frames_read, mine.frames_selected) == (7, 4)
    assert _content(tmp_path / "ray")[:3] == _content(tmp_path / "local")[:3]

    # 7 frames in windows of 1 (about four windows per worker) on two actors: the chain
    # was built once per actor (plus in the driver, which checks the settings before
    # anything starts), not once per window.
    windows = _windows(remote_sources(root, config, kwargs), 2)
    assert len(windows) == 7 and {(w["start"], w["stop"]) for w in windows} == {
        (k, k + 1) for k in range(7)}
    in_workers = [p for p in counts.iterdir()
                  if p.name not in in_driver and not p.name.startswith(f"{os.getpid()}-")]
    assert 1 <= len(in_workers) <= 2, sorted(p.name for p in in_workers)


def test_a_complete_folder_topped_up_on_actors_equals_the_local_top_up(tmp_path: Path) -> None:
    if ray.is_initialized():
        ray.shutdown()
    root = write_image_folder(tmp_path / "folder", 6, 5)[0]
    added = {}
    for kind, suffix in (("images", ".png"), ("depth", ".npy"), ("instances", ".png"),
                         ("instances", ".json")):
        path = root / kind / f"view 4{suffix}"
        added[path] = path.read_bytes()
        path.unlink()  # view 4 comes later
    config = dataclasses.replace(CONFIG, every_n=2)
    kwargs = {"depth_dir": root / "depth", "instances_dir": root / "instances",
              "camera_info": root / "camera.yaml", "progress": False}
    for out in ("local", "ray"):
        images2dataset([root / "images"], tmp_path / out, config, **kwargs)
    for path, data in added.items():
        path.write_bytes(data)
    local = images2dataset([root / "images"], tmp_path / "local", config, **kwargs)
    remote = images2dataset([root / "images"], tmp_path / "ray", config, engine="ray",
                            workers=2, **kwargs)
    assert not ray.is_initialized()
    assert remote.totals() == local.totals()
    assert (local.totals()["records"], local.totals()["frames_done_before"]) == (1, 2)
    assert _content(tmp_path / "ray")[:3] == _content(tmp_path / "local")[:3]
