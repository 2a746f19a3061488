"""How fast the web side may draw pictures, from how loaded inference is (a pure policy).

On a device whose CPU runs inference flat out, every picture a page or an MJPEG viewer gets is
CPU (and Python's GIL) taken from the pipeline. So the picture rate follows the pipeline's own
load signals: live (a few pictures a second per tile) while inference has headroom, slower
when it is busy, and slowest when it is saturated, where the web threads' measured CPU is also
held under a budget by stretching the interval further.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Level(enum.Enum):
    LIVE = "live"  # inference has headroom: the page stays live
    BUSY = "busy"  # inference is mostly busy: fewer pictures
    SATURATED = "saturated"  # frames wait or are dropped: pictures yield to inference


@dataclass(frozen=True)
class LoadSignals:
    """What the pipeline says about its load over the last few seconds, and the web's own CPU.

    ``busy``: the largest share of wall time a model spent inferring (0-1; a model with several
    instances counts as one, so it reads busy early, which errs towards inference).
    ``waiting``: the share of samples in which some stream had a frame queued for a model.
    ``dropped``: the share of (frame, model) pairs dropped or failed rather than inferred.
    ``web_cpu``: the web threads' CPU as a share of the whole machine (all cores).
    """

    busy: float = 0.0
    waiting: float = 0.0
    dropped: float = 0.0
    web_cpu: float = 0.0


@dataclass(frozen=True)
class Pace:
    """``tile_ms``: the interval a page waits between a tile's pictures; ``mjpeg_fps``: the most
    pictures an MJPEG encoder draws a second; ``stretch``: how far the budget slowed both."""

    level: Level
    tile_ms: int
    mjpeg_fps: float
    stretch: float = 1.0

    def payload(self) -> dict[str, object]:
        return {"level": self.level.value, "tile_ms": self.tile_ms, "mjpeg_fps": round(self.mjpeg_fps, 3)}


# The rates of each level before the budget stretches them (tile ms, MJPEG frames/s).
BASE = {Level.LIVE: (250, 10.0), Level.BUSY: (500, 4.0), Level.SATURATED: (1000, 2.0)}
LIVE = Pace(Level.LIVE, *BASE[Level.LIVE])
BUSY_AT, SATURATED_AT = 0.6, 0.85  # busy shares from which pictures slow down, then yield
WAITING_BUSY, WAITING_SATURATED = 0.25, 0.5
DROPPED_SATURATED = 0.05  # one (frame, model) in 20 not inferred: no headroom left
# The web threads' CPU allowed while inference is under pressure, as a share of the machine: a
# fraction of the 3 % bound on lost inference, since the GIL makes a web CPU second cost
# the pipeline a little more than a second.
WEB_BUDGET = 0.015
STRETCH_STEP = 1.5
MAX_STRETCH = 6.0  # saturated and stretched to the end: a tile every 6 s, an MJPEG picture every 3 s


def level_of(signals: LoadSignals) -> Level:
    """The load level the signals show; any one signal past its mark is enough."""
    if signals.busy >= SATURATED_AT or signals.waiting >= WAITING_SATURATED or signals.dropped >= DROPPED_SATURATED:
        return Level.SATURATED
    if signals.busy >= BUSY_AT or signals.waiting >= WAITING_BUSY:
        return Level.BUSY
    return Level.LIVE


def next_pace(signals: LoadSignals, previous: Pace, budget: float = WEB_BUDGET) -> Pace:
    """The pace for the next step: the level's rates, stretched while the web's CPU is over
    ``budget`` under pressure, and relaxed step by step once it is well under."""
    level = level_of(signals)
    if level is Level.LIVE:
        stretch = 1.0
    elif signals.web_cpu > budget:
        stretch = min(MAX_STRETCH, previous.stretch * STRETCH_STEP)
    elif signals.web_cpu < budget / 2:
        stretch = max(1.0, previous.stretch / STRETCH_STEP)
    else:
        stretch = previous.stretch
    tile_ms, fps = BASE[level]
    return Pace(level, round(tile_ms * stretch), fps / stretch, stretch)
