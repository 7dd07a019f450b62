"""S14 — CORS and request logging: CORSMiddleware present and never a wildcard origin with credentials; a request-logging middleware."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from archlint.analysis.apps import Registration
from archlint.analysis.routes import RouteTable
from archlint.checks.base import Project, Rule
from archlint.collect.facts import Attr, Expr, FunctionFact, Name
from archlint.index import ProjectIndex
from archlint.model import Finding, Severity
from archlint.pack import option
from archlint.values import ClassRef, Ctx, FuncRef, Instance, Module, ParamValue, Symbol, Unknown, fqn_of

_MAX_DEPTH = 6


@dataclass(frozen=True)
class S14Options:
    cors_middleware_types: tuple[str, ...] = option("Dotted names of the CORS middleware class.")
    wildcard_probe_origins: tuple[str, ...] = option(
        "Origins no allow-list should accept: an `allow_origin_regex` matching one of them is a wildcard."
    )
    logging_middleware_types: tuple[str, ...] = option("Dotted names of middleware classes that log every request.")
    logger_factories: tuple[str, ...] = option(
        "Dotted names of logger factories and logger objects (`logging.getLogger`, `loguru.logger`, ...)."
    )
    logger_methods: tuple[str, ...] = option("Method names that write a log record.")
    logger_name_pattern: re.Pattern[str] = option(
        "Receiver names taken for a logger when their value cannot be resolved (searched in the last name)."
    )


# --------------------------------------------------------------------------- #
# CORS
# --------------------------------------------------------------------------- #


# --------------------------------------------------------------------------- #
# Request logging
# --------------------------------------------------------------------------- #


class _Logging:
    """Whether a function or a middleware class writes log records (helpers followed two calls deep)."""

    def __init__(self, index: ProjectIndex, opts: S14Options) -> None:
        self.index = index
        self.opts = opts
        self._memo: dict[tuple[object, ...], bool] = {}

    def function(self, ref: FuncRef, depth: int = 0) -> bool:
        key = (ref.module, ref.qualname)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = False  # recursion guard
        facts = self.index.file_of(ref.module)
        result = False
        if facts is not None and depth <= 2:
            prefix = ref.qualname + ".<locals>."
            scopes = [s for q, s in facts.functions.items() if q == ref.qualname or q.startswith(prefix)]
            result = any(self._scope_logs(s, Ctx(ref.module, s.qualname), depth) for s in scopes)
        self._memo[key] = result
        return result

    def klass(self, ref: ClassRef) -> bool:
        for klass in self.index.mro(ref):
            if not isinstance(klass, ClassRef):
                continue
            fact = self.index.class_fact(klass)
            facts = self.index.file_of(klass.module)
            if fact is None or facts is None:
                continue
            for qualname in fact.defs.values():
                if qualname in facts.functions and self.function(FuncRef(klass.module, qualname)):
                    return True
        return False

    def _scope_logs(self, scope: FunctionFact, ctx: Ctx, depth: int) -> bool:
        for site in scope.calls:
            func = site.call.func
            if isinstance(func, Attr) and func.attr in self.opts.logger_methods and self.is_logger(func.base, ctx):
                return True
            if isinstance(func, (Name, Attr)):
                value = self.index.evaluate(func, ctx)
                if isinstance(value, FuncRef) and self.function(value, depth + 1):
                    return True
        return False

    def is_logger(self, expr: Expr, ctx: Ctx) -> bool:
        value = self.index.evaluate(expr, ctx)
        factories = frozenset(self.opts.logger_factories)
        if isinstance(value, Module):
            return value.name in factories or value.name.split(".", 1)[0] in ("logging", "structlog")
        if isinstance(value, Symbol):
            return value.fqn in factories
        if isinstance(value, Instance):
            return fqn_of(value.type) in factories or self.index.is_subclass(value.type, frozenset({"logging.Logger"}))
        if isinstance(value, (Unknown, ParamValue)):
            last = (expr.dotted() or "").rsplit(".", 1)[-1]
            return bool(last) and bool(self.opts.logger_name_pattern.search(last))
        return False

    def middleware(self, reg: Registration) -> bool | None:
        """True: it logs; False: it does not; None: cannot tell."""
        if reg.kind == "http_middleware":
            return None if reg.function is None else self.function(reg.function)
        value = self.index.evaluate(reg.target, reg.ctx)
        if isinstance(value, Unknown):
            return None
        if fqn_of(value) in self.opts.logging_middleware_types:
            return True
        if isinstance(value, ClassRef):
            return self.klass(value)
        return False


# --------------------------------------------------------------------------- #
# Rules
# --------------------------------------------------------------------------- #


class CorsWildcardWithCredentials(Rule[S14Options]):
    """Reports a `CORSMiddleware` that allows any origin together with `allow_credentials=True`.

    Any origin means `"*"` in `allow_origins` — written there, or held in a
    settings default, a comma-separated string, a settings property or a
    comprehension over one — or an `allow_origin_regex` that accepts an
    arbitrary origin (the pack's probe origins). Wildcard methods and headers
    are fine, and so is a wildcard origin without credentials. The finding
    sits on the middleware call.

    ## Why is this bad?
    With credentials allowed, Starlette answers a wildcard origin by echoing
    the caller's `Origin`, so any web page a logged-in user visits can make
    authenticated requests and read the responses.
    """

    id = "AL520"
    name = "CorsWildcardWithCredentials"
    standard = "S14"
    severity = Severity.ERROR
    security_severity = 8.1
    tags = ("security", "cors")
    Options = S14Options
    INVALID = [
        {
            "app/core/config.py": """
            from pydantic_settings import BaseSettings


            class Settings(BaseSettings):
                allowed_hosts: list[str] = ["*"]


            settings = Settings()
            """,
            "app/main.py": """
            from fastapi import FastAPI
            from fastapi.middleware.cors import CORSMiddleware

            from app.core.config import settings

            app = FastAPI()
            app.add_middleware(CORSMiddleware, allow_origins=settings.allowed_hosts, allow_credentials=True)  # expect: AL520
            """,
        }
    ]
    VALID = [
        """
        from fastapi import FastAPI
        from fastapi.middleware.cors import CORSMiddleware

        app = FastAPI()
        app.add_middleware(
            CORSMiddleware,
            allow_origins=["https://app.example.com"],
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
        )
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        cors = project.cors
        for use in cors.uses(self.options.cors_middleware_types):
            if not cors.credentials(use):
                continue
            what = cors.any_origin(use, self.options.wildcard_probe_origins)
            if what is not None:
                yield self.finding(
                    use.file,
                    use.span,
                    f"CORSMiddleware allows any origin ({what}) together with `allow_credentials=True`: list the "
                    "trusted origins explicitly.",
                )


class MissingCorsMiddleware(Rule[S14Options]):
    """Warns about an application with no `CORSMiddleware`, once, at the app object.

    Middleware added in a factory or a helper that receives the app counts;
    so does one whose receiver or class cannot be resolved (archlint does not
    guess a missing middleware).

    ## Why is this bad?
    Browsers refuse cross-origin calls from the frontend without CORS
    headers, and teams then reach for a proxy hack or an ad-hoc header that
    allows everything. An explicit allow-list is the standard.
    """

    id = "AL521"
    name = "MissingCorsMiddleware"
    standard = "S14"
    severity = Severity.WARNING
    tags = ("cors",)
    Options = S14Options
    INVALID = [
        """
        from fastapi import FastAPI

        app = FastAPI()  # expect: AL521
        """
    ]
    VALID = [
        """
        from fastapi import FastAPI
        from starlette.middleware import Middleware
        from starlette.middleware.cors import CORSMiddleware

        app = FastAPI(middleware=[Middleware(CORSMiddleware, allow_origins=["https://app.example.com"])])
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        types = frozenset(self.options.cors_middleware_types)
        if index.calls_to(*types):
            return  # constructed directly (wrapping an app): counted for every app
        config = project.apps
        for app in config.apps:
            regs = config.of(app.key, "middleware")
            values = [index.evaluate(r.target, r.ctx) for r in regs]
            if any(isinstance(v, Unknown) or index.is_subclass(v, types) for v in values):
                continue
            yield self.finding(
                app.file,
                app.call.span,
                "This application has no CORSMiddleware: add one with the frontend's origins in `allow_origins`.",
            )


class MissingRequestLogging(Rule[S14Options]):
    """Warns about an application with no request-logging middleware, once, at the app object.

    Accepted: an `@app.middleware("http")` function that writes a log record
    (directly or through a helper it calls), a middleware class from the
    pack's `logging-middleware-types`, a project middleware class (or
    `route_class`) whose methods log. A logger is a `logging`/`structlog`
    logger, `loguru.logger` or, when its value cannot be resolved, a receiver
    named like one.

    ## Why is this bad?
    Without a record of each request (method, path, status, duration)
    incidents cannot be traced and slow endpoints go unnoticed.
    """

    id = "AL522"
    name = "MissingRequestLogging"
    standard = "S14"
    severity = Severity.WARNING
    tags = ("observability",)
    Options = S14Options
    INVALID = [
        """
        import time
        from fastapi import FastAPI, Request

        app = FastAPI()  # expect: AL522


        @app.middleware("http")
        async def add_timing(request: Request, call_next):
            started = time.perf_counter()
            response = await call_next(request)
            response.headers["X-Process-Time"] = str(time.perf_counter() - started)
            return response
        """
    ]
    VALID = [
        """
        import logging
        from fastapi import FastAPI, Request

        logger = logging.getLogger(__name__)
        app = FastAPI()


        @app.middleware("http")
        async def log_requests(request: Request, call_next):
            response = await call_next(request)
            logger.info("%s %s %s", request.method, request.url.path, response.status_code)
            return response
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        logging_ = _Logging(index, self.options)
        if self._route_classes_log(index, project.routes, logging_):
            return
        config = project.apps
        for app in config.apps:
            regs = config.of(app.key, "middleware") + config.of(app.key, "http_middleware")
            if any(logging_.middleware(r) is not False for r in regs):
                continue
            yield self.finding(
                app.file,
                app.call.span,
                'This application has no request-logging middleware: add an `@app.middleware("http")` function '
                "(or a middleware class) that logs method, path, status and duration.",
            )

    def _route_classes_log(self, index: ProjectIndex, table: RouteTable, logging_: _Logging) -> bool:
        for obj in table.objects.values():
            expr = obj.call.kw("route_class")
            if expr is None:
                continue
            value = index.evaluate(expr, obj.ctx)
            if isinstance(value, ClassRef) and logging_.klass(value):
                return True
        return False
