# spatial_vqa_ros on ROS 2 Kilted (Ubuntu 24.04).
#   docker build -t spatial_vqa_ros .
#   docker run --rm -it --net=host spatial_vqa_ros \
#     ros2 launch spatial_vqa_ros spatial_vqa.launch.py camera:=/camera
# Not built on the development machine (no Docker engine there): written against
# the official ros:kilted-ros-base image.
# apt packages are not version-pinned (DL3008 ignored): the ROS and Ubuntu archives
# keep only current versions, so exact pins break builds; the base image tag is pinned.
FROM ros:kilted-ros-base

# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends \
        python3-pip python3-venv python3-scipy python3-yaml python3-tqdm python3-pil \
        libusb-1.0-0 \
        ros-kilted-visualization-msgs ros-kilted-diagnostic-msgs ros-kilted-nav-msgs \
        ros-kilted-message-filters ros-kilted-tf2-ros \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /ws
COPY requirements/python-system-ros.txt /tmp/requirements.txt
# Ubuntu 24.04 marks the system Python as externally managed; numpy stays the system's
# (the ROS message modules are built against it).
RUN python3 -c "import numpy; print(f'numpy=={numpy.__version__}')" > /tmp/numpy.txt \
    && pip3 install --break-system-packages --no-cache-dir -c /tmp/numpy.txt \
        -r /tmp/requirements.txt

COPY . /ws/src/spatial_vqa_ros
RUN . /opt/ros/kilted/setup.sh \
    && colcon build --packages-select spatial_vqa_ros --cmake-args -DBUILD_TESTING=OFF

RUN printf '#!/bin/bash\nsource /opt/ros/kilted/setup.bash\nsource /ws/install/setup.bash\nexec "$@"\n' \
        > /entrypoint.sh && chmod +x /entrypoint.sh
ENTRYPOINT ["/entrypoint.sh"]
CMD ["ros2", "launch", "spatial_vqa_ros", "spatial_vqa.launch.py"]
