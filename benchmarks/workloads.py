"""Seeded synthetic arrays that look like real session payloads, for the benchmarks.

Every generator takes ``scale``: 1.0 is the full-size workload, a small scale
(``--quick``) gives a few MiB with the same statistics, so compression ratios
stay comparable. The same seed always gives the same bytes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["atom_columns", "coordinates", "incompressible", "volume", "w1"]

#: Noise relative to the blob peaks: a measured map is never perfectly smooth.
VOLUME_NOISE = 1e-3
_BLOBS = 12
_SLAB = 16  # planes generated at a time, to bound temporary memory


def volume(shape: tuple[int, int, int] = (512, 512, 512), *, scale: float = 1.0,
           seed: int = 0) -> np.ndarray:
    """A smooth float32 density (sum of Gaussian blobs) with slight noise.

    ``scale`` shrinks the first axis only, so planes keep their full size.
    """
    rng = np.random.default_rng(seed)
    depth = max(1, round(shape[0] * scale))
    axes = [np.linspace(0.0, 1.0, n, dtype=np.float32) for n in (shape[0], shape[1], shape[2])]
    blobs = [(rng.uniform(0.0, 1.0, 3), rng.uniform(0.03, 0.2), rng.uniform(0.2, 1.0))
             for _ in range(_BLOBS)]
    profiles = [[np.exp(-((ax - c) ** 2) / (2 * width**2)).astype(np.float32)
                 for ax, c in zip(axes, centre, strict=True)] + [height]
                for centre, width, height in blobs]
    out = np.empty((depth, shape[1], shape[2]), np.float32)
    for start in range(0, depth, _SLAB):
        slab = out[start : start + _SLAB]
        slab[...] = rng.standard_normal(slab.shape, dtype=np.float32) * VOLUME_NOISE
        for gz, gy, gx, height in profiles:
            plane = np.float32(height) * np.outer(gy, gx)
            slab += gz[start : start + len(slab), None, None] * plane
    return out


def coordinates(n: int = 20_000_000, *, scale: float = 1.0, seed: int = 1) -> np.ndarray:
    """Float32 (n, 3) atom positions in Å: a random walk of ~1.5 Å bonds in a 400 Å box.

    Neighbouring atoms are close in space, as in molecular models.
    """
    rng = np.random.default_rng(seed)
    count = max(1, round(n * scale))
    steps = rng.normal(0.0, 0.9, (count, 3))
    walk = np.cumsum(steps, axis=0) + 200.0
    return np.abs(np.remainder(walk + 400.0, 800.0) - 400.0).astype(np.float32)


def atom_columns(n: int = 20_000_000, *, scale: float = 1.0, seed: int = 2
                 ) -> dict[str, np.ndarray]:
    """Per-atom columns: int32 residue numbers (runs of 8-20 atoms) and uint8 element codes."""
    rng = np.random.default_rng(seed)
    count = max(1, round(n * scale))
    run_lengths = rng.integers(8, 21, count // 8 + 1)
    residue = np.repeat(np.arange(run_lengths.size, dtype=np.int32), run_lengths)[:count]
    element = rng.choice(np.array([1, 6, 7, 8, 16], np.uint8), count,
                         p=[0.45, 0.3, 0.1, 0.13, 0.02])
    return {"residue": residue, "element": element}


def incompressible(nbytes: int = 64 * 2**20, *, scale: float = 1.0, seed: int = 3) -> np.ndarray:
    """Random bytes, the worst case for every compressor."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, max(1, round(nbytes * scale)), dtype=np.uint8)


def w1(scale: float = 1.0) -> dict[str, np.ndarray]:
    """Workload W1 (~0.9 GiB at scale 1): a volume, coordinates, atom columns, random bytes."""
    arrays = {"volume": volume(scale=scale), "coordinates": coordinates(scale=scale)}
    arrays.update(atom_columns(scale=scale))
    arrays["random"] = incompressible(scale=scale)
    return arrays
