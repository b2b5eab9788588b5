"""A spatial order for many points: neighbours in space become neighbours in memory."""

from __future__ import annotations

import numpy as np


def z_order(xy: np.ndarray, cell: float = 10.0) -> np.ndarray:
    """A permutation of ``xy`` along a Z-order (Morton) curve over ``cell``-metre cells (points in one cell in an
    unspecified but deterministic order: what is measured in this order is measured exactly, point by point)."""
    grid = ((xy - xy.min(axis=0)) // cell).astype(np.uint64)

    def spread(v: np.ndarray) -> np.ndarray:  # the bits of v, with a zero bit between each two
        v = v & np.uint64(0xFFFFFFFF)
        for shift, mask in (
            (16, 0x0000FFFF0000FFFF),
            (8, 0x00FF00FF00FF00FF),
            (4, 0x0F0F0F0F0F0F0F0F),
            (2, 0x3333333333333333),
            (1, 0x5555555555555555),
        ):
            v = (v | (v << np.uint64(shift))) & np.uint64(mask)
        return v

    return np.argsort(spread(grid[:, 0]) | (spread(grid[:, 1]) << np.uint64(1)))
