"""S11 — typed SQLAlchemy 2.0 models: DeclarativeBase, Mapped[...] = mapped_column(...), back_populates, loader strategies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from archlint.analysis.orm import ColumnDef, Models, RelationshipDef
from archlint.analysis.static_types import canonical_calls, canonical_of, imported_names
from archlint.checks.base import Project, Rule
from archlint.collect.facts import Attr, Call, ClassFact, Expr, Lit, Name
from archlint.index import ProjectIndex
from archlint.model import Finding, Severity, Span
from archlint.names import canonical
from archlint.pack import option
from archlint.values import ClassRef, Ctx, Instance

if TYPE_CHECKING:
    import libcst as cst

    from archlint.fixes import FixSource, Rewrite


@dataclass(frozen=True, slots=True)
class TypedColumn:
    """What the rule knows of one column it can type: the statement, the Python type, the nullability.

    Defined here, not in `archlint.fixes.sqlalchemy`, so that checking does not import LibCST's codemods.
    """

    span: Span
    #: (module, name): `("", "int")` a builtin or a name as written in the file, `("datetime", "datetime")` an import.
    python_type: tuple[str, str]
    nullable: bool
    safe: bool


@dataclass(frozen=True)
class S11Options:
    legacy_declarative: tuple[str, ...] = option(
        "Dotted names of the 1.x declarative base makers (`declarative_base()`, `@as_declarative`)."
    )
    lazy_strategies: tuple[str, ...] = option(
        "Loader strategies that load on attribute access (the default is `select`): reported in async applications."
    )
    loader_options: tuple[str, ...] = option(
        "Dotted names of query loader options that load a relationship up front (`selectinload`, ...)."
    )
    async_markers: tuple[str, ...] = option(
        "Dotted names whose import makes an application async (`AsyncSession`, `create_async_engine`, ...)."
    )


class _S11Rule(Rule[S11Options]):
    standard = "S11"
    Options = S11Options
    tags = ("database", "models")


class DeclarativeBaseFunction(_S11Rule):
    """Reports the 1.x declarative base makers: `declarative_base()` (either import location) and `@as_declarative`.

    ## Why is this bad?
    SQLAlchemy 2.0's typed base is a class: `class Base(DeclarativeBase)`.
    With it, `Mapped[...]` annotations drive the column types and nullability,
    type checkers understand the models, and the 1.x `declarative_base()`
    function (deprecated in 2.0) goes away.
    """

    id = "AL320"
    name = "DeclarativeBaseFunction"
    severity = Severity.ERROR
    INVALID = [
        """
        from sqlalchemy.ext.declarative import declarative_base

        Base = declarative_base()  # expect: AL320
        """
    ]
    VALID = [
        """
        from sqlalchemy.orm import DeclarativeBase


        class Base(DeclarativeBase):
            pass
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        legacy = frozenset(self.options.legacy_declarative)
        seen: set[tuple[str, int]] = set()
        for facts, site, ctx in canonical_calls(index, legacy):
            name = (canonical(index.fqn(site.call.func, ctx)) or "").rsplit(".", 1)[-1]
            seen.add((facts.path, site.call.span.line))
            yield self.finding(facts.path, site.call.span, self._message(name))
        # registry().generate_base(): the same 1.x base, made by a registry.
        for facts, scope, ctx in index.iter_scopes():
            for site in scope.calls:
                func = site.call.func
                if not (isinstance(func, Attr) and func.attr == "generate_base"):
                    continue
                owner = index.evaluate(func.base, ctx)
                if isinstance(owner, Instance) and canonical_of(owner.type) == "sqlalchemy.orm.registry":
                    seen.add((facts.path, site.call.span.line))
                    yield self.finding(facts.path, site.call.span, self._message("generate_base"))
        for facts in index.modules.values():
            for fact in facts.classes.values():
                outer = Ctx(facts.module, fact.parent or "")
                for deco in fact.decorators:
                    target = deco.func if isinstance(deco, Call) else deco
                    fqn = canonical(index.fqn(target, outer))
                    if fqn in legacy and (facts.path, deco.span.line) not in seen:
                        seen.add((facts.path, deco.span.line))
                        yield self.finding(facts.path, deco.span, self._message(fqn.rsplit(".", 1)[-1]))

    @staticmethod
    def _message(name: str) -> str:
        return f"`{name}` makes a 1.x declarative base: declare `class Base(DeclarativeBase)` from `sqlalchemy.orm`."


class UntypedColumn(_S11Rule):
    """Reports a `Column(...)` (or an un-annotated `mapped_column(...)`) class attribute on a declarative model or its mixin.

    SQLModel's `Field(sa_column=Column(...))` and `Table(...)` columns are not
    class attributes of a declarative model and are not reported.

    ## Why is this bad?
    SQLAlchemy 2.0 declares columns as `name: Mapped[str] = mapped_column(...)`:
    the annotation gives the Python type and the nullability, and type
    checkers see `User.name` as `str` instead of `Column[Any]`.
    """

    id = "AL321"
    name = "UntypedColumn"
    severity = Severity.WARNING
    INVALID = [
        """
        from sqlalchemy import Column, Integer, String
        from sqlalchemy.orm import DeclarativeBase


        class Base(DeclarativeBase):
            pass


        class User(Base):
            __tablename__ = "users"

            id = Column(Integer, primary_key=True)  # expect: AL321
            name = Column(String(100))  # expect: AL321
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
            name: Mapped[str] = mapped_column(String(100))
        """
    ]

    fix_message = "Declare the column as `name: Mapped[...] = mapped_column(...)`."
    #: Per fix: safe when the Python type follows from the SQL type and the column had no annotation (the table is
    #: the same: the SQL type and arguments stay, the annotation says the nullability the column had); unsafe when an
    #: annotation of another kind is replaced.
    FIXES = [
        (
            """
            import datetime
            import enum

            import sqlalchemy as sa
            from sqlalchemy import Boolean, Column, DateTime, Enum, ForeignKey, Integer, String
            from sqlalchemy.orm import DeclarativeBase


            class Base(DeclarativeBase):
                pass


            class Kind(enum.Enum):
                PERSON = "person"
                TEAM = "team"


            class User(Base):
                __tablename__ = "users"

                id = Column(Integer, primary_key=True)
                email = Column(String(320), nullable=False, unique=True)  # the login
                nickname = Column("nick", String(50))
                active = Column(
                    Boolean,
                    default=True,
                    nullable=False,
                )
                created_at = Column(DateTime(timezone=True), default=datetime.datetime.now)
                kind = Column(Enum(Kind), nullable=False)
                team_id = Column(Integer, ForeignKey("teams.id"), index=True)
                paid_at = sa.Column(sa.DateTime)
            """,
            """
            import datetime
            import enum

            import sqlalchemy as sa
            from sqlalchemy import Boolean, DateTime, Enum, ForeignKey, Integer, String
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


            class Base(DeclarativeBase):
                pass


            class Kind(enum.Enum):
                PERSON = "person"
                TEAM = "team"


            class User(Base):
                __tablename__ = "users"

                id: Mapped[int] = mapped_column(Integer, primary_key=True)
                email: Mapped[str] = mapped_column(String(320), nullable=False, unique=True)  # the login
                nickname: Mapped[str | None] = mapped_column("nick", String(50))
                active: Mapped[bool] = mapped_column(
                    Boolean,
                    default=True,
                    nullable=False,
                )
                created_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True), default=datetime.datetime.now)
                kind: Mapped[Kind] = mapped_column(Enum(Kind), nullable=False)
                team_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("teams.id"), index=True)
                paid_at: Mapped[datetime.datetime | None] = mapped_column(sa.DateTime)
            """,
            "safe",
        ),
        (
            # A column without a type takes its foreign key's; a project type's Python type is unknown: no fix.
            """
            from sqlalchemy import Column, ForeignKey, Numeric
            from sqlalchemy.orm import DeclarativeBase

            from app.types import GUID


            class Base(DeclarativeBase):
                pass


            class Order(Base):
                __tablename__ = "orders"

                id = Column(GUID, primary_key=True)
                total: float = Column(Numeric(10, 2), nullable=False)
                owner_id = Column(ForeignKey("users.id"))
            """,
            """
            from decimal import Decimal

            from sqlalchemy import Column, ForeignKey, Numeric
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

            from app.types import GUID


            class Base(DeclarativeBase):
                pass


            class Order(Base):
                __tablename__ = "orders"

                id = Column(GUID, primary_key=True)
                total: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
                owner_id = Column(ForeignKey("users.id"))
            """,
            "unsafe",
        ),
    ]

    def fix(self, finding: Finding, source: FixSource) -> cst.Module | Rewrite | None:
        columns = getattr(self, "_typed", {}).get(finding.path)
        from archlint.fixes import sqlalchemy as sqlalchemy_fixes  # LibCST: only when fixing

        return sqlalchemy_fixes.typed_columns(source, finding.span, columns) if columns else None

    def _column_hint(self, index: ProjectIndex, col: ColumnDef, annotated: bool) -> TypedColumn | None:
        """What the fix needs to type a column: its Python type (from the SQL type) and nullability."""
        call = col.call
        if call is None or any(key is None for key, _ in call.kwargs):
            return None
        flags: dict[str, bool] = {}
        for key in ("nullable", "primary_key"):
            value = call.kw(key)
            if value is not None:
                if not (isinstance(value, Lit) and isinstance(value.value, bool)):
                    return None
                flags[key] = value.value
        nullable = flags.get("nullable", not flags.get("primary_key", False))
        sql_type = call.kw("type_")
        if sql_type is None:
            positional = [a for a in call.args if not (isinstance(a, Lit) and isinstance(a.value, str))]
            sql_type = positional[0] if positional and len(call.args) - len(positional) <= 1 else None
        python_type = _python_type(index, sql_type, col.ctx) if sql_type is not None else None
        if python_type is None:
            return None
        return TypedColumn(col.span, python_type, nullable, safe=not annotated)

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        table = project.orm
        self._typed: dict[str, list[TypedColumn]] = {}
        seen: set[tuple[ClassRef | None, str]] = set()
        for model in table.models.values():
            if model.kind != "declarative":
                continue
            for col in model.columns.values():
                if col.owner is None or (col.owner, col.name) in seen:
                    continue
                fact = index.class_fact(col.owner)
                if fact is None or not _declared_in_body(fact, col.name):
                    continue
                seen.add((col.owner, col.name))
                if col.form in ("Column", "mapped_column") and not (col.form == "mapped_column" and _annotated(fact, col.name)):
                    typed = self._column_hint(index, col, _annotated(fact, col.name))
                    if typed is not None:
                        self._typed.setdefault(col.path, []).append(typed)
                if col.form == "Column":
                    yield self.finding(
                        col.path,
                        col.span,
                        f"`{col.name} = Column(...)` is an untyped 1.x column: declare "
                        f"`{col.name}: Mapped[...] = mapped_column(...)`.",
                    )
                elif col.form == "mapped_column" and not _annotated(fact, col.name):
                    yield self.finding(
                        col.path,
                        col.span,
                        f"`{col.name} = mapped_column(...)` has no `Mapped[...]` annotation: declare "
                        f"`{col.name}: Mapped[...] = mapped_column(...)`.",
                    )


#: SQLAlchemy types (by class name, any module: `sqlalchemy.Integer`, `postgresql.JSONB`) -> the Python type they load.
_PYTHON_TYPES: dict[str, tuple[str, str]] = {
    **dict.fromkeys(("Integer", "SmallInteger", "BigInteger", "INTEGER", "INT", "SMALLINT", "BIGINT"), ("", "int")),
    **dict.fromkeys(
        ("String", "Text", "Unicode", "UnicodeText", "VARCHAR", "NVARCHAR", "CHAR", "NCHAR", "TEXT", "CLOB", "CITEXT"),
        ("", "str"),
    ),
    **dict.fromkeys(("Boolean", "BOOLEAN"), ("", "bool")),
    **dict.fromkeys(("Float", "Double", "REAL", "FLOAT", "DOUBLE", "DOUBLE_PRECISION"), ("", "float")),
    **dict.fromkeys(("Numeric", "NUMERIC", "DECIMAL"), ("decimal", "Decimal")),
    **dict.fromkeys(("DateTime", "DATETIME", "TIMESTAMP"), ("datetime", "datetime")),
    **dict.fromkeys(("Date", "DATE"), ("datetime", "date")),
    **dict.fromkeys(("Time", "TIME"), ("datetime", "time")),
    **dict.fromkeys(("Interval", "INTERVAL"), ("datetime", "timedelta")),
    **dict.fromkeys(("LargeBinary", "BLOB", "BINARY", "VARBINARY", "BYTEA"), ("", "bytes")),
    **dict.fromkeys(("Uuid", "UUID"), ("uuid", "UUID")),
}


def _python_type(index: ProjectIndex, expr: Expr, ctx: Ctx) -> tuple[str, str] | None:
    """The Python type a column of SQL type ``expr`` loads, as (module, name); None when it is not obvious."""
    call = expr if isinstance(expr, Call) else None
    fqn = index.fqn(call.func if call is not None else expr, ctx) or ""
    if not fqn.startswith("sqlalchemy."):
        return None  # a project type (TypeDecorator): its Python type is its own
    name = fqn.rsplit(".", 1)[-1]
    if name == "Enum" and call is not None and call.args:
        first = call.args[0]
        if isinstance(first, Lit) and isinstance(first.value, str):
            return ("", "str")
        text = _dotted(first)
        return ("", text) if text and isinstance(index.evaluate(first, ctx), ClassRef) and len(call.args) == 1 else None
    python_type = _PYTHON_TYPES.get(name)
    if python_type is None or call is None:
        return python_type
    flag = "as_uuid" if python_type == ("uuid", "UUID") else "asdecimal" if name in _DECIMAL_OR_FLOAT else None
    value = call.kw(flag) if flag else None
    if value is None:
        return python_type
    if not (isinstance(value, Lit) and isinstance(value.value, bool)):
        return None
    if flag == "as_uuid":
        return python_type if value.value else ("", "str")
    return ("decimal", "Decimal") if value.value else ("", "float")


_DECIMAL_OR_FLOAT = ("Numeric", "NUMERIC", "DECIMAL", "Float", "Double", "REAL", "FLOAT", "DOUBLE", "DOUBLE_PRECISION")


def _dotted(expr: Expr) -> str:
    if isinstance(expr, Name):
        return expr.id
    if isinstance(expr, Attr):
        base = _dotted(expr.base)
        return f"{base}.{expr.attr}" if base else ""
    return ""


def _declared_in_body(fact: ClassFact, name: str) -> bool:
    return any(any(getattr(t, "id", None) == name for t in a.targets) for a in fact.assigns)


def _annotated(fact: ClassFact, name: str) -> bool:
    return any(a.annotation is not None and any(getattr(t, "id", None) == name for t in a.targets) for a in fact.assigns)


class RelationshipBackref(_S11Rule):
    """Reports `relationship(..., backref=...)` (and SQLModel's `sa_relationship_kwargs={"backref": ...}`).

    ## Why is this bad?
    `backref` creates the other side of the relationship implicitly, at
    mapper configuration time: the attribute appears on the other class
    without a declaration or a type. `back_populates` on both sides keeps
    each model's attributes visible and typed (`Mapped[list["Item"]]`).
    """

    id = "AL322"
    name = "RelationshipBackref"
    severity = Severity.WARNING
    INVALID = [
        """
        from sqlalchemy import ForeignKey
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


        class Base(DeclarativeBase):
            pass


        class Item(Base):
            __tablename__ = "items"

            id: Mapped[int] = mapped_column(primary_key=True)
            owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
            owner = relationship("User", backref="items")  # expect: AL322
        """
    ]
    VALID = [
        """
        from sqlalchemy import ForeignKey
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


        class Base(DeclarativeBase):
            pass


        class Item(Base):
            __tablename__ = "items"

            id: Mapped[int] = mapped_column(primary_key=True)
            owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
            owner: Mapped["User"] = relationship(back_populates="items", lazy="selectin")
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        table = project.orm
        seen: set[tuple[str, Span]] = set()
        for model in table.models.values():
            for rel in model.relationships.values():
                key = (rel.path, rel.span)
                if key in seen or rel.backref is None or (isinstance(rel.backref, Lit) and rel.backref.value is None):
                    continue
                seen.add(key)
                yield self.finding(rel.path, rel.call.span, self._message(rel))
        # relationship(...) calls outside model classes (imperative mappings, helpers).
        for facts, site, ctx in canonical_calls(index, ("sqlalchemy.orm.relationship", "sqlalchemy.orm.relation")):
            scope = facts.scope(ctx.scope)
            if scope is not None and scope.kind == "class":
                continue
            backref = site.call.kw("backref")
            if backref is None or (isinstance(backref, Lit) and backref.value is None):
                continue
            yield self.finding(
                facts.path,
                site.call.span,
                "`backref=` creates the other side implicitly: declare both sides with `back_populates=`.",
            )

    @staticmethod
    def _message(rel: RelationshipDef) -> str:
        return (
            f"`{rel.owner.qualname}.{rel.name}` uses `backref=`, which creates the other side implicitly: "
            "declare both sides with `back_populates=`."
        )


class SqlmodelTableModel(_S11Rule):
    """Reports SQLModel `table=True` models: the standard's models are typed SQLAlchemy 2.0 declarative classes.

    A finding of its own, so a pack that accepts SQLModel can turn it off
    (`[rules.AL323] enabled = false`) and keep the other S11/S12 rules, which
    also read SQLModel tables.

    ## Why is this bad?
    A SQLModel table class mixes the API schema and the table: validation
    rules, response shapes and database columns change together, and the
    SQLAlchemy 2.0 features (`Mapped[...]`, loader strategies, `AsyncAttrs`)
    are reached through `sa_column`/`sa_relationship_kwargs` escape hatches.
    """

    id = "AL323"
    name = "SqlmodelTableModel"
    severity = Severity.WARNING
    INVALID = [
        """
        from sqlmodel import Field, SQLModel


        class Hero(SQLModel, table=True):  # expect: AL323
            id: int | None = Field(default=None, primary_key=True)
            name: str = Field(index=True)
        """
    ]
    VALID = [
        """
        from sqlmodel import Field, SQLModel


        class HeroCreate(SQLModel):
            name: str = Field(max_length=100)
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        for model in project.orm.models.values():
            if model.kind == "sqlmodel" and model.mapped:
                yield self.finding(
                    model.path,
                    model.fact.span,
                    f"`{model.fact.name}` is a SQLModel table model: declare it as a typed SQLAlchemy 2.0 model "
                    "(`DeclarativeBase`, `Mapped[...]`, `mapped_column`) and keep SQLModel/Pydantic for schemas.",
                )


class LazyRelationshipInAsyncApp(_S11Rule):
    """Reports, in an async application, a relationship that loads lazily on attribute access and has no loader strategy.

    An application is async when it imports `AsyncSession`,
    `create_async_engine` or `async_sessionmaker` (pack list). A relationship
    is fine with an explicit strategy (`lazy="selectin"`, `"joined"`,
    `"raise"`, ...), when a query anywhere in the project names it in a loader
    option (`selectinload(User.items)`, `joinedload(...)`, `raiseload(...)`),
    or when its model uses `AsyncAttrs` (`await user.awaitable_attrs.items`).

    ## Why is this bad?
    The default `lazy="select"` emits SQL when the attribute is first read.
    Under `AsyncSession` that implicit I/O cannot run: reading the attribute
    raises `MissingGreenlet` at run time, typically only on the code path a
    test did not cover.
    """

    id = "AL324"
    name = "LazyRelationshipInAsyncApp"
    severity = Severity.WARNING
    precision = "medium"
    INVALID = [
        """
        from sqlalchemy import ForeignKey
        from sqlalchemy.ext.asyncio import AsyncSession
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


        class Base(DeclarativeBase):
            pass


        class User(Base):
            __tablename__ = "users"

            id: Mapped[int] = mapped_column(primary_key=True)
            items: Mapped[list["Item"]] = relationship(back_populates="owner")  # expect: AL324


        class Item(Base):
            __tablename__ = "items"

            id: Mapped[int] = mapped_column(primary_key=True)
            owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
            owner: Mapped[User] = relationship(back_populates="items", lazy="joined")
        """
    ]
    VALID = [
        """
        from sqlalchemy import ForeignKey, select
        from sqlalchemy.ext.asyncio import AsyncSession
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload


        class Base(DeclarativeBase):
            pass


        class User(Base):
            __tablename__ = "users"

            id: Mapped[int] = mapped_column(primary_key=True)
            items: Mapped[list["Item"]] = relationship(back_populates="owner")


        class Item(Base):
            __tablename__ = "items"

            id: Mapped[int] = mapped_column(primary_key=True)
            owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
            owner: Mapped[User] = relationship(back_populates="items", lazy="raise")


        async def users_with_items(db: AsyncSession) -> list[User]:
            return list(await db.scalars(select(User).options(selectinload(User.items))))
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        if not is_async_app(index, self.options.async_markers):
            return
        table = project.orm
        loaded = loader_targets(index, self.options.loader_options)
        lazy = set(self.options.lazy_strategies)
        seen: set[tuple[str, Span]] = set()
        for model in table.models.values():
            if not model.mapped:
                continue
            for rel in model.relationships.values():
                key = (rel.path, rel.span)
                if key in seen:
                    continue
                seen.add(key)
                if rel.opaque or rel.lazy is None or (rel.lazy or "select") not in lazy:
                    continue
                if self._mitigated(rel, table, loaded):
                    continue
                yield self.finding(
                    rel.path,
                    rel.call.span,
                    f"`{rel.owner.qualname}.{rel.name}` loads lazily on attribute access, which raises `MissingGreenlet` "
                    'under `AsyncSession`: set `lazy="selectin"` (or `"raise"`), load it with `selectinload(...)`, '
                    "or use `AsyncAttrs`.",
                )

    @staticmethod
    def _mitigated(rel: RelationshipDef, table: Models, loaded: set[LoaderTarget]) -> bool:
        if ("*", "*") in loaded or (None, rel.name) in loaded:
            return True
        users = [m for m in table.models.values() if rel.owner in m.lineage]
        if any(m.async_attrs for m in users):
            return True
        return any((m.ref, rel.name) in loaded for m in users)


def is_async_app(index: ProjectIndex, markers: Iterable[str]) -> bool:
    wanted = set(markers)
    return any(imported_names(index, facts) & wanted for facts in index.modules.values())


#: A (model, attribute) pair a loader option names: model None for a string path, ("*", "*") for ``"*"``.
LoaderTarget = tuple[ClassRef | Literal["*"] | None, str]


def loader_targets(index: ProjectIndex, loader_options: Iterable[str]) -> set[LoaderTarget]:
    """(model, attribute) pairs named in loader options anywhere: ``selectinload(User.items)``.

    A string path (``selectinload("items")``) gives (None, "items"); ``"*"`` gives ("*", "*").
    """
    fqns = set(loader_options)
    short = {f.rsplit(".", 1)[-1] for f in fqns}
    out: set[LoaderTarget] = set()
    sites = list(canonical_calls(index, fqns))
    # Chained options: selectinload(User.items).selectinload(Item.tags), Load(User).selectinload(...).
    for facts, scope, ctx in index.iter_scopes():
        for site in scope.calls:
            func = site.call.func
            if isinstance(func, Attr) and func.attr in short and isinstance(func.base, Call):
                sites.append((facts, site, ctx))
    for _facts, site, ctx in sites:
        for arg in site.call.args:
            if isinstance(arg, Lit) and isinstance(arg.value, str):
                out.add(("*", "*") if arg.value == "*" else (None, arg.value.rsplit(".", 1)[-1]))
            elif isinstance(arg, Attr):
                owner = index.evaluate(arg.base, ctx)
                out.add((owner if isinstance(owner, ClassRef) else None, arg.attr))
    return out
