"""Journald priorities when stderr is the journal stream, and the repeat filter."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.logs import JournalFormatter, RepeatFilter, error_line, priority, writes_to_journal

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "tests" / "fixtures" / "models" / "shapes-detect.onnx"


def _record(msg: str, *args: object, level: int = logging.WARNING, name: str = "edge.sources") -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def _dev_ino(path: Path) -> str:
    st = os.stat(path)
    return f"{st.st_dev}:{st.st_ino}"


@pytest.mark.parametrize(
    ("level", "prefix"),
    [(logging.CRITICAL, "<2>"), (logging.ERROR, "<3>"), (logging.WARNING, "<4>"), (logging.INFO, "<6>"), (5, "<7>")],
)
def test_each_level_gets_its_sd_daemon_prefix(level: int, prefix: str) -> None:
    assert f"<{priority(level)}>" == prefix
    assert JournalFormatter().format(_record("camera %s gone", "door", level=level)) == f"{prefix}camera door gone"


def test_every_line_of_a_multiline_record_is_prefixed() -> None:
    text = JournalFormatter().format(_record("first\nsecond\nthird", level=logging.ERROR))
    assert text.splitlines() == ["<3>first", "<3>second", "<3>third"]


@pytest.mark.parametrize(
    ("env_for", "expected"),
    [("same", True), ("other", False), ("unset", False), ("garbage", False)],
)
def test_journal_only_when_the_variable_names_this_stream(tmp_path: Path, env_for: str, expected: bool) -> None:
    mine, other = tmp_path / "stderr", tmp_path / "other"
    mine.touch()
    other.touch()
    env = {
        "same": {"JOURNAL_STREAM": _dev_ino(mine)},
        "other": {"JOURNAL_STREAM": _dev_ino(other)},  # inherited by a child whose stderr went elsewhere
        "unset": {},
        "garbage": {"JOURNAL_STREAM": "x"},
    }[env_for]
    with mine.open("w") as stream:
        assert writes_to_journal(stream, env) is expected


def test_a_stream_without_a_file_descriptor_is_not_the_journal() -> None:
    assert writes_to_journal(io.StringIO(), {"JOURNAL_STREAM": "1:2"}) is False


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _passed(flt: RepeatFilter, clock: FakeClock, steps: list[tuple[float, logging.LogRecord]]) -> list[str]:
    out = []
    for at, record in steps:
        clock.now = 1000.0 + at
        if flt.filter(record):
            out.append(record.getMessage())
    return out


def test_a_repeating_message_passes_once_a_minute_with_the_count_held_back() -> None:
    clock = FakeClock()
    flt = RepeatFilter(window=60.0, clock=clock)
    steps = [(float(t), _record("stream %s: cannot open", "door")) for t in range(0, 130)]  # once a second
    assert _passed(flt, clock, steps) == [
        "stream door: cannot open",
        "stream door: cannot open (and 59 more like it in the last 60 s, not shown)",
        "stream door: cannot open (and 59 more like it in the last 60 s, not shown)",
    ]


@pytest.mark.parametrize(
    ("second", "passes"),
    [
        (_record("stream %s: cannot open", "yard"), True),  # another stream
        (_record("stream %s: cannot open", "door", name="edge.pipeline"), True),  # another logger
        (_record("stream %s: cannot open", "door", level=logging.ERROR), True),  # another level
        (_record("stream %s: reconnected", "door"), True),  # another message
        (_record("stream %s: cannot open", "door"), False),  # the same
    ],
)
def test_only_the_same_logger_level_template_and_args_count_as_a_repeat(
    second: logging.LogRecord, passes: bool
) -> None:
    clock = FakeClock()
    flt = RepeatFilter(clock=clock)
    assert flt.filter(_record("stream %s: cannot open", "door"))
    clock.now += 1
    assert flt.filter(second) is passes


def test_a_message_after_a_quiet_minute_has_no_count() -> None:
    clock = FakeClock()
    flt = RepeatFilter(window=60.0, clock=clock)
    steps = [(0.0, _record("model %s failed", "detect")), (61.0, _record("model %s failed", "detect"))]
    assert _passed(flt, clock, steps) == ["model detect failed", "model detect failed"]


def test_the_filter_forgets_old_keys_to_stay_bounded() -> None:
    clock = FakeClock()
    flt = RepeatFilter(window=60.0, clock=clock, max_keys=10)
    for i in range(10):
        assert flt.filter(_record("stream %s: gone", f"s{i}"))
    clock.now += 61
    assert flt.filter(_record("stream %s: gone", "new"))
    assert len(flt._seen) == 1


def _run_daemon(tmp_path: Path, journal: bool) -> list[str]:
    """``edge run`` for a second with its stderr in a file; JOURNAL_STREAM names that file or not."""
    config = tmp_path / "edge.yaml"
    config.write_text(
        f"models: {{detect: {{path: {MODEL}}}}}\n"
        f"streams: {{door: {{uri: {tmp_path / 'missing.mp4'}, models: [detect], max_retries: 0}}}}\n"
        f"state_dir: {tmp_path / 'state'}\n"
    )
    err = tmp_path / "stderr"
    env = {k: v for k, v in os.environ.items() if k not in ("JOURNAL_STREAM", "NOTIFY_SOCKET")}
    with err.open("w") as stream:
        if journal:
            env["JOURNAL_STREAM"] = _dev_ino(err)
        subprocess.run(
            [sys.executable, "-m", "edge", "run", "--config", str(config), "--duration", "1"],
            stderr=stream,
            stdout=subprocess.DEVNULL,
            env=env,
            timeout=120,
            check=False,
        )
    return err.read_text().splitlines()


def test_edge_run_under_journald_prefixes_every_line(tmp_path: Path) -> None:
    lines = _run_daemon(tmp_path, journal=True)
    assert any(line.startswith("<6>OpenCV ") for line in lines), lines  # info: the OpenCV it loaded
    assert any(line.startswith("<3>") or line.startswith("<4>") for line in lines), lines  # the missing file
    assert all(line[:3] in ("<2>", "<3>", "<4>", "<6>", "<7>") for line in lines), lines
    assert not any("edge: error:" in line or "edge: warning:" in line for line in lines), lines


def test_edge_run_in_a_terminal_keeps_its_plain_prefixes(tmp_path: Path) -> None:
    lines = _run_daemon(tmp_path, journal=False)
    assert any(line.startswith("edge: OpenCV ") for line in lines), lines
    assert not any(line.startswith("<") for line in lines), lines


@pytest.mark.parametrize("journal", [True, False])
def test_edge_validate_s_errors_are_errors_in_the_journal(tmp_path: Path, journal: bool) -> None:
    # What ExecStartPre=edge validate leaves in the journal when the config is broken.
    config = tmp_path / "edge.yaml"
    config.write_text(f"models: {{detect: {{path: {MODEL}, confidnce: 0.5}}}}\nstreams: {{}}\n")
    err = tmp_path / "stderr"
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    with err.open("w") as stream:
        if journal:
            env["JOURNAL_STREAM"] = _dev_ino(err)
        res = subprocess.run(
            [sys.executable, "-m", "edge", "validate", str(config)], stderr=stream, env=env, timeout=120, check=False
        )
    lines = err.read_text().splitlines()
    assert res.returncode == 1 and len(lines) == 2, lines
    prefix = "<3>" if journal else "edge: error: "
    assert lines[0].startswith(f"{prefix}{config}:1: models.detect.confidnce: unknown key"), lines
    assert all(line.startswith(prefix) for line in lines), lines


def test_error_line_outside_the_journal_reads_as_before() -> None:
    assert error_line("x.yaml:3: bad", stream=io.StringIO()) == "edge: error: x.yaml:3: bad"
    assert error_line("no camera", logging.WARNING, stream=io.StringIO()) == "edge: warning: no camera"
