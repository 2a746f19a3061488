"""Pull one model into the cache, asking the API at most once a day.

A package the API confirmed less than ``max_age`` ago (a day, as inference-models' resolution
cache) is used without a request. After that the API is asked again and only files whose MD5
changed are downloaded. Unlike inference-models, an unreachable API does not make a cached
package unusable: a device without network starts from what it has (the result says so).
A refusal (401, 403, 404) is not papered over: it means the key or the id is wrong.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.roboflow.cache import PackageCache
from edge.roboflow.client import ApiRefused, ApiUnreachable, PullError, RoboflowApi
from edge.roboflow.protocols import PROTOCOL_B, resolve

log = logging.getLogger("edge.roboflow")

DAY = 86400.0
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[0-9]+$")


def model_id_problem(text: object) -> str | None:
    """Why ``text`` is not a ``project/version`` id, or None when it is one."""
    if isinstance(text, str) and _MODEL_ID.match(text):
        return None
    return f"use project/version as in the Roboflow app, like shapes-abc12/3, got {text!r}"


@dataclass(frozen=True)
class PullResult:
    model_id: str
    path: Path  # the package directory, for edge infer --model or a config's path:
    downloaded: tuple[str, ...]  # file names fetched by this pull
    asked_api: bool
    note: str  # one line for the user: what happened
    offline: bool = False  # the API was unreachable and the cached copy is used


def pull(
    model_id: str,
    cache: PackageCache,
    api: Callable[[], RoboflowApi],
    *,
    key_hint: str = "the API key",
    now: Callable[[], float] = time.time,
    max_age: float = DAY,
    force: bool = False,
) -> PullResult:
    """Make ``model_id``'s package present in ``cache``. ``key_hint`` says where the key came from."""
    problem = model_id_problem(model_id)
    if problem:
        raise PullError(f"model id: {problem}")
    path = cache.dir_for(model_id)
    with cache.lock(model_id):
        have = cache.read(model_id)
        if have is not None and not force and 0 <= now() - have.checked_at < max_age:
            ago = _ago(now() - have.checked_at)
            return PullResult(model_id, path, (), False, f"{model_id}: up to date (checked with the API {ago} ago)")
        client = api()
        try:
            plan = resolve(client, model_id)
            if have is not None and cache.unchanged(have, plan):
                cache.touch(model_id, now())
                return PullResult(model_id, path, (), True, f"{model_id}: up to date; nothing downloaded")
            fetched = cache.install(plan, lambda f, dest: _fetch(client, f.url, dest, f.md5), now())
        except ApiUnreachable as exc:
            if have is None:
                raise PullError(
                    f"cannot pull {model_id}: the Roboflow API is unreachable ({exc}) and {path} holds no copy; "
                    "check the network and the API URL"
                ) from None
            when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(have.pulled_at))
            note = f"{model_id}: the Roboflow API is unreachable ({exc}); using the copy pulled {when}"
            return PullResult(model_id, path, (), True, note, offline=True)
        except ApiRefused as exc:
            raise PullError(refusal(model_id, exc, key_hint)) from None
    how = "the inference-models weights API" if plan.protocol == PROTOCOL_B else "the legacy /ort/ route"
    listed = ", ".join(fetched) if fetched else "nothing (every file unchanged)"
    return PullResult(model_id, path, tuple(fetched), True, f"{model_id}: pulled from {how}; downloaded {listed}")


def _fetch(client: RoboflowApi, url: str, dest: Path, md5: str | None) -> None:
    size = client.download(url, dest, md5)
    log.debug("downloaded %s (%d bytes)", dest.name, size)


def refusal(model_id: str, exc: ApiRefused, key_hint: str) -> str:
    """One line for a 401/403/404 (or another refusal) that says what to check, never the key."""
    project = model_id.split("/", 1)[0]
    if exc.status == 401:
        return f"cannot pull {model_id}: the Roboflow API rejected the key (HTTP 401); check {key_hint}"
    if exc.status == 403:
        return (
            f"cannot pull {model_id}: the key has no access to it (HTTP 403); check that {key_hint} "
            f"belongs to the workspace that owns project {project!r}"
        )
    if exc.status == 404:
        return (
            f"cannot pull {model_id}: no such model (HTTP 404); check the project id and version "
            "(the Roboflow app's Deploy tab shows both) and that the version has a trained model"
        )
    return f"cannot pull {model_id}: {exc}; check the API URL"


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
