"""S5 — JWT lifetimes and token hygiene.

The rules are queries over ``project.tokens`` (``archlint.analysis.tokens``):
every token issued and decoded, with the lifetimes that reach it. The
inventory reads the same analysis, so the lifetimes it reports are the ones
these rules judge.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archlint.analysis.endpoints import route_label
from archlint.analysis.origins import Site, Traced, known, snake
from archlint.analysis.routes import Route
from archlint.analysis.tokens import Decode, Issue, Lifetime, Tokens, issue_kinds, token_kind
from archlint.checks.base import Project, Rule
from archlint.collect.facts import Attr, Call, DictExpr, Expr, Lit, Name, Seq, Starred
from archlint.model import Finding, Related, Severity, Span
from archlint.pack import option
from archlint.values import Const, Ctx, SeqValue, Unknown

if TYPE_CHECKING:
    import libcst as cst

    from archlint.fixes import FixSource, Rewrite

_UNVERIFIED = ("verify_signature", "verify_exp")
_ASYMMETRIC = re.compile(r"^(?:RS|PS|ES|EdDSA)", re.I)
_PUBLIC_KEY = re.compile(r"PUBLIC KEY|CERTIFICATE")


@dataclass(frozen=True)
class S5Options:
    access_token_max_minutes: int = option("Longest accepted access-token lifetime, in minutes.")
    refresh_token_max_days: int = option("Longest accepted refresh-token lifetime, in days.")
    refresh_token_names: re.Pattern[str] = option(
        "Searched in snake_case identifiers, claim values and function names: a refresh token."
    )
    access_token_names: re.Pattern[str] = option(
        "Searched in the same names: an access token (a token matching neither is treated as one)."
    )
    excluded_token_names: re.Pattern[str] = option(
        "Searched in the same names: not an API token (password reset, e-mail verification, CSRF,"
        " invitations...), so its lifetime is not checked."
    )
    refresh_evidence_names: re.Pattern[str] = option(
        "Searched in the project's function, class, variable and method names: the application has"
        " refresh tokens (AL403 stays silent)."
    )
    opaque_refresh_token_names: re.Pattern[str] = option(
        "Searched in the names around a stored `now + duration` expiry (its variable, function, the"
        " call it is passed to): the lifetime of an opaque refresh token kept in a table or cache."
    )
    token_type_claims: tuple[str, ...] = option('Payload keys whose value names the token\'s kind (`{"type": "refresh"}`).')
    login_route_names: re.Pattern[str] = option(
        "Searched in a route's snake_case handler name and path: a login route (AL403 is reported at the"
        " login route that issues the access token, before any other route that does)."
    )
    issuer_follow_depth: int = option(
        "How many calls up from a token-issuing call AL403 looks for the route whose handler issues it."
    )


# --------------------------------------------------------------------------- #
# Kinds of token
# --------------------------------------------------------------------------- #


def _duration_text(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds:g} seconds"


# --------------------------------------------------------------------------- #
# Rules
# --------------------------------------------------------------------------- #


class _S5Rule(Rule[S5Options]):
    standard = "S5"
    Options = S5Options
    tags = ("security", "auth")

    def analysis(self, project: Project) -> Tokens:
        return project.tokens


class _LifetimeRule(_S5Rule):
    kind = ""

    def _within_limit(self, lifetime: Lifetime) -> bool:
        """Short enough, or not a real number of seconds (an overflowing constant)."""
        return not math.isfinite(lifetime.seconds) or lifetime.seconds <= self.limit()

    def limit(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def check(self, project: Project) -> Iterable[Finding]:
        data = self.analysis(project)
        seen: set[tuple[str, Span]] = set()
        for issue in data.issues:
            for lifetime in issue.lifetimes:
                if self._within_limit(lifetime):
                    continue
                if token_kind(self.options, lifetime.claims, lifetime.names, lifetime.funcs) != self.kind:
                    continue
                key = (lifetime.site.path, lifetime.site.span)
                if key in seen:
                    continue
                seen.add(key)
                yield self.finding(
                    lifetime.site.path,
                    lifetime.site.span,
                    f"This {self.kind}-token lifetime is {_duration_text(lifetime.seconds)}, longer than the "
                    f"{self.limit_text()} the pack allows: it flows into the expiry of the token issued at "
                    f"{issue.path}:{issue.call.span.line}.",
                    related=[Related(issue.path, issue.call.span, f"The {self.kind} token is issued here.")],
                )
        for lifetime, library in data.config_lifetimes:
            key = (lifetime.site.path, lifetime.site.span)
            if self._within_limit(lifetime) or key in seen:
                continue
            if token_kind(self.options, lifetime.claims, lifetime.names, lifetime.funcs) != self.kind:
                continue
            seen.add(key)
            yield self.finding(
                lifetime.site.path,
                lifetime.site.span,
                f"This {self.kind}-token lifetime is {_duration_text(lifetime.seconds)}, longer than the "
                f"{self.limit_text()} the pack allows: it configures the tokens {library} issues.",
            )
        if self.kind != "refresh":
            return
        for lifetime in data.opaque_refresh_lifetimes(self.options):
            key = (lifetime.site.path, lifetime.site.span)
            if self._within_limit(lifetime) or key in seen:
                continue
            seen.add(key)
            yield self.finding(
                lifetime.site.path,
                lifetime.site.span,
                f"This refresh-token lifetime is {_duration_text(lifetime.seconds)}, longer than the "
                f"{self.limit_text()} the pack allows: it sets the expiry stored with a refresh token.",
            )

    def limit_text(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


class AccessTokenLifetimeTooLong(_LifetimeRule):
    """Reports an access-token lifetime longer than the pack's limit (15 minutes), at the value that sets it.

    The lifetime is what flows into the issued token's `exp` claim or a
    library's lifetime argument (`lifetime_seconds`), with the unit of the use
    site (`timedelta(hours=settings.TOKEN_TIME)` makes `TOKEN_TIME: int = 48`
    hours), resolved through arithmetic, settings defaults, constants and
    helper parameters in other modules. The finding sits at the value a user
    would change: the settings default, the constant or the `timedelta` call.
    Tokens whose names say password reset, e-mail verification, CSRF and
    the like are not access tokens and are not checked; a session token
    authenticates requests and is one. fastapi-users' `DatabaseStrategy` and
    `RedisStrategy` lifetimes count like `JWTStrategy`'s.

    ## Why is this bad?
    A stolen access token works until it expires; a bearer JWT cannot be
    revoked without extra state. Short access tokens and a refresh token keep
    the damage window small.
    """

    id = "AL401"
    name = "AccessTokenLifetimeTooLong"
    severity = Severity.ERROR
    security_severity = 6.5
    kind = "access"
    INVALID = [
        {
            "app/core/config.py": """
                from pydantic_settings import BaseSettings

                class Settings(BaseSettings):
                    ACCESS_TOKEN_EXPIRE_MINUTES: int = 60 * 24 * 8  # expect: AL401

                settings = Settings()
            """,
            "app/core/security.py": """
                from datetime import datetime, timedelta, timezone

                import jwt

                from app.core.config import settings

                def create_access_token(subject: str) -> str:
                    expire = datetime.now(timezone.utc) + timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES)
                    return jwt.encode({"exp": expire, "sub": subject}, "k", algorithm="HS256")

                def create_refresh_token(subject: str) -> str:
                    expire = datetime.now(timezone.utc) + timedelta(days=7)
                    return jwt.encode({"exp": expire, "sub": subject, "type": "refresh"}, "k", algorithm="HS256")
            """,
        }
    ]
    VALID = [
        """
        from datetime import datetime, timedelta, timezone

        import jwt

        ACCESS_TOKEN_EXPIRE = timedelta(minutes=15)
        RESET_TOKEN_EXPIRE_HOURS = 48

        def create_access_token(subject: str, key: str) -> str:
            return jwt.encode({"exp": datetime.now(timezone.utc) + ACCESS_TOKEN_EXPIRE, "sub": subject}, key)

        def create_password_reset_token(email: str, key: str) -> str:
            expire = datetime.now(timezone.utc) + timedelta(hours=RESET_TOKEN_EXPIRE_HOURS)
            return jwt.encode({"exp": expire, "sub": email}, key)
        """
    ]

    def limit(self) -> float:
        return self.options.access_token_max_minutes * 60

    def limit_text(self) -> str:
        return _duration_text(self.limit())


class RefreshTokenLifetimeTooLong(_LifetimeRule):
    """Reports a refresh-token lifetime longer than the pack's limit (7 days), at the value that sets it.

    Lifetimes are traced as for access tokens (AL401); a token is a refresh
    token when its kind claim (`{"type": "refresh"}`), the names of the value
    (`REFRESH_TOKEN_EXPIRE_DAYS`, `refresh_token = create_token(...)`) or the
    issuing functions (`create_refresh_token`) say so.

    ## Why is this bad?
    A refresh token mints new access tokens: a long-lived one is a long-lived
    credential. Rotating refresh tokens with a bounded lifetime forces a new
    login after the pack's window.
    """

    id = "AL402"
    name = "RefreshTokenLifetimeTooLong"
    severity = Severity.ERROR
    security_severity = 5.3
    kind = "refresh"
    INVALID = [
        """
        from datetime import datetime, timedelta, timezone

        import jwt

        REFRESH_TOKEN_EXPIRE_DAYS = 30  # expect: AL402

        def create_refresh_token(subject: str, key: str) -> str:
            expire = datetime.now(timezone.utc) + timedelta(days=REFRESH_TOKEN_EXPIRE_DAYS)
            return jwt.encode({"exp": expire, "sub": subject}, key)
        """
    ]
    VALID = [
        """
        from datetime import datetime, timedelta, timezone

        import jwt

        REFRESH_TOKEN_EXPIRE_HOURS = 24 * 7

        def create_refresh_token(subject: str, key: str) -> str:
            expire = datetime.now(timezone.utc) + timedelta(hours=REFRESH_TOKEN_EXPIRE_HOURS)
            return jwt.encode({"exp": expire, "sub": subject}, key)
        """
    ]

    def limit(self) -> float:
        return self.options.refresh_token_max_days * 86400

    def limit_text(self) -> str:
        return _duration_text(self.limit())


class AccessTokenWithoutRefreshToken(_S5Rule):
    """Reports an application that issues access tokens but no refresh token, at the login route.

    Any refresh token counts: a JWT classified as refresh, or anything named
    for one (a `create_refresh_token` function, a `refresh_token` column or
    variable, a `/refresh` route), since opaque refresh tokens stored in a
    table are as good as JWTs. One finding per application, at the route
    whose handler issues its access token (directly or through the helpers
    it calls, up to the pack's `issuer-follow-depth`), a login route first
    (`login-route-names`), with the issuing call as a related location;
    where no route of the project issues it (a library's router mounts
    it), at the issuing call. Applications packaged apart in one project
    (`services/auth/app`, `services/billing/app`) each need theirs.

    ## Why is this bad?
    Without a refresh token, short access tokens force users to log in every
    few minutes, so teams lengthen the access token instead: the standard's
    15-minute limit only works together with a refresh flow.
    """

    id = "AL403"
    name = "AccessTokenWithoutRefreshToken"
    severity = Severity.WARNING
    security_severity = 3.1
    INVALID = [
        """
        from datetime import datetime, timedelta, timezone

        import jwt

        def create_access_token(subject: str, key: str) -> str:
            expire = datetime.now(timezone.utc) + timedelta(minutes=15)
            return jwt.encode({"exp": expire, "sub": subject}, key)  # expect: AL403
        """
    ]
    VALID = [
        """
        import secrets
        from datetime import datetime, timedelta, timezone

        import jwt

        def create_access_token(subject: str, key: str) -> str:
            expire = datetime.now(timezone.utc) + timedelta(minutes=15)
            return jwt.encode({"exp": expire, "sub": subject}, key)

        def new_refresh_token() -> str:
            return secrets.token_urlsafe(48)
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        data = self.analysis(project)
        home_of = _application_homes(project)
        groups: dict[str | None, list[Issue]] = {}
        for issue in data.issues:
            groups.setdefault(home_of(issue.path), []).append(issue)
        for home, issues in groups.items():
            access = [i for i in issues if "access" in issue_kinds(self.options, i)]
            if not access:
                continue
            if any("refresh" in issue_kinds(self.options, i) for i in issues):
                continue
            within = None if len(groups) == 1 else (lambda path, home=home: home_of(path) == home)
            if data.refresh_evidence(self.options, within):
                continue
            named = [i for i in access if any(self.options.access_token_names.search(snake(f)) for f in i.funcs)]
            first = (named or access)[0]
            route = self._issuing_route(project, named or access)
            if route is None:
                yield self.finding(
                    first.path,
                    first.call.span,
                    "The application issues access tokens here but no refresh token anywhere: add a refresh token "
                    "so access tokens can stay short-lived.",
                )
                continue
            found, issue = route
            yield self.finding(
                found.file,
                found.call.span,
                f"The route {route_label(found, project.routes)} issues an access token "
                f"(at {issue.path}:{issue.call.span.line}) but the application issues no refresh token anywhere: "
                "add a refresh token so access tokens can stay short-lived.",
                related=[Related(issue.path, issue.call.span, "The access token is issued here.")],
            )

    def _issuing_route(self, project: Project, issues: list[Issue]) -> tuple[Route, Issue] | None:
        """The route whose handler reaches an access-token issuing call: a login route first, then the nearest."""
        index = project.index
        handlers: dict[str, list[Route]] = {}
        for route in project.routes.routes:
            if route.handler is not None:
                handlers.setdefault(route.handler.fqn, []).append(route)
        if not handlers:
            return None
        best: tuple[tuple[bool, int, int, str, int], Route, Issue] | None = None
        for order, issue in enumerate(issues):
            if not issue.ctx.scope:
                continue
            depth_of = {f"{issue.ctx.module}.{issue.ctx.scope}": 0}
            frontier = list(depth_of)
            for depth in range(1, self.options.issuer_follow_depth + 1):
                callers = [f"{ctx.module}.{ctx.scope}" for fqn in frontier for _f, _s, ctx in index.calls_to(fqn) if ctx.scope]
                frontier = [c for c in dict.fromkeys(callers) if c not in depth_of]
                depth_of.update((c, depth) for c in frontier)
            for fqn, depth in depth_of.items():
                for route in handlers.get(fqn, ()):
                    rank = (not self._is_login(route), depth, order, route.file, route.call.span.line)
                    if best is None or rank < best[0]:
                        best = (rank, route, issue)
        return (best[1], best[2]) if best is not None else None

    def _is_login(self, route: Route) -> bool:
        pattern = self.options.login_route_names
        names = [route.handler.qualname.rsplit(".", 1)[-1]] if route.handler is not None else []
        names += [fp.path for fp in route.full_paths if fp.path]
        return any(pattern.search(snake(n.replace("/", "_").replace("-", "_"))) for n in names)


def _application_homes(project: Project) -> Callable[[str], str | None]:
    """Which application a file belongs to: the directory holding the package of each FastAPI application.

    Applications packaged apart (`services/auth/app`, `services/billing/app`)
    each get their own refresh-token verdict; applications of one package
    share one. A file outside every application's directory belongs to none.
    """
    index = project.index
    by_path = {facts.path: facts for facts in index.modules.values()}
    homes: set[str] = set()
    for app in project.routes.apps:
        facts = by_path.get(app.file)
        if facts is None:
            continue
        parts = facts.path.split("/")
        depth = len(facts.module.split(".")) + (1 if facts.is_package else 0)
        homes.add("/".join(parts[: max(len(parts) - depth, 0)]))
    ordered = sorted(homes, key=len, reverse=True)

    def home_of(path: str) -> str | None:
        if len(ordered) < 2:
            return None
        for home in ordered:
            if home == "" or path.startswith(home + "/"):
                return home
        return None

    return home_of


class TokenWithoutExpiry(_S5Rule):
    """Reports a JWT issued without an `exp` claim (or with `lifetime_seconds=None`).

    Only payloads archlint can see whole are checked: a dict literal, or a
    variable built from dict literals and `update` calls in the issuing
    function (or passed in by every caller). A payload that goes through
    unknown code is not reported.

    ## Why is this bad?
    A token without `exp` never expires: anyone who ever obtained it keeps
    access forever, and logout or password changes cannot end it.
    """

    id = "AL404"
    name = "TokenWithoutExpiry"
    severity = Severity.ERROR
    security_severity = 7.5
    INVALID = [
        """
        import jwt

        def create_access_token(subject: str, key: str) -> str:
            to_encode = {"sub": subject}
            return jwt.encode(to_encode, key, algorithm="HS256")  # expect: AL404
        """
    ]
    VALID = [
        """
        from datetime import datetime, timedelta, timezone

        import jwt

        def create_access_token(data: dict, key: str) -> str:
            to_encode = data.copy()
            to_encode.update({"exp": datetime.now(timezone.utc) + timedelta(minutes=15)})
            return jwt.encode(to_encode, key, algorithm="HS256")
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        data = self.analysis(project)
        for issue in data.issues:
            if issue.no_expiry is not None:
                site = issue.no_expiry
                what = (
                    f"with `{issue.api.lifetime[1]}={issue.api.never}`"
                    if issue.api.lifetime is not None
                    else "without an `exp` claim"
                )
                yield self.finding(site.path, site.span, f"This JWT is issued {what}, so it never expires.")
        for site in data.config_no_expiry:
            yield self.finding(site.path, site.span, "This configures JWTs that never expire.")


class JwtDecodeWithoutAlgorithms(_S5Rule):
    """Reports `jwt.decode(...)` (PyJWT, python-jose) called without an explicit `algorithms` list.

    ## Why is this bad?
    The algorithm then comes from the attacker-controlled token header:
    algorithm-confusion attacks (an HS256 token signed with the RSA public
    key) and, in some libraries, `none`. PyJWT 2 refuses to decode without
    it, so the call fails at run time.
    """

    id = "AL405"
    name = "JwtDecodeWithoutAlgorithms"
    severity = Severity.ERROR
    security_severity = 7.4
    INVALID = [
        """
        import jwt

        def read_token(token: str, key: str) -> dict:
            return jwt.decode(token, key)  # expect: AL405
        """
    ]
    VALID = [
        """
        from jose import jwt

        ALGORITHM = "HS256"

        def read_token(token: str, key: str) -> dict:
            return jwt.decode(token, key, algorithms=[ALGORITHM])
        """
    ]

    fix_message = "Name the algorithm the project signs its tokens with in `algorithms=[...]`."
    #: Per fix: safe when the decode call verifies with the key the project signs with (its own tokens keep
    #: decoding); unsafe when the key differs or is unknown (the tokens may come from someone else).
    FIXES = [
        (
            {
                "app/core/config.py": """
                    from pydantic_settings import BaseSettings

                    class Settings(BaseSettings):
                        SECRET_KEY: str
                        ALGORITHM: str = "HS256"

                    settings = Settings()
                """,
                "app/core/security.py": """
                    import jwt

                    from app.core.config import settings

                    def create_token(subject: str) -> str:
                        return jwt.encode({"sub": subject}, settings.SECRET_KEY, algorithm=settings.ALGORITHM)

                    def read_token(token: str) -> dict:
                        return jwt.decode(
                            token,
                            settings.SECRET_KEY,  # the signing key
                        )
                """,
                "app/api/deps.py": """
                    import jwt

                    from app.core import config

                    def subject(token: str) -> str:
                        return jwt.decode(token, config.settings.SECRET_KEY)["sub"]
                """,
            },
            {
                "app/core/config.py": """
                    from pydantic_settings import BaseSettings

                    class Settings(BaseSettings):
                        SECRET_KEY: str
                        ALGORITHM: str = "HS256"

                    settings = Settings()
                """,
                "app/core/security.py": """
                    import jwt

                    from app.core.config import settings

                    def create_token(subject: str) -> str:
                        return jwt.encode({"sub": subject}, settings.SECRET_KEY, algorithm=settings.ALGORITHM)

                    def read_token(token: str) -> dict:
                        return jwt.decode(
                            token,
                            settings.SECRET_KEY,  # the signing key
                            algorithms=[settings.ALGORITHM],
                        )
                """,
                "app/api/deps.py": """
                    import jwt

                    from app.core import config

                    def subject(token: str) -> str:
                        return jwt.decode(token, config.settings.SECRET_KEY, algorithms=["HS256"])["sub"]
                """,
            },
            "safe",
        ),
        (
            """
            from jose import jwt

            def create_token(subject: str, key: str) -> str:
                return jwt.encode({"sub": subject}, key)

            def read_partner_token(token: str, partner_key: str) -> dict:
                return jwt.decode(token, partner_key)
            """,
            """
            from jose import jwt

            def create_token(subject: str, key: str) -> str:
                return jwt.encode({"sub": subject}, key)

            def read_partner_token(token: str, partner_key: str) -> dict:
                return jwt.decode(token, partner_key, algorithms=["HS256"])
            """,
            "unsafe",
        ),
        (
            """
            import jwt

            def create_token(subject: str, key: str, fast: bool) -> str:
                return jwt.encode({"sub": subject}, key, algorithm="HS256" if fast else "RS256")

            def read_token(token: str, key: str) -> dict:
                return jwt.decode(token, key)
            """,
            """
            import jwt

            def create_token(subject: str, key: str, fast: bool) -> str:
                return jwt.encode({"sub": subject}, key, algorithm="HS256" if fast else "RS256")

            def read_token(token: str, key: str) -> dict:
                return jwt.decode(token, key)
            """,
        ),
    ]

    def fix(self, finding: Finding, source: FixSource) -> cst.Module | Rewrite | None:
        hint = getattr(self, "_hints", {}).get((finding.path, finding.span))
        if hint is None:
            return None
        expression, safe = hint
        from archlint.fixes import security as security_fixes  # LibCST: only when fixing

        return security_fixes.name_algorithms(source, finding.span, expression, safe)

    def _signing(self, data: Tokens) -> tuple[str, list[tuple[Issue, Expr | None]]] | None:
        """The one algorithm the project signs tokens with, and the calls that sign (None: not exactly one)."""
        algorithms: set[str] = set()
        signers: list[tuple[Issue, Expr | None]] = []
        for issue in data.issues:
            if issue.api.header is not None:
                return None  # authlib/joserfc: the algorithm is in a header this fix does not read
            if issue.api.algorithm is None:
                continue
            expr = issue.call.arg(*issue.api.algorithm)
            if expr is None:
                algorithms.add(_DEFAULT_ALGORITHM)
            else:
                results = data.origins.string(expr, issue.ctx)
                if not results or len(known(results)) != len(results):
                    return None
                algorithms.update(str(r.value) for r in known(results))
            signers.append((issue, expr))
        return (next(iter(algorithms)), signers) if len(algorithms) == 1 and signers else None

    def _hint(self, data: Tokens, decode: Decode, algorithm: str, signers: list[tuple[Issue, Expr | None]]) -> tuple[str, bool]:
        """What to write in `algorithms=[...]` at a decode call, and whether it decodes the project's own tokens."""
        expression = repr(algorithm).replace("'", '"')
        for _issue, expr in signers:
            text = _dotted(expr)
            if text and expr is not None:
                here = data.origins.string(expr, decode.ctx)
                if here and len(known(here)) == len(here) and {r.value for r in known(here)} == {algorithm}:
                    expression = text
                    break
        key = decode.call.arg(*decode.api.key) if decode.api.key is not None else None
        mine = _key_identity(data, key, decode.ctx)
        safe = mine is not None and all(
            issue.api.key is not None and _key_identity(data, issue.call.arg(*issue.api.key), issue.ctx) == mine
            for issue, _ in signers
        )
        return expression, safe

    def check(self, project: Project) -> Iterable[Finding]:
        data = self.analysis(project)
        signing = self._signing(data)
        self._hints: dict[tuple[object, ...], tuple[str, bool]] = {}
        for decode in data.decodes:
            api = decode.api
            if not api.checks_algorithms or api.algorithms is None:
                continue
            call = decode.call
            if any(k is None for k, _ in call.kwargs) or any(isinstance(a, Starred) for a in call.args):
                continue
            algorithms = call.arg(*api.algorithms)
            if algorithms is not None and not (isinstance(algorithms, Lit) and algorithms.value is None):
                continue
            if _verification_off(data, decode):
                continue  # reported by AL406; PyJWT needs no algorithms then
            if signing is not None:
                self._hints[(decode.path, call.span)] = self._hint(data, decode, *signing)
            yield self.finding(
                decode.path,
                call.span,
                "This `jwt.decode` call does not name the accepted `algorithms`, so the token header chooses the algorithm.",
            )


#: What PyJWT, python-jose and fastapi-users sign with when no algorithm is given.
_DEFAULT_ALGORITHM = "HS256"


def _dotted(expr: Expr | None) -> str:
    """`ALGORITHM`, `settings.ALGORITHM`: the text of a name or attribute chain ("" for anything else)."""
    if isinstance(expr, Name):
        return expr.id
    if isinstance(expr, Attr):
        base = _dotted(expr.base)
        return f"{base}.{expr.attr}" if base else ""
    return ""


def _key_identity(data: Tokens, key: Expr | None, ctx: Ctx) -> object | None:
    """What a signing or verifying key is, to tell whether two calls use the same one (None: unknown)."""
    if key is None:
        return None
    fqn = data.origins.fqn(key, ctx)
    if fqn:
        return fqn
    results = data.origins.string(key, ctx)
    if results and len(known(results)) == len(results):
        return frozenset((r.site.path, r.site.span) for r in known(results))
    value = data.index.evaluate(key, ctx)
    if isinstance(value, Unknown) and value.module and value.span is not None:
        return (value.module, value.span)  # the definition it comes from (a settings field read from the environment)
    return None


def _options_off(data: Tokens, decode: Decode) -> list[tuple[tuple[str, ...], Site]]:
    """Verification switches turned off in a decode call, one entry per options dict (or ``verify=``)."""
    out: list[tuple[tuple[str, ...], Site]] = []
    call = decode.call
    verify = call.kw("verify")
    if verify is not None and data.index.const(verify, decode.ctx) is False:
        out.append((("verify",), data.origins.site(verify, decode.ctx)))
    if decode.api.options is None:
        return out
    options = call.arg(*decode.api.options)
    for expr, ctx in _dicts(data, options, decode.ctx):
        off = [
            (str(key.value), value)
            for key, value in expr.items
            if isinstance(key, Lit) and key.value in _UNVERIFIED and data.index.const(value, ctx) is False
        ]
        if off:
            out.append((tuple(k for k, _ in off), data.origins.site(off[0][1], ctx)))
    return out


def _dicts(data: Tokens, expr: Expr | None, ctx: Ctx, depth: int = 0) -> list[tuple[DictExpr, Ctx]]:
    if expr is None or depth > 6:
        return []
    if isinstance(expr, DictExpr):
        return [(expr, ctx)]
    if isinstance(expr, (Name, Attr)):
        bindings = data.origins.definitions(expr, ctx) or []
        return [d for b in bindings if b.kind == "value" for d in _dicts(data, b.expr, b.ctx, depth + 1)]
    if isinstance(expr, Call) and data.origins.fqn(expr.func, ctx) == "builtins.dict":
        items = tuple((Lit(v.span, k), v) for k, v in expr.kwargs if k)
        return [(DictExpr(expr.span, items), ctx)]
    return []


def _verification_off(data: Tokens, decode: Decode) -> bool:
    return any(key in ("verify", "verify_signature") for keys, _ in _options_off(data, decode) for key in keys)


class JwtVerificationDisabled(_S5Rule):
    """Reports JWT decoding with signature or expiry verification switched off.

    `options={"verify_signature": False}` or `{"verify_exp": False}` (also
    through a named options dict), and PyJWT 1's `verify=False`. One finding
    per options dict, at its first `False`.

    ## Why is this bad?
    Without signature verification anyone can forge a token; without expiry
    verification a stolen token never stops working.
    """

    id = "AL406"
    name = "JwtVerificationDisabled"
    severity = Severity.ERROR
    security_severity = 9.1
    INVALID = [
        """
        import jwt

        def read_token(token: str) -> dict:
            return jwt.decode(token, options={"verify_signature": False})  # expect: AL406
        """
    ]
    VALID = [
        """
        import jwt

        def read_token(token: str, key: str) -> dict:
            return jwt.decode(token, key, algorithms=["HS256"], options={"require": ["exp", "sub"]})
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        data = self.analysis(project)
        seen: set[tuple[str, Span]] = set()
        for decode in data.decodes:
            for keys, site in _options_off(data, decode):
                if (site.path, site.span) in seen:
                    continue
                seen.add((site.path, site.span))
                what = " and ".join(
                    "signature verification" if key in ("verify", "verify_signature") else "expiry verification" for key in keys
                )
                switches = ", ".join(f"`{key}`" for key in keys)
                yield self.finding(site.path, site.span, f"This switches JWT {what} off ({switches} False).")


class JwtNoneAlgorithm(_S5Rule):
    """Reports the `none` JWT algorithm used to sign tokens or accepted when decoding them.

    ## Why is this bad?
    An unsigned token proves nothing: anyone can write one with any subject
    and claims.
    """

    id = "AL407"
    name = "JwtNoneAlgorithm"
    severity = Severity.ERROR
    security_severity = 9.1
    INVALID = [
        """
        import jwt

        def create_access_token(payload: dict) -> str:
            return jwt.encode(payload, None, algorithm="none")  # expect: AL407
        """
    ]
    VALID = [
        """
        import jwt

        def create_access_token(payload: dict, key: str) -> str:
            return jwt.encode(payload, key, algorithm="HS256")
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        data = self.analysis(project)
        seen: set[tuple[str, Span]] = set()
        candidates: list[tuple[Expr | None, Ctx]] = []
        for issue in data.issues:
            if issue.api.algorithm is not None:
                algorithm = issue.call.arg(*issue.api.algorithm)
                if isinstance(algorithm, Lit) and algorithm.value is None and issue.api.none_is_unsigned:
                    site = data.origins.site(algorithm, issue.ctx)
                    seen.add((site.path, site.span))
                    yield self.finding(
                        site.path, site.span, "`algorithm=None` signs nothing: PyJWT issues an unsigned (`none`) token."
                    )
                    continue
                candidates.append((algorithm, issue.ctx))
            if issue.api.header is not None:
                for header, ctx in _dicts(data, issue.call.arg(*issue.api.header), issue.ctx):
                    candidates.append((header.get("alg"), ctx))
        for decode in data.decodes:
            if decode.api.algorithms is not None:
                expr = decode.call.arg(*decode.api.algorithms)
                if isinstance(expr, Seq):
                    candidates.extend((item, decode.ctx) for item in expr.items)
                else:
                    candidates.append((expr, decode.ctx))
        for expr, ctx in candidates:
            if expr is None:
                continue
            for result in known(data.origins.string(expr, ctx)):
                if isinstance(result.value, str) and result.value.strip().lower() == "none":
                    key = (result.site.path, result.site.span)
                    if key not in seen:
                        seen.add(key)
                        yield self.finding(result.site.path, result.site.span, "The JWT algorithm `none` means unsigned tokens.")


class HardcodedJwtSecret(_S5Rule):
    """Reports a JWT signing key written as a literal in the code, at the literal.

    The key argument of `jwt.encode`/`jwt.decode` (and fastapi-users'
    `JWTStrategy(secret=...)`) is followed through constants, settings
    defaults and `.get_secret_value()`. A literal fallback of a configuration
    read is a literal key too: `os.getenv("SECRET_KEY", "changeme")`,
    `os.environ.get(...)`, `config("KEY", default=...)`,
    `config.get("signing_key", "dev-only")` and `os.getenv("KEY") or "dev"`
    sign with that literal wherever the variable is not set. A settings
    default drawn from `secrets.token_urlsafe(...)`, a field without a
    default and a value read from the environment without a fallback are
    fine; so are public keys used to verify.

    ## Why is this bad?
    A key in the source is in every clone, fork, image and log of it; anyone
    with it can mint tokens for any user.
    """

    id = "AL408"
    name = "HardcodedJwtSecret"
    severity = Severity.ERROR
    security_severity = 8.2
    INVALID = [
        {
            "app/core/config.py": """
                from pydantic_settings import BaseSettings

                class Settings(BaseSettings):
                    SECRET_KEY: str = "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"  # expect: AL408

                settings = Settings()
            """,
            "app/core/security.py": """
                from jose import jwt

                from app.core.config import settings

                def read_token(token: str) -> dict:
                    return jwt.decode(token, settings.SECRET_KEY, algorithms=["HS256"])
            """,
        },
        """
        import os

        import jwt

        SECRET_KEY = os.getenv("SECRET_KEY", "changeme")  # expect: AL408

        def sign(payload: dict) -> str:
            return jwt.encode(payload, SECRET_KEY, algorithm="HS256")
        """,
    ]
    VALID = [
        {
            "app/core/config.py": """
                import secrets

                from pydantic_settings import BaseSettings

                class Settings(BaseSettings):
                    SECRET_KEY: str = secrets.token_urlsafe(32)

                settings = Settings()
            """,
            "app/core/security.py": """
                from jose import jwt

                from app.core.config import settings

                def read_token(token: str) -> dict:
                    return jwt.decode(token, settings.SECRET_KEY, algorithms=["HS256"])
            """,
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        data = self.analysis(project)
        seen: set[tuple[str, Span]] = set()
        keys: list[tuple[Expr | None, Ctx, bool]] = []
        for issue in data.issues:
            if issue.api.key is not None:
                keys.append((issue.call.arg(*issue.api.key), issue.ctx, False))
        for decode in data.decodes:
            if decode.api.key is not None:
                keys.append((decode.call.arg(*decode.api.key), decode.ctx, self._asymmetric(data, decode)))
        keys.extend((expr, ctx, False) for expr, ctx in data.config_secrets)
        results: list[Traced[str | bytes]] = []
        data.origins.fallbacks = True
        try:
            for expr, ctx, verify_only in keys:
                if expr is not None and not verify_only:
                    results.extend(known(data.origins.string(expr, ctx)))
        finally:
            data.origins.fallbacks = False
        for result in results:
            value = result.value.decode("latin-1") if isinstance(result.value, bytes) else str(result.value)
            if not value.strip() or _PUBLIC_KEY.search(value):
                continue
            key = (result.site.path, result.site.span)
            if key in seen:
                continue
            seen.add(key)
            if result.fallback:
                message = (
                    "This JWT signing key falls back to a literal when the environment does not set it: a deployment "
                    "that forgets the variable signs and accepts tokens with a key anyone with the source can read. "
                    "Fail instead "
                    "(no default, or one drawn from `secrets.token_urlsafe`)."
                )
            else:
                message = (
                    "This JWT signing key is a literal in the source: read it from the environment or a secret "
                    "store (a settings field without a default, or one drawn from `secrets.token_urlsafe`)."
                )
            yield self.finding(result.site.path, result.site.span, message)

    @staticmethod
    def _asymmetric(data: Tokens, decode: Decode) -> bool:
        """A decode call that only accepts public-key algorithms verifies with a public key."""
        if decode.api.algorithms is None:
            return False
        value = data.index.evaluate(decode.call.arg(*decode.api.algorithms), decode.ctx)
        names = [value.value] if isinstance(value, Const) else value.consts() if isinstance(value, SeqValue) else None
        if not names:
            return False
        return all(isinstance(n, str) and _ASYMMETRIC.match(n) for n in names)
