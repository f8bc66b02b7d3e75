#!/usr/bin/env bash
# The GPU check (issue 14): on a machine with an NVIDIA GPU, in under 9 minutes, what this
# package's perception does there. Run from the repository root (after `make setup`, or
# on a bare GPU image whose python3 has torch, transformers and onnxruntime):
#   bench/gpu_check.sh [LOG]
# Steps, most telling first, each bounded by a timeout so one slow step cannot eat the
# rest: the CUDA parity tests (each family's and the learned tracker's output on cuda
# equals the CPU's), per-stage latency of the real-size architectures on torch CUDA
# (random weights: speed does not depend on them), the learned tracker's time per frame,
# ONNX Runtime's CUDA / TensorRT providers and native TensorRT where installed, then the
# family tests. Wheels in .whl/ (e.g. transformers at our pin, where the image's differs)
# are installed to a scratch folder first. Not run on the development machine (no GPU).
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source .venv/spatial-vqa-env.sh 2>/dev/null || true
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-42}"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/gpu_check_site .whl/*.whl && export PYTHONPATH="$PWD:/tmp/gpu_check_site"
fi
step() { echo; echo "== $1 ($(date +%T))"; }

step "GPU"
nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv || true
step "runtimes"
timeout 60 python3 - <<'PY'
import onnxruntime as ort
import torch
import transformers
print("python3 torch", torch.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")
print("transformers", transformers.__version__)
print("onnxruntime", ort.__version__, ort.get_available_providers())
try:
    import tensorrt
    print("tensorrt", tensorrt.__version__)
except ImportError:
    print("tensorrt: not installed (the ONNX Runtime TensorRT provider may still be)")
PY
step "CUDA parity: every family and the learned tracker, cuda vs cpu (tiny models)"
timeout 150 python3 -m pytest -q -rs -p no:cacheprovider \
  tests/perception/families/test_cuda_parity.py \
  tests/perception/trackers/test_cuda_parity_trackers.py 2>&1 | tail -25
step "torch on CUDA: every family at real size, 640x480"
timeout 200 python3 bench/bench_families.py --device cuda --runs 10 \
  --only depth,owlv2,grounding_dino,sam,sam2,depth_pro
step "preset gpu_fast on CUDA: the whole chain at real size, 10 boxes a frame"
timeout 150 python3 bench/bench_presets.py gpu_fast --device cuda --runs 10 --skip-onnx
step "learned tracker sam2_video on CUDA: hiera-tiny at real size, 10 objects"
timeout 90 python3 bench/bench_trackers.py --paths 1 --frames 2 --learned \
  --learned-frames 10 --device cuda
if python3 -c "import onnxruntime as o, sys; sys.exit('CUDAExecutionProvider' not in o.get_available_providers())"; then
  step "ONNX Runtime (TensorRT -> CUDA providers): exported first"
  timeout 240 python3 bench/bench_families.py --device cuda --runs 5 --only depth,sam2 --onnx
else
  step "ONNX Runtime on CUDA: not measured (this onnxruntime is the CPU build)"
fi
if python3 -c "import tensorrt" 2>/dev/null; then
  step "native TensorRT engines (runtime tensorrt; fp16 on TensorRT 10): built, then timed"
  SPATIAL_VQA_ENGINES="${SPATIAL_VQA_ENGINES:-/tmp/gpu_check_engines}" \
    timeout 300 python3 bench/bench_families.py --device cuda --runs 5 --only depth,sam2 \
    --onnx --tensorrt
else
  step "native TensorRT: not measured (tensorrt is not installed)"
fi
step "family and runtime tests on this machine's python (tiny models)"
# (modules that need what a bare GPU image lacks, rosbags or open3d, fail to collect and
# are counted as errors; the rest run)
timeout 120 python3 -m pytest -q -p no:cacheprovider --continue-on-collection-errors \
  tests/perception/families tests/perception/runtime tests/perception/trackers 2>&1 \
  | grep -E "^(FAILED|ERROR)|passed|failed" | tail -25
step "done"
