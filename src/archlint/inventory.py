"""The implementation report (S21), built statically from the project index.

``build_inventory(project)`` returns a plain dict with the keys of the
profile's "Output Format" — ``endpoints_created``, ``models_created``,
``middleware_added``, ``security_measures``, ``test_commands``,
``documentation`` — read from the same facts, index and route table the rules
use. Nothing of the project is imported or run. What cannot be resolved is
said to be unverifiable (with the reason), never guessed.

``render_json`` / ``render_markdown`` turn the dict into the two output
formats; ``load_schema`` returns the JSON Schema the JSON output follows
(shipped in the wheel as ``archlint/schemas/inventory.schema.json``).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from archlint.analysis.cors import regex_is_wildcard
from archlint.analysis.pydantic_models import SEQUENCE_TYPES
from archlint.analysis.rate_limits import RateLimitNames, auth_kind, is_exempt, limit_decorators, limit_values
from archlint.analysis.routes import NO_DOCUMENT, FullPath, Mount, ObjKey, Route, methods_on
from archlint.analysis.tokens import TokenNames, issue_kinds, token_kind
from archlint.collect.facts import (
    Attr,
    BinOp,
    Call,
    ClassFact,
    DictExpr,
    Expr,
    FunctionFact,
    Lit,
    Name,
)
from archlint.names import FIELD_FUNCTIONS
from archlint.values import (
    ClassRef,
    Const,
    Ctx,
    FuncRef,
    Instance,
    Module,
    SeqValue,
    Symbol,
    TypeForm,
    Unknown,
    Value,
    fqn_of,
)

if TYPE_CHECKING:
    from archlint.analysis.apps import Registration
    from archlint.config import Config
    from archlint.discover import SourceFile
    from archlint.index import ProjectIndex
    from archlint.project import Project

UNRESOLVED = "<unresolved>"
REDACTED = "<redacted>"
DEFAULT_BASE_URL = "http://localhost:8000"


def _fqns(modules: Iterable[str], names: Iterable[str]) -> frozenset[str]:
    return frozenset(f"{m}.{n}" for m in modules for n in names)


# --------------------------------------------------------------------------- #
# What FastAPI, SlowAPI, SQLAlchemy, pydantic... call things (by dotted name)
# --------------------------------------------------------------------------- #

DEPENDS = _fqns(("fastapi", "fastapi.param_functions", "fastapi.params"), ("Depends",))
SECURITY = _fqns(("fastapi", "fastapi.param_functions", "fastapi.params"), ("Security",))
ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated"})
OPTIONAL = frozenset({"typing.Optional", "typing_extensions.Optional"})
UNION = frozenset({"typing.Union", "typing_extensions.Union", "types.UnionType"})
LITERAL = frozenset({"typing.Literal", "typing_extensions.Literal"})
CLASSVAR = frozenset({"typing.ClassVar", "typing_extensions.ClassVar"})
DICTS = frozenset({"builtins.dict", "typing.Dict", "typing.Mapping", "collections.abc.Mapping"})

_SECURITY_MODULES = (
    "fastapi.security",
    "fastapi.security.oauth2",
    "fastapi.security.http",
    "fastapi.security.api_key",
    "fastapi.security.open_id_connect_url",
)
BEARER_SCHEMES = _fqns(
    _SECURITY_MODULES, ("OAuth2PasswordBearer", "OAuth2AuthorizationCodeBearer", "OAuth2", "HTTPBearer", "OpenIdConnect")
)
API_KEY_SCHEMES = _fqns(_SECURITY_MODULES, ("APIKeyHeader", "APIKeyQuery", "APIKeyCookie"))
BASIC_SCHEMES = _fqns(_SECURITY_MODULES, ("HTTPBasic", "HTTPDigest"))
PASSWORD_FORMS = _fqns(_SECURITY_MODULES, ("OAuth2PasswordRequestForm", "OAuth2PasswordRequestFormStrict"))
AUTH_ORDER = ("bearer", "api-key", "basic", "dependency")

#: Handler parameters FastAPI fills itself (never a body, query or path parameter).
SPECIAL_PARAMS = frozenset(
    _fqns(("fastapi", "starlette.requests"), ("Request", "HTTPConnection"))
    | _fqns(("fastapi", "starlette.responses", "fastapi.responses"), ("Response",))
    | _fqns(("fastapi", "starlette.background", "fastapi.background"), ("BackgroundTasks",))
    | _fqns(("fastapi", "starlette.websockets", "fastapi.websockets"), ("WebSocket",))
    | _fqns(("fastapi.security", "fastapi.security.oauth2"), ("SecurityScopes",))
)
_PARAM_MODULES = ("fastapi", "fastapi.param_functions", "fastapi.params")
PARAM_MARKERS = {kind: _fqns(_PARAM_MODULES, (kind,)) for kind in ("Body", "Form", "File", "Query", "Header", "Cookie", "Path")}
UPLOAD_FILES = frozenset({"fastapi.UploadFile", "fastapi.datastructures.UploadFile", "starlette.datastructures.UploadFile"})

FASTAPI_LIMITER = frozenset({"fastapi_limiter.depends.RateLimiter"})

BASE_MODELS = frozenset({"pydantic.BaseModel", "pydantic.main.BaseModel"})
SQLMODEL = frozenset({"sqlmodel.SQLModel", "sqlmodel.main.SQLModel"})
DECLARATIVE_BASES = _fqns(("sqlalchemy.orm", "sqlalchemy.orm.decl_api"), ("DeclarativeBase", "DeclarativeBaseNoMeta"))
DECLARATIVE_FACTORIES = frozenset(
    {
        "sqlalchemy.orm.declarative_base",
        "sqlalchemy.orm.decl_api.declarative_base",
        "sqlalchemy.ext.declarative.declarative_base",
        "sqlalchemy.orm.registry.generate_base",
        "sqlalchemy.orm.decl_api.registry.generate_base",
    }
)
AS_DECLARATIVE = _fqns(("sqlalchemy.orm", "sqlalchemy.orm.decl_api", "sqlalchemy.ext.declarative"), ("as_declarative",))
DECLARED_ATTR = _fqns(("sqlalchemy.orm", "sqlalchemy.orm.decl_api", "sqlalchemy.ext.declarative"), ("declared_attr",))
COLUMN_FUNCTIONS = frozenset(
    {
        "sqlalchemy.orm.mapped_column",
        "sqlalchemy.orm._orm_constructors.mapped_column",
        "sqlalchemy.Column",
        "sqlalchemy.schema.Column",
        "sqlalchemy.sql.schema.Column",
        "sqlalchemy.orm.column_property",
        "sqlalchemy.orm.composite",
        "sqlalchemy.orm.deferred",
        "sqlalchemy.orm.query_expression",
    }
)
RELATIONSHIP_FUNCTIONS = frozenset(
    {
        "sqlalchemy.orm.relationship",
        "sqlalchemy.orm._orm_constructors.relationship",
        "sqlalchemy.orm.relation",
        "sqlalchemy.orm.backref",
        "sqlmodel.Relationship",
        "sqlmodel.main.Relationship",
    }
)
MAPPED = frozenset({"sqlalchemy.orm.Mapped", "sqlalchemy.orm.base.Mapped"})
_NOT_FIELDS = frozenset(
    {
        "__tablename__",
        "__table_args__",
        "__mapper_args__",
        "__abstract__",
        "__table__",
        "model_config",
        "metadata",
        "registry",
        "type_annotation_map",
    }
)

#: Middleware arguments never printed (the report ends up in pull requests).
_SECRET_ARG = re.compile(r"secret|password|passwd|token|(^|_)key$|api_?key|private", re.I)

METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE")
_PATH_PARAM = re.compile(r"\{([^}:]+)(?::([^}]*))?\}")
OPENAPI_NAMES = frozenset({"openapi.json", "openapi.yaml", "openapi.yml"})


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #


def build_inventory(project: Project, *, base_url: str = DEFAULT_BASE_URL, config: Config | None = None) -> dict:
    """The report for one indexed project, as a plain JSON-ready dict."""
    return _Inventory(project, base_url.rstrip("/"), config).build()


def load_schema() -> dict:
    """The JSON Schema of the report (``archlint/schemas/inventory.schema.json``)."""
    from importlib.resources import files

    text = files("archlint").joinpath("schemas").joinpath("inventory.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def render_json(report: dict) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def render_markdown(report: dict) -> str:
    """The report as tables for a pull-request description."""
    out: list[str] = [f"## Implementation report: {_md(report.get('project') or 'project')}", ""]
    endpoints = report["endpoints_created"]
    out += [f"### Endpoints ({len(endpoints)})", ""]
    if endpoints:
        out += ["| Method | Path | Auth | Rate limit |", "| --- | --- | --- | --- |"]
        for e in endpoints:
            path = f"`{_md(e['path'])}`" if e["path"] is not None else f"unverifiable: {_md(e.get('path_unverifiable', ''))}"
            auth = e["auth"] if e["auth"] != "unknown" else f"unknown ({_md(e.get('auth_unverifiable', ''))})"
            out.append(f"| {e['method'] or '?'} | {path} | {auth} | {_md(e['rate_limit'] or '—')} |")
    else:
        out.append("No endpoints found.")
    models = report["models_created"]
    out += ["", f"### Models ({len(models)})", ""]
    if models:
        out += ["| Model | Table | Fields | Relationships |", "| --- | --- | --- | --- |"]
        for m in models:
            table = f"`{_md(m['table'])}`" if m["table"] is not None else f"unverifiable: {_md(m.get('table_unverifiable', ''))}"
            fields = ", ".join(m["fields"]) or "—"
            rels = ", ".join(m.get("relationships", [])) or "—"
            out.append(f"| {_md(m['name'])} | {table} | {_md(fields)} | {_md(rels)} |")
    else:
        out.append("No SQLAlchemy or SQLModel table models found.")
    middleware = report["middleware_added"]
    out += ["", f"### Middleware ({len(middleware)})", ""]
    if middleware:
        out += ["| Middleware | Configuration |", "| --- | --- |"]
        for m in middleware:
            config = ", ".join(f"{k}={_compact(v)}" for k, v in m["config"].items()) or "—"
            out.append(f"| {_md(m['name'])} | {_md(config)} |")
    else:
        out.append("No middleware added.")
    out += ["", "### Security measures", ""]
    out += [f"- {_md(s)}" for s in report["security_measures"]] or ["None found."]
    out += ["", "### Test commands", ""]
    if report["test_commands"]:
        out += ["```bash", *report["test_commands"], "```"]
    else:
        out.append("No endpoints to call.")
    doc = report["documentation"]
    out += ["", "### Documentation", ""]
    updated = {True: "yes", False: "no", None: "no committed document to compare"}[doc["openapi_updated"]]
    out.append(f"- OpenAPI document up to date with the code: {updated}")
    for d in doc["openapi_documents"]:
        version = f"OpenAPI {d['openapi']}" if d.get("openapi") else "not an OpenAPI document"
        sync = {True: "matches the routes", False: "differs from the routes", None: "not compared"}[d["in_sync"]]
        line = f"- `{_md(d['path'])}`: {version}, {sync}"
        if d.get("missing_from_document"):
            line += f"; missing: {_md(', '.join(d['missing_from_document']))}"
        if d.get("not_in_code"):
            line += f"; not in the code: {_md(', '.join(d['not_in_code']))}"
        if d.get("error"):
            line += f" ({_md(d['error'])})"
        out.append(line)
    for g in doc["openapi_generated"]:
        if g["openapi_url"] is None:
            out.append(f"- The application at `{_md(g['app'])}` disables its generated OpenAPI document")
        else:
            docs = ", ".join(f"`{_md(u)}`" for u in (g["docs_url"], g["redoc_url"]) if u)
            out.append(
                f"- Generated by the application at `{_md(g['app'])}`: `{_md(g['openapi_url'])}`"
                + (f" (docs: {docs})" if docs else "")
            )
    if doc.get("postman_collection"):
        out.append(f"- Postman collection: `{_md(doc['postman_collection'])}`")
    if report.get("notes"):
        out += ["", "### Notes", ""]
        out += [f"- {_md(n)}" for n in report["notes"]]
    return "\n".join(out) + "\n"


def _md(text: object) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _compact(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


# --------------------------------------------------------------------------- #
# Building the report
# --------------------------------------------------------------------------- #


@dataclass(slots=True)
class _DepInfo:
    """What the dependencies of an endpoint add up to."""

    kinds: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)
    api_key_header: str | None = None
    api_key_in: str = "header"
    rate_limits: list[str] = field(default_factory=list)
    password_form: bool = False


@dataclass(slots=True)
class _Endpoint:
    method: str
    path: str | None
    reason: str
    route: Route
    full: FullPath | None
    app: ObjKey | None
    deps: _DepInfo
    auth: str
    auth_reason: str
    rate_limit: str | None
    #: login / register / refresh when S13 judges it as an auth endpoint, with its own SlowAPI limit.
    auth_endpoint: str | None = None
    slowapi_limit: str | None = None
    #: The tests that call it (module:function); None when the tests were not read.
    tests: list[str] | None = None

    def label(self) -> str:
        return f"{self.method} {self.path}"

    def as_dict(self) -> dict:
        out: dict[str, Any] = {"method": self.method, "path": self.path, "auth": self.auth, "rate_limit": self.rate_limit}
        if self.path is None:
            out["path_unverifiable"] = self.reason
        if self.auth == "unknown":
            out["auth_unverifiable"] = self.auth_reason
        out["handler"] = self.route.handler.fqn if self.route.handler else None
        out["source"] = f"{self.route.file}:{self.route.call.span.line}"
        if self.auth_endpoint is not None:
            out["auth_endpoint"] = {"kind": self.auth_endpoint, "rate_limit": self.slowapi_limit}
        if self.tests is not None:
            out["tested"] = bool(self.tests)
            out["tests"] = self.tests
        return out


class _Inventory:
    def __init__(self, project: Project, base_url: str, config: Config | None) -> None:
        self.project = project
        self.index: ProjectIndex = project.index
        self.table = project.routes
        self.base_url = base_url
        self.config = config
        self.notes: list[str] = []
        self._mw_cache: list[_MiddlewareSite] | None = None
        self._limiters: dict[ObjKey, Instance | None] = {}
        self._s7: tuple[Any, Any, set[ObjKey]] | None = None
        self._s13: Any = None
        self._rule_options: dict[Any, Any] = {}
        self._config: Config | None = None

    def build(self) -> dict:
        endpoints = self.endpoints()
        self.mark_tested(endpoints)
        middleware = self.middleware(endpoints)
        return {
            "project": self.project_name(),
            "endpoints_created": [e.as_dict() for e in endpoints],
            "models_created": self.models(),
            "middleware_added": middleware,
            "security_measures": self.security_measures(endpoints),
            "test_commands": [self.curl(e) for e in endpoints],
            "documentation": self.documentation(endpoints),
            "notes": self.notes,
        }

    def mark_tested(self, endpoints: list[_Endpoint]) -> None:
        """Which tests call each endpoint (S24's reading of the tests, with the same options)."""
        from archlint.checks.s24_tested_endpoints import UntestedEndpoint, endpoint_test_calls, endpoint_tests

        calls = endpoint_test_calls(self.project, self._options_of(UntestedEndpoint))
        for endpoint in endpoints:
            if endpoint.path is None:
                endpoint.tests = []
                continue
            found = endpoint_tests(calls, endpoint.route, endpoint.method, endpoint.path)
            endpoint.tests = sorted({call.test for call in found})

    def project_name(self) -> str:
        pyproject = self.project.root / "pyproject.toml"
        if pyproject.is_file():
            try:
                from archlint.pack import _read_toml

                name = _read_toml(pyproject.read_text(encoding="utf-8"), str(pyproject)).get("project", {}).get("name")
                if isinstance(name, str) and name:
                    return name
            except Exception:  # an unreadable pyproject is the check's business, not the report's
                pass
        return self.project.root.name

    # ----------------------------------------------------------- endpoints
    def endpoints(self) -> list[_Endpoint]:
        out: list[_Endpoint] = []
        reachable = self.table.reachable()
        unresolved_edges = [i for i in self.table.includes if i.child is None and i.parent in reachable]
        unresolved_mounts = [
            m for m in self.table.mounts if m.child is None and m.parent in reachable and not _is_static_mount(m)
        ]
        for inc in unresolved_edges:
            self.notes.append(
                f"{inc.file}:{inc.call.span.line}: an included router cannot be resolved statically "
                f"({inc.reason}); its endpoints are listed with an unverifiable path when their router is found."
            )
        for mount in unresolved_mounts:
            self.notes.append(
                f"{mount.file}:{mount.call.span.line}: a mounted application cannot be resolved statically; "
                "its endpoints are not listed."
            )
        websockets = 0
        rewritten: set[str] = set()
        factories = self._unused_router_factories(reachable)
        library_routes = 0
        for route in self.table.routes:
            if "WEBSOCKET" in route.methods:
                websockets += 1
                continue
            owner = self.table.objects[route.owner]
            if route.owner in factories:
                library_routes += len(route.methods)
                continue
            if route.full_paths:
                for full in route.full_paths:
                    reason = ""
                    path = full.path
                    if path is None:
                        seg = full.first_unknown()
                        reason = (
                            f"the path segment at {seg.path}:{seg.span.line} cannot be resolved ({seg.reason})"
                            if seg
                            else "unknown"
                        )
                    if full.rewritten:
                        rewritten.add(full.rewritten)
                    out.extend(self._endpoints_for(route, full, path, reason))
            elif owner.parameter is not None:
                reason = (
                    f"it is registered on the parameter '{owner.parameter.name}' of "
                    f"{owner.parameter.module}.{owner.parameter.function}, and no call archlint can trace "
                    "passes an application or router to it"
                )
                out.extend(self._endpoints_for(route, None, None, reason))
            elif owner.kind == "router" and (unresolved_edges or not self.table.roots):
                reason = (
                    "its router is not included in any application archlint can trace"
                    if self.table.roots
                    else "no FastAPI application was found"
                )
                out.extend(self._endpoints_for(route, None, None, reason))
        if library_routes:
            names = sorted(set(factories.values()))
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            self.notes.append(
                f"{library_routes} endpoint{'s' if library_routes != 1 else ''} on routers built by functions no "
                f"application here includes ({shown}) are not listed: a library's routers get their full paths "
                "from the application that includes them."
            )
        for why in sorted(rewritten):
            self.notes.append(
                f"Paths are listed as the application routes them, but {why}: clients may reach them under another path."
            )
        if websockets:
            self.notes.append(
                f"{websockets} WebSocket route{'s are' if websockets > 1 else ' is'} not listed: "
                "the report covers HTTP endpoints."
            )
        order = {m: i for i, m in enumerate(METHOD_ORDER)}
        out.sort(
            key=lambda e: (
                e.path is None,
                e.path or "",
                order.get(e.method, len(order)),
                e.method,
                e.route.file,
                e.route.call.span.line,
            )
        )
        return out

    def _unused_router_factories(self, reachable: set) -> dict:
        """Routers built and returned by a function that no application includes: key -> the function."""
        return {
            key: f"{self.table.objects[key].ctx.module}.{self.table.objects[key].ctx.scope}"
            for key in self.table.open_factories()
            if self.table.objects[key].routes
        }

    def _endpoints_for(self, route: Route, full: FullPath | None, path: str | None, reason: str) -> list[_Endpoint]:
        deps = self.route_dependencies(route, full)
        auth, auth_reason = _auth_of(deps)
        if auth in ("none", "unknown") and self._s7_authenticates(route, full):
            # S7 accepts an authentication dependency here (the pack's patterns) whose scheme archlint cannot see.
            auth, auth_reason = "dependency", ""
        rate_limit = self.rate_limit(route, full, deps)
        kind = self.auth_endpoint(route)
        slowapi = self.slowapi_limit(route) if kind is not None else None
        app = _innermost_app(full) if full else None
        methods = methods_on(route, full)
        out = []
        for method in methods:
            if method == "?":
                method = "UNKNOWN"
                path, reason = None, reason or "the route's methods cannot be resolved statically"
            out.append(_Endpoint(method, path, reason, route, full, app, deps, auth, auth_reason, rate_limit, kind, slowapi))
        return out

    # ------------------------------------------------------- authentication
    def _s7_authenticates(self, route: Route, full: FullPath | None) -> bool:
        """Whether S7 takes the route for authenticated: the inventory and the rules agree on auth."""
        from archlint.analysis.endpoints import handler_ctx, list_dependencies
        from archlint.checks.s07_authentication import UnauthenticatedEndpoint, _Auth
        from archlint.config import Config, rule_settings
        from archlint.pack import load_pack

        if self._s7 is None:
            config = self.config or Config(root=self.project.root, source="defaults", pack=load_pack(None))
            _, _, options = rule_settings(config, UnauthenticatedEndpoint)
            rule = UnauthenticatedEndpoint(options)
            self._s7 = (rule, _Auth(self.index, options), rule._middleware_apps(self.project))
        rule, auth, middleware_apps = self._s7
        fn = self.index.function(route.handler) if route.handler else None
        ctx = handler_ctx(route)
        if fn is None or ctx is None:
            return False
        if rule._public(self.index, self.table, route, fn) is not False:
            return False  # S7 asks nothing of a public endpoint (a login form is not authentication)
        if rule._route_verdict(auth, route, fn, ctx, inline=False):
            return True
        places: list[tuple[Expr | None, Ctx]] = []
        if full is not None:
            if _innermost_app(full) in middleware_apps:
                return True
            # As FastAPI applies them: the innermost application's and every include's and router's on the way.
            via = full.via
            last_mount = max((i for i, e in enumerate(via) if isinstance(e, Mount)), default=-1)
            top = self.table.child(via[last_mount]) if last_mount >= 0 else self.table.objects[full.app]
            places.append((top.call.kw("dependencies"), top.ctx))
            for edge in via[last_mount + 1 :]:
                places.append((edge.call.kw("dependencies"), edge.ctx))
                child = self.table.child(edge)
                places.append((child.call.kw("dependencies"), child.ctx))
        else:
            owner = self.table.objects[route.owner]
            places.append((owner.call.kw("dependencies"), owner.ctx))
        for expr, where in places:
            if expr is None:
                continue
            deps = list_dependencies(self.index, expr, where)
            if deps and auth.dependencies(deps, 0):
                return True
        return False

    # ------------------------------------------------------- dependencies
    def route_dependencies(self, route: Route, full: FullPath | None) -> _DepInfo:
        info = _DepInfo()
        sources: list[tuple[Expr | None, Ctx]] = []
        if full is not None:
            via = full.via
            last_mount = max((i for i, e in enumerate(via) if isinstance(e, Mount)), default=-1)
            top = self.table.child(via[last_mount]) if last_mount >= 0 else self.table.objects[full.app]
            sources.extend(top.dependency_sources)
            for edge in via[last_mount + 1 :]:
                sources.append((edge.call.kw("dependencies"), edge.ctx))
                sources.extend(self.table.child(edge).dependency_sources)
        else:
            sources.extend(self.table.objects[route.owner].dependency_sources)
        sources.append((route.call.kw("dependencies"), route.ctx))
        for expr, ctx in sources:
            if expr is not None:
                self._dependency_list(expr, ctx, info, set(), 0)
        handler = route.handler
        fn = self.index.function(handler) if handler else None
        if handler is not None and fn is not None:
            self._function_params(handler, fn, info, set(), 0)
            if fn.class_qualname is not None:
                self._class_attributes(ClassRef(handler.module, fn.class_qualname), info)
        elif handler is None:
            info.unknown.append("the handler cannot be resolved statically")
        return info

    def _dependency_list(self, expr: Expr, ctx: Ctx, info: _DepInfo, seen: set, depth: int) -> None:
        value = self.index.evaluate(expr, ctx)
        if not isinstance(value, SeqValue):
            info.unknown.append(_reason(value, "a dependencies list"))
            return
        for item in value.items:
            if isinstance(item, Instance) and fqn_of(item.type) in DEPENDS | SECURITY:
                self._marker(item, None, info, seen, depth)
            else:
                info.unknown.append(_reason(item, "a dependency"))

    def _function_params(self, ref: FuncRef, fn: FunctionFact, info: _DepInfo, seen: set, depth: int) -> None:
        ctx = Ctx(ref.module, fn.parent or "")
        for param in fn.params:
            if param.kind in ("vararg", "kwarg"):
                continue
            self._param(param.name, param.annotation, param.default, ctx, info, seen, depth)

    def _class_attributes(self, klass: ClassRef, info: _DepInfo) -> None:
        """A class-based view's dependencies: attributes of the class and its bases (``user = Depends(...)``)."""
        seen_names: set[str] = set()
        for ref in self.index.mro(klass):
            if not isinstance(ref, ClassRef):
                continue
            fact = self.index.class_fact(ref)
            if fact is None:
                continue
            names: set[str] = set()
            for assign in fact.assigns:
                name = next((t.id for t in assign.targets if isinstance(t, Name)), None)
                if name is None or name in seen_names:
                    continue
                names.add(name)
                self._param(name, assign.annotation, assign.value, Ctx(ref.module, fact.qualname), info, set(), 0)
            seen_names |= names

    def _param(
        self, name: str, annotation: Expr | None, default: Expr | None, ctx: Ctx, info: _DepInfo, seen: set, depth: int
    ) -> None:
        markers: list[tuple[Instance, Expr | None, Ctx]] = []
        base_expr, base_ctx = annotation, ctx
        if annotation is not None:
            value = self.index.evaluate(annotation, ctx)
            if isinstance(value, TypeForm) and fqn_of(value.origin) in ANNOTATED and value.exprs:
                base_expr, base_ctx = value.exprs[0], value.ctx
                markers += [(m, base_expr, base_ctx) for m in value.args[1:] if isinstance(m, Instance)]
        if default is not None:
            value = self.index.evaluate(default, ctx)
            if isinstance(value, Instance):
                markers.append((value, base_expr, base_ctx))
        for marker, type_expr, type_ctx in markers:
            kind = fqn_of(marker.type)
            if kind in DEPENDS | SECURITY:
                self._marker(marker, (type_expr, type_ctx), info, seen, depth)
            elif kind in PARAM_MARKERS["Header"]:
                alias = self.index.const(marker.call.kw("alias"), marker.ctx) if marker.call.kw("alias") else None
                header = (alias if isinstance(alias, str) else name.replace("_", "-")).lower()
                if header == "authorization":
                    info.kinds.add("bearer")
                elif "api-key" in header or "apikey" in header:
                    info.kinds.add("api-key")
                    info.api_key_header = info.api_key_header or (alias if isinstance(alias, str) else name.replace("_", "-"))

    def _marker(
        self, marker: Instance, annotation: tuple[Expr | None, Ctx] | None, info: _DepInfo, seen: set, depth: int
    ) -> None:
        """A ``Depends(x)`` / ``Security(x)``: what x needs, recursively."""
        target_expr = marker.call.arg(0, "dependency")
        if target_expr is not None:
            target = self.index.evaluate(target_expr, marker.ctx)
        elif annotation is not None and annotation[0] is not None:
            target = self.index.evaluate(annotation[0], annotation[1])  # Depends() uses the annotated class
        else:
            info.unknown.append("a Depends() without a dependency or annotation")
            return
        self._dependency(target, info, seen, depth + 1)

    def _dependency(self, target: Value, info: _DepInfo, seen: set, depth: int) -> None:
        index = self.index
        if depth > 12:
            return
        if isinstance(target, Instance):
            if index.is_subclass(target.type, BEARER_SCHEMES):
                info.kinds.add("bearer")
                return
            if index.is_subclass(target.type, API_KEY_SCHEMES):
                info.kinds.add("api-key")
                header = index.const(target.call.arg(0, "name"), target.ctx)
                if isinstance(header, str):
                    info.api_key_header = info.api_key_header or header
                fqn = next((f for k in index.mro(target.type) if (f := fqn_of(k)) in API_KEY_SCHEMES), "")
                info.api_key_in = "query" if fqn.endswith("Query") else "cookie" if fqn.endswith("Cookie") else "header"
                return
            if index.is_subclass(target.type, BASIC_SCHEMES):
                info.kinds.add("basic")
                return
            if fqn_of(target.type) in FASTAPI_LIMITER:
                info.rate_limits.append(_fastapi_limiter(index, target))
                return
            if isinstance(target.type, ClassRef):  # a callable instance: its __call__ parameters
                call = index.class_member(target.type, "__call__")
                if isinstance(call, FuncRef):
                    self._dependency(call, info, seen, depth)
            return
        if isinstance(target, ClassRef):
            if index.is_subclass(target, PASSWORD_FORMS):
                info.password_form = True
                return
            if index.is_subclass(target, BEARER_SCHEMES | API_KEY_SCHEMES | BASIC_SCHEMES):
                kind = (
                    "bearer"
                    if index.is_subclass(target, BEARER_SCHEMES)
                    else ("api-key" if index.is_subclass(target, API_KEY_SCHEMES) else "basic")
                )
                info.kinds.add(kind)
                return
            init = index.class_member(target, "__init__")
            if isinstance(init, FuncRef):
                self._dependency(init, info, seen, depth)
            return
        if isinstance(target, FuncRef):
            if target in seen:
                return
            seen.add(target)
            fn = index.function(target)
            if fn is None:
                info.unknown.append(f"{target.fqn} cannot be found")
                return
            self._function_params(target, fn, info, seen, depth)
            self._header_reads(fn, info)
            return
        if isinstance(target, Symbol):
            if target.fqn in PASSWORD_FORMS:
                info.password_form = True
            elif target.fqn in BEARER_SCHEMES:
                info.kinds.add("bearer")
            return  # another library's callable: no authentication archlint knows of
        info.unknown.append(_reason(target, "a dependency"))

    @staticmethod
    def _header_reads(fn: FunctionFact, info: _DepInfo) -> None:
        """``request.headers.get("Authorization")`` in a dependency reads a credential by hand."""
        for site in fn.calls:
            func = site.call.func
            if isinstance(func, Attr) and func.attr == "get" and isinstance(func.base, Attr) and func.base.attr == "headers":
                header = site.call.arg(0, "key")
                if isinstance(header, Lit) and isinstance(header.value, str):
                    name = header.value.lower()
                    if name == "authorization":
                        info.kinds.add("bearer")
                    elif "api-key" in name or "apikey" in name:
                        info.kinds.add("api-key")
                        info.api_key_header = info.api_key_header or header.value

    # -------------------------------------------------------- rate limits
    @property
    def s13(self) -> RateLimitNames:
        """S13's options (the pack's and the project's): limiter classes, auth-endpoint patterns."""
        if self._s13 is None:
            from archlint.checks.s13_rate_limiting import AuthEndpointWithoutRateLimit

            self._s13 = self._options_of(AuthEndpointWithoutRateLimit)
        return self._s13

    def auth_endpoint(self, route: Route) -> str | None:
        """The auth-endpoint kind S13 gives the route (``analysis.rate_limits.auth_kind``), when S13 judges them."""
        if not self.project.rate_limits.judges_auth_endpoints(self.s13):
            return None
        fn = self.index.function(route.handler) if route.handler else None
        return auth_kind(self.index, route, fn, self.s13, self.table) if fn is not None else None

    def slowapi_limit(self, route: Route) -> str | None:
        """The route's own SlowAPI limits (``@limiter.limit``), as S13 reads them; None without one."""
        fn = self.index.function(route.handler) if route.handler else None
        if fn is None or route.handler is None:
            return None
        limits: list[str] = []
        for deco in limit_decorators(self.index, fn, route.handler.module, self.s13):
            texts = [v.text for v in deco.values] if deco.resolved else []
            limits += [t if t is not None else UNRESOLVED for t in texts] or [UNRESOLVED]
        return "; ".join(limits) or None

    def rate_limit(self, route: Route, full: FullPath | None, deps: _DepInfo) -> str | None:
        fn = self.index.function(route.handler) if route.handler else None
        if fn is not None and route.handler is not None and is_exempt(self.index, fn, route.handler.module, self.s13):
            return None
        limits = [lim for lim in [self.slowapi_limit(route)] if lim] + deps.rate_limits
        if limits:
            return "; ".join(limits)
        if full is None:
            return None
        return self.default_limit(_innermost_app(full))

    def default_limit(self, app: ObjKey) -> str | None:
        limiter = self.app_limiter(app)
        if limiter is None or not self.app_has_middleware(app, self.slowapi_middleware):
            return None
        return _limits_text(self.index, limiter, "default_limits")

    def app_limiter(self, app: ObjKey) -> Instance | None:
        """``app.state.limiter = Limiter(...)`` for this app (an untraceable receiver counts for every app)."""
        if app not in self._limiters:
            found: list[tuple[int, Instance]] = []
            for reg in self.project.apps.of(app, "state"):
                if reg.name == "limiter" and reg.target is not None:
                    value = self.index.evaluate(reg.target, reg.ctx)
                    if self.index.instance_of(value, frozenset(self.s13.limiter_types)):
                        found.append((0 if reg.app == app else 1, value))
            self._limiters[app] = min(found, key=lambda f: f[0])[1] if found else None
        return self._limiters[app]

    def app_has_middleware(self, app: ObjKey, classes: frozenset[str]) -> bool:
        return any((m.app == app or m.app is None) and self.index.is_subclass(m.cls, classes) for m in self._middleware_sites())

    # ---------------------------------------------------------- middleware
    def _middleware_sites(self) -> list[_MiddlewareSite]:
        """Every middleware registration of the apps (``project.apps``): ``add_middleware``,
        ``FastAPI(middleware=[...])`` and ``@app.middleware("http")``; app None when the receiver
        cannot be traced to an application."""
        if self._mw_cache is not None:
            return self._mw_cache
        sites: list[_MiddlewareSite] = []
        for reg in self.project.apps.registrations:
            if reg.kind == "middleware":
                cls = self.index.evaluate(reg.target, reg.ctx) if reg.target is not None else Unknown("no class")
                sites.append(_MiddlewareSite(reg.app, cls, reg))
            elif reg.kind == "http_middleware":
                sites.append(_MiddlewareSite(reg.app, None, reg))
        sites.sort(key=lambda s: (s.reg.file, s.reg.span.line, s.reg.span.column))
        self._mw_cache = sites
        return sites

    def middleware(self, endpoints: list[_Endpoint]) -> list[dict]:
        index, table = self.index, self.table
        slowapi_done: set[ObjKey] = set()
        app_order = {k: i for i, k in enumerate(table.objects) if table.objects[k].kind == "app"}
        entries: list[tuple[int, str, int, dict]] = []
        for site in self._middleware_sites():
            reg = site.reg
            if site.cls is None:  # @app.middleware("http") / app.middleware("http")(fn)
                deco = reg.call.func if reg.call is not None and isinstance(reg.call.func, Call) else reg.call
                kind = index.const(deco.arg(0, "middleware_type"), reg.ctx) if deco is not None else None
                name = (
                    reg.function.qualname.rsplit(".", 1)[-1]
                    if reg.function
                    else (reg.handler.dotted() if reg.handler is not None and reg.handler.dotted() else UNRESOLVED)
                )
                entry = {"name": name, "config": {"type": kind if isinstance(kind, str) else UNRESOLVED}}
            elif index.is_subclass(site.cls, self.slowapi_middleware) and site.app is not None and self.app_limiter(site.app):
                entry = self._rate_limit_entry(site.app, endpoints, _class_name(site.cls))
                slowapi_done.add(site.app)
            else:
                entry = {"name": _class_name(site.cls), "config": self._options(reg)}
            entry["source"] = f"{reg.file}:{reg.span.line}"
            order = app_order.get(site.app, 0) if site.app is not None else 0
            entries.append((order, reg.file, reg.span.line, entry))
        for app in table.roots:
            if app not in slowapi_done and self.app_limiter(app) is not None:
                obj = table.objects[app]
                entry = self._rate_limit_entry(app, endpoints, None)
                entry["source"] = f"{obj.file}:{obj.call.span.line}"
                entries.append((app_order.get(app, 0), obj.file, obj.call.span.line, entry))
        entries.sort(key=lambda e: e[:3])
        return [e[3] for e in entries]

    def _rate_limit_entry(self, app: ObjKey, endpoints: list[_Endpoint], middleware: str | None) -> dict:
        limiter = self.app_limiter(app)
        assert limiter is not None
        config: dict[str, Any] = {}
        default = _limits_text(self.index, limiter, "default_limits")
        config["default"] = default if middleware else None
        if default and not middleware:
            config["default_not_enforced"] = f"{default}: default_limits apply only with SlowAPIMiddleware"
        auth: dict[str, str] = {}
        others: dict[str, str] = {}
        for e in endpoints:
            if e.app != app and not (e.full and e.full.app == app):
                continue
            own = self._own_limit(e)
            if own is None or e.path is None:
                continue
            (auth if e.auth_endpoint is not None else others)[e.label()] = own
        config["auth"] = auth
        if others:
            config["endpoints"] = others
        storage = limiter.call.kw("storage_uri")
        value = self.index.const(storage, limiter.ctx) if storage is not None else "memory://"
        config["storage"] = value.split(":", 1)[0] if isinstance(value, str) else UNRESOLVED
        strategy = limiter.call.kw("strategy")
        if strategy is not None:
            value = self.index.const(strategy, limiter.ctx)
            config["strategy"] = value if isinstance(value, str) else UNRESOLVED
        config["middleware"] = middleware
        return {"name": "RateLimitMiddleware", "config": config}

    def _own_limit(self, e: _Endpoint) -> str | None:
        """The endpoint's own limit (decorator or dependency), not the default."""
        return self.rate_limit(e.route, None, e.deps)

    def _options(self, reg: Registration) -> dict:
        """A middleware's resolved arguments (secrets redacted, run-time values "<unresolved>")."""
        config: dict[str, Any] = {}
        for i, arg in enumerate(reg.call.args[1:] if reg.call is not None else (), start=1):
            config[f"arg{i}"] = self._render(arg, reg.ctx)
        for key, expr in reg.kwargs:
            if key is None:
                config["**"] = UNRESOLVED
            elif _SECRET_ARG.search(key):
                config[key] = REDACTED
            else:
                config[key] = self._render(expr, reg.ctx)
        return config

    def _render(self, expr: Expr, ctx: Ctx) -> Any:
        if isinstance(expr, DictExpr):
            out = {}
            for k, v in expr.items:
                key = self.index.const(k, ctx) if k is not None else None
                if not isinstance(key, (str, int, float, bool)):
                    return UNRESOLVED
                out[str(key)] = self._render(v, ctx)
            return out
        return _render_value(self.index.evaluate(expr, ctx))

    # -------------------------------------------------------------- models
    def models(self) -> list[dict]:
        index = self.index
        out: list[dict] = []
        for facts in index.modules.values():
            for qualname, fact in facts.classes.items():
                ref = ClassRef(facts.module, qualname)
                kind = self._model_kind(ref, fact)
                if kind is None:
                    continue
                entry: dict[str, Any] = {"name": fact.name}
                table, reason = self._table_name(ref, fact, kind)
                entry["table"] = table
                if table is None:
                    entry["table_unverifiable"] = reason
                fields, relationships = self._model_fields(ref, kind)
                entry["fields"] = fields
                entry["relationships"] = relationships
                entry["kind"] = kind
                entry["source"] = f"{facts.path}:{fact.header[1]}"
                out.append(entry)
        out.sort(key=lambda m: (m["name"], m["source"]))
        return out

    def _is_declarative_base(self, ref: ClassRef, fact: ClassFact) -> bool:
        """The base itself: derives directly from DeclarativeBase, or is made by as_declarative."""
        ctx = Ctx(ref.module, fact.parent or "")
        for base in fact.bases:
            if self.index.fqn(base, ctx) in DECLARATIVE_BASES:
                return True
        for deco in fact.decorators:
            target = deco.func if isinstance(deco, Call) else deco
            if self.index.fqn(target, ctx) in AS_DECLARATIVE:
                return True
        return False

    def _declarative(self, ref: ClassRef) -> bool:
        for klass in self.index.mro(ref):
            if fqn_of(klass) in DECLARATIVE_BASES:
                return True
            if isinstance(klass, ClassRef):
                fact = self.index.class_fact(klass)
                if fact is None:
                    continue
                ctx = Ctx(klass.module, fact.parent or "")
                for base in fact.bases:
                    value = self.index.evaluate(base, ctx)
                    if isinstance(value, Instance) and fqn_of(value.type) in DECLARATIVE_FACTORIES:
                        return True
                    func = value.call.func if isinstance(value, Instance) else None
                    if isinstance(func, Attr) and func.attr == "generate_base":  # registry().generate_base()
                        return True
                for deco in fact.decorators:
                    target = deco.func if isinstance(deco, Call) else deco
                    if self.index.fqn(target, ctx) in AS_DECLARATIVE:
                        return True
        return False

    def _model_kind(self, ref: ClassRef, fact: ClassFact) -> str | None:
        index = self.index
        ctx = Ctx(ref.module, fact.parent or "")
        if index.is_subclass(ref, SQLMODEL):
            table = fact.keyword("table")
            return "sqlmodel" if table is not None and index.const(table, ctx) is True else None
        for deco in fact.decorators:  # @mapper_registry.mapped
            target = deco.func if isinstance(deco, Call) else deco
            if isinstance(target, Attr) and target.attr in ("mapped", "mapped_as_dataclass"):
                return "sqlalchemy"
        if not self._declarative(ref) or self._is_declarative_base(ref, fact):
            return None
        if _own_binding(index, ref, "__abstract__") == Const(True):
            return None
        if index.class_member(ref, "__tablename__") is None and index.class_member(ref, "__table__") is None:
            return None  # a mixin or an unmapped intermediate class
        return "sqlalchemy"

    def _table_name(self, ref: ClassRef, fact: ClassFact, kind: str) -> tuple[str | None, str]:
        index = self.index
        value = index.class_member(ref, "__tablename__")
        if value is None:
            if kind == "sqlmodel":
                return fact.name.lower(), ""
            table = index.class_member(ref, "__table__")
            if isinstance(table, Instance):
                name = index.const(table.call.arg(0, "name"), table.ctx)
                if isinstance(name, str):
                    return name, ""
            return None, "__tablename__ is not set statically"
        if isinstance(value, Const) and isinstance(value.value, str):
            return value.value, ""
        if isinstance(value, FuncRef):  # @declared_attr def __tablename__(cls): return cls.__name__.lower()
            fn = index.function(value)
            if fn is not None and len(fn.returns) == 1 and _is_lowered_class_name(fn.returns[0], fn):
                return fact.name.lower(), ""
            return None, f"__tablename__ is computed by {value.fqn}"
        return None, _reason(value, "__tablename__")

    def _model_fields(self, ref: ClassRef, kind: str) -> tuple[list[str], list[str]]:
        index = self.index
        fields: list[str] = []
        relationships: list[str] = []
        seen: set[str] = set()
        for klass in reversed(index.mro(ref)):
            if not isinstance(klass, ClassRef):
                continue
            fact = index.class_fact(klass)
            if fact is None:
                continue
            facts = index.modules[klass.module]
            ctx = Ctx(klass.module, fact.qualname)
            outer = Ctx(klass.module, fact.parent or "")
            for assign in fact.assigns:
                if len(assign.targets) != 1 or not isinstance(assign.targets[0], Name):
                    continue
                name = assign.targets[0].id
                if name in _NOT_FIELDS or name.startswith("__") or name in seen:
                    continue
                role = self._field_role(assign.annotation, assign.value, ctx, outer, kind)
                if role is None:
                    continue
                seen.add(name)
                (relationships if role == "relationship" else fields).append(name)
            for name, qualname in fact.defs.items():
                fn = facts.functions.get(qualname)
                if fn is None or name in _NOT_FIELDS or name.startswith("__") or name in seen:
                    continue
                if any(_decorator_fqn(index, d, outer) in DECLARED_ATTR for d in fn.decorators):
                    seen.add(name)
                    returns = [index.evaluate(r, Ctx(klass.module, fn.qualname)) for r in fn.returns if r is not None]
                    is_rel = any(isinstance(v, Instance) and fqn_of(v.type) in RELATIONSHIP_FUNCTIONS for v in returns)
                    (relationships if is_rel else fields).append(name)
        return fields, relationships

    def _field_role(self, annotation: Expr | None, value_expr: Expr | None, ctx: Ctx, outer: Ctx, kind: str) -> str | None:
        index = self.index
        ann = index.evaluate(annotation, outer) if annotation is not None else None
        if isinstance(ann, TypeForm) and fqn_of(ann.origin) in CLASSVAR:
            return None
        value = index.evaluate(value_expr, ctx) if value_expr is not None else None
        if isinstance(value, Instance):
            fqn = fqn_of(value.type)
            if fqn in RELATIONSHIP_FUNCTIONS:
                return "relationship"
            if fqn in COLUMN_FUNCTIONS:
                return "column"
        if isinstance(ann, TypeForm) and fqn_of(ann.origin) in MAPPED:
            return "column"
        if kind == "sqlmodel" and annotation is not None:
            return "column"
        return None

    # ------------------------------------------------------------ security
    def security_measures(self, endpoints: list[_Endpoint]) -> list[str]:
        out: list[str] = []
        out += self._password_hashing()
        out += self._token_lifetimes()
        for app in self.table.roots:
            limiter = self.app_limiter(app)
            if limiter is not None and self.app_has_middleware(app, self.slowapi_middleware):
                default = _limits_text(self.index, limiter, "default_limits")
                if default == UNRESOLVED:
                    out.append("Rate limiting: a default limit that is unverifiable statically (SlowAPI)")
                elif default:
                    out.append(f"Rate limiting: {default} per client by default (SlowAPI)")
        auth = [e for e in endpoints if e.path is not None and e.auth_endpoint is not None]
        limited = [(e, lim) for e in auth for lim in [self._own_limit(e)] if lim]
        if limited:
            out.append("Rate limiting on auth endpoints: " + ", ".join(f"{e.label()} {lim}" for e, lim in limited))
        unlimited = [e for e in auth if e.slowapi_limit is None]
        if unlimited:
            out.append(
                "No SlowAPI rate limit on auth endpoints: " + ", ".join(f"{e.label()} ({e.auth_endpoint})" for e in unlimited)
            )
        out += self._cors()
        protected = [e for e in endpoints if e.auth in AUTH_ORDER]
        unknown = [e for e in endpoints if e.auth == "unknown"]
        if protected:
            kinds = "/".join(sorted({e.auth for e in protected}, key=AUTH_ORDER.index))
            out.append(f"Authentication ({kinds}) required on {len(protected)} of {len(endpoints)} endpoints")
        elif endpoints and not unknown:
            which = "the only endpoint" if len(endpoints) == 1 else f"any of the {len(endpoints)} endpoints"
            out.append(f"No authentication dependency on {which}")
        if unknown:
            out.append(f"Authentication unverifiable statically on {len(unknown)} of {len(endpoints)} endpoints")
        return out

    def _password_hashing(self) -> list[str]:
        """The bcrypt costs S6 judges (``project.hashing``) and argon2 where it hashes new passwords.

        A cost a condition chooses shows the strongest branch when that one is compliant (S6 judges that one),
        and every branch when all are below the pack's cost (each is an S6 finding)."""
        hashing = self.project.hashing
        minimum = self.s6_options().bcrypt_min_cost
        costs: set[float] = set()
        unknown: list[str] = []
        for site in hashing.costs:
            cost = site.cost
            if cost is None:
                unknown.append(site.unknown)
            elif cost >= minimum or not site.values:
                costs.add(cost)
            else:
                costs |= {v.value for v in site.values}  # type: ignore[misc]
        out: list[str] = []
        if costs:
            out.append(f"bcrypt password hashing (cost={', '.join(f'{c:g}' for c in sorted(costs))})")
        if unknown:
            out.append(f"bcrypt password hashing (cost unverifiable: {unknown[0]})")
        weak = sorted(
            {s.scheme for s in hashing.schemes if s.scheme is not None and s.scheme not in ("bcrypt", "bcrypt_sha256", "argon2")}
        )
        for scheme in weak:
            out.append(f"passlib password hashing with {scheme}")
        if hashing.argon2:
            out.append("argon2 password hashing")
        return out

    def s6_options(self) -> Any:
        from archlint.checks.s06_password_hashing import BcryptCostTooLow

        return self._options_of(BcryptCostTooLow)

    @property
    def slowapi_middleware(self) -> frozenset[str]:
        from archlint.checks.s13_rate_limiting import RateLimiterNotRegistered

        return frozenset(self._options_of(RateLimiterNotRegistered).middleware_types)

    def _options_of(self, rule: Any) -> Any:
        """A rule's options as the run's configuration gives them (the pack's, overridden by the project's)."""
        from archlint.config import load_config, rule_settings

        if rule not in self._rule_options:
            if self._config is None:
                self._config = self.config if self.config is not None else load_config(None, self.project.root)
            _enabled, _severity, self._rule_options[rule] = rule_settings(self._config, rule)
        return self._rule_options[rule]

    def _token_lifetimes(self) -> list[str]:
        """The lifetimes S5 judges (``project.tokens``), by the kind S5 gives them; excluded tokens are left out."""
        index = self.index
        tokens = self.project.tokens
        names = self.token_names()
        lifetimes: dict[str, list[float | str]] = {"access": [], "refresh": []}
        algorithms: set[str] = set()
        for issue in tokens.issues:
            where = issue.call.arg(*issue.api.algorithm) if issue.api.algorithm is not None else None
            algorithm = index.const(where, issue.ctx) if where is not None else None
            if isinstance(algorithm, str):
                algorithms.add(algorithm)
            for lifetime in issue.lifetimes:
                kind = token_kind(names, lifetime.claims, lifetime.names, lifetime.funcs)
                if kind != "excluded":
                    lifetimes[kind].append(lifetime.seconds)
            if not issue.lifetimes and issue.no_expiry is None:
                for kind in sorted(issue_kinds(names, issue) - {"excluded"}):
                    lifetimes[kind].append("unverifiable")
        for lifetime, _library in tokens.config_lifetimes:
            kind = token_kind(names, lifetime.claims, lifetime.names, lifetime.funcs)
            if kind != "excluded":
                lifetimes[kind].append(lifetime.seconds)
        lifetimes["refresh"] += [lt.seconds for lt in tokens.opaque_refresh_lifetimes(names)]
        if not lifetimes["access"] and not lifetimes["refresh"]:
            return []
        algo = f" ({', '.join(sorted(algorithms))})" if algorithms else ""
        access = _durations(lifetimes["access"])
        refresh = _durations(lifetimes["refresh"])
        if refresh:
            return [f"JWT{algo} with {access or 'unverifiable'} access / {refresh} refresh"]
        return [f"JWT{algo} with {access} access tokens (no refresh token issued)"]

    def token_names(self) -> TokenNames:
        """S5's options (the pack's and the project's): the names that tell access, refresh and other tokens apart."""
        from archlint.checks.s05_jwt import AccessTokenLifetimeTooLong

        names: TokenNames = self._options_of(AccessTokenLifetimeTooLong)
        return names

    def _cors(self) -> list[str]:
        """Each CORS configuration S14 reads (``project.cors``), with the wildcard S14 finds."""
        from archlint.checks.s14_cors_logging import CorsWildcardWithCredentials

        options = self._options_of(CorsWildcardWithCredentials)
        cors = self.project.cors
        out: list[str] = []
        for use in sorted(cors.uses(options.cors_middleware_types), key=lambda u: (u.file, u.span.line, u.span.column)):
            suffix = " (credentials allowed)" if cors.credentials(use) else ""
            origins_expr = use.kw.get("allow_origins")
            regex = cors.regex(use)
            if origins_expr is None and "allow_origin_regex" not in use.kw:
                out.append("CORS middleware without allowed origins (cross-origin requests are refused)")
                continue
            if origins_expr is not None:
                origins = self.index.const(origins_expr, use.ctx)
                if cors.origins.of(origins_expr, use.ctx).found:
                    out.append(f"CORS open to every origin ('*'){suffix}")
                elif isinstance(origins, (list, tuple)):
                    shown = ", ".join(str(o) for o in origins) or "none"
                    out.append(f"CORS restricted to origins: {shown}{suffix}")
                elif isinstance(origins, Unknown):
                    out.append(f"CORS origins unverifiable ({origins.reason})")
                else:
                    out.append("CORS origins unverifiable (not a list of strings)")
            if regex is not None:
                shown = regex if isinstance(regex, str) else "unverifiable"
                wildcard = isinstance(regex, str) and regex_is_wildcard(regex, options.wildcard_probe_origins)
                out.append(f"CORS origins matching the pattern {shown}{', which accepts any origin' if wildcard else ''}{suffix}")
        return out

    # -------------------------------------------------------- test commands
    def curl(self, e: _Endpoint) -> str:
        if e.path is None:
            return f"# {e.method} (path unverifiable: {e.reason})"
        handler = e.route.handler
        fn = self.index.function(handler) if handler else None
        request = _Request()
        path_names = {m.group(1) for m in _PATH_PARAM.finditer(e.path)}
        if handler is not None and fn is not None:
            self._request_params(handler, fn, path_names, request)
        path_values, query, form, files = request.path, request.query, request.form, request.files
        if e.deps.password_form:
            form = [("username", "user@example.com"), ("password", "securepass123"), *form]

        def path_value(match: re.Match) -> str:
            return path_values.get(match.group(1), "1" if not match.group(2) else "example")

        url = self.base_url + _PATH_PARAM.sub(path_value, e.path)
        if query:
            url += "?" + urlencode(query)
        parts = ["curl"]
        if e.method == "HEAD":
            parts.append("-I")
        else:
            parts += ["-X", e.method]
        parts.append(shlex.quote(url))
        if e.auth == "bearer":
            parts += ["-H", '"Authorization: Bearer $TOKEN"']
        elif e.auth == "api-key" and e.deps.api_key_in == "header":
            parts += ["-H", f'"{e.deps.api_key_header or "X-API-Key"}: $API_KEY"']
        elif e.auth == "basic":
            parts += ["-u", '"$USERNAME:$PASSWORD"']
        for name, value in request.headers:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if request.cookies:
            parts += ["-b", shlex.quote("; ".join(f"{k}={v}" for k, v in request.cookies))]
        if files:
            parts += [arg for name in files for arg in ("-F", shlex.quote(f"{name}=@example.txt"))]
            parts += [arg for k, v in form for arg in ("-F", shlex.quote(f"{k}={v}"))]
        elif form:
            parts += [arg for k, v in form for arg in ("--data-urlencode", shlex.quote(f"{k}={v}"))]
        elif request.bodies:
            parts += [
                "-H",
                '"Content-Type: application/json"',
                "-d",
                shlex.quote(json.dumps(request.payload(), separators=(",", ":"), ensure_ascii=False)),
            ]
        if e.rate_limit:
            parts.append(f" # rate limit: {e.rate_limit}")
        return " ".join(parts)

    def _request_params(self, ref: FuncRef, fn: FunctionFact, path_names: set[str], request: _Request) -> None:
        """Sort the handler's parameters the way FastAPI does: path, query, body, form, file."""
        index = self.index
        ctx = Ctx(ref.module, fn.parent or "")
        for param in fn.params:
            if param.kind in ("vararg", "kwarg"):
                continue
            base_expr, base_ctx, markers = param.annotation, ctx, []
            if param.annotation is not None:
                value = index.evaluate(param.annotation, ctx)
                if isinstance(value, TypeForm) and fqn_of(value.origin) in ANNOTATED and value.exprs:
                    base_expr, base_ctx = value.exprs[0], value.ctx
                    markers = [m for m in value.args[1:] if isinstance(m, Instance)]
            default_marker = None
            if param.default is not None:
                default_value = index.evaluate(param.default, ctx)
                if isinstance(default_value, Instance):
                    default_marker = default_value
                    markers.append(default_value)
            kinds = {k for m in markers for k, names in PARAM_MARKERS.items() if fqn_of(m.type) in names}
            if any(fqn_of(m.type) in DEPENDS | SECURITY for m in markers):
                continue
            base = index.evaluate(base_expr, base_ctx) if base_expr is not None else None
            if base is not None and isinstance(base, (Symbol, ClassRef)) and index.is_subclass(base, SPECIAL_PARAMS):
                continue
            constraints = _constraints(index, markers)
            sample = _Sampler(index).sample(base_expr, base_ctx, constraints, param.name)
            if param.name in path_names or "Path" in kinds:
                request.path[param.name] = _query_text(sample)
                continue
            if "File" in kinds or (base is not None and fqn_of(base) in UPLOAD_FILES):
                request.files.append(param.name)
                continue
            if "Form" in kinds:
                if isinstance(sample, dict):  # a form model: its fields are the form fields (FastAPI 0.113)
                    request.form.extend((k, _query_text(v)) for k, v in sample.items() if v is not None)
                else:
                    request.form.append((param.name, _query_text(sample)))
                continue
            required = (param.default is None and default_marker is None) or (
                default_marker is not None and _marker_required(index, default_marker)
            )
            alias = _alias(index, markers)
            is_model = isinstance(base, ClassRef) and index.is_subclass(base, BASE_MODELS | SQLMODEL)
            if kinds & {"Header", "Cookie"}:
                if "Cookie" in kinds and not is_model and required:
                    request.cookies.append((alias or param.name, _query_text(sample)))
                elif "Header" in kinds and not is_model and required:
                    convert = next(
                        (
                            index.const(m.call.kw("convert_underscores"), m.ctx)
                            for m in markers
                            if m.call.kw("convert_underscores") is not None
                        ),
                        True,
                    )
                    header = alias or (param.name.replace("_", "-") if convert is not False else param.name)
                    if header.lower() != "authorization" and "api-key" not in header.lower():  # sent as auth
                        request.headers.append((header, _query_text(sample)))
                continue
            if is_model and "Query" in kinds:  # a pydantic model of query parameters
                if isinstance(sample, dict):
                    request.query.extend((k, _query_text(v)) for k, v in sample.items() if v is not None)
                continue
            is_collection = isinstance(base, TypeForm) and fqn_of(base.origin) in SEQUENCE_TYPES | DICTS
            if "Body" in kinds or is_model or (is_collection and "Query" not in kinds):
                embedded = False
                for m in markers:
                    if fqn_of(m.type) in PARAM_MARKERS["Body"] and index.const(m.call.kw("embed"), m.ctx) is True:
                        embedded = True
                request.bodies.append((alias or param.name, sample, embedded))
                continue
            if required:
                request.query.append((alias or param.name, _query_text(sample)))

    # -------------------------------------------------------- documentation
    def documentation(self, endpoints: list[_Endpoint]) -> dict:
        from archlint.discover import discover

        documents: list[dict] = []
        postman: str | None = None
        files: list[SourceFile] = []
        size_limit: int | None = None
        if self.config is not None:
            files = discover(self.config, self.project.report_root, suffixes=(".json", ".yaml", ".yml"))
            size_limit = self.config.limits.openapi_size
        documented = self._documented(endpoints)
        for file in files:
            name = Path(file.path).name
            if name.endswith(".postman_collection.json") or "/postman/" in f"/{file.rel}":
                postman = postman or file.path
            if name.lower() in OPENAPI_NAMES:
                documents.append(_openapi_document(file.abs, file.path, documented, root=file.root, limit=size_limit))
        generated = []
        for key in self.table.roots:
            obj = self.table.objects[key]
            if obj.kind != "app":
                continue
            entry: dict[str, str | None] = {"app": f"{obj.file}:{obj.call.span.line}"}
            for kw, default in (("openapi_url", "/openapi.json"), ("docs_url", "/docs"), ("redoc_url", "/redoc")):
                expr = obj.call.kw(kw)
                value = self.index.const(expr, obj.ctx) if expr is not None else default
                entry[kw] = value if isinstance(value, str) or value is None else UNRESOLVED
            if entry["openapi_url"] is None:
                entry["docs_url"] = entry["redoc_url"] = None
            generated.append(entry)
        compared = [d["in_sync"] for d in documents if d.get("openapi")]
        updated = None if not compared or None in compared else all(compared)
        return {
            "openapi_updated": updated,
            "openapi_documents": documents,
            "openapi_generated": generated,
            "postman_collection": postman,
        }

    def _documented(self, endpoints: list[_Endpoint]) -> set[str] | None:
        """``METHOD path`` of every endpoint the app's own OpenAPI document shows (None: some path unknown)."""
        out: set[str] = set()
        for e in endpoints:
            if e.full is None or any(isinstance(edge, Mount) for edge in e.full.via):
                continue
            if not self._in_schema(e):
                continue
            if e.path is None:
                return None
            out.add(e.label())
        return out

    def _in_schema(self, e: _Endpoint) -> bool:
        assert e.full is not None
        reason = self.table.path_not_in_openapi(e.route, e.full)
        return not reason or reason == NO_DOCUMENT  # the generated document is compared per application


@dataclass(slots=True)
class _Request:
    """What a test command sends: path values, query, JSON body parts, form fields, files."""

    path: dict[str, str] = field(default_factory=dict)
    query: list[tuple[str, str]] = field(default_factory=list)
    bodies: list[tuple[str, Any, bool]] = field(default_factory=list)  # (name, sample, embedded)
    form: list[tuple[str, str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    cookies: list[tuple[str, str]] = field(default_factory=list)

    def payload(self) -> Any:
        """One body parameter is the body; several (or an embedded one) are keyed by name, as FastAPI reads them."""
        if len(self.bodies) == 1 and not self.bodies[0][2]:
            return self.bodies[0][1]
        return {name: sample for name, sample, _embedded in self.bodies}


@dataclass(slots=True)
class _MiddlewareSite:
    app: ObjKey | None  # None: the receiver cannot be traced to an application
    cls: Value | None  # None: a function middleware (@app.middleware("http"))
    reg: Registration


# --------------------------------------------------------------------------- #
# Request bodies
# --------------------------------------------------------------------------- #

_STRING_SAMPLES = (
    ("email", "user@example.com"),
    ("password", "securepass123"),
    ("url", "https://example.com"),
    ("website", "https://example.com"),
    ("username", "user"),
    ("name", "example"),
    ("title", "Example title"),
    ("token", "token"),
)
_SAMPLES: dict[str, Any] = {
    "pydantic.EmailStr": "user@example.com",
    "pydantic.networks.EmailStr": "user@example.com",
    "pydantic.NameEmail": "User <user@example.com>",
    "pydantic.networks.NameEmail": "User <user@example.com>",
    "pydantic.HttpUrl": "https://example.com",
    "pydantic.AnyUrl": "https://example.com",
    "pydantic.AnyHttpUrl": "https://example.com",
    "pydantic.networks.HttpUrl": "https://example.com",
    "pydantic.networks.AnyUrl": "https://example.com",
    "pydantic.networks.AnyHttpUrl": "https://example.com",
    "pydantic.SecretStr": "securepass123",
    "pydantic.types.SecretStr": "securepass123",
    "datetime.datetime": "2024-01-01T00:00:00Z",
    "datetime.date": "2024-01-01",
    "datetime.time": "12:00:00",
    "datetime.timedelta": "PT1H",
    "uuid.UUID": "00000000-0000-0000-0000-000000000001",
    "pydantic.UUID4": "00000000-0000-4000-8000-000000000001",
    "decimal.Decimal": "1.0",
    "ipaddress.IPv4Address": "127.0.0.1",
    "builtins.bool": True,
    "builtins.bytes": "string",
    "typing.Any": "string",
    "builtins.object": "string",
}
_CONSTRAINED = {
    "pydantic.constr": "builtins.str",
    "pydantic.types.constr": "builtins.str",
    "pydantic.conint": "builtins.int",
    "pydantic.types.conint": "builtins.int",
    "pydantic.confloat": "builtins.float",
    "pydantic.types.confloat": "builtins.float",
    "pydantic.conlist": "builtins.list",
    "pydantic.types.conlist": "builtins.list",
}
_CONSTRAINT_TYPES = frozenset(
    FIELD_FUNCTIONS
    | {"pydantic.StringConstraints", "pydantic.types.StringConstraints"}
    | PARAM_MARKERS["Body"]
    | PARAM_MARKERS["Query"]
    | PARAM_MARKERS["Path"]
    | PARAM_MARKERS["Form"]
)
_ANNOTATED_TYPES = {
    "annotated_types.Ge": "ge",
    "annotated_types.Gt": "gt",
    "annotated_types.Le": "le",
    "annotated_types.Lt": "lt",
    "annotated_types.MinLen": "min_length",
    "annotated_types.MaxLen": "max_length",
}
_CONSTRAINT_KEYS = ("min_length", "max_length", "ge", "gt", "le", "lt", "min_items", "max_items")


def _constraints(index: ProjectIndex, markers: Iterable[Value]) -> dict[str, object]:
    out: dict[str, object] = {}
    for marker in markers:
        if not isinstance(marker, Instance):
            continue
        fqn = fqn_of(marker.type)
        if fqn in _CONSTRAINT_TYPES or fqn in _CONSTRAINED:
            for key in _CONSTRAINT_KEYS:
                expr = marker.call.kw(key)
                if expr is not None:
                    value = index.const(expr, marker.ctx)
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        out[key] = value
            for key in ("examples", "example"):
                expr = marker.call.kw(key)
                if expr is not None:
                    value = index.const(expr, marker.ctx)
                    if key == "examples" and isinstance(value, list) and value:
                        out.setdefault("example", value[0])
                    elif key == "example" and not isinstance(value, Unknown):
                        out.setdefault("example", value)
        elif fqn in _ANNOTATED_TYPES and marker.call.args:
            value = index.const(marker.call.args[0], marker.ctx)
            if isinstance(value, (int, float)):
                out[_ANNOTATED_TYPES[fqn]] = value
    return out


class _Sampler:
    """A JSON value that satisfies a type and its Field constraints (for the test commands)."""

    def __init__(self, index: ProjectIndex) -> None:
        self.index = index

    def sample(self, expr: Expr | None, ctx: Ctx, constraints: dict, name: str, depth: int = 0) -> Any:
        if depth > 6:
            return None
        if "example" in constraints and isinstance(constraints["example"], (str, int, float, bool, list)):
            return constraints["example"]
        if expr is None:
            return _string(name, constraints)
        if isinstance(expr, BinOp) and expr.op == "BitOr":  # X | None
            left = self.index.evaluate(expr.left, ctx)
            chosen = expr.right if left == Const(None) else expr.left
            return self.sample(chosen, ctx, constraints, name, depth + 1)
        if isinstance(expr, Lit) and isinstance(expr.value, str):  # a forward reference
            return self.sample(Name(expr.span, expr.value), ctx, constraints, name, depth + 1)
        value = self.index.evaluate(expr, ctx)
        return self.value_sample(value, constraints, name, depth)

    def value_sample(self, value: Value, constraints: dict, name: str, depth: int) -> Any:
        index = self.index
        if isinstance(value, TypeForm):
            origin = fqn_of(value.origin)
            if origin in ANNOTATED and value.exprs:
                merged = {**_constraints(index, value.args[1:]), **constraints}
                return self.sample(value.exprs[0], value.ctx, merged, name, depth + 1)
            if origin in OPTIONAL and value.exprs:
                return self.sample(value.exprs[0], value.ctx, constraints, name, depth + 1)
            if origin in UNION and value.exprs:
                choice = next((e for e, v in zip(value.exprs, value.args) if v != Const(None)), value.exprs[0])
                return self.sample(choice, value.ctx, constraints, name, depth + 1)
            if origin in LITERAL and value.args:
                first = value.args[0]
                return first.value if isinstance(first, Const) else None
            if origin in SEQUENCE_TYPES:
                item = self.sample(value.exprs[0], value.ctx, {}, name, depth + 1) if value.exprs else "string"
                count = max(1, int(constraints.get("min_length", constraints.get("min_items", 1)) or 1))
                return [item] * count
            if origin in DICTS:
                return {}
            return None
        if isinstance(value, Instance) and value.type.fqn in _CONSTRAINED:
            base = _CONSTRAINED[value.type.fqn]
            merged = {**_constraints(index, [value]), **constraints}
            if base == "builtins.list":
                item_expr = value.call.arg(0, "item_type")
                item = self.sample(item_expr, value.ctx, {}, name, depth + 1) if item_expr is not None else "string"
                return [item] * max(1, int(merged.get("min_length", 1) or 1))
            return self.value_sample(Symbol(base), merged, name, depth + 1)
        if isinstance(value, Symbol):
            fqn = value.fqn
            if fqn == "builtins.str":
                return _string(name, constraints)
            if fqn == "builtins.int":
                return int(_number(constraints, 1, integer=True))
            if fqn == "builtins.float":
                return float(_number(constraints, 1.0, integer=False))
            if fqn in SEQUENCE_TYPES:
                return ["string"]
            if fqn in DICTS:
                return {}
            if fqn in _SAMPLES:
                return _SAMPLES[fqn]
            return None
        if isinstance(value, ClassRef):
            if index.is_subclass(value, {"enum.Enum", "enum.StrEnum", "enum.IntEnum"}):
                return self._enum(value)
            if index.is_subclass(value, BASE_MODELS | SQLMODEL):
                return self.model(value, depth + 1)
            for base, sample in (("builtins.str", _string(name, constraints)), ("builtins.int", 1)):
                if index.is_subclass(value, {base}):
                    return sample
            return None
        if isinstance(value, Const) and value.value is None:
            return None
        return None

    def model(self, ref: ClassRef, depth: int) -> dict:
        index = self.index
        out: dict[str, Any] = {}
        for klass in reversed(index.mro(ref)):
            if not isinstance(klass, ClassRef):
                continue
            fact = index.class_fact(klass)
            if fact is None:
                continue
            outer = Ctx(klass.module, fact.parent or "")
            inner = Ctx(klass.module, fact.qualname)
            for assign in fact.assigns:
                if assign.annotation is None or len(assign.targets) != 1 or not isinstance(assign.targets[0], Name):
                    continue
                name = assign.targets[0].id
                if name.startswith("_") or name == "model_config":
                    continue
                ann = index.evaluate(assign.annotation, outer)
                if isinstance(ann, TypeForm) and fqn_of(ann.origin) in CLASSVAR:
                    continue
                default = index.evaluate(assign.value, inner) if assign.value is not None else None
                markers = [default] if isinstance(default, Instance) else []
                if isinstance(default, Instance) and fqn_of(default.type) in RELATIONSHIP_FUNCTIONS:
                    continue
                key = name
                for marker in markers:
                    alias = marker.call.kw("alias") or marker.call.kw("validation_alias")
                    alias_value = index.const(alias, marker.ctx) if alias is not None else None
                    if isinstance(alias_value, str):
                        key = alias_value
                sample = self.sample(assign.annotation, outer, _constraints(index, markers), name, depth)
                if sample is None and isinstance(default, Const) and default.value is not None:
                    sample = default.value
                out.pop(key, None)
                out[key] = sample
        return out

    def _enum(self, ref: ClassRef) -> Any:
        fact = self.index.class_fact(ref)
        if fact is None:
            return None
        for assign in fact.assigns:
            if len(assign.targets) == 1 and isinstance(assign.targets[0], Name) and not assign.targets[0].id.startswith("_"):
                value = self.index.evaluate(assign.value, Ctx(ref.module, fact.qualname)) if assign.value else None
                if isinstance(value, Const):
                    return value.value
                return assign.targets[0].id.lower()
        return None


def _string(name: str, constraints: dict) -> str:
    lowered = name.lower()
    text = next((sample for key, sample in _STRING_SAMPLES if key in lowered), "string")
    low = constraints.get("min_length")
    high = constraints.get("max_length")
    if isinstance(low, int) and len(text) < low:
        text = text + "x" * (low - len(text))
    if isinstance(high, int) and len(text) > high:
        text = text[:high] if "@" not in text or high < 6 else f"u@{'e' * max(1, high - 6)}.io"[:high]
    return text


def _number(constraints: dict, preferred: float, *, integer: bool) -> float:
    step = 1 if integer else 0.5
    low = constraints.get("ge")
    if "gt" in constraints:
        low = constraints["gt"] + step  # type: ignore[operator]
    high = constraints.get("le")
    if "lt" in constraints:
        high = constraints["lt"] - step  # type: ignore[operator]
    value = preferred
    if isinstance(low, (int, float)) and value < low:
        value = low
    if isinstance(high, (int, float)) and value > high:
        value = high
    return value


def _query_text(sample: Any) -> str:
    if isinstance(sample, bool):
        return "true" if sample else "false"
    if isinstance(sample, list):
        return _query_text(sample[0]) if sample else "example"
    if sample is None:
        return "example"
    return str(sample)


def _alias(index: ProjectIndex, markers: Iterable[Instance]) -> str | None:
    """``Query(alias="status")``: the name the client sends."""
    for marker in markers:
        expr = marker.call.kw("alias") or marker.call.kw("validation_alias")
        if expr is not None:
            value = index.const(expr, marker.ctx)
            if isinstance(value, str):
                return value
    return None


def _marker_required(index: ProjectIndex, marker: Instance) -> bool:
    """``Query(...)`` / ``Query()`` without a default is required."""
    default = marker.call.arg(0, "default")
    if default is None:
        return marker.call.kw("default_factory") is None
    return isinstance(default, Lit) and default.value is Ellipsis


# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #


def _reason(value: Value, what: str) -> str:
    if isinstance(value, Unknown):
        return value.reason
    return f"{what} that is not a Depends(...) archlint can follow"


def _auth_of(deps: _DepInfo) -> tuple[str, str]:
    for kind in AUTH_ORDER:
        if kind in deps.kinds:
            return kind, ""
    if deps.unknown:
        return "unknown", deps.unknown[0]
    return "none", ""


def _innermost_app(full: FullPath) -> ObjKey:
    mounts = [e for e in full.via if isinstance(e, Mount)]
    return mounts[-1].child if mounts and mounts[-1].child else full.app


def _is_static_mount(mount: Mount) -> bool:
    return getattr(getattr(mount.app, "type", None), "fqn", "").endswith("StaticFiles")


def _class_name(value: Value) -> str:
    if isinstance(value, ClassRef):
        return value.qualname.rsplit(".", 1)[-1]
    if isinstance(value, Symbol):
        return value.fqn.rsplit(".", 1)[-1]
    return UNRESOLVED


def _render_value(value: Value) -> Any:
    if isinstance(value, Const):
        v = value.value
        if isinstance(v, (str, int, float, bool)) or v is None:
            return v
        if isinstance(v, bytes):
            return v.decode("utf-8", "replace")
        return str(v)
    if isinstance(value, SeqValue):
        return [_render_value(item) for item in value.items]
    if isinstance(value, (FuncRef, ClassRef, Symbol)):
        return value.fqn
    if isinstance(value, Module):
        return value.name
    return UNRESOLVED


def _limits_text(index: ProjectIndex, limiter: Instance, key: str) -> str | None:
    """A Limiter's ``default_limits`` as S13 reads them (``limit_values``), joined; unresolvable parts shown so."""
    expr = limiter.call.kw(key)
    if expr is None:
        return None
    values = limit_values(index, expr, limiter.ctx, many=True)
    return "; ".join(v.text if v.text is not None else UNRESOLVED for v in values) or None


def _fastapi_limiter(index: ProjectIndex, limiter: Instance) -> str:
    times = index.const(limiter.call.kw("times"), limiter.ctx) if limiter.call.kw("times") else 1
    total = 0.0
    for key, unit in (("milliseconds", 0.001), ("seconds", 1), ("minutes", 60), ("hours", 3600)):
        expr = limiter.call.kw(key)
        if expr is not None:
            value = index.const(expr, limiter.ctx)
            if not isinstance(value, (int, float)):
                return UNRESOLVED
            total += value * unit
    if not isinstance(times, int) or total <= 0:
        return UNRESOLVED
    names = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
    if total in names:
        return f"{times}/{names[int(total)]}"
    return f"{times} per {total:g} seconds"


def _durations(values: list[float | str]) -> str:
    shown: list[str] = []
    for value in values:
        text = _duration(value) if isinstance(value, (int, float)) else "unverifiable"
        if text not in shown:
            shown.append(text)
    return " or ".join(shown)


def _duration(seconds: float) -> str:
    if seconds and seconds % 86400 == 0:
        return f"{int(seconds // 86400)}d"
    if seconds and seconds % 3600 == 0 and seconds < 86400:
        return f"{int(seconds // 3600)}h"
    if seconds and seconds % 60 == 0:
        return f"{int(seconds // 60)}min"
    return f"{seconds:g}s"


def _own_binding(index: ProjectIndex, ref: ClassRef, name: str) -> Value | None:
    fact = index.class_fact(ref)
    if fact is None:
        return None
    for assign in fact.assigns:
        if any(isinstance(t, Name) and t.id == name for t in assign.targets) and assign.value is not None:
            return index.evaluate(assign.value, Ctx(ref.module, fact.qualname))
    return None


def _decorator_fqn(index: ProjectIndex, deco: Expr, ctx: Ctx) -> str | None:
    target = deco.func if isinstance(deco, Call) else deco
    if isinstance(target, Attr) and target.attr in ("directive", "cascading"):  # @declared_attr.directive
        target = target.base
    return index.fqn(target, ctx)


def _is_lowered_class_name(expr: Expr | None, fn: FunctionFact) -> bool:
    """``cls.__name__.lower()``."""
    if not fn.params or not isinstance(expr, Call) or expr.args or not isinstance(expr.func, Attr):
        return False
    func = expr.func
    return (
        func.attr == "lower"
        and isinstance(func.base, Attr)
        and func.base.attr == "__name__"
        and isinstance(func.base.base, Name)
        and func.base.base.id == fn.params[0].name
    )


def _openapi_document(
    path: Path, shown: str, documented: set[str] | None, *, root: Path | None = None, limit: int | None = None
) -> dict:
    from archlint.fsio import read_text

    entry: dict[str, Any] = {"path": shown, "openapi": None, "in_sync": None}
    try:
        # Regular files inside the project only, bounded: the same reader as the checks (issue 21).
        text = read_text(path, root=root, limit=limit)
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            try:
                import yaml
            except ImportError:
                entry["error"] = (
                    "PyYAML, a dependency of archlint, is missing from this environment, so the YAML document was not read"
                )
                return entry
            data = yaml.safe_load(text)
    except Exception as exc:  # a broken document is reported, not fatal
        entry["error"] = f"the document cannot be read: {type(exc).__name__}"
        return entry
    if not isinstance(data, dict) or not isinstance(data.get("openapi") or data.get("swagger"), str):
        entry["error"] = "no 'openapi' version field"
        return entry
    entry["openapi"] = data.get("openapi") or data.get("swagger")
    raw_paths = data.get("paths")
    paths = raw_paths if isinstance(raw_paths, dict) else {}
    in_document = {
        f"{method.upper()} {p}"
        for p, item in paths.items()
        if isinstance(item, dict)
        for method in item
        if method.upper() in METHOD_ORDER
    }
    if documented is None:
        entry["error"] = "some endpoint paths are unverifiable, so the document was not compared"
        return entry
    missing = sorted(documented - in_document)
    extra = sorted(in_document - documented)
    entry["in_sync"] = not missing and not extra
    entry["missing_from_document"] = missing
    entry["not_in_code"] = extra
    return entry


def iter_endpoint_keys(report: dict) -> Iterator[tuple[str, str | None]]:
    """(method, path) of every endpoint in a report (what tests compare with FastAPI's own table)."""
    for e in report["endpoints_created"]:
        yield e["method"], e["path"]


__all__ = ["build_inventory", "render_json", "render_markdown", "load_schema", "iter_endpoint_keys", "DEFAULT_BASE_URL"]
