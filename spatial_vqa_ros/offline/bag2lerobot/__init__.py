"""Recordings to LeRobot v3.0 datasets: ``spatial-vqa bag2lerobot``.

Per recording: the stamps of the camera, joint-state and action streams are resampled
to a fixed rate and cut into episodes (``core.episodes``); each kept image goes
through the perception chain and the scene pipeline as the node runs them, the robot
frames of ``tf:`` reward ends are placed from the bag's ``/tf`` (``io.bags.TfBuffer``),
and every reward pair is stepped as the node's reward stream steps it; frames become
LeRobot rows (``io.datasets.lerobot.LeRobotWriter``) with the camera as video,
``observation.state``, ``action``, ``reward.<pair>``, ``distance.<pair>``,
``reached.<pair>``, ``scene_graph`` JSON and spatial VQA as ``vqa`` language events.

Modules: ``config`` (:class:`Bag2LeRobotConfig`, pair names), ``streams`` (the first,
cheap pass over a recording), ``frames`` (one episode through the core), ``build``
(:func:`bag2lerobot`), ``summary``.
"""

from __future__ import annotations

from .build import bag2lerobot, plan_episodes
from .config import Bag2LeRobotConfig, pair_column, pair_ends
from .frames import EpisodeCore
from .streams import ACTION_TYPES, scan_bag
from .summary import Bag2LeRobotSummary, BagReport

__all__ = ["ACTION_TYPES", "Bag2LeRobotConfig", "Bag2LeRobotSummary", "BagReport",
           "EpisodeCore", "bag2lerobot", "pair_column", "pair_ends", "plan_episodes",
           "scan_bag"]
