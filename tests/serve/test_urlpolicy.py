"""?image=URL: off unless http.image_urls allows it, redirects kept inside, errors name the rule."""

from __future__ import annotations

import http.server
import re
from collections.abc import Iterator

import pytest

from edge.config import ConfigError
from edge.serve.inputs import InputError, from_url
from edge.serve.urlpolicy import UrlPolicy, UrlRefused
from tests.local_http import LocalServer
from tests.serve.helpers import DETECT, IMAGE, request, serve

SECRET = b"internal-service-says-hello"


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/to/"):  # a redirect to the URL after /to/
                self.send_response(302)
                self.send_header("Location", self.path[4:])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = IMAGE.read_bytes() if self.path == "/shapes.jpg" else SECRET
            self.send_response(200 if self.path == "/shapes.jpg" else 500, "internal-reason-phrase")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = LocalServer(Handler)
    yield server.url
    server.close()


CHECKS = {
    # name: (rules, url, refusal words or "" when allowed)
    "off by default": (None, "http://127.0.0.1/a.jpg", "image URLs are off on this device"),
    "any": ("any", "http://example.invalid/a.jpg", ""),
    "a network": (["127.0.0.0/8"], "http://127.0.0.1:8080/a.jpg", ""),
    "outside the network": (["10.0.0.0/8"], "http://127.0.0.1/a.jpg", "the host 127.0.0.1 is not in http.image_urls"),
    "metadata endpoint": (["192.168.0.0/16"], "http://169.254.169.254/latest", "169.254.169.254 is not in"),
    "a host name": (["nvr.local"], "https://NVR.local:8443/snap.jpg", ""),
    "another host name": (["nvr.local"], "http://evil.example/a.jpg", "evil.example is not in"),
    "unresolvable, networks only": (["10.0.0.0/8"], "http://no-such-host.invalid/a", "is not in http.image_urls"),
    "not http": ("any", "file:///etc/passwd", "http(s) URL"),
    "ftp": (["127.0.0.0/8"], "ftp://127.0.0.1/a.jpg", "http(s) URL"),
}


@pytest.mark.parametrize("case", list(CHECKS))
def test_check(case: str) -> None:
    rules, url, words = CHECKS[case]
    policy = UrlPolicy.parse(rules)
    if not words:
        policy.check(url)
        return
    with pytest.raises(UrlRefused, match=re.escape(words)):
        policy.check(url)


@pytest.mark.parametrize(
    ("value", "words"),
    [("all", "a list of host names"), ([], "a list of"), (["any", "10.0.0.0/8"], "[0]"), (["a b"], "[0]: 'a b'")],
)
def test_bad_rules_are_one_line(value: object, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        UrlPolicy.parse(value)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_an_allowed_url_is_decoded(site: str) -> None:
    image = from_url(f"{site}/shapes.jpg", policy=UrlPolicy.parse(["127.0.0.1"]))
    assert image.shape == (480, 640, 3)


def test_a_redirect_out_of_the_allowed_set_is_refused(site: str) -> None:
    allowed = UrlPolicy.parse(["127.0.0.0/8"])
    assert from_url(f"{site}/to/{site}/shapes.jpg", policy=allowed).shape == (480, 640, 3)  # inside: followed
    with pytest.raises(InputError, match=re.escape("the host 169.254.169.254 is not in http.image_urls")) as info:
        from_url(f"{site}/to/http://169.254.169.254/latest/meta-data", policy=allowed)
    assert info.value.status == 403


def test_what_the_url_answered_is_never_echoed(site: str) -> None:
    with pytest.raises(InputError) as info:
        from_url(f"{site}/internal", policy=UrlPolicy.parse(["127.0.0.1"]))
    text = str(info.value)
    assert text == "Could not load input image. Cause: downloading it failed."
    assert SECRET.decode() not in text and "internal-reason-phrase" not in text and "500" not in text


def test_the_route_refuses_image_urls_when_the_config_does_not_allow_them(site: str) -> None:
    device = serve(f"models:\n  det: {{path: {DETECT}}}\nhttp:\n  port: 0\n")
    try:
        answer = request(f"{device.url}/det/1?image={site}/shapes.jpg", b"", {"Content-Type": "text/plain"})
    finally:
        device.finish()
    assert answer.status == 403
    assert answer.json()["message"] == (
        "Could not load input image. Cause: image URLs are off on this device "
        "(set http.image_urls to the hosts allowed)."
    )
