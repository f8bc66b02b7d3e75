"""Write the reference outputs of the torchvision-only transformers processors
(``Sam2ImageProcessor``, ``Sam2Processor``, ``DepthProImageProcessor``; and, with the
argument ``sam3`` alone, ``Sam3ImageProcessor`` / ``Sam3Processor``) that
``test_processing.py`` and ``test_sam3.py`` compare the package's torch-only
reproduction with.

Run it where torchvision imports beside torch (not in the project's venv on a CPU-only
x86 machine: see ../shared/PERCEPTION.md). It was run with torch 2.14.1,
torchvision 0.29.1, transformers 5.23.0:

    python -m venv /tmp/tvenv
    /tmp/tvenv/bin/pip install torch==2.14.1 torchvision==0.29.1 transformers==5.23.0 pillow
    /tmp/tvenv/bin/python tests/perception/families/make_goldens.py [sam3]

(SAM 3's file was made the same way: lerobot's side venv with torch 2.14.1 +
torchvision 0.29.1, transformers 5.23.0 installed beside it with ``pip --target``.)

The inputs are drawn from fixed seeds and stored beside the outputs, so the test does
not depend on numpy's generator staying the same.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

GOLDEN = Path(__file__).with_name("golden") / "processors.npz"
#: (seed, height, width): a downscale in both axes, an upscale in one, a tall image.
IMAGES = ((1, 45, 67), (2, 80, 31), (3, 300, 200))
SAM2_SIZE = 64
DEPTH_PRO_SIZE = 48
BOXES = [[2.5, 3.0, 30.0, 40.0], [10.0, 0.0, 67.0, 45.0], [40.25, 20.0, 60.0, 30.5]]


def images() -> list[np.ndarray]:
    return [np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
            for seed, h, w in IMAGES]


def main() -> None:
    import torch
    import torchvision
    import transformers
    from transformers import DepthProImageProcessor, Sam2ImageProcessor, Sam2Processor

    out: dict[str, np.ndarray] = {}
    sam2 = Sam2ImageProcessor(size={"height": SAM2_SIZE, "width": SAM2_SIZE})
    depth_pro = DepthProImageProcessor(size={"height": DEPTH_PRO_SIZE,
                                             "width": DEPTH_PRO_SIZE})
    for index, image in enumerate(images()):
        out[f"image_{index}"] = image
        out[f"sam2_pixels_{index}"] = sam2(image, return_tensors="pt")[
            "pixel_values"].numpy()
        out[f"depth_pro_pixels_{index}"] = depth_pro(image, return_tensors="pt")[
            "pixel_values"].numpy()

    # Box scaling: the processor's input_boxes for the first image.
    processor = Sam2Processor(image_processor=sam2)
    encoded = processor(images=out["image_0"], input_boxes=[BOXES], return_tensors="pt")
    out["sam2_boxes_in"] = np.array(BOXES, np.float32)
    out["sam2_boxes_out"] = encoded["input_boxes"][0].numpy()

    # Mask post-processing: random low-resolution logits to the first image's size.
    logits = torch.from_numpy(np.random.default_rng(7).normal(0, 3, (3, 1, 16, 16))
                              .astype(np.float32))
    masks = processor.post_process_masks([logits], [(45, 67)])[0]
    out["sam2_logits"] = logits.numpy()
    out["sam2_masks"] = masks[:, 0].numpy()

    # Depth Pro post-processing: canonical inverse depth + field of view -> metres, fx.
    inverse = torch.from_numpy(np.random.default_rng(8).uniform(0.05, 2.0, (1, 16, 16))
                               .astype(np.float32))
    fov = torch.tensor([55.0])
    result = depth_pro.post_process_depth_estimation(
        SimpleNamespace(predicted_depth=inverse, field_of_view=fov), target_sizes=[(45, 67)])[0]
    out["depth_pro_inverse"] = inverse.numpy()
    out["depth_pro_fov_deg"] = fov.numpy()
    out["depth_pro_depth_m"] = result["predicted_depth"].numpy()
    out["depth_pro_focal_px"] = np.array([float(result["focal_length"])])
    out["versions"] = np.array(json.dumps({"torch": torch.__version__,
                                           "torchvision": torchvision.__version__,
                                           "transformers": transformers.__version__}))
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(GOLDEN, **out)
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size} bytes)")


#: SAM 3's reference outputs (Sam3ImageProcessor, Sam3Processor): another file, so
#: ``make_goldens.py sam3`` adds them without rewriting the first.
SAM3_GOLDEN = GOLDEN.with_name("sam3_processor.npz")
SAM3_SIZE = 56
SAM3_PROMPTS = ["cup", "red mug", "", "a chair by the table"]
#: Instance post-processing: thresholds of the call (the processor's defaults).
SAM3_SCORE_THRESHOLD, SAM3_MASK_THRESHOLD = 0.3, 0.5


def sam3() -> None:
    """SAM 3: pixel values, prompt tokens (a letter CLIP tokenizer, as the tiny models
    use) and instance post-processing."""
    import torch
    import torchvision
    import transformers
    from tiny_models import clip_vocab
    from transformers import CLIPTokenizer, Sam3ImageProcessor, Sam3Processor

    out: dict[str, np.ndarray] = {}
    image_processor = Sam3ImageProcessor(size={"height": SAM3_SIZE, "width": SAM3_SIZE})
    for index, image in enumerate(images()):
        out[f"image_{index}"] = image
        out[f"sam3_pixels_{index}"] = image_processor(image, return_tensors="pt")[
            "pixel_values"].numpy()
    tokenizer = CLIPTokenizer(vocab=clip_vocab(), merges=[], pad_token="!",
                              model_max_length=32)
    processor = Sam3Processor(image_processor=image_processor, tokenizer=tokenizer)
    text = processor(text=SAM3_PROMPTS, return_tensors="pt")
    out["sam3_input_ids"] = text["input_ids"].numpy()
    out["sam3_attention_mask"] = text["attention_mask"].numpy()

    rng = np.random.default_rng(9)
    outputs = SimpleNamespace(
        pred_logits=torch.from_numpy(rng.normal(0, 2, (2, 12)).astype(np.float32)),
        pred_boxes=torch.from_numpy(np.sort(rng.uniform(0, 1, (2, 12, 2, 2)), axis=2)
                                    .transpose(0, 1, 3, 2).reshape(2, 12, 4)
                                    .astype(np.float32)),
        pred_masks=torch.from_numpy(rng.normal(0, 3, (2, 12, 16, 16)).astype(np.float32)),
        presence_logits=torch.from_numpy(np.array([[1.5], [-0.5]], np.float32)))
    results = processor.post_process_instance_segmentation(
        outputs, threshold=SAM3_SCORE_THRESHOLD, mask_threshold=SAM3_MASK_THRESHOLD,
        target_sizes=[(45, 67), (45, 67)])
    for key in ("pred_logits", "pred_boxes", "pred_masks", "presence_logits"):
        out[f"sam3_{key}"] = getattr(outputs, key).numpy()
    for prompt, result in enumerate(results):
        out[f"sam3_scores_{prompt}"] = result["scores"].numpy()
        out[f"sam3_boxes_{prompt}"] = result["boxes"].numpy()
        out[f"sam3_masks_{prompt}"] = result["masks"].numpy().astype(bool)
    out["versions"] = np.array(json.dumps({"torch": torch.__version__,
                                           "torchvision": torchvision.__version__,
                                           "transformers": transformers.__version__}))
    np.savez_compressed(SAM3_GOLDEN, **out)
    print(f"wrote {SAM3_GOLDEN} ({SAM3_GOLDEN.stat().st_size} bytes)")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] not in ([], ["sam3"]):
        raise SystemExit("usage: make_goldens.py [sam3]  (no argument: every file)")
    if not sys.argv[1:]:
        main()
    sam3()
