"""The MQTT sink: every result goes to the on-disk spool first, then to the broker, in order.

Design (the simplest one that never loses a result):

* ``publish()`` serialises the result and appends it to the :class:`~edge.publish.spool.Spool`
  (a ``write()``, no network), then wakes the publisher thread. A result is *accepted* once
  it is in the spool, whether or not a broker is reachable.
* One publisher thread makes every ``Client.publish`` call. While connected it reads the spool
  in order and keeps at most ``max_inflight`` results unacknowledged, remembering each
  message id's spool sequence number. Because only this thread publishes, and it records each
  id before it looks at acknowledgements, an acknowledgement can never be matched to the
  wrong result.
* paho's network thread only queues events (connected, disconnected, acknowledged) for it. An
  acknowledgement removes the result from the spool: PUBACK for QoS 1, PUBCOMP for QoS 2, and
  for QoS 0 the moment paho wrote it to the socket (QoS 0 has no acknowledgement: a broker
  that dies then loses it; that is what QoS 0 means).
* On a lost connection paho keeps its unacknowledged QoS 1/2 messages and sends them again,
  first, after it reconnects; the publisher sends nothing new until those are acknowledged,
  so order holds across reconnects. QoS 0 messages that were not written are read again from
  the spool. After a restart everything still in the spool is sent again, oldest first.

Guarantee: at-least-once, in order per stream (indeed across streams). A result can arrive
twice (resent after a lost acknowledgement, or after a restart); a subscriber that needs
exactly-once keeps the last ``frame`` it saw per ``(stream, model)`` and drops repeats.

Availability: the last will is a retained ``offline`` on ``<prefix>/<device>/status``; a
retained ``online`` is published on every (re)connect, so it is set again after a broker
restart; ``close()`` publishes ``offline`` itself (a clean disconnect cancels the will).
"""

from __future__ import annotations

import logging
import math
import ssl
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.jsonfast import dumps_bytes
from edge.messages import ModelNotice, ResultMessage, Sink, StatsSnapshot
from edge.publish.config import ConfigError, MqttConfig, SpoolConfig, TlsConfig
from edge.publish.spool import Spool, SpoolError
from edge.tracking.output import TrackingOutput

log = logging.getLogger(__name__)
_paho_log = logging.getLogger("edge.publish.paho")

ONLINE = "online"
OFFLINE = "offline"
_TICK = 0.5  # the publisher thread wakes at least this often, to fsync the spool when due
_REMIND = 60.0  # while the broker stays unreachable, say so this often


@dataclass(frozen=True)
class PublisherStats:
    """The publisher's counters, as published under ``publisher`` in the stats message."""

    connected: bool
    accepted: int  # results taken into the spool since start
    published: int  # results the broker acknowledged since start
    spooled: int  # results on disk waiting for the broker (includes in-flight ones)
    spool_bytes: int
    inflight: int
    evicted: int  # unpublished results deleted oldest-first to respect spool.max_bytes
    expired: int  # results dropped for being older than spool.max_age
    rejected: int  # results that could not be spooled (too large, not JSON, disk failing)
    reconnects: int
    connect_failures: int

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Ack:
    mid: int


@dataclass(frozen=True)
class _Link:
    up: bool


@dataclass(frozen=True)
class _Stats:
    payload: bytes


@dataclass(frozen=True)
class _Notice:
    topic: str
    payload: bytes


@dataclass(frozen=True)
class _Extra:
    topic: str
    payload: bytes
    qos: int
    retain: bool


_Event = _Ack | _Link | _Stats | _Notice | _Extra


class MqttCompanion(Protocol):
    """A publisher sharing this sink's connection (e.g. Home Assistant discovery). It is told
    of every (re)connect, from the publisher thread, and gets the messages on ``subscriptions``,
    from paho's thread; both calls must only record what happened and return."""

    subscriptions: tuple[str, ...]

    def connected(self) -> None: ...

    def message(self, topic: str, payload: bytes) -> None: ...


class MqttSink(Sink):
    """Publishes results and stats to an MQTT broker; starts connecting when constructed."""

    def __init__(self, config: MqttConfig, spool: SpoolConfig) -> None:
        self._config = config
        self._topics = config.topics
        self._broker = f"{config.host}:{config.port}"
        self._spool = Spool(spool.directory, spool.max_bytes, max_age=spool.max_age, sync_interval=spool.sync_interval)
        self._cond = threading.Condition()
        self._events: deque[_Event] = deque()
        self._connected = threading.Event()
        # Owned by the publisher thread (read elsewhere only for counters):
        self._inflight: dict[int, int] = {}  # message id -> spool sequence number
        self._link_up = False
        self._resync = False  # after a reconnect: wait for paho's resends before sending new ones
        # Guarded by _cond:
        self._stop = self._closing = self._closed = self._dead = False
        self._accepted = self._published = self._rejected = 0
        self._connects = self._connect_failures = 0
        self._down_since: float | None = None
        self._last_remind = 0.0
        self._refusals: set[int] = set()
        # The latest notice per topic, retained, and sent again after every (re)connect.
        self._notices: dict[str, bytes] = {}
        # The latest tracking counter per topic and its spool sequence number: an older value
        # still in the spool is skipped, and the latest is sent again after every reconnect.
        self._retained: dict[str, tuple[int, bytes]] = {}
        self._companions: list[MqttCompanion] = []
        try:
            self._client = self._make_client()
        except BaseException:
            self._spool.close()
            raise
        self._thread = threading.Thread(target=self._run, name="edge-mqtt-publisher", daemon=True)
        self._thread.start()
        self._client.connect_async(config.host, config.port, config.keepalive)
        self._client.loop_start()
        log.info("mqtt: publishing to %s as %s (qos %d)", self._broker, self._topics.base, config.qos)

    def _make_client(self) -> mqtt.Client:
        cfg = self._config
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=cfg.mqtt_client_id, clean_session=True, protocol=mqtt.MQTTv311
        )
        client.on_log = self._on_log
        client.suppress_exceptions = True
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password.resolve() if cfg.password else None)
        if cfg.tls is not None:
            _configure_tls(client, cfg.tls)
        client.will_set(self._topics.status, OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(cfg.reconnect_delay_min, cfg.reconnect_delay_max)
        client.max_inflight_messages_set(0)  # the publisher thread bounds what is in flight
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    # -- the pipeline's side -------------------------------------------------------------------

    def publish(self, message: ResultMessage) -> None:
        """Spool the result and return; never waits for the network."""
        try:
            payload = dumps_bytes(message.to_payload())
            self._spool.append(self._topics.result(message.stream, message.model), payload)
        except (ValueError, SpoolError) as exc:  # ValueError: NaN or infinity, which JSON cannot carry
            with self._cond:
                self._rejected += 1
            log.error("mqtt: result %s/%s #%d not published: %s", message.stream, message.model, message.frame, exc)
            return
        with self._cond:
            self._accepted += 1
            self._cond.notify_all()

    def publish_tracking(self, output: TrackingOutput) -> None:
        """Events (one message each) and retained counters, through the spool like results."""
        accepted = 0
        for doc in output.event_payloads():
            accepted += self._append(self._topics.events(output.stream), doc, False, f"{doc.get('type')} event")
        for key, value in output.counters.items():
            topic = self._topics.counter(output.stream, key)
            accepted += self._append(topic, value, True, f"counter {key}")
        if accepted:
            with self._cond:
                self._accepted += accepted
                self._cond.notify_all()

    def _append(self, topic: str, value: object, retain: bool, what: str) -> int:
        # None: a counter that no longer exists; an empty retained payload clears it on the broker
        payload = b"" if value is None else dumps_bytes(value)
        try:
            with self._cond:  # with the map, so the sender never sees a sequence number before its entry
                seq = self._spool.append(topic, payload, retain)
                if retain:
                    self._retained[topic] = (seq, payload)
        except (ValueError, SpoolError) as exc:
            with self._cond:
                self._rejected += 1
            log.error("mqtt: %s of stream %s not published: %s", what, topic, exc)
            return 0
        return 1

    def publish_stats(self, stats: StatsSnapshot) -> None:
        """Stats go out only while connected, at QoS 0: a stale one is of no use later."""
        doc = stats.to_payload()
        doc["publisher"] = self.counters().to_payload()
        data = dumps_bytes(_finite(doc))
        with self._cond:
            self._events.append(_Stats(data))
            self._cond.notify_all()

    def publish_notice(self, notice: ModelNotice) -> None:
        """A model's state change, retained on ``<prefix>/<device>/status/<model>`` at QoS 1."""
        data = dumps_bytes(notice.to_payload(), allow_nan=True)
        topic = self._topics.model_status(notice.model)
        with self._cond:
            self._notices[topic] = data
            self._events.append(_Notice(topic, data))
            self._cond.notify_all()

    def add_companion(self, companion: MqttCompanion) -> None:
        """Share the connection with ``companion`` (see :class:`MqttCompanion`)."""
        with self._cond:
            self._companions.append(companion)
            up = self._link_up
        if self._connected.is_set():
            for topic in companion.subscriptions:
                self._client.subscribe(topic, qos=1)
        if up:
            companion.connected()

    def send(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        """A companion's message, sent while connected and dropped otherwise (the companion
        sends again on the next connect); never spooled."""
        with self._cond:
            self._events.append(_Extra(topic, payload, qos, retain))
            self._cond.notify_all()

    def counters(self) -> PublisherStats:
        spool = self._spool.stats()
        with self._cond:
            return PublisherStats(
                connected=self._connected.is_set(),
                accepted=self._accepted,
                published=self._published,
                spooled=spool.pending,
                spool_bytes=spool.bytes,
                inflight=len(self._inflight),
                evicted=spool.evicted,
                expired=spool.expired,
                rejected=self._rejected,
                reconnects=max(0, self._connects - 1),
                connect_failures=self._connect_failures,
            )

    def flush(self, timeout: float) -> bool:
        """Wait until the broker has acknowledged everything accepted so far; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._idle() or self._dead, timeout) and not self._dead

    def _idle(self) -> bool:
        return not self._inflight and self._spool.pending() == 0

    def close(self, timeout: float = 5.0) -> None:
        """Publish what can be published within ``timeout``, say ``offline``, and disconnect.

        What the broker has not acknowledged by then stays in the spool for the next start.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._cond.wait_for(lambda: self._idle() or self._dead or not self._connected.is_set(), timeout * 0.8)
            self._stop = True
            self._cond.notify_all()
        self._thread.join(max(0.1, deadline - time.monotonic()))
        if self._connected.is_set():
            self._say_offline(deadline)
            if not self._thread.is_alive():
                self._handle_acks()  # acknowledgements that arrived after the thread stopped
        self._client.disconnect()
        stopper = threading.Thread(target=self._client.loop_stop, name="edge-mqtt-stop", daemon=True)
        stopper.start()
        stopper.join(max(0.1, deadline - time.monotonic()))  # a connect attempt may hang until its timeout
        left = self._spool.pending()
        self._spool.close()
        with self._cond:
            self._closed = True
        if left:
            log.warning("mqtt: closed with %d results in the spool; they are published after the next start", left)
        else:
            log.info("mqtt: closed; the spool is empty")

    def _say_offline(self, deadline: float) -> None:
        info = self._client.publish(self._topics.status, OFFLINE, qos=1, retain=True)
        try:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
        except (RuntimeError, ValueError):
            log.debug("mqtt: could not publish 'offline' before disconnecting")

    def __enter__(self) -> MqttSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- paho's network thread: only record what happened --------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags, reason: ReasonCode, props: Properties | None
    ) -> None:
        if reason.is_failure:
            self._log_refusal(reason)
            return
        self._connected.set()
        with self._cond:
            companions = list(self._companions)
        for companion in companions:  # a clean session forgets subscriptions: make them again
            for topic in companion.subscriptions:
                client.subscribe(topic, qos=1)
        with self._cond:
            self._connects += 1
            first = self._connects == 1
            down_for = 0.0 if self._down_since is None else time.monotonic() - self._down_since
            self._down_since = None
            self._events.append(_Link(up=True))
            self._cond.notify_all()
        if first:
            log.info("mqtt: connected to %s", self._broker)
        else:
            log.info("mqtt: reconnected to %s after %.1f s; sending the spooled results", self._broker, down_for)

    def _log_refusal(self, reason: ReasonCode) -> None:
        with self._cond:
            first = reason.value not in self._refusals
            self._refusals.add(reason.value)
            self._connect_failures += 1
        hint = ""
        if reason.value in (134, 135):  # bad user name or password, not authorized
            ref = self._config.password.describe() if self._config.password else "no password"
            hint = f"; check {self._config.where}.username and the password ({ref})"
        (log.error if first else log.debug)("mqtt: %s refused the connection: %s%s", self._broker, reason, hint)

    def _on_log(self, client: mqtt.Client, userdata: Any, level: int, text: str) -> None:
        # paho 2.2 reports its loop running between connections as an error: it is not one.
        if level == mqtt.MQTT_LOG_ERR and not text.startswith("Client is not connected"):
            _paho_log.error("paho: %s", text)  # a bug in a callback lands here, the network loop goes on
        elif level == mqtt.MQTT_LOG_WARNING:
            _paho_log.warning("paho: %s", text)
        else:  # packets sent and received: no payloads or passwords, only types, ids and lengths
            _paho_log.debug("paho: %s", text)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        now = time.monotonic()
        with self._cond:
            self._connect_failures += 1
            first = self._down_since is None
            if first:
                self._down_since = now
            remind = not first and now - self._last_remind >= _REMIND
            if first or remind:
                self._last_remind = now
            down_for = now - self._down_since if self._down_since is not None else 0.0
        if first:
            log.warning(
                "mqtt: cannot connect to %s (broker down or unreachable, or the TLS handshake failed); "
                "retrying, results are spooled on disk meanwhile",
                self._broker,
            )
        elif remind:
            log.warning(
                "mqtt: still no connection to %s after %.0f s; %d results spooled",
                self._broker,
                down_for,
                self._spool.pending(),
            )

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        props: Properties | None,
    ) -> None:
        was_up = self._connected.is_set()
        self._connected.clear()
        with self._cond:
            if was_up:
                self._down_since = self._last_remind = time.monotonic()
            self._events.append(_Link(up=False))
            self._cond.notify_all()
            closing = self._closing
        if was_up and not closing:
            log.warning(
                "mqtt: lost the connection to %s (%s); results are spooled until it is back", self._broker, reason
            )

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._cond:
            companions = list(self._companions)
        for companion in companions:
            if any(mqtt.topic_matches_sub(sub, message.topic) for sub in companion.subscriptions):
                companion.message(message.topic, bytes(message.payload))

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, props: Properties) -> None:
        with self._cond:
            self._events.append(_Ack(mid))
            self._cond.notify_all()

    # -- the publisher thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while self._step():
                pass
        except Exception:  # results stay in the spool; flush/close must not wait for a dead thread
            log.exception("mqtt: the publisher thread failed; spooled results are kept for the next start")
            with self._cond:
                self._dead = True
                self._cond.notify_all()

    def _step(self) -> bool:
        with self._cond:
            self._cond.wait_for(self._has_work, _TICK)
            events = list(self._events)
            self._events.clear()
            stop = self._stop
        for event in events:
            self._handle(event)
        if events:
            with self._cond:
                self._cond.notify_all()  # flush() and close() wait for acknowledgements
        self._spool.sync_if_due()
        if stop:
            return False
        room = self._config.max_inflight - len(self._inflight)
        if self._link_up and not self._resync and room > 0:
            for record in self._spool.read(room):
                if record.retain and self._superseded(record.seq, record.topic):
                    continue
                if not self._send(record.seq, record.topic, record.payload, record.retain):
                    break
        return True

    def _has_work(self) -> bool:
        if self._events or self._stop:
            return True
        can_send = self._link_up and not self._resync and len(self._inflight) < self._config.max_inflight
        return can_send and self._spool.has_unread()

    def _superseded(self, seq: int, topic: str) -> bool:
        """A retained value with a newer one spooled after it: acknowledged without sending, so
        the broker never ends up holding an older count."""
        with self._cond:
            latest = self._retained.get(topic)
            if latest is None or latest[0] <= seq:
                return False
            self._published += self._spool.ack(seq)
        return True

    def _send(self, seq: int, topic: str, payload: bytes, retain: bool = False) -> bool:
        qos = self._config.qos
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        # QoS 1/2 without a connection: paho keeps the message and sends it after reconnecting.
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS or (qos > 0 and info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN):
            self._inflight[info.mid] = seq
            return True
        self._forget_unacked()  # nothing was sent: read it again from the spool
        return False

    def _forget_unacked(self) -> None:
        self._inflight.clear()
        self._spool.rewind()

    def _handle(self, event: _Event) -> None:
        if isinstance(event, _Ack):
            self._acked(event.mid)
        elif isinstance(event, _Link):
            self._link_up = event.up
            if self._config.qos == 0:
                self._forget_unacked()  # unwritten QoS 0 packets were dropped with the connection
            else:
                self._resync = bool(self._inflight)
            if event.up:
                self._client.publish(self._topics.status, ONLINE, qos=1, retain=True)
                with self._cond:
                    notices = list(self._notices.items())
                    retained = [(t, data) for t, (_, data) in self._retained.items()]
                for topic, data in notices + retained:  # a broker restarted without persistence lost them
                    self._client.publish(topic, data, qos=1, retain=True)
                with self._cond:
                    companions = list(self._companions)
                for companion in companions:
                    companion.connected()
        elif isinstance(event, _Extra):
            if self._link_up:
                self._client.publish(event.topic, event.payload, qos=event.qos, retain=event.retain)
        elif isinstance(event, _Notice):
            if self._link_up:  # else the next connect sends it, from _notices
                self._client.publish(event.topic, event.payload, qos=1, retain=True)
        elif self._link_up:
            self._client.publish(self._topics.stats, event.payload, qos=0)

    def _acked(self, mid: int) -> None:
        seq = self._inflight.pop(mid, None)  # None: a status or stats message, or forgotten
        if seq is not None:
            with self._cond:  # with the ack, so flush() never sees the spool empty but the count behind
                self._published += self._spool.ack(seq)
        if self._resync and not self._inflight:
            self._resync = False

    def _handle_acks(self) -> None:
        with self._cond:
            events = [e for e in self._events if isinstance(e, _Ack)]
            self._events.clear()
        for event in events:
            self._acked(event.mid)


def _finite(value: Any) -> Any:
    """NaN and infinity (a p95 of no frames) as null: JSON has no spelling for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _configure_tls(client: mqtt.Client, tls: TlsConfig) -> None:
    try:
        client.tls_set(
            ca_certs=str(tls.ca) if tls.ca else None,
            certfile=str(tls.cert) if tls.cert else None,
            keyfile=str(tls.key) if tls.key else None,
            cert_reqs=ssl.CERT_REQUIRED,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise ConfigError(f"{tls.where}: cannot load the CA, certificate or key: {exc}") from None
    if tls.insecure:
        client.tls_insecure_set(True)
        log.warning("%s.insecure: the broker's certificate is not checked against its host name", tls.where)
