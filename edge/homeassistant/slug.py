"""Ids Home Assistant accepts (``[a-zA-Z0-9_-]``) that never collide.

``slug`` replaces every other character with ``_``; when that changed the name, it appends
``_`` and the first 6 hex digits of the name's SHA-1, so ``cam/1`` and ``cam_1`` (or ``cam.1``)
get different slugs. A name that is already legal is kept as it is, unless it ends like a
hashed slug (``_`` and 6 hex digits): then it is hashed too, so no kept name equals a hashed one.
"""

from __future__ import annotations

import hashlib
import re

_ILLEGAL = re.compile(r"[^a-zA-Z0-9_-]")
_HASHED = re.compile(r"_[0-9a-f]{6}$")  # what a hashed slug ends with
_ENTITY = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    """``name`` as a discovery id part, distinct for distinct names (see the module docstring)."""
    plain = _ILLEGAL.sub("_", name)
    if plain == name and name and not _HASHED.search(name):
        return name  # a legal name that could pass for a hashed slug is hashed too
    return f"{plain}_{hashlib.sha1(name.encode('utf-8')).hexdigest()[:6]}"


def entity_part(name: str) -> str:
    """``name`` as Home Assistant's own slugify makes an entity id part: lower case, ``_`` runs.

    Used for ``default_entity_id`` only, a suggestion HA de-duplicates itself; never for ids."""
    return _ENTITY.sub("_", name.lower()).strip("_") or "edge"
