"""Answer verifier throughput: answers scored per second, per form and overall.

Usage: python bench/bench_verify.py [--answers 20000] [--seed 0]

The answers are the dataset's own (synthesized from random scene graphs with mixed
units and half of them reasoning answers: the longest texts the verifier meets), each
scored in the default mode (within +-25%). This is the cost a GRPO trainer pays per
completion in ``reward_funcs``; the check that they all score 1 is in the tests.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np

from spatial_vqa_ros.core.vqa import CATEGORIES, SynthesisConfig, synthesize
from spatial_vqa_ros.core.vqa.verify import make_reward_function, score_answer
from spatial_vqa_ros.io.datasets.schema import qa_fields
from spatial_vqa_ros.synthetic.scoring import render_case, run_pipeline


def _qas(count: int, seed: int) -> list[tuple[dict, str]]:
    config = SynthesisConfig(qa_per_image=12, units="mixed", qualitative_fraction=0.5,
                             seed=seed)
    out: list[tuple[dict, str]] = []
    case = 0
    while len(out) < count:
        _, rendered, _ = render_case(seed * 1000 + case)
        graph = run_pipeline(rendered).graph
        for k in range(20):
            out += [(qa_fields(qa), qa.answer) for qa in synthesize(graph, config, f"{case}/{k}")]
        case += 1
    return out[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pairs = _qas(args.answers, args.seed)
    by_form: dict[str, list[float]] = defaultdict(list)
    start = time.perf_counter()
    for qa, answer in pairs:
        one = time.perf_counter()
        reward = score_answer(qa, answer).reward
        by_form[CATEGORIES[qa["category"]].form].append(time.perf_counter() - one)
        assert reward == 1.0, (qa, answer)
    elapsed = time.perf_counter() - start
    print(f"## answer verifier: {len(pairs)} dataset answers (mixed units, 50% reasoning)")
    print(f"  overall              {len(pairs) / elapsed:10.0f} answers/s "
          f"({1e6 * elapsed / len(pairs):.0f} us each)")
    for form, times in sorted(by_form.items()):
        print(f"  {form:20s} {len(times) / sum(times):10.0f} answers/s "
              f"(median {1e6 * float(np.median(times)):.0f} us, n={len(times)})")
    reward = make_reward_function()
    batch = pairs[:1024]
    start = time.perf_counter()
    reward([a for _, a in batch], qa=[q for q, _ in batch])
    rate = len(batch) / (time.perf_counter() - start)
    print(f"  TRL reward, batch of {len(batch):4d}  {rate:8.0f} answers/s")


if __name__ == "__main__":
    main()
