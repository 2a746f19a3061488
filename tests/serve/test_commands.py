"""``edge serve`` refusals: one line, exit status 2, nothing left running."""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.serve.helpers import DETECT, ROOT


def edge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = edge("serve", "--model", str(DETECT), "--port", str(port), "--duration", "5")
    assert out.returncode == 2
    errors = [line for line in out.stderr.splitlines() if line.startswith("edge: error:")]
    assert errors[-1] == (
        f"edge: error: http: cannot listen on 127.0.0.1:{port} (in use, or not an address of this machine); "
        "set http.host and http.port"
    )


def test_more_model_ids_than_models_is_refused() -> None:
    out = edge("serve", "--model", str(DETECT), "--model-id", "a/1", "--model-id", "b/2")
    assert out.returncode == 2 and "--model-id: one per --model" in out.stderr


def test_an_unset_key_variable_stops_the_server_in_one_line() -> None:
    out = edge("serve", "--model", str(DETECT), "--port", "0", "--api-key-env", "EDGE_TEST_UNSET_VAR_X")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1] == (
        "edge: error: --api-key-env: the environment variable EDGE_TEST_UNSET_VAR_X is not set"
    )


def test_without_http_the_server_libraries_are_never_imported() -> None:
    server = "{'starlette', 'uvicorn', 'prometheus_client', 'multipart'}"
    code = (
        "import sys; from edge.cli import build_parser; build_parser(); "
        "import edge.daemon.runner, edge.config; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {server}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_all_interfaces_without_a_key_stops_in_one_line_saying_how_to_add_one() -> None:
    out = edge("serve", "--model", str(DETECT), "--host", "0.0.0.0", "--port", "0")
    assert out.returncode == 2
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("edge: error: --host 0.0.0.0 is reachable from the network")
    assert "--api-key-env VARIABLE" in line and "--allow-unauthenticated" in line


def test_allow_unauthenticated_serves_with_a_warning_at_start() -> None:
    out = edge(
        "serve", "--model", str(DETECT), "--host", "0.0.0.0", "--port", "0", "--allow-unauthenticated",
        "--duration", "1",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-500:]
    assert "with no API key (http.allow_unauthenticated)" in out.stderr
