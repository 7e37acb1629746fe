"""The dashboard's HTTP server (aiohttp): one static page, a JSON API, server-sent events, search by upload.

Routes (all under an optional token: ``?token=T``, ``Authorization: Bearer T`` or the cookie the page sets once it
was opened with a valid token; missing or wrong -> 401):

    GET  /                                  the page (static/index.html; no build step)
    GET  /api/info                          mode (live | store | site), store, RTSP URLs, whether a job report exists
    GET  /api/cameras                       live: state, frames/s, frames in/processed/dropped, errors per camera
    GET  /api/cameras/{camera}/snapshot.jpg live: the newest annotated frame
    GET  /api/tracks                        live: tracks in view with their global ids
    GET  /api/identities                    one summary per global identity, most recently seen first
    GET  /api/identities/{id}               one identity: cameras, tracklets, decisions with distances
    GET  /api/tracklets/{id}/crop.jpg       a stored crop (?i=K for the K-th)
    GET  /api/search?tracklet=ID            identities ranked by distance to a stored tracklet
    POST /api/search                        multipart ``image`` (<= max_upload_kb): identities ranked by distance
    GET  /api/stream                        server-sent events: ``decision`` (new store events), ``cameras``
    GET  /report/{path}                     the offline job's report.html and report_assets/ (nothing else)

Files are only ever served from the fixed static set and the store folder's report; ids are integers, so no
request names a path (path traversal -> 404). The store is read on one worker thread that owns its connection.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from aiohttp import web

from streid.pipeline.web import data

if TYPE_CHECKING:
    from streid.pipeline.live.view import LiveView

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
STATIC_FILES = {"index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css"}
STREAM_EVERY_S = 1.0
MAX_PIXELS = 4096 * 4096
COOKIE = "streid_token"  # a decoded upload larger than this is refused


class StoreUnavailable(Exception):
    """The store's server cannot be reached now (503; the page retries)."""


class Backend:
    """The store (opened lazily on its own thread: it may not exist yet when a live run starts) and the embedder."""

    def __init__(self, store_factory: Callable[[], data.DashboardStore | None],
                 embedder_factory: Callable[[], Any] | None = None) -> None:
        self.store_factory, self.embedder_factory = store_factory, embedder_factory
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dashboard-store")
        self.store: data.DashboardStore | None = None
        self.embedder: Any = None

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(store, *args)`` on the store's thread; ``None`` (no store yet) is passed through."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, self._call, fn, args)

    def _call(self, fn: Callable[..., Any], args: tuple) -> Any:
        if self.store is None:
            self.store = self.store_factory()
        try:
            return fn(self.store, *args)
        except Exception as exc:
            if getattr(self.store, "broken", False):  # a database store lost its server: reopen on the next call
                self._close_store()
                log.warning("dashboard: the store's connection was lost (%s)", type(exc).__name__)
                raise StoreUnavailable() from None
            raise

    def _close_store(self) -> None:
        close, self.store = getattr(self.store, "close", None), None
        if close is not None:
            close()

    def search_images(self, store: data.DashboardStore | None, images: list[np.ndarray]) -> list[dict]:
        from streid.pipeline.identity.search import embed_stills, rank, to_matching_space

        if store is None:
            return []
        if self.embedder is None:
            if self.embedder_factory is None:
                raise ValueError("search by image needs the embedder the store was filled with")
            self.embedder = self.embedder_factory()
        return data.hits_json(rank(store, to_matching_space(store, embed_stills(images, self.embedder))))  # type: ignore[arg-type]

    def close(self) -> None:
        self.pool.submit(self._close_store).result(timeout=10)
        self.pool.shutdown(wait=True)


def _token_middleware(token: str) -> Any:
    @web.middleware
    async def check(request: web.Request, handler: Any) -> web.StreamResponse:
        given = request.query.get("token", "") or request.cookies.get(COOKIE, "")
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            given = auth[len("Bearer "):]
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise web.HTTPUnauthorized(text="token required: ?token=... or Authorization: Bearer ...")
        return await handler(request)

    return check


@web.middleware
async def _unavailable_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except StoreUnavailable:  # the detail (which server, why) is in the server's log, not in the page
        raise web.HTTPServiceUnavailable(text="the identity store cannot be reached now; retrying") from None


def _jpeg(image: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise web.HTTPInternalServerError(text="JPEG encoding failed")
    return buf.tobytes()


def _decode_upload(payload: bytes) -> np.ndarray:
    import cv2

    arr = np.frombuffer(payload, np.uint8)
    header_ok = payload[:3] == b"\xff\xd8\xff" or payload[:8] == b"\x89PNG\r\n\x1a\n"
    image = cv2.imdecode(arr, cv2.IMREAD_COLOR) if header_ok else None
    if image is None:
        raise web.HTTPBadRequest(text="the upload is not a JPEG or PNG image")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_PIXELS, actual_size=image.shape[0] * image.shape[1])
    return image


def build_app(backend: Backend, *, view: LiveView | None = None, token: str = "", max_upload_kb: int = 4096,
              report_dir: Path | None = None, info: dict[str, Any] | None = None) -> web.Application:
    """The aiohttp application; ``view`` is None when serving a finished job's store."""
    middlewares = [_token_middleware(token)] if token else []
    middlewares.append(_unavailable_middleware)
    # the multipart envelope adds a little to the image itself
    app = web.Application(middlewares=middlewares, client_max_size=max_upload_kb * 1024 + 16 * 1024)
    routes = web.RouteTableDef()
    report = report_dir.resolve() if report_dir is not None else None

    @routes.get("/")
    async def index(_request: web.Request) -> web.StreamResponse:
        resp = web.FileResponse(STATIC / "index.html", headers={"Content-Type": "text/html"})
        if token:  # the page's own assets, images and event stream then carry it without a query string
            resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
        return resp

    @routes.get("/static/{name}")
    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        return web.FileResponse(STATIC / name, headers={"Content-Type": STATIC_FILES[name]})

    @routes.get("/report/{path:.*}")
    async def report_file(request: web.Request) -> web.StreamResponse:
        rel = request.match_info["path"] or "report.html"
        if report is None or ".." in rel.split("/"):
            raise web.HTTPNotFound()
        path = (report / rel).resolve()
        if not (path == report / "report.html" or path.is_relative_to(report / "report_assets")) or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    @routes.get("/api/info")
    async def api_info(_request: web.Request) -> web.Response:
        has_report = report is not None and (report / "report.html").is_file()
        return web.json_response({"mode": "live" if view is not None else "store", "report": has_report,
                                  **(info or {})})

    @routes.get("/api/cameras")
    async def api_cameras(_request: web.Request) -> web.Response:
        return web.json_response(view.cameras() if view is not None else [])

    @routes.get("/api/cameras/{camera}/snapshot.jpg")
    async def api_snapshot(request: web.Request) -> web.Response:
        if view is None:
            raise web.HTTPNotFound()
        jpeg = await asyncio.get_running_loop().run_in_executor(None, view.snapshot, request.match_info["camera"])
        if jpeg is None:
            raise web.HTTPNotFound()
        return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @routes.get("/api/tracks")
    async def api_tracks(_request: web.Request) -> web.Response:
        return web.json_response(view.tracks() if view is not None else [])

    @routes.get("/api/identities")
    async def api_identities(_request: web.Request) -> web.Response:
        return web.json_response(await backend.call(_or_empty(data.identities)))

    @routes.get(r"/api/identities/{gid:\d+}")
    async def api_identity(request: web.Request) -> web.Response:
        card = await backend.call(_or_none(data.identity), int(request.match_info["gid"]))
        if card is None:
            raise web.HTTPNotFound()
        return web.json_response(card)

    @routes.get(r"/api/tracklets/{tid:\d+}/crop.jpg")
    async def api_crop(request: web.Request) -> web.Response:
        index = request.query.get("i")
        if index is not None and not index.isdigit():
            raise web.HTTPBadRequest(text="i must be a non-negative integer")
        img = await backend.call(_or_none(data.crop), int(request.match_info["tid"]),
                                 int(index) if index is not None else None)
        if img is None:
            raise web.HTTPNotFound()
        return web.Response(body=_jpeg(img), content_type="image/jpeg")

    @routes.get("/api/search")
    async def api_search_tracklet(request: web.Request) -> web.Response:
        from streid.pipeline.identity.search import rank, tracklet_query

        spec = request.query.get("tracklet", "")
        if not spec.isdigit():
            raise web.HTTPBadRequest(text="give ?tracklet=ID (a stored tracklet's row id), or POST an image")

        def run(store: data.DashboardStore | None) -> list[dict]:
            if store is None:
                return []
            emb, _ = tracklet_query(store, spec)  # type: ignore[arg-type]
            return data.hits_json(rank(store, emb))  # type: ignore[arg-type]

        try:
            return web.json_response(await backend.call(run))
        except ValueError as exc:
            raise web.HTTPNotFound(text=str(exc)) from None

    @routes.post("/api/search")
    async def api_search_image(request: web.Request) -> web.Response:
        form = await request.post()  # larger than client_max_size: 413 before anything is decoded
        upload = form.get("image")
        if not isinstance(upload, web.FileField):
            raise web.HTTPBadRequest(text="send the image as multipart form field 'image'")
        image = _decode_upload(upload.file.read())
        try:
            return web.json_response(await backend.call(backend.search_images, [image]))
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None

    @routes.get("/api/stream")
    async def api_stream(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await resp.prepare(request)
        events = await backend.call(_or_empty(data.events_after), 0)
        last = max((e["id"] for e in events), default=0)  # only what happens from now on
        try:
            while True:
                for e in await backend.call(_or_empty(data.events_after), last):
                    last = max(last, e["id"])
                    await resp.write(f"event: decision\ndata: {json.dumps(e)}\n\n".encode())
                if view is not None:
                    await resp.write(f"event: cameras\ndata: {json.dumps(view.cameras())}\n\n".encode())
                else:
                    await resp.write(b": keep-alive\n\n")
                await asyncio.sleep(STREAM_EVERY_S)
        except (ConnectionResetError, StoreUnavailable):  # the page went away, or the store: the page reconnects
            return resp

    app.add_routes(routes)
    return app


def _or_empty(fn: Callable[..., Any]) -> Callable[..., Any]:
    return lambda store, *args: [] if store is None else fn(store, *args)


def _or_none(fn: Callable[..., Any]) -> Callable[..., Any]:
    return lambda store, *args: None if store is None else fn(store, *args)


class DashboardServer:
    """Runs :func:`build_app` on its own thread and event loop; ``start()`` returns once it listens."""

    def __init__(self, backend: Backend, host: str = "127.0.0.1", port: int = 8080, **app_kwargs: Any) -> None:
        self.backend, self.host, self.port = backend, host, port
        self.app = build_app(backend, **app_kwargs)
        self.loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, name="dashboard", daemon=True)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> DashboardServer:
        """Listen (OSError when the port is taken) and serve until :meth:`close`."""
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=30)
        except BaseException:
            self.close()
            raise
        log.info("dashboard: %s", self.url)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = int(self._runner.addresses[0][1])  # the bound port (port 0: the one the system chose)

    def close(self) -> None:
        """Stop listening, end open streams, close the store."""
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.backend.close()

    def wait(self) -> None:
        """Block until the server thread ends (``streid serve``: until Ctrl-C)."""
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)
