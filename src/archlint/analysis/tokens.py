"""Tokens: where JWTs are issued and decoded, and the lifetimes that reach them (S5, the inventory).

Tokens are found where they are issued (``jwt.encode`` of PyJWT, python-jose,
authlib and joserfc; fastapi-users' ``JWTStrategy`` and ``generate_jwt``;
fastapi-jwt-auth, AuthX and fastapi-jwt's ``create_access_token`` and their
lifetime settings) and decoded. A lifetime is what flows into an issued token's
``exp`` claim (or a library's lifetime argument): the payload is followed
through dict literals, ``to_encode.update({"exp": ...})``, copies and helper
parameters (every call site); ``exp`` through ``datetime.now(...) + delta``,
``int(time.time()) + n``, ``timedelta(hours=settings.X)`` (the unit is the use
site's) and settings defaults, constants and environment fallbacks in other
modules. Names only exclude (password-reset, verification, session tokens...)
and tell refresh from access (:func:`token_kind`, with the pack's patterns);
they never make a lifetime.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from archlint.analysis.origins import (
    Binding,
    Flow,
    Origins,
    Site,
    Traced,
    combine,
    identifiers,
    iter_exprs,
    known,
    labels_of,
    snake,
)
from archlint.collect.facts import Attr, BinOp, Call, DictExpr, Expr, FunctionFact, Lit, Name, Other, Scope, Starred, Subscript
from archlint.model import Span
from archlint.values import Ctx, FuncRef, Instance, ParamValue, TypeForm, Unknown, fqn_of

if TYPE_CHECKING:
    from archlint.analysis.routes import RouteTable
    from archlint.index import ProjectIndex


class TokenNames(Protocol):
    """The pack's name patterns that tell token kinds apart (S5's options)."""

    @property
    def refresh_token_names(self) -> re.Pattern[str]: ...
    @property
    def access_token_names(self) -> re.Pattern[str]: ...
    @property
    def excluded_token_names(self) -> re.Pattern[str]: ...
    @property
    def refresh_evidence_names(self) -> re.Pattern[str]: ...
    @property
    def opaque_refresh_token_names(self) -> re.Pattern[str]: ...
    @property
    def token_type_claims(self) -> tuple[str, ...]: ...


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
    "fastapi_users.jwt.generate_jwt": Api(
        payload=(0, "data"), key=(1, "secret"), lifetime=(2, "lifetime_seconds"), algorithm=(3, "algorithm")
    ),
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
#: Strategies issuing opaque access tokens kept in a store, with a lifetime argument (no key, no payload).
STRATEGIES.update(
    {
        name: Api(lifetime=(1, "lifetime_seconds"))
        for name in (
            "fastapi_users.authentication.DatabaseStrategy",
            "fastapi_users.authentication.strategy.DatabaseStrategy",
            "fastapi_users.authentication.strategy.db.DatabaseStrategy",
            "fastapi_users.authentication.strategy.db.strategy.DatabaseStrategy",
            "fastapi_users.authentication.RedisStrategy",
            "fastapi_users.authentication.strategy.RedisStrategy",
            "fastapi_users.authentication.strategy.redis.RedisStrategy",
        )
    }
)
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
#: fastapi-jwt's bearer and cookie classes: configured like its settings, issuing like its methods.
_FASTAPI_JWT_CLASSES = (
    "JwtAccessBearer",
    "JwtAccessBearerCookie",
    "JwtAccessCookie",
    "JwtRefreshBearer",
    "JwtRefreshBearerCookie",
    "JwtRefreshCookie",
)
_FASTAPI_JWT = {"access_expires_delta": "lifetime", "refresh_expires_delta": "lifetime", "secret_key": "secret"}
CONFIG_CALLS: dict[str, dict[str, str]] = {
    "authx.AuthXConfig": _AUTHX,
    "authx.config.AuthXConfig": _AUTHX,
    **{f"fastapi_jwt.{name}": _FASTAPI_JWT for name in _FASTAPI_JWT_CLASSES},
}
#: fastapi-jwt-auth reads these fields from the settings object given to ``AuthJWT.load_config``.
CONFIG_FIELDS = {
    "authjwt_access_token_expires": "lifetime",
    "authjwt_refresh_token_expires": "lifetime",
    "authjwt_secret_key": "secret",
}
CONFIG_FIELD_LIBRARIES = ("fastapi_jwt_auth", "async_fastapi_jwt_auth")
#: Objects whose create_access_token / create_refresh_token issue tokens: type -> the lifetime keyword.
ISSUE_METHODS: dict[str, str] = {
    "fastapi_jwt_auth.AuthJWT": "expires_time",
    "fastapi_jwt_auth.auth_jwt.AuthJWT": "expires_time",
    "async_fastapi_jwt_auth.AuthJWT": "expires_time",
    "authx.AuthX": "expiry",
    **{f"fastapi_jwt.{name}": "expires_delta" for name in _FASTAPI_JWT_CLASSES},
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
_SECOND = {
    "weeks": 604800,
    "days": 86400,
    "hours": 3600,
    "minutes": 60,
    "seconds": 1,
    "milliseconds": 0.001,
    "microseconds": 0.000001,
}
_DELTAS: dict[str, tuple[str, ...]] = {
    "datetime.timedelta": ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks"),
    "pendulum.duration": ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks"),
    "dateutil.relativedelta.relativedelta": (),
}
_MORE_UNITS = {"months": 30 * 86400, "years": 365 * 86400}
_TIMESTAMPS = {"calendar.timegm", "time.mktime", "builtins.int", "builtins.float", "builtins.round", "math.floor", "math.ceil"}
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


class Tokens:
    """Every token issued and decoded in a project, with the lifetimes that reach it.

    Built once per project (``project.tokens``); the S5 rules and the inventory read it.
    """

    def __init__(self, index: ProjectIndex, origins: Origins, routes: Callable[[], RouteTable]) -> None:
        self.index = index
        self._routes = routes
        self.origins = origins
        self.issues: list[Issue] = []
        self.decodes: list[Decode] = []
        self._stored: list[tuple[str, BinOp, Ctx, tuple[str, ...]]] | None = None
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
                        if not isinstance(target, Name):
                            continue
                        role = CONFIG_FIELDS.get(target.id.lower())
                        if role is not None and assign.value is not None:
                            found.append(
                                (target.id, assign.value, ctx, role, "fastapi-jwt-auth", Site(facts.path, assign.span, True))
                            )
        for name, value, ctx, role, library, field_site in found:
            if role == "secret":
                self.config_secrets.append((value, ctx))
                continue
            if self.index.const(value, ctx) is False:
                self.config_no_expiry.append(field_site or self.origins.site(value, ctx))
                continue
            for result in known(self.duration(value, ctx)):
                where = result.site if result.site.named or field_site is None else field_site
                self.config_lifetimes.append((Lifetime(float(result.value), where, (), result.names + (name,), ()), library))

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
        if helper is None or helper.fqn not in self.origins.consulted:
            return Issue(path, call, ctx, api, strategy, own, *found)
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

    def _read(
        self, call: Call, ctx: Ctx, api: Api, strategy: bool, own: tuple[str, ...], labels: tuple[str, ...]
    ) -> tuple[list[Entry], list[Lifetime], Site | None]:
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
                return [
                    t
                    for flow in self.origins.flows(params[0])
                    if flow.expr is not None
                    for t in self._claim_texts(flow.expr, flow.ctx, depth + 1)
                ]
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
    def lifetime(self, expr: Expr, ctx: Ctx) -> list[Traced[float] | Unknown]:
        """Seconds from now to the ``exp`` an expression stands for."""
        key = ("lifetime", expr.span, ctx)
        if not self.origins.guard(key):
            return [Unknown("the value refers to itself")]
        try:
            return self._lifetime(expr, ctx)
        finally:
            self.origins.release(key)

    def _lifetime(self, expr: Expr, ctx: Ctx) -> list[Traced[float] | Unknown]:
        if isinstance(expr, Call):
            fqn = self.origins.fqn(expr.func, ctx)
            if fqn in _TIMESTAMPS and expr.args:
                return self.lifetime(expr.args[0], ctx)
            if isinstance(expr.func, Attr) and expr.func.attr in (
                "timestamp",
                "utctimetuple",
                "timetuple",
                "astimezone",
                "replace",
            ):
                return self.lifetime(expr.func.base, ctx)
            func = self.index.evaluate(expr.func, ctx)
            if isinstance(func, FuncRef):
                return self.origins.returned(func, self.lifetime)
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
            values = [(value, b.ctx) for b in bindings if b.kind == "value" and (value := b.expr) is not None]
            return bool(values) and len(values) == len(bindings) and all(self.is_now(v, c, depth + 1) for v, c in values)
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

    def duration(self, expr: Expr, ctx: Ctx) -> list[Traced[float] | Unknown]:
        """Seconds an expression stands for: a timedelta, or a number of seconds."""
        key = ("duration", expr.span, ctx)
        if not self.origins.guard(key):
            return [Unknown("the value refers to itself")]
        try:
            return self._duration(expr, ctx)[:32]
        finally:
            self.origins.release(key)

    def _duration(self, expr: Expr, ctx: Ctx) -> list[Traced[float] | Unknown]:
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

    def _delta(self, call: Call, ctx: Ctx, order: tuple[str, ...]) -> list[Traced[float] | Unknown]:
        parts: list[tuple[float, list[Traced[float] | Unknown]]] = []
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
        results: list[Traced[float] | Unknown] | None = None
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
            seen: set[Span] = set()
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

    def opaque_refresh_lifetimes(self, options: TokenNames) -> list[Lifetime]:
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

    def refresh_evidence(self, options: TokenNames, within: Callable[[str], bool] | None = None) -> bool:
        """Anything in the project (or in the files ``within`` accepts) that names a refresh token.

        Functions, classes, variables, fields and called methods named like
        ``refresh_token`` / ``refresh_access_token``, and routes whose path
        says ``refresh``; a bare ``refresh`` (``session.refresh(user)``, a
        cache's ``refresh_interval``) is not one. Opaque refresh tokens
        stored in a table count.
        """
        pattern = options.refresh_evidence_names
        for facts in self.index.modules.values():
            if within is not None and not within(facts.path):
                continue
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
        for route in self._routes().routes:
            if within is not None and not within(route.file):
                continue
            path = self.index.const(route.path_expr, route.ctx) if route.path_expr is not None else None
            if isinstance(path, str) and options.refresh_token_names.search(snake(path)):
                return True
        return False


def _annotation_names(index: ProjectIndex, binding: Binding) -> set[str]:
    """Dotted names in an annotation (``timedelta | None`` gives datetime.timedelta)."""
    ctx = binding.ctx
    if binding.kind == "param" and binding.function is not None:
        fn = index.function(binding.function)
        ctx = Ctx(ctx.module, fn.parent or "") if fn is not None else ctx
    out: set[str] = set()
    for node in iter_exprs(binding.annotation):
        if isinstance(node, (Name, Attr)):
            name = index.fqn(node, ctx)
            if name:
                out.add(name)
    return out


def _enclosing_calls(scope: Scope, target: Span, origins: Origins, ctx: Ctx) -> tuple[str, ...]:
    """Names of the calls an expression is an argument of (``RefreshToken(expires_at=...)``)."""
    out: list[str] = []
    for site in scope.calls:
        call = site.call
        if call.span == target or not call.span.contains(target):
            continue
        fqn = origins.fqn(call.func, ctx) or (call.func.dotted() or "")
        out.append(fqn.rsplit(".", 1)[-1])
    return tuple(out)


def _lifetime(result: Traced[float], claims: tuple[str, ...], names: tuple[str, ...], funcs: tuple[str, ...]) -> Lifetime:
    return Lifetime(float(result.value), result.site, claims, result.names + names, funcs + tuple(reversed(result.funcs)))


def _merge(a: Entry, b: Entry) -> Entry:
    return Entry(a.exp + b.exp, a.claims + b.claims, a.complete and b.complete, a.names + b.names, a.funcs + b.funcs)


def _incomplete(entry: Entry) -> Entry:
    entry.complete = False
    return entry


def _crossed(entry: Entry, flow: Flow) -> Entry:
    return Entry(
        entry.exp, entry.claims, entry.complete, entry.names + flow.labels, ((flow.caller,) if flow.caller else ()) + entry.funcs
    )


def _call_labels(origins: Origins, call: Call, ctx: Ctx) -> tuple[str, ...]:
    scope = origins.index.scope(ctx)
    return labels_of(scope, call.span) if scope is not None else ()


def token_kind(options: TokenNames, claims: Iterable[str], names: Iterable[str], funcs: Iterable[str]) -> str:
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


def issue_kinds(options: TokenNames, issue: Issue) -> set[str]:
    kinds = {token_kind(options, lt.claims, lt.names, lt.funcs) for lt in issue.lifetimes}
    claims = tuple(c for e in issue.entries for c in e.claims)
    names = tuple(n for e in issue.entries for n in e.names)
    funcs = issue.funcs + tuple(f for e in issue.entries for f in e.funcs)
    kinds.add(token_kind(options, claims, names, funcs))
    return kinds
