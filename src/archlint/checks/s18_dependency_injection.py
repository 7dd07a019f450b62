"""S18 — dependency injection: `Annotated[..., Depends(...)]`, sessions per request, no global sessions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archlint.analysis.endpoints import handler_ctx, route_label
from archlint.checks.base import Project, Rule
from archlint.collect.facts import (
    Attr,
    Await,
    BinOp,
    Call,
    DictExpr,
    Expr,
    FString,
    FunctionFact,
    Name,
    Other,
    Seq,
    Starred,
    Subscript,
    UnaryOp,
)
from archlint.index import ProjectIndex
from archlint.model import Finding, Severity, Span
from archlint.names import DEPENDS
from archlint.pack import option
from archlint.values import ClassRef, Ctx, FuncRef, Instance, Symbol, Value, fqn_of

if TYPE_CHECKING:
    import libcst as cst

    from archlint.fixes import FixSource, Rewrite


@dataclass(frozen=True)
class S18Options:
    session_types: tuple[str, ...] = option(
        "Dotted names of database session classes (SQLAlchemy, SQLModel, sync and async) and of "
        "scoped-session registries, which proxy one global session."
    )
    session_factories: tuple[str, ...] = option(
        "Dotted names of session factories (`sessionmaker`, `async_sessionmaker`): calling what they build opens a session."
    )
    engine_factories: tuple[str, ...] = option("Dotted names of functions that create a database engine.")


# --------------------------------------------------------------------------- #
# AL420: Depends(...) as a default value
# --------------------------------------------------------------------------- #


class DependsAsDefault(Rule[S18Options]):
    """Reports `Depends(...)` / `Security(...)` used as a parameter's default value (Ruff FAST002).

    Every function is checked, route handlers and dependency functions alike:
    `db: Session = Depends(get_db)` should be
    `db: Annotated[Session, Depends(get_db)]`, best through a shared alias
    (`SessionDep = Annotated[Session, Depends(get_db)]`).

    ## Why is this bad?
    A default that is really an injection marker lies to type checkers and
    to callers: the function looks callable without the argument, and calling
    it directly (tests, background jobs) passes the `Depends` object itself.
    `Annotated` keeps the type honest, lets the dependency be reused as an
    alias, and is what FastAPI recommends.
    """

    id = "AL420"
    name = "DependsAsDefault"
    standard = "S18"
    severity = Severity.WARNING
    tags = ("architecture", "api")
    Options = S18Options
    INVALID = [
        """
        from fastapi import APIRouter, Depends
        from sqlalchemy.orm import Session

        router = APIRouter()

        def get_db():
            yield None

        @router.get("/api/v1/items", tags=["items"])
        def list_items(db: Session = Depends(get_db)) -> list[str]:  # expect: AL420
            \"\"\"List items.\"\"\"
            return []
        """
    ]
    VALID = [
        """
        from typing import Annotated
        from fastapi import APIRouter, Depends
        from sqlalchemy.orm import Session

        router = APIRouter()

        def get_db():
            yield None

        SessionDep = Annotated[Session, Depends(get_db)]

        @router.get("/api/v1/items", tags=["items"])
        def list_items(db: SessionDep) -> list[str]:
            \"\"\"List items.\"\"\"
            return []
        """
    ]

    #: Ruff FAST002's fix, unsafe as Ruff's: the parameter loses its default, so direct calls change.
    fix_applicability = "unsafe"
    fix_message = "Move the dependency into `Annotated[...]`."
    FIXES = [
        (
            """
            from fastapi import Depends

            def get_db():
                return {}

            def get_user(db: dict = Depends(get_db), *, name: str = Depends(get_db)) -> dict:
                return db
            """,
            """
            from typing import Annotated

            from fastapi import Depends

            def get_db():
                return {}

            def get_user(db: Annotated[dict, Depends(get_db)], *, name: Annotated[str, Depends(get_db)]) -> dict:
                return db
            """,
        ),
        (
            """
            import fastapi
            from typing import Annotated as A

            def get_db():
                return {}

            def get_user(
                limit: int = 10,
                db: dict = fastapi.Depends(get_db),  # the session
            ) -> dict:
                return db

            def get_admin(user: dict = fastapi.Security(get_user, scopes=["admin"])) -> dict:
                return user
            """,
            """
            import fastapi
            from typing import Annotated as A

            def get_db():
                return {}

            def get_user(
                limit: int = 10,
                db: dict = fastapi.Depends(get_db),  # the session
            ) -> dict:
                return db

            def get_admin(user: A[dict, fastapi.Security(get_user, scopes=["admin"])]) -> dict:
                return user
            """,
        ),
    ]

    def fix(self, finding: Finding, source: FixSource) -> cst.Module | Rewrite | None:
        from archlint.fixes import fastapi as fastapi_fixes  # LibCST: only when fixing

        return fastapi_fixes.depends_to_annotated(source, finding.span)

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        for facts in index.modules.values():
            for fn in facts.functions.values():
                ctx = Ctx(facts.module, fn.qualname)
                for param in fn.params:
                    default = param.default
                    if not isinstance(default, Call) or not isinstance(default.func, (Name, Attr)):
                        continue
                    if index.fqn(default.func, ctx) not in DEPENDS:
                        continue
                    marker = default.func.id if isinstance(default.func, Name) else default.func.attr
                    yield self.finding(
                        facts.path,
                        default.span,
                        f"`{param.name}` of `{fn.name}` takes `{marker}(...)` as its default: declare it as "
                        f"`Annotated[..., {marker}(...)]` (or a shared `Annotated` alias).",
                    )


# --------------------------------------------------------------------------- #
# Global sessions and engines
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, slots=True)
class _Global:
    kind: str  # session, factory, engine
    name: str
    module: str


class _Globals:
    """Recognises module-level sessions, session factories and engines."""

    def __init__(self, index: ProjectIndex, options: S18Options) -> None:
        self.index = index
        self.opts = options
        self._cache: dict[tuple[object, ...], _Global | None] = {}

    def kind_of_call(self, call: Call, ctx: Ctx) -> str | None:
        """What calling this creates: a session, a session factory, an engine, or None."""
        callee = self.index.evaluate(call.func, ctx)
        if isinstance(callee, (ClassRef, Symbol)):
            if self.index.is_subclass(callee, set(self.opts.session_types)):
                return "session"
            fqn = fqn_of(callee)
            if fqn in self.opts.session_factories:
                return "factory"
            if fqn in self.opts.engine_factories:
                return "engine"
        if isinstance(callee, Instance) and fqn_of(callee.type) in self.opts.session_factories:
            return "session"  # SessionLocal()
        return None

    def name(self, expr: Name | Attr, ctx: Ctx) -> _Global | None:
        """The module-level session, factory or engine a name refers to, if it is one."""
        key = (expr.span, expr.dotted(), ctx)
        if key in self._cache:
            return self._cache[key]
        result = None
        found = self.index.definition(expr, ctx)
        if found is not None:
            value, where = found
            if where.scope == "" and isinstance(value, Call):
                kind = self.kind_of_call(value, where)
                if kind is not None:
                    result = _Global(kind, expr.id if isinstance(expr, Name) else expr.attr, where.module)
        self._cache[key] = result
        return result


def _walk(expr: Expr | None) -> Iterator[Expr]:
    if expr is None:
        return
    yield expr
    children: tuple[Expr, ...] = ()
    if isinstance(expr, Attr):
        children = (expr.base,)
    elif isinstance(expr, Call):
        children = (expr.func, *expr.args, *(v for _, v in expr.kwargs))
    elif isinstance(expr, (Subscript,)):
        children = (expr.base, *expr.items)
    elif isinstance(expr, BinOp):
        children = (expr.left, expr.right)
    elif isinstance(expr, UnaryOp):
        children = (expr.operand,)
    elif isinstance(expr, FString):
        children = expr.parts
    elif isinstance(expr, Seq):
        children = expr.items
    elif isinstance(expr, DictExpr):
        children = tuple(x for k, v in expr.items for x in (k, v) if x is not None)
    elif isinstance(expr, (Await, Starred)):
        children = (expr.value,)
    elif isinstance(expr, Other):
        children = expr.children
    for child in children:
        yield from _walk(child)


def _references(fn: FunctionFact) -> Iterator[Name | Attr]:
    """Names (and ``module.name`` attributes) a function body reads, roughly in source order."""
    roots: list[Expr | None] = []
    roots.extend(site.call for site in fn.calls)
    roots.extend(a.value for a in fn.assigns)
    roots.extend(w.context for w in fn.withs)
    roots.extend(fn.returns)
    roots.extend(fn.raises)
    roots.extend(loop.iter for loop in fn.loops)
    seen: set[Span] = set()
    for root in roots:
        for expr in _walk(root):
            if isinstance(expr, (Name, Attr)) and expr.span not in seen:
                seen.add(expr.span)
                yield expr


_KIND_TEXT = {
    "session": "the module-level database session",
    "factory": "the module-level session factory",
    "engine": "the module-level database engine",
}


class GlobalSessionInHandler(Rule[S18Options]):
    """Reports route handlers that use a module-level database session, session factory or engine.

    A handler should receive its session from a dependency
    (`session: SessionDep` with `SessionDep = Annotated[Session,
    Depends(get_db)]`); reading a session created at import time, opening one
    from `SessionLocal()` or `Session(engine)` in the handler, or running SQL
    on the global engine bypasses injection. Names are resolved across
    modules; one finding per handler and global, at the first use.

    ## Why is this bad?
    A module-level session is shared by every concurrent request (SQLAlchemy
    sessions are not thread- or task-safe) and keeps its identity map and
    transaction state across requests. Sessions opened by hand in handlers
    escape the request's lifecycle (no rollback on error, no close), and
    tests cannot override them with `app.dependency_overrides`.
    """

    id = "AL421"
    name = "GlobalSessionInHandler"
    standard = "S18"
    severity = Severity.ERROR
    tags = ("architecture", "database")
    Options = S18Options
    INVALID = [
        {
            "app/db.py": """
                from sqlalchemy import create_engine
                from sqlalchemy.orm import sessionmaker

                engine = create_engine("sqlite://")
                SessionLocal = sessionmaker(bind=engine)
                db = SessionLocal()
                """,
            "app/main.py": """
                from fastapi import FastAPI
                from app.db import db

                app = FastAPI()

                @app.get("/api/v1/items", tags=["items"])
                def list_items() -> list[str]:
                    \"\"\"List items.\"\"\"
                    return db.execute("select name from items").scalars().all()  # expect: AL421
                """,
        }
    ]
    VALID = [
        {
            "app/db.py": """
                from collections.abc import Iterator
                from typing import Annotated
                from fastapi import Depends
                from sqlalchemy import create_engine
                from sqlalchemy.orm import Session, sessionmaker

                engine = create_engine("sqlite://")
                SessionLocal = sessionmaker(bind=engine)

                def get_db() -> Iterator[Session]:
                    with SessionLocal() as session:
                        yield session

                SessionDep = Annotated[Session, Depends(get_db)]
                """,
            "app/main.py": """
                from fastapi import FastAPI
                from app.db import SessionDep

                app = FastAPI()

                @app.get("/api/v1/items", tags=["items"])
                def list_items(db: SessionDep) -> list[str]:
                    \"\"\"List items.\"\"\"
                    return db.execute("select name from items").scalars().all()
                """,
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        finder = _Globals(index, self.options)
        done: set[FuncRef] = set()
        for route in project.routes.routes:
            handler = route.handler
            fn = index.function(handler) if handler else None
            ctx = handler_ctx(route)
            if handler is None or fn is None or ctx is None or handler in done:
                continue
            done.add(handler)
            facts = index.file_of(ctx)
            if facts is None:
                continue
            reported: set[tuple[str, str]] = set()
            for ref in _references(fn):
                found = finder.name(ref, ctx) if isinstance(ref, Name) or _module_attr(index, ref, ctx) else None
                if found is None or (found.module, found.name) in reported:
                    continue
                reported.add((found.module, found.name))
                yield self.finding(
                    facts.path,
                    ref.span,
                    f"The handler `{fn.name}` ({route_label(route)}) uses {_KIND_TEXT[found.kind]} "
                    f"`{found.name}` ({found.module}): inject a session per request with "
                    f"`Annotated[Session, Depends(get_db)]` instead.",
                )


def _module_attr(index: ProjectIndex, ref: Expr, ctx: Ctx) -> bool:
    """``db_module.engine``: an attribute read on a project module."""
    if not isinstance(ref, Attr):
        return False
    base = index.evaluate(ref.base, ctx)
    return getattr(base, "internal", False) is True


class ServiceWithGlobalSession(Rule[S18Options]):
    """Reports services and repositories built from a global database session.

    `user_service = UserService(SessionLocal())` at module level, or
    `Repo(db)` anywhere outside a handler with a module-level `db` session
    (a dependency function too), binds every request to one session. Build
    the service per request in a dependency that receives the session
    (`def get_user_service(session: SessionDep) -> UserService`). Handlers
    using a global session are AL421's.

    ## Why is this bad?
    The service then shares one session across every concurrent request: a
    failed transaction in one request poisons the next, objects leak between
    users through the identity map, and tests cannot swap the session.
    """

    id = "AL422"
    name = "ServiceWithGlobalSession"
    standard = "S18"
    severity = Severity.ERROR
    tags = ("architecture", "database")
    Options = S18Options
    INVALID = [
        """
        from sqlalchemy import create_engine
        from sqlalchemy.orm import Session, sessionmaker

        engine = create_engine("sqlite://")
        SessionLocal = sessionmaker(bind=engine)

        class UserService:
            def __init__(self, session: Session) -> None:
                self.session = session

        user_service = UserService(SessionLocal())  # expect: AL422
        """
    ]
    VALID = [
        """
        from typing import Annotated
        from fastapi import Depends
        from sqlalchemy import create_engine
        from sqlalchemy.orm import Session, sessionmaker

        engine = create_engine("sqlite://")
        SessionLocal = sessionmaker(bind=engine)

        class UserService:
            def __init__(self, session: Session) -> None:
                self.session = session

        def get_db():
            with SessionLocal() as session:
                yield session

        def get_user_service(session: Annotated[Session, Depends(get_db)]) -> UserService:
            return UserService(session)
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        finder = _Globals(index, self.options)
        handlers = {r.handler for r in project.routes.routes if r.handler is not None}
        for facts, scope, ctx in index.iter_scopes():
            if scope.kind == "class" or FuncRef(ctx.module, scope.qualname) in handlers:
                continue  # handlers are AL421's; class bodies hold no construction worth a finding
            module_level = scope.kind == "module"
            for site in scope.calls:
                call = site.call
                if finder.kind_of_call(call, ctx) is not None:
                    continue
                callee = index.evaluate(call.func, ctx)
                if not isinstance(callee, (ClassRef, FuncRef)):
                    continue
                session = self._session_argument(finder, call, ctx, opened=module_level)
                if session is None:
                    continue
                when = "at import time" if module_level else f"in `{scope.qualname}`"
                yield self.finding(
                    facts.path,
                    call.span,
                    f"`{_callee_name(callee)}` is built {when} from {session}: build it per request "
                    f"in a dependency that receives the session through `Depends`.",
                )

    @staticmethod
    def _session_argument(finder: _Globals, call: Call, ctx: Ctx, *, opened: bool) -> str | None:
        for arg in (*call.args, *(v for _, v in call.kwargs)):
            if isinstance(arg, Starred):
                continue
            if opened and isinstance(arg, Call) and finder.kind_of_call(arg, ctx) == "session":
                return "a session opened at module level"
            if isinstance(arg, (Name, Attr)):
                found = finder.name(arg, ctx) if isinstance(arg, Name) or _module_attr(finder.index, arg, ctx) else None
                if found is not None and found.kind == "session":
                    return f"the module-level session `{found.name}`"
        return None


def _callee_name(value: Value) -> str:
    return (fqn_of(value) or "").rsplit(".", 1)[-1]
