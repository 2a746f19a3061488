from __future__ import annotations

import numpy as np

from edge.tracking import kalman


def test_velocity_is_per_second_whatever_the_frame_times() -> None:
    params = kalman.KalmanParams()
    mean, cov = kalman.initiate(np.array([[0, 0, 10, 20.0]]), params)
    ts = 0.0
    for dt in [0.03, 0.2, 0.05, 0.4, 0.1] * 4:
        ts += dt
        mean, cov = kalman.predict(mean, cov, dt, params)
        mean, cov = kalman.update(mean, cov, np.array([[10 * ts, 0, 10 * ts + 10, 20.0]]), params)
    assert abs(mean[0, 4] - 10.0) < 0.5


def test_uncertainty_grows_with_elapsed_time() -> None:
    params = kalman.KalmanParams()
    mean, cov = kalman.initiate(np.array([[0, 0, 10, 20.0], [0, 0, 10, 20.0]]), params)
    _, short = kalman.predict(mean[:1], cov[:1], 0.05, params)
    _, long = kalman.predict(mean[1:], cov[1:], 0.5, params)
    assert long[0, 0, 0] > short[0, 0, 0]
