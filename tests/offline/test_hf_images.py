"""Hugging Face image datasets as a source (offline/bag2dataset/hf_images.py), without
models: a chain stand-in records what reaches it. Damaged, oversized and escaping rows
fail alone with their reason, row ids never lose a row, and a mistyped local path is
refused at once instead of being looked up on the hub."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

datasets = pytest.importorskip("datasets")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from image_support import damaged, png_bytes, png_header_only  # noqa: E402

from spatial_vqa_ros.cli import main  # noqa: E402
from spatial_vqa_ros.io.errors import DataIOError  # noqa: E402
from spatial_vqa_ros.offline.bag2dataset import HFImageSource  # noqa: E402
from spatial_vqa_ros.offline.bag2dataset.hf_images import (  # noqa: E402
    looks_like_path,
    open_hf_dataset,
)
from spatial_vqa_ros.perception.errors import PerceptionError  # noqa: E402
from spatial_vqa_ros.perception.factories import PerceptionSpec  # noqa: E402

#: A chain of model families (never built here: the stand-in below runs instead).
MODELS = PerceptionSpec(depth_estimator="depth_pro", detector="owlv2", segmenter="sam2")
PICTURE = np.full((12, 16, 3), 90, np.uint8)


class ChainStandIn:
    """Records the rgb of every frame that reaches the chain, then fails it."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []
        self.fallback_camera = None

    def run(self, inputs, prompts, stamp):
        self.seen.append(inputs.rgb)
        raise PerceptionError("stand-in chain")


@pytest.fixture
def no_hub(monkeypatch):
    """``datasets.load_dataset`` of anything but parquet fails the test: nothing may
    reach for the network."""
    real = datasets.load_dataset

    def guarded(path, *args, **kwargs):
        if path != "parquet":
            raise AssertionError(f"the hub was asked for {path!r}")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(datasets, "load_dataset", guarded)


@pytest.mark.parametrize("location", ["./typo", "../typo", "/no/such/dir", "~/no_such_dir_x",
                                      "data/sub/typo", "typo.parquet", "rows.arrow"])
def test_a_missing_path_is_no_such_directory_at_once(location, no_hub):
    start = time.perf_counter()
    with pytest.raises(DataIOError, match=f"^no such directory: {re.escape(location)};"):
        open_hf_dataset(location, "train")
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("variable", ["HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"])
def test_offline_a_hub_id_is_no_such_directory(variable, monkeypatch, no_hub):
    monkeypatch.setenv(variable, "1")
    with pytest.raises(DataIOError, match=r"^no such directory: owner/name \(the hub is off"):
        open_hf_dataset("owner/name", "train")


def test_online_a_hub_id_goes_to_the_hub(monkeypatch):
    for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.setenv(variable, "0")

    def hub(path, *args, **kwargs):
        raise ConnectionError(f"asked the hub for {path}")

    monkeypatch.setattr(datasets, "load_dataset", hub)
    with pytest.raises(DataIOError, match=r"dataset owner/name cannot be opened "
                       r"\(ConnectionError: asked the hub for owner/name\)"):
        open_hf_dataset("owner/name", "train")


@pytest.mark.parametrize(("location", "path_like"), [
    ("owner/name", False), ("name", False), ("owner/name.v2", False), ("./name", True),
    ("~/name", True), ("/abs/name", True), ("a/b/c", True), ("name.parquet", True),
    ("owner/rows.jsonl", True), ("..", True)])
def test_what_looks_like_a_path(location, path_like):
    assert looks_like_path(location) is path_like


def test_the_command_says_no_such_directory_and_exits_2(tmp_path, capsys, no_hub):
    start = time.perf_counter()
    code = main(["hf2dataset", "./typo_dir", str(tmp_path / "out"), "--depth-estimator",
                 "depth_pro", "--no-progress"])
    assert code == 2 and time.perf_counter() - start < 5.0
    err = capsys.readouterr().err
    assert "spatial-vqa hf2dataset: no such directory: ./typo_dir" in err
    assert "Traceback" not in err


def saved(tmp_path: Path, columns: dict, features=None) -> str:
    rows = datasets.Dataset.from_dict(columns, features=features)
    rows.save_to_disk(str(tmp_path / "hf"))
    return str(tmp_path / "hf")


def test_row_ids_that_meet_as_keys_keep_every_row(tmp_path):
    ids = ["a b", "a_b", "a/b", "x", "x", ".", "..", "#..", None]
    location = saved(tmp_path, {"image": [png_bytes(PICTURE)] * len(ids), "id": ids})
    source = HFImageSource(location, perception=MODELS, id_column="id")
    assert len(set(source.keys)) == len(ids) and source.keys[1] == "hf/a_b"
    # a b and a/b meet a_b, the second x the first, .. and #.. meet . (all three "_")
    assert source.stats()["key_collisions"] == 5
    again = HFImageSource(location, perception=MODELS, id_column="id")
    assert again.keys == source.keys  # a re-run resumes on the same keys


def test_damaged_and_oversized_rows_fail_alone(tmp_path):
    grey16 = np.array([[0, 65535], [257 * 100, 40000]], np.uint16)
    cells = [png_bytes(PICTURE), png_header_only(30_000, 30_000),
             png_header_only(10_000, 9_000), damaged(png_bytes(PICTURE)), b"not an image",
             png_bytes(grey16)]
    # both decoded by datasets before; the other column is not read at all now
    features = datasets.Features({"image": datasets.Image(), "thumb": datasets.Image()})
    bomb = {"bytes": png_header_only(30_000, 30_000), "path": None}
    location = saved(tmp_path, {"image": [{"bytes": c, "path": None} for c in cells],
                                "thumb": [bomb] * len(cells)}, features)
    source = HFImageSource(location, perception=MODELS)
    chain = ChainStandIn()
    frames = list(source.frames(chain, range(len(cells))))
    reasons = [f.error_reason for f in frames]
    assert reasons == ["perception", "invalid", "invalid", "invalid", "invalid", "perception"]
    assert "row 1 image is refused before decoding" in frames[1].error
    assert "row 2 image is 10000x9000 = 90000000 pixels, over the limit" in frames[2].error
    assert "row 3 image is damaged" in frames[3].error
    assert "row 4 image cannot be read" in frames[4].error
    np.testing.assert_array_equal(chain.seen[1][..., 0], [[0, 255], [100, 156]])
    assert source.stats()["unreadable"] == 4


def test_a_path_in_a_row_is_read_only_inside_the_dataset(tmp_path):
    root = tmp_path / "rows"
    (root / "imgs").mkdir(parents=True)
    (root / "imgs" / "a.png").write_bytes(png_bytes(PICTURE))
    (tmp_path / "outside.png").write_bytes(png_bytes(PICTURE))
    (root / "imgs" / "link.png").symlink_to(tmp_path / "outside.png")
    paths = ["imgs/a.png", str(root / "imgs" / "a.png"), "../outside.png",
             str(tmp_path / "outside.png"), "imgs/link.png", "imgs/none.png"]
    image = pa.array([{"bytes": None, "path": p} for p in paths],
                     pa.struct([("bytes", pa.binary()), ("path", pa.string())]))
    pq.write_table(pa.table({"image": image}), root / "rows.parquet")
    source = HFImageSource(str(root / "rows.parquet"), perception=MODELS)
    frames = list(source.frames(ChainStandIn(), range(len(paths))))
    assert [f.error_reason for f in frames] == ["perception", "perception", "invalid",
                                                "invalid", "invalid", "invalid"]
    for frame in frames[2:5]:
        assert "points outside the dataset" in frame.error
    assert "does not exist" in frames[5].error
