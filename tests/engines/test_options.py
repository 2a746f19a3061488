from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge.engines.options import BatchProfile, BuildOptions, Precision
from edge.errors import EdgeError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", BatchProfile(1, 1, 1)),
        ("8", BatchProfile(8, 8, 8)),
        ("1:4:8", BatchProfile(1, 4, 8)),
        (" 2 : 2 : 3 ", BatchProfile(2, 2, 3)),
    ],
)
def test_batch_profile_parses(text: str, expected: BatchProfile) -> None:
    assert BatchProfile.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1:8", "N or MIN:OPT:MAX"),
        ("a:b:c", "N or MIN:OPT:MAX"),
        ("-1", "N or MIN:OPT:MAX"),
        ("4:2:8", "1 <= MIN <= OPT <= MAX, got 4:2:8"),
        ("0:1:1", "1 <= MIN"),
    ],
)
def test_batch_profile_errors_say_the_form(text: str, message: str) -> None:
    with pytest.raises(EdgeError, match=message):
        BatchProfile.parse(text)


def test_precision_parse() -> None:
    assert Precision.parse(" FP16 ") is Precision.FP16
    with pytest.raises(EdgeError, match="one of fp32, fp16, int8, got 'bf16'"):
        Precision.parse("bf16")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dla_core": -1}, "DLA core must be 0 or more"),
        ({"dla_core": 0, "precision": Precision.FP32}, "DLA runs fp16 or int8"),
        ({"workspace_mib": 0}, "positive number of MiB"),
        (
            {"dla_core": 0, "batch": BatchProfile(1, 4, 8)},
            r"DLA core needs a fixed batch, got the profile 1:4:8.*--batch 4",
        ),
        ({"dla_core": 1, "batch": BatchProfile(2, 2, 4)}, r"fixed batch, got the profile 2:2:4.*batch: 2 in"),
        ({"precision": Precision.INT8}, r"int8 needs calibration images.*--calibration DIR"),
        ({"calibration_dir": Path(".")}, "used by int8 only"),
        ({"precision": Precision.INT8, "calibration_dir": Path("/no/such/folder")}, "calibration folder not found"),
        ({"calibration_images": 0}, "calibration_images must be 1 or more"),
    ],
)
def test_invalid_options_are_one_line_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(EdgeError, match=message) as err:
        BuildOptions(**kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "flags"),
    [
        ({"precision": Precision.FP32}, ()),
        ({}, ("FP16",)),
        ({"dla_core": 0}, ("FP16", "GPU_FALLBACK")),
        ({"dla_core": 0, "batch": BatchProfile(4, 4, 4)}, ("FP16", "GPU_FALLBACK")),  # a fixed batch is fine
        ({"precision": Precision.INT8, "calibration_dir": Path(".")}, ("FP16", "INT8")),
    ],
)
def test_builder_flags(kwargs: dict[str, Any], flags: tuple[str, ...]) -> None:
    assert BuildOptions(**kwargs).builder_flags == flags


def test_from_config_reads_every_key(tmp_path: Path) -> None:
    (tmp_path / "calib").mkdir()
    section = {
        "precision": "int8",
        "dla_core": 1,
        "workspace_mib": 1024,
        "batch": "2",
        "calibration": "calib",
        "calibration_images": 50,
    }
    opts = BuildOptions.from_config(section, base_dir=tmp_path)
    assert opts == BuildOptions(Precision.INT8, 1, 1024, BatchProfile.fixed(2), tmp_path / "calib", 50)
    assert BuildOptions.from_config({"batch": 4}).batch == BatchProfile.fixed(4)
    assert BuildOptions.from_config({}) == BuildOptions()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"precison": "fp16"}, r"unknown key models\.cam\.tensorrt\.precison; use one of precision"),
        ({"dla_core": "1"}, r"models\.cam\.tensorrt\.dla_core must be a whole number, got '1'"),
        ({"workspace_mib": True}, r"workspace_mib must be a whole number"),
        ({"batch": [1, 2]}, r"batch must be text"),
        ({"precision": 16}, r"precision must be text"),
        ({"dla_core": 0, "batch": "1:2:4"}, r"DLA core needs a fixed batch, got the profile 1:2:4"),
    ],
)
def test_from_config_errors_name_the_key(section: dict[str, object], message: str) -> None:
    with pytest.raises(EdgeError, match=message):
        BuildOptions.from_config(section, where="models.cam.tensorrt")
