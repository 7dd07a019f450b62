"""S22 — static proxies of the response-time standard: bounded list endpoints, no lazy loads in loops (N+1)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from archlint.analysis.orm import Model, Models
from archlint.analysis.routes import Route
from archlint.analysis.static_types import TypeResolver, canonical_of, iter_exprs
from archlint.checks.base import Project, Rule
from archlint.collect.facts import Attr, Call, Expr, FunctionFact, Lit, Loop, Name, Param, Starred
from archlint.index import ProjectIndex
from archlint.model import Finding, Severity, Span
from archlint.names import ANNOTATED, BASE_MODEL, DEPENDS, QUERY_PARAMS, canonical
from archlint.pack import option
from archlint.values import ClassRef, Ctx, FuncRef, Instance, Symbol, TypeForm, Value


@dataclass(frozen=True)
class S22Options:
    list_response_types: tuple[str, ...] = option(
        "Dotted names of generic types that make a response a list (`list[Item]`, `Sequence[Item]`)."
    )
    limit_parameters: tuple[str, ...] = option("Names of the page-size parameter of a list endpoint.")
    bound_keywords: tuple[str, ...] = option("Keywords of `Query`/`Field`/`conint` that give an upper bound.")
    bounding_types: tuple[str, ...] = option(
        "Dotted names of annotation markers that bound a value (`annotated_types.Le`, `typing.Literal`)."
    )
    clamp_functions: tuple[str, ...] = option("Dotted names of calls that clamp the limit in the handler (`min`).")
    query_functions: tuple[str, ...] = option("Dotted names of the query constructors (`select`).")
    lazy_strategies: tuple[str, ...] = option("Loader strategies that load on attribute access (default `select`).")
    loader_options: tuple[str, ...] = option("Dotted names of query loader options (`selectinload`, ...).")


class _S22Rule(Rule[S22Options]):
    standard = "S22"
    Options = S22Options
    tags = ("performance",)


class UnboundedListEndpoint(_S22Rule):
    """Reports a GET endpoint that returns a list without a bounded page-size parameter (`limit: int = Query(le=100)`).

    A response is a list when its `response_model` (or, without one, the
    return annotation) is `list[...]`/`Sequence[...]`. The limit (a pack list
    of names: `limit`, `page_size`, `per_page`, ...) may be a parameter of the
    handler or of a dependency (a function or a class, fields of a query
    model included); it is bounded by `le`/`lt` in `Query`/`Field`/`conint`,
    an `Annotated` alias, `annotated_types.Le`, a `Literal`, or a `min(...)`
    clamp in the handler. Reported at the route when there is no limit, at
    the parameter when the limit has no upper bound.

    ## Why is this bad?
    An unbounded list grows with the table: response time, memory and payload
    size grow with it until the p95 budget (200 ms) is gone. A bounded page
    size keeps every response small whatever the data.
    """

    id = "AL340"
    name = "UnboundedListEndpoint"
    severity = Severity.WARNING
    precision = "medium"
    INVALID = [
        """
        from fastapi import APIRouter

        router = APIRouter(prefix="/api/v1/items")


        @router.get("", response_model=list[str])  # expect: AL340
        async def list_items(skip: int = 0):
            return []
        """
    ]
    VALID = [
        """
        from typing import Annotated

        from fastapi import APIRouter, Query

        router = APIRouter(prefix="/api/v1/items")


        @router.get("", response_model=list[str])
        async def list_items(skip: int = 0, limit: Annotated[int, Query(ge=1, le=100)] = 20):
            return []
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        table = project.routes
        reported: set[tuple[str, Span]] = set()
        for route in table.routes:
            if "GET" not in route.methods:
                continue
            handler = table.handler(index, route)
            if handler is None or route.handler is None or not self._returns_list(project.types, route, handler):
                continue
            found = self._limit(index, handler, Ctx(route.handler.module, handler.qualname), 0)
            if found is None:
                key = (route.file, route.call.span)
                if key not in reported:
                    reported.add(key)
                    names = "/".join(f"`{n}`" for n in self.options.limit_parameters[:3])
                    yield self.finding(
                        route.file,
                        route.call.span,
                        f"This GET endpoint returns a list with no page-size parameter: add a bounded {names} "
                        "(`limit: int = Query(20, ge=1, le=100)`).",
                    )
                continue
            bounded, where, param = found
            if bounded is False and where is not None and param is not None:
                key = (where, param.span)
                if key in reported:
                    continue
                reported.add(key)
                yield self.finding(
                    where,
                    param.span,
                    f"The page-size parameter `{param.name}` of a list endpoint has no upper bound: "
                    f"declare it with `le=` (`{param.name}: int = Query(20, ge=1, le=100)`).",
                )

    # ------------------------------------------------------------ response
    def _returns_list(self, types: TypeResolver, route: Route, handler: FunctionFact) -> bool:
        if handler.is_generator:
            return False  # a generator handler streams its items (bytes chunks, JSON lines, events): not a list
        model = route.kw("response_model")
        if model is not None and not (isinstance(model, Lit) and model.value is None):
            form = types.annotation(model, route.ctx)
        elif handler.returns_annotation is not None and route.handler is not None:
            form = types.annotation(handler.returns_annotation, Ctx(route.handler.module, handler.parent or ""))
        else:
            return False
        return isinstance(form, TypeForm) and canonical_of(form.origin) in self.options.list_response_types

    # --------------------------------------------------------------- limit
    def _limit(
        self, index: ProjectIndex, fn: FunctionFact, ctx: Ctx, depth: int
    ) -> tuple[bool | None, str | None, Param | None] | None:
        """(bounded?, file, parameter) of the first limit parameter found, or None when there is none.

        ``bounded`` is None when the parameter comes from code archlint cannot read.
        """
        if depth > 3:
            return None
        path = index.modules[ctx.module].path
        outer = Ctx(ctx.module, fn.parent or "")
        names = set(self.options.limit_parameters)
        for param in fn.params:
            if param.name in names:
                bounded = self._param_bounded(index, param, outer) or self._clamped(index, fn, ctx, param.name)
                return bounded, path, param
        for param in fn.params:
            dep = self._dependency(index, param, outer)
            if dep is None:
                continue
            if isinstance(dep, FuncRef):
                sub = index.function(dep)
                if sub is not None:
                    found = self._limit(index, sub, Ctx(dep.module, sub.qualname), depth + 1)
                    if found is not None:
                        return found
            elif isinstance(dep, ClassRef):
                found = self._class_limit(index, dep, depth)
                if found is not None:
                    return found
            elif isinstance(dep, Symbol):
                return (None, None, None)  # an external dependency: archlint cannot read it
        return None

    def _class_limit(self, index: ProjectIndex, ref: ClassRef, depth: int) -> tuple[bool | None, str | None, Param | None] | None:
        names = set(self.options.limit_parameters)
        for klass in index.mro(ref):
            if isinstance(klass, Symbol) and canonical_of(klass) not in BASE_MODEL | {"builtins.object"}:
                if klass.fqn.split(".")[0] not in ("pydantic", "builtins", "typing", "sqlmodel"):
                    return (None, None, None)
            if not isinstance(klass, ClassRef):
                continue
            fact = index.class_fact(klass)
            if fact is None:
                continue
            ctx = Ctx(klass.module, fact.qualname)
            path = index.modules[klass.module].path
            for assign in fact.assigns:
                target = assign.targets[0] if len(assign.targets) == 1 else None
                if isinstance(target, Name) and target.id in names:
                    param = Param(target.id, "normal", assign.annotation, assign.value, target.span)
                    return self._param_bounded(index, param, ctx), path, param
            init = fact.defs.get("__init__")
            fn = index.modules[klass.module].functions.get(init) if init else None
            if fn is not None:
                found = self._limit(index, fn, Ctx(klass.module, fn.qualname), depth + 1)
                if found is not None:
                    return found
        return None

    def _dependency(self, index: ProjectIndex, param: Param, ctx: Ctx) -> Value | None:
        """What a parameter injects: ``Depends(dep)``, ``Annotated[X, Depends(...)]`` or a query model."""
        candidates: list[tuple[Expr | None, Expr | None]] = []
        default = param.default
        if isinstance(default, Call) and canonical(index.fqn(default.func, ctx)) in DEPENDS:
            candidates.append((default.arg(0, "dependency"), param.annotation))
        value = index.evaluate(param.annotation, ctx) if param.annotation is not None else None
        if isinstance(value, TypeForm) and canonical_of(value.origin) in ANNOTATED and value.args:
            for marker in value.args[1:]:
                if isinstance(marker, Instance) and canonical_of(marker.type) in DEPENDS:
                    dep = marker.call.arg(0, "dependency")
                    if dep is not None:
                        return index.evaluate(dep, marker.ctx)
                    return value.args[0] if isinstance(value.args[0], (ClassRef, Symbol)) else None
                if isinstance(marker, Instance) and canonical(marker.type_fqn) in QUERY_PARAMS:
                    return value.args[0] if isinstance(value.args[0], ClassRef) else None
        for dep, annotation in candidates:
            if dep is not None:
                return index.evaluate(dep, ctx)
            if annotation is not None:
                resolved = index.evaluate(annotation, ctx)
                return resolved if isinstance(resolved, (ClassRef, Symbol)) else None
        return None

    def _param_bounded(self, index: ProjectIndex, param: Param, ctx: Ctx) -> bool:
        if isinstance(param.default, Call) and self._call_bounds(index, param.default, ctx):
            return True
        if param.annotation is not None:
            return self._value_bounds(index, index.evaluate(param.annotation, ctx), 0)
        return False

    def _call_bounds(self, index: ProjectIndex, call: Call, ctx: Ctx) -> bool:
        if any(call.kw(k) is not None for k in self.options.bound_keywords):
            return True
        return canonical(index.fqn(call.func, ctx)) in self.options.bounding_types

    def _value_bounds(self, index: ProjectIndex, value: Value, depth: int) -> bool:
        if depth > 6:
            return False
        if isinstance(value, TypeForm):
            if canonical_of(value.origin) in self.options.bounding_types:
                return True
            return any(self._value_bounds(index, v, depth + 1) for v in value.args)
        if isinstance(value, Instance):
            return self._call_bounds(index, value.call, value.ctx)
        return False

    def _clamped(self, index: ProjectIndex, fn: FunctionFact, ctx: Ctx, name: str) -> bool:
        clamps = set(self.options.clamp_functions)
        for site in fn.calls:
            call = site.call
            if canonical(index.fqn(call.func, ctx)) in clamps and any(isinstance(a, Name) and a.id == name for a in call.args):
                return True
        return False


class LazyLoadInLoop(_S22Rule):
    """Reports, in async code, a lazy relationship read on each item of a loop over query results (N+1).

    The loop iterates the result of a `select(Model)` (directly, through local
    variables such as `result.scalars().all()`, or through a project function
    annotated `-> list[Model]`), and the loop body reads a relationship of
    `Model` that loads on access (`lazy="select"`, the default) and that the
    query does not load with a loader option (`selectinload(Model.rel)`).

    ## Why is this bad?
    Each iteration issues one more query: 100 rows, 101 round trips, and the
    p95 budget is gone. Under `AsyncSession` the implicit load cannot even run
    and raises `MissingGreenlet`. Load the relationship with the query
    (`.options(selectinload(Model.rel))`) or give it `lazy="selectin"`.
    """

    id = "AL341"
    name = "LazyLoadInLoop"
    severity = Severity.WARNING
    precision = "medium"
    INVALID = [
        """
        from sqlalchemy import ForeignKey, select
        from sqlalchemy.ext.asyncio import AsyncSession
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


        class Base(DeclarativeBase):
            pass


        class Author(Base):
            __tablename__ = "authors"

            id: Mapped[int] = mapped_column(primary_key=True)
            books: Mapped[list["Book"]] = relationship(back_populates="author")


        class Book(Base):
            __tablename__ = "books"

            id: Mapped[int] = mapped_column(primary_key=True)
            author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), index=True)
            author: Mapped[Author] = relationship(back_populates="books")


        async def book_counts(db: AsyncSession) -> dict[int, int]:
            authors = (await db.scalars(select(Author))).all()
            return {a.id: len(a.books) for a in authors}  # expect: AL341
        """
    ]
    VALID = [
        """
        from sqlalchemy import ForeignKey, select
        from sqlalchemy.ext.asyncio import AsyncSession
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload


        class Base(DeclarativeBase):
            pass


        class Author(Base):
            __tablename__ = "authors"

            id: Mapped[int] = mapped_column(primary_key=True)
            books: Mapped[list["Book"]] = relationship(back_populates="author")


        class Book(Base):
            __tablename__ = "books"

            id: Mapped[int] = mapped_column(primary_key=True)
            author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), index=True)
            author: Mapped[Author] = relationship(back_populates="books")


        async def book_counts(db: AsyncSession) -> dict[int, int]:
            authors = (await db.scalars(select(Author).options(selectinload(Author.books)))).all()
            return {a.id: len(a.books) for a in authors}
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        table = project.orm
        lazy = set(self.options.lazy_strategies)
        for facts in index.modules.values():
            for fn in facts.functions.values():
                if not fn.is_async or not fn.attr_reads:
                    continue
                ctx = Ctx(facts.module, fn.qualname)
                loops = {loop.id: loop for loop in fn.loops}
                sources: dict[int, tuple[Model, set[str] | None] | None] = {}
                seen: set[tuple[int, str]] = set()
                for read in fn.attr_reads:
                    loop = loops.get(read.loop)
                    if loop is None or (read.loop, read.attr) in seen:
                        continue
                    if read.loop not in sources:
                        sources[read.loop] = self._source(index, project.types, fn, ctx, loop, table)
                    source = sources[read.loop]
                    if source is None:
                        continue
                    model, loaded = source
                    rel = model.relationships.get(read.attr)
                    if rel is None or rel.opaque or rel.lazy is None or (rel.lazy or "select") not in lazy:
                        continue
                    if loaded is None or read.attr in loaded or "*" in loaded:
                        continue
                    seen.add((read.loop, read.attr))
                    yield self.finding(
                        facts.path,
                        read.span,
                        f"`{read.name}.{read.attr}` lazily loads `{model.fact.name}.{read.attr}` once per item of this "
                        f"loop (N+1 queries; `MissingGreenlet` under AsyncSession): load it with the query "
                        f'(`.options(selectinload({model.fact.name}.{read.attr}))`) or set `lazy="selectin"`.',
                    )

    def _source(
        self, index: ProjectIndex, types: TypeResolver, fn: FunctionFact, ctx: Ctx, loop: Loop, table: Models
    ) -> tuple[Model, set[str] | None] | None:
        """The model a loop iterates over and the relationships its query loads (None: unknown options)."""
        if loop.iter is None:
            return None
        exprs = self._gather(fn, loop.iter, loop.span.line)
        query_fns = set(self.options.query_functions)
        model: Model | None = None
        loaded: set[str] | None = set()
        for expr in exprs:
            for node in iter_exprs(expr):
                if not isinstance(node, Call):
                    continue
                fqn = canonical(index.fqn(node.func, ctx)) if isinstance(node.func, (Name, Attr)) else None
                if fqn in query_fns and len(node.args) == 1:
                    found = table.get(index.evaluate(node.args[0], ctx))
                    if found is not None and found.mapped:
                        model = found
                elif isinstance(node.func, Attr) and node.func.attr == "options":
                    names = self._loaded(index, node, ctx)
                    if names is None or loaded is None:
                        loaded = None
                    else:
                        loaded |= names
                elif model is None and isinstance(node.func, (Name, Attr)):
                    callee = index.evaluate(node.func, ctx)
                    if isinstance(callee, FuncRef):
                        returned = self._returned_model(index, types, callee, table)
                        if returned is not None:
                            model, inner = returned
                            loaded = None if inner is None or loaded is None else loaded | inner
        if model is None:
            return None
        return model, loaded

    def _gather(self, fn: FunctionFact, expr: Expr, line: int, depth: int = 0) -> list[Expr]:
        """``expr`` and the values of the local names it uses, assigned before ``line``."""
        out = [expr]
        if depth > 4:
            return out
        for node in iter_exprs(expr):
            if not isinstance(node, Name):
                continue
            for assign in fn.assigns:
                if assign.value is None or assign.span.line > line:
                    continue
                if any(isinstance(t, Name) and t.id == node.id for t in assign.targets):
                    out.extend(self._gather(fn, assign.value, assign.span.line, depth + 1))
        return out

    def _loaded(self, index: ProjectIndex, options: Call, ctx: Ctx) -> set[str] | None:
        """Relationship names an ``.options(...)`` call loads; None when an option cannot be read."""
        fqns = set(self.options.loader_options)
        short = {f.rsplit(".", 1)[-1] for f in fqns}
        out: set[str] = set()
        for arg in options.args:
            if isinstance(arg, Starred) or not isinstance(arg, Call):
                return None
            for node in iter_exprs(arg):
                if not isinstance(node, Call):
                    continue
                fqn = canonical(index.fqn(node.func, ctx)) if isinstance(node.func, (Name, Attr)) else None
                if fqn in fqns or (isinstance(node.func, Attr) and node.func.attr in short):
                    for target in node.args:
                        if isinstance(target, Attr):
                            out.add(target.attr)
                        elif isinstance(target, Lit) and isinstance(target.value, str):
                            out.add(target.value.rsplit(".", 1)[-1])
        return out

    def _returned_model(
        self, index: ProjectIndex, types: TypeResolver, ref: FuncRef, table: Models
    ) -> tuple[Model, set[str] | None] | None:
        fn = index.function(ref)
        if fn is None or fn.returns_annotation is None:
            return None
        form = types.annotation(fn.returns_annotation, Ctx(ref.module, fn.parent or ""))
        element = types.element(form)
        model = table.get(element)
        if model is None or not model.mapped:
            return None
        ctx = Ctx(ref.module, fn.qualname)
        loaded: set[str] | None = set()
        for site in fn.calls:
            call = site.call
            if isinstance(call.func, Attr) and call.func.attr == "options":
                names = self._loaded(index, call, ctx)
                loaded = None if names is None or loaded is None else loaded | names
        return model, loaded
