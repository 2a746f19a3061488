from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.demo.clip import ClipKind, ClipSpec, cached_clip, render_frames, write_clip
from edge.errors import EdgeError


@pytest.mark.parametrize("kind", list(ClipKind))
def test_frames_are_deterministic_and_move(kind: ClipKind) -> None:
    spec = ClipSpec(kind, 160, 120, 15.0, 12, seed=4)
    a, b = list(render_frames(spec)), list(render_frames(spec))
    assert len(a) == 12 and all(f.shape == (120, 160, 3) and f.dtype == np.uint8 for f in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], a[-1])  # something moved
    other = next(render_frames(ClipSpec(kind, 160, 120, 15.0, 1, seed=5)))
    assert not np.array_equal(a[0], other)


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_written_clip_reads_back_with_its_fps_size_and_frames(tmp_path: Path, suffix: str) -> None:
    spec = ClipSpec(ClipKind.SHAPES, 160, 120, 12.0, 20, seed=1)
    path = write_clip(tmp_path / f"c{suffix}", spec)
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(12.0)
    cap.release()
    assert len(frames) == 20 and frames[0].shape == (120, 160, 3)
    drawn = next(render_frames(spec))
    assert np.abs(frames[0].astype(int) - drawn).mean() < 12  # lossy, but the same picture
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_cached_clip_is_written_once(tmp_path: Path) -> None:
    spec = ClipSpec(ClipKind.ARROWS, 96, 96, 10.0, 5)
    first = cached_clip(tmp_path, spec)
    mtime = first.stat().st_mtime_ns
    assert cached_clip(tmp_path, spec) == first and first.stat().st_mtime_ns == mtime
    assert cached_clip(tmp_path, ClipSpec(ClipKind.ARROWS, 96, 96, 10.0, 6)) != first


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: ClipSpec(width=10), "at least 64x64"),
        (lambda: ClipSpec(frames=0), "must be positive"),
        (lambda: write_clip(Path("/tmp/x.gif"), ClipSpec(frames=1)), "must end in .mp4 or .avi"),
    ],
)
def test_bad_clip_requests(make: object, says: str) -> None:
    with pytest.raises(EdgeError, match=says):
        make()  # type: ignore[operator]
