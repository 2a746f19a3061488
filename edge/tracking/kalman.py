"""Constant-velocity Kalman filter over boxes, vectorized over tracks and stepped by seconds.

State per track: (cx, cy, w, h, vcx, vcy, vw, vh), velocities in pixels per second. The process
noise follows the white-noise-acceleration model, so it grows with the elapsed time: a track not
seen for half a second gets a wide gate, one seen 30 ms ago a tight one. Noise scales with the box
size (as in ByteTrack), so near and far objects behave alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_DIM = 4  # measured: cx, cy, w, h


@dataclass(frozen=True)
class KalmanParams:
    """Noise, as fractions of the box size (w for x and w, h for y and h)."""

    measure_std: float = 0.05  # detector jitter per observation
    accel_std: float = 2.0  # per second squared: how quickly an object may change speed
    init_vel_std: float = 1.0  # per second: unknown initial speed


def xyxy_to_cxcywh(xyxy: FloatArray) -> FloatArray:
    w = xyxy[:, 2] - xyxy[:, 0]
    h = xyxy[:, 3] - xyxy[:, 1]
    return np.stack([xyxy[:, 0] + w / 2, xyxy[:, 1] + h / 2, w, h], axis=1)


def cxcywh_to_xyxy(box: FloatArray) -> FloatArray:
    half_w = box[:, 2] / 2
    half_h = box[:, 3] / 2
    return np.stack([box[:, 0] - half_w, box[:, 1] - half_h, box[:, 0] + half_w, box[:, 1] + half_h], axis=1)


def _scale(box: FloatArray) -> FloatArray:
    """(N, 4) per-coordinate size: w for cx and w, h for cy and h; never 0."""
    w = np.maximum(box[:, 2], 1e-3)
    h = np.maximum(box[:, 3], 1e-3)
    return np.stack([w, h, w, h], axis=1)


def initiate(xyxy: FloatArray, params: KalmanParams) -> tuple[FloatArray, FloatArray]:
    """New tracks at rest where the boxes are; an unknown speed is a wide velocity variance."""
    box = xyxy_to_cxcywh(xyxy)
    n = len(box)
    mean = np.zeros((n, 2 * _DIM))
    mean[:, :_DIM] = box
    scale = _scale(box)
    var = np.concatenate([(params.measure_std * scale) ** 2, (params.init_vel_std * scale) ** 2], axis=1)
    cov = np.zeros((n, 2 * _DIM, 2 * _DIM))
    idx = np.arange(2 * _DIM)
    cov[:, idx, idx] = var
    return mean, cov


def predict(mean: FloatArray, cov: FloatArray, dt: float, params: KalmanParams) -> tuple[FloatArray, FloatArray]:
    """Advances every track by dt seconds (dt may differ call to call; 0 is a no-op)."""
    if dt <= 0 or len(mean) == 0:
        return mean, cov
    f = np.eye(2 * _DIM)
    f[:_DIM, _DIM:] = np.eye(_DIM) * dt
    new_mean = mean @ f.T
    # White-noise acceleration: position variance grows as dt^4/4, velocity as dt^2.
    qa = (params.accel_std * _scale(mean[:, :_DIM])) ** 2  # (N, 4)
    q = np.zeros_like(cov)
    i = np.arange(_DIM)
    q[:, i, i] = qa * dt**4 / 4
    q[:, i, i + _DIM] = qa * dt**3 / 2
    q[:, i + _DIM, i] = qa * dt**3 / 2
    q[:, i + _DIM, i + _DIM] = qa * dt**2
    new_cov = f @ cov @ f.T + q
    return new_mean, new_cov


def update(mean: FloatArray, cov: FloatArray, xyxy: FloatArray, params: KalmanParams) -> tuple[FloatArray, FloatArray]:
    """Corrects each track with its matched box (row i of xyxy belongs to track i)."""
    if len(mean) == 0:
        return mean, cov
    z = xyxy_to_cxcywh(xyxy)
    r = (params.measure_std * _scale(mean[:, :_DIM])) ** 2
    s = cov[:, :_DIM, :_DIM].copy()
    i = np.arange(_DIM)
    s[:, i, i] += r
    pht = cov[:, :, :_DIM]  # P H^T with H = [I 0]
    gain = np.linalg.solve(s, pht.transpose(0, 2, 1)).transpose(0, 2, 1)  # (N, 8, 4); S is symmetric
    innovation = z - mean[:, :_DIM]
    new_mean = mean + np.einsum("nij,nj->ni", gain, innovation)
    new_cov = cov - gain @ cov[:, :_DIM, :]
    return new_mean, new_cov
