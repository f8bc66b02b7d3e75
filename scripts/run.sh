#!/usr/bin/env bash
# Run a task inside the environment made by scripts/setup_env.sh, with DDS kept
# on loopback and a domain id of its own so parallel runs on one machine do not
# cross-talk. Usage: scripts/run.sh {test|demo|lint|bench} [extra args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SPATIAL_VQA_VENV:-$ROOT/.venv}"
# shellcheck disable=SC1091
source "$VENV/spatial-vqa-env.sh"
set -u

# Development and CI machines must not multicast discovery onto the network.
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
if [ "${ROS_DISTRO:-}" = humble ]; then export ROS_LOCALHOST_ONLY=1; fi
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-$(( ($$ % 100) + 1 ))}"
export PYTHONDONTWRITEBYTECODE=1

cd "$ROOT"
task="${1:-test}"; shift || true
case "$task" in
  lint)
    ruff check . "$@"
    ;;
  test)
    ruff check .
    echo "[test] ROS_DOMAIN_ID=$ROS_DOMAIN_ID (loopback discovery only)"
    # pytest exits 5 when it collected no tests: that is a failure too.
    python -m pytest "$@"
    ;;
  demo)
    python -m spatial_vqa_ros.demo "$@"
    ;;
  bench)
    for b in bench/bench_*.py; do echo "== $b"; python "$b" "$@"; done
    ;;
  *)
    echo "usage: scripts/run.sh {test|demo|lint|bench}" >&2; exit 2
    ;;
esac
