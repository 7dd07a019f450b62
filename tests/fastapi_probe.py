"""Ask FastAPI and SQLAlchemy themselves what a fixture project builds (run in a subprocess).

Reads one JSON request on stdin::

    {"src": "<source root>", "app": "pkg.main:app", "base": "pkg.models:Base" | null,
     "commands": ["curl ...", ...] | null, "validate": ["curl ...", ...] | null,
     "env": {"TOKEN": "...", "API_KEY": "..."}, "lifespan": false}

(``lifespan``: run the application's start-up first, for routers it installs then)

and prints one JSON answer on stdout:

- ``endpoints``: ``[method, path, auth, rate limits]`` of every APIRoute the application
  serves, one per method, with included routers flattened (FastAPI >= 0.137 keeps them as
  ``_IncludedRouter``; ``fastapi.routing.iter_route_contexts`` yields their effective full
  paths) and mounted FastAPI applications walked with their mount path as prefix. ``auth``
  comes from the security schemes in the route's dependency tree, the rate limits from the
  SlowAPI limiter's own tables (decorator limits, else the default limits when
  SlowAPIMiddleware enforces them);
- ``middleware``: ``[class name, keyword arguments]`` in the order the app added them;
- ``documentation``: the app's ``openapi_url``, ``docs_url`` and ``redoc_url``;
- ``models``: ``[name, table, columns, relationships]`` of every class mapped on ``base``'s registry;
- ``calls``: ``[status, body]`` for each command sent through ``TestClient`` (handlers run);
- ``validation``: for each command, the errors pydantic reports for its query and JSON body
  against the route's own parameter types (nothing runs).

On interpreters older than 3.14 a module that does not compile (the fixture's 3.14-syntax
file) is imported after a LibCST rewrite to 3.11 syntax: ``except A, B:`` gets its
parentheses, ``type X = ...`` becomes an assignment and PEP 695 type parameters become
module-level TypeVars. Routes and dependencies are unchanged by the rewrite (FastAPI
unwraps PEP 695 aliases to the same ``Annotated`` value).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import json
import shlex
import sys
from urllib.parse import parse_qsl, urlsplit

sys.dont_write_bytecode = True


# --------------------------------------------------------------------------- #
# Importing Python 3.14 syntax on an older interpreter
# --------------------------------------------------------------------------- #


def downgrade(source: str) -> str:
    import libcst as cst

    class Downgrade(cst.CSTTransformer):
        def __init__(self) -> None:
            self.type_params: dict[str, str] = {}

        def _collect(self, params) -> None:
            for param in params.params if params else ():
                kind = type(param.param).__name__  # TypeVar, TypeVarTuple, ParamSpec
                self.type_params[param.param.name.value] = kind

        def leave_ExceptHandler(self, original, updated):
            if isinstance(updated.type, cst.Tuple) and not updated.type.lpar:
                return updated.with_changes(type=updated.type.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()]))
            return updated

        def leave_TypeAlias(self, original, updated):
            self._collect(updated.type_parameters)
            return cst.Assign(targets=[cst.AssignTarget(updated.name)], value=updated.value)

        def leave_FunctionDef(self, original, updated):
            self._collect(updated.type_parameters)
            return updated.with_changes(type_parameters=None)

        def leave_ClassDef(self, original, updated):
            self._collect(updated.type_parameters)
            return updated.with_changes(type_parameters=None)

        def leave_Module(self, original, updated):
            header = [
                cst.parse_statement(f'{name} = __import__("typing").{kind}("{name}")') for name, kind in self.type_params.items()
            ]
            return updated.with_changes(body=[*header, *updated.body])

    return cst.parse_module(source).visit(Downgrade()).code


class _Loader(importlib.machinery.SourceFileLoader):
    def source_to_code(self, data, path, *, _optimize=-1):
        try:
            return compile(data, path, "exec", dont_inherit=True)
        except SyntaxError:
            if sys.version_info >= (3, 14):
                raise
            return compile(downgrade(data.decode("utf-8")), path, "exec", dont_inherit=True)


def install_loader() -> None:
    details = [
        (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
        (_Loader, importlib.machinery.SOURCE_SUFFIXES),
        (importlib.machinery.SourcelessFileLoader, importlib.machinery.BYTECODE_SUFFIXES),
    ]
    sys.path_hooks.insert(0, importlib.machinery.FileFinder.path_hook(*details))
    sys.path_importer_cache.clear()


def load(spec: str):
    module, _, attr = spec.partition(":")
    value = importlib.import_module(module)
    for part in attr.split("."):
        value = getattr(value, part)
    return value


# --------------------------------------------------------------------------- #
# Routes and models
# --------------------------------------------------------------------------- #


def routes(app, prefix: str = "", mounted: bool = False) -> list[tuple[str, str, object, object, bool]]:
    """(method, full path, route context, its app, mounted?) of every APIRoute, mounted FastAPI apps included.

    The context is the effective route: its dependant was built for the full path.
    """
    from fastapi import FastAPI
    from fastapi.routing import APIRoute, iter_route_contexts
    from starlette.routing import Mount

    out = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            if isinstance(route.app, FastAPI):
                out.extend(routes(route.app, prefix + route.path, True))
            continue
        if isinstance(route, APIRoute):
            for method in sorted(context.methods or ()):
                out.append((method, prefix + context.path, context, app, mounted))
    return out


def auth_of(context) -> str:
    """bearer / api-key / basic / none, from the security schemes in the route's dependency tree."""
    from fastapi.security import APIKeyCookie, APIKeyHeader, APIKeyQuery, HTTPBasic, HTTPBearer, OAuth2
    from fastapi.security.open_id_connect_url import OpenIdConnect

    found = set()
    stack = [context.dependant]
    while stack:
        dependant = stack.pop()
        call = dependant.call
        if isinstance(call, (OAuth2, HTTPBearer, OpenIdConnect)):
            found.add("bearer")
        elif isinstance(call, (APIKeyHeader, APIKeyQuery, APIKeyCookie)):
            found.add("api-key")
        elif isinstance(call, HTTPBasic):
            found.add("basic")
        stack.extend(dependant.dependencies)
    return next((kind for kind in ("bearer", "api-key", "basic") if kind in found), "none")


def rate_limits(app, context, mounted: bool) -> list[str] | None:
    """The SlowAPI limits configured for a route: its decorators', else the app's default limits."""
    limiter = getattr(app.state, "limiter", None)
    if limiter is None:
        return None
    endpoint = context.endpoint
    name = f"{endpoint.__module__}.{endpoint.__name__}"
    if name in limiter._exempt_routes:
        return None
    own = limiter._route_limits.get(name)
    if own:
        return [str(limit.limit) for limit in own]
    from slowapi.middleware import SlowAPIASGIMiddleware, SlowAPIMiddleware

    enforced = any(m.cls in (SlowAPIMiddleware, SlowAPIASGIMiddleware) for m in app.user_middleware)
    if mounted or not enforced or not limiter._default_limits:
        return None
    return [str(limit.limit) for group in limiter._default_limits for limit in group]


def endpoints(app) -> list[list]:
    """[method, path, auth, rate limits] of every endpoint the application serves."""
    return sorted(
        [method, path, auth_of(context), rate_limits(owner, context, mounted)]
        for method, path, context, owner, mounted in routes(app)
    )


def middleware(app) -> list[list]:
    """[class name, keyword arguments] in the order the app added them (``@app.middleware`` is a
    BaseHTTPMiddleware whose ``dispatch`` is shown by function name)."""
    out = []
    for entry in reversed(app.user_middleware):  # add_middleware inserts at the front
        kwargs = dict(entry.kwargs)
        if callable(kwargs.get("dispatch")):
            kwargs["dispatch"] = kwargs["dispatch"].__name__
        out.append([entry.cls.__name__, kwargs])
    return out


def models(base) -> list[list]:
    out = []
    for mapper in base.registry.mappers:
        out.append(
            [
                mapper.class_.__name__,
                mapper.local_table.name,
                sorted(attr.key for attr in mapper.column_attrs),
                sorted(rel.key for rel in mapper.relationships),
            ]
        )
    return sorted(out)


# --------------------------------------------------------------------------- #
# Test commands
# --------------------------------------------------------------------------- #


def parse_curl(command: str, env: dict[str, str]) -> dict:
    for name, value in env.items():
        command = command.replace(f"${name}", value)
    words = shlex.split(command, comments=True)
    assert words[0] == "curl", command
    request = {"method": "GET", "url": None, "headers": {}, "json": None, "cookies": {}}
    i = 1
    while i < len(words):
        word = words[i]
        if word == "-X":
            request["method"] = words[i + 1]
            i += 2
        elif word == "-I":
            request["method"] = "HEAD"
            i += 1
        elif word == "-H":
            key, _, value = words[i + 1].partition(":")
            request["headers"][key.strip()] = value.strip()
            i += 2
        elif word == "-d":
            request["json"] = json.loads(words[i + 1])
            i += 2
        elif word == "-b":
            request["cookies"].update(dict(p.strip().split("=", 1) for p in words[i + 1].split(";")))
            i += 2
        elif word.startswith("-"):
            raise AssertionError(f"unexpected curl option {word} in {command}")
        else:
            request["url"] = word
            i += 1
    parts = urlsplit(request["url"])
    request["path"], request["query"] = parts.path, dict(parse_qsl(parts.query))
    return request


def call(app, commands: list[str], env: dict[str, str]) -> list[list]:
    from fastapi.testclient import TestClient

    out = []
    with TestClient(app) as client:
        for command in commands:
            request = parse_curl(command, env)
            client.cookies.clear()
            for key, value in request["cookies"].items():
                client.cookies.set(key, value)
            response = client.request(
                request["method"],
                request["path"],
                params=request["query"],
                headers=request["headers"],
                json=request["json"],
            )
            out.append([response.status_code, response.text[:300]])
    return out


def validate(app, commands: list[str], env: dict[str, str]) -> list[list[str]]:
    """The pydantic errors of each command's query and body against its route's own parameter types."""
    from pydantic import BaseModel, TypeAdapter, ValidationError

    table = routes(app)
    out = []
    for command in commands:
        request = parse_curl(command, env)
        route = next(
            (c for method, path, c, _app, _m in table if method == request["method"] and _path_matches(path, request["path"])),
            None,
        )
        if route is None:
            out.append([f"no route serves {request['method']} {request['path']}"])
            continue
        errors: list[str] = []
        body_params = _flat(route.dependant, "body_params")
        for param in _flat(route.dependant, "query_params"):
            model = param.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):  # a model of query parameters
                try:
                    model.model_validate({k: v for k, v in request["query"].items() if k in model.model_fields})
                except ValidationError as exc:
                    errors.append(str(exc))
            elif param.field_info.is_required() and param.alias not in request["query"]:
                errors.append(f"query parameter {param.alias} is missing")
        sent = {k.lower() for k in request["headers"]}
        for param in _flat(route.dependant, "header_params"):
            name = param.alias
            if getattr(param.field_info, "convert_underscores", True) and param.field_info.alias is None:
                name = name.replace("_", "-")
            if param.field_info.is_required() and name.lower() not in sent:
                errors.append(f"header {name} is missing")
        for param in _flat(route.dependant, "cookie_params"):
            if param.field_info.is_required() and param.alias not in request["cookies"]:
                errors.append(f"cookie {param.alias} is missing")
        for param in body_params:
            embed = len(body_params) > 1 or getattr(param.field_info, "embed", False)
            if request["json"] is None:
                if param.field_info.is_required():
                    errors.append(f"body {param.alias} is missing")
                continue
            value = request["json"].get(param.alias) if embed else request["json"]
            try:
                TypeAdapter(param.field_info.annotation).validate_python(value)
            except ValidationError as exc:
                errors.append(str(exc))
        out.append(errors)
    return out


def _flat(dependant, attr: str) -> list:
    found = list(getattr(dependant, attr))
    for sub in dependant.dependencies:
        found.extend(_flat(sub, attr))
    return found


def _path_matches(template: str, path: str) -> bool:
    import re

    pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
    return re.fullmatch(pattern, path) is not None


def main() -> None:
    request = json.loads(sys.stdin.read())
    sys.path.insert(0, request["src"])
    install_loader()
    app = load(request["app"])
    if request.get("lifespan"):
        # Routers installed at start-up exist only once the lifespan has run.
        from fastapi.testclient import TestClient

        with TestClient(app):
            pass
    answer: dict = {
        "endpoints": endpoints(app),
        "middleware": middleware(app),
        "documentation": {"openapi_url": app.openapi_url, "docs_url": app.docs_url, "redoc_url": app.redoc_url},
    }
    if request.get("base"):
        answer["models"] = models(load(request["base"]))
    env = request.get("env") or {}
    if request.get("validate") is not None:
        answer["validation"] = validate(app, request["validate"], env)
    if request.get("commands") is not None:
        answer["calls"] = call(app, request["commands"], env)
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
