"""Answers judged by the benchmark's rule and our verifier alike, and Q-Spatial's named
objects found by a detector then measured by the core (issue 25)."""

from __future__ import annotations

import pytest
from test_spatialrgpt_reader import SAMPLE

from spatial_vqa_ros.io.image_files import load_camera_info_yaml
from spatial_vqa_ros.offline.public_bench.qspatial import read_qspatial
from spatial_vqa_ros.offline.public_bench.run import BenchRun, run_chain
from spatial_vqa_ros.offline.public_bench.scoring import judge_answer
from spatial_vqa_ros.offline.public_bench.spatialrgpt import read_spatialrgpt
from spatial_vqa_ros.perception.factories import PerceptionSpec, build_chain
from spatial_vqa_ros.perception.types import InputSettings
from spatial_vqa_ros.synthetic.doubles import RenderedFrameDetector
from spatial_vqa_ros.synthetic.public_bench import write_rendered_benchmarks
from spatial_vqa_ros.synthetic.scoring import render_case


def _by_id():
    return {q.qid: q for q in read_spatialrgpt(SAMPLE).questions}


@pytest.mark.parametrize(("qid", "answer", "success"), [
    ("quantitative_SAMPLE00003", "Region [0] is about 1.2 meters tall.", True),  # 1.119 m
    ("quantitative_SAMPLE00003", "Region [0] is 3 feet tall.", True),  # 0.914 m: 0.82x
    ("quantitative_SAMPLE00003", "Region [0] is 0.8 meters tall.", False),  # 0.72x
    ("quantitative_SAMPLE00003", "It is tall.", False),
    ("quantitative_SAMPLE00006", "Region [1] is at 3 o'clock from Region [0].", True),
    ("quantitative_SAMPLE00006", "around the 5 o'clock direction", False),
    ("qualitative_1g1lvedTvh", "Region [1] is lower down.", True),  # the truth: B below
    ("qualitative_1g1lvedTvh", "Region [0].", False),
    ("qualitative_SAMPLE00002", "No, it is not smaller.", True),
])
def test_spatialrgpt_answers_are_judged_by_its_rule(qid, answer, success):
    judged = judge_answer(_by_id()[qid], answer)
    assert judged.success is success
    if qid == "quantitative_SAMPLE00003" and judged.read is not None:
        assert judged.relative_error == pytest.approx(abs(judged.read - 1.118616) / 1.118616)


def test_qspatial_answers_with_the_prompts_tags_are_read_as_the_notebook_reads_them(
        tmp_path):
    from test_qspatial_reader import _parquet, _rows

    question = read_qspatial(_parquet(tmp_path, _rows())).questions[0]  # 0.96 m
    tagged = judge_answer(question, r"Reasoning... \scalar{1} \distance_unit{meter}")
    assert (tagged.success, tagged.reader, tagged.read) == (True, "official", 1.0)
    plain = judge_answer(question, "They are about 45 cm apart.")  # 0.47x: over 2x off
    assert (plain.success, plain.reader) == (False, "verifier")
    assert judge_answer(question, "60 cm").success  # 1.6x
    # our verifier's own band (25%) is stricter than the benchmark's factor of two
    assert not judge_answer(question, "60 cm").verifier.correct


def test_named_objects_are_found_then_measured_by_the_core(tmp_path):
    """The detector double gives true boxes (a perfect open-vocabulary detector); the
    masks are depth_box's, the truth the generator's exact one."""
    bench = write_rendered_benchmarks(tmp_path, seeds=(0, 1))
    detector = RenderedFrameDetector()
    for seed in (0, 1):
        _, frame, _ = render_case(seed)
        detector.register(frame.rgb, frame.instance_ids, frame.id_to_label)
    chain = build_chain(PerceptionSpec(depth_estimator="sensor", detector="simulation",
                                       segmenter="depth_box")).replaced(detector=detector)
    questions = read_qspatial(bench.qspatial).questions
    assert {q.relation for q in questions} == {"gap", "height"}
    results, failed = run_chain(questions, chain, BenchRun(
        bench.qspatial, bench.depth_dir, load_camera_info_yaml(bench.camera_info),
        InputSettings()))
    assert failed == 0 and all(r.answered for r in results), [r.reason for r in results]
    for r in results:  # the read answer against the generator's exact truth
        truth = bench.truth[r.question.qid]
        assert r.judged.reader == "verifier" and r.text.endswith(".")
        assert r.success == (max(r.judged.read / truth, truth / r.judged.read) < 2.0)
    # depth_box masks of visible surfaces: the gap of what is seen, the height of the box
    assert sum(r.success for r in results) >= 0.75 * len(results)


def test_a_detector_with_masks_from_text_is_not_segmented_again(tmp_path):
    """SAM 3 gives masks with its boxes: the named objects keep them, and the segmenter
    (here one that fails if called) is not asked."""
    from dataclasses import replace as with_fields

    import numpy as np

    bench = write_rendered_benchmarks(tmp_path, seeds=(0,))
    _, frame, _ = render_case(0)
    truth = RenderedFrameDetector()
    truth.register(frame.rgb, frame.instance_ids, frame.id_to_label)

    class MasksFromText:
        name = "masks_from_text"

        def detect(self, inputs, prompts):
            found = truth.detect(inputs, prompts)
            masks = np.stack([frame.instance_ids == i for i in found.source_ids]) \
                if len(found) else np.zeros((0, *frame.instance_ids.shape), bool)
            return with_fields(found, masks=masks)

    class NeverSegment:
        name = "never"

        def segment(self, inputs, xyxy, depth_m):
            raise AssertionError("the segmenter was called")

    chain = build_chain(PerceptionSpec(depth_estimator="sensor", detector="simulation",
                                       segmenter="depth_box")).replaced(
        detector=MasksFromText(), segmenter=NeverSegment())
    questions = read_qspatial(bench.qspatial).questions
    results, failed = run_chain(questions, chain, BenchRun(
        bench.qspatial, bench.depth_dir, load_camera_info_yaml(bench.camera_info),
        InputSettings()))
    assert failed == 0 and all(r.answered for r in results), [r.reason for r in results]
