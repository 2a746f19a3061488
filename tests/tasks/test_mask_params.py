"""The mask options in InferenceParams, the v1 route's query and the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import ConfigErrors, load_config
from edge.errors import EdgeError
from edge.serve.params import MASK_DECODE_MESSAGE, ParamError, parse_params
from edge.tasks.params import InferenceParams
from tests.helpers import FIXTURE_MODELS

SEGMENT = FIXTURE_MODELS / "shapes-segment.onnx"


def test_defaults_are_the_hosted_apis() -> None:
    p = InferenceParams()
    assert (p.mask_decode_mode, p.tradeoff_factor, p.response_mask_format) == ("accurate", 0.0, "polygon")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"mask_decode_mode": "quick"}, "mask_decode_mode must be one of accurate, fast, tradeoff, got 'quick'"),
        ({"tradeoff_factor": 1.5}, "tradeoff_factor must be within 0..1"),
        ({"tradeoff_factor": -0.1}, "tradeoff_factor must be within 0..1"),
        ({"response_mask_format": "png"}, "response_mask_format must be one of polygon, rle, got 'png'"),
    ],
)
def test_bad_mask_options_are_one_line_errors(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(EdgeError, match="^" + words.split(" (")[0]) as info:
        InferenceParams.from_hosted(**kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(info.value) and words in str(info.value)


QUERIES = {
    # query: (mask_decode_mode, tradeoff_factor, response_mask_format) for a segmentation model
    "": ("accurate", 0.0, "polygon"),
    "mask_decode_mode=fast": ("fast", 0.0, "polygon"),
    "mask_decode_mode=tradeoff&tradeoff_factor=0.25": ("tradeoff", 0.25, "polygon"),
    "mask_decode_mode=accurate&tradeoff_factor=7": ("accurate", 0.0, "polygon"),  # read in tradeoff mode only
    "response_mask_format=rle": ("accurate", 0.0, "rle"),
    "mask_decode_mode=fast&response_mask_format=polygon": ("fast", 0.0, "polygon"),
}


@pytest.mark.parametrize("query", list(QUERIES))
def test_the_route_reads_the_mask_options(query: str) -> None:
    q = dict(pair.split("=") for pair in query.split("&") if pair)
    p = parse_params(q).inference
    assert (p.mask_decode_mode, p.tradeoff_factor, p.response_mask_format) == QUERIES[query]


def test_other_tasks_ignore_the_mask_decode_options() -> None:
    p = parse_params({"mask_decode_mode": "bogus", "tradeoff_factor": "9"}, segmentation=False).inference
    assert (p.mask_decode_mode, p.tradeoff_factor, p.response_mask_format) == ("accurate", 0.0, "polygon")


@pytest.mark.parametrize(
    ("query", "segmentation", "status", "name"),
    [
        ({"mask_decode_mode": "quick"}, True, 400, "mask_decode_mode"),
        ({"mask_decode_mode": "tradeoff", "tradeoff_factor": "1.5"}, True, 400, "mask_decode_mode"),
        ({"mask_decode_mode": ""}, True, 400, "mask_decode_mode"),
        ({"response_mask_format": "png"}, True, 422, "response_mask_format"),
        ({"response_mask_format": "png"}, False, 422, "response_mask_format"),  # a typed query param on the server
        ({"tradeoff_factor": "half"}, False, 422, "tradeoff_factor"),
    ],
)
def test_bad_route_options_answer_as_the_server_does(
    query: dict[str, str], segmentation: bool, status: int, name: str
) -> None:
    with pytest.raises(ParamError) as info:
        parse_params(query, segmentation)
    assert (info.value.status, info.value.name) == (status, name)
    if status == 400:
        assert info.value.detail == MASK_DECODE_MESSAGE


def _config(tmp_path: Path, *extra: str) -> Path:
    """A config whose one model carries the ``extra`` keys (its first extra key is on line 4)."""
    path = tmp_path / "edge.yaml"
    lines = ["models:", "  seg:", f"    path: {SEGMENT}", *(f"    {e}" for e in extra)]
    lines += ["streams:", "  clip: {uri: clip.mp4, models: [seg]}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_config_takes_the_mask_options_per_model(tmp_path: Path) -> None:
    path = _config(tmp_path, "mask_decode_mode: tradeoff", "tradeoff_factor: 0.5", "response_mask_format: rle")
    p = load_config(path).models["seg"].params
    assert (p.mask_decode_mode, p.tradeoff_factor, p.response_mask_format) == ("tradeoff", 0.5, "rle")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("mask_decode_mode: quick", ":4: models.seg.mask_decode_mode: mask_decode_mode must be one of"),
        ("tradeoff_factor: 2", ":4: models.seg.tradeoff_factor: tradeoff_factor must be within 0..1"),
        ("tradeoff_factor: half", ":4: models.seg.tradeoff_factor: must be a number"),
        ("response_mask_format: png", ":4: models.seg.response_mask_format: response_mask_format must be one of"),
    ],
)
def test_bad_config_options_name_file_line_and_key(tmp_path: Path, extra: str, expected: str) -> None:
    path = _config(tmp_path, extra)
    with pytest.raises(ConfigErrors) as info:
        load_config(path)
    assert len(info.value.lines) == 1, info.value.lines
    assert info.value.lines[0].startswith(str(path) + expected.split(" ", 1)[0]), info.value.lines
    assert expected.split(" ", 1)[1] in info.value.lines[0]
