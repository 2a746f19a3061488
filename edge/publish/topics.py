"""MQTT topic names for one device.

Layout (``prefix`` defaults to ``edge``)::

    <prefix>/<device_id>/<stream>/<model>/predictions   results, one message per (frame, model)
    <prefix>/<device_id>/status                         retained "online" / "offline" (last will)
    <prefix>/<device_id>/status/<model>                 retained JSON notices, e.g. hosted fallback off
    <prefix>/<device_id>/stats                          periodic health
    <prefix>/<device_id>/<stream>/events                tracking events, one message per event
    <prefix>/<device_id>/<stream>/zones/<zone>/<class>  retained zone occupancy (an integer; class "all" too)
    <prefix>/<device_id>/<stream>/lines/<line>/<class>  retained line counts, {"in": N, "out": M}

Stream and model names come from users and may hold characters MQTT gives a meaning to, so
each becomes one topic level by percent-encoding exactly these: ``%`` ``/`` ``+`` ``#`` and the
control characters U+0000-U+001F and U+007F (``cam/1`` -> ``cam%2F1``, ``a+b`` -> ``a%2Bb``).
Everything else, non-ASCII included, is kept. The rule is reversible
(``urllib.parse.unquote``) and two different names never share a topic; the payload carries
the names unencoded in ``stream`` and ``model``. The prefix and device id are the operator's
choice and are validated instead (:func:`topic_problem`), never rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass

_RESERVED = frozenset("%/+#")


def topic_level(name: str) -> str:
    """``name`` as one topic level, by the rule in the module docstring."""
    return "".join(f"%{ord(c):02X}" if c in _RESERVED or ord(c) < 0x20 or ord(c) == 0x7F else c for c in name)


def topic_problem(value: str, *, levels: bool) -> str | None:
    """Why ``value`` cannot be a fixed part of a topic (``levels``: may contain ``/``), or None."""
    if not value:
        return "must not be empty"
    bad = sorted({c for c in value if c in "+#" or ord(c) < 0x20 or ord(c) == 0x7F})
    if bad:
        return f"must not contain {', '.join(repr(c) for c in bad)} (MQTT wildcards or control characters)"
    if value.startswith("$"):
        return "must not start with '$' (reserved for broker topics such as $SYS)"
    if not levels and "/" in value:
        return "must not contain '/'"
    if levels and (value.startswith("/") or value.endswith("/") or "//" in value):
        return "must not start or end with '/' or contain an empty level ('//')"
    if len(value.encode("utf-8")) > 1024:
        return "must be at most 1024 bytes"
    return None


@dataclass(frozen=True)
class Topics:
    prefix: str
    device_id: str

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.device_id}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    def model_status(self, model: str) -> str:
        return f"{self.status}/{topic_level(model)}"

    @property
    def stats(self) -> str:
        return f"{self.base}/stats"

    def result(self, stream: str, model: str) -> str:
        return f"{self.base}/{topic_level(stream)}/{topic_level(model)}/predictions"

    @property
    def all_results(self) -> str:
        """The subscription filter for every result of this device."""
        return f"{self.base}/+/+/predictions"

    def events(self, stream: str) -> str:
        """Tracking events of one stream (edge.tracking)."""
        return f"{self.base}/{topic_level(stream)}/events"

    def counter(self, stream: str, key: str) -> str:
        """A retained tracking counter; ``key`` is ``zones/<zone>/<class>`` or ``lines/<line>/<class>``,
        each of its levels encoded like a stream name."""
        return "/".join([self.base, topic_level(stream), *(topic_level(part) for part in key.split("/", 2))])
