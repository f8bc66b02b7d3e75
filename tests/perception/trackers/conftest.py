"""Shared fixtures of the tracker tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def one_thread():
    """torch held to one thread for the test: the tiny learned trackers run ~50x slower
    on a shared 2-core machine with torch's threads; the setting is restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
