"""The DDS graph-rate bench's scoring (bench/graph_rate_dds.py) and the Fast DDS profile
it recommends for large images (config/fastdds_large_images.xml)."""

from __future__ import annotations

import importlib.util
import math
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location("graph_rate_dds",
                                               _REPO / "bench" / "graph_rate_dds.py")
dds = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = dds  # its dataclasses look their module up
_SPEC.loader.exec_module(dds)
NS = 10**9


def test_a_graph_counts_for_the_frame_stamped_within_a_microsecond_once():
    run = dds.DdsRun(sent_s={5 * NS: 10.0, 5 * NS + NS // 15: 10.1, 5 * NS + 2 * NS // 15: 10.2})
    run.graphs = [(9.9, 4 * NS),  # the first frame, sent before the stream: not counted
                  (10.05, 5 * NS + 400),  # float-second stamps: within 1 us
                  (10.06, 5 * NS),  # the same frame again: counted once, first arrival
                  (10.30, 5 * NS + 2 * NS // 15 - 999)]
    share, p50, p99 = run.summary()
    assert share == pytest.approx(2 / 3)
    assert p50 == pytest.approx(75.0) and p99 == pytest.approx(99.5)


def test_a_graph_stamped_between_frames_counts_for_none():
    run = dds.DdsRun(sent_s={5 * NS: 10.0, 6 * NS: 11.0}, graphs=[(10.5, 5 * NS + 2000)])
    share, p50, _ = run.summary()
    assert share == 0.0 and math.isnan(p50)  # no latency without a graph


def test_the_fast_dds_profile_gives_a_default_participant_a_shared_memory_segment_for_vga():
    root = ET.parse(_REPO / "config" / "fastdds_large_images.xml").getroot()
    ns = {"f": "http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles"}
    shm = [t for t in root.iterfind("f:transport_descriptors/f:transport_descriptor", ns)
           if t.findtext("f:type", namespaces=ns) == "SHM"]
    assert len(shm) == 1
    vga_frame_bytes = 640 * 480 * (3 + 4 + 2)  # rgb8 + 32FC1 depth + 16UC1 instances
    assert int(shm[0].findtext("f:segment_size", namespaces=ns)) >= 8 * vga_frame_bytes
    participant = root.find("f:participant", ns)
    assert participant.get("is_default_profile") == "true"
    used = [t.text for t in participant.iterfind("f:rtps/f:userTransports/f:transport_id",
                                                 ns)]
    assert shm[0].findtext("f:transport_id", namespaces=ns) in used
    assert participant.findtext("f:rtps/f:useBuiltinTransports", namespaces=ns) == "false"
