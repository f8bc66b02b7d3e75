from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest
from builders import est, graph_of

from spatial_vqa_ros.core.relations import RELATIONS
from spatial_vqa_ros.core.scene_frame import camera_aligned_frame
from spatial_vqa_ros.core.units import colloquial_length
from spatial_vqa_ros.core.vqa import (
    CATEGORIES,
    EmissionStats,
    SynthesisConfig,
    VQAError,
    conversation,
    conversations,
    render_qa,
    skip_reason,
    synthesize,
)


def rich_graph():
    """Four objects that differ clearly in every position and size."""
    return graph_of(est("mug", [2.0, 0.6, 0.8], (0.1, 0.1, 0.12)),
                    est("chair", [3.0, -0.8, 0.45], (0.5, 0.5, 0.9)),
                    est("box", [2.5, 0.0, 0.2], (0.4, 0.6, 0.4)),
                    est("lamp", [3.6, 1.3, 0.9], (0.3, 0.3, 1.8)))


def rng():
    return np.random.default_rng(0)


def binary(name):
    return RELATIONS[CATEGORIES[name].relation].binary


def pairs(graph):
    return [(a, b) for a in graph.objects for b in graph.objects if a.id != b.id]


@pytest.mark.parametrize("qualitative", [False, True])
@pytest.mark.parametrize("units", ["metric", "imperial", "mixed"])
def test_every_category_renders_with_descriptions_and_no_leftover_placeholders(units,
                                                                               qualitative):
    graph = rich_graph()
    for name in CATEGORIES:
        rendered = [render_qa(name, graph, a, b, rng(), units=units, qualitative=qualitative)
                    for a, b in pairs(graph)]
        rendered = [qa for qa in rendered if qa is not None]
        assert rendered, name
        for qa in rendered:
            assert qa.category == name and qa.qualitative == qualitative
            assert not re.search(r"\[[A-Z]\]", qa.question + qa.answer), qa
            assert qa.question[0].isupper() and not qa.answer[0].islower(), qa
            subject = graph.find(f"#{qa.subject_id}")
            assert subject.description in qa.question
            if binary(name):
                assert graph.find(f"#{qa.object_id}").description in qa.question
            else:
                assert qa.object_id is None and qa.object_label is None


@pytest.mark.parametrize(("units", "text", "shown"), [("metric", "42 centimeters", "cm"),
                                                       ("imperial", "17 inches", "in")])
def test_lengths_are_rendered_rounded_in_the_chosen_unit_and_kept_in_metres(units, text,
                                                                             shown):
    graph = graph_of(est("mug", [2.0, 0.0, 0.5]), est("box", [2.0, 0.42, 0.5], (0.3, 0.42, 0.3)))
    mug, box = graph.find("mug"), graph.find("box")
    for k in range(20):
        qa = render_qa("distance", graph, mug, box, np.random.default_rng(k), units=units)
        assert text in qa.answer
        assert qa.value == pytest.approx(0.42) and qa.unit == "m" and qa.rendered_unit == shown
        width = render_qa("width", graph, box, None, np.random.default_rng(k), units=units)
        assert text in width.answer and width.value == pytest.approx(0.42)


def test_mixed_units_choose_metric_or_imperial_per_qa_reproducibly():
    graph = graph_of(est("mug", [2.0, 0.0, 0.5]), est("box", [2.0, 1.5, 0.5]))
    mug, box = graph.find("mug"), graph.find("box")

    def shown(seed):
        return [render_qa("distance", graph, mug, box, np.random.default_rng([seed, k]),
                          units="mixed").rendered_unit for k in range(200)]

    units = Counter(shown(1))
    assert set(units) == {"m", "ft"} and 60 < units["m"] < 140
    assert shown(1) == shown(1)


def test_large_lengths_switch_to_metres_and_feet():
    graph = graph_of(est("mug", [2.0, 0.0, 0.5]), est("box", [2.0, 1.5, 0.5]))
    mug, box = graph.find("mug"), graph.find("box")
    metric = render_qa("distance", graph, mug, box, rng(), units="metric")
    imperial = render_qa("distance", graph, mug, box, rng(), units="imperial")
    assert "1.50 meters" in metric.answer and metric.rendered_unit == "m"
    feet = colloquial_length(1.5, "imperial")
    assert feet.value == 4.9 and feet.text() in imperial.answer and imperial.rendered_unit == "ft"
    assert imperial.value == pytest.approx(1.5)


PREDICATES = [n for n, c in CATEGORIES.items() if c.form == "predicate"]
CHOICES = [n for n, c in CATEGORIES.items() if c.form == "choice"]


@pytest.mark.parametrize("name", PREDICATES)
def test_predicate_answers_agree_with_the_truth_for_both_orders(name):
    graph = rich_graph()
    seen = set()
    for a, b in pairs(graph):
        for k in range(6):
            for qualitative in (False, True):
                qa = render_qa(name, graph, a, b, np.random.default_rng(k),
                               qualitative=qualitative)
                if qa is None:
                    continue
                seen.add(qa.truth)
                cat = CATEGORIES[name]
                pool = ((cat.reasoning, cat.false_reasoning) if qualitative
                        else (cat.answers, cat.false_answers))[qa.truth == "false"]
                texts = {t.replace("[A]", a.description).replace("[B]", b.description)
                         for t in pool}
                texts = {t[0].upper() + t[1:] for t in texts}
                assert qa.answer in texts
                verdict = "yes" if qa.truth == "true" else "no"
                if qualitative:
                    assert qa.answer.rstrip(".").split()[-1] == verdict
                else:
                    assert qa.answer.lower().startswith(("no", "incorrect", "not", "that's f")) \
                        == (verdict == "no")
    assert seen == {"true", "false"}


@pytest.mark.parametrize("name", CHOICES)
def test_choice_answers_name_the_winner_among_the_two_objects(name):
    graph = rich_graph()
    for a, b in pairs(graph):
        qa = render_qa(name, graph, a, b, rng())
        if qa is None:
            continue
        winner, loser = (a, b) if qa.truth == "true" else (b, a)
        answer = qa.answer.lower()
        assert winner.description in answer
        if loser.description in answer:  # "[X] is further left than [Y]"
            assert answer.find(winner.description) < answer.find(loser.description)
        others = [o.description for o in graph.objects if o.id not in (a.id, b.id)]
        assert not any(o in answer for o in others)


def test_relations_within_the_ambiguity_margin_are_never_emitted():
    graph = graph_of(est("mug", [2.0, 0.30, 0.5]), est("box", [3.0, 0.31, 0.5]))
    mug, box = graph.find("mug"), graph.find("box")
    stats = EmissionStats()
    for name in ("left_predicate", "right_predicate", "left_choice", "right_choice"):
        for a, b in ((mug, box), (box, mug)):
            assert render_qa(name, graph, a, b, rng(), stats=stats) is None
            assert skip_reason(name, graph, a, b) == "unclear"
    assert stats.skipped["unclear"] == 8 and stats.emitted == 0
    # and the sampler never picks them
    config = SynthesisConfig(qa_per_image=12)
    for k in range(30):
        categories = {qa.category for qa in synthesize(graph, config, f"img{k}")}
        assert not categories & {"left_predicate", "right_predicate", "left_choice",
                                 "right_choice"}


def test_directions_between_objects_on_top_of_each_other_are_not_emitted():
    graph = graph_of(est("mug", [2.0, 0.3, 0.9]), est("table", [2.01, 0.3, 0.4]))
    mug, table = graph.find("mug"), graph.find("table")
    assert skip_reason("direction_clock", graph, table, mug) == "unclear"
    assert render_qa("direction_degrees", graph, table, mug, rng()) is None


SIZE_CATEGORIES = [n for n, c in CATEGORIES.items() if RELATIONS[c.relation].uses_size]


def test_partial_objects_never_get_size_questions():
    assert {"width", "height", "tall_predicate", "big_choice"} <= set(SIZE_CATEGORIES)
    graph = graph_of(est("shelf", [3.0, -1.0, 1.0], (0.4, 0.8, 2.0), partial=True),
                     est("mug", [2.0, 0.5, 0.3], (0.1, 0.1, 0.1)))
    shelf, mug = graph.find("shelf"), graph.find("mug")
    stats = EmissionStats()
    for name in SIZE_CATEGORIES:
        for a, b in ((shelf, mug), (mug, shelf)):
            if binary(name) or a is shelf:
                assert render_qa(name, graph, a, b, rng(), stats=stats) is None, name
    assert stats.skipped["partial"] > 0 and stats.emitted == 0
    assert render_qa("width", graph, mug, None, rng()) is not None
    assert render_qa("left_predicate", graph, shelf, mug, rng()) is not None  # not a size
    for k in range(30):
        for qa in synthesize(graph, SynthesisConfig(qa_per_image=10), f"img{k}"):
            if qa.category in SIZE_CATEGORIES:
                assert shelf.id not in (qa.subject_id, qa.object_id)


FLOOR_CATEGORIES = [n for n, c in CATEGORIES.items() if RELATIONS[c.relation].needs_floor]


def test_without_a_floor_nothing_that_needs_up_is_emitted():
    assert {"above_predicate", "below_choice", "height", "vertical_distance",
            "higher_predicate", "direction_clock"} <= set(FLOOR_CATEGORIES)
    graph = graph_of(est("mug", [2.0, 0.6, 0.8], (0.1, 0.1, 0.12)),
                     est("chair", [3.0, -0.8, -0.45], (0.5, 0.5, 0.9)),
                     scene=camera_aligned_frame())
    assert not graph.floor_found
    mug, chair = graph.find("mug"), graph.find("chair")
    for name in FLOOR_CATEGORIES:
        assert render_qa(name, graph, mug, chair, rng()) is None
        assert skip_reason(name, graph, mug, chair) == "no_floor"
    stats = EmissionStats()
    emitted = Counter()
    for k in range(40):
        emitted.update(qa.category for qa in synthesize(graph, SynthesisConfig(), f"{k}",
                                                        stats=stats))
    assert emitted and not set(emitted) & set(FLOOR_CATEGORIES)
    assert stats.skipped["no_floor"] > 0 and stats.emitted == sum(emitted.values())


def test_the_same_object_twice_is_refused_and_a_missing_object_is_an_error():
    graph = rich_graph()
    mug = graph.find("mug")
    assert skip_reason("distance", graph, mug, mug) == "same_object"
    with pytest.raises(VQAError, match="needs two objects"):
        render_qa("distance", graph, mug, None, rng())
    with pytest.raises(VQAError, match="unknown VQA category 'size'"):
        render_qa("size", graph, mug, None, rng())


def test_repeated_labels_are_named_by_their_unique_descriptions():
    graph = graph_of(est("chair", [2.5, 1.0, 0.45], (0.5, 0.5, 0.9)),
                     est("chair", [3.0, -1.0, 0.45], (0.5, 0.5, 0.9)),
                     est("mug", [2.0, 0.0, 0.8], (0.1, 0.1, 0.12)))
    config = SynthesisConfig(qa_per_image=20, qualitative_fraction=0.5)
    count = 0
    for k in range(20):
        for qa in synthesize(graph, config, f"img{k}"):
            for text in (qa.question, qa.answer):
                for match in re.finditer(r"(\w+) chair", text.lower()):
                    assert match.group(1) in ("left", "right"), text
                    count += 1
    assert count > 50


def test_synthesis_is_deterministic_in_seed_and_image_key():
    graph = rich_graph()
    config = SynthesisConfig(units="mixed", qualitative_fraction=0.3, seed=7)
    first = synthesize(graph, config, "bag_a/000123")
    assert first == synthesize(graph, config, "bag_a/000123")
    assert len(first) == config.qa_per_image
    assert first != synthesize(graph, config, "bag_a/000124")
    other_seed = SynthesisConfig(units="mixed", qualitative_fraction=0.3, seed=8)
    assert first != synthesize(graph, other_seed, "bag_a/000123")


def test_image_keys_hash_stably_across_processes():
    from spatial_vqa_ros.core.vqa.synthesis import _stable_hash

    assert _stable_hash("bag_a/000123") == _stable_hash("bag_a/000123")
    assert _stable_hash("frame 1") == 1763585001075750259  # blake2b, fixed forever


def test_sampled_categories_follow_the_weights_over_many_images():
    graph = rich_graph()
    weights = {"distance": 3.0, "left_predicate": 1.0, "width": 2.0, "tall_choice": 2.0}
    config = SynthesisConfig(category_weights=weights, qa_per_image=8)
    counts = Counter()
    for k in range(250):
        counts.update(qa.category for qa in synthesize(graph, config, f"img{k}"))
    total = sum(counts.values())
    assert total == 250 * 8 and set(counts) == set(weights)
    for name, weight in weights.items():
        assert counts[name] / total == pytest.approx(weight / 8.0, abs=0.01)


def test_uniform_weights_cover_every_category_evenly():
    graph = rich_graph()
    counts = Counter()
    config = SynthesisConfig(qa_per_image=10)
    for k in range(350):
        counts.update(qa.category for qa in synthesize(graph, config, f"img{k}"))
    expected = 350 * 10 / len(CATEGORIES)
    assert set(counts) == set(CATEGORIES)
    assert all(abs(c - expected) < 0.25 * expected for c in counts.values()), counts


def test_pairs_and_objects_are_spread_over_the_scene():
    graph = rich_graph()
    qas = synthesize(graph, SynthesisConfig(qa_per_image=8), "img")
    used = Counter(i for qa in qas for i in (qa.subject_id, qa.object_id) if i is not None)
    assert set(used) == {o.id for o in graph.objects}
    pairs_used = Counter(frozenset((qa.subject_id, qa.object_id)) for qa in qas
                         if qa.object_id is not None)
    assert max(pairs_used.values()) <= 2


def test_qualitative_fraction_controls_the_reasoning_share():
    graph = rich_graph()
    config = SynthesisConfig(qualitative_fraction=0.25, qa_per_image=10)
    share = np.mean([qa.qualitative for k in range(100)
                     for qa in synthesize(graph, config, f"{k}")])
    assert share == pytest.approx(0.25, abs=0.05)


def test_a_scene_without_pairs_still_gets_single_object_questions():
    graph = graph_of(est("shelf", [3.0, 0.0, 1.0], (0.4, 0.8, 2.0)))
    stats = EmissionStats()
    qas = synthesize(graph, SynthesisConfig(qa_per_image=3), "solo", stats=stats)
    assert len(qas) == 3 and {qa.category for qa in qas} <= {"width", "height"}
    assert synthesize(graph_of(), SynthesisConfig(), "empty") == []


def test_bad_configuration_is_refused_with_the_reason():
    with pytest.raises(VQAError, match="unknown categories in category_weights: sizes"):
        SynthesisConfig(category_weights={"sizes": 1.0})
    with pytest.raises(VQAError, match="units must be one of"):
        SynthesisConfig(units="furlongs")
    with pytest.raises(VQAError, match="not all zero"):
        SynthesisConfig(category_weights={"width": 0.0})
    with pytest.raises(VQAError, match="qualitative_fraction"):
        SynthesisConfig(qualitative_fraction=1.5)


def test_conversations_put_the_image_token_in_the_first_human_turn_only():
    graph = rich_graph()
    qas = synthesize(graph, SynthesisConfig(qa_per_image=4), "img")
    turns = conversation(qas)
    assert [t["from"] for t in turns] == ["human", "gpt"] * 4
    assert turns[0]["value"] == "<image>\n" + qas[0].question
    assert all("<image>" not in t["value"] for t in turns[1:])
    assert [t["value"] for t in turns[1::2]] == [qa.answer for qa in qas]
    single = conversations(qas, multi_turn=False)
    assert len(single) == 4 and all(c[0]["value"].startswith("<image>\n") for c in single)
    assert conversations(qas) == [turns]
    assert conversations([]) == []


def test_direction_answers_give_the_clock_and_the_bearing():
    graph = graph_of(est("mug", [2.0, 0.0, 0.5]), est("box", [3.0, 1.0, 0.5]))
    mug, box = graph.find("mug"), graph.find("box")
    clock = render_qa("direction_clock", graph, mug, box, rng())
    assert clock.value == 10.0 and "10 o'clock" in clock.answer
    assert clock.unit == "o'clock"
    degrees = render_qa("direction_degrees", graph, mug, box, rng())
    assert degrees.value == pytest.approx(45.0) and degrees.unit == "deg"
    assert "45 degrees to the left" in degrees.answer
    behind = render_qa("direction_degrees", graph, box, mug, rng())
    assert "135 degrees to the right" in behind.answer


def test_separations_within_the_position_noise_are_not_emitted():
    # two cans side by side: 1 cm apart vertically is noise, 1.5 m apart is a fact
    graph = graph_of(est("can", [2.0, 0.75, 0.06], (0.07, 0.07, 0.12)),
                     est("bottle", [2.0, -0.75, 0.07], (0.07, 0.07, 0.14)))
    can, bottle = graph.find("can"), graph.find("bottle")
    assert skip_reason("vertical_distance", graph, can, bottle) == "unclear"
    assert skip_reason("distance", graph, can, bottle) is None
