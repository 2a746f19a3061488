"""The daemon's YAML config: streams, models, MQTT and the spool, as frozen dataclasses.

Every error is one line that starts with the file and the line of the offending key and
names its full key path: ``edge.yaml:12: streams.door.modles: unknown key; did you mean
'models'?``. Every section is checked, so one run of ``edge validate`` lists every error.
Relative paths (models, video files, TLS files, the state directory) start at the config
file's folder.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import yaml  # type: ignore[import-untyped, unused-ignore]

from edge import configyaml
from edge.engines.options import BuildOptions
from edge.errors import EdgeError
from edge.homeassistant.config import HomeAssistantConfig
from edge.hosted.config import HostedConfig
from edge.imagebounds import DEFAULT_MAX_PIXELS
from edge.pipeline.core import StreamPlan
from edge.publish.config import MqttConfig, SpoolConfig
from edge.publish.fields import (
    ConfigError,
    check_keys,
    check_mapping,
    get_bool,
    get_int,
    get_str,
    parse_duration,
    shown_key,
)
from edge.roboflow.config import RoboflowConfig, hosted_config, model_id_of
from edge.serve.config import HttpConfig
from edge.sources import CaptureOptions, SourceError, SourceKind, SourceSettings, parse_uri
from edge.tasks.params import InferenceParams
from edge.tracking.config import STREAM_KEYS as TRACKING_STREAM_KEYS
from edge.tracking.config import parse_stream_tracking

BACKENDS = ("onnxruntime", "tensorrt", "auto")
DEFAULT_STATS_INTERVAL = 10.0
_TOP_KEYS = (
    "models",
    "streams",
    "mqtt",
    "spool",
    "state_dir",
    "engines",
    "console",
    "roboflow",
    "watchdog",
    "http",
    "homeassistant",
)
DEFAULT_STALL = 10.0
_MODEL_KEYS = (
    "path",
    "backend",
    "confidence",
    "overlap",
    "max_detections",
    "keypoint_confidence",
    "max_batch",
    "threads",
    "instances",
    "pipelined",
    "tensorrt",
    "hosted",
    "model_id",
    "mask_decode_mode",
    "tradeoff_factor",
    "response_mask_format",
)
_STREAM_KEYS = (
    "uri",
    "models",
    "live",
    "realtime",
    "loop",
    "fps",
    "reconnect_min",
    "reconnect_max",
    "max_retries",
    "open_timeout",
    "read_timeout",
    "width",
    "height",
    "decode_threads",
    "max_pixels",
    *TRACKING_STREAM_KEYS,
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class ConfigErrors(ConfigError):
    """Several config errors, one per line."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass(frozen=True)
class ModelConfig:
    name: str
    path: Path
    backend: str = "onnxruntime"
    params: InferenceParams = field(default_factory=InferenceParams)
    max_batch: int = 8
    threads: int | None = None  # ONNX Runtime intra-op threads; None: one per core
    pipelined: bool = True  # preprocess, infer and postprocess on three threads
    tensorrt: BuildOptions = field(default_factory=BuildOptions)  # engine build options (tensorrt, auto)
    hosted: HostedConfig | None = None  # the hosted-API fallback, if any
    model_id: str | None = None  # a Roboflow model ("project/3"): path is its package in the cache, pulled at start
    roboflow: RoboflowConfig | None = None  # the API and cache a model_id is pulled with
    instances: int | None = None  # ONNX Runtime inferences in flight at once; None: the thread budget's choice

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"models.{self.name}.backend: use one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.instances is not None and self.instances > 1 and not self.pipelined:
            raise ConfigError(
                f"models.{self.name}.instances: {self.instances} instances need pipelined: true"
                " (one sequential thread runs one inference at a time)"
            )


@dataclass(frozen=True)
class WatchdogConfig:
    """``stall``: seconds a model may hold frames without finishing an inference (or a sink
    hold a result) before the daemon stops answering systemd's watchdog."""

    stall: float = DEFAULT_STALL


@dataclass(frozen=True)
class EdgeConfig:
    """A whole config. ``mqtt`` None: results go to the console only."""

    models: Mapping[str, ModelConfig]
    streams: tuple[StreamPlan, ...]
    mqtt: MqttConfig | None = None
    spool: SpoolConfig | None = None
    state_dir: Path = field(default_factory=lambda: default_state_dir())
    console: bool = False
    path: Path | None = None
    engines_dir: Path | None = None  # the TensorRT engine cache; None: edge.engines.paths' default
    roboflow: RoboflowConfig | None = None  # the roboflow: section (or its defaults)
    watchdog: WatchdogConfig = field(default_factory=WatchdogConfig)
    http: HttpConfig | None = None  # the v1 route, health and metrics server (edge.serve); None: off
    homeassistant: HomeAssistantConfig | None = None  # MQTT discovery (edge.homeassistant); None: off

    def __post_init__(self) -> None:
        if not self.streams and self.http is None:
            raise ConfigError("streams: define at least one stream (or an http: server)")

    @property
    def stats_interval(self) -> float:
        return self.mqtt.stats_interval if self.mqtt else DEFAULT_STATS_INTERVAL


def default_state_dir() -> Path:
    """Where the spool lives unless ``state_dir`` says otherwise ($EDGE_STATE_DIR under systemd)."""
    if os.environ.get("EDGE_STATE_DIR"):
        return Path(os.environ["EDGE_STATE_DIR"])
    if os.geteuid() == 0:
        return Path("/var/lib/edge")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "edge"


# -- YAML with line numbers ----------------------------------------------------------------


def _key_lines(node: yaml.Node, path: str, out: dict[str, int], dupes: list[str]) -> None:
    """Map each dotted key path (``streams.door.models[1]``) to its 1-based line."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            sub = f"{path}.{key}" if path else key
            if key in seen:
                dupes.append(f"{key_node.start_mark.line + 1}: {shown_key(sub)}: duplicate key; keep one")
            seen.add(key)
            out.setdefault(sub, key_node.start_mark.line + 1)
            _key_lines(value_node, sub, out, dupes)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            sub = f"{path}[{i}]"
            out.setdefault(sub, item.start_mark.line + 1)
            _key_lines(item, sub, out, dupes)


def _line_of(message: str, lines: Mapping[str, int]) -> int | None:
    """The line of the longest key path that starts ``message``."""
    head = message.split(": ", 1)[0]
    while head:
        if head in lines:
            return lines[head]
        cut = max(head.rfind("."), head.rfind("["))
        head = head[:cut] if cut > 0 else ""
    return None


# -- sections ------------------------------------------------------------------------------


def _number(data: Mapping[str, Any], key: str, where: str, default: float | None) -> float | None:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}.{key}: must be a number, got {value!r}")
    return float(value)


def _positive(data: Mapping[str, Any], key: str, where: str, default: float | None) -> float | None:
    value = _number(data, key, where, default)
    if value is not None and value <= 0:
        raise ConfigError(f"{where}.{key}: must be more than 0, got {value:g}")
    return value


def _seconds(data: Mapping[str, Any], key: str, where: str, default: float) -> float:
    value = parse_duration(data.get(key, default), f"{where}.{key}")
    if value <= 0:
        raise ConfigError(f"{where}.{key}: must be more than 0 seconds, got {value:g}")
    return value


def _check_name(name: object, where: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"{where}: {name!r} is not a usable name; use letters, digits, '_', '-' or '.', e.g. front-door"
        )
    return name


def _model(name: str, data: object, base: Path, roboflow: RoboflowConfig) -> ModelConfig:
    where = f"models.{name}"
    d = check_mapping(data, where)
    check_keys(d, _MODEL_KEYS, where)
    model_id = model_id_of(d, where)
    text = get_str(d, "path", where)
    if model_id is not None:
        path = roboflow.cache.dir_for(model_id)  # may not exist yet: the daemon pulls at start
    elif text is None:
        raise ConfigError(f"{where}.path: required (an .onnx file or a model package directory), or model_id")
    else:
        path = Path(text).expanduser()
        path = path if path.is_absolute() else base / path
        if not path.exists():
            raise ConfigError(f"{where}.path: no such file or directory: {path}")
        unreadable = _unreadable(path)
        if unreadable:
            raise ConfigError(f"{where}.path: cannot read {path}: {unreadable}; let the daemon's user read it")
    try:
        params = InferenceParams.from_hosted(
            confidence=_number(d, "confidence", where, 0.4) or 0.0,
            overlap=_number(d, "overlap", where, 0.3) or 0.0,
            max_detections=get_int(d, "max_detections", where, 300, 0, 100_000),
            keypoint_confidence=_number(d, "keypoint_confidence", where, 0.0) or 0.0,
            mask_decode_mode=get_str(d, "mask_decode_mode", where, "accurate") or "accurate",
            tradeoff_factor=_number(d, "tradeoff_factor", where, 0.0) or 0.0,
            response_mask_format=get_str(d, "response_mask_format", where, "polygon") or "polygon",
        )
    except ConfigError:
        raise
    except EdgeError as exc:  # the names in InferenceParams' messages are the keys here
        raise ConfigError(f"{where}.{str(exc).split(' ', 1)[0]}: {exc}") from None
    backend = (get_str(d, "backend", where, "onnxruntime") or "onnxruntime").lower()
    if backend not in BACKENDS:
        raise ConfigError(f"{where}.backend: use one of {', '.join(BACKENDS)}, got {backend!r}")
    threads = None if d.get("threads") is None else get_int(d, "threads", where, 0, 1, 256)
    instances = None if d.get("instances") is None else get_int(d, "instances", where, 1, 1, 64)
    max_batch = get_int(d, "max_batch", where, 8, 1, 64)
    pipelined = get_bool(d, "pipelined", where, True)
    hosted = hosted_config(d.get("hosted"), f"{where}.hosted", model_id, roboflow)
    tensorrt = _tensorrt(d, backend, where, base)
    return ModelConfig(
        name, path, backend, params, max_batch, threads, pipelined, tensorrt, hosted, model_id, roboflow, instances
    )


def _tensorrt(d: Mapping[str, Any], backend: str, where: str, base: Path) -> BuildOptions:
    if d.get("tensorrt") is None:
        return BuildOptions()
    if backend == "onnxruntime":
        raise ConfigError(f"{where}.tensorrt: build options are for backend tensorrt or auto; set backend or drop them")
    section = check_mapping(d["tensorrt"], f"{where}.tensorrt")
    try:
        return BuildOptions.from_config(section, f"{where}.tensorrt", base_dir=base)
    except EdgeError as exc:
        text = str(exc)
        # from_config names the key in its message ("models.x.tensorrt.batch must be ...");
        # the rest (e.g. "int8 needs calibration images") are about the section as a whole.
        key = next((w.rstrip(";:,") for w in text.split() if w.startswith(f"{where}.tensorrt.")), None)
        if key is None:
            raise ConfigError(f"{where}.tensorrt: {text}") from None
        raise ConfigError(f"{key}: {text.replace(' ' + key, '').replace(key + ' ', '').strip()}") from None


def _models_list(value: object, where: str, known: Mapping[str, object]) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names:
        raise ConfigError(f"{where}: list the models to run on this stream, e.g. [detect]")
    for i, m in enumerate(names):
        if m not in known:
            have = ", ".join(sorted(known)) or "none defined"
            raise ConfigError(f"{where}[{i}]: no model named {m!r} under models (defined: {have})")
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: a model is listed twice in {names}")
    return tuple(str(m) for m in names)


def _unreadable(path: Path) -> str | None:
    """Why ``path`` (a file, or a directory to list) cannot be read by this process, or None."""
    try:
        if path.is_dir():
            os.listdir(path)
        else:
            with open(path, "rb"):
                pass
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def _check_file_stream(path: Path, where: str) -> None:
    if not path.exists():
        raise ConfigError(f"{where}.uri: no such file: {path}; fix the path or create the file")
    if path.is_dir():
        raise ConfigError(f"{where}.uri: {path} is a directory; name a video file")
    unreadable = _unreadable(path)
    if unreadable:
        raise ConfigError(f"{where}.uri: cannot read {path}: {unreadable}; let the daemon's user read it")


def _watchdog(data: object) -> WatchdogConfig:
    if data is None:
        return WatchdogConfig()
    d = check_mapping(data, "watchdog")
    check_keys(d, ("stall",), "watchdog")
    return WatchdogConfig(_seconds(d, "stall", "watchdog", DEFAULT_STALL))


def _stream(name: str, data: object, base: Path, models: Mapping[str, object], check_files: bool = False) -> StreamPlan:
    where = f"streams.{name}"
    d = check_mapping(data, where)
    check_keys(d, _STREAM_KEYS, where)
    text = d.get("uri")
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)  # a bare device index
    if not isinstance(text, str):
        raise ConfigError(f"{where}.uri: required: a file, rtsp://, v4l2:///dev/videoN, csi://N, gst://, http://")
    try:
        uri = parse_uri(text)
    except SourceError as exc:
        raise ConfigError(f"{where}.uri: {exc}") from None
    if uri.kind is SourceKind.FILE and not Path(uri.target).is_absolute():
        uri = type(uri)(uri.kind, str(base / uri.target), uri.text)
    if check_files and uri.kind is SourceKind.FILE:
        _check_file_stream(Path(uri.target), where)
    live = d.get("live")
    if live is not None and not isinstance(live, bool):
        raise ConfigError(f"{where}.live: must be true or false, got {live!r}")
    width, height = d.get("width"), d.get("height")
    capture = CaptureOptions(
        open_timeout_s=_seconds(d, "open_timeout", where, 5.0),
        read_timeout_s=_seconds(d, "read_timeout", where, 3.0),
        width=None if width is None else get_int(d, "width", where, 0, 1, 16384),
        height=None if height is None else get_int(d, "height", where, 0, 1, 16384),
        fps=_positive(d, "fps", where, None),
        decode_threads=get_int(d, "decode_threads", where, 1, 0, 64),
        max_pixels=get_int(d, "max_pixels", where, DEFAULT_MAX_PIXELS, 1, 1 << 31),
    )
    lo = _seconds(d, "reconnect_min", where, 0.5)
    hi = _seconds(d, "reconnect_max", where, 2.0)
    if hi < lo:
        raise ConfigError(f"{where}.reconnect_max: must be at least reconnect_min ({lo:g} s), got {hi:g}")
    retries = d.get("max_retries")
    settings = SourceSettings(
        name=name,
        uri=uri,
        live=live,
        realtime=get_bool(d, "realtime", where, True),
        loop=get_bool(d, "loop", where, False),
        fps=capture.fps,
        reconnect_initial=lo,
        reconnect_max=hi,
        max_retries=None if retries is None else get_int(d, "max_retries", where, 0, 0, 10**9),
        capture=capture,
    )
    names = _models_list(d.get("models"), f"{where}.models", models)
    return StreamPlan(settings, names, parse_stream_tracking(d, where, names))


T = TypeVar("T")


def _collect(errors: list[str], build: Callable[[], T]) -> T | None:
    try:
        return build()
    except EdgeError as exc:
        errors.extend(str(exc).splitlines())
        return None


def _named(root: Mapping[str, Any], key: str, errors: list[str]) -> Mapping[str, Any]:
    value = root.get(key)
    if not isinstance(value, Mapping) or not value:
        example = "detect: {path: models/detect.onnx}" if key == "models" else "door: {uri: ..., models: [detect]}"
        errors.append(f"{key}: required: a mapping of names to settings, e.g. {key}: {{{example}}}")
        return {}
    return {str(k): v for k, v in value.items() if _collect(errors, partial(_check_name, k, f"{key}.{shown_key(k)}"))}


def _top_keys(root: Mapping[str, Any]) -> None:
    for key in root:
        if key not in _TOP_KEYS:
            close = difflib.get_close_matches(str(key), _TOP_KEYS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(_TOP_KEYS)}"
            raise ConfigError(f"{shown_key(key)}: unknown key; {hint}")


def _build(
    root: Mapping[str, Any], base: Path, path: Path | None, errors: list[str], check_files: bool = False
) -> EdgeConfig | None:
    _collect(errors, lambda: _top_keys(root))
    state_text = _collect(errors, lambda: get_str(root, "state_dir", "state_dir"))
    state_dir = (base / Path(state_text).expanduser()) if state_text else default_state_dir()
    roboflow = _collect(errors, lambda: RoboflowConfig.from_mapping(root.get("roboflow"), "roboflow", base, state_dir))
    roboflow = roboflow or RoboflowConfig.default(state_dir)
    model_data = _named(root, "models", errors)
    models: dict[str, ModelConfig] = {}
    for name, value in model_data.items():
        m = _collect(errors, partial(_model, name, value, base, roboflow))
        if m is not None:
            models[name] = m
    # Streams are checked against every model named, loadable or not, so one typo is one error.
    streams: list[StreamPlan] = []
    # A server with no cameras: streams: left out, or an empty streams: {}
    serve_only = "http" in root and (root.get("streams") is None or root.get("streams") == {})
    stream_data = {} if serve_only else _named(root, "streams", errors)
    for name, value in stream_data.items():
        s = _collect(errors, partial(_stream, name, value, base, model_data, check_files))
        if s is not None:
            streams.append(s)
    mqtt = None
    if root.get("mqtt") is not None:
        mqtt = _collect(errors, lambda: MqttConfig.from_mapping(root["mqtt"], "mqtt", base_dir=base))
    spool = None
    if mqtt is not None or root.get("spool") is not None:
        spool = _collect(errors, lambda: SpoolConfig.from_mapping(root.get("spool"), "spool", state_dir=state_dir))
    console = _collect(errors, lambda: get_bool(root, "console", "console", False))
    engines_text = _collect(errors, lambda: get_str(root, "engines", "engines"))
    engines_dir = (base / Path(engines_text).expanduser()) if engines_text else None
    watchdog = _collect(errors, lambda: _watchdog(root.get("watchdog")))
    http = None
    if "http" in root:
        http = _collect(errors, lambda: HttpConfig.from_mapping(root["http"], "http"))
    ha = _collect(
        errors,
        lambda: HomeAssistantConfig.from_mapping(
            root.get("homeassistant"), mqtt=root.get("mqtt") is not None, streams=list(stream_data)
        ),
    )
    if errors or watchdog is None:
        return None
    return EdgeConfig(
        models,
        tuple(streams),
        mqtt,
        spool,
        state_dir,
        bool(console),
        path,
        engines_dir,
        roboflow=roboflow,
        watchdog=watchdog,
        http=http,
        homeassistant=ha,
    )


def parse_config(text: str, path: Path | None = None, check_files: bool = False) -> EdgeConfig:
    """Parse a config; raises ConfigErrors with every error, one per line, with line numbers.

    ``check_files``: a file stream whose video is missing or unreadable is an error too (``edge
    validate`` and a reload check it; a start runs the other streams meanwhile)."""
    label = str(path) if path else "<config>"
    try:
        node, root = configyaml.load(text)  # bounded: no self-containing alias, no billion laughs
    except configyaml.YamlRefused as exc:
        where = f"{label}:{exc.line}" if exc.line is not None else label
        raise ConfigErrors([f"{where}: {exc.problem}"]) from None
    if not isinstance(root, Mapping):
        raise ConfigErrors([f"{label}: must be a mapping with streams: and models:, got {type(root).__name__}"])
    lines: dict[str, int] = {}
    errors: list[str] = []
    if node is not None:
        _key_lines(node, "", lines, errors)
    errors = [f"{label}:{e}" for e in errors]
    found: list[str] = []
    base = path.resolve().parent if path else Path.cwd()
    config = _build(root, base, path, found, check_files)
    for message in found:
        line = _line_of(message, lines)
        errors.append(f"{label}:{line}: {message}" if line else f"{label}: {message}")
    if errors or config is None:
        raise ConfigErrors(errors)
    return config


def load_config(path: str | Path, check_files: bool = False) -> EdgeConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigErrors([f"{p}: cannot read the config: {exc.strerror}"]) from None
    return parse_config(text, p, check_files)


def locate(path: Path | None, messages: list[str]) -> list[str]:
    """``messages`` keyed like the parser's (``streams.door.zones.porch.classes: ...``) with the
    config file and line prefixed, for checks made after parsing (e.g. against a model's classes)."""
    label = str(path) if path else "<config>"
    lines: dict[str, int] = {}
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader) if path else None
        if node is not None:
            _key_lines(node, "", lines, [])
    except (OSError, yaml.YAMLError):
        pass  # changed since it was parsed: the messages still name their keys
    out = []
    for message in messages:
        line = _line_of(message, lines)
        out.append(f"{label}:{line}: {message}" if line else f"{label}: {message}")
    return out
