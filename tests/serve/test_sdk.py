"""The real inference-sdk client, in v0 mode, against the daemon's v1 route: every task's
answer equals what ``edge infer`` prints for the same image.

inference-sdk pins versions that clash with ours, so it lives in a virtual environment of its
own (``.venv-sdk/`` in the checkout), made once here and reused by later runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import FIXTURE_MODELS
from tests.serve.helpers import ROOT, Served, serve, without_ids

SDK_VERSION = "1.8.3"
SDK_VENV = ROOT / ".venv-sdk"
KEY_VAR = "EDGE_TEST_SDK_KEY"
KEY = "sk-sdk-test-key"
TASKS = ("detect", "segment", "pose", "classify", "multilabel", "semantic")
IMAGES = {
    t: ROOT / "examples" / "images" / ("several.jpg" if t in ("classify", "multilabel") else "shapes.jpg")
    for t in TASKS
}


def _sdk_python() -> Path:
    python = SDK_VENV / "bin" / "python"
    probe = f"import importlib.metadata as m; assert m.version('inference-sdk') == '{SDK_VERSION}'"
    if python.exists() and subprocess.run([python, "-c", probe], capture_output=True).returncode == 0:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", SDK_VENV], check=True)
    pip = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", f"inference-sdk=={SDK_VERSION}"],
        capture_output=True,
        text=True,
    )
    if pip.returncode != 0:
        tail = (pip.stderr.strip().splitlines() or ["no output"])[-1]
        if "connection" in pip.stderr.lower() or "network" in pip.stderr.lower() or "resolve" in pip.stderr.lower():
            pytest.skip(f"inference-sdk=={SDK_VERSION} cannot be installed (PyPI unreachable?): {tail}")
        pytest.fail(f"installing inference-sdk=={SDK_VERSION} into {SDK_VENV} failed: {tail}")
    return python


@pytest.fixture(scope="module")
def sdk_python() -> Path:
    return _sdk_python()


@pytest.fixture(scope="module")
def device() -> Iterator[Served]:
    models = "\n".join(f"  {t}: {{path: {FIXTURE_MODELS / f'shapes-{t}.onnx'}}}" for t in TASKS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(KEY_VAR, KEY)
        run = serve(f"models:\n{models}\nhttp:\n  port: 0\n  api_keys: [{{env: {KEY_VAR}}}]\n")
        yield run
        run.finish()


def edge_infer(task: str) -> dict[str, object]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "edge",
            "infer",
            "--model",
            str(FIXTURE_MODELS / f"shapes-{task}.onnx"),
            str(IMAGES[task]),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    doc: dict[str, object] = json.loads(out.stdout)
    return doc


def test_inference_sdk_v0_gets_what_edge_infer_prints_for_every_task(sdk_python: Path, device: Served) -> None:
    jobs = [f"{t}/1={IMAGES[t]}" for t in TASKS]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    out = subprocess.run(
        [sdk_python, str(Path(__file__).with_name("sdk_client.py")), device.url, KEY, *jobs],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(answers) == len(TASKS)
    for task, answer in zip(TASKS, answers):
        assert without_ids(answer) == without_ids(edge_infer(task)), task
    assert isinstance(answers[TASKS.index("multilabel")]["predictions"], dict)
    assert "segmentation_mask" in answers[TASKS.index("semantic")]


def test_a_wrong_key_is_an_error_the_sdk_reports_with_the_status(sdk_python: Path, device: Served) -> None:
    out = subprocess.run(
        [
            sdk_python,
            str(Path(__file__).with_name("sdk_client.py")),
            device.url,
            "not-the-key",
            f"detect/1={IMAGES['detect']}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0 and "401" in out.stderr and "Unauthorized" in out.stderr
