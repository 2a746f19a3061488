"""The Roboflow API over HTTP, with the key kept out of every message.

The standard library's ``urllib`` is enough here: a pull makes a handful of GET requests,
needs no connection reuse and no streaming uploads, and the runtime then has one HTTP
dependency fewer. Protocol A sends the key as a query parameter, so no URL is ever put into
a message or a log line whole: :func:`safe_url` keeps only its host and path.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from edge import __version__
from edge.errors import EdgeError, first_line

log = logging.getLogger("edge.roboflow")

DEFAULT_API_URL = "https://api.roboflow.com"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_CHUNK = 1 << 20


class PullError(EdgeError):
    """A model that cannot be pulled; the message names the model and what to check."""


class ApiRefused(PullError):
    """The API answered with a status that retrying will not change (401, 403, 404, ...)."""

    def __init__(self, status: int, what: str) -> None:
        super().__init__(f"HTTP {status} from {what}")
        self.status = status
        self.what = what


class ApiUnreachable(PullError):
    """No answer: a connection error, a timeout, or 5xx/429 after every retry."""


def safe_url(url: str) -> str:
    """``scheme://host/path`` without query or credentials: what a message may show of a URL."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class RoboflowApi:
    """GET requests to one API base, retried with backoff on 408/429/5xx and connection errors."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float = 30.0,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self._timeout = timeout
        self._retries = retries
        self._sleep = sleep

    def url(self, path: str, params: Mapping[str, str]) -> str:
        return f"{self.base_url}{path}?{urllib.parse.urlencode(params)}" if params else self.base_url + path

    def get_json(self, path: str, params: Mapping[str, str], *, key_in_query: bool = False) -> Any:
        """The JSON answer of ``GET base+path``; the key goes in a Bearer header (or ``api_key``)."""
        query = dict(params)
        headers = {"Accept": "application/json"}
        if key_in_query:
            query["api_key"] = self._key
        else:
            headers["Authorization"] = f"Bearer {self._key}"
        body = self._get(self.url(path, query), headers)
        try:
            return json.loads(body)
        except json.JSONDecodeError:
            raise PullError(f"{safe_url(self.base_url + path)} did not answer JSON") from None

    def get_bytes(self, url: str) -> bytes:
        """A small file from a download URL (signed URLs carry their own authorization)."""
        return self._get(url, {})

    def download(self, url: str, dest: Path, md5: str | None) -> int:
        """Stream ``url`` into ``dest``, checking its MD5 where one is given; the byte count."""
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        with self._open(url, {}) as response, dest.open("wb") as out:
            expected = response.headers.get("Content-Length")
            while chunk := _read(response, url, _CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        # A read of n bytes returns short instead of raising when the server hangs up.
        if expected is not None and expected.isdigit() and size != int(expected):
            raise ApiUnreachable(f"{safe_url(url)}: the answer was cut off ({size} of {expected} bytes)")
        if md5 is not None and digest.hexdigest() != md5.lower():
            raise PullError(
                f"{dest.name}: MD5 {digest.hexdigest()} does not match the {md5} the API gave; "
                "nothing was kept, pull again (the download may have been cut or altered)"
            )
        return size

    def _get(self, url: str, headers: dict[str, str]) -> bytes:
        with self._open(url, headers) as response:
            return _read(response, url, None)

    def _open(self, url: str, headers: dict[str, str]) -> Any:
        request = urllib.request.Request(url, headers={"User-Agent": f"edge/{__version__}", **headers})
        what = safe_url(url)
        delay = 0.5
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                return urllib.request.urlopen(request, timeout=self._timeout)
            except urllib.error.HTTPError as exc:
                exc.close()
                if exc.code not in RETRY_STATUSES:
                    raise ApiRefused(exc.code, what) from None
                if last:
                    raise ApiUnreachable(f"HTTP {exc.code} from {what} after {attempt + 1} tries") from None
                wait = _retry_after(exc.headers.get("Retry-After"), delay)
            except (urllib.error.URLError, OSError) as exc:
                reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
                if last:
                    raise ApiUnreachable(f"{what}: {_reason(reason)}") from None
                wait = delay
            log.debug("GET %s failed, retrying in %.1f s", what, wait)
            self._sleep(wait)
            delay = min(delay * 2, 8.0)
        raise AssertionError("unreachable")


def _read(response: Any, url: str, size: int | None) -> bytes:
    """A read that fails as :class:`ApiUnreachable` when the answer is cut off."""
    try:
        data: bytes = response.read(size)
        return data
    except (OSError, http.client.HTTPException) as exc:
        raise ApiUnreachable(f"{safe_url(url)}: the answer was cut off ({first_line(exc)})") from None


def _retry_after(value: str | None, default: float) -> float:
    try:
        return min(max(float(value), 0.0), 30.0) if value is not None else default
    except ValueError:
        return default


def _reason(reason: object) -> str:
    return first_line(reason) if isinstance(reason, BaseException) else str(reason)
