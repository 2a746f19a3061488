"""tools/soak.py in 20 seconds, so the tool cannot rot: the same checks as the 10-minute run
(docs/security.md), with a looser memory bound since a short run is mostly warm-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.mqtt_broker import mosquitto_binary

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_soak_passes_every_check(tmp_path: Path) -> None:
    mosquitto_binary()  # fails, saying how to install it, rather than letting the tool exit
    out = tmp_path / "soak.json"
    cmd = [sys.executable, "-m", "tools.soak", "--seconds", "20", "--sample", "2", "--fps", "4", "--rate", "6"]
    cmd += ["--max-growth-mb", "40", "--json", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert out.is_file(), done.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["ok"] and done.returncode == 0, json.dumps(report["checks"]) + done.stdout[-1500:]
    cases = report["requests"]["by_case"]
    # every kind of bad request was sent at least once, and got its own status
    assert {"bomb", "oversized-body", "wrong-key", "url-outside-allow-list", "garbage-base64"} <= set(cases)
    assert cases["bomb"] == {"413": cases["bomb"]["413"]} and cases["url-outside-allow-list"].keys() == {"403"}
    assert all(s["results"] >= 20 and s["missing"] == 0 for s in report["streams"].values())
