"""The systemd unit, rendered from ``edge.service.in`` for this installation.

The template has four placeholders: ``@EDGE@`` (the ``edge`` executable of the venv that runs
the installer), ``@CONFIG@``, ``@GROUPS@`` (supplementary groups that exist here: systemd
refuses to start a unit naming a group that does not) and ``@CREDENTIALS@`` (one
``LoadCredential=`` line per credential the config names: a listed file that is missing stops
the unit, so unused ones are left out). ``systemd/edge.service`` is the rendered default.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml  # type: ignore[import-untyped, unused-ignore]

from edge.errors import EdgeError

TEMPLATE = Path(__file__).with_name("edge.service.in")
_PLACEHOLDER = re.compile(r"@[A-Z]+@")


@dataclass(frozen=True)
class UnitSettings:
    edge: Path
    config: Path
    groups: tuple[str, ...]
    credentials: tuple[str, ...]
    credentials_dir: Path = Path("/etc/edge/credentials")

    def __post_init__(self) -> None:
        for value in (str(self.edge), str(self.config), str(self.credentials_dir)):
            if any(c.isspace() for c in value):
                raise EdgeError(f"{value!r}: a path in the systemd unit must not contain spaces; install elsewhere")


# What systemd/edge.service shows: the documented install (/opt/edge) with both credentials.
DEFAULT = UnitSettings(
    edge=Path("/opt/edge/.venv/bin/edge"),
    config=Path("/etc/edge/edge.yaml"),
    groups=("video", "render"),
    credentials=("mqtt-password", "roboflow-api-key"),
)


def _lines(template: str, settings: UnitSettings) -> Iterator[str]:
    for line in template.splitlines():
        if "@GROUPS@" in line:
            if settings.groups:
                yield line.replace("@GROUPS@", " ".join(settings.groups))
        elif line.strip() == "@CREDENTIALS@":
            for name in settings.credentials:
                yield f"LoadCredential={name}:{settings.credentials_dir / name}"
        else:
            yield line.replace("@EDGE@", str(settings.edge)).replace("@CONFIG@", str(settings.config))


def render_unit(settings: UnitSettings, template: str | None = None) -> str:
    text = "\n".join(_lines(TEMPLATE.read_text(encoding="utf-8") if template is None else template, settings))
    left = _PLACEHOLDER.findall(text)
    if left:
        raise AssertionError(f"unit template placeholders not rendered: {', '.join(left)}")
    return text + "\n"


def _walk(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        if set(node) == {"credential"} and isinstance(node["credential"], str):
            yield node["credential"]
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def credentials_in_config(text: str) -> tuple[str, ...]:
    """Every ``{credential: NAME}`` the YAML names (mqtt.password, hosted api_key), in order, once.
    Only the references are read, so a config whose models are not there yet still works."""
    try:
        root = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EdgeError(f"the config is not valid YAML ({str(exc).splitlines()[0]}); fix it, then install") from None
    return tuple(dict.fromkeys(n for n in _walk(root) if n and "/" not in n))
