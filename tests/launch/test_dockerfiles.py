"""The Dockerfiles (CPU, x86_64 GPU with TensorRT, Jetson) pass hadolint, mount models
and the engine cache as volumes, and start through the entrypoint. They cannot be built
here (no Docker engine): this is the static check."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILES = [REPO / "Dockerfile", REPO / "docker" / "Dockerfile.gpu",
               REPO / "docker" / "Dockerfile.jetson"]


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint is not installed")
@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_passes(dockerfile):
    done = subprocess.run(["hadolint", str(dockerfile)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES[1:], ids=lambda p: p.name)
def test_gpu_images_keep_models_and_engines_outside(dockerfile):
    text = dockerfile.read_text()
    assert 'VOLUME ["/models", "/engines"]' in text
    assert "SPATIAL_VQA_MODELS=/models SPATIAL_VQA_ENGINES=/engines" in text
    assert 'ENTRYPOINT ["/entrypoint.sh"]' in text
    entrypoint = REPO / "docker" / "entrypoint.sh"
    assert entrypoint.stat().st_mode & 0o111 and 'exec "$@"' in entrypoint.read_text()
