"""The pixel bound on the v1 route: a decompression bomb is 413 and the decode peak stays flat."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.serve.limits import DecodeGate
from tests.bombs import png_of_zeros
from tests.serve.helpers import DETECT, IMAGE, Served, request, serve

BOMB = png_of_zeros(30000, 30000)  # 900 MP of zeros, under 1 MB encoded, 2.7 GB decoded as BGR


@pytest.fixture(scope="module")
def device() -> Iterator[Served]:
    run = serve(f"""\
models:
  det: {{path: {DETECT}}}
http:
  port: 0
  max_pixels: 1000000
""")
    yield run
    run.finish()


def test_the_bomb_is_small_enough_to_pass_the_body_limit() -> None:
    assert len(BOMB) < 5 * 1024 * 1024


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(BOMB, "image/png"), (base64.b64encode(BOMB), "text/plain"), (IMAGE.read_bytes(), "image/jpeg")],
    ids=["bytes", "base64", "jpeg over the configured 1 MP"],
)
def test_an_image_over_the_bound_is_413(device: Served, body: bytes, content_type: str) -> None:
    answer = request(f"{device.url}/det/1", body, {"Content-Type": content_type})
    if content_type == "image/jpeg":  # shapes.jpg is 640x480 = 0.3 MP: under 1 MP, so answered
        assert answer.status == 200, answer.body[:200]
        return
    assert answer.status == 413, answer.body[:200]
    message = answer.json()["message"]
    assert message.startswith("Could not load input image.") and "30000x30000" in message
    assert "over the limit of 1 megapixels" in message


def test_the_decode_peak_of_a_bomb_stays_flat(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(BOMB)
    code = textwrap.dedent(f"""\
        import sys
        from edge.serve.inputs import InputError, from_body
        data = open({str(bomb)!r}, "rb").read()
        try:
            from_body(data)
        except InputError as exc:
            print(exc.status)
        # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child forked from a
        # large test runner would report the runner's size.
        print(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))  # KiB
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    status, peak_kib = out.stdout.split()
    assert status == "413"
    assert int(peak_kib) < 300 * 1024, f"peak resident memory {int(peak_kib) // 1024} MB"


def test_the_gate_lets_at_most_max_decodes_run_at_once() -> None:
    gate = DecodeGate(max_pixels=10, max_decodes=2)
    running = threading.Semaphore(0)

    def slow() -> int:
        running.release()
        time.sleep(0.05)
        return 1

    async def many() -> list[int]:
        return list(await asyncio.gather(*(gate.run(slow) for _ in range(6))))

    assert asyncio.run(many()) == [1] * 6
    assert gate.peak == 2 and gate.active == 0
    assert gate.ceiling_bytes() == 2 * 10 * 3
