from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from edge.config import ConfigErrors, load_config, parse_config
from edge.sources import SourceKind
from tests.helpers import FIXTURE_MODELS

DETECT = FIXTURE_MODELS / "shapes-detect.onnx"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edge.yaml"
    path.write_text(textwrap.dedent(text).replace("DETECT", str(DETECT)))
    return path


GOOD = """\
    state_dir: state
    models:
      det:
        path: DETECT
        confidence: 50
        max_batch: 4
      det2: {path: DETECT, backend: auto, overlap: 0.5, threads: 1, pipelined: false, instances: 1}
    streams:
      door:
        uri: rtsp://user:pw@cam.local/stream
        models: [det, det2]
        reconnect_max: 4
      clip:
        uri: videos/clip.mp4
        models: det
        realtime: false
        loop: true
      usb: {uri: 0, models: [det], width: 640, height: 480, fps: 30}
    mqtt:
      host: localhost
      port: 1884
      device_id: jetson-1
    spool:
      max_bytes: 64MiB
"""


def test_a_full_config_parses_into_typed_values(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.models["det"].params.confidence == 0.5
    assert (cfg.models["det"].max_batch, cfg.models["det2"].backend) == (4, "auto")
    assert (cfg.models["det"].threads, cfg.models["det2"].threads) == (None, 1)
    assert (cfg.models["det"].instances, cfg.models["det2"].instances) == (None, 1)
    assert (cfg.models["det"].pipelined, cfg.models["det2"].pipelined, cfg.models["det2"].params.overlap) == (
        True,
        False,
        0.5,
    )
    door, clip, usb = cfg.streams
    assert door.models == ("det", "det2") and door.source.uri.kind is SourceKind.RTSP
    assert door.source.is_live and door.source.reconnect_max == 4.0
    assert clip.source.uri.target == str(tmp_path / "videos" / "clip.mp4")
    assert (clip.source.is_live, clip.source.realtime, clip.source.loop, clip.models) == (False, False, True, ("det",))
    assert usb.source.uri.kind is SourceKind.V4L2 and usb.source.capture.width == 640
    assert cfg.state_dir == tmp_path / "state"
    assert cfg.mqtt is not None and (cfg.mqtt.host, cfg.mqtt.port) == ("localhost", 1884)
    assert cfg.spool is not None and cfg.spool.directory == tmp_path / "state" / "spool"
    assert cfg.spool.max_bytes == 64 * 1024 * 1024
    assert cfg.stats_interval == cfg.mqtt.stats_interval


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("        models: [det, det2]", "        modles: [det, det2]"),
            ":11: streams.door.modles: unknown key; did you mean 'models'?",
        ),
        (
            ("        models: det\n", "        models: [det, dett]\n"),
            ":15: streams.clip.models[1]: no model named 'dett' under models (defined: det, det2)",
        ),
        (
            ("uri: rtsp://user:pw@cam.local/stream", "uri: ftp://cam/x"),
            ":10: streams.door.uri: 'ftp://cam/x': unsupported scheme 'ftp'",
        ),
        (
            ("        confidence: 50", "        confidence: 150"),
            ":5: models.det.confidence: confidence must be a fraction 0..1 or a percentage 1..100, got 150",
        ),
        (
            ("backend: auto", "backend: cuda"),
            ":7: models.det2.backend: use one of onnxruntime, tensorrt, auto, got 'cuda'",
        ),
        (("      port: 1884", "      port: 70000"), ":21: mqtt.port: must be between 1 and 65535, got 70000"),
        (("    spool:", "    spool_:"), ":23: spool_: unknown key; did you mean 'spool'?"),
        (
            ("        reconnect_max: 4", "        reconnect_max: 0.1"),
            ":12: streams.door.reconnect_max: must be at least reconnect_min (0.5 s), got 0.1",
        ),
        (
            ("        realtime: false", "        realtime: nope"),
            ":16: streams.clip.realtime: must be true or false, got 'nope'",
        ),
        (("      usb: {", "      us b: {"), ":18: streams.us b: 'us b' is not a usable name"),
        (("        path: DETECT", "        path: missing.onnx"), ":4: models.det.path: no such file or directory:"),
    ],
)
def test_each_error_names_line_key_and_fix(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    assert change[0] in GOOD
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigErrors) as info:
        load_config(path)
    assert len(info.value.lines) == 1, info.value.lines
    assert info.value.lines[0].startswith(str(path) + expected.split(" ", 1)[0])
    assert expected.split(" ", 1)[1] in info.value.lines[0]


def test_every_error_is_reported_in_one_pass(tmp_path: Path) -> None:
    text = (
        GOOD.replace("models: [det, det2]", "models: [nope]")
        .replace("port: 1884", "port: x")
        .replace("realtime: false", "realtime: 3")
    )
    with pytest.raises(ConfigErrors) as info:
        load_config(write(tmp_path, text))
    assert [line.split(": ", 2)[1] for line in info.value.lines] == [
        "streams.door.models[0]",
        "streams.clip.realtime",
        "mqtt.port",
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("streams: [\n", "<config>:2: not valid YAML"),
        ("- a\n- b\n", "must be a mapping with streams: and models:"),
        ("models: {}\nstreams: {}\n", "models: required: a mapping of names to settings"),
        (
            "models:\n  a: {path: " + str(DETECT) + "}\n  a: {path: x}\nstreams: {s: {uri: 0, models: [a]}}\n",
            "<config>:3: models.a: duplicate key",
        ),
        (
            "models: {a: {path: " + str(DETECT) + "}}\nstreams: {s: {models: [a]}}\n",
            "<config>:2: streams.s.uri: required",
        ),
    ],
)
def test_document_level_errors(text: str, says: str) -> None:
    with pytest.raises(ConfigErrors) as info:
        parse_config(text)
    assert any(says in line for line in info.value.lines), info.value.lines


def test_no_mqtt_means_no_spool_and_console_defaults(tmp_path: Path) -> None:
    cfg = parse_config(f"models: {{a: {{path: {DETECT}}}}}\nstreams: {{s: {{uri: clip.mp4, models: [a]}}}}\n")
    assert cfg.mqtt is None and cfg.spool is None and cfg.console is False
    assert cfg.stats_interval == 10.0


def test_the_shipped_example_validates() -> None:
    root = Path(__file__).resolve().parents[1]
    cfg = load_config(root / "examples" / "edge.yaml")
    assert cfg.streams and cfg.models


def _trt(section: str, backend: str = "tensorrt") -> str:
    return (
        f"models:\n  det:\n    path: {DETECT}\n    backend: {backend}\n    tensorrt:\n{section}"
        "streams: {s: {uri: clip.mp4, models: [det]}}\nengines: engine-cache\n"
    )


def test_tensorrt_build_options_and_engine_folder(tmp_path: Path) -> None:
    (tmp_path / "calib").mkdir()
    cfg = parse_config(
        _trt("      precision: int8\n      calibration: calib\n      batch: '1:2:4'\n      workspace_mib: 512\n"),
        tmp_path / "edge.yaml",
    )
    opts = cfg.models["det"].tensorrt
    assert opts.precision.value == "int8" and str(opts.batch) == "1:2:4" and opts.workspace_mib == 512
    assert opts.calibration_dir == tmp_path / "calib"  # relative to the config file
    assert cfg.engines_dir == tmp_path / "engine-cache"
    plain = parse_config(f"models: {{a: {{path: {DETECT}}}}}\nstreams: {{s: {{uri: clip.mp4, models: [a]}}}}\n")
    assert plain.models["a"].tensorrt.precision.value == "fp16" and plain.engines_dir is None


@pytest.mark.parametrize(
    ("section", "backend", "says"),
    [
        ("      precison: fp16\n", "tensorrt", "<config>:6: models.det.tensorrt.precison: unknown key; use one of"),
        ("      dla_core: one\n", "auto", "<config>:6: models.det.tensorrt.dla_core: must be a whole number"),
        ("      precision: int8\n", "tensorrt", "<config>:5: models.det.tensorrt: int8 needs calibration images"),
        ("      precision: fp16\n", "onnxruntime", "<config>:5: models.det.tensorrt: build options are for backend"),
    ],
)
def test_tensorrt_section_errors_name_the_key(section: str, backend: str, says: str) -> None:
    with pytest.raises(ConfigErrors) as info:
        parse_config(_trt(section, backend))
    assert any(line.startswith(says) for line in info.value.lines), info.value.lines


def test_decode_threads_per_stream() -> None:
    text = f"models: {{a: {{path: {DETECT}}}}}\nstreams: {{s: {{uri: clip.mp4, models: [a], decode_threads: %s}}}}\n"
    assert parse_config(text % 0).streams[0].source.capture.decode_threads == 0
    with pytest.raises(ConfigErrors, match=r"streams\.s\.decode_threads"):
        parse_config(text % -1)


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("instances: 0", r"models\.a\.instances: must be between 1 and 64, got 0"),
        ("instances: two", r"models\.a\.instances: must be a whole number"),
        ("instances: 2, pipelined: false", r"models\.a\.instances: 2 instances need pipelined: true"),
    ],
)
def test_bad_instances_say_what_to_fix(entry: str, says: str) -> None:
    with pytest.raises(ConfigErrors, match=says):
        parse_config(f"models: {{a: {{path: {DETECT}, {entry}}}}}\nstreams: {{s: {{uri: clip.mp4, models: [a]}}}}\n")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [("", 40_000_000), (", max_pixels: 8294400", 8_294_400)],  # default 40 MP; 4K
)
def test_a_stream_max_pixels_reaches_its_capture(extra: str, expected: int) -> None:
    cfg = parse_config(
        f"models: {{a: {{path: {FIXTURE_MODELS / 'shapes-detect.onnx'}}}}}\n"
        f"streams: {{s: {{uri: 'http://cam.local/video', models: [a]{extra}}}}}\n"
    )
    assert cfg.streams[0].source.capture.max_pixels == expected


def test_a_stream_max_pixels_of_zero_is_one_line() -> None:
    with pytest.raises(ConfigErrors, match=r"streams\.s\.max_pixels: must be between 1"):
        parse_config(
            f"models: {{a: {{path: {FIXTURE_MODELS / 'shapes-detect.onnx'}}}}}\n"
            "streams: {s: {uri: 'http://cam.local/video', models: [a], max_pixels: 0}}\n"
        )
