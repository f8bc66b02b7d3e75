"""Every bad input of issue 19 through every command that takes it, as a user runs it
(`python -m spatial_vqa_ros.cli ...` in a fresh process): no traceback on stderr, the
documented exit status (0 done, 1 partial, 2 bad input), and nothing written outside the
output directory (the working directory, $HOME and the inputs stay as they were; caches
and ROS logs are pointed into the output directory).

The fixtures are tiny files made here; the per-command tests next to each module check
the messages in detail. This sweep checks the promise they share."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from image_support import damaged, png_bytes, png_header_only

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent


def _support(name: str, folder: str):
    """A shared test helper module of another test folder (not on sys.path here)."""
    spec = importlib.util.spec_from_file_location(name, TESTS / folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the bad inputs ---------------------------------------------------------------

def _good_view(root: Path, name: str = "good") -> None:
    """One rendered 160x120 view with its depth (.npy metres), instance image and labels,
    and the camera YAML, in the layout images2dataset reads."""
    bag_support = _support("bag_support", "offline")
    folder, _, _ = bag_support.write_image_folder(root, 5, 1)
    for sub, ext in (("images", "png"), ("depth", "npy"), ("instances", "png"),
                     ("instances", "json")):
        (folder / sub / f"view 0.{ext}").rename(folder / sub / f"{name}.{ext}")


def make_bad_folder(root: Path) -> None:
    """An image folder with one good view and every kind of bad file of item 2 and 9."""
    _good_view(root)
    images, depth, instances = root / "images", root / "depth", root / "instances"
    good_depth = np.load(depth / "good.npy")
    good_rgb = (images / "good.png").read_bytes()
    labels = (instances / "good.json").read_text()

    def view(name: str, rgb: bytes = good_rgb, *, depth_npy=None, depth_png=None,
             instance_png=None) -> None:
        (images / f"{name}.png").write_bytes(rgb)
        if depth_png is not None:
            (depth / f"{name}.png").write_bytes(depth_png)
        else:
            np.save(depth / f"{name}.npy", good_depth if depth_npy is None else depth_npy)
        (instances / f"{name}.png").write_bytes(
            instance_png or (instances / "good.png").read_bytes())
        (instances / f"{name}.json").write_text(labels)

    view("bomb", png_header_only(30_000, 30_000))
    view("big", png_header_only(10_000, 9_000))
    view("garbage", b"not a png at all")
    view("depth_png_corrupt", depth_png=damaged(png_bytes(np.full((120, 160), 1500, np.uint16))))
    view("depth_structured", depth_npy=np.zeros((120, 160), dtype=[("z", "f4")]))
    view("instances_corrupt", instance_png=damaged((instances / "good.png").read_bytes()))
    view("depth_absurd", depth_npy=np.full((120, 160), 1e30, np.float32))
    grey16 = np.linspace(0, 65535, 120 * 160).reshape(120, 160).astype(np.uint16)
    view("grey16", png_bytes(grey16))


def make_bad_dataset(root: Path, image: str) -> Path:
    """A dataset written by the package whose first record's image is then ``image``."""
    dataset_support = _support("dataset_support", "io")
    from spatial_vqa_ros.io.datasets import DatasetWriter

    data = root / "data"
    with DatasetWriter(data, dataset_support.SETTINGS) as writer:
        for i in range(2):
            writer.add(*dataset_support.dataset_item(i, value=1.0 + i))
    shard = sorted((data / "data").glob("shard-*.jsonl"))[0]
    lines = shard.read_text().splitlines()
    record = json.loads(lines[0])
    record["image"] = image
    lines[0] = json.dumps(record)
    shard.write_text("\n".join(lines) + "\n")
    return data


def make_answers(root: Path, lines: bytes) -> tuple[Path, Path]:
    data = make_bad_dataset(root, "images/unused.jpg")  # eval never opens images
    answers = root / "answers.jsonl"
    answers.write_bytes(lines)
    return data, answers


def make_snapshot(root: Path, config: bytes, weights: bytes) -> Path:
    """A models directory whose OWLv2 snapshot is corrupt."""
    snapshot = root / "models" / "owlv2_base_ensemble"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_bytes(config)
    (snapshot / "model.safetensors").write_bytes(weights)
    return root / "models"


def make_plugins(root: Path) -> Path:
    """Detector plugins by path: one whose constructor raises, and one that finds one box
    in the middle of every image (so an image goes all the way through the core)."""
    (root / "sweep_plugins.py").write_text(
        "import numpy as np\n"
        "from spatial_vqa_ros.perception.types import Detections\n"
        "class Broken:\n"
        "    name = 'broken'\n"
        "    def __init__(self, *args, **kwargs):\n"
        "        raise RuntimeError('the plugin cannot start')\n"
        "    def detect(self, inputs, prompts):\n"
        "        raise AssertionError('never called')\n"
        "class MiddleBox:\n"
        "    name = 'middle_box'\n"
        "    def detect(self, inputs, prompts):\n"
        "        h, w = inputs.rgb.shape[:2]\n"
        "        box = np.array([[w / 4, h / 4, 3 * w / 4, 3 * h / 4]], np.float32)\n"
        "        return Detections(box, (prompts[0],), np.ones(1, np.float32))\n")
    return root


# --- the cases --------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One command line over inputs made in ``inputs`` (a folder of the test's own)."""

    name: str
    make: Callable[[Path, Path], tuple[list[str], dict[str, str]]]  # (inputs, out) -> argv, env
    exit_status: int


def _image(inputs: Path) -> Path:
    make_bad_folder(inputs)
    return inputs


def _perceive(name: str, depth: str = "good.npy", detector: str = "sweep_plugins:MiddleBox"):
    def make(inputs: Path, out: Path):
        folder = _image(inputs)
        make_plugins(inputs)
        return (["perceive", str(folder / "images" / f"{name}.png"), "--out", str(out),
                 "--camera-info", str(folder / "camera.yaml"), "--depth",
                 str(folder / "depth" / depth), "--detector", detector, "--segmenter",
                 "depth_box", "--labels", "chair"], {"PYTHONPATH": str(inputs)})
    return make


def _images2dataset(inputs: Path, out: Path):
    folder = _image(inputs)
    return (["images2dataset", str(folder / "images"), str(out), "--depth-dir",
             str(folder / "depth"), "--instances-dir", str(folder / "instances"),
             "--camera-info", str(folder / "camera.yaml"), "--detector", "simulation",
             "--segmenter", "simulation", "--qa-per-image", "2", "--no-progress"], {})


def _to_trl(image: str):
    def make(inputs: Path, out: Path):
        return ["to-trl", str(make_bad_dataset(inputs, image)), str(out)], {}
    return make


def _eval(lines: bytes):
    def make(inputs: Path, out: Path):
        data, answers = make_answers(inputs, lines)
        return ["eval", str(data), str(answers), "--out", str(out / "scores.json")], {}
    return make


def _hf(location: str):
    def make(inputs: Path, out: Path):
        return ["hf2dataset", location, str(out), "--no-progress"], {}
    return make


def _corrupt_model(config: bytes, weights: bytes):
    def make(inputs: Path, out: Path):
        folder = _image(inputs)
        models = make_snapshot(inputs, config, weights)
        return (["perceive", str(folder / "images" / "good.png"), "--out", str(out),
                 "--detector", "owlv2", "--segmenter", "depth_box", "--depth",
                 str(folder / "depth" / "good.npy"), "--camera-info",
                 str(folder / "camera.yaml"), "--labels", "chair", "--models-dir",
                 str(models)], {})
    return make


def _models_env_file(inputs: Path, out: Path):
    (inputs / "not_a_dir").write_text("x")
    return ["models", "list"], {"SPATIAL_VQA_MODELS": str(inputs / "not_a_dir")}


def _ros(command: str, parameter: str):
    def make(inputs: Path, out: Path):
        return [command, "--ros-args", "-p", parameter], {}
    return make


def _bag2lerobot(*args: str):
    def make(inputs: Path, out: Path):
        from spatial_vqa_ros.synthetic.bags import write_synthetic_bag

        bag = write_synthetic_bag(inputs / "bag", "approach", frames=4, width=64, height=48,
                                  tf=True)
        return ["bag2lerobot", str(bag.path), str(out / "ds"), "--no-progress", *args], {}
    return make


def _annotate_lerobot(*args: str, dataset: bool = True):
    def make(inputs: Path, out: Path):
        source = inputs / "ds"
        if dataset:
            from spatial_vqa_ros.cli import main
            from spatial_vqa_ros.synthetic.bags import write_synthetic_bag

            bag = write_synthetic_bag(out / "bag", "approach", frames=4, width=64, height=48)
            assert main(["bag2lerobot", str(bag.path), str(source), "--no-progress"]) == 0
        else:
            source.mkdir()
            (source / "notes.txt").write_text("not a dataset")
        return ["annotate-lerobot", str(source), str(out / "ann"), "--no-progress",
                *args], {}
    return make


def _bench(benchmark: str, content: bytes, *args: str):
    """``spatial-vqa bench`` on a benchmark file holding ``content`` (its name as
    released), depth from a folder of the inputs."""
    def make(inputs: Path, out: Path):
        name = "SpatialRGPT-Bench_v1.json" if benchmark == "spatialrgpt" else "q.parquet"
        (inputs / name).write_bytes(content)
        (inputs / "depth").mkdir()
        return ["bench", benchmark, str(inputs / name), "--depth-dir", str(inputs / "depth"),
                "--out", str(out / "bench"), "--no-progress", *args], {}
    return make


#: The first record's id (dataset_support.dataset_item(0)) and a right answer to its QA 0.
GOOD = b'{"id": "bag/1700000000000000000", "qa": 0, "answer": "Yes."}\n'
DEEP = b'{"id": "bag/1", "qa": 0, "answer": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
CASES = [
    Case("to-trl: image path with ..", _to_trl("../../../../../../etc/hostname"), 2),
    Case("to-trl: absolute image path", _to_trl("/etc/hostname"), 2),
    Case("images2dataset: a folder of bad files and one good", _images2dataset, 1),
    Case("perceive: decompression bomb", _perceive("bomb"), 2),
    Case("perceive: 90 MP declared", _perceive("big"), 2),
    Case("perceive: not a PNG", _perceive("garbage"), 2),
    Case("perceive: corrupt 16-bit depth PNG", _perceive("good", "depth_png_corrupt.png"), 2),
    Case("perceive: structured .npy depth", _perceive("good", "depth_structured.npy"), 2),
    Case("perceive: a good image", _perceive("good"), 0),
    Case("perceive: depth of 1e30 m", _perceive("good", "depth_absurd.npy"), 0),
    Case("perceive: 16-bit grey rgb", _perceive("grey16"), 0),
    Case("hf2dataset: mistyped local path", _hf("./no_such_folder"), 2),
    Case("eval: JSON nested 100,000 deep", _eval(DEEP), 2),
    Case("eval: not UTF-8", _eval(b'{"id": "bag/1", "qa": 0, "answer": "\xff\xfe"}\n'), 2),
    Case("eval: qa true", _eval(b'{"id": "bag/1", "qa": true, "answer": "Yes."}\n'), 2),
    Case("eval: a good line", _eval(GOOD), 0),
    Case("eval: bad lines among good ones", _eval(GOOD + DEEP + b"\xff\xfe\n" + GOOD), 1),
    # both lines are read and scored: a number past float range states no length, and an
    # answer over the verifier's length limit is scored unreadable ('too long')
    Case("eval: huge number and huge answer",
         _eval(GOOD + b'{"id": "bag/1700000000000000000", "qa": 1, "answer": "' + b"1" * 400
               + b' m"}\n{"id": "bag/1700000000000000000", "qa": 0, "answer": "'
               + b"the mug " * 130_000 + b'"}\n'), 0),
    Case("models: SPATIAL_VQA_MODELS is a file", _models_env_file, 2),
    Case("perceive: garbage model.safetensors", _corrupt_model(b"{}", b"garbage"), 2),
    Case("perceive: config.json holding []", _corrupt_model(b"[]", b"garbage"), 2),
    Case("perceive: --detector os:system", _perceive("good", detector="os:system"), 2),
    Case("perceive: --detector os:getcwd", _perceive("good", detector="os:getcwd"), 2),
    Case("perceive: a plugin whose constructor raises",
         _perceive("good", detector="sweep_plugins:Broken"), 2),
    Case("view: port:=abc", _ros("view", "port:=abc"), 2),
    Case("view: port:=70000", _ros("view", "port:=70000"), 2),
    Case("node: max_pixels:=abc", _ros("node", "max_pixels:=abc"), 2),
    Case("logger: qa_per_image:=abc", _ros("logger", "qa_per_image:=abc"), 2),
    Case("play: no such bag", lambda inputs, out: (["play", str(inputs / "nowhere")], {}), 2),
    Case("bag2lerobot: no camera topic", _bag2lerobot("--rgb-topic", "/nope"), 2),
    Case("bag2lerobot: unknown pair", _bag2lerobot("--reward-pairs", "gripper:banana"), 2),
    Case("bag2lerobot: unknown frame", _bag2lerobot("--reward-pairs", "tf:tool9:cube"), 2),
    Case("annotate-lerobot: not a LeRobot dataset",
         _annotate_lerobot("--hfov", "60", dataset=False), 2),
    Case("annotate-lerobot: no intrinsics", _annotate_lerobot(), 2),
    Case("annotate-lerobot: unknown pair",
         _annotate_lerobot("--hfov", "60", "--labels", "cube", "--reward-pairs", "cube:banana"),
         2),
    Case("annotate-lerobot: missing camera feature",
         _annotate_lerobot("--hfov", "60", "--camera-key", "observation.images.wrist"), 2),
    Case("bench: not JSON", _bench("spatialrgpt", b"{not json"), 2),
    Case("bench: a record without its boxes",
         _bench("spatialrgpt", b'[{"id": "q", "image_info": {"file_path": "a.jpg"}, '
                b'"text_q": "How tall is Region [0]?", "qa_info": {"type": "quantitative", '
                b'"category": "height_data"}, "conversations": [{"value": "<mask>"}, '
                b'{"value": "2 feet"}]}]'), 2),
    Case("bench: a record whose image leaves the folder",
         _bench("spatialrgpt", b'[{"id": "q", "image_info": {"file_path": '
                b'"../../../../etc/hostname"}, "text_q": "How tall is Region [0]?", '
                b'"qa_info": {"type": "quantitative", "category": "height_data"}, '
                b'"conversations": [{"value": "<mask>"}, {"value": "2 feet"}], '
                b'"bbox": [[0, 0, 4, 4]]}]'), 1),
    Case("bench: not parquet", _bench("qspatial", b"PAR1 garbage"), 2),
]


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file() or p.is_symlink()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_bad_input_ends_in_a_clear_message_and_writes_only_its_output(case, tmp_path):
    inputs, out, work, home = (tmp_path / n for n in ("inputs", "out", "work", "home"))
    for folder in (inputs, work, home):
        folder.mkdir()
    argv, extra_env = case.make(inputs, out)
    before = _tree(inputs)
    caches = out / ".caches"
    env = {**os.environ, "HOME": str(home), "HF_HOME": str(caches / "hf"),
           "XDG_CACHE_HOME": str(caches / "xdg"), "ROS_LOG_DIR": str(caches / "ros"),
           "MPLCONFIGDIR": str(caches / "mpl"), "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [extra_env.pop("PYTHONPATH", ""),
                                                       os.environ.get("PYTHONPATH", "")])),
           **extra_env}
    done = subprocess.run([sys.executable, "-m", "spatial_vqa_ros.cli", *argv], cwd=work,
                          env=env, capture_output=True, text=True, timeout=240)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == case.exit_status, (done.returncode, done.stderr[-3000:])
    if done.returncode != 0:
        assert done.stderr.strip(), "a failure says why"
    assert _tree(work) == {} and _tree(home) == {}, "written outside the output directory"
    assert _tree(inputs) == before, "an input was changed"
    for path in tmp_path.iterdir():
        assert path.name in {"inputs", "out", "work", "home"}, path
