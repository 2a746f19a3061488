"""Detection ids: random version-4 UUIDs, made a frame at a time."""

from __future__ import annotations

import uuid

import pytest

from edge.tasks.v1 import new_id, new_ids


@pytest.mark.parametrize("n", [0, 1, 2, 80])
def test_ids_are_distinct_version_4_uuids_in_the_usual_spelling(n: int) -> None:
    ids = new_ids(n)
    assert len(ids) == n and len(set(ids)) == n
    for i in ids:
        u = uuid.UUID(i)
        assert (u.version, u.variant) == (4, uuid.RFC_4122) and str(u) == i
    assert len(new_id()) == 36
