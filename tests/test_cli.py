from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import GOLDEN, make_onnx, ultralytics_meta


def edge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge", *args], capture_output=True, text=True, timeout=120)


def test_infer_prints_one_v1_document_per_image_in_order(fixture_models: dict) -> None:
    images = [str(GOLDEN / "images" / f"detect-{i}.png") for i in (3, 0, 4)]
    res = edge("infer", "--model", str(fixture_models["detect"]), *images)
    assert res.returncode == 0, res.stderr
    docs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [d["image"] for d in docs] == [
        {"width": 640, "height": 480},
        {"width": 320, "height": 320},
        {"width": 320, "height": 320},
    ]
    assert len({d["inference_id"] for d in docs}) == 3


def test_confidence_as_percent_equals_fraction(fixture_models: dict) -> None:
    image = str(GOLDEN / "images" / "detect-4.png")
    a = edge("infer", "--model", str(fixture_models["detect"]), "--confidence", "50", image)
    b = edge("infer", "--model", str(fixture_models["detect"]), "--confidence", "0.5", image)
    strip = lambda out: [(p["class"], p["x"], p["y"]) for p in json.loads(out)["predictions"]]  # noqa: E731
    assert strip(a.stdout) == strip(b.stdout)


def test_bad_image_is_one_line_and_others_still_run(tmp_path: Path, fixture_models: dict) -> None:
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8 not really a jpeg")
    good = str(GOLDEN / "images" / "detect-0.png")
    res = edge("infer", "--model", str(fixture_models["detect"]), str(tmp_path / "missing.png"), good, str(corrupt))
    assert res.returncode == 1
    errors = res.stderr.strip().splitlines()
    assert len(errors) == 2 and "image not found" in errors[0] and "cannot decode image" in errors[1]
    assert len(res.stdout.splitlines()) == 1  # the good image's result was not lost


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "model not found"), (b"garbage bytes", "not a readable ONNX model")],
)
def test_bad_model_is_one_line(tmp_path: Path, content: bytes | None, message: str) -> None:
    model = tmp_path / "m.onnx"
    if content is not None:
        model.write_bytes(content)
    res = edge("infer", "--model", str(model), str(GOLDEN / "images" / "detect-0.png"))
    assert res.returncode == 2 and res.stdout == ""
    assert len(res.stderr.strip().splitlines()) == 1 and message in res.stderr


def test_model_with_wrong_outputs_is_one_line(tmp_path: Path) -> None:
    model = make_onnx(tmp_path / "m.onnx", [("output0", (1, 9, 100))], ultralytics_meta("detect", ["a", "b"]))
    res = edge("infer", "--model", str(model), str(GOLDEN / "images" / "detect-0.png"))
    assert res.returncode == 2
    assert "output 'output0' has shape (1, 9, 100), expected (batch, 6, anchors)" in res.stderr


def test_inspect_shows_the_contract(fixture_models: dict) -> None:
    res = edge("inspect", str(fixture_models["pose"]))
    doc = json.loads(res.stdout)
    assert doc["task"] == "keypoint-detection" and doc["keypoints"][0]["names"] == ["tip", "right", "left"]


def test_version() -> None:
    assert edge("--version").stdout.startswith("edge ")


def test_infer_refuses_an_image_over_the_pixel_bound_in_one_line(tmp_path: Path, fixture_models: dict) -> None:
    from tests.bombs import png_of_zeros

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_of_zeros(30000, 30000))
    good = str(GOLDEN / "images" / "detect-0.png")
    res = edge("infer", "--model", str(fixture_models["detect"]), str(bomb), good)
    assert res.returncode == 1 and len(res.stdout.splitlines()) == 1
    (line,) = res.stderr.strip().splitlines()
    assert "30000x30000" in line and "--max-pixels" in line
    small = edge("infer", "--model", str(fixture_models["detect"]), "--max-pixels", "1000", good)
    assert small.returncode == 1 and "over the limit" in small.stderr
