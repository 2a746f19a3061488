#!/usr/bin/env python3
"""The screenshots in docs/page.md and docs/homeassistant.md, taken from real runs, offline.

    .venv/bin/python tools/screenshot_docs.py            # writes docs/images/*.png

Starts the test set-up's pieces (tests/mqtt_broker.py's mosquitto, tests/homeassistant/hass.py's
Home Assistant from .venv-ha, here with its frontend), runs ``edge run`` on two looping shapes
clips with the device page and Home Assistant discovery on, and photographs with Debian's
chromium (Playwright, no download): the device page at desktop and phone width, and in Home
Assistant the stream's device page and the daemon's. Needs what ``./tools/test.sh`` installs.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.demo.clip import ClipKind, ClipSpec, cached_clip  # noqa: E402
from tests.daemon.edge_proc import EdgeRun  # noqa: E402
from tests.helpers import FIXTURE_MODELS  # noqa: E402
from tests.homeassistant.hass import HomeAssistant, access_token  # noqa: E402
from tests.mqtt_broker import Broker, free_port  # noqa: E402

OUT = ROOT / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"


def _config(tmp: Path, broker: int, http: int) -> Path:
    clips = {
        name: cached_clip(tmp / "clips", ClipSpec(ClipKind.SHAPES, 640, 480, 15.0, 150, seed=seed))
        for name, seed in (("door", 3), ("yard", 8))
    }
    doc = {
        "models": {
            "det": {"path": str(FIXTURE_MODELS / "shapes-detect.onnx")},
            "seg": {"path": str(FIXTURE_MODELS / "shapes-segment.onnx")},
        },
        "streams": {
            "door": {"uri": str(clips["door"]), "models": ["det"], "loop": True},
            "yard": {"uri": str(clips["yard"]), "models": ["seg"], "loop": True},
        },
        "state_dir": str(tmp / "state"),
        "mqtt": {"host": "127.0.0.1", "port": broker, "device_id": "jetson01", "stats_interval": 2},
        "http": {"port": http},
        "homeassistant": {"announce_delay": 0.5, "snapshot_min_interval": 2},
    }
    path = tmp / "edge.yaml"
    path.write_text(json.dumps(doc))
    return path


def _page_shots(browser: object, http: int) -> None:
    for name, width, height in (("page.jpg", 1280, 500), ("page-phone.jpg", 375, 800)):
        page = browser.new_page(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
        page.goto(f"http://127.0.0.1:{http}/")
        page.wait_for_timeout(4000)  # a few refreshes: the tiles show live pictures
        page.screenshot(path=str(OUT / name), type="jpeg", quality=80)  # camera pictures: JPEG is a third of PNG
        page.close()
        print(f"wrote {OUT / name}")


def _ha_shots(browser: object, ha: HomeAssistant) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})  # type: ignore[attr-defined]
    tokens = {
        "access_token": access_token(),
        "token_type": "Bearer",
        "expires_in": 86400,
        "refresh_token": "f" * 128,
        "expires": int(time.time() * 1000) + 86_400_000,
        "hassUrl": ha.url,
        "clientId": f"{ha.url}/",
    }
    page.goto(ha.url + "/auth/authorize?response_type=code")  # any page of HA's origin, to set storage
    page.evaluate("t => localStorage.setItem('hassTokens', JSON.stringify(t))", tokens)
    devices = {d["name"]: d["id"] for d in _devices(ha)}
    for name, device in (("homeassistant-stream.png", "door"), ("homeassistant-hub.png", "edge jetson01")):
        wanted = next((i for n, i in devices.items() if n == device or n.endswith(device)), None)
        if wanted is None:
            raise SystemExit(f"Home Assistant has no device {device!r}; it has {sorted(devices)}")
        page.goto(f"{ha.url}/config/devices/device/{wanted}")
        page.wait_for_timeout(5000)
        page.screenshot(path=str(OUT / name))
        print(f"wrote {OUT / name}")
    page.close()


def _devices(ha: HomeAssistant) -> list[dict[str, str]]:
    """Device names and ids, from a template over HA's REST API (the device registry has no REST route)."""
    import urllib.request

    template = "{% set ns = namespace(d=[]) %}{% for s in states %}{% set i = device_id(s.entity_id) %}"
    template += "{% if i and device_attr(i, 'manufacturer') == 'edge' %}"
    template += "{% set ns.d = ns.d + [{'id': i, 'name': device_attr(i, 'name')}] %}{% endif %}{% endfor %}"
    template += "{{ ns.d | unique(attribute='id') | list | tojson }}"
    req = urllib.request.Request(
        ha.url + "/api/template",
        data=json.dumps({"template": template}).encode(),
        headers={"Authorization": f"Bearer {access_token()}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        devices: list[dict[str, str]] = json.loads(resp.read())
    return devices


def main() -> int:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="edge-shots-") as tmp_name:
        tmp = Path(tmp_name)
        broker = Broker(tmp / "broker")
        broker.start()
        http = free_port()
        try:
            with HomeAssistant(tmp / "ha", broker.port, frontend=True) as ha:
                ha.start(timeout=120)
                with EdgeRun(_config(tmp, broker.port, http), tmp / "edge.log"):
                    ha.wait_for(lambda s: "sensor.door_circle_count" in s, 60, "edge's entities")
                    time.sleep(3)
                    with sync_playwright() as pw:
                        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                        try:
                            _page_shots(browser, http)
                            _ha_shots(browser, ha)
                        finally:
                            browser.close()
        finally:
            broker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
