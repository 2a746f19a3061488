"""The discovery documents against Home Assistant's own MQTT schemas (the installed HA's code)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from edge.homeassistant.config import HomeAssistantConfig
from edge.homeassistant.discovery import HaTopics, StreamEntities, documents
from edge.publish.topics import Topics
from tests.homeassistant.hass import HASS_PYTHON, INSTALL_HINT

SCRIPT = Path(__file__).with_name("ha_schemas.py")


def test_home_assistant_accepts_every_component_of_every_document() -> None:
    if not HASS_PYTHON.exists():
        pytest.fail(f"this test needs Home Assistant's Python {HASS_PYTHON}: {INSTALL_HINT}")
    streams = [
        StreamEntities("front door", ("person", "traffic light")),
        StreamEntities("yard", ("car",), zones=("drive",), lines=("gate",)),
    ]
    config = HomeAssistantConfig(configuration_url="http://jetson01:9001/")
    docs = documents(HaTopics(Topics("edge", "jetson01"), "homeassistant"), config, streams, "0.1.0")
    done = subprocess.run(
        [str(HASS_PYTHON), str(SCRIPT)], input=json.dumps(docs), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {}
    assert sum(len(d["cmps"]) for d in docs.values()) == 2 + 2 * 2 + 4 + 1 + 2 + 2 + 2 + 4 + 1
