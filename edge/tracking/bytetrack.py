"""ByteTrack-style tracker stepped by capture time in seconds.

Why our own core: per issue 16 and the shared tracking notes, the well-kept libraries (`trackers`,
`norfair`, `boxmot`) count lost frames rather than seconds, drop unconfirmed boxes, or need
dependencies that do not fit a Jetson; SciPy and `lap` are not in this environment either.
Checked against `trackers`' ByteTrack as a test-only reference on the same real detections by
tools/track_quality.py (IDF1 and MOTA in docs/tracking.md).

Two-stage association as in ByteTrack: confirmed tracks take high-score
detections by IoU, the rest of them then take low-score detections (occluded or blurred objects),
tentative tracks take what high-score detections remain, and only unmatched high-score detections
start tracks. Nothing is dropped: every input detection gets a tracker_id, -1 while unconfirmed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge.tracking import kalman
from edge.tracking.assign import greedy_assign, iou_matrix
from edge.tracking.detections import Detections
from edge.tracking.track import EndedTrack, Track, TrackSummary


@dataclass(frozen=True)
class TrackerConfig:
    high_score: float = 0.5  # detections at or above are first-stage and may start tracks
    low_score: float = 0.1  # detections below are never associated (they keep tracker_id -1)
    new_track_score: float = 0.6
    match_iou: float = 0.2  # first stage (high-score) and tentative tracks
    low_match_iou: float = 0.5  # second stage: low-score boxes must overlap well
    lost_after: float = 1.0  # seconds unmatched before a track ends
    confirm_hits: int = 3  # matched frames to confirm...
    confirm_after: float = 0.0  # ...and at least this many seconds since first seen
    class_aware: bool = True
    # With class_aware, a box of another class may still continue a track at this fraction of
    # its IoU (0: never). Detectors flip the class of a half-hidden object; a weight below 1
    # keeps same-class matches first while a confident overlap survives the flip.
    other_class_weight: float = 0.5  # tools/track_quality.py: +2 IDF1 over strict (0) on real detections
    stationary_s: float = 3.0
    stationary_frac: float = 0.1  # of the box size
    kalman: kalman.KalmanParams = field(default_factory=kalman.KalmanParams)

    def __post_init__(self) -> None:
        if not 0 <= self.low_score <= self.high_score <= self.new_track_score <= 1:
            raise ValueError("tracker: need 0 <= low_score <= high_score <= new_track_score <= 1")
        if not 0 <= self.other_class_weight <= 1:
            raise ValueError("tracker: other_class_weight must be within 0-1")
        if self.lost_after <= 0 or self.confirm_after < 0 or self.confirm_hits < 1:
            raise ValueError("tracker: lost_after must be > 0, confirm_after >= 0, confirm_hits >= 1")


@dataclass(frozen=True)
class TrackerUpdate:
    tracker_id: npt.NDArray[np.int64]  # per input detection; -1 while unconfirmed
    confirmed: list[TrackSummary]  # tracks confirmed by this update (emit track.new)
    ended: list[EndedTrack]  # tracks that ended at or before this update (emit track.end)
    # per input detection: the class of the track it joined (majority vote), else its own class;
    # what zones and lines count it as, so one flipped detection does not count as another class
    track_class: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


class ByteTracker:
    def __init__(self, config: TrackerConfig | None = None, next_id: int = 1) -> None:
        self.config = config or TrackerConfig()
        self._next_id = next_id  # persisted by the caller so ids continue after a restart
        self._tracks: list[Track] = []
        self._mean: npt.NDArray[np.float64] = np.zeros((0, 8))
        self._cov: npt.NDArray[np.float64] = np.zeros((0, 8, 8))
        self._last_ts: float | None = None

    @property
    def next_id(self) -> int:
        return self._next_id

    @property
    def active(self) -> int:
        """Confirmed tracks alive now (cheaper than len(tracks): no summaries)."""
        return sum(t.confirmed for t in self._tracks)

    @property
    def last_ts(self) -> float | None:
        """Capture time of the last update; None before the first and after a gap."""
        return self._last_ts

    @property
    def tracks(self) -> list[TrackSummary]:
        return [t.summary() for t in self._tracks if t.confirmed]

    def update(self, dets: Detections, ts: float) -> TrackerUpdate:
        if self._last_ts is not None and ts < self._last_ts:
            raise ValueError(f"tracker: capture time went back ({ts} < {self._last_ts}); reorder before feeding")
        dt = 0.0 if self._last_ts is None else ts - self._last_ts
        self._last_ts = ts
        self._mean, self._cov = kalman.predict(self._mean, self._cov, dt, self.config.kalman)
        ended = self._end_lost(ts)
        ids = np.full(len(dets), -1, dtype=np.int64)
        det_track = self._associate(dets)  # detection index -> track index
        confirmed = self._apply_matches(dets, ts, det_track)
        matched_tracks = set(det_track.values())
        # ByteTrack drops tentative tracks on their first miss: a flicker never becomes an id.
        keep = [i for i, t in enumerate(self._tracks) if t.confirmed or i in matched_tracks]
        new_index = {old: new for new, old in enumerate(keep)}
        self._select(keep)
        track_class = dets.class_id.copy()
        for d, t in det_track.items():
            track = self._tracks[new_index[t]]
            ids[d], track_class[d] = track.tracker_id, track.class_id
        confirmed += self._start_tracks(dets, ts, set(det_track), ids)
        return TrackerUpdate(ids, confirmed, ended, track_class)

    def gap(self, ts: float, reason: str = "gap") -> list[EndedTrack]:
        """Ends every track (a stream gap); the next update starts afresh at its own time."""
        ended = [EndedTrack(t.summary(), ts, reason) for t in self._tracks if t.confirmed]
        self._select([])
        self._last_ts = None
        return ended

    def _select(self, keep: list[int]) -> None:
        self._tracks = [self._tracks[i] for i in keep]
        self._mean = self._mean[keep]
        self._cov = self._cov[keep]

    def _end_lost(self, ts: float) -> list[EndedTrack]:
        lost = [ts - t.last_seen > self.config.lost_after for t in self._tracks]
        ended = [EndedTrack(t.summary(), ts, "lost") for t, gone in zip(self._tracks, lost) if gone and t.confirmed]
        self._select([i for i, gone in enumerate(lost) if not gone])
        return ended

    def _associate(self, dets: Detections) -> dict[int, int]:
        cfg = self.config
        score = iou_matrix(kalman.cxcywh_to_xyxy(self._mean[:, :4]), dets.xyxy)
        if cfg.class_aware and len(self._tracks) and len(dets):
            track_cls = np.fromiter((t.class_id for t in self._tracks), dtype=np.int64, count=len(self._tracks))
            score = np.where(track_cls[:, None] == dets.class_id[None, :], score, score * cfg.other_class_weight)
        conf = dets.confidence
        confirmed = np.array([t.confirmed for t in self._tracks], dtype=bool)
        high = conf >= cfg.high_score
        low = (conf >= cfg.low_score) & ~high
        stages = [
            (confirmed, high, cfg.match_iou),
            (confirmed, low, cfg.low_match_iou),
            (~confirmed, high, cfg.match_iou),
        ]
        det_track: dict[int, int] = {}
        free_t = np.ones(len(self._tracks), dtype=bool)
        free_d = np.ones(len(dets), dtype=bool)
        for t_mask, d_mask, gate in stages:
            ti = np.nonzero(t_mask & free_t)[0]
            di = np.nonzero(d_mask & free_d)[0]
            rows, cols = greedy_assign(score[np.ix_(ti, di)], gate)
            for r, c in zip(ti[rows].tolist(), di[cols].tolist()):
                det_track[c] = r
                free_t[r] = False
                free_d[c] = False
        return det_track

    def _apply_matches(self, dets: Detections, ts: float, det_track: dict[int, int]) -> list[TrackSummary]:
        cfg = self.config
        if not det_track:
            return []
        d_idx = np.array(list(det_track), dtype=np.int64)
        t_idx = np.array(list(det_track.values()), dtype=np.int64)
        m, c = kalman.update(self._mean[t_idx], self._cov[t_idx], dets.xyxy[d_idx], cfg.kalman)
        self._mean[t_idx], self._cov[t_idx] = m, c
        confirmed: list[TrackSummary] = []
        boxes, classes = dets.xyxy[d_idx].tolist(), dets.class_id[d_idx].tolist()
        scores = dets.confidence[d_idx].tolist()
        for i, t in enumerate(t_idx.tolist()):  # per matched track: bookkeeping only, plain floats
            track = self._tracks[t]
            track.observe(ts, boxes[i], classes[i], scores[i], cfg.stationary_s, cfg.stationary_frac)
            if not track.confirmed and self._ready(track, ts):
                track.tracker_id = self._next_id
                self._next_id += 1
                confirmed.append(track.summary())
        return confirmed

    def _ready(self, track: Track, ts: float) -> bool:
        return track.hits >= self.config.confirm_hits and ts - track.first_seen >= self.config.confirm_after

    def _start_tracks(
        self, dets: Detections, ts: float, used: set[int], ids: npt.NDArray[np.int64]
    ) -> list[TrackSummary]:
        cfg = self.config
        new = [d for d in range(len(dets)) if d not in used and dets.confidence[d] >= cfg.new_track_score]
        if not new:
            return []
        confirmed: list[TrackSummary] = []
        m, c = kalman.initiate(dets.xyxy[new], cfg.kalman)
        self._mean = np.concatenate([self._mean, m])
        self._cov = np.concatenate([self._cov, c])
        for d in new:
            score = float(dets.confidence[d])
            track = Track(first_seen=ts, last_seen=ts, best_score=score)
            track.vote(int(dets.class_id[d]))
            track.record(ts, dets.xyxy[d].tolist(), cfg.stationary_s, cfg.stationary_frac)
            self._tracks.append(track)
            if self._ready(track, ts):  # confirm_hits=1 with confirm_after=0: an id at once
                track.tracker_id = ids[d] = self._next_id
                self._next_id += 1
                confirmed.append(track.summary())
        return confirmed
