"""``edge pull`` against a stand-in of the weights API and the /ort/ route over real HTTP."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from edge.imageio import read_image
from edge.model import Model
from edge.models import load_spec
from edge.roboflow.cache import PackageCache
from edge.roboflow.client import PullError, RoboflowApi
from edge.roboflow.protocols import Plan, RemoteFile, resolve
from edge.roboflow.pull import DAY, PullResult, pull
from edge.tasks.params import InferenceParams
from tests.helpers import GOLDEN
from tests.roboflow.conftest import DETECT, POSE
from tests.roboflow_server import WeightsStandIn

T0 = 1_800_000_000.0
WEIGHTS = "/models/v1/external/weights"


def api_for(url: str, key: str) -> RoboflowApi:
    return RoboflowApi(url, key, timeout=2.0, retries=2, sleep=lambda s: None)


def do_pull(
    server: WeightsStandIn, root: Path, model_id: str, at: float = T0, url: str | None = None, key: str | None = None
) -> PullResult:
    return pull(
        model_id,
        PackageCache(root),
        lambda: api_for(url or server.url, key or server.api_key),
        key_hint="$ROBOFLOW_API_KEY",
        now=lambda: at,
    )


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def boxes(model_path: Path) -> list[tuple[str, float, float, float, float]]:
    image = read_image(GOLDEN / "images" / "detect-0.png")
    with Model.open(model_path) as m:
        doc = m.predict([image], InferenceParams())[0].to_v1()
    return [(p["class"], p["x"], p["y"], p["width"], p["height"]) for p in doc["predictions"]]


@pytest.mark.parametrize(
    ("model_id", "fixture", "routes", "files"),
    [
        (
            "shapes-det/3",
            DETECT,
            [WEIGHTS],
            {"weights.onnx", "class_names.txt", "inference_config.json", "model_config.json"},
        ),
        (
            "shapes-old/2",
            DETECT,
            [WEIGHTS, "/ort/shapes-old/2"],
            {"weights.onnx", "class_names.txt", "environment.json", "model_type.json"},
        ),
        (
            "shapes-pose/1",
            POSE,
            [WEIGHTS],
            {
                "weights.onnx",
                "class_names.txt",
                "inference_config.json",
                "model_config.json",
                "keypoints_metadata.json",
            },
        ),
    ],
    ids=["protocol-B", "protocol-A", "protocol-B-keypoints"],
)
def test_a_pulled_package_loads_and_predicts_like_the_model_it_came_from(
    weights_api: WeightsStandIn, tmp_path: Path, model_id: str, fixture: Path, routes: list[str], files: set[str]
) -> None:
    result = do_pull(weights_api, tmp_path, model_id)
    assert result.path == tmp_path / model_id and result.path.is_dir() and result.asked_api
    assert {p.name for p in result.path.iterdir()} == files | {".edge-pull.json"}
    assert [p for p in weights_api.paths() if not p.startswith("/files/")] == routes
    assert "weights.onnx" in result.downloaded
    # Protocol B carries the key in a header only; A as the api_key parameter (recorded without it).
    for r in weights_api.seen:
        assert r.bearer == (r.path == WEIGHTS)
    if "/ort/shapes-old/2" in routes:
        ort = next(r for r in weights_api.seen if r.path.startswith("/ort/"))
        assert list(ort.params) == ["nocache", "device", "dynamic"]
    original, pulled = load_spec(fixture), load_spec(result.path)
    assert (pulled.task, pulled.class_names, pulled.source) == (original.task, original.class_names, "roboflow package")
    assert (pulled.preprocess.width, pulled.preprocess.pad_value) == (original.preprocess.width, 114)
    assert pulled.keypoints == original.keypoints
    assert (
        hashlib.md5((result.path / "weights.onnx").read_bytes()).digest() == hashlib.md5(fixture.read_bytes()).digest()
    )
    if fixture == DETECT:
        assert boxes(result.path) == boxes(DETECT) != []


def test_an_md5_mismatch_is_refused_and_leaves_nothing_behind(weights_api: WeightsStandIn, tmp_path: Path) -> None:
    weights_api.corrupt.add("weights.onnx")
    with pytest.raises(PullError, match=r"^weights.onnx: MD5 [0-9a-f]{32} does not match") as info:
        do_pull(weights_api, tmp_path, "shapes-det/3")
    assert "\n" not in str(info.value)
    leftovers = sorted(p.name for p in (tmp_path / "shapes-det").iterdir())
    assert leftovers == [".3.lock"]  # no package, no partial folder
    assert PackageCache(tmp_path).read("shapes-det/3") is None


def test_a_download_cut_half_way_leaves_nothing_and_fails_in_one_line(
    weights_api: WeightsStandIn, tmp_path: Path
) -> None:
    weights_api.cut.add("weights.onnx")
    with pytest.raises(PullError) as info:
        do_pull(weights_api, tmp_path, "shapes-det/3")
    text = str(info.value)
    assert text.startswith("cannot pull shapes-det/3: the Roboflow API is unreachable (") and "cut off" in text
    assert "sig=" not in text and "\n" not in text  # the signed URL's query is not shown
    assert sorted(p.name for p in (tmp_path / "shapes-det").iterdir()) == [".3.lock"]


def test_a_failed_refresh_keeps_the_package_already_there(weights_api: WeightsStandIn, tmp_path: Path) -> None:
    first = do_pull(weights_api, tmp_path, "shapes-det/3")
    before = {p.name: p.read_bytes() for p in first.path.iterdir()}
    plan = resolve(api_for(weights_api.url, weights_api.api_key), "shapes-det/3")
    # The API now lists new weights, and the download is cut half-way.
    changed = tuple(dataclasses.replace(f, md5="0" * 32) if f.name == "weights.onnx" else f for f in plan.files)

    def cut(f: RemoteFile, dest: Path) -> None:
        dest.write_bytes(b"half a file")
        raise PullError("connection cut")

    with pytest.raises(PullError, match="connection cut"):
        PackageCache(tmp_path).install(dataclasses.replace(plan, files=changed), cut, T0)
    assert {p.name: p.read_bytes() for p in first.path.iterdir()} == before
    assert [p.name for p in (tmp_path / "shapes-det").glob(".3.pkg-*")] == [os.readlink(first.path)]


def test_a_second_pull_downloads_nothing_and_asks_the_api_at_most_once_a_day(
    weights_api: WeightsStandIn, tmp_path: Path
) -> None:
    do_pull(weights_api, tmp_path, "shapes-det/3", at=T0)
    asked = len(weights_api.seen)
    for at in (T0 + 60, T0 + DAY - 1):
        again = do_pull(weights_api, tmp_path, "shapes-det/3", at=at)
        assert (again.downloaded, again.asked_api, len(weights_api.seen)) == ((), False, asked)
        assert "up to date" in again.note
    later = do_pull(weights_api, tmp_path, "shapes-det/3", at=T0 + DAY + 1)
    assert (later.downloaded, later.asked_api) == ((), True)
    assert weights_api.paths()[asked:] == [WEIGHTS]  # one question, no file fetched
    do_pull(weights_api, tmp_path, "shapes-det/3", at=T0 + DAY + 2)
    assert len(weights_api.seen) == asked + 1  # the answer restarted the day


@pytest.mark.parametrize("outage", ["refused connection", "503 on every try"])
def test_with_the_api_down_a_cached_model_is_used_and_the_result_says_so(
    weights_api: WeightsStandIn, tmp_path: Path, outage: str
) -> None:
    first = do_pull(weights_api, tmp_path, "shapes-det/3", at=T0)
    url = closed_port_url() if outage == "refused connection" else weights_api.url
    weights_api.fail.extend([503] * 3)
    result = do_pull(weights_api, tmp_path, "shapes-det/3", at=T0 + 3 * DAY, url=url)
    assert result.offline and result.path == first.path and result.downloaded == ()
    assert "the Roboflow API is unreachable" in result.note and "using the copy pulled" in result.note
    assert load_spec(result.path).class_names == ("circle", "square", "triangle")


def test_with_the_api_down_and_nothing_cached_the_pull_fails_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(PullError) as info:
        pull("shapes-det/3", PackageCache(tmp_path), lambda: api_for(closed_port_url(), "k"), now=lambda: T0)
    text = str(info.value)
    assert text.startswith("cannot pull shapes-det/3: the Roboflow API is unreachable (") and "\n" not in text
    assert "holds no copy; check the network and the API URL" in text
    assert not (tmp_path / "shapes-det" / "3").exists()


@pytest.mark.parametrize(
    ("model_id", "key", "forbidden", "says"),
    [
        (
            "shapes-det/3",
            "rf-WRONG-key-0000",
            False,
            "the Roboflow API rejected the key (HTTP 401); check $ROBOFLOW_API_KEY",
        ),
        ("shapes-det/3", None, True, "the key has no access to it (HTTP 403); check that $ROBOFLOW_API_KEY belongs"),
        ("shapes-gone/9", None, False, "no such model (HTTP 404); check the project id and version"),
    ],
    ids=["401", "403", "404"],
)
def test_refusals_are_one_line_naming_the_model_and_what_to_check(
    weights_api: WeightsStandIn,
    tmp_path: Path,
    model_id: str,
    key: str | None,
    forbidden: bool,
    says: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if forbidden:
        weights_api.forbidden.add(model_id)
    with caplog.at_level(logging.DEBUG), pytest.raises(PullError) as info:
        do_pull(weights_api, tmp_path, model_id, key=key)
    text = str(info.value)
    assert text.startswith(f"cannot pull {model_id}: {says}") and "\n" not in text
    for secret in (weights_api.api_key, "rf-WRONG-key-0000"):
        assert secret not in text and secret not in caplog.text
    assert not (tmp_path / model_id).exists()


def test_429_and_503_are_retried(weights_api: WeightsStandIn, tmp_path: Path) -> None:
    weights_api.fail.extend([429, 503])
    result = do_pull(weights_api, tmp_path, "shapes-det/3")
    assert result.downloaded and weights_api.paths()[:3] == [WEIGHTS] * 3


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "ROBOFLOW_API_KEY"} | env
    return subprocess.run(
        [sys.executable, "-m", "edge", "pull", *args], capture_output=True, text=True, env=full, timeout=60
    )


def test_the_command_prints_the_package_path_last_and_never_the_key(
    weights_api: WeightsStandIn, tmp_path: Path
) -> None:
    args = ["shapes-det/3", "--api-url", weights_api.url, "--dir", str(tmp_path / "models")]
    first = cli(args, {"ROBOFLOW_API_KEY": weights_api.api_key})
    assert first.returncode == 0, first.stderr
    path = Path(first.stdout.splitlines()[-1])
    assert path == tmp_path / "models" / "shapes-det" / "3"
    image = str(GOLDEN / "images" / "detect-0.png")
    infer = subprocess.run(
        [sys.executable, "-m", "edge", "infer", "--model", str(path), image], capture_output=True, text=True, timeout=60
    )
    assert infer.returncode == 0 and json.loads(infer.stdout)["predictions"], infer.stderr
    assert first.stderr == (
        "edge: shapes-det/3: pulled from the inference-models weights API; "
        "downloaded weights.onnx, class_names.txt, inference_config.json\n"
    )
    key_file = tmp_path / "key"
    key_file.write_text(weights_api.api_key + "\n")
    second = cli([*args, "--refresh", "--api-key-file", str(key_file)], {})
    assert second.returncode == 0 and second.stdout.splitlines()[-1] == str(path)
    assert "up to date; nothing downloaded" in second.stderr
    wrong = cli([*args, "--refresh"], {"ROBOFLOW_API_KEY": "rf-WRONG-key-0000"})
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert wrong.stderr.count("\n") == 1 and "HTTP 401" in wrong.stderr
    none = cli(args, {})
    assert none.returncode == 2 and "no API key: set ROBOFLOW_API_KEY or give --api-key-file" in none.stderr
    everything = "".join(r.stdout + r.stderr for r in (first, second, wrong, none))
    cached = "".join(p.read_text(errors="replace") for p in (tmp_path / "models").rglob("*") if p.is_file())
    for secret in (weights_api.api_key, "rf-WRONG-key-0000"):
        assert secret not in everything and secret not in cached


@pytest.mark.parametrize("name", ["../weights.onnx", "/etc/weights.onnx", ".edge-pull.json", "a/b.onnx"])
def test_a_package_file_name_that_could_leave_the_package_is_refused(name: str) -> None:
    with pytest.raises(PullError, match="refusing a path outside it"):
        Plan("a/1", "ort", "ort", (RemoteFile(name, "http://x", None),), ())
