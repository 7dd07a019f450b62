"""S5 — JWT lifetimes and token hygiene.

Tokens are found where they are issued (``jwt.encode`` of PyJWT, python-jose,
authlib and joserfc; fastapi-users' ``JWTStrategy`` and ``generate_jwt``;
fastapi-jwt-auth, AuthX and fastapi-jwt's ``create_access_token`` and their
lifetime settings) and decoded. A lifetime is what flows into an issued token's ``exp`` claim (or a
library's lifetime argument): the payload is followed through dict literals,
``to_encode.update({"exp": ...})``, copies and helper parameters (every call
site); ``exp`` through ``datetime.now(...) + delta``, ``int(time.time()) + n``,
``timedelta(hours=settings.X)`` (the unit is the use site's) and settings
defaults, constants and environment fallbacks in other modules. Names only
exclude (password-reset, verification, session tokens...) and tell refresh
from access; they never make a lifetime.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from archlint.analysis.origins import Flow, Origins, Site, Traced, combine, identifiers, iter_exprs, known, labels_of, snake
from archlint.checks.base import Project, Rule
from archlint.collect.facts import Attr, BinOp, Call, DictExpr, Expr, FunctionFact, Lit, Name, Other, Seq, Starred, Subscript
from archlint.model import Finding, Related, Severity
from archlint.pack import option
from archlint.values import Const, Ctx, FuncRef, Instance, ParamValue, SeqValue, TypeForm, Unknown, fqn_of


@dataclass(frozen=True)
class S5Options:
    access_token_max_minutes: int = option("Longest accepted access-token lifetime, in minutes.")
    refresh_token_max_days: int = option("Longest accepted refresh-token lifetime, in days.")
    refresh_token_names: re.Pattern = option(
        "Searched in snake_case identifiers, claim values and function names: a refresh token."
    )
    access_token_names: re.Pattern = option(
        "Searched in the same names: an access token (a token matching neither is treated as one)."
    )
    excluded_token_names: re.Pattern = option(
        "Searched in the same names: not an API token (password reset, e-mail verification, session"
        " cookies, invitations...), so its lifetime is not checked."
    )
    refresh_evidence_names: re.Pattern = option(
        "Searched in the project's function, class, variable and method names: the application has"
        " refresh tokens (AL403 stays silent)."
    )
    opaque_refresh_token_names: re.Pattern = option(
        "Searched in the names around a stored `now + duration` expiry (its variable, function, the"
        " call it is passed to): the lifetime of an opaque refresh token kept in a table or cache."
    )
    token_type_claims: tuple[str, ...] = option(
        "Payload keys whose value names the token's kind (`{\"type\": \"refresh\"}`)."
    )


# --------------------------------------------------------------------------- #
# The libraries
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Api:
    """Where a library call takes its arguments: (position, keyword)."""

    payload: tuple[int, str] | None = None
    key: tuple[int, str] | None = None
    algorithm: tuple[int, str] | None = None
    header: tuple[int, str] | None = None
    lifetime: tuple[int, str] | None = None  # a lifetime in seconds instead of an exp claim
    algorithms: tuple[int, str] | None = None
    options: tuple[int, str] | None = None
    checks_algorithms: bool = True
    #: The lifetime argument's value that means "never expires".
    never: object = None
    #: PyJWT signs with the ``none`` algorithm when ``algorithm=None`` is passed.
    none_is_unsigned: bool = False


ISSUERS: dict[str, Api] = {
    "jwt.encode": Api(payload=(0, "payload"), key=(1, "key"), algorithm=(2, "algorithm"), none_is_unsigned=True),
    "jwt.api_jwt.encode": Api(payload=(0, "payload"), key=(1, "key"), algorithm=(2, "algorithm"), none_is_unsigned=True),
    "jose.jwt.encode": Api(payload=(0, "claims"), key=(1, "key"), algorithm=(2, "algorithm")),
    "authlib.jose.jwt.encode": Api(payload=(1, "payload"), key=(2, "key"), header=(0, "header")),
    "joserfc.jwt.encode": Api(payload=(1, "claims"), key=(2, "key"), header=(0, "header")),
    "fastapi_users.jwt.generate_jwt": Api(payload=(0, "data"), key=(1, "secret"), lifetime=(2, "lifetime_seconds"), algorithm=(3, "algorithm")),
}
#: Strategies issuing access tokens with a lifetime argument and no payload of the user's.
STRATEGIES: dict[str, Api] = {
    name: Api(key=(0, "secret"), lifetime=(1, "lifetime_seconds"), algorithm=(99, "algorithm"))
    for name in (
        "fastapi_users.authentication.JWTStrategy",
        "fastapi_users.authentication.strategy.JWTStrategy",
        "fastapi_users.authentication.strategy.jwt.JWTStrategy",
    )
}
DECODERS: dict[str, Api] = {
    "jwt.decode": Api(key=(1, "key"), algorithms=(2, "algorithms"), options=(3, "options")),
    "jwt.decode_complete": Api(key=(1, "key"), algorithms=(2, "algorithms"), options=(3, "options")),
    "jwt.api_jwt.decode": Api(key=(1, "key"), algorithms=(2, "algorithms"), options=(3, "options")),
    "jose.jwt.decode": Api(key=(1, "key"), algorithms=(2, "algorithms"), options=(3, "options")),
    "jose.jws.verify": Api(key=(1, "key"), algorithms=(2, "algorithms")),
    # authlib's decode takes no algorithm list (the key and JsonWebToken instance decide).
    "authlib.jose.jwt.decode": Api(key=(1, "key"), checks_algorithms=False),
}
#: Library configuration: keyword -> "lifetime" or "secret" (the kind comes from the name).
_AUTHX = {"JWT_ACCESS_TOKEN_EXPIRES": "lifetime", "JWT_REFRESH_TOKEN_EXPIRES": "lifetime", "JWT_SECRET_KEY": "secret"}
_FASTAPI_JWT = {"access_expires_delta": "lifetime", "refresh_expires_delta": "lifetime", "secret_key": "secret"}
CONFIG_CALLS: dict[str, dict[str, str]] = {
    "authx.AuthXConfig": _AUTHX,
    "authx.config.AuthXConfig": _AUTHX,
    **{
        f"fastapi_jwt.{name}": _FASTAPI_JWT
        for name in (
            "JwtAccessBearer",
            "JwtAccessBearerCookie",
            "JwtAccessCookie",
            "JwtRefreshBearer",
            "JwtRefreshBearerCookie",
            "JwtRefreshCookie",
        )
    },
}
#: fastapi-jwt-auth reads these fields from the settings object given to ``AuthJWT.load_config``.
CONFIG_FIELDS = {"authjwt_access_token_expires": "lifetime", "authjwt_refresh_token_expires": "lifetime", "authjwt_secret_key": "secret"}
CONFIG_FIELD_LIBRARIES = ("fastapi_jwt_auth", "async_fastapi_jwt_auth")
#: Objects whose create_access_token / create_refresh_token issue tokens: type -> the lifetime keyword.
ISSUE_METHODS: dict[str, str] = {
    "fastapi_jwt_auth.AuthJWT": "expires_time",
    "fastapi_jwt_auth.auth_jwt.AuthJWT": "expires_time",
    "async_fastapi_jwt_auth.AuthJWT": "expires_time",
    "authx.AuthX": "expiry",
    **{f"fastapi_jwt.{name}": "expires_delta" for name in ("JwtAccessBearer", "JwtAccessBearerCookie", "JwtAccessCookie", "JwtRefreshBearer", "JwtRefreshBearerCookie", "JwtRefreshCookie")},
}
_ISSUING_METHODS = ("create_access_token", "create_refresh_token")
#: At most this many call sites of an issuing helper are read one by one.
_MAX_PINS = 64
_NOW = {
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "time.time",
    "pendulum.now",
    "arrow.now",
    "arrow.utcnow",
    "django.utils.timezone.now",
}
_SECOND = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1, "milliseconds": 0.001, "microseconds": 0.000001}
_DELTAS: dict[str, tuple[str, ...]] = {
    "datetime.timedelta": ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks"),
    "pendulum.duration": ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks"),
    "dateutil.relativedelta.relativedelta": (),
}
_MORE_UNITS = {"months": 30 * 86400, "years": 365 * 86400}
_TIMESTAMPS = {"calendar.timegm", "time.mktime", "builtins.int", "builtins.float", "builtins.round", "math.floor", "math.ceil"}
_UNVERIFIED = ("verify_signature", "verify_exp")
_ASYMMETRIC = re.compile(r"^(?:RS|PS|ES|EdDSA)", re.I)
_PUBLIC_KEY = re.compile(r"PUBLIC KEY|CERTIFICATE")
# --------------------------------------------------------------------------- #
# The analysis (built once per project, shared by the S5 rules)
# --------------------------------------------------------------------------- #


@dataclass
class Entry:
    """One way a payload may be built: its exp expressions, kind claims and completeness."""

    exp: list[tuple[Expr, Ctx]] = field(default_factory=list)
    claims: tuple[str, ...] = ()
    complete: bool = True
    names: tuple[str, ...] = ()
    funcs: tuple[str, ...] = ()  # callers crossed, nearest first


@dataclass
class Lifetime:
    seconds: float
    site: Site
    claims: tuple[str, ...]
    names: tuple[str, ...]  # closest to the value first
    funcs: tuple[str, ...]  # the issuing function first, then its callers outwards


@dataclass
class Issue:
    """A token-issuing call."""

    path: str
    call: Call
    ctx: Ctx
    api: Api
    strategy: bool
    funcs: tuple[str, ...]
    entries: list[Entry]
    lifetimes: list[Lifetime]
    no_expiry: Site | None  # where a token without exp is issued


@dataclass
class Decode:
    path: str
    call: Call
    ctx: Ctx
    api: Api


class Analysis:
    """Every token issued and decoded in a project, with the lifetimes that reach it (shared by the S5 rules)."""

    def __init__(self, project: Project) -> None:
        self.index = project.index
        self.project = project
        self.origins = project.origins
        self.issues: list[Issue] = []
        self.decodes: list[Decode] = []
        self._stored: list | None = None
        for fqn, api in ISSUERS.items():
            for facts, site, ctx in self.index.calls_to(fqn):
                self.issues.append(self._issue(facts.path, site.call, ctx, api, strategy=False))
        for fqn, api in STRATEGIES.items():
            for facts, site, ctx in self.index.calls_to(fqn):
                self.issues.append(self._issue(facts.path, site.call, ctx, api, strategy=True))
        for fqn, api in DECODERS.items():
            for facts, site, ctx in self.index.calls_to(fqn):
                self.decodes.append(Decode(facts.path, site.call, ctx, api))
        for facts, site, ctx in self.index.iter_calls():
            func = site.call.func
            if isinstance(func, Attr) and func.attr in _ISSUING_METHODS:
                keyword = ISSUE_METHODS.get(self.receiver_type(func.base, ctx) or "")
                if keyword is not None:
                    api = Api(lifetime=(99, keyword), never=False)
                    self.issues.append(self._issue(facts.path, site.call, ctx, api, strategy=False, method=func.attr))
        #: Library settings: (name, value, context, library) for lifetimes and secrets.
        self.config_lifetimes: list[tuple[Lifetime, str]] = []
        self.config_no_expiry: list[Site] = []
        self.config_secrets: list[tuple[Expr, Ctx]] = []
        self._configuration()
        self.issues.sort(key=lambda i: (i.path, i.call.span.line, i.call.span.column))
        self.decodes.sort(key=lambda d: (d.path, d.call.span.line, d.call.span.column))

    # ------------------------------------------------------ configuration
    def receiver_type(self, expr: Expr, ctx: Ctx) -> str | None:
        """The dotted type of an object whose method is called: an instance or an annotated parameter."""
        value = self.index.evaluate(expr, ctx)
        if isinstance(value, Instance):
            return value.type_fqn
        if isinstance(value, ParamValue) and value.annotation is not None:
            fn = self.index.function(FuncRef(value.module, value.function))
            annotation = self.index.evaluate(value.annotation, Ctx(value.module, fn.parent or "") if fn else ctx)
            if isinstance(annotation, TypeForm) and annotation.args:
                annotation = annotation.args[0]
            return fqn_of(annotation)
        return None

    def _configuration(self) -> None:
        found: list[tuple[str, Expr, Ctx, str, str, Site | None]] = []
        for fqn, keywords in CONFIG_CALLS.items():
            for _facts, site, ctx in self.index.calls_to(fqn):
                for key, value in site.call.kwargs:
                    if key in keywords:
                        found.append((key, value, ctx, keywords[key], fqn.split(".")[0], None))
        if any(imp.module.split(".")[0] in CONFIG_FIELD_LIBRARIES for f in self.index.modules.values() for imp in f.imports):
            for facts, scope, ctx in self.index.iter_scopes():
                if scope.kind != "class":
                    continue
                for assign in scope.assigns:
                    for target in assign.targets:
                        role = CONFIG_FIELDS.get(target.id.lower()) if isinstance(target, Name) else None
                        if role is not None and assign.value is not None:
                            found.append((target.id, assign.value, ctx, role, "fastapi-jwt-auth", Site(facts.path, assign.span, True)))
        for name, value, ctx, role, library, field_site in found:
            if role == "secret":
                self.config_secrets.append((value, ctx))
                continue
            if self.index.const(value, ctx) is False:
                self.config_no_expiry.append(field_site or self.origins.site(value, ctx))
                continue
            for result in known(self.duration(value, ctx)):
                site = result.site if result.site.named or field_site is None else field_site
                self.config_lifetimes.append((Lifetime(float(result.value), site, (), result.names + (name,), ()), library))

    # ------------------------------------------------------------- issues
    def _issue(self, path: str, call: Call, ctx: Ctx, api: Api, *, strategy: bool, method: str = "") -> Issue:
        """One issuing call; inside a helper, read once per call site of the helper.

        A helper's payload and lifetime parameters are pinned to one call at a
        time, so a reset-token caller's claims never meet an access-token
        caller's lifetime.
        """
        scope = self.index.scope(ctx)
        own = ((method,) if method else ()) + ((scope.name,) if isinstance(scope, FunctionFact) else ())
        labels = _call_labels(self.origins, call, ctx)
        entries: list[Entry] = []
        lifetimes: list[Lifetime] = []
        no_expiry: Site | None = None
        helper = FuncRef(ctx.module, scope.qualname) if isinstance(scope, FunctionFact) else None
        self.origins.consulted.clear()
        found = self._read(call, ctx, api, strategy, own, labels)
        pins = []
        if helper is not None and helper.fqn in self.origins.consulted:
            pins = self.origins.callers(helper)[:_MAX_PINS]
        if not pins:
            return Issue(path, call, ctx, api, strategy, own, *found)
        for pin in pins:
            self.origins.pinned[helper.fqn] = pin
            try:
                entries_, lifetimes_, no_expiry_ = self._read(call, ctx, api, strategy, own, labels)
            finally:
                self.origins.pinned.pop(helper.fqn, None)
            entries.extend(entries_)
            lifetimes.extend(lifetimes_)
            no_expiry = no_expiry or no_expiry_
        return Issue(path, call, ctx, api, strategy, own, entries, lifetimes, no_expiry)

    def _read(self, call: Call, ctx: Ctx, api: Api, strategy: bool, own: tuple, labels: tuple) -> tuple:
        entries: list[Entry] = []
        lifetimes: list[Lifetime] = []
        no_expiry: Site | None = None
        if api.payload is not None:
            payload = call.arg(*api.payload)
            entries = self.payload(payload, ctx) if payload is not None else [Entry(complete=False)]
        if api.lifetime is not None:
            argument = call.arg(*api.lifetime)
            if isinstance(argument, Lit) and argument.value is api.never:
                no_expiry = self.origins.site(argument, ctx)
            elif argument is not None:
                for result in known(self.duration(argument, ctx)):
                    lifetimes.append(_lifetime(result, (), labels, own))
            elif strategy:
                no_expiry = self.origins.site(call, ctx)
        else:
            for entry in entries:
                if entry.complete and not entry.exp:
                    no_expiry = self.origins.site(call, ctx)
                for exp, exp_ctx in entry.exp:
                    for result in known(self.lifetime(exp, exp_ctx)):
                        lifetimes.append(_lifetime(result, entry.claims, entry.names + labels, own + entry.funcs))
        return entries, lifetimes, no_expiry

    def payload(self, expr: Expr, ctx: Ctx) -> list[Entry]:
        key = ("payload", expr.span, ctx)
        if not self.origins.guard(key):
            return [Entry(complete=False)]
        try:
            return self._payload(expr, ctx)[:16]
        finally:
            self.origins.release(key)

    def _payload(self, expr: Expr, ctx: Ctx) -> list[Entry]:
        if isinstance(expr, DictExpr):
            return self._dict(expr, ctx)
        if isinstance(expr, Call):
            func = expr.func
            fqn = self.origins.fqn(func, ctx)
            if isinstance(func, Attr) and func.attr == "copy" and not expr.args:
                return self.payload(func.base, ctx)
            if fqn in ("copy.copy", "copy.deepcopy") and expr.args:
                return self.payload(expr.args[0], ctx)
            if fqn == "builtins.dict":
                if expr.args:
                    return [_merge(e, Entry(complete=not expr.args[1:])) for e in self.payload(expr.args[0], ctx)]
                return [self._items([(k, v) for k, v in expr.kwargs], ctx)]
            if isinstance(func, Attr) and func.attr in ("model_dump", "dict", "to_dict"):
                return [_incomplete(e) for e in self._model(func.base, ctx)]
            if fqn == "fastapi.encoders.jsonable_encoder" and expr.args:
                return [_incomplete(e) for e in self._model(expr.args[0], ctx)]
            func_value = self.index.evaluate(func, ctx)
            if isinstance(func_value, FuncRef):
                fn = self.index.function(func_value)
                returns = [r for r in fn.returns if r is not None] if fn is not None and not fn.is_generator else []
                inner = Ctx(func_value.module, func_value.qualname)
                return [e for r in returns for e in self.payload(r, inner)] or [Entry(complete=False)]
            return [Entry(complete=False)]
        if isinstance(expr, Name):
            bindings = self.origins.definitions(expr, ctx)
            if not bindings:
                return [Entry(complete=False)]
            out: list[Entry] = []
            for binding in bindings:
                if binding.kind == "value" and binding.expr is not None:
                    base = self.payload(binding.expr, binding.ctx)
                elif binding.kind == "param":
                    base = []
                    for flow in self.origins.flows(binding):
                        if flow.expr is None:
                            base.append(Entry(complete=False))
                        else:
                            base.extend(_crossed(e, flow) for e in self.payload(flow.expr, flow.ctx))
                    base = base or [Entry(complete=False)]
                else:
                    base = [Entry(complete=False)]
                mutations = self._mutations(expr, binding.ctx if binding.kind != "param" else ctx)
                out.extend(_merge(e, mutations) for e in base)
            return out
        return [Entry(complete=False)]

    def _dict(self, expr: DictExpr, ctx: Ctx) -> list[Entry]:
        entries = [self._items([(k, v) for k, v in expr.items if k is not None], ctx)]
        for key, value in expr.items:
            if key is None:
                spread = self.payload(value, ctx)
                entries = [_merge(s, e) for s in spread for e in entries][:16]
        return entries

    def _items(self, items: list[tuple[object, Expr]], ctx: Ctx) -> Entry:
        """An entry from (key, value) pairs: keys are literal strings or keyword names."""
        entry = Entry()
        claims: list[str] = []
        for key, value in items:
            name = key.value if isinstance(key, Lit) else key if isinstance(key, str) else None
            if not isinstance(name, str):
                entry.complete = False
                continue
            if name == "exp":
                if not (isinstance(value, Lit) and value.value is None):
                    entry.exp.append((value, ctx))
            elif isinstance(value, Lit) and value.value is True:
                claims.append(name)
            else:
                claims.extend(self._claim(name, value, ctx))
        entry.claims = tuple(claims)
        return entry

    def _claim(self, key: str, value: Expr, ctx: Ctx) -> list[str]:
        """Values of kind claims (``"type": "refresh"``, ``"scope": TokenType.ACCESS``); filtered later."""
        return [f"{key}={text}" for text in self._claim_texts(value, ctx, 0)]

    def _claim_texts(self, value: Expr, ctx: Ctx, depth: int) -> list[str]:
        strings = [r.value for r in known(self.origins.string(value, ctx)) if isinstance(r.value, str)]
        if strings or depth > 3:
            return strings
        if isinstance(value, Attr) and value.attr in ("value", "name"):
            return self._claim_texts(value.base, ctx, depth + 1)
        if isinstance(value, Name):
            bindings = self.origins.definitions(value, ctx) or []
            params = [b for b in bindings if b.kind == "param"]
            if params:
                return [t for flow in self.origins.flows(params[0]) if flow.expr is not None for t in self._claim_texts(flow.expr, flow.ctx, depth + 1)]
        return identifiers(value)[-1:]

    def _model(self, expr: Expr, ctx: Ctx) -> list[Entry]:
        """``TokenPayload(sub=..., exp=...)`` (directly or through a variable): its keywords."""
        if isinstance(expr, Call):
            return [self._items(list(expr.kwargs), ctx)]
        if isinstance(expr, Name):
            bindings = self.origins.definitions(expr, ctx) or []
            return [e for b in bindings if b.kind == "value" and isinstance(b.expr, Call) for e in self._model(b.expr, b.ctx)]
        return []

    def _mutations(self, var: Name, ctx: Ctx) -> Entry:
        """What a function does to a payload variable: ``update``, item assignments, other calls."""
        scope = self.index.scope(ctx)
        entry = Entry()
        if not isinstance(scope, FunctionFact):
            return entry
        claims: list[str] = []
        for site in scope.calls:
            call = site.call
            func = call.func
            if isinstance(func, Attr) and isinstance(func.base, Name) and func.base.id == var.id:
                if func.attr == "update":
                    pieces = [self._items(list(call.kwargs), ctx)] if call.kwargs else []
                    for arg in call.args:
                        pieces.extend(self.payload(arg, ctx)[:1])
                    for piece in pieces:
                        entry = _merge(entry, piece)
                elif func.attr == "setdefault" and len(call.args) == 2:
                    entry = _merge(entry, self._items([(call.args[0], call.args[1])], ctx))
                elif func.attr in ("pop", "clear", "popitem", "__setitem__", "__delitem__"):
                    entry.complete = False
            elif any(isinstance(a, Name) and a.id == var.id for a in (*call.args, *(v for _, v in call.kwargs))):
                fqn = self.origins.fqn(func, ctx)
                if fqn not in ISSUERS:
                    entry.complete = False
        for assign in scope.assigns:
            for target in assign.targets:
                if isinstance(target, Subscript) and isinstance(target.base, Name) and target.base.id == var.id:
                    if assign.value is not None and target.items and isinstance(target.items[0], Lit):
                        entry = _merge(entry, self._items([(target.items[0], assign.value)], ctx))
                    else:
                        entry.complete = False
        entry.claims = entry.claims + tuple(claims)
        return entry

    # ---------------------------------------------------------- lifetimes
    def lifetime(self, expr: Expr, ctx: Ctx) -> list[Traced | Unknown]:
        """Seconds from now to the ``exp`` an expression stands for."""
        key = ("lifetime", expr.span, ctx)
        if not self.origins.guard(key):
            return [Unknown("the value refers to itself")]
        try:
            return self._lifetime(expr, ctx)
        finally:
            self.origins.release(key)

    def _lifetime(self, expr: Expr, ctx: Ctx) -> list[Traced | Unknown]:
        if isinstance(expr, Call):
            fqn = self.origins.fqn(expr.func, ctx)
            if fqn in _TIMESTAMPS and expr.args:
                return self.lifetime(expr.args[0], ctx)
            if isinstance(expr.func, Attr) and expr.func.attr in ("timestamp", "utctimetuple", "timetuple", "astimezone", "replace"):
                return self.lifetime(expr.func.base, ctx)
            return [Unknown("a call", ctx.module, expr.span)]
        if isinstance(expr, BinOp) and expr.op == "Add":
            left, right = expr.left, expr.right
            if self.is_now(left, ctx):
                return self.duration(right, ctx)
            if self.is_now(right, ctx):
                return self.duration(left, ctx)
            # ``issued_at + expires_delta``: a start archlint cannot date, plus a timedelta.
            if self.is_delta(right, ctx):
                return self.duration(right, ctx)
            if self.is_delta(left, ctx):
                return self.duration(left, ctx)
            return [Unknown("an exp that is not 'now + a duration'", ctx.module, expr.span)]
        if isinstance(expr, (Name, Attr)):
            bindings = self.origins.definitions(expr, ctx)
            if bindings:
                return self.origins.through(bindings, self.lifetime)
        if isinstance(expr, Other) and expr.kind in ("BooleanOperation", "IfExp"):
            return self.origins.branches(expr, ctx, self.lifetime)
        return [Unknown("an exp that is not 'now + a duration'", ctx.module, expr.span)]

    def is_now(self, expr: Expr, ctx: Ctx, depth: int = 0) -> bool:
        if depth > 8:
            return False
        if isinstance(expr, Call):
            fqn = self.origins.fqn(expr.func, ctx)
            if fqn in _NOW:
                return True
            if fqn in _TIMESTAMPS and expr.args:
                return self.is_now(expr.args[0], ctx, depth + 1)
            if isinstance(expr.func, Attr) and expr.func.attr in ("timestamp", "replace", "astimezone"):
                return self.is_now(expr.func.base, ctx, depth + 1)
            func = self.index.evaluate(expr.func, ctx)
            if isinstance(func, FuncRef):
                fn = self.index.function(func)
                returns = [r for r in fn.returns if r is not None] if fn else []
                inner = Ctx(func.module, func.qualname)
                return bool(returns) and all(self.is_now(r, inner, depth + 1) for r in returns)
            return False
        if isinstance(expr, (Name, Attr)):
            bindings = self.origins.definitions(expr, ctx) or []
            values = [b for b in bindings if b.kind == "value" and b.expr is not None]
            return bool(values) and len(values) == len(bindings) and all(self.is_now(b.expr, b.ctx, depth + 1) for b in values)
        if isinstance(expr, Other) and expr.kind in ("BooleanOperation", "IfExp"):
            # ``now = now or datetime.now(UTC)``
            return any(self.is_now(child, ctx, depth + 1) for child in expr.children)
        return False

    def is_delta(self, expr: Expr, ctx: Ctx, depth: int = 0) -> bool:
        """A timedelta: a delta call, a name bound to one, a parameter annotated ``timedelta``."""
        if depth > 8:
            return False
        if isinstance(expr, Call):
            return self.origins.fqn(expr.func, ctx) in _DELTAS
        if isinstance(expr, (Name, Attr)):
            bindings = self.origins.definitions(expr, ctx) or []
            for binding in bindings:
                if binding.kind == "value" and binding.expr is not None and self.is_delta(binding.expr, binding.ctx, depth + 1):
                    return True
                if binding.annotation is not None and "datetime.timedelta" in _annotation_names(self.index, binding):
                    return True
            return False
        if isinstance(expr, BinOp):
            return self.is_delta(expr.left, ctx, depth + 1) or self.is_delta(expr.right, ctx, depth + 1)
        if isinstance(expr, Other) and expr.kind in ("BooleanOperation", "IfExp"):
            return any(self.is_delta(child, ctx, depth + 1) for child in expr.children)
        return False

    def duration(self, expr: Expr, ctx: Ctx) -> list[Traced | Unknown]:
        """Seconds an expression stands for: a timedelta, or a number of seconds."""
        key = ("duration", expr.span, ctx)
        if not self.origins.guard(key):
            return [Unknown("the value refers to itself")]
        try:
            return self._duration(expr, ctx)[:32]
        finally:
            self.origins.release(key)

    def _duration(self, expr: Expr, ctx: Ctx) -> list[Traced | Unknown]:
        origins = self.origins
        if isinstance(expr, Call):
            fqn = origins.fqn(expr.func, ctx)
            if fqn in _DELTAS:
                return self._delta(expr, ctx, _DELTAS[fqn])
            if isinstance(expr.func, Attr) and expr.func.attr == "total_seconds":
                return self.duration(expr.func.base, ctx)
            if fqn in ("builtins.int", "builtins.float") and expr.args:
                return self.duration(expr.args[0], ctx)
            func = self.index.evaluate(expr.func, ctx)
            if isinstance(func, FuncRef):
                return origins.returned(func, self.duration)
            return origins.number(expr, ctx)
        if isinstance(expr, (Name, Attr)):
            bindings = origins.definitions(expr, ctx)
            if bindings:
                return origins.through(bindings, self.duration)
            return origins.number(expr, ctx)
        if isinstance(expr, BinOp):
            op, left, right = expr.op, expr.left, expr.right
            site = origins.site(expr, ctx)
            if op in ("Add", "Subtract"):
                return combine(op, self.duration(left, ctx), self.duration(right, ctx), site)
            if op in ("Multiply", "Divide", "FloorDivide"):
                first = combine(op, self.duration(left, ctx), origins.number(right, ctx), site)
                if known(first) or op != "Multiply":
                    return first
                return combine(op, origins.number(left, ctx), self.duration(right, ctx), site)
        if isinstance(expr, Other) and expr.kind in ("BooleanOperation", "IfExp"):
            return origins.branches(expr, ctx, self.duration)
        return origins.number(expr, ctx)

    def _delta(self, call: Call, ctx: Ctx, order: tuple[str, ...]) -> list[Traced | Unknown]:
        parts: list[tuple[float, list]] = []
        for position, arg in enumerate(call.args):
            if isinstance(arg, Starred) or position >= len(order):
                return [Unknown("a duration built from unpacked arguments", ctx.module, call.span)]
            parts.append((_SECOND[order[position]], self.origins.number(arg, ctx)))
        for key, value in call.kwargs:
            unit = _SECOND.get(key or "") or _MORE_UNITS.get(key or "")
            if unit is None:
                return [Unknown("a duration with unknown arguments", ctx.module, call.span)]
            parts.append((unit, self.origins.number(value, ctx)))
        site = self.origins.site(call, ctx)
        results: list[Traced | Unknown] | None = None
        for unit, values in parts:
            scaled = [replace(v, value=v.value * unit) if isinstance(v, Traced) else v for v in values]
            results = scaled if results is None else combine("Add", results, scaled, site)
        if results is None:
            return [Traced(0, site)]
        if len(parts) == 1:
            return results
        return [replace(r, site=site, label="") if isinstance(r, Traced) else r for r in results]

    # --------------------------------------------------------- refresh
    def stored_expiries(self) -> list[tuple[str, BinOp, Ctx, tuple[str, ...]]]:
        """Every ``now + duration`` in the project with the names around it (for opaque tokens).

        Opaque refresh tokens (random strings stored in a table or Redis) have
        no ``exp``: their lifetime is the expiry computed next to them
        (``expires_at = now + timedelta(days=settings.REFRESH_TOKEN_EXPIRE_DAYS)``).
        """
        if self._stored is not None:
            return self._stored
        out: list[tuple[str, BinOp, Ctx, tuple[str, ...]]] = []
        for facts, scope, ctx in self.index.iter_scopes():
            roots = [a.value for a in scope.assigns] + list(scope.returns)
            roots += [arg for site in scope.calls for arg in (*site.call.args, *(v for _, v in site.call.kwargs))]
            seen: set = set()
            for root in roots:
                for node in iter_exprs(root):
                    if not isinstance(node, BinOp) or node.op != "Add" or node.span in seen:
                        continue
                    seen.add(node.span)
                    if not (self.is_now(node.left, ctx) or self.is_now(node.right, ctx)):
                        continue
                    names = labels_of(scope, node.span) + ((scope.name,) if isinstance(scope, FunctionFact) else ())
                    out.append((facts.path, node, ctx, names + _enclosing_calls(scope, node.span, self.origins, ctx)))
        self._stored = out
        return out

    def opaque_refresh_lifetimes(self, options: S5Options) -> list[Lifetime]:
        """Lifetimes of opaque refresh tokens: stored expiries whose names say refresh token."""
        out: list[Lifetime] = []
        pattern = options.opaque_refresh_token_names
        for _path, node, ctx, names in self.stored_expiries():
            other = node.right if self.is_now(node.left, ctx) else node.left
            for result in known(self.duration(other, ctx)):
                every = result.names + names
                if not any(pattern.search(snake(n)) for n in every):
                    continue
                if any(options.excluded_token_names.search(snake(n)) for n in every):
                    continue
                out.append(Lifetime(float(result.value), result.site, (), every, ()))
        return out

    def refresh_evidence(self, options: S5Options) -> bool:
        """Anything in the project that names a refresh token: opaque ones stored in a table count.

        Functions, classes, variables, fields and called methods named like
        ``refresh_token`` / ``refresh_access_token``, and routes whose path
        says ``refresh``; a bare ``refresh`` (``session.refresh(user)``, a
        cache's ``refresh_interval``) is not one.
        """
        pattern = options.refresh_evidence_names
        for facts in self.index.modules.values():
            for scope in facts.scopes():
                if scope.qualname and pattern.search(snake(scope.qualname.rsplit(".", 1)[-1])):
                    return True
                for assign in scope.assigns:
                    for target in assign.targets:
                        for name in identifiers(target)[-1:]:
                            if pattern.search(snake(name)):
                                return True
                for site in scope.calls:
                    func = site.call.func
                    if isinstance(func, Attr) and pattern.search(snake(func.attr)):
                        return True
        for route in self.project.routes.routes:
            path = self.index.const(route.path_expr, route.ctx) if route.path_expr is not None else None
            if isinstance(path, str) and options.refresh_token_names.search(snake(path)):
                return True
        return False


def _annotation_names(index, binding) -> set[str]:
    """Dotted names in an annotation (``timedelta | None`` gives datetime.timedelta)."""
    ctx = binding.ctx
    if binding.kind == "param":
        fn = index.function(binding.function)
        ctx = Ctx(ctx.module, fn.parent or "") if fn is not None else ctx
    out = set()
    for node in iter_exprs(binding.annotation):
        if isinstance(node, (Name, Attr)):
            name = index.fqn(node, ctx)
            if name:
                out.add(name)
    return out


def _enclosing_calls(scope, target, origins: Origins, ctx: Ctx) -> tuple[str, ...]:
    """Names of the calls an expression is an argument of (``RefreshToken(expires_at=...)``)."""
    out: list[str] = []
    for site in scope.calls:
        call = site.call
        if call.span == target or not _within(call.span, target):
            continue
        fqn = origins.fqn(call.func, ctx) or (call.func.dotted() or "")
        out.append(fqn.rsplit(".", 1)[-1])
    return tuple(out)


def _within(outer, inner) -> bool:
    return (outer.line, outer.column) <= (inner.line, inner.column) and (inner.end_line, inner.end_column) <= (
        outer.end_line,
        outer.end_column,
    )


def _lifetime(result: Traced, claims: tuple[str, ...], names: tuple[str, ...], funcs: tuple[str, ...]) -> Lifetime:
    return Lifetime(float(result.value), result.site, claims, result.names + names, funcs + tuple(reversed(result.funcs)))


def _merge(a: Entry, b: Entry) -> Entry:
    return Entry(a.exp + b.exp, a.claims + b.claims, a.complete and b.complete, a.names + b.names, a.funcs + b.funcs)


def _incomplete(entry: Entry) -> Entry:
    entry.complete = False
    return entry


def _crossed(entry: Entry, flow: Flow) -> Entry:
    return Entry(entry.exp, entry.claims, entry.complete, entry.names + flow.labels, ((flow.caller,) if flow.caller else ()) + entry.funcs)




def _call_labels(origins: Origins, call: Call, ctx: Ctx) -> tuple[str, ...]:
    scope = origins.index.scope(ctx)
    return labels_of(scope, call.span) if scope is not None else ()


def analysis(project: Project) -> Analysis:
    return project.shared("s05", lambda: Analysis(project))


# --------------------------------------------------------------------------- #
# Kinds of token
# --------------------------------------------------------------------------- #


def token_kind(options: S5Options, claims: Iterable[str], names: Iterable[str], funcs: Iterable[str]) -> str:
    """access, refresh or excluded.

    A name that excludes (reset, verification...) anywhere on the way wins: a
    reset token issued through ``create_access_token`` is still a reset
    token. Otherwise the kind claims decide, then the value's own names
    (closest first: ``REFRESH_TOKEN_EXPIRE_DAYS`` passed to a generic helper),
    then the functions (the issuing one first). A token nothing names is an
    access token.
    """
    refresh, access, excluded = options.refresh_token_names, options.access_token_names, options.excluded_token_names
    kinds = set(options.token_type_claims)
    claim_texts = []
    for claim in claims:
        key, _, value = claim.partition("=")
        if value and key not in kinds:
            continue
        claim_texts.append(snake(value or key))
    ordered = claim_texts + [snake(n) for n in names] + [snake(f) for f in funcs]
    if any(excluded.search(text) for text in ordered):
        return "excluded"
    for text in ordered:
        if refresh.search(text):
            return "refresh"
        if access.search(text):
            return "access"
    return "access"


def issue_kinds(options: S5Options, issue: Issue) -> set[str]:
    kinds = {token_kind(options, lt.claims, lt.names, lt.funcs) for lt in issue.lifetimes}
    claims = tuple(c for e in issue.entries for c in e.claims)
    names = tuple(n for e in issue.entries for n in e.names)
    funcs = issue.funcs + tuple(f for e in issue.entries for f in e.funcs)
    kinds.add(token_kind(options, claims, names, funcs))
    return kinds


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


class _S5Rule(Rule):
    standard = "S5"
    Options = S5Options
    tags = ("security", "auth")

    def analysis(self, project: Project) -> Analysis:
        return analysis(project)


class _LifetimeRule(_S5Rule):
    kind = ""

    def _within_limit(self, lifetime: Lifetime) -> bool:
        """Short enough, or not a real number of seconds (an overflowing constant)."""
        return not math.isfinite(lifetime.seconds) or lifetime.seconds <= self.limit()

    def limit(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def check(self, project: Project) -> Iterable[Finding]:
        data = self.analysis(project)
        seen: set[tuple] = set()
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
    Tokens whose names say password reset, e-mail verification, session and
    the like are not access tokens and are not checked.

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
    """Reports an application that issues access tokens but no refresh token, at the access-token issuing call.

    Any refresh token counts: a JWT classified as refresh, or anything named
    for one (a `create_refresh_token` function, a `refresh_token` column or
    variable, a `/refresh` route), since opaque refresh tokens stored in a
    table are as good as JWTs. One finding per project, at the first call
    that issues an access token.

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
        access = [i for i in data.issues if "access" in issue_kinds(self.options, i)]
        if not access:
            return
        if any("refresh" in issue_kinds(self.options, i) for i in data.issues):
            return
        if data.refresh_evidence(self.options):
            return
        named = [i for i in access if any(self.options.access_token_names.search(snake(f)) for f in i.funcs)]
        first = (named or access)[0]
        yield self.finding(
            first.path,
            first.call.span,
            "The application issues access tokens here but no refresh token anywhere: add a refresh token "
            "so access tokens can stay short-lived.",
        )


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
                what = f"with `{issue.api.lifetime[1]}={issue.api.never}`" if issue.api.lifetime is not None else "without an `exp` claim"
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

    def check(self, project: Project) -> Iterable[Finding]:
        data = self.analysis(project)
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
            yield self.finding(
                decode.path,
                call.span,
                "This `jwt.decode` call does not name the accepted `algorithms`, so the token header chooses "
                "the algorithm.",
            )


def _options_off(data: Analysis, decode: Decode) -> list[tuple[tuple[str, ...], Site]]:
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


def _dicts(data: Analysis, expr: Expr | None, ctx: Ctx, depth: int = 0) -> list[tuple[DictExpr, Ctx]]:
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


def _verification_off(data: Analysis, decode: Decode) -> bool:
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
        seen: set[tuple] = set()
        for decode in data.decodes:
            for keys, site in _options_off(data, decode):
                if (site.path, site.span) in seen:
                    continue
                seen.add((site.path, site.span))
                what = " and ".join(
                    "signature verification" if key in ("verify", "verify_signature") else "expiry verification"
                    for key in keys
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
        seen: set[tuple] = set()
        candidates: list[tuple[Expr | None, Ctx]] = []
        for issue in data.issues:
            if issue.api.algorithm is not None:
                algorithm = issue.call.arg(*issue.api.algorithm)
                if isinstance(algorithm, Lit) and algorithm.value is None and issue.api.none_is_unsigned:
                    site = data.origins.site(algorithm, issue.ctx)
                    seen.add((site.path, site.span))
                    yield self.finding(site.path, site.span, "`algorithm=None` signs nothing: PyJWT issues an unsigned (`none`) token.")
                    continue
                candidates.append((algorithm, issue.ctx))
            if issue.api.header is not None:
                for expr, ctx in _dicts(data, issue.call.arg(*issue.api.header), issue.ctx):
                    candidates.append((expr.get("alg"), ctx))
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
    defaults and `.get_secret_value()`. A settings default drawn from
    `secrets.token_urlsafe(...)`, a field without a default and a value read
    from the environment are fine; so are public keys used to verify.

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
        }
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
        seen: set[tuple] = set()
        keys: list[tuple[Expr | None, Ctx, bool]] = []
        for issue in data.issues:
            if issue.api.key is not None:
                keys.append((issue.call.arg(*issue.api.key), issue.ctx, False))
        for decode in data.decodes:
            if decode.api.key is not None:
                keys.append((decode.call.arg(*decode.api.key), decode.ctx, self._asymmetric(data, decode)))
        keys.extend((expr, ctx, False) for expr, ctx in data.config_secrets)
        for expr, ctx, verify_only in keys:
            if expr is None or verify_only:
                continue
            for result in known(data.origins.string(expr, ctx)):
                value = result.value.decode("latin-1") if isinstance(result.value, bytes) else str(result.value)
                if not value.strip() or _PUBLIC_KEY.search(value):
                    continue
                key = (result.site.path, result.site.span)
                if key in seen:
                    continue
                seen.add(key)
                yield self.finding(
                    result.site.path,
                    result.site.span,
                    "This JWT signing key is a literal in the source: read it from the environment or a secret "
                    "store (a settings field without a default, or one drawn from `secrets.token_urlsafe`).",
                )

    @staticmethod
    def _asymmetric(data: Analysis, decode: Decode) -> bool:
        """A decode call that only accepts public-key algorithms verifies with a public key."""
        if decode.api.algorithms is None:
            return False
        value = data.index.evaluate(decode.call.arg(*decode.api.algorithms), decode.ctx)
        names = [value.value] if isinstance(value, Const) else value.consts() if isinstance(value, SeqValue) else None
        return bool(names) and all(isinstance(n, str) and _ASYMMETRIC.match(n) for n in names)
