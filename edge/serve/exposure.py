"""No open device by accident: listening beyond loopback needs API keys, or an explicit opt-out."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a hostname may resolve to any interface: treated as exposed


def exposed_without_keys(host: str, has_keys: bool, allow_unauthenticated: bool) -> bool:
    """True when a server on ``host`` would answer the network with no key and no opt-out."""
    return not has_keys and not allow_unauthenticated and not is_loopback(host)


def config_refusal(where: str, host: str) -> str:
    return (
        f"{where}.host: {host} is reachable from the network, and no API key is set: add "
        f"{where}.api_keys: [{{env: VARIABLE}}] (or {{credential: NAME}}), or set "
        f"{where}.allow_unauthenticated: true to serve anyone who can reach the port"
    )


def cli_refusal(host: str) -> str:
    return (
        f"--host {host} is reachable from the network, and no API key is set: add --api-key-env VARIABLE "
        "(an environment variable holding the key), or --allow-unauthenticated to serve anyone who can reach the port"
    )
