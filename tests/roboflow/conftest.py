from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import FIXTURE_MODELS
from tests.roboflow_server import Served, WeightsStandIn

DETECT = FIXTURE_MODELS / "shapes-detect.onnx"
POSE = FIXTURE_MODELS / "shapes-pose.onnx"


@pytest.fixture(scope="session")
def weights_api_server() -> Iterator[WeightsStandIn]:
    server = WeightsStandIn(
        {
            "shapes-det/3": Served(DETECT),
            "shapes-pose/1": Served(POSE),
            "shapes-old/2": Served(DETECT, frozenset({"A"})),  # only the legacy route has it
            "shapes-renamed/1": Served(DETECT, class_names=("disc", "box", "wedge")),
        },
        api_key="rf-SECRET-key-77aa",
    )
    yield server
    server.close()


@pytest.fixture
def weights_api(weights_api_server: WeightsStandIn) -> Iterator[WeightsStandIn]:
    """The session's stand-in, with a clean record and no failures queued."""
    s = weights_api_server
    s.seen.clear()
    s.corrupt.clear()
    s.cut.clear()
    s.forbidden.clear()
    s.fail.clear()
    yield s
    s.corrupt.clear()
    s.cut.clear()
    s.forbidden.clear()
    s.fail.clear()
