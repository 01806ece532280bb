"""The labeling loop's routes answered straight from the middleware stack, below FastAPI's routing layer.

Next item and submit are called by every annotator all day. Through FastAPI each request also passes the
router's matching over every route, two exit stacks, the exception wrappers and the generic dependency solver:
about as much CPU again as the route's own work outside the database. `Express` serves the routes it is
given itself, from the same `APIRoute` (same endpoint, same dependencies, same body model), with the same
answers:

- path and header parameters and the JSON body are read and validated by the route's own FastAPI fields, in
  FastAPI's order (a body that is not JSON first, then the dependencies, then the fields), so a bad request
  gets the same 422 body;
- the dependencies it accepts are coroutine functions of the request alone (`gated`); a route that needs
  more is refused when the app is built, not served differently;
- an exception goes to the app's own exception handlers; one without a handler propagates, as in FastAPI;
- the request passes the same outer middleware (metrics, security headers), labeled by the route's path.

Any other request goes on to FastAPI. With `express_routes` off (a setting) every request does.
"""

from __future__ import annotations

import email.message
import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Handler = Callable[[Request, Exception], Awaitable[Response] | Response]


class _Missing:
    """No body was sent (FastAPI's `Undefined`)."""


MISSING = _Missing()


@dataclass(frozen=True)
class _Param:
    name: str  # the endpoint's argument
    key: str  # the path parameter's name or the header's name
    field: Any  # FastAPI's ModelField: its validation gives FastAPI's errors


class ExpressRoute:
    """One route served by `Express`: its matching, its parameters and its endpoint, taken from the `APIRoute`."""

    def __init__(self, route: APIRoute) -> None:
        dependant = route.dependant
        unsupported = [kind for kind in ("query_params", "cookie_params") if getattr(dependant, kind)]
        if unsupported or not inspect.iscoroutinefunction(route.endpoint) or len(dependant.body_params) > 1:
            raise TypeError(f"{route.path} cannot be served by Express ({unsupported or 'endpoint or body'})")
        self.route = route
        self.methods = frozenset(route.methods or ())
        self.path_params = [_Param(f.name, f.alias, f) for f in dependant.path_params]
        self.headers = [_Param(f.name, _header_name(f), f) for f in dependant.header_params]
        self.body = dependant.body_params[0] if dependant.body_params else None
        self.dependencies: list[tuple[str, Callable[[Request], Awaitable[Any]]]] = []
        for dep in dependant.dependencies:
            plain = not (dep.path_params or dep.query_params or dep.header_params or dep.cookie_params
                         or dep.body_params or dep.dependencies)
            if not (plain and dep.request_param_name and dep.name and inspect.iscoroutinefunction(dep.call)):
                raise TypeError(f"{route.path}: dependency {dep.call!r} is not a coroutine of the request alone")
            self.dependencies.append((dep.name, _of_request(dep.call, dep.request_param_name)))

    def match(self, scope: Scope) -> dict[str, Any] | None:
        if scope["method"] not in self.methods:
            return None
        found = self.route.path_regex.match(scope["path"])
        if found is None:
            return None
        convertors = self.route.param_convertors
        return {key: convertors[key].convert(value) for key, value in found.groupdict().items()}

    async def serve(self, request: Request) -> Response:
        body = await self._read_body(request) if self.body is not None else MISSING
        kwargs: dict[str, Any] = {}
        for name, call in self.dependencies:
            kwargs[name] = await call(request)
        errors: list[dict[str, Any]] = []
        for param in self.path_params:
            kwargs[param.name] = _validated(param.field, request.path_params.get(param.key), ("path", param.key),
                                            errors)
        for param in self.headers:
            value = request.headers.get(param.key)
            if value is None and not param.field.field_info.is_required():
                kwargs[param.name] = param.field.default
            else:
                kwargs[param.name] = _validated(param.field, value, ("header", param.key), errors)
        if self.body is not None:
            if body is MISSING:
                if self.body.field_info.is_required():
                    errors.append(_missing(("body",)))
                kwargs[self.body.name] = None if self.body.field_info.is_required() else self.body.default
            else:
                kwargs[self.body.name] = _validated(self.body, body, ("body",), errors)
        if errors:
            raise RequestValidationError(errors, body=None if body is MISSING else body)
        response = await self.route.endpoint(**kwargs)
        if not isinstance(response, Response):
            raise TypeError(f"{self.route.path}: an Express route answers with a Response")
        return response

    async def _read_body(self, request: Request) -> Any:
        """As FastAPI reads a JSON body: parsed when it says it is JSON, else the bytes (for the field to refuse)."""
        raw = await request.body()
        if not raw:
            return MISSING
        content_type = request.headers.get("content-type")
        if not content_type:
            return raw
        if content_type == "application/json":
            return _json(raw)
        message = email.message.Message()
        message["content-type"] = content_type
        subtype = message.get_content_subtype()
        if message.get_content_maintype() != "application" or not (subtype == "json" or subtype.endswith("+json")):
            return raw
        return _json(raw)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {},
              "ctx": {"error": exc.msg}}], body=exc.doc) from exc


def _of_request(call: Callable[..., Awaitable[Any]], parameter: str) -> Callable[[Request], Awaitable[Any]]:
    async def run(request: Request) -> Any:
        return await call(**{parameter: request})
    return run


def _header_name(field: Any) -> str:
    info = field.field_info
    if field.alias == field.name and getattr(info, "convert_underscores", True):
        return str(field.name).replace("_", "-")
    return str(field.alias)


def _missing(loc: tuple[str | int, ...]) -> dict[str, Any]:
    return {"type": "missing", "loc": loc, "msg": "Field required", "input": None}


def _validated(field: Any, value: Any, loc: tuple[str | int, ...], errors: list[dict[str, Any]]) -> Any:
    if value is None and field.field_info.is_required():
        errors.append(_missing(loc))
        return None
    result, problems = field.validate(value, {}, loc=loc)
    errors.extend(problems)
    return result


def route_of(router: APIRouter, endpoint: Callable[..., Any]) -> APIRoute:
    """The router's route whose endpoint is `endpoint`."""
    found = [r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is endpoint]
    if len(found) != 1:
        raise LookupError(f"{endpoint.__name__}: {len(found)} routes")
    return found[0]


class Express:
    """ASGI middleware: serves its routes itself and passes every other request on to `app`."""

    def __init__(self, app: ASGIApp, routes: Sequence[APIRoute] = (), enabled: bool = True) -> None:
        self.app = app
        self.routes = [ExpressRoute(route) for route in routes] if enabled else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.routes:
                params = route.match(scope)
                if params is not None:
                    await self._serve(route, params, scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _serve(self, route: ExpressRoute, params: dict[str, Any], scope: Scope, receive: Receive,
                     send: Send) -> None:
        scope["route"] = route.route
        scope["endpoint"] = route.route.endpoint
        scope["path_params"] = params
        request = Request(scope, receive, send)
        try:
            response = await route.serve(request)
        except Exception as exc:
            handler = _handler_for(scope, exc)
            if handler is None:
                raise
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)


def _handler_for(scope: Scope, exc: Exception) -> Handler | None:
    """The app's exception handler for `exc` (by its class's MRO), as Starlette's ExceptionMiddleware finds it."""
    handlers: dict[Any, Handler] = getattr(scope.get("app"), "exception_handlers", {})
    for cls in type(exc).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None
