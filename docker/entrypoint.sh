#!/bin/bash
# Source ROS and the workspace, then run the command (default: the launch file).
set -e
for setup in "/opt/ros/${ROS_DISTRO}/setup.bash" "/opt/ros/${ROS_DISTRO}/install/setup.bash"; do
  if [ -f "$setup" ]; then
    # shellcheck disable=SC1090
    source "$setup"
    break
  fi
done
# shellcheck disable=SC1091
source /ws/install/setup.bash
exec "$@"
