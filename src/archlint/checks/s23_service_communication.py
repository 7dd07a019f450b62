"""S23 — inter-service communication: bounded timeouts, shared clients, configured URLs, independent services.

Sync HTTP clients called from `async def` are S10's blocking-call rule
(AL306), which S23 shares: one finding per mistake.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from archlint.analysis.static_types import TypeResolver, canonical_of
from archlint.checks.base import Project, Rule
from archlint.collect.facts import Attr, Call, CallSite, Expr, FileFacts, FString, FunctionFact, Lit, Name, Scope
from archlint.globs import fnmatch_any
from archlint.index import ProjectIndex
from archlint.model import Finding, Severity, Span
from archlint.names import canonical
from archlint.pack import option
from archlint.values import Ctx, FuncRef, Unknown


@dataclass(frozen=True)
class S23Options:
    timeout_ceiling: float = option("Longest timeout in seconds an outbound call may wait (`30`).")
    no_default_timeout_calls: tuple[str, ...] = option(
        "Dotted names (fnmatch patterns) of calls that wait forever without `timeout=` (`requests.get`, "
        "`requests.Session.*`, `urllib.request.urlopen`)."
    )
    request_functions: tuple[str, ...] = option(
        "Dotted names (fnmatch patterns) of module-level request functions with a default timeout (`httpx.get`)."
    )
    client_classes: dict[str, float] = option(
        "HTTP client classes -> their default timeout in seconds (0: none). A client built with a bounded "
        "timeout covers the calls made through it."
    )
    client_methods: tuple[str, ...] = option("Methods of a client that send a request (`get`, `post`, `request`, ...).")
    timeout_classes: dict[str, str] = option(
        "Timeout objects -> the keyword of their overall limit (`httpx.Timeout` = `timeout`, `aiohttp.ClientTimeout` = `total`)."
    )
    internal_hosts: tuple[str, ...] = option(
        "Regular expressions of host names that name a service of the deployment, not a public API "
        "(`localhost`, names without a dot, `*.svc.cluster.local`, `*.internal`). IP addresses always count."
    )
    lifespan_decorators: tuple[str, ...] = option(
        "Dotted names of decorators that mark a function run once per application (`contextlib.asynccontextmanager` "
        "passed as `lifespan=`), where a client may be created."
    )
    service_packages: tuple[str, ...] = option(
        "Folders (relative to the project root) that are independent services. Empty: every sibling package "
        "that builds its own FastAPI application."
    )


class _S23Rule(Rule[S23Options]):
    standard = "S23"
    Options = S23Options
    tags: ClassVar[tuple[str, ...]] = ("services",)


# --------------------------------------------------------------------------- #
# What the rules share: outbound calls and clients
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, slots=True)
class Outbound:
    """An outbound HTTP call or client construction found in the code."""

    facts: FileFacts
    site: CallSite
    ctx: Ctx
    what: str  # dotted name shown in messages
    kind: str  # "no-default" (must pass timeout), "defaulted" (has a default), "client"
    default: float  # the default timeout in seconds (0: none)


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return fnmatch_any(name, patterns)


def outbound_calls(index: ProjectIndex, types: TypeResolver, options: S23Options) -> Iterator[Outbound]:
    clients = options.client_classes
    for facts, site, ctx in index.iter_calls():
        call = site.call
        func = call.func
        if not isinstance(func, (Name, Attr)):
            continue
        fqn = canonical(index.fqn(func, ctx))
        if fqn in clients:
            yield Outbound(facts, site, ctx, fqn, "client", float(clients[fqn]))
            continue
        if fqn is not None and _matches(fqn, options.no_default_timeout_calls):
            yield Outbound(facts, site, ctx, fqn, "no-default", 0.0)
            continue
        if fqn is not None and _matches(fqn, options.request_functions):
            yield Outbound(facts, site, ctx, fqn, "defaulted", 5.0)
            continue
        if isinstance(func, Attr) and func.attr in options.client_methods:
            receiver = types.of(func.base, ctx)
            owner = canonical_of(receiver) if receiver is not None else None
            if owner is None:
                continue
            method = f"{owner}.{func.attr}"
            if _matches(method, options.no_default_timeout_calls):
                yield Outbound(facts, site, ctx, method, "no-default", 0.0)
            elif owner in clients:
                # The client's own timeout covers the call; only an explicit one here is judged.
                yield Outbound(facts, site, ctx, method, "defaulted", float(clients[owner]))


def _outbound(project: Project, options: S23Options) -> list[Outbound]:
    """Every outbound call and client of the project, found once for the S23 rules."""
    return project.shared(("S23.outbound", id(options)), lambda: list(outbound_calls(project.index, project.types, options)))


def _timeout_arg(out: Outbound) -> Expr | None:
    call = out.site.call
    if out.what == "urllib.request.urlopen":
        return call.arg(2, "timeout")
    return call.kw("timeout")


def timeout_seconds(index: ProjectIndex, expr: Expr, ctx: Ctx, options: S23Options) -> float | None | Unknown:
    """Seconds a timeout expression allows: a number, None for unbounded, Unknown when unresolvable."""
    if isinstance(expr, Name):
        found = index.definition(expr, ctx)
        if found is not None and isinstance(found[0], Call):
            expr, ctx = found
    if isinstance(expr, Call):
        fqn = canonical(index.fqn(expr.func, ctx))
        keyword = options.timeout_classes.get(fqn or "")
        if keyword is None:
            return Unknown("a call archlint does not know")
        value = expr.kw(keyword)
        if value is None and keyword == "timeout":
            value = expr.arg(0)
        if value is None:
            # httpx.Timeout() requires a value; aiohttp.ClientTimeout() without total is unbounded
            # unless a per-read limit bounds every wait.
            if any(expr.kw(k) is not None for k in ("sock_read", "read")):
                return Unknown("bounded per read only")
            return None
        return timeout_seconds(index, value, ctx, options)
    const = index.const(expr, ctx)
    if const is None:
        return None
    if isinstance(const, bool):
        return Unknown("a boolean")
    if isinstance(const, (int, float)):
        return float(const)
    if isinstance(const, tuple) and const and all(isinstance(v, (int, float)) for v in const):
        return float(sum(const))  # requests' (connect, read)
    if isinstance(const, Unknown):
        return const
    return Unknown("not a number")


def _seconds(value: float) -> str:
    return f"{value:g} s"


class OutboundCallWithoutTimeout(_S23Rule):
    """Reports an outbound HTTP call or client whose timeout is missing, unbounded or above the pack's ceiling.

    `requests` waits forever without `timeout=` (module functions and
    `Session` methods alike), and so does `urllib.request.urlopen`; `httpx`
    defaults to 5 s, so an `httpx` call or client is reported only when its
    timeout is `None` or above the ceiling; an `aiohttp.ClientSession`
    without `timeout=` waits 5 minutes (above the default ceiling of 30 s).
    Timeouts are resolved through constants and settings
    (`timeout=settings.HTTP_TIMEOUT`), `httpx.Timeout(...)` and
    `aiohttp.ClientTimeout(total=...)`; a client built once with a bounded
    timeout covers the calls made through it. A timeout archlint cannot
    resolve is not reported.

    ## Why is this bad?
    A service that waits forever on another one holds a worker, a database
    connection and the caller's request until something else gives up: one
    slow dependency becomes an outage of every service that calls it.
    """

    id = "AL640"
    name = "OutboundCallWithoutTimeout"
    severity = Severity.ERROR
    precision = "high"
    INVALID = [
        """
        import aiohttp
        import httpx
        import requests


        def fetch_rates() -> dict:
            return requests.get("https://rates.example.com/v1/eur").json()  # expect: AL640


        async def fetch_user(user_id: int) -> dict:
            async with httpx.AsyncClient(timeout=None) as client:  # expect: AL640
                response = await client.get(f"https://users.example.com/v1/users/{user_id}")
            return response.json()


        async def fetch_stock(sku: str) -> dict:
            async with aiohttp.ClientSession() as session:  # expect: AL640
                async with session.get(f"https://stock.example.com/v1/{sku}") as response:
                    return await response.json()
        """
    ]
    VALID = [
        """
        import aiohttp
        import httpx
        import requests

        TIMEOUT = 10


        def fetch_rates() -> dict:
            return requests.get("https://rates.example.com/v1/eur", timeout=TIMEOUT).json()


        async def fetch_user(user_id: int) -> dict:
            async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client:
                response = await client.get(f"https://users.example.com/v1/users/{user_id}")
            return response.json()


        async def fetch_stock(sku: str) -> dict:
            timeout = aiohttp.ClientTimeout(total=10)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(f"https://stock.example.com/v1/{sku}") as response:
                    return await response.json()
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        ceiling = float(self.options.timeout_ceiling)
        for out in _outbound(project, self.options):
            expr = _timeout_arg(out)
            call = out.site.call
            if expr is None:
                # A client without a default (requests.Session) takes no timeout: its calls are judged instead.
                if out.kind == "no-default" or (out.kind == "client" and out.default > ceiling):
                    default = "can wait forever" if out.kind == "no-default" else f"waits {_seconds(out.default)} by default"
                    yield self.finding(
                        out.facts.path,
                        call.span,
                        f"`{out.what}` has no `timeout=` and {default}: pass a timeout of at most "
                        f"{_seconds(ceiling)} so a slow service cannot hold this one.",
                    )
                continue
            seconds = timeout_seconds(index, expr, out.ctx, self.options)
            if isinstance(seconds, Unknown):
                continue
            if seconds is None:
                if out.what.rpartition(".")[2] == "stream" and out.kind != "client":
                    continue  # a subscription (server-sent events, long polling) waits by design
                yield self.finding(
                    out.facts.path,
                    expr.span,
                    f"`{out.what}` is given an unbounded timeout (`None`): it can wait forever; use at most {_seconds(ceiling)}.",
                )
            elif seconds > ceiling:
                yield self.finding(
                    out.facts.path,
                    expr.span,
                    f"`{out.what}` waits up to {_seconds(seconds)}, above the pack's ceiling of {_seconds(ceiling)}.",
                )


# --------------------------------------------------------------------------- #
# Clients created per request
# --------------------------------------------------------------------------- #


def _function_of(facts: FileFacts, ctx: Ctx) -> FunctionFact | None:
    return facts.functions.get(ctx.scope) if ctx.scope else None


def _bound_names(scope: Scope, site: CallSite) -> set[str]:
    """Names a client construction is bound to (``client = X()``, ``with X() as client``)."""
    names: set[str] = set()
    for assign in scope.assigns:
        if assign.value is site.call:
            names.update(t.id for t in assign.targets if isinstance(t, Name))
    for item in scope.withs:
        if item.context is site.call and isinstance(item.target, Name):
            names.add(item.target.id)
    return names


def _hands_out(fn: FunctionFact, site: CallSite) -> bool:
    """The function is a factory or a dependency: it returns, yields or stores the client it builds."""
    if site.context in ("return", "yield"):
        return True
    names = _bound_names(fn, site)
    for value in [*fn.returns, *fn.yields]:
        if isinstance(value, Name) and value.id in names:
            return True
    for assign in fn.assigns:
        if assign.value is site.call and any(isinstance(t, Attr) for t in assign.targets):
            return True  # self.client = httpx.AsyncClient(...): owned by an object
        if isinstance(assign.value, Name) and assign.value.id in names and any(isinstance(t, Attr) for t in assign.targets):
            return True  # app.state.client = client
    return False


class ClientPerRequest(_S23Rule):
    """Warns about an HTTP client created per request or per loop iteration instead of one shared client.

    Reported where a client class of the pack (`httpx.AsyncClient`,
    `httpx.Client`, `aiohttp.ClientSession`, `requests.Session`) is built
    inside a loop, a route handler, or any `async def` that runs per call,
    and is not handed out: a function that returns or yields the client (a
    factory or a dependency), stores it on an object (`self.client`,
    `app.state.client`) or is the application's lifespan creates it once.
    Code that only a command-line command runs (click or Typer, directly or
    through helpers only such commands call) serves no request and is left
    alone.

    ## Why is this bad?
    A client owns a connection pool. Building one per request opens a new
    TCP connection and TLS handshake to the other service every time, leaves
    keep-alive unused and multiplies sockets under load; create one client in
    the app's lifespan (or a dependency that shares it) and reuse it.
    """

    id = "AL641"
    name = "ClientPerRequest"
    severity = Severity.WARNING
    precision = "medium"
    INVALID = [
        """
        import httpx
        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/api/v1/users/{user_id}/orders")
        async def user_orders(user_id: int) -> list[dict]:
            async with httpx.AsyncClient(timeout=5) as client:  # expect: AL641
                response = await client.get(f"https://orders.example.com/v1/orders?user={user_id}")
            return response.json()
        """
    ]
    VALID = [
        """
        from collections.abc import AsyncIterator
        from contextlib import asynccontextmanager

        import httpx
        from fastapi import FastAPI, Request


        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            async with httpx.AsyncClient(timeout=5) as client:
                app.state.orders = client
                yield


        app = FastAPI(lifespan=lifespan)


        @app.get("/api/v1/users/{user_id}/orders")
        async def user_orders(user_id: int, request: Request) -> list[dict]:
            response = await request.app.state.orders.get(f"https://orders.example.com/v1/orders?user={user_id}")
            return response.json()
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        handlers = _handlers(project)
        lifespans = _lifespans(project, self.options)
        for out in _outbound(project, self.options):
            if out.kind != "client":
                continue
            site = out.site
            fn = _function_of(out.facts, out.ctx)
            where: str | None = None
            if site.loop_depth > 0:
                where = "in every iteration of a loop"
            elif fn is not None:
                key = (out.ctx.module, fn.qualname)
                if key in lifespans or _hands_out(fn, site) or project.commands.runs_only_under_commands(*key):
                    continue
                if key in handlers:
                    where = f"on every request to `{fn.name}`"
                elif fn.is_async and fn.name not in ("__aenter__", "__init__"):
                    where = f"on every call of `async def {fn.name}`"
            if where is None:
                continue
            yield self.finding(
                out.facts.path,
                site.call.span,
                f"A new `{out.what}` is created {where}: each one opens its own connection pool (new TCP and TLS "
                "handshakes, no keep-alive); create one client in the app's lifespan or a shared dependency and "
                "reuse it.",
            )


def _handlers(project: Project) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for route in project.routes.routes:
        if isinstance(route.handler, FuncRef):
            out.add((route.handler.module, route.handler.qualname))
    return out


def _lifespans(project: Project, options: S23Options) -> set[tuple[str, str]]:
    """Functions passed as an application's ``lifespan=`` or decorated as one, and startup handlers."""
    index = project.index
    out: set[tuple[str, str]] = set()
    for app in project.routes.apps:
        value = index.evaluate(app.call.kw("lifespan"), app.ctx)
        if isinstance(value, FuncRef):
            out.add((value.module, value.qualname))
    for facts in index.modules.values():
        for fn in facts.functions.values():
            ctx = Ctx(facts.module, fn.parent or "")
            for decorator in fn.decorators:
                target = decorator.func if isinstance(decorator, Call) else decorator
                name = canonical(index.fqn(target, ctx))
                if name in options.lifespan_decorators:
                    out.add((facts.module, fn.qualname))
                elif isinstance(decorator, Call) and isinstance(target, Attr) and target.attr == "on_event":
                    out.add((facts.module, fn.qualname))
    return out


# --------------------------------------------------------------------------- #
# Service URLs written in the code
# --------------------------------------------------------------------------- #


def _url_arg(out: Outbound) -> Expr | None:
    call = out.site.call
    if out.kind == "client":
        return call.kw("base_url")
    if out.what.endswith(".request") or out.what in ("requests.request", "httpx.request"):
        return call.arg(1, "url")
    if out.what == "urllib.request.urlopen":
        return call.arg(0, "url")
    return call.arg(0, "url")


def _literal_head(index: ProjectIndex, expr: Expr, ctx: Ctx, depth: int = 0) -> tuple[str, Span] | None:
    """The literal text a URL starts with, and where it is written, following module constants."""
    if isinstance(expr, Lit) and isinstance(expr.value, str):
        return expr.value, expr.span
    if isinstance(expr, FString):
        head = expr.parts[0] if expr.parts else None
        if head is None:
            return None
        found = _literal_head(index, head, ctx, depth + 1)
        return (found[0], expr.span) if found is not None else None
    if isinstance(expr, Name) and depth < 4:
        defined = index.definition(expr, ctx)
        if defined is None:
            return None
        value, where = defined
        if where.scope:  # a local variable or a class attribute (settings field): not a module constant
            return None
        return _literal_head(index, value, where, depth + 1)
    return None


def internal_host(url: str, patterns: Iterable[str]) -> str | None:
    """The host of an http(s) URL when it names a service of the deployment, else None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if any(re.fullmatch(p, host) for p in patterns):
        return host
    return None


class HardcodedServiceUrl(_S23Rule):
    """Warns about an outbound call or client whose URL names an internal service as a literal in the code.

    The URL of a request (`client.get("http://users-service/...")`,
    `requests.post(...)`) or a client's `base_url=` is reported when it is a
    literal, an f-string or a module constant whose host names a service of
    the deployment: an IP address, `localhost`, a name without a dot
    (`users-service`) or an internal domain (pack list). Settings fields
    (`settings.USERS_URL`, with or without a default) are configuration;
    public APIs with fixed URLs are not reported.

    ## Why is this bad?
    A service address written in code is the same in every environment:
    staging calls production, a moved service needs a release of every
    caller, and a local port leaks into the deployment. Read it from
    configuration (a settings field) so each environment names its own.
    """

    id = "AL642"
    name = "HardcodedServiceUrl"
    severity = Severity.WARNING
    precision = "high"
    INVALID = [
        """
        import httpx

        USERS = "http://users-service:8000/api/v1"


        async def fetch_user(client: httpx.AsyncClient, user_id: int) -> dict:
            response = await client.get(f"{USERS}/users/{user_id}")  # expect: AL642
            return response.json()


        def orders_client() -> httpx.AsyncClient:
            return httpx.AsyncClient(base_url="http://localhost:8001", timeout=5)  # expect: AL642
        """
    ]
    VALID = [
        {
            "app/core/config.py": """
                from pydantic_settings import BaseSettings


                class Settings(BaseSettings):
                    USERS_URL: str = "http://localhost:8000/api/v1"


                settings = Settings()
            """,
            "app/main.py": """
                import httpx

                from app.core.config import settings


                async def fetch_user(client: httpx.AsyncClient, user_id: int) -> dict:
                    response = await client.get(f"{settings.USERS_URL}/users/{user_id}")
                    return response.json()


                def rates_client() -> httpx.AsyncClient:
                    return httpx.AsyncClient(base_url="https://api.exchangerate.host", timeout=5)
            """,
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        for out in _outbound(project, self.options):
            expr = _url_arg(out)
            if expr is None:
                continue
            head = _literal_head(index, expr, out.ctx)
            if head is None:
                continue
            text, _ = head
            host = internal_host(text, self.options.internal_hosts)
            if host is None:
                continue
            yield self.finding(
                out.facts.path,
                expr.span,
                f"The service address `{host}` is written in the code: read the URL from configuration "
                "(a settings field) so each environment names its own.",
            )


# --------------------------------------------------------------------------- #
# Independent services
# --------------------------------------------------------------------------- #


def service_roots(project: Project, configured: tuple[str, ...]) -> list[str]:
    """Folders (relative to the project root, POSIX) that are independent services."""
    if configured:
        return sorted(c.strip("/") for c in configured)
    index = project.index
    app_dirs: set[str] = set()
    for app in project.routes.apps:
        facts = index.file_of(app.ctx)
        if facts is not None:
            app_dirs.add(facts.rel.rpartition("/")[0])
    if len(app_dirs) < 2:
        return []
    parts = [d.split("/") if d else [] for d in app_dirs]
    common: list[str] = []
    for column in zip(*parts):
        if len(set(column)) != 1:
            break
        common.append(column[0])
    roots = {"/".join(p[: len(common) + 1]) for p in parts if len(p) > len(common)}
    return sorted(roots) if len(roots) >= 2 else []


def _service_of(rel: str, roots: list[str]) -> str | None:
    for root in roots:
        if rel.startswith(root + "/"):
            return root
    return None


class CrossServiceImport(_S23Rule):
    """Reports a service package that imports another service's code (import-linter's independence contract).

    Services are the pack's `service-packages`, or, when it is empty, the
    sibling folders that each build their own FastAPI application. An import
    from one service into another is reported at the import; code both need
    lives in a shared package that is not a service.

    ## Why is this bad?
    Services that import each other's internals are one program deployed
    twice: a change to one breaks the other at import time, they cannot be
    released or scaled apart, and the network contract between them is
    bypassed. Share code through a library and talk over HTTP.
    """

    id = "AL643"
    name = "CrossServiceImport"
    severity = Severity.ERROR
    precision = "high"
    tags = ("services", "architecture")
    INVALID = [
        {
            "services/users/main.py": """
                from fastapi import FastAPI

                app = FastAPI()
            """,
            "services/users/models.py": "class User:\n    pass\n",
            "services/orders/main.py": """
                from fastapi import FastAPI

                from services.users.models import User  # expect: AL643
                from shared.money import Money

                app = FastAPI()
            """,
            "shared/money.py": "class Money:\n    pass\n",
        }
    ]
    VALID = [
        {
            "services/users/main.py": """
                from fastapi import FastAPI

                from shared.money import Money

                app = FastAPI()
            """,
            "services/orders/main.py": """
                from fastapi import FastAPI

                from shared.money import Money

                app = FastAPI()
            """,
            "shared/money.py": "class Money:\n    pass\n",
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        roots = service_roots(project, self.options.service_packages)
        if len(roots) < 2:
            return
        index = project.index
        for facts in index.modules.values():
            mine = _service_of(facts.rel, roots)
            if mine is None:
                continue
            for imp in facts.imports:
                target = index.absolute_module(imp, facts)
                candidates = [target] if imp.name in (None, "*") else [f"{target}.{imp.name}", target]
                for name in candidates:
                    other = index.module(name)
                    if other is None:
                        continue
                    theirs = _service_of(other.rel, roots)
                    if theirs is not None and theirs != mine:
                        yield self.finding(
                            facts.path,
                            imp.span,
                            f"The service `{mine}` imports `{name}` from the service `{theirs}`: services stay "
                            "independent; move shared code into a shared package and call the other service "
                            "over HTTP.",
                        )
                    break
