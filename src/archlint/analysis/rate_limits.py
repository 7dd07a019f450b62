"""Rate limits: SlowAPI limiters, limit decorators, limit strings and the auth endpoints they must guard.

S13's rules and the inventory both read these (``project.rate_limits`` and the
functions below), so an auth endpoint the inventory lists without a limit is
exactly one S13 reports. The pack's names (S13's options) are passed in as a
``RateLimitNames``: the limiter classes, the auth-endpoint patterns and the
other limiter libraries.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from archlint.analysis.endpoints import list_dependencies, param_dependencies, route_status
from archlint.analysis.routes import Route, RouteTable
from archlint.collect.facts import Attr, Call, CallSite, Expr, FileFacts, FunctionFact, Name, Seq
from archlint.index import ProjectIndex
from archlint.names import ANNOTATED, BASE_MODEL, SECURITY, SQLMODEL
from archlint.values import ClassRef, Const, Ctx, FuncRef, Instance, SeqValue, TypeForm, Unknown, Value, fqn_of


class RateLimitNames(Protocol):
    """The pack's names S13 reads (its options)."""

    @property
    def limiter_types(self) -> tuple[str, ...]: ...
    @property
    def alternative_limiter_modules(self) -> tuple[str, ...]: ...
    @property
    def auth_limits(self) -> dict[str, str]: ...
    @property
    def auth_path_patterns(self) -> dict[str, re.Pattern[str]]: ...
    @property
    def auth_handler_patterns(self) -> dict[str, re.Pattern[str]]: ...
    @property
    def auth_methods(self) -> tuple[str, ...]: ...
    @property
    def auth_exclude_path_pattern(self) -> re.Pattern[str]: ...
    @property
    def signup_password_fields(self) -> re.Pattern[str]: ...
    @property
    def signup_login_fields(self) -> re.Pattern[str]: ...
    @property
    def signup_create_handlers(self) -> re.Pattern[str]: ...
    @property
    def signup_auth_hints(self) -> tuple[str, ...]: ...


# --------------------------------------------------------------------------- #
# Limit strings
# --------------------------------------------------------------------------- #


@lru_cache(maxsize=512)
def parse_limit(text: str) -> tuple[tuple[int, int], ...] | str:
    """(amount, seconds) per item of a limit string, or the parse error as text."""
    from limits import parse_many  # heavy import, only when a limit string is read

    try:
        items = parse_many(text)
    except ValueError as exc:
        return str(exc)
    return tuple((item.amount, item.get_expiry()) for item in items)


def rate(items: Iterable[tuple[int, int]]) -> float:
    """Requests per second allowed by a set of limits applied together (the strictest wins)."""
    return min(amount / seconds for amount, seconds in items)


def looser(actual: float, required: float) -> bool:
    return actual > required * (1 + 1e-9)


@dataclass(slots=True)
class LimitValue:
    """One limit string as written: its expression and what it resolves to."""

    expr: Expr
    ctx: Ctx
    text: str | None  # None: not statically known
    reason: str = ""

    @property
    def parsed(self) -> tuple[tuple[int, int], ...] | str | None:
        return parse_limit(self.text) if self.text is not None else None


def limit_values(index: ProjectIndex, expr: Expr | None, ctx: Ctx, *, many: bool) -> list[LimitValue]:
    """The limit strings an argument holds (``many``: a list of strings, as ``default_limits``)."""
    if expr is None:
        return []
    if many and isinstance(expr, Seq):
        return [v for item in expr.items for v in limit_values(index, item, ctx, many=False)]
    value = index.evaluate(expr, ctx)
    if many and isinstance(value, SeqValue):
        return [_limit_value(expr, ctx, item) for item in value.items]
    return [_limit_value(expr, ctx, value)]


def _limit_value(expr: Expr, ctx: Ctx, value: Value) -> LimitValue:
    if isinstance(value, Const) and isinstance(value.value, str):
        return LimitValue(expr, ctx, value.value)
    if isinstance(value, FuncRef) or (getattr(expr, "kind", "") == "Lambda"):
        return LimitValue(expr, ctx, None, "the limit is computed by a callable at request time")
    if isinstance(value, Unknown):
        return LimitValue(expr, ctx, None, value.reason)
    return LimitValue(expr, ctx, None, "the value is not a string")


# --------------------------------------------------------------------------- #
# Limiter, decorators, auth endpoints
# --------------------------------------------------------------------------- #


@dataclass(slots=True)
class LimitDecorator:
    call: Call
    ctx: Ctx
    resolved: bool  # the receiver is a SlowAPI Limiter (False: not resolvable)
    values: list[LimitValue]


def limit_decorators(index: ProjectIndex, fn: FunctionFact, module: str, names: RateLimitNames) -> list[LimitDecorator]:
    """``@limiter.limit(...)`` / ``@limiter.shared_limit(...)`` decorators of a function.

    A decorator whose receiver is a SlowAPI Limiter is ``resolved``; one whose
    receiver cannot be resolved at all is kept unresolved (it may be a
    limiter); one on something else (a ``functools`` helper...) is dropped.
    """
    ctx = Ctx(module, fn.parent or "")
    out = []
    for deco in fn.decorators:
        if not (isinstance(deco, Call) and isinstance(deco.func, Attr) and deco.func.attr in ("limit", "shared_limit")):
            continue
        receiver = index.evaluate(deco.func.base, ctx)
        if is_limiter(index, receiver, names):
            out.append(LimitDecorator(deco, ctx, True, limit_values(index, deco.arg(0, "limit_value"), ctx, many=False)))
        elif isinstance(receiver, Unknown):
            out.append(LimitDecorator(deco, ctx, False, []))
    return out


def is_limiter(index: ProjectIndex, value: Value, names: RateLimitNames) -> bool:
    return isinstance(value, Instance) and index.is_subclass(value.type, frozenset(names.limiter_types))


def auth_kind(
    index: ProjectIndex, route: Route, fn: FunctionFact | None, names: RateLimitNames, table: RouteTable | None = None
) -> str | None:
    """login / register / refresh (the pack's kinds) when the route is such an auth endpoint.

    With the route table, a public sign-up is a register endpoint whatever its path (:func:`_is_signup`).
    """
    if not any(m in names.auth_methods for m in route.methods):
        return None
    paths = [fp.path for fp in route.full_paths if fp.path is not None]
    if not paths and route.path_expr is not None:
        const = index.const(route.path_expr, route.ctx)
        if isinstance(const, str):
            paths = [const]
    paths = [p.rstrip("/") or "/" for p in paths]
    if any(names.auth_exclude_path_pattern.search(p) for p in paths):
        return None
    for kind, pattern in names.auth_path_patterns.items():
        if kind in names.auth_limits and any(pattern.search(p) for p in paths):
            return kind
    if fn is not None:
        for kind, pattern in names.auth_handler_patterns.items():
            if kind in names.auth_limits and pattern.fullmatch(fn.name):
                return kind
        if table is not None and "register" in names.auth_limits and _is_signup(index, table, route, fn, names):
            return "register"
    return None


_MODEL_BASES = BASE_MODEL | SQLMODEL


def _is_signup(index: ProjectIndex, table: RouteTable, route: Route, fn: FunctionFact, names: RateLimitNames) -> bool:
    """A public sign-up whatever its path: it creates, its body holds a login name and a password, nothing authenticates."""
    if route.handler is None:
        return False
    status = route_status(index, route)
    if status != 201 and not names.signup_create_handlers.search(fn.name):
        return False
    outer = Ctx(route.handler.module, fn.parent or "")
    if not any(_account_body(index, param.annotation, outer, names) for param in fn.params if param.annotation is not None):
        return False
    return not _may_authenticate(index, table, route, fn, names)


def _account_body(index: ProjectIndex, annotation: Expr, ctx: Ctx, names: RateLimitNames) -> bool:
    value = index.evaluate(annotation, ctx)
    if isinstance(value, TypeForm) and fqn_of(value.origin) in ANNOTATED and value.args:
        value = value.args[0]
    if not isinstance(value, ClassRef) or not index.is_subclass(value, _MODEL_BASES):
        return False
    fields: set[str] = set()
    for klass in index.mro(value):
        fact = index.class_fact(klass) if isinstance(klass, ClassRef) else None
        if fact is not None:
            fields.update(t.id for a in fact.assigns for t in a.targets if isinstance(t, Name))
    return any(names.signup_password_fields.fullmatch(f) for f in fields) and any(
        names.signup_login_fields.fullmatch(f) for f in fields
    )


def _may_authenticate(index: ProjectIndex, table: RouteTable, route: Route, fn: FunctionFact, names: RateLimitNames) -> bool:
    """Any dependency of the route (its own, its handler's, its routers' and includes'), one level deep, named like auth."""
    assert route.handler is not None
    deps, _unknown = param_dependencies(index, fn, Ctx(route.handler.module, route.handler.qualname))
    sources = [(route.kw("dependencies"), route.ctx), *table.objects[route.owner].dependency_sources]
    for full in route.full_paths:
        sources.extend(table.objects[full.app].dependency_sources)
        for edge in full.via:
            sources.append((edge.call.kw("dependencies"), edge.ctx))
            if edge.child is not None:
                sources.extend(table.objects[edge.child].dependency_sources)
    for expr, ctx in sources:
        if expr is not None:
            deps += list_dependencies(index, expr, ctx) or []
    labels: list[str] = []
    for dep in deps:
        if dep.target is None:
            continue
        if fqn_of(index.evaluate(dep.call.func, dep.ctx)) in SECURITY:
            return True
        labels.append(dep.target.dotted() or "")
        target = index.evaluate(dep.target, dep.ctx)
        labels.append(fqn_of(target) or "")
        if isinstance(target, FuncRef):
            inner = index.function(target)
            if inner is not None:
                more, _ = param_dependencies(index, inner, Ctx(target.module, target.qualname))
                labels += [d.target.dotted() or "" for d in more if d.target is not None]
                labels += [p.name for p in inner.params]
    return any(fnmatch.fnmatchcase(n.rsplit(".", 1)[-1].lower(), g) for n in labels if n for g in names.signup_auth_hints)


def auth_routes(index: ProjectIndex, table: RouteTable, names: RateLimitNames) -> Iterator[tuple[Route, FunctionFact, str]]:
    """The auth endpoints S13 judges, once per handler, with their kind (login, register, refresh)."""
    seen: set[FuncRef | None] = set()
    for route in table.routes:
        fn = table.handler(index, route)
        if fn is None or route.handler in seen:
            continue
        owner = table.objects[route.owner]
        if not route.full_paths and owner.kind == "router" and owner.ctx.scope:
            continue  # a library's router factory: the application that mounts it applies the limits
        kind = auth_kind(index, route, fn, names, table)
        if kind is None:
            continue
        seen.add(route.handler)
        yield route, fn, kind


def alternative_guard(index: ProjectIndex, route: Route, fn: FunctionFact, names: RateLimitNames) -> str | None:
    """The other limiter library (`fastapi_limiter`) that guards a route: a decorator or a dependency from it."""
    assert route.handler is not None
    ctx = Ctx(route.handler.module, route.handler.qualname)
    values: list[Value | None] = [
        index.evaluate(d.func if isinstance(d, Call) else d, Ctx(route.handler.module, fn.parent or "")) for d in fn.decorators
    ]
    deps, _unknown = param_dependencies(index, fn, ctx)
    deps += list_dependencies(index, route.kw("dependencies"), route.ctx) or []
    for dep in deps:
        values.append(index.evaluate(dep.target, dep.ctx) if dep.target is not None else None)
    for value in values:
        if isinstance(value, Instance):
            value = value.type
        fqn = fqn_of(value) if value is not None else None
        if (
            fqn
            and fqn.split(".", 1)[0] in names.alternative_limiter_modules
            and not index.is_project_module(fqn.split(".", 1)[0])
        ):
            return f"`{fqn.split('.', 1)[0]}`"
    return None


def uses_alternative(index: ProjectIndex, names: RateLimitNames) -> str | None:
    for facts in index.modules.values():
        for imp in facts.imports:
            top = imp.module.split(".", 1)[0]
            if imp.level == 0 and top in names.alternative_limiter_modules and not index.is_project_module(top):
                return top
    return None


def limiter_calls(index: ProjectIndex, names: RateLimitNames) -> list[tuple[FileFacts, CallSite, Ctx]]:
    return index.calls_to(*names.limiter_types)


def is_exempt(index: ProjectIndex, fn: FunctionFact, module: str, names: RateLimitNames) -> bool:
    """``@limiter.exempt``: the function is left out of the default limits."""
    ctx = Ctx(module, fn.parent or "")
    for deco in fn.decorators:
        target = deco.func if isinstance(deco, Call) else deco
        if isinstance(target, Attr) and target.attr == "exempt" and is_limiter(index, index.evaluate(target.base, ctx), names):
            return True
    return False


class RateLimits:
    """Per set of the pack's names: the auth endpoints S13 judges (built once each)."""

    def __init__(self, index: ProjectIndex, routes: RouteTable) -> None:
        self.index = index
        self.routes = routes
        self._auth: dict[int, tuple[RateLimitNames, list[tuple[Route, FunctionFact, str]]]] = {}

    def auth_routes(self, names: RateLimitNames) -> list[tuple[Route, FunctionFact, str]]:
        key = id(names)
        if key not in self._auth or self._auth[key][0] is not names:
            self._auth[key] = (names, list(auth_routes(self.index, self.routes, names)))
        return self._auth[key][1]

    def judges_auth_endpoints(self, names: RateLimitNames) -> bool:
        """S13 judges auth endpoints for SlowAPI unless the project limits with another library only."""
        return bool(limiter_calls(self.index, names)) or uses_alternative(self.index, names) is None
