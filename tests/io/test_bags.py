"""rosbag2 frames: write with BagFrameWriter, read back with BagFrameReader / read_frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag2 import Reader, StoragePlugin, Writer

from spatial_vqa_ros.core.camera import CameraIntrinsics
from spatial_vqa_ros.io import (
    BagFrameReader,
    BagFrameWriter,
    BagTopics,
    DataIOError,
    bag_topics_summary,
    read_frames,
)
from spatial_vqa_ros.io.bags import encode_depth

H, W = 24, 32
T0_NS = 1_700_000_000_000_000_000
PERIOD_NS = 33_333_333
STORAGES = ["sqlite3", "mcap"]
STORAGE_FILE = {"sqlite3": "bag.db3", "mcap": "bag.mcap"}
CAMERA = CameraIntrinsics(W, H, 30.0, 31.0, 15.5, 11.5, "plumb_bob", (0.05, -0.01, 0.0, 0.0, 0.0),
                          "cam_optical")
LABELS = {1: "mug", 2: "box", 300: "chair"}


def _frame_arrays(i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rgb (H, W, 3) uint8, depth (H, W) metres with NaN holes, instance ids (H, W)."""
    rng = np.random.default_rng(i)
    rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    depth_m = rng.uniform(0.3, 4.0, (H, W)).astype(np.float32)
    depth_m[0, :5] = np.nan
    ids = rng.choice(np.array([0, 1, 2, 300]), size=(H, W))
    return rgb, depth_m, ids


def _stamp(i: int) -> int:
    return T0_NS + i * PERIOD_NS


def _write_frames(path: Path, storage: str = "sqlite3", n: int = 5, **kwargs: str) -> Path:
    with BagFrameWriter(path, storage=storage, **kwargs) as writer:  # type: ignore[arg-type]
        for i in range(n):
            rgb, depth_m, ids = _frame_arrays(i)
            writer.write(_stamp(i), rgb, CAMERA, depth_m=depth_m, instance_ids=ids,
                         id_to_label=LABELS)
    return path


@pytest.mark.parametrize("storage", STORAGES)
@pytest.mark.parametrize(("depth_encoding", "instance_encoding"),
                         [("32FC1", "16UC1"), ("16UC1", "32SC1")])
def test_round_trip_gives_back_every_frame(
    tmp_path: Path, storage: str, depth_encoding: str, instance_encoding: str
) -> None:
    path = _write_frames(tmp_path / "bag", storage, depth_encoding=depth_encoding,
                         instance_encoding=instance_encoding)
    reader = BagFrameReader(path)
    frames = list(reader)
    assert [f.stamp_ns for f in frames] == [_stamp(i) for i in range(5)]
    for i, frame in enumerate(frames):
        rgb, depth_m, ids = _frame_arrays(i)
        np.testing.assert_array_equal(frame.rgb, rgb)
        assert frame.camera == CAMERA
        assert frame.depth_encoding == depth_encoding
        if depth_encoding == "32FC1":
            np.testing.assert_array_equal(frame.depth_raw, depth_m)
        decoded_m = frame.decode_depth_m()
        assert decoded_m is not None
        np.testing.assert_allclose(decoded_m, depth_m, atol=0.0005)  # NaN where NaN
        assert frame.instance_ids is not None
        np.testing.assert_array_equal(frame.instance_ids, ids)
        assert frame.id_to_label == LABELS
        assert frame.warnings == ()
    assert (reader.stats.frames_yielded, reader.stats.frames_skipped) == (5, 0)
    assert (reader.stats.depth_missing, reader.stats.instances_missing) == (0, 0)


def test_bgr8_bag_is_read_in_rgb_order(tmp_path: Path) -> None:
    path = _write_frames(tmp_path / "bag", rgb_encoding="bgr8", n=1)
    frame = next(read_frames(path))
    np.testing.assert_array_equal(frame.rgb, _frame_arrays(0)[0])


def test_a_bag_frame_converts_to_a_core_capture(tmp_path: Path) -> None:
    frame = next(read_frames(_write_frames(tmp_path / "bag", depth_encoding="16UC1", n=1)))
    capture = frame.to_capture()
    assert capture.depth_m.dtype == np.float32
    assert capture.stamp_s == pytest.approx(T0_NS * 1e-9)


def test_16uc1_depth_is_millimetres_with_zero_for_invalid() -> None:
    depth_m = np.array([[1.2344, 1.2346, np.nan, -1.0, 0.0, 70.0, np.inf]], np.float32)
    np.testing.assert_array_equal(encode_depth(depth_m, "16UC1"), [[1234, 1235, 0, 0, 0, 0, 0]])
    assert np.isnan(encode_depth(depth_m, "32FC1")[0, 2])


def test_streams_are_matched_by_nearest_stamp_despite_jitter_and_delay(tmp_path: Path) -> None:
    """Depth logged 50 ms after its rgb image, stamps jittered by up to 8 ms; frame 3 has
    its depth 21 ms late (outside the 20 ms slop), so it gets none, and frame 4 still
    gets its own depth (7 ms off) rather than frame 3's (12 ms off)."""
    path = tmp_path / "bag"
    jitter_ns = [5_000_000, -8_000_000, 0, 21_000_000, 7_000_000, -3_000_000]
    with BagFrameWriter(path) as writer:
        writer.write_message(writer.topics.camera_info, "sensor_msgs/msg/CameraInfo", T0_NS,
                             writer.camera_info_message(T0_NS, CAMERA))
        for i, jitter in enumerate(jitter_ns):
            rgb = np.full((H, W, 3), i, np.uint8)
            writer.write_message(writer.topics.rgb, "sensor_msgs/msg/Image", _stamp(i) + 1000,
                                 writer.image_message(_stamp(i), rgb, "rgb8", "cam_optical"))
            depth = np.full((H, W), float(i + 1), np.float32)
            writer.write_message(
                writer.topics.depth, "sensor_msgs/msg/Image", _stamp(i) + 50_000_000,
                writer.image_message(_stamp(i) + jitter, depth, "32FC1", "cam_optical"))
    reader = BagFrameReader(path)
    depth_index = {int(f.rgb[0, 0, 0]): None if f.depth_raw is None else int(f.depth_raw[0, 0]) - 1
                   for f in reader}
    assert depth_index == {0: 0, 1: 1, 2: 2, 3: None, 4: 4, 5: 5}
    assert reader.stats.depth_missing == 1
    assert reader.stats.instances_missing == 6  # no instance topic in the bag


def test_latched_camera_info_and_labels_apply_to_later_frames(tmp_path: Path) -> None:
    path = tmp_path / "bag"
    with BagFrameWriter(path) as writer:
        writer.write_message(writer.topics.camera_info, "sensor_msgs/msg/CameraInfo", T0_NS,
                             writer.camera_info_message(T0_NS, CAMERA))
        writer.write_message(writer.topics.labels, "std_msgs/msg/String", T0_NS,
                             writer.typestore.types["std_msgs/msg/String"](data='{"7": "cup"}'))
        for i in range(1, 4):
            writer.write_message(
                writer.topics.rgb, "sensor_msgs/msg/Image", _stamp(i),
                writer.image_message(_stamp(i), _frame_arrays(i)[0], "rgb8", "cam_optical"))
    frames = list(read_frames(path))
    assert len(frames) == 3
    assert all(f.camera == CAMERA and f.id_to_label == {7: "cup"} for f in frames)


def test_frames_before_the_first_camera_info_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "bag"
    with BagFrameWriter(path) as writer:
        for i in range(2):  # rgb only, no CameraInfo yet
            writer.write_message(
                writer.topics.rgb, "sensor_msgs/msg/Image", _stamp(i),
                writer.image_message(_stamp(i), _frame_arrays(i)[0], "rgb8", "cam_optical"))
        for i in range(2, 5):
            writer.write(_stamp(i), _frame_arrays(i)[0], CAMERA)
    reader = BagFrameReader(path)
    assert [f.stamp_ns for f in reader] == [_stamp(i) for i in range(2, 5)]
    assert reader.stats.skipped_no_camera_info == 2
    assert reader.stats.frames_yielded == 3
    assert any("no CameraInfo" in note for note in reader.stats.notes)


def test_uncalibrated_camera_info_skips_frames_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "bag"
    with BagFrameWriter(path) as writer:
        info = writer.camera_info_message(T0_NS, CAMERA)
        info.k = np.zeros(9)
        writer.write_message(writer.topics.camera_info, "sensor_msgs/msg/CameraInfo", T0_NS, info)
        writer.write_message(
            writer.topics.rgb, "sensor_msgs/msg/Image", T0_NS,
            writer.image_message(T0_NS, _frame_arrays(0)[0], "rgb8", "cam_optical"))
    reader = BagFrameReader(path)
    assert list(reader) == []
    assert reader.stats.skipped_no_camera_info == 1
    assert any("uncalibrated" in note for note in reader.stats.notes)


def test_malformed_labels_are_dropped_counted_and_warned(tmp_path: Path) -> None:
    path = tmp_path / "bag"
    bad = ['{"1": "mug"', '["mug"]', '{"one": "mug"}', '{"1": 5}']
    with BagFrameWriter(path) as writer:
        string = writer.typestore.types["std_msgs/msg/String"]
        for i, text in enumerate(bad):
            writer.write(_stamp(i), _frame_arrays(i)[0], CAMERA)
            writer.write_message(writer.topics.labels, "std_msgs/msg/String", _stamp(i),
                                 string(data=text))
    reader = BagFrameReader(path)
    frames = list(reader)
    assert len(frames) == 4
    assert all(f.id_to_label is None for f in frames)
    assert all(any("labels ignored" in w for w in f.warnings) for f in frames)
    assert reader.stats.malformed_labels == 4


def test_labels_accept_isaac_style_class_dicts(tmp_path: Path) -> None:
    path = tmp_path / "bag"
    with BagFrameWriter(path) as writer:
        writer.write(T0_NS, _frame_arrays(0)[0], CAMERA)
        writer.write_message(
            writer.topics.labels, "std_msgs/msg/String", T0_NS,
            writer.typestore.types["std_msgs/msg/String"](data='{"0": {"class": "BACKGROUND"}}'))
    assert next(read_frames(path)).id_to_label == {0: "BACKGROUND"}


def test_unknown_rgb_encoding_skips_the_frame(tmp_path: Path) -> None:
    path = tmp_path / "bag"
    with BagFrameWriter(path) as writer:
        image = writer.image_message(T0_NS, np.zeros((H, W * 2), np.uint8), "mono8", "cam")
        image.encoding, image.width = "yuv422", W
        writer.write_message(writer.topics.rgb, "sensor_msgs/msg/Image", T0_NS, image)
        writer.write_message(writer.topics.camera_info, "sensor_msgs/msg/CameraInfo", T0_NS,
                             writer.camera_info_message(T0_NS, CAMERA))
        writer.write(_stamp(1), _frame_arrays(1)[0], CAMERA)
    reader = BagFrameReader(path)
    assert [f.stamp_ns for f in reader] == [_stamp(1)]
    assert reader.stats.skipped_bad_encoding == 1
    assert any("yuv422" in note for note in reader.stats.notes)


def test_depth_of_wrong_size_or_encoding_is_dropped_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "bag"
    with BagFrameWriter(path) as writer:
        writer.write(T0_NS, _frame_arrays(0)[0], CAMERA)
        writer.write_message(
            writer.topics.depth, "sensor_msgs/msg/Image", T0_NS,
            writer.image_message(T0_NS, np.ones((H, W + 1), np.float32), "32FC1", "cam"))
        writer.write(_stamp(1), _frame_arrays(1)[0], CAMERA)
        writer.write_message(
            writer.topics.depth, "sensor_msgs/msg/Image", _stamp(1),
            writer.image_message(_stamp(1), np.ones((H, W), np.int32), "32SC1", "cam"))
    reader = BagFrameReader(path)
    frames = list(reader)
    assert [f.depth_raw for f in frames] == [None, None]
    assert "not aligned to colour" in frames[0].warnings[0]
    assert "encoding '32SC1' is not one of" in frames[1].warnings[0]
    assert reader.stats.depth_missing == 2


def _raw_messages(path: Path) -> dict[tuple[str, str, str, str], list[tuple[int, bytes]]]:
    """Raw messages of a bag grouped by connection: {(topic, type, msgdef, hash): [...]}."""
    grouped: dict[tuple[str, str, str, str], list[tuple[int, bytes]]] = {}
    with Reader(path) as reader:
        for connection, timestamp, data in reader.messages():
            key = (connection.topic, connection.msgtype, connection.msgdef.data, connection.digest)
            grouped.setdefault(key, []).append((timestamp, bytes(data)))
    return grouped


def test_undeserialisable_message_is_skipped_and_counted(tmp_path: Path) -> None:
    raw = _raw_messages(_write_frames(tmp_path / "good", n=2))
    path = tmp_path / "bag"
    with Writer(path, version=9, storage_plugin=StoragePlugin.SQLITE3) as writer:
        for (topic, msgtype, msgdef, digest), items in raw.items():
            connection = writer.add_connection(topic, msgtype, msgdef=msgdef, rihs01=digest)
            for i, (timestamp, data) in enumerate(items):
                cut = topic == "/camera/color/image_raw" and i == 0  # no longer a valid Image
                writer.write(connection, timestamp, data[:100] if cut else data)
    reader = BagFrameReader(path)
    assert [f.stamp_ns for f in reader] == [_stamp(1)]
    assert reader.stats.skipped_corrupt == 1
    assert any("corrupt" in note for note in reader.stats.notes)


def _odometry(writer: BagFrameWriter) -> object:
    types = writer.typestore.types
    vector = types["geometry_msgs/msg/Vector3"](x=0.1, y=0.0, z=0.0)
    pose = types["geometry_msgs/msg/Pose"](
        position=types["geometry_msgs/msg/Point"](x=1.0, y=2.0, z=0.0),
        orientation=types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0))
    return types["nav_msgs/msg/Odometry"](
        header=writer.header_message(T0_NS, "odom"), child_frame_id="base_link",
        pose=types["geometry_msgs/msg/PoseWithCovariance"](pose=pose, covariance=np.zeros(36)),
        twist=types["geometry_msgs/msg/TwistWithCovariance"](
            twist=types["geometry_msgs/msg/Twist"](linear=vector, angular=vector),
            covariance=np.zeros(36)))


def test_bag_without_the_rgb_topic_lists_its_topics(tmp_path: Path) -> None:
    path = tmp_path / "bag"
    with BagFrameWriter(path) as writer:
        writer.write_message("/odom", "nav_msgs/msg/Odometry", T0_NS, _odometry(writer))
    with pytest.raises(DataIOError,
                       match=r"no rgb topic '/camera/color/image_raw'.*/odom \(nav_msgs/msg/Odome"
                             r".*records no sensor_msgs/msg/Image topic at all"):
        read_frames(path)


def test_bag_with_its_images_elsewhere_names_them_and_the_flag(tmp_path: Path) -> None:
    topics = BagTopics(rgb="/front/rgb", camera_info="/front/info", depth="/front/depth")
    with BagFrameWriter(tmp_path / "bag", topics=topics) as writer:
        writer.write(T0_NS, _frame_arrays(0)[0], CAMERA, depth_m=_frame_arrays(0)[1])
    with pytest.raises(DataIOError, match=r"Choose one of its image topics \(/front/depth, "
                                          r"/front/rgb\) with --rgb-topic"):
        read_frames(tmp_path / "bag")


def test_other_topic_names_can_be_read(tmp_path: Path) -> None:
    topics = BagTopics(rgb="/rgb", camera_info="/rgb/info", depth="/depth")
    with BagFrameWriter(tmp_path / "bag", topics=topics) as writer:
        writer.write(T0_NS, _frame_arrays(0)[0], CAMERA, depth_m=_frame_arrays(0)[1])
    assert next(read_frames(tmp_path / "bag", topics)).depth_raw is not None
    with pytest.raises(DataIOError, match="topics must be distinct"):
        BagTopics(depth="/rgb", rgb="/rgb")


BIG = CameraIntrinsics(320, 240, 300.0, 300.0, 159.5, 119.5, frame_id="cam_optical")


def _write_big(path: Path, storage: str, n: int = 12) -> list[tuple[int, np.ndarray]]:
    """A recording of several mcap chunks (1 MB each): 320x240 frames. Returns the
    (stamp, rgb) written."""
    rng = np.random.default_rng(3)
    written = []
    with BagFrameWriter(path, storage=storage) as writer:  # type: ignore[arg-type]
        for i in range(n):
            rgb = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
            depth = rng.uniform(0.5, 4.0, (240, 320)).astype(np.float32)
            writer.write(_stamp(i), rgb, BIG, depth_m=depth)
            written.append((_stamp(i), rgb))
    return written


@pytest.mark.parametrize("storage", STORAGES)
def test_a_recording_cut_short_is_salvaged_up_to_the_damage(tmp_path: Path,
                                                             storage: str) -> None:
    """Power loss: no metadata.yaml, the storage file cut at 70%. Every complete frame
    before the damage is read back exactly, and the reader says it salvaged."""
    path = tmp_path / "bag"
    written = _write_big(path, storage)
    (path / "metadata.yaml").unlink()
    storage_file = path / STORAGE_FILE[storage]
    with storage_file.open("r+b") as stream:
        stream.truncate(int(storage_file.stat().st_size * 0.7))
    reader = BagFrameReader(path)
    frames = list(reader)
    assert 0 < len(frames) < len(written)
    for frame, (stamp, rgb) in zip(frames, written):
        assert frame.stamp_ns == stamp
        np.testing.assert_array_equal(frame.rgb, rgb)
    assert any(note.startswith("salvaged bag.") for note in reader.stats.notes)
    assert not any(p.name.startswith(".") for p in path.iterdir())  # nothing written there


@pytest.mark.parametrize("storage", STORAGES)
def test_garbage_is_refused_or_salvaged_never_misread(tmp_path: Path, storage: str) -> None:
    path = tmp_path / "bag"
    written = _write_big(path, storage)
    storage_file = path / STORAGE_FILE[storage]
    size = storage_file.stat().st_size
    with storage_file.open("r+b") as stream:
        stream.seek(size // 2)
        stream.write(np.random.default_rng(0).bytes(size // 4))
    try:
        frames = list(read_frames(path))
    except DataIOError as error:
        assert "corrupt or truncated" in str(error)
        return
    assert len(frames) <= len(written)
    for frame, (stamp, rgb) in zip(frames, written):  # whatever is read is exact
        assert frame.stamp_ns == stamp
        np.testing.assert_array_equal(frame.rgb, rgb)


@pytest.mark.parametrize("storage", STORAGES)
def test_a_recording_with_nothing_left_is_a_data_io_error(tmp_path: Path, storage: str) -> None:
    path = _write_frames(tmp_path / "bag", storage, n=5)
    storage_file = path / STORAGE_FILE[storage]
    with storage_file.open("r+b") as stream:
        stream.truncate(100)
    with pytest.raises(DataIOError, match=r"corrupt or truncated|the bag is empty"):
        list(read_frames(path))


def test_paths_that_are_not_bags_are_data_io_errors(tmp_path: Path) -> None:
    with pytest.raises(DataIOError, match="does not exist"):
        read_frames(tmp_path / "missing")
    with pytest.raises(DataIOError, match=r"metadata\.yaml is missing"):
        read_frames(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataIOError, match=r"notes\.txt is not a rosbag2 bag"):
        read_frames(tmp_path / "notes.txt")
    bag = _write_frames(tmp_path / "bag", n=2)
    (bag / "metadata.yaml").write_text("rosbag2_bagfile_information: [unclosed")
    reader = BagFrameReader(bag)  # a broken index: the recording itself is read
    assert len(list(reader)) == 2
    assert any("YAML" in note for note in reader.stats.notes)


def test_storage_file_without_metadata_is_readable(tmp_path: Path) -> None:
    bag = _write_frames(tmp_path / "bag", "mcap", n=3)
    (bag / "metadata.yaml").unlink()
    assert len(list(read_frames(bag / "bag.mcap"))) == 3


def test_topics_summary_counts_messages(tmp_path: Path) -> None:
    path = _write_frames(tmp_path / "bag", "mcap", n=3)
    summary = bag_topics_summary(path)
    assert summary["/camera/color/image_raw"] == ("sensor_msgs/msg/Image", 3)
    assert summary["/camera/instances/labels"] == ("std_msgs/msg/String", 3)
    assert len(summary) == 5


def test_stats_restart_with_each_iteration(tmp_path: Path) -> None:
    reader = BagFrameReader(_write_frames(tmp_path / "bag", n=2))
    assert len(list(reader)) == len(list(reader)) == 2
    assert reader.stats.frames_yielded == 2


def test_writer_rejects_bad_input_before_writing(tmp_path: Path) -> None:
    with BagFrameWriter(tmp_path / "bag") as writer:
        with pytest.raises(DataIOError, match=r"rgb must be \(24, 32, 3\) uint8"):
            writer.write(T0_NS, np.zeros((H, W), np.uint8), CAMERA)
        with pytest.raises(DataIOError, match=r"depth_m must be \(24, 32\)"):
            writer.write(T0_NS, _frame_arrays(0)[0], CAMERA, depth_m=np.zeros((2, 2)))
        with pytest.raises(DataIOError, match=r"outside what 16UC1 holds.*32SC1"):
            writer.write(T0_NS, _frame_arrays(0)[0], CAMERA,
                         instance_ids=np.full((H, W), 70_000))
        with pytest.raises(DataIOError, match="non-negative"):
            writer.write(-1, _frame_arrays(0)[0], CAMERA)
        with pytest.raises(DataIOError, match="unknown message type"):
            writer.write_message("/x", "no_msgs/msg/Nothing", T0_NS, None)
        with pytest.raises(DataIOError, match="cannot serialise a std_msgs/msg/String"):
            writer.write_message("/x", "std_msgs/msg/String", T0_NS, object())
    assert bag_topics_summary(tmp_path / "bag") == {}
    with pytest.raises(DataIOError, match="is closed"):
        writer.write(T0_NS, _frame_arrays(0)[0], CAMERA)


def test_writer_refuses_to_overwrite_and_bad_options(tmp_path: Path) -> None:
    path = _write_frames(tmp_path / "bag", n=1)
    with pytest.raises(DataIOError, match="exists already"):
        BagFrameWriter(path)
    with pytest.raises(DataIOError, match="storage must be one of"):
        BagFrameWriter(tmp_path / "other", storage="rosbag1")  # type: ignore[arg-type]


def test_writer_keeps_frames_written_before_an_exception(tmp_path: Path) -> None:
    path = tmp_path / "bag"
    with pytest.raises(RuntimeError), BagFrameWriter(path, storage="mcap") as writer:
        writer.write(T0_NS, _frame_arrays(0)[0], CAMERA)
        raise RuntimeError("recorder crashed")
    assert len(list(read_frames(path))) == 1

