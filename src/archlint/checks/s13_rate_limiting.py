"""S13 — rate limiting: a SlowAPI ``Limiter`` registered on the app, Redis storage, limited auth endpoints."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from archlint.analysis.apps import Registration
from archlint.analysis.rate_limits import (
    LimitValue,
    alternative_guard,
    limit_decorators,
    limit_values,
    limiter_calls,
    looser,
    parse_limit,
    rate,
    uses_alternative,
)
from archlint.checks.base import Project, Rule
from archlint.collect.facts import Expr, FString
from archlint.index import ProjectIndex
from archlint.model import Finding, Related, Severity, Span
from archlint.pack import option
from archlint.values import Const, Ctx, SeqValue, Unknown


@dataclass(frozen=True)
class S13Options:
    limiter_types: tuple[str, ...] = option("Dotted names of the SlowAPI Limiter class.")
    middleware_types: tuple[str, ...] = option("Dotted names of SlowAPI's middleware classes (one must be added to the app).")
    exceeded_types: tuple[str, ...] = option(
        "Dotted names of SlowAPI's RateLimitExceeded exception (a handler must be registered)."
    )
    alternative_limiter_modules: tuple[str, ...] = option(
        "Top-level modules of other rate-limiting libraries: accepted with a note, S13 is checked for SlowAPI only."
    )
    default_limit: str = option("The loosest acceptable `default_limits` of the Limiter, in the `limits` grammar.")
    redis_storage_schemes: tuple[str, ...] = option("URI schemes of `storage_uri` that are Redis.")
    auth_limits: dict[str, str] = option("The loosest acceptable limit of each kind of auth endpoint, in the `limits` grammar.")
    auth_path_patterns: dict[str, re.Pattern[str]] = option(
        "Per auth-endpoint kind, a regular expression searched in the route's full path (trailing slash removed)."
    )
    auth_handler_patterns: dict[str, re.Pattern[str]] = option(
        "Per auth-endpoint kind, a regular expression the handler function's whole name must match."
    )
    auth_methods: tuple[str, ...] = option("HTTP methods an auth endpoint is served with (a GET /login page is not one).")
    auth_exclude_path_pattern: re.Pattern[str] = option(
        "Full paths that are never auth endpoints: rate-limit settings, lockout management (searched)."
    )
    request_parameter_names: tuple[str, ...] = option("Parameter names SlowAPI accepts for the request.")
    signup_password_fields: re.Pattern[str] = option(
        "A body-model field named like this (whole name) is the new account's password: with a login-name"
        " field, a POST that creates (201, or a create handler) depending on nothing that authenticates is a"
        " sign-up, a register endpoint whatever its path."
    )
    signup_login_fields: re.Pattern[str] = option(
        "A body-model field named like this (whole name) is the new account's login name."
    )
    signup_create_handlers: re.Pattern[str] = option(
        "A handler name searched with this creates something (when the route does not declare 201)."
    )
    signup_auth_hints: tuple[str, ...] = option(
        "Globs on the names a route's dependencies are written with (its own, its routers', one level deep):"
        " any match means the route may authenticate, so it is an administrator's create, not a sign-up."
    )


# --------------------------------------------------------------------------- #
# Rules
# --------------------------------------------------------------------------- #


class MissingRateLimiter(Rule[S13Options]):
    """Reports an application with no SlowAPI `Limiter` anywhere in the project, once, at the app object.

    A project that limits with another known library (the pack's
    `alternative-limiter-modules`, such as fastapi-limiter) gets the
    `AlternativeRateLimiter` note instead.

    ## Why is this bad?
    Without rate limiting one client can exhaust the service or brute-force
    credentials at line speed. The profile standardises on SlowAPI with a
    Redis store so every worker shares the counters.
    """

    id = "AL501"
    name = "MissingRateLimiter"
    standard = "S13"
    severity = Severity.ERROR
    security_severity = 5.3
    tags = ("security", "rate-limiting")
    Options = S13Options
    INVALID = [
        """
        from fastapi import FastAPI

        app = FastAPI()  # expect: AL501
        """
    ]
    VALID = [
        """
        from fastapi import FastAPI
        from slowapi import Limiter, _rate_limit_exceeded_handler
        from slowapi.errors import RateLimitExceeded
        from slowapi.middleware import SlowAPIMiddleware
        from slowapi.util import get_remote_address

        limiter = Limiter(key_func=get_remote_address, default_limits=["100/minute"], storage_uri="redis://redis:6379/0")
        app = FastAPI()
        app.state.limiter = limiter
        app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)
        app.add_middleware(SlowAPIMiddleware)
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        if limiter_calls(index, self.options) or uses_alternative(index, self.options):
            return
        config = project.apps
        for app in config.apps:
            if any(r.name == "limiter" for r in config.of(app.key, "state")):
                continue
            yield self.finding(
                app.file,
                app.call.span,
                "This application has no rate limiter: create a SlowAPI `Limiter` with a Redis `storage_uri` and "
                "register it (`app.state.limiter`, a `RateLimitExceeded` handler and `SlowAPIMiddleware`).",
            )


class AlternativeRateLimiter(Rule[S13Options]):
    """Notes an application that rate-limits with another known library instead of SlowAPI.

    The library is accepted: S13's registration, default-limit and
    auth-endpoint checks are written for SlowAPI, so they are not applied.

    ## Why is this bad?
    It is not, necessarily. The profile names SlowAPI; with another limiter
    archlint cannot verify the default limit, the Redis store or the auth
    endpoints' limits, so review them by hand.
    """

    id = "AL502"
    name = "AlternativeRateLimiter"
    standard = "S13"
    severity = Severity.NOTE
    precision = "medium"
    tags = ("rate-limiting",)
    Options = S13Options
    INVALID = [
        """
        from fastapi import FastAPI
        from fastapi_limiter import FastAPILimiter

        app = FastAPI()  # expect: AL502
        """
    ]
    VALID = [
        """
        from fastapi import FastAPI
        from slowapi import Limiter
        from slowapi.util import get_remote_address

        limiter = Limiter(key_func=get_remote_address)
        app = FastAPI()
        app.state.limiter = limiter
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        library = uses_alternative(index, self.options)
        if library is None or limiter_calls(index, self.options):
            return
        for app in project.apps.apps:
            yield self.finding(
                app.file,
                app.call.span,
                f"This application rate-limits with `{library}` rather than SlowAPI: accepted, but S13's checks "
                "(default limit, Redis storage, auth endpoints) are not verified for it.",
            )


class RateLimiterNotRegistered(Rule[S13Options]):
    """Reports an application that does not fully register the SlowAPI limiter, once, at the app object.

    SlowAPI needs three things on the app: `app.state.limiter = limiter`, an
    exception handler for `RateLimitExceeded` (or status 429), and
    `SlowAPIMiddleware` (or `SlowAPIASGIMiddleware`). Registrations are found
    in factories and in helpers that receive the app; one whose receiver
    cannot be traced counts for every app.

    ## Why is this bad?
    Without `app.state.limiter` every limited route fails at request time;
    without the middleware `default_limits` limit nothing; without the
    handler a limited client gets SlowAPI's ad-hoc body, or a 500.
    """

    id = "AL503"
    name = "RateLimiterNotRegistered"
    standard = "S13"
    severity = Severity.ERROR
    tags = ("rate-limiting",)
    Options = S13Options
    INVALID = [
        """
        from fastapi import FastAPI
        from slowapi import Limiter
        from slowapi.util import get_remote_address

        limiter = Limiter(key_func=get_remote_address, default_limits=["100/minute"], storage_uri="redis://r:6379")
        app = FastAPI()  # expect: AL503
        app.state.limiter = limiter
        """
    ]
    VALID = [
        {
            "app/core/limits.py": """
            from slowapi import Limiter
            from slowapi.util import get_remote_address

            limiter = Limiter(key_func=get_remote_address, default_limits=["100/minute"], storage_uri="redis://r:6379")
            """,
            "app/main.py": """
            from fastapi import FastAPI
            from slowapi import _rate_limit_exceeded_handler
            from slowapi.errors import RateLimitExceeded
            from slowapi.middleware import SlowAPIMiddleware

            from app.core.limits import limiter


            def install_limits(app: FastAPI) -> None:
                app.state.limiter = limiter
                app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)
                app.add_middleware(SlowAPIMiddleware)


            def create_app() -> FastAPI:
                application = FastAPI()
                install_limits(application)
                return application


            app = create_app()
            """,
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        opts = self.options
        config = project.apps
        limiters = limiter_calls(index, opts)
        checked = {app.key for app in config.apps}
        # Every mounted application serving routes needs its own handler (handlers do not cross a mount);
        # its state and middleware are its parent's, checked there.
        for app in config.handler_apps:
            regs = config.of(app.key)
            state = [r for r in regs if r.kind == "state" and r.name == "limiter"]
            if not state and not limiters:
                continue  # AL501 / AL502
            missing = []
            if not state and app.key in checked:
                missing.append("`app.state.limiter = limiter` (limited routes fail without it)")
            if not any(self._is_handler(index, r) for r in regs if r.kind == "handler"):
                missing.append("an exception handler for `RateLimitExceeded`")
            if app.key in checked and not any(self._is_middleware(index, r) for r in regs if r.kind == "middleware"):
                missing.append("`SlowAPIMiddleware` (without it `default_limits` limit nothing)")
            if missing:
                yield self.finding(
                    app.file,
                    app.call.span,
                    "The SlowAPI limiter is not fully registered on this application: it lacks " + "; ".join(missing) + ".",
                )

    def _is_handler(self, index: ProjectIndex, reg: Registration) -> bool:
        value = index.evaluate(reg.target, reg.ctx)
        if isinstance(value, Unknown):
            return True
        if isinstance(value, Const):
            return value.value == 429
        return index.is_subclass(value, frozenset(self.options.exceeded_types))

    def _is_middleware(self, index: ProjectIndex, reg: Registration) -> bool:
        value = index.evaluate(reg.target, reg.ctx)
        return isinstance(value, Unknown) or index.is_subclass(value, frozenset(self.options.middleware_types))


class LooseDefaultRateLimit(Rule[S13Options]):
    """Reports a SlowAPI `Limiter` without `default_limits`, or with default limits looser than the pack's.

    Limits are read with the `limits` grammar and compared by the rate they
    allow per second (several limits apply together, so the strictest
    counts). A value that cannot be resolved is left to
    `UnverifiableRateLimit`.

    ## Why is this bad?
    The default limit is the only protection of every route without its own
    decorator; without one, or with a loose one, the API can be flooded.
    """

    id = "AL504"
    name = "LooseDefaultRateLimit"
    standard = "S13"
    severity = Severity.ERROR
    tags = ("rate-limiting",)
    Options = S13Options
    INVALID = [
        """
        from slowapi import Limiter
        from slowapi.util import get_remote_address

        limiter = Limiter(key_func=get_remote_address, default_limits=["1000/minute"], storage_uri="redis://r:6379")  # expect: AL504
        """
    ]
    VALID = [
        """
        from slowapi import Limiter
        from slowapi.util import get_remote_address

        limiter = Limiter(key_func=get_remote_address, default_limits=["100 per minute", "1000/day"], storage_uri="redis://r:6379")
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        default = self.options.default_limit
        required = parse_limit(default)
        if isinstance(required, str):
            return
        for facts, site, ctx in limiter_calls(index, self.options):
            call = site.call
            expr = call.kw("default_limits")
            if expr is None:
                yield self.finding(
                    facts.path,
                    call.span,
                    f"This Limiter has no `default_limits`: routes without their own decorator are not limited; "
                    f'set `default_limits=["{default}"]` (or stricter).',
                )
                continue
            values = limit_values(index, expr, ctx, many=True)
            if isinstance(index.evaluate(expr, ctx), SeqValue) and not values:
                yield self.finding(
                    facts.path,
                    expr.span,
                    f'This Limiter\'s `default_limits` is empty: set it to ["{default}"] (or stricter).',
                )
                continue
            parsed = [v.parsed for v in values]
            limits = [p for p in parsed if isinstance(p, tuple)]
            if len(limits) != len(parsed):
                continue  # unverifiable or unparsable: other rules
            actual = rate(item for p in limits for item in p)
            if looser(actual, rate(required)):
                shown = ", ".join(f'"{v.text}"' for v in values)
                yield self.finding(
                    facts.path,
                    expr.span,
                    f"The default limits {shown} are looser than the required {default}.",
                )


class RateLimitStorageNotRedis(Rule[S13Options]):
    """Warns about a SlowAPI `Limiter` whose `storage_uri` is missing (in-memory) or not a Redis URI.

    The URI is resolved through constants and settings defaults; a URI read
    from the environment is not reported.

    ## Why is this bad?
    The in-memory store counts per process: with four workers a client gets
    four times the limit, and every restart forgets it. Redis shares the
    counters between workers and hosts.
    """

    id = "AL505"
    name = "RateLimitStorageNotRedis"
    standard = "S13"
    severity = Severity.WARNING
    tags = ("rate-limiting",)
    Options = S13Options
    INVALID = [
        """
        from slowapi import Limiter
        from slowapi.util import get_remote_address

        limiter = Limiter(key_func=get_remote_address, default_limits=["100/minute"], storage_uri="memory://")  # expect: AL505
        """
    ]
    VALID = [
        {
            "app/core/config.py": """
            from pydantic_settings import BaseSettings


            class Settings(BaseSettings):
                REDIS_URL: str = "redis://localhost:6379/0"


            settings = Settings()
            """,
            "app/core/limits.py": """
            from slowapi import Limiter
            from slowapi.util import get_remote_address

            from app.core.config import settings

            limiter = Limiter(key_func=get_remote_address, default_limits=["100/minute"], storage_uri=settings.REDIS_URL)
            """,
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        for facts, site, ctx in limiter_calls(index, self.options):
            call = site.call
            expr = call.kw("storage_uri")
            if expr is None:
                yield self.finding(
                    facts.path,
                    call.span,
                    "This Limiter has no `storage_uri`, so it counts in memory, per process: use a Redis URI "
                    "such as `redis://redis:6379/0`.",
                )
                continue
            text = _known_prefix(index, expr, ctx)
            if text is None:
                continue
            scheme = text.split("://", 1)[0].lower() if "://" in text else None
            if scheme is None and "://" not in text and isinstance(index.evaluate(expr, ctx), Unknown):
                continue  # only a partial prefix without the scheme separator
            if scheme not in self.options.redis_storage_schemes:
                yield self.finding(
                    facts.path,
                    expr.span,
                    f"This Limiter stores its counters in `{text or 'None'}`, not Redis: limits are not shared "
                    "between workers; use a Redis URI.",
                )


def _known_prefix(index: ProjectIndex, expr: Expr, ctx: Ctx) -> str | None:
    """The value of a string expression, or its known leading text (f-strings), or None."""
    value = index.evaluate(expr, ctx)
    if isinstance(value, Const):
        return value.value if isinstance(value.value, str) else ("" if value.value is None else None)
    if isinstance(expr, FString):
        head = []
        for part in expr.parts:
            part_value = index.evaluate(part, ctx)
            if not isinstance(part_value, Const):
                break
            head.append(str(part_value.value))
        text = "".join(head)
        return text if "://" in text else None
    return None


class AuthEndpointWithoutRateLimit(Rule[S13Options]):
    """Reports an auth endpoint (login, register, refresh) without a `@limiter.limit(...)` decorator.

    Auth endpoints are found in the route table by the pack's path and
    handler-name patterns, served with POST; routes that manage rate-limit
    settings or lockouts are excluded by the pack's exclusion pattern. A bare
    `/refresh` is a token refresh only at the top of the API or under an auth
    segment (`POST /catalogs/{id}/refresh` re-syncs a resource), and routes
    of a library's router factory that no application of the project mounts
    are the mounting application's to limit. A route another limiter guards
    (a `fastapi_limiter` dependency) is reported as limited by that library,
    not as unlimited. The finding sits on the route decorator.

    ## Why is this bad?
    Login, registration and token refresh are what attackers hammer:
    credential stuffing, password guessing, account-creation spam. The
    default limit is far too loose for them.
    """

    id = "AL506"
    name = "AuthEndpointWithoutRateLimit"
    standard = "S13"
    severity = Severity.ERROR
    security_severity = 7.5
    tags = ("security", "rate-limiting", "auth")
    Options = S13Options
    INVALID = [
        """
        from fastapi import APIRouter, FastAPI, Request

        router = APIRouter(prefix="/auth")


        @router.post("/login")  # expect: AL506
        async def login(request: Request) -> dict[str, str]:
            return {}


        app = FastAPI()
        app.include_router(router, prefix="/api/v1")
        """
    ]
    VALID = [
        """
        from fastapi import APIRouter, FastAPI, Request
        from slowapi import Limiter
        from slowapi.util import get_remote_address

        limiter = Limiter(key_func=get_remote_address)
        router = APIRouter(prefix="/auth")


        @router.post("/login")
        @limiter.limit("10/minute")
        async def login(request: Request) -> dict[str, str]:
            return {}


        @router.put("/rate-limits/login")
        async def update_login_limit(request: Request) -> dict[str, str]:
            return {}


        app = FastAPI()
        app.include_router(router, prefix="/api/v1")
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        opts = self.options
        if uses_alternative(index, opts) and not limiter_calls(index, opts):
            return
        for route, fn, kind in project.rate_limits.auth_routes(opts):
            assert route.handler is not None
            if limit_decorators(index, fn, route.handler.module, opts):
                continue
            other = alternative_guard(index, route, fn, opts)
            if other:
                yield self.finding(
                    route.file,
                    route.call.span,
                    f"The {kind} endpoint `{fn.name}` is limited by {other}, not by SlowAPI: the profile's limiter is "
                    f'SlowAPI, so add `@limiter.limit("{opts.auth_limits[kind]}")` below the route decorator.',
                )
                continue
            yield self.finding(
                route.file,
                route.call.span,
                f'The {kind} endpoint `{fn.name}` has no rate limit: add `@limiter.limit("{opts.auth_limits[kind]}")` '
                "below the route decorator.",
            )


class LooseAuthEndpointRateLimit(Rule[S13Options]):
    """Reports an auth endpoint whose `@limiter.limit(...)` allows more than the pack's limit for its kind.

    The pack sets login 10/minute, register 5/minute and refresh 30/minute;
    limits are compared by the rate they allow per second, and several
    limits on one route apply together (the strictest counts).

    ## Why is this bad?
    A limit of 100/minute on login still lets an attacker try 144,000
    passwords a day from one address.
    """

    id = "AL507"
    name = "LooseAuthEndpointRateLimit"
    standard = "S13"
    severity = Severity.ERROR
    security_severity = 5.3
    tags = ("security", "rate-limiting", "auth")
    Options = S13Options
    INVALID = [
        """
        from fastapi import APIRouter, Request
        from slowapi import Limiter
        from slowapi.util import get_remote_address

        limiter = Limiter(key_func=get_remote_address)
        router = APIRouter()


        @router.post("/auth/register")
        @limiter.limit("20/minute")  # expect: AL507
        async def register(request: Request) -> dict[str, str]:
            return {}
        """
    ]
    VALID = [
        """
        from fastapi import APIRouter, Request
        from slowapi import Limiter
        from slowapi.util import get_remote_address

        limiter = Limiter(key_func=get_remote_address)
        router = APIRouter()


        @router.post("/auth/register")
        @limiter.limit("3 per minute;50/day")
        async def register(request: Request) -> dict[str, str]:
            return {}
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        opts = self.options
        for route, fn, kind in project.rate_limits.auth_routes(opts):
            assert route.handler is not None
            decorators = limit_decorators(index, fn, route.handler.module, opts)
            if not decorators or not all(d.resolved for d in decorators):
                continue
            values = [v for d in decorators for v in d.values]
            parsed = [v.parsed for v in values]
            limits = [p for p in parsed if isinstance(p, tuple)]
            if not values or len(limits) != len(parsed):
                continue
            required_text = opts.auth_limits[kind]
            required = parse_limit(required_text)
            if isinstance(required, str):
                continue
            if looser(rate(i for p in limits for i in p), rate(required)):
                shown = "; ".join(v.text or "" for v in values)
                target = values[0].expr
                yield self.finding(
                    route.file if (owner := index.file_of(values[0].ctx)) is None else owner.path,
                    target.span,
                    f'The {kind} endpoint `{fn.name}` is limited to "{shown}", looser than the required {required_text}.',
                )


class InvalidRateLimitString(Rule[S13Options]):
    """Reports a rate-limit string that the `limits` grammar cannot parse, such as `"5/min"`.

    Checked on `@limiter.limit(...)`, `@limiter.shared_limit(...)` and the
    Limiter's `default_limits` / `application_limits`, with values resolved
    through constants and settings defaults. The grammar is `[count]
    [per|/] [n (optional)] [second|minute|hour|day|month|year]`, several
    joined by `;` or `,`.

    ## Why is this bad?
    SlowAPI accepts the string at import and fails on the first request of
    the route (or logs and drops the limit), so the endpoint is either broken
    or unlimited.
    """

    id = "AL508"
    name = "InvalidRateLimitString"
    standard = "S13"
    severity = Severity.ERROR
    tags = ("rate-limiting",)
    Options = S13Options
    INVALID = [
        """
        from fastapi import APIRouter, Request
        from slowapi import Limiter
        from slowapi.util import get_remote_address

        limiter = Limiter(key_func=get_remote_address)
        router = APIRouter()


        @router.get("/search")
        @limiter.limit("5/min")  # expect: AL508
        async def search(request: Request) -> list[str]:
            return []
        """
    ]
    VALID = [
        """
        from fastapi import APIRouter, Request
        from slowapi import Limiter
        from slowapi.util import get_remote_address

        limiter = Limiter(key_func=get_remote_address)
        router = APIRouter()


        @router.get("/search")
        @limiter.limit("5/minute")
        async def search(request: Request) -> list[str]:
            return []
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        opts = self.options
        seen: set[tuple[str, Span]] = set()
        values: list[LimitValue] = []
        for facts in index.modules.values():
            for fn in facts.functions.values():
                for deco in limit_decorators(index, fn, facts.module, opts):
                    values.extend(deco.values)
        for _facts, site, ctx in limiter_calls(index, opts):
            for kw in ("default_limits", "application_limits"):
                values.extend(limit_values(index, site.call.kw(kw), ctx, many=True))
        for value in values:
            error = value.parsed
            if not isinstance(error, str):
                continue
            owner = index.file_of(value.ctx)
            if owner is None or (owner.path, value.expr.span) in seen:
                continue
            seen.add((owner.path, value.expr.span))
            yield self.finding(
                owner.path,
                value.expr.span,
                f'The rate limit "{value.text}" is not in the `limits` grammar: SlowAPI fails on it at '
                'request time; write it like "5/minute" or "5 per minute".',
            )


class RateLimitedRouteWithoutRequest(Rule[S13Options]):
    """Reports a function decorated with `@limiter.limit(...)` that has no parameter named `request` (or `websocket`).

    SlowAPI looks the parameter up by name, not by annotation: `req:
    Request` does not count. The finding sits on the function name.

    ## Why is this bad?
    SlowAPI raises `No "request" or "websocket" argument` when the module is
    imported, so the application does not start.
    """

    id = "AL509"
    name = "RateLimitedRouteWithoutRequest"
    standard = "S13"
    severity = Severity.ERROR
    precision = "very-high"
    tags = ("rate-limiting",)
    Options = S13Options
    INVALID = [
        """
        from fastapi import APIRouter, Request
        from slowapi import Limiter
        from slowapi.util import get_remote_address

        limiter = Limiter(key_func=get_remote_address)
        router = APIRouter()


        @router.post("/auth/login")
        @limiter.limit("10/minute")
        async def login(req: Request) -> dict[str, str]:  # expect: AL509
            return {}
        """
    ]
    VALID = [
        """
        from fastapi import APIRouter, Request
        from slowapi import Limiter
        from slowapi.util import get_remote_address

        limiter = Limiter(key_func=get_remote_address)
        router = APIRouter()


        @router.post("/auth/login")
        @limiter.limit("10/minute")
        async def login(request: Request) -> dict[str, str]:
            return {}
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        names = self.options.request_parameter_names
        for facts in index.modules.values():
            for fn in facts.functions.values():
                decorators = [d for d in limit_decorators(index, fn, facts.module, self.options) if d.resolved]
                if not decorators or any(p.name in names for p in fn.params):
                    continue
                yield self.finding(
                    facts.path,
                    fn.span,
                    f"`{fn.name}` is rate-limited but has no parameter named `request` (or `websocket`): SlowAPI "
                    "finds it by name and refuses to import the module; add `request: Request`.",
                    related=[Related(facts.path, decorators[0].call.span, "The SlowAPI limit decorator.")],
                )


class UnverifiableRateLimit(Rule[S13Options]):
    """Notes an auth endpoint limit or a default limit that cannot be resolved statically.

    A limit computed by a callable, or read from the environment without a
    default, cannot be compared with the pack's limits; archlint says so
    instead of guessing.

    ## Why is this bad?
    It is not, necessarily. Make the limit a constant or a settings field
    with a literal default, or suppress the note where it is deliberate.
    """

    id = "AL510"
    name = "UnverifiableRateLimit"
    standard = "S13"
    severity = Severity.NOTE
    precision = "medium"
    tags = ("rate-limiting",)
    Options = S13Options
    INVALID = [
        """
        import os
        from fastapi import APIRouter, Request
        from slowapi import Limiter
        from slowapi.util import get_remote_address

        limiter = Limiter(key_func=get_remote_address)
        router = APIRouter()


        @router.post("/login")
        @limiter.limit(os.environ["LOGIN_LIMIT"])  # expect: AL510
        async def login(request: Request) -> dict[str, str]:
            return {}
        """
    ]
    VALID = [
        """
        from fastapi import APIRouter, Request
        from slowapi import Limiter
        from slowapi.util import get_remote_address

        LOGIN_LIMIT = "10/minute"
        limiter = Limiter(key_func=get_remote_address)
        router = APIRouter()


        @router.post("/login")
        @limiter.limit(LOGIN_LIMIT)
        async def login(request: Request) -> dict[str, str]:
            return {}
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        opts = self.options
        values: list[tuple[LimitValue, str]] = []
        for route, fn, kind in project.rate_limits.auth_routes(opts):
            assert route.handler is not None
            for deco in limit_decorators(index, fn, route.handler.module, opts):
                values.extend((v, f"the {kind} endpoint `{fn.name}`") for v in deco.values)
        for _facts, site, ctx in limiter_calls(index, opts):
            values.extend((v, "the default limits") for v in limit_values(index, site.call.kw("default_limits"), ctx, many=True))
        seen: set[tuple[str, Span]] = set()
        for value, what in values:
            facts = index.file_of(value.ctx)
            if value.text is not None or facts is None or (facts.path, value.expr.span) in seen:
                continue
            seen.add((facts.path, value.expr.span))
            yield self.finding(
                facts.path,
                value.expr.span,
                f"The rate limit of {what} cannot be resolved statically ({value.reason}), so S13 is unverifiable for it.",
            )


__all__ = [
    "AlternativeRateLimiter",
    "AuthEndpointWithoutRateLimit",
    "InvalidRateLimitString",
    "LooseAuthEndpointRateLimit",
    "LooseDefaultRateLimit",
    "MissingRateLimiter",
    "RateLimitStorageNotRedis",
    "RateLimitedRouteWithoutRequest",
    "RateLimiterNotRegistered",
    "UnverifiableRateLimit",
]
