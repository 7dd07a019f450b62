"""SQLAlchemy and SQLModel models, read statically: classes, columns, relationships, constraints.

``read_models(index)`` (built once per project as ``project.orm``) finds every class that is a
SQLAlchemy declarative model (its bases reach ``DeclarativeBase``, a
``declarative_base()`` result or an ``@as_declarative`` class) or a SQLModel
class, and for each one the columns and relationships it declares or
inherits (mixins and non-table SQLModel bases included), with the flags the
data-layer rules care about: primary key, index, unique, foreign key, loader
strategy. ``Table(...)`` objects are read the same way. A flag that is not a
literal (``index=settings.X``, ``**kwargs``) is ``None``: unknown, so rules
stay silent.

This is library vocabulary (what a column constructor is), not policy: the
rules' name lists live in the pack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from archlint.analysis.static_types import canonical_of
from archlint.collect.facts import Attr, Call, ClassFact, DictExpr, Expr, Lit, Name, Seq, Subscript
from archlint.model import Span
from archlint.names import (
    AS_DECLARATIVE,
    ASYNC_ATTRS,
    CLASSVAR,
    COLUMN,
    COLUMN_PROPERTY,
    DECLARATIVE_BASES,
    DECLARATIVE_FUNCTIONS,
    DECLARED_ATTR,
    FOREIGN_KEY,
    FOREIGN_KEY_CONSTRAINT,
    INDEX,
    MAPPED,
    MAPPED_COLUMN,
    PRIMARY_KEY,
    RELATIONSHIP,
    SQLMODEL,
    SQLMODEL_FIELD,
    SQLMODEL_RELATIONSHIP,
    TABLE,
    UNIQUE,
    canonical,
)
from archlint.values import ClassRef, Const, Ctx, Instance, Symbol, TypeForm, Unknown, Value

if TYPE_CHECKING:
    from archlint.index import ProjectIndex

_DIRECTIVES = frozenset({"__tablename__", "__table_args__", "__mapper_args__", "__table__"})

#: A flag's value: True/False when literal, None when unknown.
Flag = bool | None


@dataclass(slots=True)
class ColumnDef:
    """One column declared in a class body or a ``Table(...)`` call."""

    name: str  # attribute name (or the Table column's name)
    db_name: str | None  # an explicit column name, when given
    path: str
    span: Span  # the statement (or the Column call in a Table)
    ctx: Ctx
    owner: ClassRef | None  # the class whose body declares it (None for Table columns)
    call: Call | None  # Column / mapped_column / Field call, if any
    primary_key: Flag = False
    index: Flag = False
    unique: Flag = False
    foreign_key: Flag = False
    #: The constructor actually used: "Column", "mapped_column", "Field", "annotation", "column_property".
    form: str = ""

    def names(self) -> set[str]:
        return {n for n in (self.name, self.db_name) if n}


@dataclass(slots=True)
class RelationshipDef:
    name: str
    path: str
    span: Span
    ctx: Ctx
    owner: ClassRef
    call: Call
    #: Literal loader strategy, "" when not given, None when not literal.
    lazy: str | None = ""
    backref: Expr | None = None
    back_populates: Expr | None = None
    target: str | None = None  # the related class's name, when literal
    opaque: bool = False  # **kwargs: anything may be set


@dataclass(slots=True)
class Constraint:
    kind: str  # index, unique, primary_key, foreign_key
    columns: tuple[str, ...]
    path: str
    span: Span
    opaque: bool = False  # some column could not be named


@dataclass(slots=True)
class Model:
    ref: ClassRef
    fact: ClassFact
    path: str
    kind: str  # declarative or sqlmodel
    #: A concrete mapped class (it has or inherits a table and is not abstract).
    mapped: bool
    #: A class directly on DeclarativeBase / decorated with @as_declarative (the base, not a model).
    root: bool = False
    #: Own and inherited columns, the subclass's definition first.
    columns: dict[str, ColumnDef] = field(default_factory=dict)
    relationships: dict[str, RelationshipDef] = field(default_factory=dict)
    constraints: list[Constraint] = field(default_factory=list)
    #: Some base could not be resolved, or __table_args__/__table__ is not literal.
    opaque: bool = False
    async_attrs: bool = False
    #: ``__table__ = Table(...)``: the table that maps it.
    table: TableDef | None = None
    #: Attributes declared by ``@declared_attr`` functions (their columns are not read).
    declared_attrs: tuple[str, ...] = ()
    #: Classes in the mro that are project classes (self first).
    lineage: tuple[ClassRef, ...] = ()


@dataclass(slots=True)
class TableDef:
    name: str | None
    path: str
    call: Call
    ctx: Ctx
    columns: dict[str, ColumnDef] = field(default_factory=dict)
    constraints: list[Constraint] = field(default_factory=list)
    opaque: bool = False


@dataclass(slots=True)
class Models:
    models: dict[ClassRef, Model]
    tables: list[TableDef]
    #: Index/constraint calls outside class bodies attached to a class (by its attributes).
    external: dict[ClassRef, list[Constraint]]

    def mapped(self) -> list[Model]:
        return [m for m in self.models.values() if m.mapped]

    def get(self, ref: Value | None) -> Model | None:
        return self.models.get(ref) if isinstance(ref, ClassRef) else None


def read_models(index: ProjectIndex) -> Models:
    """Every model class and ``Table`` of the project (``project.orm`` keeps the one result)."""
    return _Reader(index).read()


def flag(index: ProjectIndex, expr: Expr | None, ctx: Ctx) -> Flag:
    """A boolean keyword's literal value; None when it is not a literal."""
    if expr is None:
        return False
    value = index.const(expr, ctx)
    if isinstance(value, Unknown):
        return None
    return bool(value)


def call_fqn(index: ProjectIndex, call: Call, ctx: Ctx) -> str | None:
    return canonical(index.fqn(call.func, ctx))


class _Reader:
    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self._kinds: dict[ClassRef, tuple[str | None, bool, bool]] = {}

    # --------------------------------------------------------- classify
    def classify(self, ref: ClassRef, depth: int = 0) -> tuple[str | None, bool, bool]:
        """(kind, root, opaque): kind is declarative/sqlmodel/None."""
        if ref in self._kinds:
            return self._kinds[ref]
        self._kinds[ref] = (None, False, True)  # cycle guard
        fact = self.index.class_fact(ref)
        result: tuple[str | None, bool, bool] = (None, False, False)
        if fact is not None and depth < 32:
            outer = Ctx(ref.module, fact.parent or "")
            root = any(canonical(self.index.fqn(_callee(d), outer)) in AS_DECLARATIVE for d in fact.decorators)
            kind: str | None = "declarative" if root else None
            opaque = False
            for base in fact.bases:
                value = self.index.evaluate(base, outer)
                if isinstance(value, TypeForm):
                    value = value.origin
                fqn = canonical_of(value) if isinstance(value, (Symbol, ClassRef)) else None
                if isinstance(value, Symbol) and fqn in DECLARATIVE_BASES:
                    kind, root = "declarative", True
                elif isinstance(value, Symbol) and fqn in SQLMODEL:
                    kind = kind or "sqlmodel"
                elif isinstance(value, Instance) and canonical_of(value.type) in DECLARATIVE_FUNCTIONS:
                    kind = "declarative"
                elif isinstance(value, ClassRef):
                    sub, _, sub_opaque = self.classify(value, depth + 1)
                    if sub is not None:
                        kind = kind or sub
                        opaque = opaque or sub_opaque
                elif isinstance(value, Unknown):
                    opaque = True
            result = (kind, root, opaque)
        self._kinds[ref] = result
        return result

    # ------------------------------------------------------------- read
    def read(self) -> Models:
        index = self.index
        out: dict[ClassRef, Model] = {}
        for facts in index.modules.values():
            for fact in facts.classes.values():
                ref = ClassRef(facts.module, fact.qualname)
                kind, root, opaque = self.classify(ref)
                if kind is None:
                    continue
                out[ref] = self._model(ref, fact, facts.path, kind, root, opaque)
        tables = self._tables()
        external = self._external_constraints(out)
        for ref, extra in external.items():
            for model in out.values():
                if ref in model.lineage:
                    model.constraints.extend(extra)
        return Models(out, tables, external)

    def _model(self, ref: ClassRef, fact: ClassFact, path: str, kind: str, root: bool, opaque: bool) -> Model:
        index = self.index
        lineage = self._lineage(ref)
        model = Model(ref, fact, path, kind, mapped=False, root=root, opaque=opaque, lineage=lineage)
        model.async_attrs = any(canonical_of(k) in ASYNC_ATTRS for k in index.mro(ref))
        if kind == "sqlmodel":
            table_keyword = fact.keyword("table")
            model.mapped = table_keyword is not None and flag(index, table_keyword, Ctx(ref.module, fact.parent or "")) is True
        else:
            abstract = _own_flag(index, fact, ref, "__abstract__")
            has_table = any({"__tablename__", "__table__"} & _class_names(index.class_fact(k)) for k in lineage)
            model.mapped = not root and has_table and abstract is not True
            if abstract is None:
                model.opaque = True
        for klass in lineage:
            kfact = index.class_fact(klass)
            if kfact is None:
                continue
            kpath = index.modules[klass.module].path
            sqlmodel = kind == "sqlmodel"
            for col in self._columns(klass, kfact, kpath, sqlmodel):
                model.columns.setdefault(col.name, col)
            for rel in self._relationships(klass, kfact, kpath):
                model.relationships.setdefault(rel.name, rel)
            model.declared_attrs += self._declared_attrs(klass, kfact)
            constraints, table_opaque, table = self._class_constraints(klass, kfact, kpath)
            model.constraints.extend(constraints)
            model.opaque = model.opaque or table_opaque
            if table is not None and model.table is None:
                model.table = table
                for col in table.columns.values():
                    model.columns.setdefault(col.name, col)
                model.constraints.extend(table.constraints)
        return model

    def _lineage(self, ref: ClassRef) -> tuple[ClassRef, ...]:
        """Project classes in the mro, plus the ``cls=`` class of a ``declarative_base(cls=...)`` base."""
        index = self.index
        out: list[ClassRef] = []
        stack: list[ClassRef] = [ref]
        while stack and len(out) < 64:
            klass = stack.pop(0)
            for k in index.mro(klass):
                fact = index.class_fact(k) if isinstance(k, ClassRef) and k not in out else None
                if not isinstance(k, ClassRef) or fact is None:
                    continue
                out.append(k)
                outer = Ctx(k.module, fact.parent or "")
                for base in fact.bases:
                    value = index.evaluate(base, outer)
                    if isinstance(value, Instance) and canonical_of(value.type) in DECLARATIVE_FUNCTIONS:
                        mixin = value.call.kw("cls")
                        made = index.evaluate(mixin, value.ctx) if mixin is not None else None
                        if isinstance(made, ClassRef) and made not in out:
                            stack.append(made)
        return tuple(out)

    def _declared_attrs(self, ref: ClassRef, fact: ClassFact) -> tuple[str, ...]:
        facts = self.index.modules[ref.module]
        outer = Ctx(ref.module, fact.qualname)
        out = []
        for name, qualname in fact.defs.items():
            fn = facts.functions.get(qualname)
            if fn is None or name in _DIRECTIVES:
                continue
            for deco in fn.decorators:
                target = _callee(deco)
                while isinstance(target, Attr) and canonical(self.index.fqn(target, outer)) not in DECLARED_ATTR:
                    target = target.base  # @declared_attr.directive, @declared_attr.cascading
                if canonical(self.index.fqn(target, outer)) in DECLARED_ATTR:
                    out.append(name)
                    break
        return tuple(out)

    # ---------------------------------------------------------- columns
    def _columns(self, ref: ClassRef, fact: ClassFact, path: str, sqlmodel: bool) -> list[ColumnDef]:
        index = self.index
        ctx = Ctx(ref.module, fact.qualname)
        out: list[ColumnDef] = []
        for assign in fact.assigns:
            if len(assign.targets) != 1 or not isinstance(assign.targets[0], Name):
                continue
            name = assign.targets[0].id
            if name.startswith("__") or assign.op is not None:
                continue
            annotation_calls = self._annotation_columns(assign.annotation, ctx)
            if assign.annotation is not None and self._is_classvar(assign.annotation, ctx):
                continue
            value = assign.value
            call = value if isinstance(value, Call) else None
            fqn = call_fqn(index, call, ctx) if call is not None else None
            if fqn in RELATIONSHIP or fqn in SQLMODEL_RELATIONSHIP:
                continue
            col = ColumnDef(name, None, path, assign.span, ctx, ref, call)
            if fqn in COLUMN_PROPERTY:
                continue
            if call is not None and (fqn in COLUMN or fqn in MAPPED_COLUMN):
                col.form = "Column" if fqn in COLUMN else "mapped_column"
                self._column_flags(col, [*annotation_calls, (call, ctx)])
            elif call is not None and fqn in SQLMODEL_FIELD and sqlmodel:
                col.form = "Field"
                self._field_flags(col, call, ctx)
            elif sqlmodel and assign.annotation is not None:
                col.form = "annotation"
            elif assign.annotation is not None and self._is_mapped(assign.annotation, ctx) and value is None:
                col.form = "annotation"
                self._column_flags(col, annotation_calls)
            else:
                continue
            out.append(col)
        return out

    def _is_mapped(self, annotation: Expr, ctx: Ctx) -> bool:
        base = annotation.base if isinstance(annotation, Subscript) else annotation
        return canonical(self.index.fqn(base, ctx)) in MAPPED

    def _is_classvar(self, annotation: Expr, ctx: Ctx) -> bool:
        base = annotation.base if isinstance(annotation, Subscript) else annotation
        return canonical(self.index.fqn(base, ctx)) in CLASSVAR

    def _annotation_columns(self, annotation: Expr | None, ctx: Ctx) -> list[tuple[Call, Ctx]]:
        """``Mapped[intpk]`` with ``intpk = Annotated[int, mapped_column(primary_key=True)]``."""
        if not isinstance(annotation, Subscript) or not self._is_mapped(annotation, ctx):
            return []
        found: list[tuple[Call, Ctx]] = []

        def walk(value: Value, depth: int) -> None:
            if depth > 6:
                return
            if isinstance(value, TypeForm):
                for item in value.args:
                    walk(item, depth + 1)
            elif isinstance(value, Instance) and canonical_of(value.type) in MAPPED_COLUMN:
                found.append((value.call, value.ctx))

        for item in annotation.items:
            walk(self.index.evaluate(item, ctx), 0)
        return found

    def _column_flags(self, col: ColumnDef, calls: list[tuple[Call, Ctx]]) -> None:
        """Merge the flags of mapped_column/Column calls (later calls win)."""
        index = self.index
        for call, ctx in calls:
            if any(k is None for k, _ in call.kwargs):
                col.primary_key = col.index = col.unique = None
            for i, arg in enumerate(call.args):
                if i == 0 and isinstance(arg, Lit) and isinstance(arg.value, str):
                    col.db_name = arg.value
                if isinstance(arg, Call) and call_fqn(index, arg, ctx) in FOREIGN_KEY:
                    col.foreign_key = True
            for key in ("primary_key", "index", "unique"):
                given = call.kw(key)
                if given is not None:
                    setattr(col, key, flag(index, given, ctx))
            name = call.kw("name")
            if isinstance(name, Lit) and isinstance(name.value, str):
                col.db_name = name.value

    def _field_flags(self, col: ColumnDef, call: Call, ctx: Ctx) -> None:
        index = self.index
        if any(k is None for k, _ in call.kwargs):
            col.primary_key = col.index = col.unique = None
        for key in ("primary_key", "index", "unique"):
            given = call.kw(key)
            if given is not None:
                setattr(col, key, flag(index, given, ctx))
        fk = call.kw("foreign_key")
        if fk is not None and not (isinstance(fk, Lit) and fk.value is None):
            col.foreign_key = True
        sa_column = call.kw("sa_column")
        if isinstance(sa_column, Call) and call_fqn(index, sa_column, ctx) in COLUMN | MAPPED_COLUMN | COLUMN_PROPERTY:
            col.primary_key = col.index = col.unique = False
            self._column_flags(col, [(sa_column, ctx)])
        elif sa_column is not None:
            col.primary_key = col.index = col.unique = col.foreign_key = None
        args = call.kw("sa_column_args")
        if isinstance(args, Seq):
            for arg in args.items:
                if isinstance(arg, Call) and call_fqn(index, arg, ctx) in FOREIGN_KEY:
                    col.foreign_key = True
        kwargs = call.kw("sa_column_kwargs")
        if isinstance(kwargs, DictExpr):
            for key in ("primary_key", "index", "unique"):
                given = kwargs.get(key)
                if given is not None:
                    setattr(col, key, flag(index, given, ctx))
        elif kwargs is not None:
            col.primary_key = col.index = col.unique = None

    # ---------------------------------------------------- relationships
    def _relationships(self, ref: ClassRef, fact: ClassFact, path: str) -> list[RelationshipDef]:
        index = self.index
        ctx = Ctx(ref.module, fact.qualname)
        out: list[RelationshipDef] = []
        for assign in fact.assigns:
            if len(assign.targets) != 1 or not isinstance(assign.targets[0], Name) or not isinstance(assign.value, Call):
                continue
            call = assign.value
            fqn = call_fqn(index, call, ctx)
            rel: RelationshipDef | None = None
            if fqn in RELATIONSHIP:
                rel = RelationshipDef(assign.targets[0].id, path, assign.span, ctx, ref, call)
                self._relationship_flags(rel, call, ctx)
            elif fqn in SQLMODEL_RELATIONSHIP:
                rel = RelationshipDef(assign.targets[0].id, path, assign.span, ctx, ref, call)
                nested = call.kw("sa_relationship")
                kwargs = call.kw("sa_relationship_kwargs")
                if isinstance(nested, Call) and call_fqn(index, nested, ctx) in RELATIONSHIP:
                    self._relationship_flags(rel, nested, ctx)
                elif nested is not None:
                    rel.opaque, rel.lazy = True, None
                if isinstance(kwargs, DictExpr):
                    lazy = kwargs.get("lazy")
                    if lazy is not None:
                        rel.lazy = _literal_str(index, lazy, ctx)
                    rel.backref = kwargs.get("backref") or rel.backref
                    rel.back_populates = kwargs.get("back_populates") or rel.back_populates
                elif kwargs is not None:
                    rel.opaque, rel.lazy = True, None
                rel.back_populates = call.kw("back_populates") or rel.back_populates
            if rel is not None:
                rel.target = _relationship_target(assign.annotation, call)
                out.append(rel)
        return out

    def _relationship_flags(self, rel: RelationshipDef, call: Call, ctx: Ctx) -> None:
        if any(k is None for k, _ in call.kwargs):
            rel.opaque, rel.lazy = True, None
        lazy = call.kw("lazy")
        if lazy is not None:
            rel.lazy = _literal_str(self.index, lazy, ctx)
        rel.backref = call.kw("backref")
        rel.back_populates = call.kw("back_populates")

    # ------------------------------------------------------ constraints
    def _class_constraints(self, ref: ClassRef, fact: ClassFact, path: str) -> tuple[list[Constraint], bool, TableDef | None]:
        index = self.index
        ctx = Ctx(ref.module, fact.qualname)
        out: list[Constraint] = []
        opaque = False
        table: TableDef | None = None
        for assign in fact.assigns:
            names = {t.id for t in assign.targets if isinstance(t, Name)}
            if "__table_args__" in names:
                value = assign.value
                items = value.items if isinstance(value, Seq) else (value,) if isinstance(value, (Call, DictExpr)) else None
                if items is None:
                    opaque = True
                    continue
                for item in items:
                    if isinstance(item, DictExpr):
                        continue
                    if isinstance(item, Call):
                        constraint = self._constraint(item, ctx, path)
                        if constraint is not None:
                            out.append(constraint)
                        continue
                    opaque = True
            if "__table__" in names:
                if isinstance(assign.value, Call) and call_fqn(index, assign.value, ctx) in TABLE:
                    table = self._table(assign.value, ctx, path)
                else:
                    opaque = True
        # ``@declared_attr def __table_args__(cls)`` and other methods of the class.
        facts = index.modules[ref.module]
        for qualname in fact.defs.values():
            fn = facts.functions.get(qualname)
            if fn is not None and fn.name == "__table_args__":
                for site in fn.calls:
                    constraint = self._constraint(site.call, Ctx(ref.module, fn.qualname), path)
                    if constraint is not None:
                        out.append(constraint)
        return out, opaque, table

    def _constraint(self, call: Call, ctx: Ctx, path: str) -> Constraint | None:
        fqn = call_fqn(self.index, call, ctx)
        if fqn in INDEX:
            kind = "unique" if flag(self.index, call.kw("unique"), ctx) else "index"
            columns = call.args[1:]
        elif fqn in UNIQUE:
            kind, columns = "unique", call.args
        elif fqn in PRIMARY_KEY:
            kind, columns = "primary_key", call.args
        elif fqn in FOREIGN_KEY_CONSTRAINT:
            first = call.arg(0, "columns")
            kind, columns = "foreign_key", (first.items if isinstance(first, Seq) else ())
            if not isinstance(first, Seq):
                return None
        else:
            return None
        names: list[str] = []
        opaque = False
        for col in columns:
            name = _column_name(col)
            if name is None:
                opaque = True
            else:
                names.append(name)
        return Constraint(kind, tuple(names), path, call.span, opaque)

    def _external_constraints(self, found: dict[ClassRef, Model]) -> dict[ClassRef, list[Constraint]]:
        """``Index("ix", Item.owner_id)`` written outside the class body."""
        index = self.index
        out: dict[ClassRef, list[Constraint]] = {}
        for facts, site, ctx in index.iter_calls():
            call = site.call
            if call_fqn(index, call, ctx) not in INDEX | UNIQUE | PRIMARY_KEY:
                continue
            scope = facts.scope(ctx.scope)
            if scope is not None and scope.kind == "class":
                continue
            owner: ClassRef | None = None
            for arg in call.args:
                base = _attr_root(arg)
                if base is None:
                    continue
                value = index.evaluate(base, ctx)
                if isinstance(value, ClassRef) and value in found:
                    owner = value
                    break
            if owner is None:
                continue
            constraint = self._constraint(call, ctx, facts.path)
            if constraint is not None:
                out.setdefault(owner, []).append(constraint)
        return out

    # ----------------------------------------------------------- tables
    def _tables(self) -> list[TableDef]:
        index = self.index
        out: list[TableDef] = []
        for facts, site, ctx in index.iter_calls():
            scope = facts.scope(ctx.scope)
            if scope is not None and scope.kind == "class":
                continue  # __table__ = Table(...): read with its class
            if call_fqn(index, site.call, ctx) in TABLE:
                out.append(self._table(site.call, ctx, facts.path))
        # Index("ix", table.c.col) outside the Table call.
        for facts, site, ctx in index.iter_calls():
            call = site.call
            if call_fqn(index, call, ctx) not in INDEX | UNIQUE:
                continue
            roots = [r for r in (_table_column_root(a) for a in call.args) if r is not None]
            if not roots:
                continue
            value = index.evaluate(roots[0], ctx)
            for table in out:
                if isinstance(value, Instance) and value.call == table.call and value.ctx == table.ctx:
                    constraint = self._constraint(call, ctx, facts.path)
                    if constraint is not None:
                        table.constraints.append(constraint)
        return out

    def _table(self, call: Call, ctx: Ctx, path: str) -> TableDef:
        index = self.index
        name = call.args[0].value if call.args and isinstance(call.args[0], Lit) else None
        table = TableDef(name if isinstance(name, str) else None, path, call, ctx)
        if any(k is None for k, _ in call.kwargs):
            table.opaque = True
        for arg in call.args[2:]:
            if not isinstance(arg, Call):
                table.opaque = True
                continue
            fqn = call_fqn(index, arg, ctx)
            if fqn == "sqlalchemy.Column":
                col_name = arg.args[0].value if arg.args and isinstance(arg.args[0], Lit) else None
                if not isinstance(col_name, str):
                    table.opaque = True
                    continue
                col = ColumnDef(col_name, None, path, arg.span, ctx, None, arg, form="Column")
                self._column_flags(col, [(arg, ctx)])
                table.columns[col_name] = col
            else:
                constraint = (
                    self._constraint(arg, ctx, path) if fqn in INDEX | UNIQUE | PRIMARY_KEY | FOREIGN_KEY_CONSTRAINT else None
                )
                if constraint is not None:
                    table.constraints.append(constraint)
                elif fqn is None:
                    table.opaque = True
        return table


def _callee(expr: Expr) -> Expr:
    return expr.func if isinstance(expr, Call) else expr


def _class_names(fact: ClassFact | None) -> set[str]:
    if fact is None:
        return set()
    names = {t.id for a in fact.assigns for t in a.targets if isinstance(t, Name)}
    return names | set(fact.defs)


def _own_flag(index: ProjectIndex, fact: ClassFact, ref: ClassRef, name: str) -> Flag:
    for assign in fact.assigns:
        if any(isinstance(t, Name) and t.id == name for t in assign.targets):
            return flag(index, assign.value, Ctx(ref.module, fact.qualname)) if assign.value is not None else None
    return False


def _literal_str(index: ProjectIndex, expr: Expr, ctx: Ctx) -> str | None:
    value = index.const(expr, ctx)
    if isinstance(value, bool):
        return {True: "select", False: "joined"}[value]
    if isinstance(value, str):
        return value
    if value is None:
        return "noload"
    return None


def _column_name(expr: Expr) -> str | None:
    """A column named in an Index/constraint: "owner_id", owner_id, Item.owner_id, table.c.owner_id."""
    if isinstance(expr, Lit) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, Name):
        return expr.id
    if isinstance(expr, Attr):
        return expr.attr
    if (
        isinstance(expr, Call)
        and isinstance(expr.func, Attr)
        and expr.func.attr in ("asc", "desc")
        and isinstance(expr.func.base, Attr)
    ):
        return expr.func.base.attr
    return None


def _attr_root(expr: Expr) -> Expr | None:
    """``Item`` in ``Item.owner_id`` / ``Item.owner_id.desc()``."""
    if isinstance(expr, Call) and isinstance(expr.func, Attr):
        expr = expr.func.base
    if isinstance(expr, Attr) and isinstance(expr.base, (Name, Attr)):
        return expr.base
    return None


def _table_column_root(expr: Expr) -> Expr | None:
    """``items`` in ``items.c.owner_id``."""
    if isinstance(expr, Attr) and isinstance(expr.base, Attr) and expr.base.attr in ("c", "columns"):
        return expr.base.base
    return None


def _relationship_target(annotation: Expr | None, call: Call) -> str | None:
    first = call.args[0] if call.args else call.kw("argument")
    if isinstance(first, Lit) and isinstance(first.value, str):
        return first.value
    if isinstance(first, Name):
        return first.id
    node = annotation
    while isinstance(node, Subscript) and node.items:
        node = node.items[0]
    if isinstance(node, Lit) and isinstance(node.value, str):
        return node.value.strip("'\"")
    if isinstance(node, Name):
        return node.id
    return None


__all__ = [
    "ColumnDef",
    "Constraint",
    "Model",
    "Models",
    "RelationshipDef",
    "TableDef",
    "Const",
    "read_models",
    "flag",
]
