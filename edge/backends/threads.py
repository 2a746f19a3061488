"""How many intra-op threads each ONNX Runtime model gets when several share one CPU.

ONNX Runtime sizes a session's intra-op pool to every core by default. One model per
process is then right, but two models in one daemon run two such pools on the same cores:
each pool's workers spin-wait and fight the other's (and the pipeline's decode and
postprocessing threads) for the cores. On a 2-core machine with two yolov8n-size models that
cost 1.8x in results per second against ``threads: 1`` each (issue 11).

The policy: models that set ``threads:`` keep it; the cores left over are split evenly among
the others, at least one thread each. When more than one model shares the CPU, spin-waiting
is turned off: a spinning worker holds a core that another model's pool needs. A model alone
keeps spinning on, which is faster for a single model (about 9% at 640x640 on 2 cores).

A model's share of two or three cores is better spent as that many *instances*, inferences in
flight at once on one session, each on one thread, than as one inference spread over the
cores: a yolov8n-size model at 640x640 on 2 cores ran 1.17-1.18x the frames/s that way
(``edge bench --crowd``, its ``raw, 2 at once`` row), because ONNX Runtime's intra-op split of
one small inference leaves cores idle at every operator's barrier. The price is latency when
frames do not queue: a lone frame takes one core's time, 1.6-1.7x as long
(``python tools/bench_instances.py``). Larger shares keep one instance with every thread (not
measured on more cores than 2, so the old behaviour is kept there). ``threads:`` or
``instances:`` in the config override the choice.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from edge.errors import EdgeError


@dataclass(frozen=True)
class ThreadSetting:
    """One ONNX Runtime session's threading: intra-op pool size and whether its workers spin."""

    intra_op: int
    spinning: bool = True
    instances: int = 1  # inferences in flight at once on the session

    def __post_init__(self) -> None:
        if self.intra_op < 1:
            raise EdgeError(f"threads must be at least 1, got {self.intra_op}")
        if self.instances < 1:
            raise EdgeError(f"instances must be at least 1, got {self.instances}")


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity (a container's cpuset), not the host's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


# Shares of cores spent as one single-threaded instance per core (see the module's docstring).
INSTANCE_SHARES = range(2, 4)


def plan_threads(
    requested: Sequence[int | None], cores: int | None = None, instances: Sequence[int | None] | None = None
) -> list[ThreadSetting]:
    """One setting per CPU model, in order. ``requested[i]`` is model i's ``threads:`` and
    ``instances[i]`` its ``instances:`` (None: unset).

    Explicit counts are kept as given (an override, even if they oversubscribe); the cores they
    leave are divided among the unset ones, at least one thread each. Several instances share
    one session's intra-op pool, so an unset ``threads:`` is 1 for each of them.
    """
    cores = usable_cores() if cores is None else max(1, cores)
    wanted = list(instances) if instances is not None else [None] * len(requested)
    if len(wanted) != len(requested):
        raise EdgeError("plan_threads: one instances entry per model")
    shared = len(requested) > 1
    unset = sum(1 for r in requested if r is None)
    # Rounded down: a spare core goes to decoding and postprocessing, which need one too.
    each = max(1, (cores - sum(r for r in requested if r is not None)) // max(1, unset))
    return [_setting(r, k, each, not shared) for r, k in zip(requested, wanted)]


def _setting(threads: int | None, instances: int | None, share: int, spinning: bool) -> ThreadSetting:
    if instances is not None:
        return ThreadSetting(threads or (1 if instances > 1 else share), spinning, instances)
    if threads is not None:
        return ThreadSetting(threads, spinning)
    if share in INSTANCE_SHARES:
        return ThreadSetting(1, spinning, share)
    return ThreadSetting(share, spinning)
