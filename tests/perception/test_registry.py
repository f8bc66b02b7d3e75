"""Backends by name: the registered ones, and plugins named package.module:Class."""

from __future__ import annotations

import pytest

from spatial_vqa_ros.perception.errors import PerceptionError
from spatial_vqa_ros.perception.registry import check_backend_name, make_backend
from spatial_vqa_ros.perception.simulation import SimulationBackend
from spatial_vqa_ros.synthetic.doubles import SLOW_BACKEND, SlowSimulationBackend


def test_registered_names_make_their_backend():
    assert isinstance(make_backend("simulation"), SimulationBackend)


def test_a_plugin_is_loaded_by_path(monkeypatch):
    monkeypatch.setenv("SPATIAL_VQA_SLOW_BACKEND_S", "0.25")
    backend = make_backend(SLOW_BACKEND)
    assert isinstance(backend, SlowSimulationBackend) and backend.delay_s == 0.25


@pytest.mark.parametrize("name", ["yolo", "", "module:", ":Class", "a b:C", "pkg.mod:1x"])
def test_names_that_are_neither_registered_nor_a_path_are_refused(name):
    with pytest.raises(ValueError, match="backend must be one of"):
        check_backend_name(name)


def test_a_plugin_that_does_not_load_says_why():
    with pytest.raises(PerceptionError, match="cannot be loaded: No module named"):
        make_backend("no_such_package.backends:Backend")
    with pytest.raises(PerceptionError, match="cannot be loaded"):
        make_backend("spatial_vqa_ros.synthetic.doubles:NoSuchBackend")
    with pytest.raises(PerceptionError, match="no observe"):
        make_backend("collections:OrderedDict")
