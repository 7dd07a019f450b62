"""Codemods for SQLAlchemy models: foreign keys indexed, `Column(...)` to `Mapped[...] = mapped_column(...)`."""

from __future__ import annotations

import libcst as cst

from archlint.fixes import FixSource, keyword_arg, with_argument
from archlint.model import Span

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
