"""The ``roboflow:`` section and ``model_id:`` in the daemon config, and ``edge validate``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edge.config import ConfigErrors, load_config
from edge.publish.config import SecretRef
from edge.roboflow.cache import PackageCache
from edge.roboflow.client import DEFAULT_API_URL, RoboflowApi
from edge.roboflow.pull import pull
from tests.roboflow.conftest import DETECT
from tests.roboflow_server import WeightsStandIn

GOOD = """\
roboflow:
  api_key: {env: RF_KEY}
  api_url: URL
  cache_dir: models
models:
  det:
    model_id: shapes-det/3
    hosted: {url: "http://127.0.0.1:9", when: [error]}
  plain:
    path: DETECT
    hosted: {model_id: shapes-det/3}
  own:
    model_id: shapes-det/3
    hosted: {model_id: other/1, api_key: {credential: rf}}
streams:
  cam: {uri: clip.mp4, models: [det, plain, own]}
"""


def write(tmp_path: Path, text: str, url: str = "http://127.0.0.1:1") -> Path:
    path = tmp_path / "edge.yaml"
    path.write_text(text.replace("DETECT", str(DETECT)).replace("URL", url))
    return path


def test_model_id_points_at_the_cache_and_hosted_defaults_to_the_same_model_and_key(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    rf = cfg.roboflow
    assert rf is not None and (rf.api_url, rf.cache_dir, rf.explicit) == (
        "http://127.0.0.1:1",
        tmp_path / "models",
        True,
    )
    det, plain, own = cfg.models["det"], cfg.models["plain"], cfg.models["own"]
    assert (det.model_id, det.path) == ("shapes-det/3", tmp_path / "models" / "shapes-det" / "3")
    assert det.hosted is not None and det.hosted.model_id == "shapes-det/3"
    assert det.hosted.api_key == SecretRef("env", "RF_KEY") and det.hosted.api_key.where == "roboflow.api_key"
    assert plain.model_id is None and plain.hosted is not None and plain.hosted.api_key.name == "RF_KEY"
    assert own.hosted is not None and (own.hosted.model_id, own.hosted.api_key) == (
        "other/1",
        SecretRef("credential", "rf"),
    )


def test_without_a_roboflow_section_the_key_is_roboflow_api_key_and_the_cache_is_in_the_state_dir(
    tmp_path: Path,
) -> None:
    text = "state_dir: st\nmodels:\n  det: {model_id: p/1, hosted: {}}\nstreams:\n  cam: {uri: a.mp4, models: [det]}\n"
    cfg = load_config(write(tmp_path, text))
    det = cfg.models["det"]
    assert det.path == tmp_path / "st" / "models" / "p" / "1"
    assert det.roboflow is not None and det.roboflow.api_url == DEFAULT_API_URL
    assert det.hosted is not None and det.hosted.api_key == SecretRef("env", "ROBOFLOW_API_KEY")


@pytest.mark.parametrize(
    ("snippet", "error"),
    [
        ("roboflow: {api_url: ftp://x}", "edge.yaml:1: roboflow.api_url: an http(s) URL such as"),
        ("roboflow: {api_key: rf_plain_secret}", "edge.yaml:1: roboflow.api_key: do not put the API key in the config"),
        ("roboflow: {cache: x}", "edge.yaml:1: roboflow.cache: unknown key; did you mean 'cache_dir'?"),
        ("roboflow: [x]", "edge.yaml:1: roboflow: must be a mapping"),
    ],
)
def test_roboflow_section_errors_name_their_line(tmp_path: Path, snippet: str, error: str) -> None:
    text = snippet + "\nmodels:\n  det: {model_id: p/1}\nstreams:\n  cam: {uri: a.mp4, models: [det]}\n"
    with pytest.raises(ConfigErrors) as info:
        load_config(write(tmp_path, text))
    assert len(info.value.lines) == 1 and info.value.lines[0].startswith(str(tmp_path / error))
    assert "rf_plain_secret" not in str(info.value)


@pytest.mark.parametrize(
    ("model", "error"),
    [
        ("model_id: shapes", "models.det.model_id: use project/version as in the Roboflow app, like shapes-abc12/3"),
        ("model_id: shapes/three", "models.det.model_id: use project/version"),
        ("{model_id: p/1, path: DETECT}", "models.det.model_id: give path or model_id, not both"),
        ("{model_id: p/1, hosted: {max_rate: 0}}", "models.det.hosted: max_rate and timeout must be positive"),
        (
            "{backend: onnxruntime}",
            "models.det.path: required (an .onnx file or a model package directory), or model_id",
        ),
    ],
)
def test_model_id_errors_name_their_line(tmp_path: Path, model: str, error: str) -> None:
    text = (
        f"models:\n  other: {{path: {DETECT}}}\n  det:\n    {model}\nstreams:\n  cam: {{uri: a.mp4, models: [det]}}\n"
    )
    if model.startswith("{"):
        text = text.replace(f"  det:\n    {model}", f"  det: {model}")
    with pytest.raises(ConfigErrors) as info:
        load_config(write(tmp_path, text))
    assert len(info.value.lines) == 1, info.value.lines
    line = 4 if "\n    " + model in text else 3
    assert info.value.lines[0].startswith(f"{tmp_path / 'edge.yaml'}:{line}: {error}")


def validate(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "edge", "validate", str(path)], capture_output=True, text=True, env=full, timeout=60
    )


def test_validate_accepts_model_id_and_warns_until_the_model_is_pulled(
    tmp_path: Path, weights_api: WeightsStandIn
) -> None:
    text = textwrap.dedent("""\
        roboflow: {api_key: {env: RF_KEY}, api_url: URL, cache_dir: models}
        models:
          det: {model_id: shapes-det/3, hosted: {}}
        streams:
          cam: {uri: clip.mp4, models: [det]}
        """)
    path = write(tmp_path, text, weights_api.url)
    (tmp_path / "clip.mp4").write_bytes(b"")
    before = validate(path, {"RF_KEY": weights_api.api_key})
    assert before.returncode == 0, before.stderr
    assert "models.det.model_id: shapes-det/3 is not pulled yet; the daemon pulls it at start" in before.stderr
    assert weights_api.seen == []  # validate asks no API
    pull("shapes-det/3", PackageCache(tmp_path / "models"), lambda: RoboflowApi(weights_api.url, weights_api.api_key))
    after = validate(path, {"RF_KEY": weights_api.api_key})
    assert after.returncode == 0 and after.stderr == "" and "OK (1 streams, 1 models)" in after.stdout
