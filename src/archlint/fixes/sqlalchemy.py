"""Codemods for SQLAlchemy models: foreign keys indexed, `Column(...)` to `Mapped[...] = mapped_column(...)`."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import RemoveImportsVisitor

from archlint.fixes import FixSource, Rewrite, add_import, keyword_arg, mentioned_names, with_argument
from archlint.model import Span

if TYPE_CHECKING:
    from archlint.checks.s11_typed_models import TypedColumn

COLUMN_CALLS = ("Column", "mapped_column", "Field")


def callee(node: cst.BaseExpression) -> str:
    """The last name of a callee: `sa.Column` -> `Column`."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return ""


def column_call(source: FixSource, span: Span) -> cst.Call | None:
    """The `Column`/`mapped_column`/`Field` call a column finding is about: the call at ``span`` (a `Table`
    column) or the value of the assignment at ``span`` (a class attribute)."""
    call = source.node_at(span, cst.Call)
    if call is None:
        value = source.assigned_value(span)
        call = value if isinstance(value, cst.Call) else None
    return call if call is not None and callee(call.func) in COLUMN_CALLS else None


def index_column(source: FixSource, span: Span) -> cst.Module | None:
    """`index=True` on the column's call (replacing an `index=False`).

    Not for a SQLModel `Field(sa_column=...)`, whose own arguments the column ignores.
    """
    call = column_call(source, span)
    if call is None or keyword_arg(call, "sa_column") is not None:
        return None
    new = with_argument(call, "index", cst.Name("True"))
    return None if new is None else source.replace(call, new)


def typed_columns(source: FixSource, span: Span, columns: list[TypedColumn]) -> Rewrite | None:
    """`x = Column(T, ...)` -> `x: Mapped[P] = mapped_column(T, ...)` (`P | None` where the column is nullable).

    The SQL type and every argument stay as written, so the table is the same;
    the annotation adds the Python type and says the nullability the column
    already had (`Column` is nullable unless `nullable=False` or a primary key,
    and `mapped_column` reads that from `Optional` when `nullable=` is not
    given). Every column of the file with a fix as safe as this one's is
    rewritten at once (the same edits for each finding), so the `Column` import
    goes with its last use.
    """
    this = next((c for c in columns if c.span == span), None)
    if this is None:
        return None
    chosen = [c for c in columns if c.safe or not this.safe]
    # The rewrite is the same for every finding it covers: worked out once per file (a codemod each).
    key = ("typed_columns", tuple(c.span for c in chosen))
    if key not in source.memo:
        source.memo[key] = _typed_columns(source, chosen)
    tree, typed = cast("tuple[cst.Module | None, frozenset[Span]]", source.memo[key])
    if tree is None or span not in typed:
        return None  # this finding's column cannot be typed here
    return Rewrite(tree, "safe" if this.safe else "unsafe")


def _typed_columns(source: FixSource, chosen: list[TypedColumn]) -> tuple[cst.Module | None, frozenset[Span]]:
    """The file with every chosen column typed, and the spans of the columns it types."""
    needed: set[tuple[str, str]] = set()
    names = _Names(source)
    mapped, mapped_column = names.orm("Mapped"), names.orm("mapped_column")
    if mapped is None or mapped_column is None:
        return None, frozenset()
    replacements: dict[cst.CSTNode, cst.CSTNode] = {}
    typed: set[Span] = set()
    for column in chosen:
        statement: cst.Assign | cst.AnnAssign | None = source.node_at(column.span, cst.AnnAssign) or source.node_at(
            column.span, cst.Assign
        )
        if statement is None or not isinstance(statement.value, cst.Call):
            continue
        target = statement.target if isinstance(statement, cst.AnnAssign) else statement.targets[0].target
        if not isinstance(target, cst.Name):
            continue
        python_type = names.type_text(*column.python_type)
        if python_type is None:
            continue
        needed.update(names.wanted)
        names.wanted.clear()
        annotation: cst.BaseExpression = cst.parse_expression(python_type)
        if column.nullable:
            annotation = cst.BinaryOperation(annotation, cst.BitOr(), cst.Name("None"))
        mapped_type = cst.Subscript(cst.parse_expression(mapped), [cst.SubscriptElement(cst.Index(annotation))])
        call = statement.value.with_changes(func=cst.Name(mapped_column))
        new = cst.AnnAssign(
            target=target,
            annotation=cst.Annotation(mapped_type),
            value=call,
            equal=cst.AssignEqual(cst.SimpleWhitespace(" "), cst.SimpleWhitespace(" ")),
            semicolon=statement.semicolon,
        )
        replacements[statement] = new
        typed.add(column.span)
    if not typed:
        return None, frozenset()
    tree = source.module.visit(_Replace(replacements))
    for module, name in sorted(needed | names.orm_wanted):
        tree = add_import(tree, module, name)
    context = CodemodContext()
    for name in names.column_names:
        RemoveImportsVisitor.remove_unused_import(context, "sqlalchemy", name)
    tree = RemoveImportsVisitor(context).transform_module(tree)
    return tree, frozenset(typed)


class _Replace(cst.CSTTransformer):
    def __init__(self, replacements: dict[cst.CSTNode, cst.CSTNode]) -> None:
        super().__init__()
        self.replacements = replacements

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode) -> cst.CSTNode:  # type: ignore[override]
        return self.replacements.get(original, updated)


class _Names:
    """How the file can spell a name: what it imports, what the fix must import, what `Column` is called."""

    def __init__(self, source: FixSource) -> None:
        self.source = source
        self.wanted: set[tuple[str, str]] = set()
        self.orm_wanted: set[tuple[str, str]] = set()
        self.column_names = [k for k, v in source.imported_names("sqlalchemy").items() if v == "Column" and k == v]
        self._bound = mentioned_names(source.module)
        self._modules = _imported_modules(source.module)

    def orm(self, name: str) -> str | None:
        """The local name of `sqlalchemy.orm.<name>` (imported when missing); None when the name means something else."""
        for local, imported in self.source.imported_names("sqlalchemy.orm").items():
            if imported == name:
                return local
        if name in self._bound:
            return None
        self.orm_wanted.add(("sqlalchemy.orm", name))
        return name

    def type_text(self, module: str, name: str) -> str | None:
        if not module:
            return name
        for local, imported in self.source.imported_names(module).items():
            if imported == name:
                return local
        if module in self._modules:
            return f"{module}.{name}"
        if name in self._bound:
            return None
        self.wanted.add((module, name))
        return name


def _imported_modules(tree: cst.Module) -> set[str]:
    """Modules imported whole at module level (`import datetime`), by the name they bind."""
    out: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Import):
                    for alias in small.names:
                        if alias.asname is None and isinstance(alias.name, cst.Name):
                            out.add(alias.name.value)
    return out
