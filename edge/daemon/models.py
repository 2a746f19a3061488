"""The daemon's models: opened at start, or, for TensorRT, as soon as their engine exists.

ONNX Runtime models open at once. A TensorRT model (``backend: tensorrt``, or ``auto`` where
TensorRT imports) asks the engine manager for its engine: a cached engine opens at once; a
missing one is built on the manager's thread while the daemon serves its other models, and
:meth:`ModelLoader.poll` hands the model over when its engine is ready. Until then the model
is *pending*: its streams queue frames for it (a live stream keeps only the newest and counts
the rest as dropped; a file stream waits) and stats say what it waits for. A build that fails
is reported with its reason, and not retried until the model or its build options change.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edge.backends import Backend, create_backend
from edge.backends.threads import ThreadSetting, plan_threads
from edge.config import ModelConfig
from edge.engines.compile import BuildRequest
from edge.engines.errors import EngineLoadError
from edge.engines.manager import EngineManager, EngineState, EngineStatus
from edge.engines.progress import ProgressTracker
from edge.engines.report import EngineReport, engine_report
from edge.engines.select import resolve_backend
from edge.errors import BackendUnavailable, EdgeError
from edge.hosted.fallback import HostedPlan, client_for
from edge.model import Model
from edge.models import ModelSpec, load_spec
from edge.models.spec import Task
from edge.pipeline import ModelRunner
from edge.roboflow.daemon import ensure_package, warn_if_classes_differ
from edge.tasks.params import InferenceParams

log = logging.getLogger("edge.daemon")

EngineOpener = Callable[[ModelSpec, Path], Backend]


@dataclass(frozen=True)
class EngineSupport:
    """What TensorRT models need: background builds, and a way to open a built engine."""

    manager: EngineManager
    open_engine: EngineOpener


def tensorrt_support(engines_dir: Path | None = None) -> EngineSupport:
    """The real thing: TensorRT builds into the engine cache, engines opened by the backend."""
    from edge.engines.device import detect_device
    from edge.engines.paths import default_engine_dir
    from edge.engines.store import EngineStore

    try:
        device, reason = detect_device(0), ""
    except BackendUnavailable as exc:
        device, reason = None, str(exc)

    def build(req: BuildRequest, tracker: ProgressTracker) -> bytes:
        from edge.engines.builder import build_engine  # imports TensorRT: only when a build runs

        return build_engine(req, tracker)

    def open_engine(spec: ModelSpec, engine: Path) -> Backend:
        return create_backend("tensorrt", spec.onnx_path, engine=engine)

    store = EngineStore(engines_dir or default_engine_dir())
    return EngineSupport(EngineManager(store, build, device, unavailable_reason=reason), open_engine)


@dataclass(frozen=True)
class Ready:
    runner: ModelRunner


@dataclass(frozen=True)
class Failed:
    model: str
    reason: str


@dataclass(frozen=True)
class Waiting:
    model: str
    state: str  # for stats, e.g. "building: waiting for its TensorRT engine: 40% (...)"


Change = Ready | Failed | Waiting


@dataclass
class Opened:
    runners: list[ModelRunner] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    specs: dict[str, ModelSpec] = field(default_factory=dict)  # every model that is ready or pending


class ModelLoader:
    """Opens a config's models; call :meth:`poll` now and then for pending ones. One thread."""

    def __init__(self, models: Sequence[ModelConfig], support: Callable[[], EngineSupport] | None = None) -> None:
        self._models = list(models)
        self._support_factory = support or tensorrt_support
        self._support: EngineSupport | None = None
        self._pending: dict[str, tuple[ModelConfig, ModelSpec]] = {}
        self._states: dict[str, str] = {}
        self._opened: list[Model] = []
        self._by_name: dict[str, list[Model]] = {}  # what a reload closes when it swaps a model
        self._threads: dict[str, ThreadSetting] = {}
        self._tensorrt: set[str] = set()  # models that asked for an engine, for engine_reports
        self._since: dict[str, float] = {}  # monotonic time each pending model started waiting

    def open(self) -> Opened:
        out = Opened()
        self._threads = _cpu_threads(self._models)
        for m in self._models:
            change = self._open(m)
            if isinstance(change, Ready):
                out.runners.append(change.runner)
                out.specs[m.name] = change.runner.model.spec
            elif isinstance(change, Failed):
                log.error("model %s: %s", m.name, change.reason)
                out.failed[m.name] = change.reason
            else:
                log.warning("model %s: %s; its streams queue frames meanwhile", m.name, change.state)
                out.pending[m.name] = change.state
                out.specs[m.name] = self._pending[m.name][1]
        return out

    def open_one(self, m: ModelConfig) -> Change:
        """Open one model of a reloaded config (the same way as at start)."""
        self._models = [x for x in self._models if x.name != m.name] + [m]
        # The new model set's split of the cores; models already open keep the share they got.
        self._threads = _cpu_threads(self._models)
        change = self._open(m)
        if isinstance(change, Failed):
            log.error("model %s: %s", m.name, change.reason)
        elif isinstance(change, Waiting):
            log.warning("model %s: %s; its streams queue frames meanwhile", m.name, change.state)
        return change

    def update_config(self, m: ModelConfig) -> None:
        """New settings that need no reopening (thresholds); a pending model gets them when ready."""
        self._models = [x if x.name != m.name else m for x in self._models]
        if m.name in self._pending:
            self._pending[m.name] = (m, self._pending[m.name][1])

    def detach(self, name: str, keep: Model | None = None) -> list[Model]:
        """Hand over the models opened for ``name`` (except ``keep``) for the caller to close."""
        models = [x for x in self._by_name.pop(name, []) if x is not keep]
        if keep is not None:
            self._by_name[name] = [keep]
        self._opened = [x for x in self._opened if all(x is not y for y in models)]
        return models

    def specs(self) -> dict[str, ModelSpec]:
        """The spec of every model that is open or waiting for its engine."""
        out = {name: models[-1].spec for name, models in self._by_name.items() if models}
        out.update({name: spec for name, (_, spec) in self._pending.items()})
        return out

    def forget(self, name: str) -> None:
        """A removed model: stop tracking it (a build in progress finishes unused)."""
        self._models = [x for x in self._models if x.name != name]
        self._tensorrt.discard(name)
        self._forget(name)

    def poll(self) -> list[Change]:
        """What changed for pending models since the last call: ready, failed or a new state."""
        changes: list[Change] = []
        for name, (m, spec) in list(self._pending.items()):
            before = self._states.get(name)
            change = self._from_status(m, spec, self._engines().manager.status(name))
            if isinstance(change, Waiting) and change.state == before:
                continue
            if isinstance(change, Failed):
                log.error("model %s: %s", name, change.reason)
            changes.append(change)
        return changes

    def close(self, timeout: float = 10.0) -> None:
        """Cancel builds in progress and close every model this loader opened."""
        if self._support is not None:
            self._support.manager.close(timeout)
        for model in self._opened:
            model.close()
        self._opened.clear()

    # -- opening -------------------------------------------------------------------------

    def _engines(self) -> EngineSupport:
        if self._support is None:
            self._support = self._support_factory()
        return self._support

    def _open(self, m: ModelConfig) -> Change:
        try:
            if m.model_id is not None and m.roboflow is not None:  # pulled now, or the cached copy
                m = dataclasses.replace(m, path=ensure_package(m.name, m.model_id, m.roboflow))
            backend = resolve_backend(m.backend)  # "auto": TensorRT where it imports, said once
            if backend == "tensorrt":
                spec = load_spec(m.path)
                self._tensorrt.add(m.name)
                status = self._engines().manager.request(spec, m.tensorrt, m.name)
                return self._from_status(m, spec, status)
            self._tensorrt.discard(m.name)  # a reload may move a model off TensorRT
            # Only ONNX Runtime takes a thread count: its share of the cores (edge.backends.threads).
            t = self._threads.get(m.name) if backend == "onnxruntime" else None
            options = {"threads": t.intra_op, "spinning": t.spinning} if t else {}
            return self._ready(m, Model.open(m.path, backend=backend, **options), t.instances if t else 1)
        except EdgeError as exc:
            return Failed(m.name, str(exc))

    def _from_status(self, m: ModelConfig, spec: ModelSpec, status: EngineStatus, retry: bool = True) -> Change:
        if status.state is EngineState.READY and status.engine_path is not None:
            try:
                return self._ready(m, Model(spec, self._engines().open_engine(spec, status.engine_path)))
            except EngineLoadError as exc:
                if not retry:
                    return self._failed(m.name, f"a freshly built engine does not load: {exc}")
                # A cached engine TensorRT refuses (another JetPack, a torn file): rebuild it.
                again = self._engines().manager.engine_invalid(m.name, str(exc))
                return self._from_status(m, spec, again, retry=False)
            except EdgeError as exc:
                return self._failed(m.name, str(exc))
        if status.state is EngineState.BUILDING:
            state = f"building: {_without_name(status)}"
            self._pending[m.name] = (m, spec)
            self._states[m.name] = state
            self._since.setdefault(m.name, time.monotonic())
            return Waiting(m.name, state)
        return self._failed(m.name, _without_name(status))

    def _ready(self, m: ModelConfig, model: Model, instances: int = 1) -> Ready:
        self._opened.append(model)
        self._by_name.setdefault(m.name, []).append(model)
        if (m.instances or 1) > instances:  # one TensorRT execution context per model
            log.warning(
                "model %s: instances: %d applies to ONNX Runtime only; %s runs one",
                m.name,
                m.instances,
                model.backend.name,
            )
        if model.spec.task is not Task.INSTANCE_SEGMENTATION and _mask_options_set(m.params):
            # As the hosted API does: the mask options are read by instance segmentation only.
            log.warning("model %s: the mask options apply to instance segmentation models only; ignored", m.name)
        at_once = f", {instances} instances" if instances > 1 else ""
        log.info("model %s: %s %s on %s%s", m.name, model.spec.task.value, m.path.name, model.backend.name, at_once)
        self._forget(m.name)
        return Ready(ModelRunner(m.name, model, m.params, m.max_batch, m.pipelined, instances))

    def _failed(self, name: str, reason: str) -> Failed:
        self._forget(name)
        return Failed(name, reason)

    def _forget(self, name: str) -> None:
        self._pending.pop(name, None)
        self._states.pop(name, None)
        self._since.pop(name, None)

    def engine_reports(self) -> dict[str, EngineReport]:
        """Each TensorRT model's engine: state, seconds waited and build progress (any thread)."""
        support, names, since = self._support, sorted(self._tensorrt), dict(self._since)
        if support is None:
            return {}
        now = time.monotonic()
        return {n: engine_report(support.manager.status(n), since.get(n), now) for n in names}


def _cpu_threads(models: Sequence[ModelConfig]) -> dict[str, ThreadSetting]:
    """Each ONNX Runtime model's share of the cores; models that fail to resolve fail later, in _open."""
    cpu: list[ModelConfig] = []
    for m in models:
        try:
            if resolve_backend(m.backend) == "onnxruntime":
                cpu.append(m)
        except EdgeError:
            continue
    plan = plan_threads([m.threads for m in cpu], instances=[m.instances for m in cpu])
    # A sequential model runs one inference at a time: it keeps the threads, not the instances.
    plan = [t if m.pipelined else ThreadSetting(t.intra_op * t.instances, t.spinning) for m, t in zip(cpu, plan)]
    return dict(zip((m.name for m in cpu), plan))


def _without_name(status: EngineStatus) -> str:
    """The status line without the leading model name, which the caller already gives."""
    text = status.describe()
    prefix = f"{status.model}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def hosted_plans(
    models: Sequence[ModelConfig], specs: Mapping[str, ModelSpec], state_dir: Path | None = None
) -> dict[str, HostedPlan]:
    """Hosted fallbacks for the models that configure one and could be opened (or are pending).

    A key that cannot be read (variable unset, credential missing) turns that model's fallback
    off with one line; the model itself still runs locally.
    """
    plans: dict[str, HostedPlan] = {}
    for m in models:
        if m.hosted is None or m.name not in specs:
            continue
        spec = specs[m.name]
        try:
            key = m.hosted.api_key.resolve()
        except EdgeError as exc:
            log.error("model %s: hosted fallback off: %s", m.name, exc)
            continue
        h = m.hosted
        client = client_for(h, spec, key)
        plans[m.name] = HostedPlan(h, client, spec, m.params, state_dir)
        if m.roboflow is not None:
            warn_if_classes_differ(m.name, spec.class_names, h.model_id, m.roboflow, key)
        log.info("model %s: hosted fallback %s for %s; %s", m.name, client.where, ", ".join(sorted(h.when)), h.limits())
    return plans


def _mask_options_set(params: InferenceParams) -> bool:
    default = InferenceParams()
    return (params.mask_decode_mode, params.tradeoff_factor, params.response_mask_format) != (
        default.mask_decode_mode,
        default.tradeoff_factor,
        default.response_mask_format,
    )
