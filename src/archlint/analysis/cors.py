"""CORS: every CORSMiddleware configuration and whether its allowed origins can be any origin.

S14's wildcard rule and the inventory's security measures both read this
analysis (``project.cors``). A configuration is an ``add_middleware`` /
``Middleware(...)`` registration of the app (``project.apps``) or a direct
construction wrapping an app. ``allow_origins`` is followed through settings
defaults, ``default_factory`` lambdas, properties, comma-separated strings and
comprehensions, to tell whether it can hold ``"*"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archlint.collect.facts import Attr, BinOp, Call, Expr, Name, Other, Seq, Starred
from archlint.model import Span
from archlint.names import FIELD_FUNCTIONS
from archlint.values import ClassRef, Const, Ctx, FuncRef, Instance, SeqValue, Unknown, Value

if TYPE_CHECKING:
    from archlint.analysis.apps import AppConfig
    from archlint.index import ProjectIndex

_MAX_DEPTH = 6


class Cors:
    """The CORS configurations of the project, per set of middleware classes (the pack's), built once each."""

    def __init__(self, index: ProjectIndex, apps: AppConfig) -> None:
        self.index = index
        self.apps = apps
        self._uses: dict[frozenset[str], list[CorsUse]] = {}
        self.origins = OriginsWildcard(index)

    def uses(self, types: Iterable[str]) -> list[CorsUse]:
        key = frozenset(types)
        if key not in self._uses:
            self._uses[key] = cors_uses(self.index, self.apps, key)
        return self._uses[key]

    def credentials(self, use: CorsUse) -> bool:
        """``allow_credentials=True`` (resolved through constants and settings)."""
        if "allow_credentials" not in use.kw:
            return False
        value = self.index.evaluate(use.kw["allow_credentials"], use.ctx)
        return isinstance(value, Const) and value.value is True

    def any_origin(self, use: CorsUse, probes: Iterable[str]) -> str | None:
        """How the configuration allows any origin (for a message), or None."""
        if "allow_origins" in use.kw:
            result = self.origins.of(use.kw["allow_origins"], use.ctx)
            if result.found:
                return f'`allow_origins` holds "*"{f", through {result.via}" if result.via else ""}'
        regex = self.regex(use)
        if isinstance(regex, str) and regex_is_wildcard(regex, probes):
            return f'`allow_origin_regex` "{regex}" accepts any origin'
        return None

    def regex(self, use: CorsUse) -> str | Unknown | None:
        if "allow_origin_regex" not in use.kw:
            return None
        value = self.index.evaluate(use.kw["allow_origin_regex"], use.ctx)
        if isinstance(value, Const) and isinstance(value.value, str):
            return value.value
        return value if isinstance(value, Unknown) else Unknown("the pattern is not a string")


@dataclass(slots=True)
class CorsUse:
    file: str
    span: Span
    ctx: Ctx
    kw: dict[str, Expr]


def cors_uses(index: ProjectIndex, apps: AppConfig, types: frozenset[str]) -> list[CorsUse]:
    """Every CORSMiddleware configuration: ``add_middleware``, ``Middleware(...)``, direct construction."""
    out: dict[tuple[str, Span], CorsUse] = {}
    for reg in apps.registrations:
        if reg.kind == "middleware" and reg.call is not None and index.is_subclass(index.evaluate(reg.target, reg.ctx), types):
            out.setdefault(
                (reg.file, reg.call.span), CorsUse(reg.file, reg.call.span, reg.ctx, {k: v for k, v in reg.kwargs if k})
            )
    for facts, site, ctx in index.calls_to(*types):
        call = site.call
        out.setdefault((facts.path, call.span), CorsUse(facts.path, call.span, ctx, {k: v for k, v in call.kwargs if k}))
    return list(out.values())


@dataclass(slots=True)
class Wildcard:
    found: bool = False
    unknown: bool = False
    via: str = ""  # how the wildcard was reached, for the message

    def merge(self, other: Wildcard) -> Wildcard:
        return Wildcard(self.found or other.found, self.unknown or other.unknown, self.via or other.via)


def _const_wildcard(value: object) -> Wildcard:
    if isinstance(value, str):
        return Wildcard(found="*" in (part.strip() for part in value.split(",")))
    if isinstance(value, (list, tuple, set)):
        out = Wildcard()
        for item in value:
            out = out.merge(_const_wildcard(item))
        return out
    return Wildcard()


class OriginsWildcard:
    """Whether an ``allow_origins`` expression can hold ``"*"``, following settings, properties and comprehensions."""

    def __init__(self, index: ProjectIndex) -> None:
        self.index = index

    def of(self, expr: Expr | None, ctx: Ctx, depth: int = 0) -> Wildcard:
        if expr is None or depth > _MAX_DEPTH:
            return Wildcard(unknown=True)
        if isinstance(expr, Seq):
            out = Wildcard()
            for item in expr.items:
                out = out.merge(self.of(item.value if isinstance(item, Starred) else item, ctx, depth + 1))
            return out
        if isinstance(expr, BinOp) and expr.op == "Add":
            return self.of(expr.left, ctx, depth + 1).merge(self.of(expr.right, ctx, depth + 1))
        if isinstance(expr, Other):
            return self._other(expr, ctx, depth)
        if isinstance(expr, Call):
            func = expr.func
            if isinstance(func, Attr) and func.attr in ("split", "strip", "rstrip", "lower"):
                return self.of(func.base, ctx, depth + 1)
            callee = self.index.fqn(func, ctx)
            if callee in ("builtins.list", "builtins.tuple", "builtins.set", "builtins.str", "builtins.sorted") and expr.args:
                return self.of(expr.args[0], ctx, depth + 1)
        value = self.index.evaluate(expr, ctx)
        result = self.value(value, depth)
        if result.unknown and not result.found and isinstance(expr, Attr):
            factory = self._default_factory(expr, ctx)
            if factory is not None:
                result = self.of(factory, ctx, depth + 1)
        if result.unknown and not result.found and isinstance(expr, Name):
            bound = self.index.definition(expr, ctx)
            if bound is not None:
                return self.of(bound[0], bound[1], depth + 1)
        if result.found and depth == 0 and isinstance(expr, (Attr, Name)) and expr.dotted():
            result.via = f"`{expr.dotted()}`"
        return result

    def value(self, value: Value, depth: int) -> Wildcard:
        if isinstance(value, Const):
            return _const_wildcard(value.value)
        if isinstance(value, SeqValue):
            out = Wildcard()
            for item in value.items:
                out = out.merge(self.value(item, depth + 1))
            return out
        if isinstance(value, FuncRef):  # a @property / @computed_field of the settings
            fn = self.index.function(value)
            if fn is None or not fn.returns:
                return Wildcard(unknown=True)
            out = Wildcard()
            for ret in fn.returns:
                out = out.merge(self.of(ret, Ctx(value.module, fn.qualname), depth + 1))
            return out
        if isinstance(value, Instance):
            return Wildcard()  # AnyHttpUrl("https://...") and the like: a single origin
        return Wildcard(unknown=True)

    def _default_factory(self, expr: Attr, ctx: Ctx) -> Expr | None:
        """``origins: list[str] = Field(default_factory=lambda: ["*"])`` -> the lambda's body."""
        owner = self.index.evaluate(expr.base, ctx)
        if not (isinstance(owner, Instance) and isinstance(owner.type, ClassRef)):
            return None
        for klass in self.index.mro(owner.type):
            fact = self.index.class_fact(klass) if isinstance(klass, ClassRef) else None
            if fact is None or not isinstance(klass, ClassRef):
                continue
            for assign in fact.assigns:
                if not any(isinstance(t, Name) and t.id == expr.attr for t in assign.targets):
                    continue
                call = assign.value
                callee = self.index.fqn(call.func, Ctx(klass.module, fact.parent or "")) if isinstance(call, Call) else None
                if isinstance(call, Call) and callee is not None and callee in FIELD_FUNCTIONS:
                    factory = call.kw("default_factory")
                    if isinstance(factory, Other) and factory.kind == "Lambda" and factory.children:
                        return factory.children[-1]
                return None
        return None

    def _other(self, expr: Other, ctx: Ctx, depth: int) -> Wildcard:
        out = Wildcard()
        if expr.kind in ("ListComp", "SetComp", "GeneratorExp"):
            scope = self.index.scope(ctx)
            for loop in scope.loops if scope is not None else ():
                if loop.kind == "comprehension" and expr.span.contains(loop.span) and loop.iter is not None:
                    out = out.merge(self.of(loop.iter, ctx, depth + 1))
            return out
        if expr.kind == "IfExp":
            for child in expr.children:
                out = out.merge(self.of(child, ctx, depth + 1))
            return out
        return Wildcard(unknown=True)


def regex_is_wildcard(pattern: str, probes: Iterable[str]) -> bool:
    try:
        compiled = re.compile(pattern)
    except re.error:
        return False
    return any(compiled.fullmatch(origin) for origin in probes)
