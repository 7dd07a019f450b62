"""S10 — SQLAlchemy 2.0 async: async engine and sessions, async drivers, select(), awaited calls, no blocking I/O."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from archlint.analysis.orm import Models
from archlint.analysis.static_types import (
    TypeResolver,
    canonical_calls,
    canonical_of,
    imported_names,
    iter_exprs,
    lambda_spans,
    scope_exprs,
)
from archlint.checks.base import Project, Rule
from archlint.collect.facts import (
    Attr,
    Await,
    Call,
    CallSite,
    Expr,
    FileFacts,
    FString,
    FunctionFact,
    Lit,
    Name,
    Other,
    Scope,
    Subscript,
    last_name,
)
from archlint.globs import fnmatch_any
from archlint.index import ProjectIndex
from archlint.model import Finding, Severity, Span
from archlint.names import ENV_GETTERS, FIELD_VALIDATORS, MODEL_VALIDATORS, canonical
from archlint.pack import option
from archlint.values import ClassRef, Const, Ctx, FuncRef, Instance, Symbol, Unknown, Value

_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_.+-]*)://")


@dataclass(frozen=True)
class S10Options:
    sync_engine_functions: tuple[str, ...] = option(
        "Dotted names of functions that create a synchronous engine (reported at the call)."
    )
    sync_session_factories: tuple[str, ...] = option(
        "Dotted names of synchronous session classes and session makers (reported at the call)."
    )
    sync_session_types: tuple[str, ...] = option(
        "Dotted names of synchronous session classes (reported where an annotation names them)."
    )
    async_session_types: tuple[str, ...] = option("Dotted names of async session classes.")
    async_engine_functions: tuple[str, ...] = option("Dotted names of functions that create an async engine.")
    async_drivers: tuple[str, ...] = option("Database drivers (the part after `+` in a URL's scheme) an async engine may use.")
    awaited_methods: tuple[str, ...] = option("AsyncSession methods that return a coroutine and must be awaited.")
    legacy_query_methods: tuple[str, ...] = option("Session methods of the legacy Query API (use select()).")
    blocking_calls: tuple[str, ...] = option(
        "Dotted names (fnmatch globs) of blocking calls not allowed directly inside `async def`."
    )
    fluent_types: tuple[str, ...] = option(
        "Classes whose methods return an instance of the class again: `Path(p).absolute().exists()` is a call "
        "of `pathlib.Path.exists`."
    )
    spawn_wait_functions: tuple[str, ...] = option(
        "Functions that block only when their first argument is `os.P_WAIT` (`os.spawnl`, ...)."
    )
    sync_session_io_methods: tuple[str, ...] = option(
        "Synchronous Session methods that do database I/O (blocking inside `async def`)."
    )
    coroutine_consumers: tuple[str, ...] = option(
        "Dotted names of functions that take a coroutine and await it for you (asyncio.gather, ...)."
    )
    coroutine_consumer_methods: tuple[str, ...] = option(
        "Method names that take a coroutine and schedule it (TaskGroup.create_task, ...)."
    )
    sync_callback_decorators: tuple[str, ...] = option(
        "Decorators of functions SQLAlchemy calls with a synchronous Session (event listeners)."
    )
    sync_callback_registrars: tuple[str, ...] = option(
        "Dotted names of functions that register a SQLAlchemy event listener (`event.listen(target, name, fn)`): "
        "`fn` is called with a sync Session, so its annotations are not sync sessions in use."
    )
    migration_packages: tuple[str, ...] = option(
        "Packages whose import marks a migration environment (Alembic's env.py is synchronous by design)."
    )
    blocking_helper_depth: int = option(
        "How many calls deep AL306 follows synchronous project functions called from `async def` to a blocking "
        "call (0: only calls written in the async function itself)."
    )


def _is_migration(index: ProjectIndex, facts: FileFacts, packages: tuple[str, ...]) -> bool:
    names = imported_names(index, facts)
    return any(n == p or n.startswith(p + ".") for n in names for p in packages)


class _S10Rule(Rule[S10Options]):
    standard = "S10"
    Options = S10Options
    tags = ("database", "async")

    def _migration(self, index: ProjectIndex, ctx: Ctx) -> bool:
        facts = index.modules.get(ctx.module)
        return facts is not None and _is_migration(index, facts, self.options.migration_packages)


class SyncEngine(_S10Rule):
    """Reports a synchronous SQLAlchemy/SQLModel engine (`create_engine(...)`) created in application code.

    The finding sits at the call; an import alone is not reported. Alembic's
    migration environment (a module importing `alembic`) is synchronous by
    design and left alone; tests, migrations and scripts are outside the
    analysis by the pack's excludes.

    ## Why is this bad?
    A synchronous engine blocks the event loop on every query: one slow query
    stalls every request the worker is serving. FastAPI backends use
    `create_async_engine` with an async driver (`postgresql+asyncpg://`,
    `sqlite+aiosqlite://`).
    """

    id = "AL301"
    name = "SyncEngine"
    severity = Severity.ERROR
    INVALID = [
        """
        from sqlmodel import create_engine

        engine = create_engine("postgresql://app@db/app")  # expect: AL301
        """
    ]
    VALID = [
        """
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine("postgresql+asyncpg://app@db/app")
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        for facts, site, ctx in canonical_calls(index, self.options.sync_engine_functions):
            if site.context == "decorator" or self._migration(index, ctx):
                continue
            name = canonical(index.fqn(site.call.func, ctx)) or "create_engine"
            yield self.finding(
                facts.path,
                site.call.span,
                f"`{name.rsplit('.', 1)[1]}` creates a synchronous engine: use `create_async_engine` with an async driver.",
            )


class SyncSession(_S10Rule):
    """Reports synchronous sessions: a `Session(...)`/`sessionmaker(...)` call, or an annotation naming `Session`.

    Reported where the code uses them: each call that makes a sync session or
    session factory, and each annotation (parameter, return, variable, or an
    `Annotated[Session, Depends(...)]` alias) that names a synchronous
    `Session` — not the import, and not every route that merely uses an alias.
    `sessionmaker(class_=AsyncSession)` makes async sessions and is not
    reported; neither are functions SQLAlchemy itself calls with a sync
    session (`run_sync` callbacks, `@event.listens_for` listeners), nor
    Alembic's migration environment.

    ## Why is this bad?
    Synchronous sessions do blocking database I/O. In an async FastAPI app
    they stall the event loop; the standard is `AsyncSession` from
    `async_sessionmaker`, injected with `Depends`.
    """

    id = "AL302"
    name = "SyncSession"
    severity = Severity.ERROR
    INVALID = [
        """
        from typing import Annotated

        from fastapi import Depends
        from sqlalchemy.orm import Session, sessionmaker

        SessionLocal = sessionmaker(autoflush=False)  # expect: AL302


        def get_db():
            db = SessionLocal()
            try:
                yield db
            finally:
                db.close()


        DbDep = Annotated[Session, Depends(get_db)]  # expect: AL302
        """
    ]
    VALID = [
        """
        from typing import Annotated

        from fastapi import Depends
        from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

        engine = create_async_engine("sqlite+aiosqlite:///./app.db")
        SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


        async def get_db():
            async with SessionLocal() as session:
                yield session


        DbDep = Annotated[AsyncSession, Depends(get_db)]
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        types = project.types
        async_types = frozenset(self.options.async_session_types)
        seen: set[tuple[str, int]] = set()
        for facts, site, ctx in canonical_calls(index, self.options.sync_session_factories):
            if site.context == "decorator" or self._migration(index, ctx):
                continue
            call = site.call
            made = call.kw("class_")
            if made is not None and types.is_subclass(_class_value(index, made, ctx), async_types):
                continue
            if (facts.path, call.span.line) in seen:
                continue
            seen.add((facts.path, call.span.line))
            name = (canonical(index.fqn(call.func, ctx)) or "Session").rsplit(".", 1)[1]
            yield self.finding(
                facts.path,
                call.span,
                f"`{name}(...)` makes synchronous sessions: use `async_sessionmaker` and `AsyncSession`.",
            )
        exempt = self._sync_callbacks(index)
        wanted = frozenset(self.options.sync_session_types)
        spelled = index.spellings(
            [
                *(fqn.rpartition(".")[2] for fqn in wanted),
                *(
                    qualname.rpartition(".")[2]
                    for facts in index.modules.values()
                    for qualname in facts.classes
                    if types.is_subclass(ClassRef(facts.module, qualname), wanted)
                ),
            ]
        )
        for facts, scope, ctx in index.iter_scopes():
            if _is_migration(index, facts, self.options.migration_packages):
                continue
            for expr, where in self._annotations(scope, ctx, exempt):
                hit = self._names_type(index, types, expr, where, wanted, spelled)
                if hit is None or (facts.path, hit.span.line) in seen:
                    continue
                seen.add((facts.path, hit.span.line))
                yield self.finding(
                    facts.path,
                    hit.span,
                    f"This annotation names the synchronous `{hit.dotted()}`: type sessions as `AsyncSession`.",
                )

    def _annotations(self, scope: Scope, ctx: Ctx, exempt: set[FuncRef]) -> Iterator[tuple[Expr, Ctx]]:
        outer = Ctx(ctx.module, scope.parent or "") if isinstance(scope, FunctionFact) else ctx
        if isinstance(scope, FunctionFact):
            if FuncRef(ctx.module, scope.qualname) not in exempt:
                for param in scope.params:
                    if param.annotation is not None:
                        yield param.annotation, outer
                if scope.returns_annotation is not None:
                    yield scope.returns_annotation, outer
        for assign in scope.assigns:
            if assign.annotation is not None:
                yield assign.annotation, ctx
            elif isinstance(assign.value, Subscript):  # a type alias: X = Annotated[Session, Depends(...)]
                yield assign.value, ctx

    def _names_type(
        self, index: ProjectIndex, types: TypeResolver, expr: Expr, ctx: Ctx, wanted: frozenset[str], spelled: frozenset[str]
    ) -> Expr | None:
        """The first name in ``expr`` of a class in ``wanted`` (``spelled``: what such a name can end in)."""
        for node in iter_exprs(expr):
            if last_name(node) not in spelled:
                continue
            if types.is_subclass(_class_value(index, node, ctx), wanted):
                value = index.evaluate(node, ctx)
                if isinstance(value, (Symbol, ClassRef)):
                    return node
        return None

    def _sync_callbacks(self, index: ProjectIndex) -> set[FuncRef]:
        """Functions SQLAlchemy calls with a sync Session: ``run_sync(fn)`` targets and event listeners."""
        out: set[FuncRef] = set()
        for _facts, site, ctx in index.iter_calls():
            call = site.call
            func = call.func
            if isinstance(func, Attr) and func.attr == "run_sync":
                # run_sync(fn) and run_sync(lambda s: fn(s, ...)).
                for arg in call.args:
                    for node in iter_exprs(arg):
                        target = node.func if isinstance(node, Call) else node if node is arg else None
                        value = index.evaluate(target, ctx) if target is not None else None
                        if isinstance(value, FuncRef):
                            out.add(value)
            elif any(isinstance(a, Attr) and a.attr in ("sync_session", "sync_connection") for a in call.args):
                # fn(session.sync_session): SQLAlchemy's sync facade of an async session.
                value = index.evaluate(func, ctx)
                if isinstance(value, FuncRef):
                    out.add(value)
        for _facts, site, ctx in index.calls_to(*self.options.sync_callback_registrars):
            # event.listen(Session, "after_commit", fn): SQLAlchemy calls fn with a sync Session.
            value = index.evaluate(site.call.arg(2, "fn"), ctx)
            if isinstance(value, FuncRef):
                out.add(value)
        decorators = frozenset(self.options.sync_callback_decorators)
        for facts in index.modules.values():
            for fn in facts.functions.values():
                outer = Ctx(facts.module, fn.parent or "")
                for deco in fn.decorators:
                    target = deco.func if isinstance(deco, Call) else deco
                    if canonical(index.fqn(target, outer)) in decorators:
                        out.add(FuncRef(facts.module, fn.qualname))
        return out


def _class_value(index: ProjectIndex, expr: Expr, ctx: Ctx) -> ClassRef | Symbol | None:
    value = index.evaluate(expr, ctx)
    return value if isinstance(value, (ClassRef, Symbol)) else None


class AsyncEngineSyncDriver(_S10Rule):
    """Reports `create_async_engine(...)` on a database URL whose driver is synchronous.

    The URL is resolved statically: a literal, a constant, a settings field's
    default, an `os.getenv` default, the literal head of an f-string, a
    `.replace(...)` of those, or `URL.create(drivername=...)`. A URL that
    cannot be resolved is not reported. `postgresql://` (psycopg2),
    `sqlite://` (pysqlite), `mysql://` and `mysql+pymysql://` are synchronous;
    the async drivers are a pack list (`asyncpg`, `psycopg`, `aiosqlite`,
    `aiomysql`, `asyncmy`, ...).

    ## Why is this bad?
    SQLAlchemy refuses a synchronous DBAPI in an async engine: the application
    fails at the first connection (`InvalidRequestError: The asyncio extension
    requires an async driver`), or runs only where an environment variable
    happens to override the default.
    """

    id = "AL303"
    name = "AsyncEngineSyncDriver"
    severity = Severity.ERROR
    INVALID = [
        {
            "app/core/config.py": """
            from pydantic_settings import BaseSettings


            class Settings(BaseSettings):
                DATABASE_URL: str = "postgresql://app:app@db:5432/app"


            settings = Settings()
            """,
            "app/core/db.py": """
            from sqlalchemy.ext.asyncio import create_async_engine

            from app.core.config import settings

            engine = create_async_engine(settings.DATABASE_URL)  # expect: AL303
            """,
        }
    ]
    VALID = [
        """
        from sqlalchemy.ext.asyncio import create_async_engine

        DATABASE_URL = "postgresql://app:app@db:5432/app"
        engine = create_async_engine(DATABASE_URL.replace("postgresql://", "postgresql+asyncpg://"))
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        drivers = {d.lower() for d in self.options.async_drivers}
        for facts, site, ctx in canonical_calls(index, self.options.async_engine_functions):
            url = site.call.arg(0, "url")
            if url is None:
                continue
            scheme = url_scheme(index, url, ctx)
            if scheme is None:
                continue
            dialect, _, driver = scheme.lower().partition("+")
            if driver in drivers:
                continue
            used = f"the `{driver}` driver" if driver else f"the default `{dialect}` driver"
            yield self.finding(
                facts.path,
                site.call.span,
                f"This async engine connects with `{scheme}://`, {used}, which is synchronous: "
                f"use an async driver such as `{_suggest(dialect)}://`.",
            )


def _suggest(dialect: str) -> str:
    known = {
        "postgresql": "postgresql+asyncpg",
        "postgres": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
        "mysql": "mysql+aiomysql",
        "mariadb": "mariadb+aiomysql",
    }
    return known.get(dialect, f"{dialect}+<async driver>")


def url_scheme(index: ProjectIndex, expr: Expr, ctx: Ctx, depth: int = 0) -> str | None:
    """The scheme (``dialect+driver``) of a database URL expression, when it resolves statically."""
    if depth > 8:
        return None
    if isinstance(expr, Attr):
        owner = index.evaluate(expr.base, ctx)
        if isinstance(owner, Instance) and isinstance(owner.type, ClassRef) and _validated(index, owner.type, expr.attr):
            return None
    value = index.evaluate(expr, ctx)
    if isinstance(value, Const):
        return _scheme(value.value)
    if isinstance(expr, FString):
        head = "".join(str(p.value) for p in _leading_literals(expr))
        return _scheme(head) if "://" in head else None
    if isinstance(expr, Other) and expr.kind == "ConcatenatedString" and expr.children:
        return url_scheme(index, expr.children[0], ctx, depth + 1)
    if isinstance(expr, Call):
        func = canonical(index.fqn(expr.func, ctx))
        if func in ("builtins.str",) and expr.args:
            return url_scheme(index, expr.args[0], ctx, depth + 1)
        if func in ENV_GETTERS and len(expr.args) > 1:
            return url_scheme(index, expr.args[1], ctx, depth + 1)
        for key in ("drivername", "scheme"):
            given = expr.kw(key)
            if given is not None:
                named = index.const(given, ctx)
                return named if isinstance(named, str) else None
        if func == "sqlalchemy.make_url" and expr.args:
            return url_scheme(index, expr.args[0], ctx, depth + 1)
        if isinstance(expr.func, Attr) and expr.func.attr == "replace" and len(expr.args) >= 2:
            old, new = index.const(expr.args[0], ctx), index.const(expr.args[1], ctx)
            base = _url_text(index, expr.func.base, ctx)
            if isinstance(base, str) and isinstance(old, str) and isinstance(new, str):
                return _scheme(base.replace(old, new))
            return None
        if isinstance(expr.func, Attr) and expr.func.attr in ("render_as_string", "unicode_string"):
            return url_scheme(index, expr.func.base, ctx, depth + 1)
        return None
    if isinstance(expr, Name):
        bound = index.definition(expr, ctx)
        if bound is not None:
            return url_scheme(index, bound[0], bound[1], depth + 1)
        return None
    if isinstance(expr, Attr):
        # A settings field whose default is an f-string or a property building the URL.
        owner = index.evaluate(expr.base, ctx)
        klass = owner.type if isinstance(owner, Instance) and isinstance(owner.type, ClassRef) else None
        if klass is None:
            return None
        for k in index.mro(klass):
            if not isinstance(k, ClassRef):
                continue
            fact = index.class_fact(k)
            if fact is None:
                continue
            for assign in fact.assigns:
                if any(isinstance(t, Name) and t.id == expr.attr for t in assign.targets) and assign.value is not None:
                    return url_scheme(index, _field_default(assign.value), Ctx(k.module, fact.qualname), depth + 1)
            qualname = fact.defs.get(expr.attr)
            fn = index.modules[k.module].functions.get(qualname) if qualname else None
            if fn is not None:
                schemes = {url_scheme(index, r, Ctx(k.module, fn.qualname), depth + 1) for r in fn.returns if r is not None}
                return schemes.pop() if len(schemes) == 1 else None
    return None


def _validated(index: ProjectIndex, klass: ClassRef, field: str) -> bool:
    """Whether a settings class rewrites the field in a validator (``postgres://`` -> ``postgresql+asyncpg://``)."""
    for k in index.mro(klass):
        if not isinstance(k, ClassRef):
            continue
        fact = index.class_fact(k)
        if fact is None:
            continue
        facts = index.modules[k.module]
        for qualname in fact.defs.values():
            fn = facts.functions.get(qualname)
            if fn is None:
                continue
            for deco in fn.decorators:
                call = deco if isinstance(deco, Call) else None
                target = call.func if call is not None else deco
                fqn = canonical(index.fqn(target, Ctx(k.module, fact.qualname)))
                if fqn not in FIELD_VALIDATORS | MODEL_VALIDATORS:
                    continue
                if "model" in fqn or "root" in fqn:
                    return True
                if call is not None and any(isinstance(a, Lit) and a.value in (field, "*") for a in call.args):
                    return True
    return False


def _field_default(expr: Expr) -> Expr:
    if isinstance(expr, Call):
        default = expr.arg(0, "default")
        if default is not None:
            return default
    return expr


def _url_text(index: ProjectIndex, expr: Expr, ctx: Ctx) -> str | None:
    value = index.const(expr, ctx)
    if isinstance(value, str):
        return value
    if isinstance(expr, Call) and canonical(index.fqn(expr.func, ctx)) == "builtins.str" and expr.args:
        return _url_text(index, expr.args[0], ctx)
    return None


def _leading_literals(expr: FString) -> list[Lit]:
    out = []
    for part in expr.parts:
        if not isinstance(part, Lit):
            break
        out.append(part)
    return out


def _scheme(text: object) -> str | None:
    if not isinstance(text, str):
        return None
    match = _SCHEME.match(text)
    return match.group(1) if match else None


class LegacyQueryApi(_S10Rule):
    """Reports `session.query(...)`, the legacy Query API, on a SQLAlchemy session.

    The receiver must be known to be a SQLAlchemy (or SQLModel) session — by
    annotation, a `Depends` alias, a session factory, `self.db` assigned from
    such a parameter — or, when its type is unknown, the query must name a
    mapped model (`db.query(User)`). A `.query` of another client
    (Elasticsearch, MongoDB, InfluxDB) is not reported.

    ## Why is this bad?
    `Session.query` is the 1.x API, "legacy" in SQLAlchemy 2.0 and absent from
    `AsyncSession`. Queries are written with `select()` and executed with
    `await session.execute(...)` / `session.scalars(...)`.
    """

    id = "AL304"
    name = "LegacyQueryApi"
    severity = Severity.ERROR
    INVALID = [
        """
        from sqlalchemy.orm import Session

        from app.models import User


        def get_user(db: Session, user_id: int):  # expect: AL302
            return db.query(User).filter(User.id == user_id).first()  # expect: AL304
        """
    ]
    VALID = [
        """
        from elasticsearch import Elasticsearch

        es = Elasticsearch("http://search:9200")


        def search(text: str):
            return es.query(index="users", q=text)
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        session_types = frozenset(self.options.sync_session_types) | frozenset(self.options.async_session_types)
        methods = set(self.options.legacy_query_methods)
        table = project.orm
        for facts, site, ctx in index.iter_calls():
            func = site.call.func
            if not isinstance(func, Attr) or func.attr not in methods:
                continue
            receiver = project.types.of(func.base, ctx)
            if receiver is not None:
                if not project.types.is_subclass(receiver, session_types):
                    continue
            elif not self._queries_model(index, site.call, ctx, table):
                continue
            yield self.finding(
                facts.path,
                site.call.span,
                f"`.{func.attr}(...)` is the legacy Query API: build the statement with `select()` and run it with "
                "`session.execute()`/`session.scalars()`.",
            )

    @staticmethod
    def _queries_model(index: ProjectIndex, call: Call, ctx: Ctx, table: Models) -> bool:
        if not call.args:
            return False
        first = call.args[0]
        for target in (first, first.base if isinstance(first, Attr) else None):
            model = table.get(index.evaluate(target, ctx)) if target is not None else None
            if model is not None and model.mapped:
                return True
        return False


class UnawaitedAsyncSessionCall(_S10Rule):
    """Reports an `AsyncSession` method that returns a coroutine (`execute`, `commit`, ...) called without `await`.

    Only receivers known to be an `AsyncSession` are checked: a parameter
    annotated with it or with an `Annotated[AsyncSession, Depends(...)]`
    alias, `self.db` assigned from such a parameter, a session from an
    `async_sessionmaker` (`async with SessionLocal() as session`). `add`,
    `add_all` and `expunge` are synchronous and need no `await`; a coroutine
    handed to `asyncio.gather`/`create_task`, or returned from a plain `def`
    to a caller that awaits it, is not reported.

    ## Why is this bad?
    An un-awaited coroutine never runs: the commit silently does not happen,
    the query result is a coroutine object, and Python only warns "coroutine
    was never awaited" at garbage collection.
    """

    id = "AL305"
    name = "UnawaitedAsyncSessionCall"
    severity = Severity.ERROR
    INVALID = [
        """
        from sqlalchemy.ext.asyncio import AsyncSession


        async def rename(db: AsyncSession, user, name: str) -> None:
            user.name = name
            db.add(user)
            db.commit()  # expect: AL305
        """
    ]
    VALID = [
        """
        from sqlalchemy.ext.asyncio import AsyncSession


        async def rename(db: AsyncSession, user, name: str) -> None:
            user.name = name
            db.add(user)
            await db.commit()
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        wanted = frozenset(self.options.async_session_types)
        methods = set(self.options.awaited_methods)
        for facts, scope, ctx in index.iter_scopes():
            consumed: set[str] | None = None
            lambdas: list[Span] = []
            for site in scope.calls:
                func = site.call.func
                if site.awaited or not isinstance(func, Attr) or func.attr not in methods:
                    continue
                receiver = project.types.of(func.base, ctx)
                if not project.types.is_subclass(receiver, wanted):
                    continue
                if consumed is None:
                    consumed = self._consumed_names(index, scope, ctx)
                    lambdas = lambda_spans(scope)
                if any(span.contains(site.call.span) for span in lambdas):
                    continue  # runs when the lambda is called, maybe awaited there
                if not self._unawaited(index, scope, site, ctx, consumed):
                    continue
                owner = (canonical_of(receiver) or "AsyncSession").rsplit(".", 1)[-1]
                yield self.finding(
                    facts.path,
                    site.call.span,
                    f"`{owner}.{func.attr}()` returns a coroutine that is never awaited: write `await {_text(func)}(...)`.",
                )

    def _unawaited(self, index: ProjectIndex, scope: Scope, site: CallSite, ctx: Ctx, consumed: set[str]) -> bool:
        context = site.context
        if context in ("stmt", "receiver"):
            return True
        if context == "assign":
            targets = [t.id for a in scope.assigns if a.value is site.call for t in a.targets if isinstance(t, Name)]
            return not any(t in consumed for t in targets)
        if context == "return":
            return isinstance(scope, FunctionFact) and scope.is_async
        if context == "expr":
            loop = next((lp for lp in scope.loops if lp.id == site.loop), None)
            if loop is None or loop.kind != "comprehension":
                return True
            # [db.refresh(o) for o in objs]: a bug, unless the coroutines are gathered.
            return not self._comprehension_consumed(index, scope, site.call, ctx, consumed)
        if context == "arg":
            parent = next((s.call for s in scope.calls if _has_arg(s.call, site.call)), None)
            if parent is None:
                return False
            if isinstance(parent.func, Attr) and parent.func.attr in self.options.coroutine_consumer_methods:
                return False
            callee = index.evaluate(parent.func, ctx)
            if isinstance(callee, Unknown):
                return False
            return canonical_of(callee) not in self.options.coroutine_consumers
        return False

    def _comprehension_consumed(self, index: ProjectIndex, scope: Scope, call: Call, ctx: Ctx, consumed: set[str]) -> bool:
        """Whether the comprehension around ``call`` feeds a coroutine consumer (directly or through a name)."""
        consumers = set(self.options.coroutine_consumers)
        for assign in scope.assigns:
            if assign.value is not None and assign.value.span.contains(call.span):
                if any(isinstance(t, Name) and t.id in consumed for t in assign.targets):
                    return True
        for top in scope_exprs(scope):
            for node in iter_exprs(top):
                if not isinstance(node, Call) or not node.span.contains(call.span) or node is call:
                    continue
                if canonical(index.fqn(node.func, ctx)) in consumers or (
                    isinstance(node.func, Attr) and node.func.attr in self.options.coroutine_consumer_methods
                ):
                    return True
        return False

    def _consumed_names(self, index: ProjectIndex, scope: Scope, ctx: Ctx) -> set[str]:
        """Names awaited (``await coro``) or handed to a coroutine consumer in the scope."""
        out: set[str] = set()
        consumers = set(self.options.coroutine_consumers)
        for top in scope_exprs(scope):
            for node in iter_exprs(top):
                if isinstance(node, Await) and isinstance(node.value, Name):
                    out.add(node.value.id)
                elif isinstance(node, Call) and (
                    canonical(index.fqn(node.func, ctx)) in consumers
                    or isinstance(node.func, Attr)
                    and node.func.attr in self.options.coroutine_consumer_methods
                ):
                    out.update(a.id for a in node.args if isinstance(a, Name))
                    out.update(a.value.id for a in node.args if hasattr(a, "value") and isinstance(a.value, Name))
        return out


def _has_arg(call: Call, child: Call) -> bool:
    return (
        any(a is child for a in call.args)
        or any(v is child for _, v in call.kwargs)
        or any(getattr(a, "value", None) is child for a in call.args)
    )


def _text(func: Attr) -> str:
    dotted = func.dotted()
    return dotted if dotted else f"session.{func.attr}"


class BlockingCallInAsync(_S10Rule):
    """Reports blocking calls directly inside `async def`: `requests`, `time.sleep`, `urllib.request`, `subprocess.run`, sync session I/O.

    The blocking calls are a pack list of dotted names: functions (`open`,
    `subprocess.getoutput`, `os.waitpid`), and methods by their receiver's
    class, followed through tuple assignment and chains of a fluent type
    (`Path(p).absolute().read_text()`); clients by their network methods only
    (`client.get`, not `client.build_request` or `client.close`); `os.spawn*`
    only with `os.P_WAIT`. A synchronous `Session` call that does database
    I/O (`execute`, `commit`, `query`, ...) counts when its receiver is known to
    be a sync session. Calls inside a lambda or a nested `def` (run in a
    thread pool, `asyncio.to_thread`, `run_in_executor`) are not reported.

    A call of a synchronous project function (or method) that reaches a
    blocking call, a few calls deep (`blocking-helper-depth`), is reported at
    the call in the `async def`, with the chain in the message: the helper is
    where the fix goes, the async function is where the loop blocks. Helpers
    behind a decorator (a cache such as `@lru_cache` runs the I/O once; a task
    decorator may turn the call into a message) are not followed. An `async
    def` that only a command-line command runs (click or Typer, directly or
    through helpers every caller of which is such a command) is left alone:
    that event loop serves no request.

    ## Why is this bad?
    An `async def` endpoint runs on the event loop: while it blocks, every
    other request on that worker waits. p95 latency (S22) is lost to one slow
    call. Use `httpx.AsyncClient`, `asyncio.sleep`,
    `asyncio.create_subprocess_exec`, an `AsyncSession`, or move the work to a
    thread (`await asyncio.to_thread(...)`).
    """

    id = "AL306"
    name = "BlockingCallInAsync"
    severity = Severity.ERROR
    INVALID = [
        """
        import time

        import requests


        async def fetch_rates() -> dict:
            time.sleep(1)  # expect: AL306
            return requests.get("https://rates.example.com").json()  # expect: AL306
        """
    ]
    VALID = [
        """
        import asyncio

        import httpx
        import requests


        async def fetch_rates() -> dict:
            await asyncio.sleep(1)
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get("https://rates.example.com")
            legacy = await asyncio.to_thread(lambda: requests.get("https://old.example.com", timeout=5))
            return response.json() | legacy.json()
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        patterns = self.options.blocking_calls
        sync_types = frozenset(self.options.sync_session_types)
        io_methods = set(self.options.sync_session_io_methods)
        helpers = _BlockingHelpers(
            index,
            lambda call, ctx: self._blocking_name(index, project.types, call, ctx, patterns, sync_types, io_methods),
            self.options.blocking_helper_depth,
        )
        for facts in index.modules.values():
            if _is_migration(index, facts, self.options.migration_packages):
                continue
            for fn in facts.functions.values():
                if not fn.is_async or project.commands.runs_only_under_commands(facts.module, fn.qualname):
                    continue  # a command-line program's event loop serves no one else
                ctx = Ctx(facts.module, fn.qualname)
                lambdas: list[Span] | None = None
                for site in fn.calls:
                    if site.awaited or site.context == "decorator":
                        continue
                    call = site.call
                    name = self._blocking_name(index, project.types, call, ctx, patterns, sync_types, io_methods)
                    chain: list[str] | None = None
                    if name is None:
                        chain = helpers.chain_of(call, ctx)
                        if chain is None:
                            continue
                    if lambdas is None:
                        lambdas = lambda_spans(fn)
                    if any(span.contains(call.span) for span in lambdas):
                        continue
                    if chain is not None:
                        *names, where = chain
                        yield self.finding(
                            facts.path,
                            call.span,
                            f"`{names[0]}` blocks the event loop inside `async def {fn.name}`: it reaches "
                            f"{' -> '.join(f'`{c}`' for c in names[1:])} ({where}). Use an async equivalent "
                            "or run it in a thread (`await asyncio.to_thread(...)`).",
                        )
                        continue
                    yield self.finding(
                        facts.path,
                        call.span,
                        f"`{name}` blocks the event loop inside `async def {fn.name}`: use an async equivalent "
                        "or run it in a thread (`await asyncio.to_thread(...)`).",
                    )

    def _blocking_name(
        self,
        index: ProjectIndex,
        types: TypeResolver,
        call: Call,
        ctx: Ctx,
        patterns: tuple[str, ...],
        sync_types: frozenset[str],
        io_methods: set[str],
    ) -> str | None:
        func = call.func
        if not isinstance(func, (Name, Attr)):
            return None
        fqn = canonical(index.fqn(func, ctx))
        if fqn and fnmatch_any(fqn, self.options.spawn_wait_functions):
            # os.spawn*(os.P_WAIT, ...) waits for the child; P_NOWAIT does not.
            mode = call.arg(0, "mode")
            mode_name = canonical(index.fqn(mode, ctx)) if isinstance(mode, (Name, Attr)) else None
            return fqn if mode_name == "os.P_WAIT" else None
        if fnmatch_any(fqn, patterns):
            return fqn
        if isinstance(func, Attr):
            receiver = types.of(func.base, ctx) or self._fluent_receiver(types, func.base, ctx)
            if receiver is None:
                return None
            method = f"{canonical_of(receiver)}.{func.attr}"
            if fnmatch_any(method, patterns):
                return method
            if func.attr in io_methods and types.is_subclass(receiver, sync_types):
                return f"Session.{func.attr}"
        return None

    def _fluent_receiver(self, types: TypeResolver, expr: Expr, ctx: Ctx) -> Value | None:
        """``Path(p).absolute().resolve()``: a chain of methods of a fluent type is that type."""
        fluent = self.options.fluent_types
        for _ in range(16):
            if not (isinstance(expr, Call) and isinstance(expr.func, Attr)):
                return None
            expr = expr.func.base
            root = types.of(expr, ctx)
            if root is not None:
                return root if canonical_of(root) in fluent else None
        return None


#: Decorators that leave a function what it is (called synchronously, in place, every time).
#: A cache (``@lru_cache``) is not one: the I/O runs once, on the first call.
_TRANSPARENT_DECORATORS = ("builtins.staticmethod", "builtins.classmethod")


class _BlockingHelpers:
    """Synchronous project functions that reach a blocking call, a few calls deep (for AL306)."""

    def __init__(self, index: ProjectIndex, blocking: Callable[[Call, Ctx], str | None], depth: int) -> None:
        self.index = index
        self.blocking = blocking  # (call, ctx) -> the blocking call's name, or None
        self.depth = depth
        self._memo: dict[FuncRef, list[str] | None] = {}

    def chain_of(self, call: Call, ctx: Ctx) -> list[str] | None:
        """``[helper, ..., blocking call, "file:line"]`` when ``call`` calls a sync project function that blocks."""
        if self.depth <= 0 or not isinstance(call.func, (Name, Attr)):
            return None
        callee = self.index.evaluate(call.func, ctx)
        if not isinstance(callee, FuncRef):
            return None
        return self._reaches(callee, self.depth, frozenset())

    def _reaches(self, ref: FuncRef, depth: int, active: frozenset[FuncRef]) -> list[str] | None:
        if ref in active or depth <= 0:
            return None
        if ref in self._memo:
            return self._memo[ref]
        fn = self.index.function(ref)
        found: list[str] | None = None
        if fn is not None and not fn.is_async and not fn.is_generator and self._transparent(fn, ref):
            ctx = Ctx(ref.module, fn.qualname)
            lambdas = lambda_spans(fn)
            for site in fn.calls:
                if site.context == "decorator" or any(span.contains(site.call.span) for span in lambdas):
                    continue
                name = self.blocking(site.call, ctx)
                if name is not None:
                    where = f"{self.index.modules[ref.module].path}:{site.call.span.line}"
                    found = [ref.fqn, name, where]
                    break
                if isinstance(site.call.func, (Name, Attr)):
                    callee = self.index.evaluate(site.call.func, ctx)
                    if isinstance(callee, FuncRef):
                        deeper = self._reaches(callee, depth - 1, active | {ref})
                        if deeper is not None:
                            found = [ref.fqn, *deeper]
                            break
        if depth == self.depth:
            # Only a search with the full budget is final for every caller.
            self._memo[ref] = found
        return found

    def _transparent(self, fn: FunctionFact, ref: FuncRef) -> bool:
        ctx = Ctx(ref.module, fn.parent or "")
        for deco in fn.decorators:
            func = deco.func if isinstance(deco, Call) else deco
            fqn = canonical(self.index.fqn(func, ctx)) or ""
            if not fqn.startswith(_TRANSPARENT_DECORATORS):
                return False
        return True
