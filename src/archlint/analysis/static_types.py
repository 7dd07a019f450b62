"""The static type of an expression: "what class is this value an instance of?".

``project.types.of(expr, ctx)`` answers with a class value (``ClassRef`` for a
project class, ``Symbol`` for an external one such as
``sqlalchemy.ext.asyncio.AsyncSession``) or ``None`` when it cannot tell. It
follows what FastAPI code does to hand a value around:

- parameter annotations, through ``Annotated[X, Depends(...)]`` aliases
  defined in other modules, ``Optional[X]`` and ``X | None``;
- unannotated ``Depends(dep)`` defaults (the dependency's return annotation,
  ``Generator[X, ...]``/``AsyncIterator[X]`` unwrapped, or what the
  generator binds);
- ``self.attr`` (class-level annotations, assignments in any method);
- locals assigned from typed expressions, ``with``/``async with`` targets;
- calls: classes, project functions' return annotations, and factory
  instances such as a ``sessionmaker(...)``/``async_sessionmaker(...)`` object
  (calling it gives its ``class_`` or the default session class).

External dotted names are compared in their public spelling: ``canonical``
maps ``sqlalchemy.orm.session.Session`` to ``sqlalchemy.orm.Session``, so rules
list each symbol once.
"""

from __future__ import annotations

import enum
import weakref
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from archlint.collect.facts import (
    Assign,
    Attr,
    Await,
    BinOp,
    Call,
    CallSite,
    ClassFact,
    DictExpr,
    Expr,
    FileFacts,
    FString,
    FunctionFact,
    Lit,
    Loop,
    Name,
    Other,
    Param,
    Scope,
    Seq,
    Starred,
    Subscript,
    UnaryOp,
    WithItem,
)
from archlint.model import Span
from archlint.names import DEPENDS, SEQUENCES, canonical
from archlint.values import ClassRef, Ctx, FuncRef, Instance, ParamValue, Symbol, TypeForm, Unknown, Value, fqn_of

if TYPE_CHECKING:
    from archlint.index import ProjectIndex

#: Instances that make instances when called: factory type -> (keyword naming the class, default class).
FACTORIES = {
    "sqlalchemy.orm.sessionmaker": ("class_", "sqlalchemy.orm.Session"),
    "sqlalchemy.orm.scoped_session": (None, "sqlalchemy.orm.Session"),
    "sqlalchemy.ext.asyncio.async_sessionmaker": ("class_", "sqlalchemy.ext.asyncio.AsyncSession"),
    "sqlalchemy.ext.asyncio.async_scoped_session": (None, "sqlalchemy.ext.asyncio.AsyncSession"),
}

#: External functions whose result's class is known.
RETURNS = {
    "sqlalchemy.create_engine": "sqlalchemy.Engine",
    "sqlalchemy.engine_from_config": "sqlalchemy.Engine",
    "sqlmodel.create_engine": "sqlalchemy.Engine",
    "sqlalchemy.ext.asyncio.create_async_engine": "sqlalchemy.ext.asyncio.AsyncEngine",
    "sqlalchemy.ext.asyncio.async_engine_from_config": "sqlalchemy.ext.asyncio.AsyncEngine",
}

#: Methods whose result's class is known: (receiver class, method) -> class.
METHOD_RETURNS = {
    ("sqlalchemy.ext.asyncio.AsyncEngine", "begin"): "sqlalchemy.ext.asyncio.AsyncConnection",
    ("sqlalchemy.ext.asyncio.AsyncEngine", "connect"): "sqlalchemy.ext.asyncio.AsyncConnection",
    ("sqlalchemy.Engine", "begin"): "sqlalchemy.Connection",
    ("sqlalchemy.Engine", "connect"): "sqlalchemy.Connection",
    ("sqlalchemy.orm.sessionmaker", "begin"): "sqlalchemy.orm.Session",
    ("sqlalchemy.ext.asyncio.async_sessionmaker", "begin"): "sqlalchemy.ext.asyncio.AsyncSession",
}

#: Generic containers whose first argument is the element (or yielded) type.
CONTAINERS = SEQUENCES | frozenset(
    {
        "typing.Iterator",
        "typing.Generator",
        "typing.AsyncIterator",
        "typing.AsyncIterable",
        "typing.AsyncGenerator",
        "collections.abc.MutableSequence",
        "collections.abc.Iterator",
        "collections.abc.Generator",
        "collections.abc.AsyncIterator",
        "collections.abc.AsyncIterable",
        "collections.abc.AsyncGenerator",
        "sqlalchemy.ScalarResult",
        "sqlalchemy.engine.ScalarResult",
    }
)
_GENERATORS = frozenset(c for c in CONTAINERS if "Iter" in c or "Generator" in c)
_WRAPPERS = frozenset({"typing.Annotated", "typing.Optional", "typing.Union", "typing.Final", "typing.ClassVar"})
_CONTEXT_MANAGERS = frozenset({"contextlib.contextmanager", "contextlib.asynccontextmanager"})
_MAX_DEPTH = 24


def canonical_of(value: Value | None) -> str | None:
    return canonical(fqn_of(value)) if value is not None else None


@dataclass(frozen=True, slots=True)
class _Unpacked:
    """One item of a tuple assignment (``a, b = x, y``): the expression bound to the name."""

    value: Expr


class TypeResolver:
    """Static types of expressions, computed on demand and cached (one per project index)."""

    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self._cache: dict[tuple[object, ...], Value | None] = {}
        self._attr_cache: dict[tuple[ClassRef, str], Value | None | _Missing] = {}
        self._active: set[tuple[object, ...]] = set()

    # ------------------------------------------------------------ public
    def of(self, expr: Expr | None, ctx: Ctx) -> Value | None:
        """The class (``ClassRef``/``Symbol``) of the value ``expr`` evaluates to, or None."""
        form = self.form(expr, ctx)
        return _origin(form)

    def form(self, expr: Expr | None, ctx: Ctx) -> Value | None:
        """Like ``of`` but keeps generic arguments: ``list[User]`` stays a ``TypeForm``."""
        if expr is None:
            return None
        key = ("of", expr, ctx)
        if key in self._cache:
            return self._cache[key]
        if key in self._active or len(self._active) > _MAX_DEPTH:
            return None
        self._active.add(key)
        try:
            value = self._of(expr, ctx)
        finally:
            self._active.discard(key)
        self._cache[key] = value
        return value

    def annotation(self, expr: Expr | None, ctx: Ctx) -> Value | None:
        """The type an annotation denotes, ``Annotated``/``Optional``/``X | None`` unwrapped (a ``TypeForm`` if generic)."""
        if expr is None:
            return None
        if isinstance(expr, BinOp) and expr.op == "BitOr":
            sides = [s for s in (expr.left, expr.right) if not (isinstance(s, Lit) and s.value is None)]
            if len(sides) == 1:
                return self.annotation(sides[0], ctx)
            return None
        if isinstance(expr, Lit):
            return self._forward_reference(expr, ctx)
        value = self.index.evaluate(expr, ctx)
        return self._unwrap(value)

    def _forward_reference(self, expr: Lit, ctx: Ctx) -> Value | None:
        """``"AsyncSession"`` / ``"models.User"``: a quoted dotted name (anything more complex is not parsed)."""
        text = expr.value.strip() if isinstance(expr.value, str) else ""
        parts = text.split(".")
        if not text or not all(p.isidentifier() for p in parts):
            return None
        node: Expr = Name(expr.span, parts[0])
        for part in parts[1:]:
            node = Attr(expr.span, node, part)
        return self._unwrap(self.index.evaluate(node, ctx))

    def is_subclass(self, klass: Value | None, fqns: frozenset[str] | set[str]) -> bool:
        if not isinstance(klass, (ClassRef, Symbol)):
            return False
        return any(canonical_of(k) in fqns for k in self.index.mro(klass))

    def element(self, form: Value | None) -> Value | None:
        """The element class of a container type form (``list[User]`` -> ``User``)."""
        if isinstance(form, TypeForm) and canonical_of(form.origin) in CONTAINERS and form.args:
            return _origin(self._unwrap(form.args[0]))
        return None

    # ---------------------------------------------------------- internals
    def _unwrap(self, value: Value | None) -> Value | None:
        for _ in range(8):
            if isinstance(value, TypeForm) and canonical_of(value.origin) in _WRAPPERS and value.args:
                if canonical_of(value.origin) == "typing.Union":
                    args = [a for a in value.args if not _is_none(a)]
                    if len(args) != 1:
                        return None
                    value = args[0]
                else:
                    value = value.args[0]
                continue
            break
        if isinstance(value, (ClassRef, Symbol, TypeForm)):
            return value
        return None

    def _of(self, expr: Expr, ctx: Ctx) -> Value | None:
        if isinstance(expr, Name):
            return self._name(expr.id, ctx, expr.span.line)
        if isinstance(expr, Attr):
            return self._attribute(expr, ctx)
        if isinstance(expr, Call):
            return self._call(expr, ctx)
        if isinstance(expr, Await):
            if isinstance(expr.value, Call):
                return self._call(expr.value, ctx, awaited=True)
            return None
        if isinstance(expr, Other) and expr.kind == "BooleanOperation" and expr.children:
            # ``session or self.session``: the first operand's declared type, when the
            # operands whose types are known all agree.
            forms = [self.form(child, ctx) for child in expr.children]
            known = [f for f in forms if f is not None]
            if forms[0] is not None and all(f == forms[0] for f in known):
                return forms[0]
            return None
        return self._value(self.index.evaluate(expr, ctx))

    def _value(self, value: Value) -> Value | None:
        if isinstance(value, Instance):
            fqn = canonical_of(value.type)
            if fqn in RETURNS:
                return Symbol(RETURNS[fqn])
            return value.type if isinstance(value.type, (ClassRef, Symbol)) else None
        if isinstance(value, ParamValue):
            return self._param_value(value)
        return None

    def _param_value(self, value: ParamValue) -> Value | None:
        facts = self.index.modules.get(value.module)
        fn = facts.functions.get(value.function) if facts else None
        if fn is None:
            return None
        param = fn.param(value.name)
        if param is None:
            return None
        return self._param(fn, param, Ctx(value.module, fn.qualname))

    def _param(self, fn: FunctionFact, param: Param, ctx: Ctx) -> Value | None:
        # Annotations are evaluated where the function is defined.
        outer = Ctx(ctx.module, fn.parent or "")
        if param is fn.params[0] and fn.class_qualname is not None and not _is_static(fn):
            if any(isinstance(d, Name) and d.id == "classmethod" for d in fn.decorators):
                return None
            return ClassRef(ctx.module, fn.class_qualname)
        if param.annotation is not None:
            annotated = self.annotation(param.annotation, outer)
            if annotated is not None and canonical_of(_origin(annotated)) not in ("typing.Any", "builtins.object"):
                return annotated
        default = param.default
        if isinstance(default, Call) and canonical(self.index.fqn(default.func, outer)) in DEPENDS:
            dep = default.arg(0, "dependency")
            if dep is not None:
                return self.dependency(self.index.evaluate(dep, outer))
        return None

    def dependency(self, dep: Value) -> Value | None:
        """What ``Depends(dep)`` injects: a class dependency's instance, a function's (yielded) result."""
        if isinstance(dep, (ClassRef, Symbol)):
            return dep
        if not isinstance(dep, FuncRef):
            return None
        fn = self.index.function(dep)
        if fn is None:
            return None
        ctx = Ctx(dep.module, fn.qualname)
        if fn.returns_annotation is not None:
            form = self.annotation(fn.returns_annotation, Ctx(dep.module, fn.parent or ""))
            if isinstance(form, TypeForm) and canonical_of(form.origin) in _GENERATORS and form.args:
                return self._unwrap(form.args[0])
            if form is not None and canonical_of(_origin(form)) not in _GENERATORS:
                # A generator annotated with what it yields (``-> AsyncSession``) is a common slip.
                return form
        if fn.is_generator:
            # ``with SessionLocal() as db: yield db`` / ``db = SessionLocal(); yield db``.
            found = {t for t in self._bound_types(fn, ctx) if t is not None}
            return found.pop() if len(found) == 1 else None
        return self._value(self.index.returned(dep))

    def _bound_types(self, fn: FunctionFact, ctx: Ctx) -> list[Value | None]:
        out: list[Value | None] = []
        for item in fn.withs:
            if isinstance(item.target, Name):
                out.append(_origin(self._with_target(item, ctx)))
        for assign in fn.assigns:
            if assign.value is not None and any(isinstance(t, Name) for t in assign.targets):
                out.append(self.of(assign.value, ctx))
        return out

    def _with_target(self, item: WithItem, ctx: Ctx) -> Value | None:
        """The value ``with ctx_expr as target`` binds: the context manager itself for sessions."""
        context = item.context
        if isinstance(context, Call):
            func = self.index.evaluate(context.func, ctx)
            if isinstance(func, FuncRef):
                fn = self.index.function(func)
                if fn is not None and any(
                    canonical(self.index.fqn(d, Ctx(func.module, fn.parent or ""))) in _CONTEXT_MANAGERS for d in fn.decorators
                ):
                    return self.dependency(func)
        return self.form(context, ctx)

    def _name(self, name: str, ctx: Ctx, line: int | None) -> Value | None:
        facts = self.index.modules.get(ctx.module)
        if facts is None:
            return None
        for depth, scope in enumerate(facts.visible_scopes(ctx.scope)):
            found = self._binding(facts.module, scope, name, line if not depth and scope.kind == "function" else None)
            if found is not _MISSING:
                return found
        return self._value(self.index.lookup(name, Ctx(ctx.module, "")))

    def _binding(self, module: str, scope: Scope, name: str, line: int | None) -> Value | None | _Missing:
        """The type of ``name`` bound in one scope; ``_MISSING`` if the scope does not bind it."""
        ctx = Ctx(module, scope.qualname)
        candidates: list[tuple[int, object]] = []
        if isinstance(scope, FunctionFact):
            param = scope.param(name)
            if param is not None:
                candidates.append((0, param))
        for assign in scope.assigns:
            if any(isinstance(t, Name) and t.id == name for t in assign.targets):
                candidates.append((assign.span.line, assign))
            elif isinstance(assign.value, Seq) and assign.op is None:
                # ``client, path = requests.Session(), Path(p)``: the item at the name's position.
                for target in assign.targets:
                    if isinstance(target, Seq) and len(target.items) == len(assign.value.items):
                        for position, item in enumerate(target.items):
                            if isinstance(item, Name) and item.id == name:
                                candidates.append((assign.span.line, _Unpacked(assign.value.items[position])))
        for with_item in scope.withs:
            if isinstance(with_item.target, Name) and with_item.target.id == name:
                candidates.append((with_item.span.line, with_item))
        for loop in scope.loops:
            if isinstance(loop.target, Name) and loop.target.id == name:
                candidates.append((loop.span.line, loop))
        if any(imp.bound == name for imp in scope.imports) or name in scope.defs:
            candidates.append((0, "index"))
        if not candidates:
            return _MISSING
        if line is not None:
            # A name read on the line of its own assignment is the right-hand side
            # (``session = session or factory()``): it sees the binding before it.
            before = [c for c in candidates if c[0] < line or (c[0] == line and not isinstance(c[1], Assign))]
            if before:
                candidates = [max(before, key=lambda c: c[0])]
        types: list[Value | None] = []
        for _, what in candidates:
            if isinstance(what, Param) and isinstance(scope, FunctionFact):  # only a function binds parameters
                types.append(self._param(scope, what, ctx))
            elif isinstance(what, Assign):
                if what.annotation is not None:
                    types.append(self.annotation(what.annotation, ctx))
                elif what.value is not None and what.op is None:
                    types.append(self.form(what.value, ctx))
                else:
                    types.append(None)
            elif isinstance(what, WithItem):
                types.append(self._with_target(what, ctx))
            elif isinstance(what, _Unpacked):
                types.append(self.form(what.value, ctx))
            elif what == "index":
                types.append(self._imported(module, scope, name, ctx))
            elif isinstance(what, Loop):
                # ``for user in users`` / ``async for session in get_db()``: the element type.
                types.append(self.element(self.form(what.iter, ctx)) if what.iter is not None else None)
            else:
                types.append(None)
        if all(t == types[0] for t in types[1:]):
            return types[0]
        return None

    def _imported(self, module: str, scope: Scope, name: str, ctx: Ctx) -> Value | None:
        """A name bound by an import or a def: follow project imports to the binding they name."""
        facts = self.index.modules[module]
        for imp in scope.imports:
            if imp.bound == name and imp.name not in (None, "*"):
                target = self.index.module(self.index.absolute_module(imp, facts))
                if target is not None and target.module_scope is not None and target is not facts:
                    found = self._binding(target.module, target.module_scope, imp.name, None)
                    if found is not _MISSING:
                        return found
        return self._value(self.index.lookup(name, ctx))

    def _attribute(self, expr: Attr, ctx: Ctx) -> Value | None:
        base = self.of(expr.base, ctx)
        if isinstance(base, ClassRef):
            found = self.instance_attribute(base, expr.attr)
            if found is not _MISSING:
                return found
        return self._value(self.index.evaluate(expr, ctx))

    def instance_attribute(self, klass: ClassRef, attr: str) -> Value | None | _Missing:
        """The type of ``obj.attr`` for an instance of a project class: class annotations, then ``self.attr = ...``."""
        key = (klass, attr)
        if key in self._attr_cache:
            return self._attr_cache[key]
        result: Value | None | _Missing = _MISSING
        for k in self.index.mro(klass):
            if not isinstance(k, ClassRef):
                continue
            fact = self.index.class_fact(k)
            if fact is None:
                continue
            result = self._class_attribute(k, fact, attr)
            if result is not _MISSING:
                break
        self._attr_cache[key] = result
        return result

    def _class_attribute(self, klass: ClassRef, fact: ClassFact, attr: str) -> Value | None | _Missing:
        ctx = Ctx(klass.module, fact.qualname)
        for assign in fact.assigns:
            if any(isinstance(t, Name) and t.id == attr for t in assign.targets):
                if assign.annotation is not None:
                    return self.annotation(assign.annotation, Ctx(klass.module, fact.parent or ""))
                return self.form(assign.value, ctx) if assign.value is not None else None
        facts = self.index.modules[klass.module]
        getter = facts.functions.get(fact.defs.get(attr, ""))
        if (
            getter is not None
            and getter.returns_annotation is not None
            and any((d.dotted() or "").rsplit(".", 1)[-1] in ("property", "cached_property") for d in getter.decorators)
        ):
            return self.annotation(getter.returns_annotation, ctx)
        types: list[Value | None] = []
        for qualname in fact.defs.values():
            fn = facts.functions.get(qualname)
            if fn is None or not fn.params or _is_static(fn):
                continue
            me = fn.params[0].name
            for assign in fn.assigns:
                for target in assign.targets:
                    if (
                        isinstance(target, Attr)
                        and target.attr == attr
                        and isinstance(target.base, Name)
                        and target.base.id == me
                    ):
                        fctx = Ctx(klass.module, fn.qualname)
                        if assign.annotation is not None:
                            types.append(self.annotation(assign.annotation, fctx))
                        elif assign.value is not None and assign.op is None:
                            types.append(self.form(assign.value, fctx))
        if not types:
            return _MISSING
        if all(t == types[0] for t in types[1:]):
            return types[0]
        return None

    def _call(self, call: Call, ctx: Ctx, awaited: bool = False) -> Value | None:
        func = self.index.evaluate(call.func, ctx)
        if isinstance(func, Instance):
            return self._factory(func)
        if isinstance(func, (ClassRef, Symbol)):
            fqn = canonical_of(func)
            if fqn in RETURNS:
                return Symbol(RETURNS[fqn])
            return func
        if isinstance(func, FuncRef):
            return self._returns(func)
        if isinstance(func, ParamValue):
            return None
        if isinstance(call.func, Attr):
            base = self.of(call.func.base, ctx)
            if isinstance(base, ClassRef):
                member = self.index.class_member(base, call.func.attr)
                if isinstance(member, FuncRef):
                    return self._returns(member)
            if base is not None:
                known = METHOD_RETURNS.get((canonical_of(base) or "", call.func.attr))
                if known is not None:
                    return Symbol(known)
        # Calling a value read from an attribute, e.g. ``self.session_factory()``.
        if isinstance(call.func, (Name, Attr)):
            target = self.of(call.func, ctx)
            known_factory = canonical_of(target) if target is not None else None
            if known_factory is not None and known_factory in FACTORIES:
                return Symbol(FACTORIES[known_factory][1])
        return None

    def _returns(self, ref: FuncRef) -> Value | None:
        fn = self.index.function(ref)
        if fn is None:
            return None
        if fn.returns_annotation is not None:
            return self.annotation(fn.returns_annotation, Ctx(ref.module, fn.parent or ""))
        if fn.is_generator:
            return None
        return self._value(self.index.returned(ref))

    def _factory(self, instance: Instance) -> Value | None:
        fqn = canonical_of(instance.type)
        entry = FACTORIES.get(fqn or "")
        if entry is None:
            return None
        keyword, default = entry
        if keyword is not None:
            given = instance.call.kw(keyword)
            if given is not None:
                value = self.index.evaluate(given, instance.ctx)
                return value if isinstance(value, (ClassRef, Symbol)) else None
        if fqn == "sqlalchemy.orm.scoped_session":
            inner = instance.call.arg(0, "session_factory")
            if inner is not None:
                made = self.index.evaluate(inner, instance.ctx)
                if isinstance(made, Instance):
                    return self._factory(made)
        return Symbol(default)


class _Missing(enum.Enum):
    """The answer of a scope that does not bind a name (None is a binding of unknown type)."""

    MISSING = "<missing>"


_MISSING: Final = _Missing.MISSING


def _origin(value: Value | None) -> Value | None:
    if isinstance(value, TypeForm):
        return value.origin if isinstance(value.origin, (ClassRef, Symbol)) else None
    if isinstance(value, (ClassRef, Symbol)):
        return value
    return None


def _is_none(value: Value) -> bool:
    from archlint.values import Const

    return isinstance(value, Const) and value.value is None or canonical_of(value) == "builtins.None"


def _is_static(fn: FunctionFact) -> bool:
    return any(isinstance(d, Name) and d.id == "staticmethod" for d in fn.decorators)


def iter_exprs(expr: Expr | None) -> Iterator[Expr]:
    """``expr`` and every sub-expression, depth first."""
    if expr is None:
        return
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Attr):
            stack.append(node.base)
        elif isinstance(node, Call):
            stack.append(node.func)
            stack.extend(node.args)
            stack.extend(v for _, v in node.kwargs)
        elif isinstance(node, Subscript):
            stack.append(node.base)
            stack.extend(node.items)
        elif isinstance(node, BinOp):
            stack.extend((node.left, node.right))
        elif isinstance(node, (Await, Starred)):
            stack.append(node.value)
        elif isinstance(node, (Seq, FString)):
            stack.extend(node.parts if isinstance(node, FString) else node.items)
        elif isinstance(node, DictExpr):
            stack.extend(k for k, _ in node.items if k is not None)
            stack.extend(v for _, v in node.items)
        elif isinstance(node, UnaryOp):
            stack.append(node.operand)
        elif isinstance(node, Other):
            stack.extend(node.children)


def scope_exprs(scope: Scope) -> Iterator[Expr]:
    """The top-level expressions written directly in a scope (calls, assignments, returns, ...)."""
    for site in scope.calls:
        if site.context not in ("arg", "receiver"):
            yield site.call
    for assign in scope.assigns:
        if assign.value is not None:
            yield assign.value
    for item in scope.withs:
        yield item.context
    for value in scope.returns:
        if value is not None:
            yield value
    for loop in scope.loops:
        if loop.iter is not None:
            yield loop.iter
    yield from scope.expr_stmts


def lambda_spans(scope: Scope) -> list[Span]:
    """Spans of the lambdas written in a scope: calls inside them run later, not in the scope."""
    return [
        node.span for top in scope_exprs(scope) for node in iter_exprs(top) if isinstance(node, Other) and node.kind == "Lambda"
    ]


_CALLS: weakref.WeakKeyDictionary[ProjectIndex, dict[str, list[tuple[FileFacts, CallSite, Ctx]]]] = weakref.WeakKeyDictionary()


def calls_by_name(index: ProjectIndex) -> dict[str, list[tuple[FileFacts, CallSite, Ctx]]]:
    """Every call site by its callee's canonical dotted name (``canonical`` applied, unlike ``index.calls_to``)."""
    found = _CALLS.get(index)
    if found is None:
        found = defaultdict(list)
        for facts, site, ctx in index.iter_calls():
            if isinstance(site.call.func, (Name, Attr)):
                fqn = canonical(index.fqn(site.call.func, ctx))
                if fqn:
                    found[fqn].append((facts, site, ctx))
        _CALLS[index] = found
    return found


def canonical_calls(index: ProjectIndex, fqns: Iterable[str]) -> list[tuple[FileFacts, CallSite, Ctx]]:
    table = calls_by_name(index)
    return [hit for fqn in dict.fromkeys(fqns) for hit in table.get(fqn, ())]


_IMPORTED: weakref.WeakKeyDictionary[ProjectIndex, dict[str, tuple[FileFacts, frozenset[str]]]] = weakref.WeakKeyDictionary()


def imported_names(index: ProjectIndex, facts: FileFacts) -> frozenset[str]:
    """The canonical dotted names a file imports (``from a import b`` gives ``a.b``, ``import a.b`` gives ``a.b``).

    Worked out once per file and index: rules ask it of the same file once per scope.
    """
    known = _IMPORTED.get(index)
    if known is None:
        known = _IMPORTED[index] = {}
    found = known.get(facts.path)
    if found is not None and found[0] is facts:
        return found[1]
    out: set[str] = set()
    for imp in facts.imports:
        module = index.absolute_module(imp, facts)
        full = module if imp.name is None else f"{module}.{imp.name}"
        out.add(canonical(full) or full)
        out.add(module)
    names = frozenset(out)
    known[facts.path] = (facts, names)
    return names


__all__ = [
    "TypeResolver",
    "canonical",
    "canonical_of",
    "canonical_calls",
    "calls_by_name",
    "imported_names",
    "iter_exprs",
    "scope_exprs",
    "lambda_spans",
    "FACTORIES",
    "RETURNS",
    "CONTAINERS",
    "Unknown",
]
