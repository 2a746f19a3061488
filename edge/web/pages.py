"""The device page at ``/``: package data (HTML, CSS, JS) with a few values filled in, no build step.

With ``api_keys`` set, ``/`` is a login form until a right key is posted to ``/login``, which sets
an HttpOnly, SameSite=Strict session cookie (an opaque token, :mod:`edge.web.session`). The
stylesheet and script carry no data and are served to anyone; every byte of data the page shows
comes from the guarded /api routes.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from importlib import resources
from string import Template
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from edge import __version__
from edge.serve.auth import is_key
from edge.web.session import COOKIE, TTL, Sessions, cookie_is_secure, web_authorized

# Nothing on the page may come from another host, and nothing may frame it.
CSP = (
    "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
_LOGIN_BODY_MAX = 4096
_ASSETS = {"page.css": "text/css; charset=utf-8", "page.js": "text/javascript; charset=utf-8"}


def asset(name: str) -> str:
    return resources.files("edge.web").joinpath("page").joinpath(name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class PageInfo:
    device: str
    backend: str  # the models' configured backends, e.g. "onnxruntime"


def page_info(config: object | None) -> PageInfo:
    from edge.publish.config import default_device_id

    mqtt = getattr(config, "mqtt", None)
    device = getattr(mqtt, "device_id", None) or default_device_id()
    models = getattr(config, "models", None) or {}
    backends = sorted({str(getattr(m, "backend", "?")) for m in models.values()})
    return PageInfo(str(device), ", ".join(backends) or "none")


def _headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def page_routes(keys: frozenset[str], sessions: Sessions, info: PageInfo) -> list[Route]:
    index = Template(asset("index.html"))
    login = Template(asset("login.html"))
    assets = {name: asset(name).encode() for name in _ASSETS}
    logout = '<form method="post" action="/logout"><button type="submit">Sign out</button></form>'

    def login_page(status: int, error: str = "") -> Response:
        text = login.substitute(device=html.escape(info.device), error=html.escape(error))
        return Response(text, status, _headers(), media_type="text/html; charset=utf-8")

    async def root(request: Request) -> Response:
        if not web_authorized(request, keys, sessions):
            return login_page(200)
        text = index.substitute(
            device=html.escape(info.device),
            version=html.escape(__version__),
            backend=html.escape(info.backend),
            auth="1" if keys else "0",
            logout=logout if keys else "",
        )
        return Response(text, 200, _headers(), media_type="text/html; charset=utf-8")

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in assets:
            return Response("not found", 404, media_type="text/plain")
        return Response(assets[name], 200, {"X-Content-Type-Options": "nosniff"}, media_type=_ASSETS[name])

    async def do_login(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > _LOGIN_BODY_MAX:
                return login_page(413, "That is too long to be a key.")
        offered = parse_qs(body.decode("utf-8", "replace")).get("api_key", [""])[0]
        if not keys:
            return RedirectResponse("/", 303)
        if not is_key(offered, keys):
            return login_page(401, "That key is not one of this server's api_keys.")
        response = RedirectResponse("/", 303)
        response.set_cookie(
            COOKIE,
            sessions.create(),
            max_age=int(TTL),
            httponly=True,
            samesite="strict",
            secure=cookie_is_secure(request),
            path="/",
        )
        return response

    async def do_logout(request: Request) -> Response:
        sessions.end(request.cookies.get(COOKIE))
        response = RedirectResponse("/", 303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    return [
        Route("/", root, methods=["GET"]),
        Route("/static/{name}", static, methods=["GET"]),
        Route("/login", do_login, methods=["POST"]),
        Route("/logout", do_logout, methods=["POST"]),
    ]
