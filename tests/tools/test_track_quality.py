"""tools/mot_metrics.py against hand-made cases, and our tracker's scores through the real detector.

The metrics were also checked against TrackEval 1.3.0 (HOTA, CLEAR, Identity) on three 450-frame
sequences of tools/track_quality.py: HOTA, IDF1, MOTA and id switches equal to four decimals
(docs/tracking.md)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tools.mot_metrics import FrameBoxes, hungarian, score
from tools.track_quality import detect, render, track_ours

A = np.array([[0.0, 0.0, 10.0, 10.0]])
B = np.array([[50.0, 50.0, 60.0, 60.0]])


def _frames(*rows: tuple[np.ndarray, list[int]]) -> list[FrameBoxes]:
    return [FrameBoxes(xyxy.reshape(-1, 4), np.array(ids, dtype=np.int64)) for xyxy, ids in rows]


def test_hungarian_finds_the_minimum_of_every_small_matrix() -> None:
    rng = np.random.default_rng(0)
    for _ in range(100):
        n, m = (int(v) for v in rng.integers(1, 5, 2))
        cost = rng.integers(0, 9, (n, m)).astype(np.float64)
        got = sum(cost[r, c] for r, c in hungarian(cost))
        if n <= m:
            best = min(sum(cost[i, p[i]] for i in range(n)) for p in itertools.permutations(range(m), n))
        else:
            best = min(sum(cost[p[j], j] for j in range(m)) for p in itertools.permutations(range(n), m))
        assert got == best


def test_a_perfect_tracker_scores_one() -> None:
    truth = _frames((np.concatenate([A, B]), [0, 1]), (np.concatenate([A, B]) + 1, [0, 1]))
    out = _frames((np.concatenate([A, B]), [7, 9]), (np.concatenate([A, B]) + 1, [7, 9]))
    s = score(truth, out)
    assert (s.mota, s.idf1, s.hota, s.id_switches, s.ids) == (1.0, 1.0, 1.0, 0, 2)


def test_an_id_switch_costs_mota_and_idf1() -> None:
    truth = _frames(*[(A + i, [0]) for i in range(4)])
    out = _frames((A, [1]), (A + 1, [1]), (A + 2, [2]), (A + 3, [2]))
    s = score(truth, out)
    assert s.id_switches == 1 and s.mota == pytest.approx(0.75)
    assert s.idf1 == pytest.approx(0.5)  # 2 of 4 frames under the best one-to-one id map
    assert s.hota == pytest.approx(0.5**0.5)  # DetA 1, AssA 2 / (4 + 2 - 2)


def test_misses_and_false_positives_are_counted() -> None:
    truth = _frames((A, [0]), (A, [0]))
    out = _frames((B, [1]), (np.zeros((0, 4)), []))
    s = score(truth, out)
    assert (s.misses, s.false_positives, s.idf1, s.hota) == (2, 1, 0.0, 0.0)
    assert s.mota == pytest.approx(1 - 3 / 2)


def test_a_kept_correspondence_is_not_a_switch() -> None:
    # Two tracker boxes overlap the object; CLEAR MOT keeps the one matched before.
    truth = _frames((A, [0]), (A, [0]))
    out = _frames((A, [1]), (np.concatenate([A, A + 0.5]), [1, 2]))
    assert score(truth, out).id_switches == 0


def test_our_tracker_on_real_detections_stays_above_a_floor() -> None:
    seq = render(40, seed=3)  # about 1 s of CPU for the detector
    tracked = track_ours(detect(seq))
    s = score([f.truth for f in seq], tracked)
    # docs/tracking.md has the full figures (450 frames, three seeds, against `trackers`).
    assert s.idf1 > 0.6 and s.mota > 0.6 and s.hota > 0.5, s
