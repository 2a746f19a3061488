"""Hypothesis profiles for the fuzz tests: ``ci`` (the default: bounded, deterministic, about a
minute for the whole set on 2 shared cores) and ``long`` (``EDGE_FUZZ=long``: many more
examples, random seeds, no deadline, failures remembered in ``.hypothesis/``)."""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=150,
    # generous: the machine is shared, and a slow example is not what the fuzzing looks for
    deadline=timedelta(seconds=5),
    derandomize=True,  # the same examples on every run: a CI failure reproduces
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "long",
    max_examples=int(os.environ.get("EDGE_FUZZ_EXAMPLES", "5000")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("EDGE_FUZZ", "ci"))
