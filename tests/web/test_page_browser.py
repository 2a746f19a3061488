"""The device page in a real headless browser (Debian's chromium, driven by Playwright).

One daemon with ``api_keys`` runs two streams: an HTTP MJPEG camera (tests/mjpeg_server.py,
which the test pauses to kill the camera and resumes) and a looping clip. Each test opens a
fresh browser context, signs in through the login form, and watches the page. One screenshot
per run is written to tests/artifacts/page.png for people to look at.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from edge.demo.clip import ClipKind, ClipSpec
from tests.clips import clip
from tests.mjpeg_server import MjpegServer
from tests.serve.helpers import DETECT, Served, request, serve, wait_for

KEY = "browser-test-key-0b7e"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
STREAMS = ("camera", "clip")


@dataclass
class Device:
    run: Served
    camera: MjpegServer

    def latest_json(self, stream: str, frame: int) -> Any:
        return request(self.run.url + f"/api/streams/{stream}/latest.json?frame={frame}&api_key={KEY}")


@dataclass
class Watched:
    """A signed-in page with what it logged and asked for since it opened."""

    page: Any
    errors: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def until(self, script: str, timeout: float = 15.0) -> Any:
        """Poll ``script`` (a JS expression) until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.page.evaluate(script)
            if value:
                return value
            assert time.monotonic() < deadline, f"timed out waiting for: {script}"
            self.page.wait_for_timeout(100)


def _tile(stream: str, what: str) -> str:
    return f"document.querySelector('article.tile[data-stream=\"{stream}\"]')?.{what}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[test]' (it uses Debian's chromium, no download)")
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run tools/install_test_deps.sh (apt-get install chromium)")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # chromium refuses to sandbox as root
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=args)
        yield b
        b.close()


@pytest.fixture(scope="module")
def device(clip_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Device]:
    camera_clip = clip(clip_cache, ClipSpec(ClipKind.SHAPES, width=320, height=240, fps=10.0, frames=40, seed=21))
    file_clip = clip(clip_cache, ClipSpec(ClipKind.SHAPES, width=320, height=240, fps=10.0, frames=40, seed=22))
    os.environ["EDGE_BROWSER_TEST_KEY"] = KEY
    state = tmp_path_factory.mktemp("state")
    with MjpegServer(camera_clip) as camera:
        text = (
            f"models:\n  det: {{path: {DETECT}}}\n"
            "streams:\n"
            f"  camera: {{uri: '{camera.uri}', models: [det], reconnect_min: 0.2, reconnect_max: 0.5}}\n"
            f"  clip: {{uri: '{file_clip}', models: [det], loop: true}}\n"
            f"http: {{port: 0, api_keys: [{{env: EDGE_BROWSER_TEST_KEY}}]}}\nstate_dir: {state}\n"
        )
        run = serve(text)
        try:
            for name in STREAMS:  # the page is opened once every tile has a picture to show
                url = run.url + f"/api/streams/{name}/latest.json?api_key={KEY}"
                wait_for(lambda url=url: request(url).status == 200, 30)
            yield Device(run, camera)
        finally:
            run.finish()


@pytest.fixture
def signed_in(browser: Any, device: Device) -> Iterator[Callable[..., Watched]]:
    contexts: list[Any] = []

    def open_page(width: int = 1024, hash_: str = "") -> Watched:
        context = browser.new_context(viewport={"width": width, "height": 800})
        contexts.append(context)
        page = context.new_page()
        watched = Watched(page)
        page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: watched.errors.append(str(exc)))
        page.on("request", lambda r: watched.urls.append(r.url))
        page.on("response", lambda r: watched.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(device.run.url + "/")
        assert page.locator("input[name=api_key]").count() == 1, "the page did not ask for the key"
        page.fill("input[name=api_key]", KEY)
        page.click("button[type=submit]")
        page.wait_for_selector("article.tile")
        if hash_:  # the login redirects to / (a hash never reaches the server)
            page.evaluate(f"location.hash = {hash_!r}")
        return watched

    yield open_page
    for context in contexts:
        context.close()


def test_every_tile_shows_a_live_picture_and_nothing_leaves_the_machine(
    signed_in: Callable[..., Watched], device: Device
) -> None:
    watched = signed_in()
    first = {s: watched.until(_tile(s, "querySelector('img').dataset.frame")) for s in STREAMS}
    for stream in STREAMS:
        assert watched.until(_tile(stream, "querySelector('img').naturalWidth")) > 0
        watched.until(f"{_tile(stream, 'querySelector(`img`).dataset.frame')} !== '{first[stream]}'", 10)
        assert watched.until(_tile(stream, "dataset.state")) == "running"
        assert "fps in" in watched.until(_tile(stream, "querySelector('.stats').textContent"))
    assert watched.until("document.getElementById('mqtt').textContent") == "off"
    assert watched.page.evaluate("document.getElementById('device').textContent")
    assert watched.until(_tile("clip", "querySelector('.counts').textContent"))  # class counts of the frame shown
    ARTIFACTS.mkdir(exist_ok=True)
    watched.page.screenshot(path=str(ARTIFACTS / "page.png"), full_page=True)
    assert watched.errors == []
    leaving = [u for u in watched.urls if not u.startswith(("blob:", "data:")) and urlsplit(u).hostname != "127.0.0.1"]
    assert leaving == [] and any("/latest.jpg" in u for u in watched.urls)


def test_the_detection_table_equals_latest_json_of_the_frame_shown(
    signed_in: Callable[..., Watched], device: Device
) -> None:
    watched = signed_in(hash_="#stream=clip")
    watched.until("document.querySelector('#detections tbody tr')")
    read = """() => ({
        frame: document.getElementById('detail-frame').textContent,
        shown: document.querySelector('article.tile[data-stream="clip"] img').dataset.frame,
        rows: [...document.querySelectorAll('#detections tbody tr')].map(tr => [...tr.cells].map(td => td.textContent)),
    })"""
    for _ in range(10):  # a frame is held for about 0.8 s: read it again if it aged out meanwhile
        seen = watched.page.evaluate(read)
        answer = device.latest_json("clip", int(seen["frame"]))
        if answer.status == 200:
            break
    assert answer.status == 200, f"frame {seen['frame']} aged out 10 times running"
    assert seen["frame"] == seen["shown"], seen
    doc = answer.json()["results"]["det"]
    expected = [
        ["det", p["class"], f"{p['confidence']:.3f}", *(f"{p[k]:.1f}" for k in ("x", "y", "width", "height")), ""]
        for p in doc["predictions"]
    ]
    assert seen["rows"] == expected and expected, (seen, expected)
    assert watched.page.evaluate("document.querySelectorAll('article.tile:not([hidden])').length") == 1
    before = len(watched.urls)
    # The next picture comes when the server's X-Edge-Refresh says: on a busy machine the
    # back-off (edge/web/pace.py) stretches it to seconds, so wait for it rather than 1 s.
    for _ in range(48):
        watched.page.wait_for_timeout(250)
        if any("/clip/latest.jpg" in u for u in watched.urls[before:]):
            break
    asked = watched.urls[before:]
    assert any("/clip/latest.jpg" in u for u in asked) and not any("/camera/latest" in u for u in asked)
    assert watched.errors == []


def test_a_killed_camera_turns_its_tile_to_reconnecting_and_back(
    signed_in: Callable[..., Watched], device: Device
) -> None:
    watched = signed_in()
    watched.until(_tile("camera", "dataset.state === 'running'"))
    device.camera.pause()
    try:
        watched.until(_tile("camera", "dataset.state === 'reconnecting'"), 15)
        assert watched.page.evaluate(_tile("camera", "querySelector('.state').textContent")) == "reconnecting"
        assert watched.until(_tile("camera", "querySelector('.off').hidden === false"), 5)  # its last frame, marked
        assert watched.page.evaluate(_tile("clip", "dataset.state")) == "running"  # the other camera goes on
    finally:
        device.camera.resume()
    watched.until(_tile("camera", "dataset.state === 'running'"), 15)
    frame = watched.until(_tile("camera", "querySelector('img').dataset.frame"))
    watched.until(f"{_tile('camera', 'querySelector(`img`).dataset.frame')} !== '{frame}'", 10)
    assert watched.errors == []


@pytest.mark.parametrize("hash_", ["", "#stream=camera"])
def test_a_phone_wide_viewport_has_no_horizontal_scroll(signed_in: Callable[..., Watched], hash_: str) -> None:
    watched = signed_in(width=375, hash_=hash_)
    watched.until(_tile("camera", "querySelector('img').naturalWidth"))
    if hash_:
        watched.until("document.querySelector('#detections tbody tr')")
    assert watched.page.evaluate("document.documentElement.scrollWidth") <= 375
    assert watched.errors == []


def test_signing_out_asks_for_the_key_again(signed_in: Callable[..., Watched], device: Device) -> None:
    watched = signed_in()
    watched.page.click("text=Sign out")
    watched.page.wait_for_selector("input[name=api_key]")
    watched.page.fill("input[name=api_key]", "not-the-key")
    watched.page.click("button[type=submit]")
    assert "not one of this server's api_keys" in watched.page.text_content("#login-error")
    assert KEY not in watched.page.content()


def test_a_hidden_page_asks_for_nothing_until_shown(signed_in: Callable[..., Watched]) -> None:
    watched = signed_in()
    watched.until(_tile("clip", "querySelector('img').dataset.frame"))
    hide = "Object.defineProperty(document, 'hidden', {configurable: true, get: () => %s});"
    hide += "document.dispatchEvent(new Event('visibilitychange'))"
    watched.page.evaluate(hide % "true")
    watched.page.wait_for_timeout(700)  # what was in flight finishes
    before = len(watched.urls)
    watched.page.wait_for_timeout(2500)
    assert watched.urls[before:] == []
    frame = watched.page.evaluate(_tile("clip", "querySelector('img').dataset.frame"))
    watched.page.evaluate(hide % "false")
    watched.until(f"{_tile('clip', 'querySelector(`img`).dataset.frame')} !== '{frame}'", 10)
    assert watched.errors == []


def test_zone_and_line_counts_show_once_the_status_carries_them(signed_in: Callable[..., Watched]) -> None:
    """The hook for tracking: a ``tracking`` entry per stream in /api/status (added here to the
    real answer on its way to the page) is shown on the tile."""
    import json

    watched = signed_in()

    def with_tracking(route: Any) -> None:
        doc = route.fetch().json()
        doc["streams"]["clip"]["tracking"] = {"zones": {"door": 2}, "lines": {"gate": {"in": 3, "out": 1}}}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(doc))

    watched.page.route("**/api/status", with_tracking)
    chips = watched.until(_tile("clip", "querySelector('.tracking').textContent"), 10)
    assert "zones door: 2" in chips and "lines gate: in 3, out 1" in chips
    assert watched.page.evaluate(_tile("camera", "querySelector('.tracking').textContent")) == ""
    assert watched.errors == []
