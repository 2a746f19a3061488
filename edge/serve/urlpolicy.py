"""Which ``?image=URL`` the device may download: none unless ``http.image_urls`` allows it.

A rule is a host name (matched exactly, any port), an IP address or network (``10.0.0.0/24``:
every address the host name resolves to must be inside one), or ``any``. Redirects are
followed only to URLs the same rules allow.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from edge.publish.fields import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$", re.I)


class UrlRefused(Exception):
    """A URL the rules do not allow; the message names the rule, never what the URL answered."""


@dataclass(frozen=True)
class UrlPolicy:
    enabled: bool = False
    any_host: bool = False
    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, value: object, where: str = "http.image_urls") -> UrlPolicy:
        """``None``: off; ``any`` (or ``[any]``); or a list of host names and IP networks."""
        if value is None:
            return cls()
        if value == "any" or value == ["any"]:
            return cls(True, True)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: a list of host names and IP networks (e.g. [192.168.1.0/24, nvr]), or any")
        hosts, networks = set(), []
        for i, rule in enumerate(value):
            try:
                networks.append(ipaddress.ip_network(rule.strip(), strict=False))
                continue
            except ValueError:
                pass
            if rule == "any" or not _HOSTNAME.match(rule.strip()):
                raise ConfigError(f"{where}[{i}]: {rule!r} is neither a host name nor an IP network (any goes alone)")
            hosts.add(rule.strip().lower())
        return cls(True, False, frozenset(hosts), tuple(networks))

    def check(self, url: str) -> None:
        """Raises UrlRefused naming the rule that ``url`` fails."""
        if not self.enabled:
            raise UrlRefused("image URLs are off on this device (set http.image_urls to the hosts allowed)")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise UrlRefused("image must be an http(s) URL")
        host = (parts.hostname or "").lower()
        if not host:
            raise UrlRefused("the image URL has no host")
        if self.any_host or host in self.hosts:
            return
        addresses = _addresses(host) if self.networks else []
        if not addresses or not all(any(a in n for n in self.networks) for a in addresses):
            raise UrlRefused(f"the host {host[:100]} is not in http.image_urls")


URLS_OFF = UrlPolicy()


def _addresses(host: str) -> Sequence[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []  # unresolvable: no address, so no network allows it
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
