"""S7 — authentication and authorization: every non-public endpoint depends on authentication."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from archlint.analysis.endpoints import (
    Chain,
    Dependency,
    chains,
    class_dependencies,
    const_str,
    handler_ctx,
    list_dependencies,
    param_dependencies,
    route_label,
    unresolved_include_sets,
)
from archlint.analysis.routes import ObjKey, Route, RouteTable
from archlint.checks.base import Project, Rule, probe_match
from archlint.collect.facts import Attr, Call, Expr, FunctionFact, Name
from archlint.globs import fnmatch_any
from archlint.index import ProjectIndex
from archlint.model import Finding, Severity
from archlint.names import AUTHENTICATION_MIDDLEWARE, BASE_MODEL, HTTP_EXCEPTIONS, SQLMODEL
from archlint.pack import option
from archlint.values import ClassRef, Ctx, FuncRef, Instance, Symbol, TypeForm, Value, fqn_of


@dataclass(frozen=True)
class S7Options:
    public_paths: tuple[str, ...] = option(
        "Full paths (fnmatch globs, trailing slash removed) of public endpoints: login, register, "
        "password recovery and reset, health, docs. The refresh endpoint is not public."
    )
    public_handlers: tuple[str, ...] = option(
        "Handler names (fnmatch globs) of public endpoints, used with or without a known path."
    )
    bearer_required: tuple[str, ...] = option(
        "Handler names and full paths (fnmatch globs) of endpoints that must take their token through a "
        "dependency (the refresh endpoint): a handler that checks a cookie or body token by hand does not count."
    )
    auth_dependency_names: tuple[str, ...] = option(
        "Names (fnmatch globs, lower case) of dependencies that authenticate: `get_current_user`, "
        "`get_current_active_user`, `require_*` ... matched on the function, class or variable name."
    )
    credential_parameters: tuple[str, ...] = option(
        "Parameter names (fnmatch globs, lower case) of a dependency that reads a credential "
        "(`token`, `authorization`, `x_api_key` ...): such a dependency authenticates."
    )
    security_schemes: tuple[str, ...] = option(
        "Dotted names of security scheme classes: a dependency built on one authenticates "
        "(OAuth2PasswordBearer, HTTPBearer, APIKeyHeader ...)."
    )
    token_decoders: tuple[str, ...] = option(
        "Dotted names of calls that verify a token: a dependency (or handler) calling one authenticates."
    )
    token_issuers: tuple[str, ...] = option(
        "Function names (fnmatch globs) that issue rather than check credentials (`create_access_token`): "
        "calling one is not an authentication check even when its name mentions a token."
    )
    unauthorized_status_codes: tuple[int, ...] = option(
        "Status codes whose `HTTPException` marks a dependency (or handler) as an authentication check."
    )
    auth_middleware: tuple[str, ...] = option(
        "Names (fnmatch globs, lower case) of external middleware classes that authenticate every "
        "request of the application they are added to. Project middleware is judged by what it does "
        "(it answers an unauthorized status code), never by its name."
    )
    non_auth_dependencies: tuple[str, ...] = option(
        "Dotted names (fnmatch globs) of external dependencies known not to authenticate "
        "(FastAPI's forms and requests, rate limiters, pagination); other external dependencies "
        "are unknown, and a route depending on one is left alone."
    )
    auth_follow_depth: int = option("How many dependency levels archlint follows to find an authentication dependency.")


def _glob(name: str, globs: Iterable[str]) -> bool:
    return fnmatch_any(name.lower(), _lowered(tuple(globs)))


@lru_cache(maxsize=256)
def _lowered(globs: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(g.lower() for g in globs)


def _spelled(expr: Expr | None) -> str:
    if isinstance(expr, Name):
        return expr.id
    if isinstance(expr, Attr):
        return expr.attr
    if isinstance(expr, Call):
        return _spelled(expr.func)
    return ""


class _Auth:
    """Decides whether dependencies authenticate: True, False, or None (cannot tell)."""

    def __init__(self, index: ProjectIndex, options: S7Options) -> None:
        self.index = index
        self.opts = options
        self._functions: dict[tuple[FuncRef, int], bool | None] = {}

    # ------------------------------------------------------------ dependencies
    def dependency(self, dep: Dependency, depth: int) -> bool | None:
        if dep.target is None:
            return None
        if _glob(_spelled(dep.target), self.opts.auth_dependency_names):
            return True
        return self.value(self.index.evaluate(dep.target, dep.ctx), depth)

    def dependencies(self, deps: Iterable[Dependency], depth: int) -> bool | None:
        unknown = False
        for dep in deps:
            verdict = self.dependency(dep, depth)
            if verdict:
                return True
            unknown = unknown or verdict is None
        return None if unknown else False

    def value(self, value: Value, depth: int) -> bool | None:
        index, opts = self.index, self.opts
        if isinstance(value, TypeForm):
            value = value.origin
        if isinstance(value, FuncRef):
            return self.function(value, depth)
        if isinstance(value, Instance):
            kind = value.type
            if index.is_subclass(kind, set(opts.security_schemes)):
                return True
            if isinstance(kind, ClassRef):
                if _glob(kind.qualname.rsplit(".", 1)[-1], opts.auth_dependency_names):
                    return True
                call = index.class_member(kind, "__call__")
                return self.function(call, depth) if isinstance(call, FuncRef) else None
            return self._external(kind)
        if isinstance(value, ClassRef):
            if index.is_subclass(value, set(opts.security_schemes)):
                return True
            if _glob(value.qualname.rsplit(".", 1)[-1], opts.auth_dependency_names):
                return True
            if index.is_subclass(value, BASE_MODEL | SQLMODEL):
                return False
            init = index.class_member(value, "__init__")
            if isinstance(init, FuncRef):
                return self.function(init, depth)
            return False if all(isinstance(k, ClassRef) or fqn_of(k) == "builtins.object" for k in index.mro(value)) else None
        if isinstance(value, Symbol):
            if _glob(value.fqn.rsplit(".", 1)[-1], opts.auth_dependency_names):
                return True
            return self._external(value)
        return None

    def _external(self, kind: Value) -> bool | None:
        fqn = fqn_of(kind) or ""
        if fqn in self.opts.security_schemes:
            return True
        if any(fnmatch.fnmatchcase(fqn, g) for g in self.opts.non_auth_dependencies):
            return False
        return None

    def function(self, ref: FuncRef, depth: int) -> bool | None:
        key = (ref, depth)
        if key in self._functions:
            return self._functions[key]
        self._functions[key] = None  # recursion guard
        verdict = self._function(ref, depth)
        self._functions[key] = verdict
        return verdict

    def _function(self, ref: FuncRef, depth: int) -> bool | None:
        fn = self.index.function(ref)
        if fn is None:
            return None
        if _glob(fn.name, self.opts.auth_dependency_names):
            return True
        ctx = Ctx(ref.module, fn.qualname)
        if self.checks_inline(fn, ctx):
            return True
        if any(_glob(p.name, self.opts.credential_parameters) for p in fn.params if p.name not in ("self", "cls")):
            return True
        if depth >= self.opts.auth_follow_depth:
            return None
        deps, unknown = param_dependencies(self.index, fn, ctx)
        verdict = self.dependencies(deps, depth + 1)
        if verdict:
            return True
        return None if (verdict is None or unknown) else False

    def checks_inline(self, fn: FunctionFact, ctx: Ctx) -> bool:
        """A function body that verifies a token or answers 401 itself."""
        index, opts = self.index, self.opts
        for site in fn.calls:
            func = site.call.func
            if not isinstance(func, (Name, Attr)):
                continue
            if index.fqn(func, ctx) in opts.token_decoders:
                return True
            spelled = _spelled(func)
            if _glob(spelled, opts.auth_dependency_names) and not _glob(spelled, opts.token_issuers):
                value = index.evaluate(func, ctx)
                if not isinstance(value, Symbol) or not value.fqn.startswith(("fastapi.", "starlette.")):
                    return True
        for exc in fn.raises:
            if isinstance(exc, Call) and index.is_subclass(index.evaluate(exc.func, ctx), HTTP_EXCEPTIONS):
                code = index.const(exc.arg(0, "status_code"), ctx)
                if code in opts.unauthorized_status_codes:
                    return True
        return False


#: Middleware that authenticates by what it is (a known backend), wherever it is added.


def _methods(index: ProjectIndex, klass: ClassRef) -> list[FuncRef]:
    fact = index.class_fact(klass)
    return [FuncRef(klass.module, q) for q in fact.defs.values()] if fact is not None else []


class UnauthenticatedEndpoint(Rule[S7Options]):
    """Reports routes that are not public and depend on no authentication dependency.

    Authentication may be declared on the route (a `Depends`/`Security`
    parameter, also through an `Annotated` alias such as `CurrentUser` defined
    in another module, or `dependencies=[...]`), on its router, on any router
    or application it is included into, or on the `include_router` call. A
    dependency authenticates when its name is one of the pack's
    `auth-dependency-names`, when it is built on a security scheme
    (`OAuth2PasswordBearer`, `HTTPBearer`, `APIKeyHeader` ...), verifies a
    token or answers 401, or depends on such a dependency itself (followed
    `auth-follow-depth` levels). An application-wide authentication middleware
    covers its routes. Public endpoints are the pack's allow-list by full path
    and handler name; a route whose dependencies archlint cannot resolve is
    left alone. One finding per route, at its decorator.

    ## Why is this bad?
    An endpoint without an authentication dependency answers anyone on the
    network. Declaring authentication per endpoint (or per router) makes it
    visible in review and in the OpenAPI document's security requirements; a
    forgotten dependency is a data leak.
    """

    id = "AL410"
    name = "UnauthenticatedEndpoint"
    standard = "S7"
    severity = Severity.ERROR
    security_severity = 8.2
    tags = ("security", "api")
    Options = S7Options
    INVALID = [
        {
            "app/api/deps.py": """
                from typing import Annotated
                from fastapi import Depends
                from fastapi.security import OAuth2PasswordBearer

                oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/login/access-token")

                def get_current_user(token: Annotated[str, Depends(oauth2)]) -> str:
                    return token

                CurrentUser = Annotated[str, Depends(get_current_user)]
                """,
            "app/main.py": """
                from fastapi import APIRouter, FastAPI
                from app.api.deps import CurrentUser

                router = APIRouter(prefix="/api/v1/items", tags=["items"])

                @router.get("/mine")
                async def my_items(user: CurrentUser) -> list[str]:
                    \"\"\"The caller's items.\"\"\"
                    return [user]

                @router.get("/")  # expect: AL410
                async def all_items() -> list[str]:
                    \"\"\"Every item: no authentication.\"\"\"
                    return []

                app = FastAPI()
                app.include_router(router)
                """,
        }
    ]
    VALID = [
        {
            "app/api/deps.py": """
                from typing import Annotated
                from fastapi import Depends
                from fastapi.security import OAuth2PasswordBearer

                oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/login/access-token")

                def get_current_user(token: Annotated[str, Depends(oauth2)]) -> str:
                    return token

                def get_current_active_superuser(user: Annotated[str, Depends(get_current_user)]) -> str:
                    return user
                """,
            "app/main.py": """
                from fastapi import APIRouter, Depends, FastAPI
                from app.api.deps import get_current_active_superuser

                admin = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(get_current_active_superuser)])

                @admin.get("/stats")
                async def stats() -> dict[str, int]:
                    \"\"\"Statistics for administrators.\"\"\"
                    return {}

                public = APIRouter(tags=["login"])

                @public.post("/login/access-token")
                async def login_access_token() -> dict[str, str]:
                    \"\"\"Log in: public by the pack's allow-list.\"\"\"
                    return {}

                app = FastAPI()
                app.include_router(admin, prefix="/api/v1")
                app.include_router(public, prefix="/api/v1")
                """,
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes
        index = project.index
        table = project.routes
        auth = _Auth(index, self.options)
        protected_apps = self._middleware_apps(project)
        # An include archlint cannot resolve may put a route it cannot reach under a router
        # whose own dependencies authenticate (a router subclass such as AdminAPIRouter whose
        # constructor passes them, or a router built with dependencies=): unverifiable.
        unresolved_with_deps = unresolved_include_sets(table, "dependencies") or any(
            inc.child is None
            and (
                isinstance(table.objects[inc.parent].instance.type, ClassRef)
                or table.objects[inc.parent].call.kw("dependencies") is not None
            )
            for inc in table.includes
        )
        chain_cache: dict[ObjKey, list[Chain]] = {}
        for route in table.routes:
            if "WEBSOCKET" in route.methods:
                continue
            fn = index.function(route.handler) if route.handler else None
            ctx = handler_ctx(route)
            if fn is None or ctx is None:
                continue
            public = self._public(index, table, route, fn)
            if public is not False:
                continue
            verdict = self._route_verdict(auth, route, fn, ctx, inline=not self._bearer_required(route, fn))
            if verdict is not False:
                continue
            route_chains = chain_cache.setdefault(route.owner, chains(table, route.owner))
            if self._chains_protected(auth, route_chains, protected_apps, unresolved_with_deps):
                continue
            yield self.finding(
                route.file,
                route.call.span,
                f"The route {route_label(route)} is not public and depends on no authentication: "
                f"add an auth dependency (e.g. `CurrentUser`, `Depends(get_current_user)`) to the route, "
                f"its router or the `include_router` call.",
            )

    # ---------------------------------------------------------------- public
    def _public(self, index: ProjectIndex, table: RouteTable, route: Route, fn: FunctionFact) -> bool | None:
        """True: allow-listed; False: not public; None: cannot tell."""
        opts = self.options
        if _glob(fn.name, opts.public_handlers):
            return True
        paths = [fp.path for fp in route.full_paths]
        known = [p for p in paths if p is not None]
        if paths and len(known) == len(paths):
            return all(self._public_path(p) for p in known)
        if paths:
            return None  # a prefix archlint cannot resolve: the handler name decided
        tail = self._tail(index, table, route)
        if tail is None:
            return None
        return self._public_path(tail)

    def _public_path(self, path: str) -> bool:
        path = path.rstrip("/") or "/"
        return any(fnmatch.fnmatchcase(path.lower(), g) for g in self.options.public_paths) or probe_match(
            getattr(self, "_probes", ()), path
        )

    def _tail(self, index: ProjectIndex, table: RouteTable, route: Route) -> str | None:
        text = const_str(index, route.path_expr, route.ctx) if route.path_expr is not None else ""
        if text is None:
            return None
        owner = table.objects.get(route.owner)
        if owner is not None and owner.kind == "router" and owner.call.kw("prefix") is not None:
            prefix = const_str(index, owner.call.kw("prefix"), owner.ctx)
            if prefix is None:
                return None
            text = prefix + text
        return text

    # ---------------------------------------------------------- dependencies
    def _bearer_required(self, route: Route, fn: FunctionFact) -> bool:
        globs = self.options.bearer_required
        if _glob(fn.name, globs):
            return True
        return any(fp.path is not None and _glob(fp.path.rstrip("/"), globs) for fp in route.full_paths)

    def _route_verdict(self, auth: _Auth, route: Route, fn: FunctionFact, ctx: Ctx, *, inline: bool) -> bool | None:
        index = auth.index
        if inline and auth.checks_inline(fn, ctx):
            return True
        deps, unknown = param_dependencies(index, fn, ctx)
        deps = deps + class_dependencies(index, fn, ctx)
        listed = list_dependencies(index, route.kw("dependencies"), route.ctx)
        if listed is None:
            unknown = True
        else:
            deps = deps + listed
        verdict = auth.dependencies(deps, 0)
        if verdict:
            return True
        return None if (verdict is None or unknown) else False

    def _chains_protected(
        self, auth: _Auth, route_chains: list[Chain], protected_apps: set[ObjKey], unresolved_with_deps: bool
    ) -> bool:
        """Whether every way to the route authenticates (or archlint cannot tell)."""
        index = auth.index
        for chain in route_chains:
            if not chain.reaches_app and unresolved_with_deps:
                return True  # it may be included by a call archlint cannot resolve, with dependencies
            if chain.reaches_app and chain.objects[-1].key in protected_apps:
                continue
            unknown = False
            found = False
            places = [place for o in chain.objects for place in o.dependency_sources]
            places += [(i.call.kw("dependencies"), i.ctx) for i in chain.includes]
            for expr, ctx in places:
                deps = list_dependencies(index, expr, ctx)
                if deps is None:
                    unknown = True
                    continue
                verdict = auth.dependencies(deps, 0)
                if verdict:
                    found = True
                    break
                unknown = unknown or verdict is None
            if found:
                continue
            if unknown:
                return True
            return False
        return True

    def _middleware_apps(self, project: Project) -> set[ObjKey]:
        """Applications with an authentication middleware (``add_middleware``, ``@app.middleware``)."""
        index = project.index
        table: RouteTable = project.routes
        apps = {o.key for o in table.apps}
        out: set[ObjKey] = set()
        names = self.options.auth_middleware
        for _facts, site, ctx in index.iter_calls():
            func = site.call.func
            if not (isinstance(func, Attr) and func.attr in ("add_middleware", "middleware")):
                continue
            owner = index.evaluate(func.base, ctx)
            if not isinstance(owner, Instance) or owner.key not in apps:
                continue
            if func.attr == "add_middleware":
                klass = site.call.arg(0, "middleware_class")
                if klass is not None and self._authenticates(index, klass, ctx, names):
                    out.add(owner.key)
        for facts in index.modules.values():
            for fn in facts.functions.values():
                for deco in fn.decorators:
                    if isinstance(deco, Call) and isinstance(deco.func, Attr) and deco.func.attr == "middleware":
                        owner = index.evaluate(deco.func.base, Ctx(facts.module, fn.parent or ""))
                        if (
                            isinstance(owner, Instance)
                            and owner.key in apps
                            and self._rejects(index, [FuncRef(facts.module, fn.qualname)])
                        ):
                            out.add(owner.key)
        for obj in table.apps:
            listed = obj.call.kw("middleware")
            value = index.evaluate(listed, obj.ctx) if listed is not None else None
            for item in getattr(value, "items", ()) or ():
                if isinstance(item, Instance):
                    klass = item.call.arg(0, "cls")
                    if klass is not None and self._authenticates(index, klass, item.ctx, names):
                        out.add(obj.key)
        return out

    def _authenticates(self, index: ProjectIndex, expr: Expr, ctx: Ctx, names: tuple[str, ...]) -> bool:
        """A middleware that authenticates, known by what it does, not by its name.

        Starlette's ``AuthenticationMiddleware`` (and subclasses) is a known
        backend. A project middleware authenticates when its code rejects a
        request as unauthenticated (a response or ``HTTPException`` with one of
        the pack's unauthorized status codes); its name alone proves nothing (an
        authorization cache middleware does not reject anything). An external
        middleware archlint cannot read is judged by the pack's name globs.
        """
        value = index.evaluate(expr, ctx)
        if isinstance(value, (ClassRef, Symbol)):
            mro = index.mro(value)
            if any(fqn_of(k) in AUTHENTICATION_MIDDLEWARE for k in mro):
                return True
            project = [k for k in mro if isinstance(k, ClassRef)]
            if project:
                return self._rejects(index, [r for k in project for r in _methods(index, k)])
        return self._middleware_name(index, expr, ctx, names)

    def _rejects(self, index: ProjectIndex, functions: list[FuncRef]) -> bool:
        """Whether any of the functions (or the functions nested in them) answers an unauthorized status."""
        codes = set(self.options.unauthorized_status_codes)
        for ref in functions:
            facts = index.file_of(ref.module)
            if facts is None:
                continue
            for fn in facts.functions.values():
                if fn.qualname != ref.qualname and not fn.qualname.startswith(ref.qualname + "."):
                    continue
                ctx = Ctx(ref.module, fn.qualname)
                for site in fn.calls:
                    status = site.call.kw("status_code")
                    candidates = [status] if status is not None else list(site.call.args[:2])
                    for candidate in candidates:
                        value = index.const(candidate, ctx) if candidate is not None else None
                        if isinstance(value, int) and value in codes:
                            return True
        return False

    @staticmethod
    def _middleware_name(index: ProjectIndex, expr: Expr, ctx: Ctx, names: tuple[str, ...]) -> bool:
        value = index.evaluate(expr, ctx)
        candidates = [_spelled(expr)]
        if isinstance(value, (ClassRef, Symbol)):
            candidates += [(fqn_of(k) or "").rsplit(".", 1)[-1] for k in index.mro(value)]
        return any(c and _glob(c, names) for c in candidates)
