"""The spelling of a reward pair, "source:target", shared by the spatial node's
``reward_pairs`` parameter and the offline tools (``bag2lerobot --reward-pairs``), so a
pair means the same thing live and offline."""

from __future__ import annotations


def split_pair(pair: str) -> list[str]:
    """'gripper:cube' -> [gripper, cube]; a 'tf:' prefix stays on its end:
    'tf:tool0:cube' -> [tf:tool0, cube]."""
    ends: list[str] = []
    tokens = pair.split(":")
    while tokens:
        token = tokens.pop(0)
        if token == "tf" and tokens:
            token = f"tf:{tokens.pop(0)}"
        ends.append(token)
    return ends


__all__ = ["split_pair"]
