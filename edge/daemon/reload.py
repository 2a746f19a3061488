"""SIGHUP: what changed between the running config and the new one, and applying only that.

:func:`plan_reload` is pure: (old config, new config, models whose files changed on disk) to a
:class:`ReloadPlan`. :class:`Reloader` applies a plan to a running pipeline: streams added,
removed or changed restart alone; models added, removed or reopened (a new file, new options)
change alone, their streams running on; thresholds change in place; a sink change closes the
old sinks (the MQTT sink leaves what the broker has not acknowledged in its spool) and opens
new ones, which publish it. Streams that did not change keep their thread, connection and
frame numbers.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from edge.config import EdgeConfig, ModelConfig
from edge.daemon.checks import tracking_problems
from edge.daemon.models import Failed, ModelLoader, Ready, Waiting, hosted_plans
from edge.messages import Sink
from edge.pipeline import Pipeline

log = logging.getLogger("edge.daemon")

Stamp = tuple[int, int]  # (newest mtime in ns, total size) of a model file or package directory


@dataclass(frozen=True)
class ReloadPlan:
    streams_added: tuple[str, ...] = ()
    streams_removed: tuple[str, ...] = ()
    streams_restarted: tuple[str, ...] = ()  # changed settings or model list
    models_added: tuple[str, ...] = ()
    models_removed: tuple[str, ...] = ()
    models_reopened: tuple[str, ...] = ()  # a new file, or options other than thresholds
    params_changed: tuple[str, ...] = ()  # thresholds only
    sinks_changed: bool = False  # mqtt, spool, state_dir or console
    watchdog_changed: bool = False
    at_restart: tuple[str, ...] = ()  # keys that take effect only at the next start
    tracking_changed: tuple[str, ...] = ()  # tracking, zones or lines only: applied in place

    @property
    def empty(self) -> bool:
        return self == ReloadPlan()

    def describe(self) -> str:
        parts = [
            f"{label} {', '.join(names)}"
            for label, names in (
                ("streams added:", self.streams_added),
                ("streams removed:", self.streams_removed),
                ("streams restarted:", self.streams_restarted),
                ("models added:", self.models_added),
                ("models removed:", self.models_removed),
                ("models reopened:", self.models_reopened),
                ("thresholds changed:", self.params_changed),
                ("tracking changed:", self.tracking_changed),
            )
            if names
        ]
        if self.sinks_changed:
            parts.append("sinks reconnected")
        if self.watchdog_changed:
            parts.append("watchdog stall limit changed")
        return "; ".join(parts) or "nothing changed"


def _changed_names(old: Mapping[str, object], new: Mapping[str, object]) -> tuple[str, ...]:
    return tuple(sorted(n for n in old.keys() & new.keys() if old[n] != new[n]))


def plan_reload(old: EdgeConfig, new: EdgeConfig, files_changed: Collection[str] = ()) -> ReloadPlan:
    """What to do to turn a pipeline running ``old`` into one running ``new``.

    ``files_changed``: models whose file or package changed on disk with the same path."""
    om, nm = old.models, new.models
    reopened, params = [], []
    for name in sorted(om.keys() & nm.keys()):
        a, b = om[name], nm[name]
        if dataclasses.replace(a, params=b.params) != b or name in files_changed:
            reopened.append(name)
        elif a.params != b.params:
            params.append(name)
    os_ = {p.name: p for p in old.streams}
    ns = {p.name: p for p in new.streams}
    sinks = (old.mqtt, old.spool, old.state_dir, old.console) != (new.mqtt, new.spool, new.state_dir, new.console)
    # A change of tracking alone is applied to the running tracker: the stream runs on.
    untracked = {n: dataclasses.replace(p, tracking=None) for n, p in os_.items()}
    restarted = _changed_names(untracked, {n: dataclasses.replace(p, tracking=None) for n, p in ns.items()})
    sinks = sinks or old.homeassistant != new.homeassistant
    return ReloadPlan(
        streams_added=tuple(sorted(ns.keys() - os_.keys())),
        streams_removed=tuple(sorted(os_.keys() - ns.keys())),
        streams_restarted=restarted,
        tracking_changed=tuple(n for n in _changed_names(os_, ns) if n not in restarted),
        models_added=tuple(sorted(nm.keys() - om.keys())),
        models_removed=tuple(sorted(om.keys() - nm.keys())),
        models_reopened=tuple(reopened),
        params_changed=tuple(params),
        sinks_changed=sinks,
        watchdog_changed=old.watchdog != new.watchdog,
        at_restart=("engines",) if old.engines_dir != new.engines_dir else (),
    )


def stamp(path: Path) -> Stamp | None:
    """What tells a rewritten model file (or package directory) from the one loaded: None if unreadable."""
    if not path.exists():
        return None
    try:
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        stats = [f.stat() for f in files]
    except OSError:
        return None
    return (max((s.st_mtime_ns for s in stats), default=0), sum(s.st_size for s in stats))


def stamps(config: EdgeConfig) -> dict[str, Stamp | None]:
    return {name: stamp(m.path) for name, m in config.models.items()}


def files_changed(old: Mapping[str, Stamp | None], new: Mapping[str, Stamp | None]) -> set[str]:
    return {name for name in old.keys() & new.keys() if old[name] != new[name]}


SinkFactory = Callable[[EdgeConfig], list[Sink]]


class Reloader:
    """Applies plans to one pipeline and the loader that opened its models."""

    def __init__(
        self,
        pipeline: Pipeline,
        loader: ModelLoader,
        make_sinks: SinkFactory,
        keep_sinks: Sequence[Sink] = (),
        timeout: float = 5.0,
        alive: Callable[[], object] = lambda: None,
    ) -> None:
        self._pipeline = pipeline
        self._loader = loader
        self._make_sinks = make_sinks
        self._keep = list(keep_sinks)  # sinks the caller added; a config change leaves them alone
        self._timeout = timeout
        # Called between steps that may each take up to ``timeout``: a reload of many streams
        # must not starve systemd's watchdog (the daemon's main loop is busy with it).
        self._alive = alive

    def apply(self, plan: ReloadPlan, old: EdgeConfig, new: EdgeConfig) -> list[str]:
        """Apply ``plan``; returns the problems met (a model that did not open, ...), one line each."""
        problems: list[str] = []
        p = self._pipeline
        opened = {name: self._open(new.models[name]) for name in plan.models_reopened + plan.models_added}
        plans = {s.name: s for s in new.streams}
        for line in tracking_problems(new, self._loader.specs()):  # the tracked model's task and classes
            stream = line.split(".", 2)[1]
            problems.append(f"{line}; the stream runs without tracking")
            plans[stream] = dataclasses.replace(plans[stream], tracking=None)
        for name in plan.streams_removed + plan.streams_restarted:
            p.remove_stream(name, self._timeout)
            # Its results are all handed over now: its tracks end, ids and counts carry on.
            p.tracking.configure(name, plans[name].tracking if name in plans else None, restart=True)
            self._alive()
        for name in plan.models_removed:
            p.remove_model(name, self._timeout)
            self._alive()
            self._close_old(name)
        for name in plan.models_reopened:
            change = opened[name]
            if isinstance(change, Failed):
                problems.append(f"models.{name}: {change.reason}; the model keeps running as it was")
                continue
            runner = change.runner if isinstance(change, Ready) else None
            old_models = self._loader.detach(name, keep=runner.model if runner else None)
            p.replace_model(name, runner, None if runner else _state(change), self._timeout)
            self._alive()
            for model in old_models:  # after the swap: the old worker's last batch used it
                model.close()
        for name in plan.models_added:
            change = opened[name]
            if isinstance(change, Ready):
                p.add_model(name, change.runner)
            elif isinstance(change, Waiting):
                p.add_model(name, None, change.state)
            else:
                problems.append(f"models.{name}: {change.reason}")
                p.add_failed_model(name, change.reason)
        for name in plan.params_changed:
            self._loader.update_config(new.models[name])
            if name not in p.ready_models():
                continue  # waiting or failed: the new thresholds come with its runner when it opens
            p.update_params(name, new.models[name].params)
        for name in plan.streams_added + plan.streams_restarted:
            p.add_stream(plans[name])
        for name in plan.streams_added + plan.tracking_changed:
            p.tracking.configure(name, plans[name].tracking)
        if plan.sinks_changed:
            p.fanout.replace_sinks(lambda current: self._swap_sinks(current, old, new, problems))
            p.tracking.republish()  # the new sinks (maybe another broker) get every retained counter
        # Always, even when nothing changed: a reload is how an operator switches back on a
        # fallback that a refused key (401/403) or a spent quota (402) turned off.
        p.replace_fallbacks(hosted_plans(list(new.models.values()), self._loader.specs(), new.state_dir))
        for key in plan.at_restart:
            problems.append(f"{key}: takes effect at the next restart")
        return problems

    def _open(self, m: ModelConfig) -> Ready | Failed | Waiting:
        change = self._loader.open_one(m)
        self._alive()
        return change

    def _close_old(self, name: str) -> None:
        for model in self._loader.detach(name):
            model.close()
        self._loader.forget(name)

    def _swap_sinks(self, current: Sequence[Sink], old: EdgeConfig, new: EdgeConfig, problems: list[str]) -> list[Sink]:
        ours = self._ours(current)
        for sink in ours:  # closed first: the new MQTT sink may reopen the same spool
            try:
                sink.close(self._timeout)
            except Exception as exc:  # a sink that fails to close must not block the reload
                log.error("closing %s failed: %s", type(sink).__name__, exc)
        kept = [s for s in current if all(s is not o for o in ours)]
        try:
            return self._make_sinks(new) + kept
        except Exception as exc:  # e.g. a TLS file that does not load: publish as before instead
            problems.append(f"sinks: {exc}; publishing with the previous settings")
            return self._make_sinks(old) + kept

    def _ours(self, current: Sequence[Sink]) -> list[Sink]:
        return [s for s in current if all(s is not k for k in self._keep)]


def _state(change: Ready | Waiting) -> str:
    return change.state if isinstance(change, Waiting) else ""


class ReloadOnSignal:
    """SIGHUP calls ``request`` (which must only set a flag) while in the ``with`` block."""

    def __init__(self, request: Callable[[], None]) -> None:
        self._request = request
        self._previous: object = None

    def __enter__(self) -> ReloadOnSignal:
        self._previous = signal.signal(signal.SIGHUP, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._request()

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGHUP, self._previous)  # type: ignore[arg-type]
