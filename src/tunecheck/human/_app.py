"""The annotation web app (`tunecheck annotate`): a Starlette app, one HTML page with plain JS
(no framework, no CDN: it works offline), and a JSON API over the answers store.

Each annotator's queue is the same list of units: rubric, one (item, model) pair a unit, the
models of an item in a seeded order and unnamed ("output 1 of 2"); ab, one item a unit, its two
outputs as A and B in `blind_order`. The page never sees a model's name: it sends a unit index
and A / B / tie, and the server maps back (the store keeps `shown`). Every answer is one store
transaction; the queue resumes at the first unanswered unit.

Untrusted text (prompts, outputs, references) reaches the page only as JSON and is put in the
DOM with textContent; a Content-Security-Policy without inline script backs that up. With a
token, every request must carry it: `Authorization: Bearer T`, header `X-Tunecheck-Token`, or the
cookie that opening `/?token=T` sets (the URL `tunecheck annotate` prints); anything else gets 401.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from tunecheck.errors import ConfigError, DataError
from tunecheck.human._export import export_text
from tunecheck.human._items import AnnotationItem, blind_order
from tunecheck.human._store import AnswerStore, check_annotator

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from tunecheck.judge._rubric import Rubric

ASSETS = Path(__file__).parent / "assets"
TASKS = ("rubric", "ab")
COOKIE = "tunecheck_token"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class Unit:
    """One thing an annotator answers: an item's one output (rubric) or its pair (ab)."""

    item: AnnotationItem
    model: str = ""
    """rubric: the model graded; ab: ""."""
    shown: tuple[str, str] | None = None
    """ab: the models shown as A and B."""
    position: tuple[int, int] = (1, 1)
    """rubric: this output is the k-th of the item's n."""


def build_units(items: Sequence[AnnotationItem], task: str, seed: int = 0) -> list[Unit]:
    """The queue, the same for every annotator and on every restart (no global random state)."""
    if task not in TASKS:
        raise ConfigError(f"--task {task}: use rubric or ab")
    if not items:
        raise DataError("no items to annotate")
    units: list[Unit] = []
    for item in items:
        models = list(item.outputs)
        if task == "ab":
            units.append(Unit(item, shown=blind_order(item.id, models, seed)))
            continue
        order = sorted(models, key=lambda m: hashlib.sha256(f"{seed}\0{item.id}\0{m}".encode()).digest())
        units += [Unit(item, model=m, position=(k, len(order))) for k, m in enumerate(order, start=1)]
    return units


class _Guard:
    """ASGI middleware: the token check (when there is a token) and the security headers on
    every response (CSP, no sniffing, no referrer, no caching: answers change under the page)."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app, self.token = app, token

    def _ok(self, given: str | None) -> bool:
        return given is not None and self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.datastructures import Headers
        from starlette.responses import PlainTextResponse, RedirectResponse

        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store"), (b"x-frame-options", b"DENY")]
                message = {**message, "headers": headers}
            await send(message)

        if self.token is not None:
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            given = next((v for k, v in query if k == "token"), None)
            headers = Headers(scope=scope)
            if given is not None:
                if not self._ok(given):
                    await PlainTextResponse("wrong token", status_code=401)(scope, receive, secured)
                    return
                rest = urlencode([(k, v) for k, v in query if k != "token"])  # the token leaves the address bar
                response: Response = RedirectResponse(scope["path"] + (f"?{rest}" if rest else ""), status_code=303)
                response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
                await response(scope, receive, secured)
                return
            auth = headers.get("authorization", "")
            bearer = auth[7:] if auth.lower().startswith("bearer ") else None
            cookie = next((c.split("=", 1)[1] for c in headers.get("cookie", "").split("; ") if c.startswith(COOKIE + "=")), None)
            if not any(self._ok(v) for v in (bearer, headers.get("x-tunecheck-token"), cookie)):
                await PlainTextResponse("token required: open the address `tunecheck annotate` printed (it ends in ?token=...)",
                                        status_code=401)(scope, receive, secured)
                return
        await self.app(scope, receive, secured)


def make_app(items: Sequence[AnnotationItem], store: AnswerStore, *, task: str, rubric: Rubric | None = None,
             token: str | None = None, seed: int = 0, hosts: Sequence[str] = LOOPBACK_HOSTS) -> Starlette:
    """The app over `items` and `store`. `hosts`: the Host headers accepted (loopback names by
    default, so a web page cannot reach the app by DNS rebinding; ("*",) for --host 0.0.0.0)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.responses import FileResponse, JSONResponse
    from starlette.responses import Response as PlainResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    # The GET handlers are plain functions, which Starlette runs in its thread pool: the store's
    # calls block (a save waits for its fsync), and the event loop must keep serving the others.
    units = build_units(items, task, seed)
    if task == "rubric" and rubric is None:
        from tunecheck.judge import load_rubric

        rubric = load_rubric("quality-5")
    criteria = [{"name": c.name, "description": c.description, "low": c.low, "high": c.high} for c in rubric.scored] if rubric and task == "rubric" else []
    scales: dict[str, tuple[int, int]] = {c.name: (c.low, c.high) for c in rubric.scored} if criteria and rubric else {}
    _bind_store(store, task, rubric if task == "rubric" else None, criteria)

    def error(message: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    def done_keys(who: str) -> set[tuple[str, str]]:
        """The (item id, model) of every finished unit: a choice given, or every criterion scored."""
        keys = set()
        for a in store.answers(who, kind=task):
            if task == "ab" or all(c in a.payload.get("scores", {}) for c in scales):
                keys.add((a.item_id, a.model))
        return keys

    def progress(who: str) -> dict[str, Any]:
        finished = done_keys(who)
        answered = [(u.item.id, u.model) in finished for u in units]
        first = next((i for i, a in enumerate(answered) if not a), None)
        return {"annotator": who, "total": len(units), "done": sum(answered), "first_unanswered": first, "answered": answered}

    def annotator(request: Request, body: dict[str, Any] | None = None) -> str:
        raw = body.get("annotator") if body is not None else request.query_params.get("annotator")
        if not isinstance(raw, str):
            raise DataError("give the annotator's name (annotator=NAME)")
        return check_annotator(raw)

    def unit_at(raw: Any) -> tuple[int, Unit]:
        if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not str(raw).isdigit() or int(raw) >= len(units):
            raise LookupError(f"no item {raw!r}: items are numbered 0 to {len(units) - 1}")
        return int(raw), units[int(raw)]

    def index(request: Request) -> FileResponse:
        return FileResponse(ASSETS / "index.html", media_type="text/html; charset=utf-8")

    def config(request: Request) -> JSONResponse:
        return JSONResponse({"task": task, "total": len(units), "rubric": rubric.name if rubric and task == "rubric" else None,
                             "criteria": criteria})

    def queue(request: Request) -> JSONResponse:
        try:
            return JSONResponse(progress(annotator(request)))
        except DataError as err:
            return error(str(err))

    def item(request: Request) -> JSONResponse:
        try:
            who = annotator(request)
            i, unit = unit_at(request.path_params["i"])
        except DataError as err:
            return error(str(err))
        except LookupError as err:
            return error(str(err), 404)
        if unit.shown is not None:
            outputs = [{"label": side, "text": unit.item.outputs[m]} for side, m in zip("AB", unit.shown)]
        else:
            outputs = [{"label": f"Output {unit.position[0]} of {unit.position[1]}", "text": unit.item.outputs[unit.model]}]
        stored = store.get(who, unit.item.id, task, model=unit.model)
        answer = None
        if stored is not None:
            answer = {"note": stored.payload.get("note", "")}
            answer.update({"scores": stored.payload.get("scores", {})} if task == "rubric" else {"choice": stored.payload["choice"]})
        return JSONResponse({"index": i, "id": unit.item.id, "prompt": unit.item.prompt, "reference": unit.item.reference,
                             "outputs": outputs, "answer": answer})

    async def answer(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return error("the body must be a JSON object")
        if not isinstance(body, dict):
            return error("the body must be a JSON object")
        try:
            who = annotator(request, body)
            i, unit = unit_at(body.get("index"))
            note = body.get("note", "")
            if task == "rubric":
                scores = body.get("scores")
                if not isinstance(scores, dict):
                    raise DataError("field 'scores': map each criterion to a score")
                for name, value in scores.items():
                    if name not in scales:
                        raise DataError(f"unknown criterion {name!r} (the rubric has {', '.join(scales)})")
                    low, high = scales[name]
                    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                        raise DataError(f"criterion {name!r}: the score {value!r} is not a whole number from {low} to {high}")
                payload: dict[str, Any] = {"scores": scores, "note": note}
            else:
                assert unit.shown is not None
                payload = {"choice": body.get("choice"), "shown": list(unit.shown), "note": note}
            await run_in_threadpool(store.save, who, unit.item.id, task, payload, model=unit.model)  # an fsync: off the event loop
        except DataError as err:
            return error(str(err))
        except LookupError as err:
            return error(str(err), 404)
        return JSONResponse({"saved": i, "progress": await run_in_threadpool(progress, who)})

    def export(request: Request) -> PlainResponse:
        fmt = request.query_params.get("format", "csv")
        try:
            text = export_text(store, task, fmt, tuple(scales) or None)
        except ConfigError as err:
            return error(str(err))
        media = "text/csv" if fmt == "csv" else "application/json"
        return PlainResponse(text, media_type=f"{media}; charset=utf-8",
                             headers={"content-disposition": f'attachment; filename="answers-{task}.{fmt}"'})

    routes = [
        Route("/", index), Route("/api/config", config), Route("/api/items", queue), Route("/api/item/{i}", item),
        Route("/api/answer", answer, methods=["POST"]), Route("/api/export", export),
        Mount("/static", StaticFiles(directory=ASSETS), name="static"),
    ]
    middleware = [Middleware(_Guard, token=token), Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))]
    return Starlette(routes=routes, middleware=middleware)


def _bind_store(store: AnswerStore, task: str, rubric: Rubric | None, criteria: list[dict[str, Any]]) -> None:
    """Record what the store is for, and refuse one made for another task or rubric (its
    answers would be mixed with these)."""
    recorded = store.meta("task")
    if recorded is not None and recorded != task:
        raise ConfigError(f"{store.path}: holds {recorded} answers, not {task}; use another --store for this task")
    name = rubric.name if rubric is not None else ""
    if recorded is not None and (store.meta("rubric") or "") != name:
        raise ConfigError(f"{store.path}: holds answers on the rubric {store.meta('rubric')!r}, not {name!r}; use another --store")
    store.set_meta("task", task)
    store.set_meta("rubric", name)
    store.set_meta("criteria", json.dumps([c["name"] for c in criteria]))


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, port: int, token: str | None) -> None:
    """Before the server starts: a non-loopback address needs a token, and the port must be free."""
    import socket

    if not is_loopback(host) and not token:
        raise ConfigError(f"--host {host}: other machines could reach the app; pass --token SECRET too "
                          "(e.g. --token $(python -c 'import secrets; print(secrets.token_urlsafe(16))'))")
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port}: use a port from 1 to 65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host.strip("[]"), port))
        except OSError as err:
            raise ConfigError(f"--host {host} --port {port}: cannot listen there ({err.strerror}); choose another --port") from None


def serve(app: Starlette, host: str, port: int) -> None:
    """Run the app until Ctrl-C (uvicorn stops cleanly on SIGINT/SIGTERM)."""
    import uvicorn

    uvicorn.Server(uvicorn.Config(app, host=host.strip("[]"), port=port, log_level="warning", access_log=False)).run()
