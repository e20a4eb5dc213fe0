"""Classroom mode in the gateway: students' tokens instead of keys, daily quotas, usage billed.

`ClassroomMiddleware` sits inside the gateway's own middleware (which already keeps /admin/
to the admin key): every other route but /health needs a student's token (or the
instructor's API or admin key). A student over a daily quota gets the 429 of their own
protocol, with a message saying which limit and when it resets; every request a student
makes is written to the store once its response is sent, with the tokens the pipeline
noted on the request's Meter (router.py). The upstreams' keys live in the gateway's
environment only: they never reach a response, a log line or the store.

Admin routes (admin key only): GET/POST /admin/classroom/students, DELETE
/admin/classroom/students/{name}, GET /admin/classroom/report?day=YYYY-MM-DD|*.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from .. import classroom as cls
from .errors import APIError, protocol_of, render
from .router import Meter

log = logging.getLogger("llmkit.server")
routes = APIRouter()


class ClassroomMiddleware:
    def __init__(self, app, store: cls.Store, quota, settings, instructor_keys: tuple[str, ...]):
        self.app = app
        self.store = store
        self.quota = quota
        self.settings = settings
        self.instructor_keys = tuple(k for k in instructor_keys if k)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in self.settings.open_paths:
            return await self.app(scope, receive, send)
        from anyio import to_thread

        from .app import _key_from, _same

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode("latin-1")
        proto = protocol_of(scope["path"], headers, query)

        async def refuse(err: APIError):
            status, hdrs, body = render(proto, err)
            await send({"type": "http.response.start", "status": status,
                        "headers": [(k.encode(), v.encode()) for k, v in hdrs.items()]})
            await send({"type": "http.response.body", "body": body})

        path = scope["path"]
        if path == "/admin" or path.startswith("/admin/"):
            if not self.settings.admin_key:  # loopback is not enough here: students may share the machine
                return await refuse(APIError(403, "Classroom mode keeps /admin/ to the admin key: start the "
                                                  "gateway with LLMKIT_ADMIN_KEY (or --admin-key).",
                                             code="permission_denied"))
            return await self.app(scope, receive, send)  # the gateway's middleware checked the admin key
        given = _key_from(headers, query)
        if any(_same(given, k) for k in self.instructor_keys):
            return await self.app(scope, receive, send)
        student = await to_thread.run_sync(self.store.who, given) if given else None
        if student is None:
            what = "No classroom token provided" if not given else "Unknown classroom token"
            return await refuse(APIError(401, f"{what}: this gateway runs in classroom mode; use the token your "
                                              "instructor gave you as the API key (with LLMKIT_GATEWAY_URL set "
                                              "to this gateway).", code="invalid_api_key",
                                         type="authentication_error" if proto == "anthropic" else None))
        if scope["method"] != "POST":
            return await self.app(scope, receive, send)
        used = await to_thread.run_sync(self.store.used, student)
        reached = cls.over_quota(used, self.quota)
        if reached:
            wait = cls.seconds_to_midnight()
            return await refuse(APIError(
                429, f"Classroom quota reached for {student!r}: {reached}. It resets at 00:00 UTC "
                     f"(in {wait // 3600} h {wait % 3600 // 60} min); ask your instructor if you need more.",
                code="quota_exceeded", headers={"retry-after": str(wait)}))
        meter = scope["llmkit.meter"] = Meter()
        status, recorded = 0, False

        async def record():
            nonlocal recorded
            if recorded:
                return
            recorded = True
            up = meter.upstream
            usd = cls.cost(meter.model, up.provider if up else None, meter.prompt_tokens, meter.completion_tokens)
            try:
                await to_thread.run_sync(self.store.record, student, path, meter.model, up.name if up else None,
                                         status or 499, meter.prompt_tokens, meter.completion_tokens, usd)
            except Exception:  # say so in the log (never a key: none is here)
                log.exception("classroom: could not record %s's request", student)

        async def watch(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                await record()  # committed before the reply's last byte: an answered request is never lost
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            await record()  # the client left, or the app failed before the end


def _store(request: Request) -> cls.Store:
    return request.app.state.classroom


@routes.get("/admin/classroom/students")
async def list_students(request: Request):
    return {"students": [{"name": n, "created": c} for n, c in _store(request).students()]}


@routes.post("/admin/classroom/students")
async def add_student(request: Request):
    from .validate import field, json_body

    body = await json_body(request)
    name = field(body, "name", str, required=True)
    try:
        token = _store(request).add(name)
    except cls.ClassroomError as e:
        raise APIError(409 if "exists" in str(e) else 400, str(e), param="name") from None
    return JSONResponse({"name": name, "token": token}, status_code=201)


@routes.delete("/admin/classroom/students/{name}")
async def remove_student(request: Request, name: str):
    try:
        _store(request).remove(name)
    except cls.ClassroomError as e:
        raise APIError(404, str(e), param="name") from None
    return {"removed": name}


@routes.get("/admin/classroom/report")
async def report(request: Request, day: str | None = None):
    return {"day": day or cls.today(), "rows": _store(request).report(day)}


def install(app, config, settings) -> None:
    """Classroom mode on this app: the store on app.state.classroom, the middleware, the admin routes.
    The API key (if any) becomes an instructor key beside the admin key."""
    store = cls.Store(config.db)
    app.state.classroom = store
    keys = (settings.api_key, settings.admin_key)
    settings.api_key = None  # the classroom middleware checks keys and tokens itself
    app.include_router(routes)
    app.add_middleware(ClassroomMiddleware, store=store, quota=config.quota, settings=settings,
                       instructor_keys=keys)
