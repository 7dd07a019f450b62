"""S12 — indexes, keys and safe SQL: indexed foreign keys, unique lookup columns, primary keys, no SQL built from strings."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from archlint.analysis.orm import ColumnDef, Constraint, Model
from archlint.checks.base import Project, Rule
from archlint.collect.facts import Attr, BinOp, Call, Expr, FString, Lit, Name, Other, Scope
from archlint.index import ProjectIndex
from archlint.model import Finding, Severity, Span
from archlint.names import canonical
from archlint.pack import option
from archlint.values import Const, Ctx, SeqValue, fqn_of

if TYPE_CHECKING:
    import libcst as cst

    from archlint.fixes import FixSource, Rewrite


@dataclass(frozen=True)
class S12Options:
    lookup_column_pattern: re.Pattern[str] = option(
        "Regular expression (full match, case-insensitive) of lookup column names that must be unique and indexed."
    )
    unique_implies_index: bool = option("Whether a unique constraint counts as the lookup column's index.")
    primary_key_bases: tuple[str, ...] = option(
        "Dotted names (fnmatch globs) of library base classes and mixins that declare the primary key "
        "(fastapi-users' `SQLAlchemyBaseUserTableUUID`): a model deriving from one has a key (AL332)."
    )
    identity_tables: re.Pattern[str] = option(
        "Regular expression (searched in the snake_case class and table names) of tables that own an identity "
        "(users, accounts, members): their lookup columns are what sign-up and log-in look rows up by."
    )
    not_identity_tables: re.Pattern[str] = option(
        "Regular expression (searched the same way) of tables that only refer to an identity (verifications, "
        "one-time codes, invitations, sessions): an e-mail there repeats by design and is not a lookup column."
    )
    sql_text_functions: tuple[str, ...] = option("Dotted names of functions that turn a string into SQL (`text`).")
    raw_sql_methods: tuple[str, ...] = option(
        "Method names that run a SQL string (`execute`, `exec_driver_sql`, asyncpg's `fetch`...)."
    )
    sql_keywords: re.Pattern[str] = option(
        "Regular expression that tells SQL from other strings handed to a `raw-sql-methods` method."
    )
    safe_conversions: tuple[str, ...] = option("Dotted names of calls whose result is safe inside SQL text (`int(x)`).")


class _S12Rule(Rule[S12Options]):
    standard = "S12"
    Options = S12Options
    tags: ClassVar[tuple[str, ...]] = ("database",)


_INDEXING = frozenset({"index", "unique", "primary_key"})


def _covered(col: ColumnDef, constraints: list[Constraint], kinds: frozenset[str] = _INDEXING) -> bool:
    """Whether an index, unique or primary-key constraint names the column (in any position)."""
    names = col.names()
    return any(c.kind in kinds and (c.opaque or names & set(c.columns)) for c in constraints)


def _foreign_key(col: ColumnDef, constraints: list[Constraint]) -> bool | None:
    if col.foreign_key is not False:
        return col.foreign_key
    names = col.names()
    return any(c.kind == "foreign_key" and names & set(c.columns) for c in constraints)


def _targets(project: Project) -> Iterator[tuple[str, list[ColumnDef], list[Constraint], bool]]:
    """(label, columns, constraints, opaque) for every mapped model and Core table."""
    for label, _names, columns, constraints, opaque in _named_targets(project):
        yield label, columns, constraints, opaque


def _named_targets(project: Project) -> Iterator[tuple[str, tuple[str, ...], list[ColumnDef], list[Constraint], bool]]:
    """Like ``_targets``, with the names the table is known by (class name, ``__tablename__``)."""
    table = project.orm
    for model in table.mapped():
        names = (model.fact.name,) + tuple(
            a.value.value
            for a in model.fact.assigns
            if isinstance(a.value, Lit)
            and isinstance(a.value.value, str)
            and any(isinstance(t, Name) and t.id == "__tablename__" for t in a.targets)
        )
        yield model.fact.name, names, list(model.columns.values()), model.constraints, model.opaque
    for core in table.tables:
        yield core.name or "table", (core.name or "",), list(core.columns.values()), core.constraints, core.opaque


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


class UnindexedForeignKey(_S12Rule):
    """Reports a foreign-key column with no index: no `index=True`, not in an `Index`, a unique constraint or the primary key.

    Covers `mapped_column(ForeignKey(...))`, `Column(..., ForeignKey(...))`,
    SQLModel `Field(foreign_key=...)` and `Table(...)` columns; a column
    inherited from a mixin or a SQLModel base counts for every table that
    uses it and is reported once, where it is declared. `__table_args__`
    indexes and constraints (naming the column in any position) and
    `Index("ix", Model.column)` written outside the class count.

    ## Why is this bad?
    PostgreSQL (unlike MySQL) does not index foreign keys by itself. Every
    join from the parent, every `selectinload`, and every `ON DELETE` cascade
    or check then scans the child table.
    """

    id = "AL330"
    name = "UnindexedForeignKey"
    severity = Severity.ERROR
    INVALID = [
        """
        from sqlalchemy import ForeignKey
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            pass


        class Item(Base):
            __tablename__ = "items"

            id: Mapped[int] = mapped_column(primary_key=True)
            owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # expect: AL330
        """
    ]
    VALID = [
        """
        from sqlalchemy import ForeignKey, Index
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            pass


        class Item(Base):
            __tablename__ = "items"
            __table_args__ = (Index("ix_items_owner_created", "owner_id", "created_at"),)

            id: Mapped[int] = mapped_column(primary_key=True)
            owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
            created_at: Mapped[int]
        """
    ]

    #: Unsafe: the model then declares an index the database does not have until a migration creates it.
    fix_applicability = "unsafe"
    fix_message = "Add `index=True` to the foreign-key column (and a migration that creates the index)."
    FIXES = [
        (
            """
            from sqlalchemy import Column, ForeignKey, Integer, Table
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
            from sqlmodel import Field, SQLModel


            class Base(DeclarativeBase):
                pass


            class Item(Base):
                __tablename__ = "items"

                id: Mapped[int] = mapped_column(primary_key=True)
                owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # the owner
                group_id: Mapped[int] = mapped_column(
                    ForeignKey("groups.id", ondelete="CASCADE"),
                    nullable=False,
                )
                shop_id = Column(Integer, ForeignKey("shops.id"), index=False)


            tags = Table(
                "item_tags",
                Base.metadata,
                Column("id", Integer, primary_key=True),
                Column("item_id", ForeignKey("items.id")),
            )


            class Note(SQLModel, table=True):
                id: int | None = Field(default=None, primary_key=True)
                item_id: int = Field(foreign_key="items.id")
            """,
            """
            from sqlalchemy import Column, ForeignKey, Integer, Table
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
            from sqlmodel import Field, SQLModel


            class Base(DeclarativeBase):
                pass


            class Item(Base):
                __tablename__ = "items"

                id: Mapped[int] = mapped_column(primary_key=True)
                owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)  # the owner
                group_id: Mapped[int] = mapped_column(
                    ForeignKey("groups.id", ondelete="CASCADE"),
                    nullable=False,
                    index=True,
                )
                shop_id = Column(Integer, ForeignKey("shops.id"), index=True)


            tags = Table(
                "item_tags",
                Base.metadata,
                Column("id", Integer, primary_key=True),
                Column("item_id", ForeignKey("items.id"), index=True),
            )


            class Note(SQLModel, table=True):
                id: int | None = Field(default=None, primary_key=True)
                item_id: int = Field(foreign_key="items.id", index=True)
            """,
        ),
    ]

    def fix(self, finding: Finding, source: FixSource) -> cst.Module | Rewrite | None:
        from archlint.fixes import sqlalchemy as sqlalchemy_fixes  # LibCST: only when fixing

        return sqlalchemy_fixes.index_column(source, finding.span)

    def check(self, project: Project) -> Iterable[Finding]:
        seen: set[tuple[str, Span]] = set()
        for label, columns, constraints, opaque in _targets(project):
            if opaque:
                continue
            for col in columns:
                if _foreign_key(col, constraints) is not True or (col.path, col.span) in seen:
                    continue
                if col.primary_key is not False or col.index is not False or col.unique is not False:
                    continue
                if _covered(col, constraints):
                    continue
                seen.add((col.path, col.span))
                yield self.finding(
                    col.path,
                    col.span,
                    f"The foreign key `{label}.{col.name}` has no index: add `index=True` or an `Index` on it, or "
                    "joins and cascades scan the table.",
                )


class UnindexedLookupColumn(_S12Rule):
    """Reports a lookup column (e-mail, username: the pack's pattern) that is not unique and indexed.

    Only on the tables that own an identity (`identity-tables`: users,
    accounts, members...), never on those that refer to one
    (`not-identity-tables`: e-mail verifications, one-time codes,
    invitations, sessions), where the same e-mail repeats by design.

    `unique=True`, a `UniqueConstraint`, a unique `Index` or the primary key
    make it unique; `index=True`, an `Index` or (with the pack's
    `unique-implies-index`) the unique constraint's own index make it indexed.

    ## Why is this bad?
    Log-in and sign-up look accounts up by e-mail or username on every
    request: without an index that is a full table scan, and without a
    unique constraint two concurrent sign-ups create duplicate accounts.
    """

    id = "AL331"
    name = "UnindexedLookupColumn"
    severity = Severity.ERROR
    INVALID = [
        """
        from sqlalchemy import String
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            pass


        class User(Base):
            __tablename__ = "users"

            id: Mapped[int] = mapped_column(primary_key=True)
            email: Mapped[str] = mapped_column(String(320))  # expect: AL331
        """
    ]
    VALID = [
        """
        from sqlalchemy import String
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            pass


        class User(Base):
            __tablename__ = "users"

            id: Mapped[int] = mapped_column(primary_key=True)
            email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        pattern = re.compile(self.options.lookup_column_pattern.pattern, re.I)
        seen: set[tuple[str, Span]] = set()
        for label, names, columns, constraints, opaque in _named_targets(project):
            if opaque:
                continue
            snake = [_snake(n) for n in names if n]
            if not any(self.options.identity_tables.search(n) for n in snake) or any(
                self.options.not_identity_tables.search(n) for n in snake
            ):
                continue  # not the table that owns the identity
            for col in columns:
                if not any(pattern.fullmatch(n) for n in col.names()) or (col.path, col.span) in seen:
                    continue
                if None in (col.unique, col.index, col.primary_key):
                    continue
                unique = col.unique or col.primary_key or _covered(col, constraints, frozenset({"unique", "primary_key"}))
                indexed = (
                    col.index or col.primary_key or _covered(col, constraints) or (unique and self.options.unique_implies_index)
                )
                if unique and indexed:
                    continue
                seen.add((col.path, col.span))
                missing = (
                    "neither unique nor indexed"
                    if not unique and not indexed
                    else ("not unique" if not unique else "not indexed")
                )
                yield self.finding(
                    col.path,
                    col.span,
                    f"The lookup column `{label}.{col.name}` is {missing}: declare it `unique=True, index=True`.",
                )


class MissingPrimaryKey(_S12Rule):
    """Reports a mapped class (SQLAlchemy declarative or SQLModel `table=True`) without a primary key.

    The key may be a column's `primary_key=True` (own or inherited, or in an
    `Annotated` type such as `intpk`), a `PrimaryKeyConstraint`, or
    `__mapper_args__["primary_key"]`. Abstract classes, mixins and classes
    with a base archlint cannot resolve are not reported.

    ## Why is this bad?
    The ORM identifies rows by primary key: SQLAlchemy refuses to map a
    declarative class without one (at import time), and a table without a key
    cannot be updated or deleted by row, replicated logically, or kept free of
    duplicates.
    """

    id = "AL332"
    name = "MissingPrimaryKey"
    severity = Severity.ERROR
    INVALID = [
        """
        from sqlmodel import Field, SQLModel


        class AuditEvent(SQLModel, table=True):  # expect: AL332
            actor: str = Field(max_length=100)
            action: str = Field(max_length=50)
        """
    ]
    VALID = [
        """
        from sqlmodel import Field, SQLModel


        class AuditEvent(SQLModel, table=True):
            id: int | None = Field(default=None, primary_key=True)
            actor: str = Field(max_length=100)
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        for model in project.orm.mapped():
            if model.opaque or self._has_key(model, index) or self._library_key(model, index):
                continue
            yield self.finding(
                model.path,
                model.fact.span,
                f"The mapped class `{model.fact.name}` has no primary key: declare one "
                "(`id: Mapped[int] = mapped_column(primary_key=True)`).",
            )

    def _library_key(self, model: Model, index: ProjectIndex) -> bool:
        """A base from a library (fastapi-users' user and OAuth tables) that declares the key itself."""
        globs_ = self.options.primary_key_bases
        for klass in index.mro(model.ref):
            fqn = fqn_of(klass) or ""
            if any(fnmatch.fnmatchcase(fqn, g) for g in globs_):
                return True
        return False

    @staticmethod
    def _has_key(model: Model, index: ProjectIndex) -> bool:
        if any(c.primary_key is not False for c in model.columns.values()):
            return True
        if any(c.kind == "primary_key" for c in model.constraints):
            return True
        if model.table is not None and model.table.opaque:
            return True
        if model.declared_attrs:
            return True  # @declared_attr columns (``id`` on a base) are not read: do not guess
        for klass in model.lineage:
            fact = index.class_fact(klass)
            if fact is None:
                continue
            for assign in fact.assigns:
                if any(isinstance(t, Name) and t.id == "__mapper_args__" for t in assign.targets):
                    return True  # primary_key may be given there; too dynamic to read
        return False


class SqlBuiltFromString(_S12Rule):
    """Reports SQL text built with an f-string, `%`, `.format()` or `+` from values known only at run time.

    Sinks: `text(...)` (pack list) and methods that run SQL strings
    (`execute`, `exec_driver_sql`, asyncpg's `fetch`...; for these the string
    must look like SQL). The string may be built inline or in a local variable
    (reported where it is built). Parts that resolve to constants (module
    constants, settings defaults, `Model.__tablename__`) and safe conversions
    (`int(x)`) are not a risk; bound parameters (`text("... :id")` with
    `{"id": x}`, `execute("... %s", (x,))`) are the fix.

    ## Why is this bad?
    Text spliced into SQL is SQL injection: a value such as `' OR 1=1 --`
    changes the statement. Bound parameters send values separately from the
    SQL, so no value can change it.
    """

    id = "AL333"
    name = "SqlBuiltFromString"
    severity = Severity.ERROR
    security_severity = 8.8
    tags = ("database", "security")
    INVALID = [
        """
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import AsyncSession


        async def find_users(db: AsyncSession, name: str):
            return await db.execute(text(f"SELECT id FROM users WHERE name = '{name}'"))  # expect: AL333
        """
    ]
    VALID = [
        """
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import AsyncSession


        async def find_users(db: AsyncSession, name: str):
            return await db.execute(text("SELECT id FROM users WHERE name = :name"), {"name": name})
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        text_functions = frozenset(self.options.sql_text_functions)
        methods = set(self.options.raw_sql_methods)
        seen: set[tuple[str, Span]] = set()
        for facts, scope, ctx in index.iter_scopes():
            for site in scope.calls:
                call = site.call
                func = call.func
                if not isinstance(func, (Name, Attr)):
                    continue
                raw = False
                if isinstance(func, Attr) and func.attr in methods:
                    raw = True
                elif canonical(index.fqn(func, ctx)) not in text_functions:
                    continue
                sql = _sql_argument(call, raw)
                if sql is None:
                    continue
                built = self._built_at(index, scope, ctx, sql, call)
                if built is None:
                    continue
                span, how, literal = built
                if raw and not self.options.sql_keywords.search(literal):
                    continue
                if (facts.path, span) in seen:
                    continue
                seen.add((facts.path, span))
                yield self.finding(
                    facts.path,
                    span,
                    f"SQL built with {how} from run-time values is open to SQL injection: use bound parameters "
                    '(`text("... WHERE x = :x")` with `{"x": value}`) or `select()`.',
                )

    def _built_at(self, index: ProjectIndex, scope: Scope, ctx: Ctx, sql: Expr, sink: Call) -> tuple[Span, str, str] | None:
        """Where the SQL string is built from run-time values: (span to report, how, its literal text)."""
        inline = self._built(index, ctx, sql)
        if inline is not None:
            return sink.span, inline[0], inline[1]
        if isinstance(sql, Name):
            for assign in scope.assigns:
                if assign.value is None or assign.span.line > sink.span.line:
                    continue
                if not any(isinstance(t, Name) and t.id == sql.id for t in assign.targets):
                    continue
                found = self._built(index, ctx, assign.value, augmented=assign.op == "AddAssign")
                if found is not None:
                    return assign.span, found[0], found[1]
        return None

    def _built(self, index: ProjectIndex, ctx: Ctx, expr: Expr, augmented: bool = False) -> tuple[str, str] | None:
        """(how, literal text) when ``expr`` builds a string from run-time values."""
        if isinstance(expr, FString):
            literal = "".join(str(p.value) for p in expr.parts if isinstance(p, Lit))
            if any(not isinstance(p, Lit) and not self._safe(index, ctx, p) for p in expr.parts):
                return "an f-string", literal
            return None
        if isinstance(expr, Other) and expr.kind == "ConcatenatedString":
            # Implicit concatenation: ("SELECT ... " f"WHERE name = '{name}'")
            leaves = _implicit_leaves(expr)
            literal = "".join(_literal_text(index, ctx, leaf) or "" for leaf in leaves)
            for leaf in leaves:
                if isinstance(leaf, FString) and self._built(index, ctx, leaf) is not None:
                    return "an f-string", literal
            return None
        if isinstance(expr, BinOp) and expr.op == "Modulo":
            left = _literal_text(index, ctx, expr.left)
            if left is not None and not self._safe(index, ctx, expr.right):
                return "`%` formatting", left
            return None
        if isinstance(expr, BinOp) and expr.op == "Add":
            leaves = _concat_leaves(expr)
            texts = [_literal_text(index, ctx, leaf) for leaf in leaves]
            if not any(t is not None for t in texts) and not augmented:
                return None
            dynamic = [leaf for leaf, text in zip(leaves, texts) if text is None and not self._safe(index, ctx, leaf)]
            nested = [self._built(index, ctx, leaf) for leaf in leaves if isinstance(leaf, (FString, Call, BinOp))]
            literal = "".join(t for t in texts if t) + "".join(n[1] for n in nested if n)
            if dynamic or any(nested):
                return "string concatenation", literal
            return None
        if augmented:
            inner = self._built(index, ctx, expr)
            if inner is not None:
                return inner
            if _literal_text(index, ctx, expr) is None and not self._safe(index, ctx, expr):
                return "string concatenation", ""
            return None
        if isinstance(expr, Call) and isinstance(expr.func, Attr) and expr.func.attr == "format":
            template = _literal_text(index, ctx, expr.func.base)
            if template is None:
                return None
            values = [*expr.args, *(v for _, v in expr.kwargs)]
            if any(not self._safe(index, ctx, v) for v in values):
                return "`.format()`", template
        return None

    def _safe(self, index: ProjectIndex, ctx: Ctx, expr: Expr, depth: int = 0) -> bool:
        if isinstance(expr, Other) and expr.kind == "IfExp" and len(expr.children) == 3:
            # ``"a" if x else "b"``: a choice between two constant texts is constant text.
            body, _test, orelse = expr.children
            return self._safe(index, ctx, body, depth) and self._safe(index, ctx, orelse, depth)
        if isinstance(expr, Name) and depth < 4:
            bound = index.definition(expr, ctx)  # ``table = "a" if x else "b"`` bound once, then used
            if bound is not None and isinstance(bound[0], Other) and bound[0].kind == "IfExp":
                return self._safe(index, bound[1], bound[0], depth + 1)
        value = index.evaluate(expr, ctx)
        if isinstance(value, Const) or (isinstance(value, SeqValue) and value.consts() is not None):
            return True
        if isinstance(expr, Call) and canonical(index.fqn(expr.func, ctx)) in self.options.safe_conversions:
            return True
        return False


def _literal_text(index: ProjectIndex, ctx: Ctx, expr: Expr) -> str | None:
    """The text of a string literal or string constant (an f-string's literal parts), else None."""
    if isinstance(expr, Lit) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, FString):
        return "".join(str(p.value) for p in expr.parts if isinstance(p, Lit))
    if isinstance(expr, Other) and expr.kind == "ConcatenatedString":
        leaves = _implicit_leaves(expr)
        texts = [t for leaf in leaves if (t := _literal_text(index, ctx, leaf)) is not None]
        return "".join(texts) if len(texts) == len(leaves) else None
    value = index.evaluate(expr, ctx)
    if isinstance(value, Const) and isinstance(value.value, str):
        return value.value
    return None


def _sql_argument(call: Call, raw: bool) -> Expr | None:
    if call.args:
        return call.args[0]
    for key in ("statement", "query", "sql", "operation") if raw else ("text",):
        value = call.kw(key)
        if value is not None:
            return value
    return None


def _implicit_leaves(expr: Expr) -> list[Expr]:
    if isinstance(expr, Other) and expr.kind == "ConcatenatedString":
        return [leaf for child in expr.children for leaf in _implicit_leaves(child)]
    return [expr]


def _concat_leaves(expr: Expr) -> list[Expr]:
    if isinstance(expr, BinOp) and expr.op == "Add":
        return _concat_leaves(expr.left) + _concat_leaves(expr.right)
    return [expr]


__all__ = ["UnindexedForeignKey", "UnindexedLookupColumn", "MissingPrimaryKey", "SqlBuiltFromString", "Call"]
