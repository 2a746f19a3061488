"""Run by Home Assistant's own Python (``.venv-ha``): validate discovery documents read from
stdin (``{topic: document}``) with HA's MQTT schemas, as its discovery code applies them: the
device schema after abbreviations are expanded, then each component's platform schema with the
device's shared options merged in. Prints ``{topic/component: error}``, empty when all pass."""

from __future__ import annotations

import importlib
import json
import sys

import voluptuous as vol
from homeassistant.components.mqtt import discovery
from homeassistant.components.mqtt.schemas import DEVICE_DISCOVERY_SCHEMA


def main() -> None:
    errors: dict[str, str] = {}
    for topic, doc in json.load(sys.stdin).items():
        payload = discovery.MQTTDiscoveryPayload(doc)
        discovery._replace_all_abbreviations(payload)
        try:
            DEVICE_DISCOVERY_SCHEMA(payload)
        except vol.Invalid as exc:
            errors[topic] = str(exc)
            continue
        for name, component in payload["components"].items():
            config = discovery.MQTTDiscoveryPayload(dict(component))
            platform = config.pop("platform")
            discovery._merge_common_device_options(config, payload)
            config["device"], config["origin"] = payload["device"], payload["origin"]
            schema = importlib.import_module(f"homeassistant.components.mqtt.{platform}").DISCOVERY_SCHEMA
            try:
                schema(dict(config))
            except vol.Invalid as exc:
                errors[f"{topic}/{name}"] = str(exc)
    print(json.dumps(errors))


async def _with_hass() -> None:
    # Template options report through HA's frame helper, which needs a (bare) HomeAssistant.
    import tempfile

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers import frame

    with tempfile.TemporaryDirectory() as config_dir:
        frame.async_setup(HomeAssistant(config_dir))
        main()


if __name__ == "__main__":
    import asyncio

    asyncio.run(_with_hass())
