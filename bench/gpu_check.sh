#!/usr/bin/env bash
# The GPU check (issue 14): on a machine with an NVIDIA GPU, in under 8 minutes, what this
# package's perception does there. Run from the repository root after `make setup`:
#   bench/gpu_check.sh
# Prints the GPU, what torch / ONNX Runtime / TensorRT see, per-stage latency of the
# real-size architectures (random weights: speed does not depend on them) on torch CUDA
# and on ONNX Runtime (TensorRT -> CUDA), 640x480. Not run on the development machine
# (no GPU there); every step is bounded by a timeout so one slow step cannot eat the rest.
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source .venv/spatial-vqa-env.sh 2>/dev/null || true
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-42}"

echo "== GPU"
nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv || true
echo "== runtimes"
timeout 60 python - <<'PY'
import onnxruntime as ort
import torch
print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")
print("onnxruntime", ort.__version__, ort.get_available_providers())
try:
    import tensorrt
    print("tensorrt", tensorrt.__version__)
except ImportError:
    print("tensorrt: not installed (the ONNX Runtime TensorRT provider may still be)")
PY
echo "== tests of the families on this machine (tiny models)"
timeout 180 python -m pytest -q -rs tests/perception/families tests/perception/runtime \
  -p no:cacheprovider | tail -6
echo "== torch on CUDA: Depth Anything V2 Small, OWLv2 base, SAM2.1 hiera tiny"
timeout 180 python bench/bench_families.py --device cuda --runs 5 --only depth,owlv2,sam2
echo "== ONNX Runtime (TensorRT -> CUDA providers): the same, exported first"
timeout 240 python bench/bench_families.py --device cuda --runs 5 --only depth,sam2 --onnx
if python -c "import tensorrt" 2>/dev/null; then
  echo "== native TensorRT engines (runtime tensorrt; fp16 on TensorRT 10): built, then timed"
  SPATIAL_VQA_ENGINES="${SPATIAL_VQA_ENGINES:-/tmp/gpu_check_engines}" \
    timeout 300 python bench/bench_families.py --device cuda --runs 5 --only depth,sam2 \
    --onnx --tensorrt
fi
echo "== done"
