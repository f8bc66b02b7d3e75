"""`spatial-vqa play`: recorded messages come out on live topics, in order, without ros2 bag.

How closely the player keeps the recorded spacing is a figure of bench/bench_play.py.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest

pytest.importorskip("rclpy")

from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message, serialize_message
from ros_support import REPO, spin_until
from rosbags.rosbag2 import Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from spatial_vqa_ros.io.bags import BagTopics
from spatial_vqa_ros.io.errors import DataIOError
from spatial_vqa_ros.nodes.player import (
    BagPlayer,
    PlayOptions,
    has_header,
    message_class,
    shift_stamp,
)
from spatial_vqa_ros.synthetic.bags import write_synthetic_bag

pytestmark = pytest.mark.ros

TOPICS = BagTopics()
FRAMES = 10
RATE_HZ = 10.0
RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)


@pytest.fixture(scope="module")
def small_bag(tmp_path_factory):
    """10 tiny frames at 10 Hz (0.9 s of recording)."""
    return write_synthetic_bag(tmp_path_factory.mktemp("play") / "bag", "scene",
                               frames=FRAMES, seed=2, rate_hz=RATE_HZ, width=160, height=120)


@pytest.fixture
def node(client_node):
    """The test's node (conftest), for subscriptions and the in-process BagPlayer."""
    return client_node


def _play_command(bag, *args: str) -> list[str]:
    # a deep publisher history: on a loaded machine a reliable writer keeping only 10
    # samples overwrites ones the reader has not acknowledged yet
    return [sys.executable, "-m", "spatial_vqa_ros.cli", "play", str(bag), "--qos-depth",
            "100", *args]


@contextmanager
def _playing(bag, *args: str):
    """`spatial-vqa play bag *args` running (output piped) for the block; killed after it
    if it has not ended."""
    proc = subprocess.Popen(_play_command(bag, *args), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=REPO)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class _Recorder:
    """The messages received on the rgb, camera info and labels topics, per topic."""

    def __init__(self, node) -> None:
        self.received: dict[str, list] = {}
        for topic, msg_type, qos in ((TOPICS.rgb, Image, RELIABLE),
                                     (TOPICS.camera_info, CameraInfo, RELIABLE),
                                     (TOPICS.labels, String, LATCHED)):
            self.received[topic] = []
            node.create_subscription(msg_type, topic, self.received[topic].append, qos)


def test_replay_at_rate_2_delivers_every_message_in_recorded_order(node, small_bag):
    recorder = _Recorder(node)
    with _playing(small_bag.path, "--rate", "2", "--wait-for-subscribers", "30", "--topics",
                  TOPICS.rgb, TOPICS.camera_info, TOPICS.labels) as proc:
        rgb = recorder.received[TOPICS.rgb]
        spin_until(node, lambda: len(rgb) >= FRAMES and proc.poll() is not None, 60.0)
        spin_until(node, lambda: False, 0.3)  # anything extra would show up now
        output = proc.communicate(timeout=30)[0].decode()
    assert proc.returncode == 0, output
    assert len(rgb) == FRAMES, output
    assert len(recorder.received[TOPICS.camera_info]) == FRAMES
    assert len(recorder.received[TOPICS.labels]) >= 1
    assert re.search(rf"^\s+{TOPICS.rgb}\s+{FRAMES}$", output, re.MULTILINE), output
    assert TOPICS.depth not in output.split("published")[1], output  # --topics

    # Every recorded frame once, in recorded order, with its recorded stamp (how closely
    # the receive times keep half the recorded spacing: bench/bench_play.py).
    stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in rgb]
    assert stamps == list(small_bag.stamps_ns)
    info = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec
            for m in recorder.received[TOPICS.camera_info]]
    assert info == stamps
    # It never publishes ahead of the schedule: a pass takes at least the recorded span
    # (0.9 s) divided by the rate.
    wall_s = float(re.search(r"published \d+ messages in ([\d.]+) s", output)[1])
    assert wall_s >= 0.9 / 2 - 0.005, output


def test_loop_latches_the_labels_and_ctrl_c_stops_cleanly(node, small_bag):
    recorder = _Recorder(node)
    with _playing(small_bag.path, "--loop", "--rate", "4") as proc:
        deadline = time.monotonic() + 30
        infos = []
        while time.monotonic() < deadline and not infos:
            infos = node.get_publishers_info_by_topic(TOPICS.labels)
            time.sleep(0.1)
        assert infos, "the player's labels publisher did not appear"
        assert infos[0].qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL
        image_infos = node.get_publishers_info_by_topic(TOPICS.rgb)
        assert image_infos[0].qos_profile.reliability == ReliabilityPolicy.RELIABLE

        # A subscriber that joins late still gets the latest labels.
        late = []
        node.create_subscription(String, TOPICS.labels, late.append, LATCHED)
        spin_until(node, lambda: bool(late), 20.0)
        assert late and late[0].data.startswith("{")
        # A third pass has begun once more than two passes' images have come (however
        # many of the first pass were missed before discovery): two passes are done.
        rgb = recorder.received[TOPICS.rgb]
        assert spin_until(node, lambda: len(rgb) > 2 * FRAMES, 30.0), len(rgb)
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=20)[0].decode()
    assert proc.returncode == 0, output
    assert "interrupted" in output and "Traceback" not in output, output
    passes = int(output.split(" pass(es)")[0].rsplit("(", 1)[1])
    assert passes >= 2, output


@pytest.mark.parametrize("keep_stamps", [False, True])
def test_loop_passes_shift_header_stamps_unless_told_to_keep_them(node, small_bag,
                                                                  keep_stamps):
    recorder = _Recorder(node)
    with _playing(small_bag.path, "--loop", "--max-loops", "2", "--rate", "4",
                  "--wait-for-subscribers", "30", "--topics", TOPICS.rgb, TOPICS.camera_info,
                  TOPICS.labels, *(["--keep-stamps"] if keep_stamps else [])) as result:
        rgb = recorder.received[TOPICS.rgb]
        spin_until(node, lambda: len(rgb) >= 2 * FRAMES and result.poll() is not None, 60.0)
        output = result.communicate(timeout=30)[0].decode()
    assert result.returncode == 0 and "2 pass(es)" in output, output
    stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in rgb]
    assert len(stamps) == 2 * FRAMES
    assert stamps[:FRAMES] == list(small_bag.stamps_ns)
    info = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec
            for m in recorder.received[TOPICS.camera_info]]
    assert info == stamps  # every stamped topic is shifted alike
    if keep_stamps:
        assert stamps[FRAMES:] == stamps[:FRAMES]
    else:  # one pass later: the 0.9 s span plus one 0.1 s frame period
        assert all(abs(b - a - 10**9) <= 2 for a, b in zip(stamps, stamps[FRAMES:]))


def test_shift_stamp_moves_only_the_header_stamp():
    msg = Image(width=2, height=1, encoding="mono8", step=2, data=b"\x07\x09")
    msg.header.stamp.sec, msg.header.stamp.nanosec = 10, 900_000_000
    msg.header.frame_id = "cam"
    raw = serialize_message(msg)
    assert has_header(Image) and not has_header(String)
    moved = deserialize_message(shift_stamp(raw, 250_000_000), Image)
    assert (moved.header.stamp.sec, moved.header.stamp.nanosec) == (11, 150_000_000)
    assert moved.header.frame_id == "cam" and bytes(moved.data) == b"\x07\x09"
    back = deserialize_message(shift_stamp(raw, -10_900_000_000), Image)
    assert (back.header.stamp.sec, back.header.stamp.nanosec) == (0, 0)
    assert shift_stamp(b"\x00\x07" + raw[2:], 5) == b"\x00\x07" + raw[2:]  # not plain CDR


def test_topics_of_unknown_types_are_skipped_with_a_warning(node, tmp_path):
    typestore = get_typestore(Stores.ROS2_JAZZY)
    typestore.register(get_types_from_msg("int32 value", "not_installed_pkg/msg/Thing"))
    thing = typestore.types["not_installed_pkg/msg/Thing"]
    text = typestore.types["std_msgs/msg/String"]
    path = tmp_path / "mixed"
    with Writer(path, version=Writer.VERSION_LATEST) as writer:
        things = writer.add_connection("/thing", "not_installed_pkg/msg/Thing",
                                       typestore=typestore)
        chatter = writer.add_connection("/chatter", "std_msgs/msg/String", typestore=typestore)
        for i in range(3):
            writer.write(things, 1000 + i, typestore.serialize_cdr(thing(value=i),
                                                                   "not_installed_pkg/msg/Thing"))
            writer.write(chatter, 1000 + i, typestore.serialize_cdr(text(data=f"hello {i}"),
                                                                    "std_msgs/msg/String"))
    warnings: list[str] = []
    received: list[String] = []
    node.create_subscription(String, "/chatter", received.append, RELIABLE)
    player = BagPlayer(node, path, PlayOptions(), warn=warnings.append)
    assert list(player.skipped) == ["/thing"]
    assert "not_installed_pkg/msg/Thing is not installed" in player.skipped["/thing"]
    assert warnings and "/thing" in warnings[0]
    assert player.wait_for_subscribers(20.0) == []
    summary = player.play()
    assert summary.published == {"/chatter": 3}
    assert summary.skipped_topics.keys() == {"/thing"}
    spin_until(node, lambda: len(received) == 3, 10.0)
    assert [m.data for m in received] == ["hello 0", "hello 1", "hello 2"]
    player.close()


def test_missing_bags_and_topics_fail_with_clear_errors(node, tmp_path, small_bag):
    with pytest.raises(DataIOError, match="does not exist"):
        BagPlayer(node, tmp_path / "nowhere")
    with pytest.raises(DataIOError, match=r"has no topic /nope; topics in the bag: "):
        BagPlayer(node, small_bag.path, PlayOptions(topics=("/nope",)))
    with pytest.raises(DataIOError, match="rate must be > 0"):
        PlayOptions(rate=0.0)
    with pytest.raises(DataIOError, match="no Python module not_a_pkg.msg"):
        message_class("not_a_pkg/msg/Thing")
    assert message_class("sensor_msgs/msg/Image") is Image
    result = subprocess.run(_play_command(tmp_path / "nowhere"), capture_output=True,
                            text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr
