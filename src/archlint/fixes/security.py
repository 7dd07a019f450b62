"""Codemods for authentication findings: the bcrypt cost raised, `algorithms=` given to `jwt.decode`."""

from __future__ import annotations

import libcst as cst

from archlint.fixes import FixSource, Rewrite, with_argument
from archlint.model import Span

#: Keywords that hand a bcrypt cost straight to the hashing library (a literal there sets only that cost).
COST_KEYWORDS = (
    "rounds",
    "bcrypt__rounds",
    "bcrypt__default_rounds",
    "bcrypt_sha256__rounds",
    "bcrypt_sha256__default_rounds",
    "all__rounds",
)


def raise_cost(source: FixSource, span: Span, cost: int) -> Rewrite | None:
    """The integer literal at ``span`` becomes ``cost``.

    Safe when the literal is the cost argument of the hashing call itself: it
    sets nothing else, and hashes made with the old cost still verify (bcrypt
    stores the cost in each hash). Unsafe when it is a constant, a settings
    default or one branch of a condition: other code may read the same value.
    """
    literal = source.node_at(span, cst.Integer) or _assigned_literal(source, span)
    if literal is None or literal.evaluated_value >= cost:
        return None
    arg = source.enclosing(literal, cst.Arg)
    direct = isinstance(arg, cst.Arg) and arg.value is literal and (arg.keyword is None or arg.keyword.value in COST_KEYWORDS)
    tree = source.replace(literal, literal.with_changes(value=str(cost)))
    return Rewrite(tree, "safe" if direct else "unsafe")


def _assigned_literal(source: FixSource, span: Span) -> cst.Integer | None:
    """The integer assigned by the statement at ``span`` (a constant, a settings field's default)."""
    value = source.assigned_value(span)
    return value if isinstance(value, cst.Integer) else None


def name_algorithms(source: FixSource, span: Span, expression: str, safe: bool) -> Rewrite | None:
    """`jwt.decode(token, key)` -> `jwt.decode(token, key, algorithms=[expression])`.

    A positional or keyword `None` in the place of `algorithms` is replaced.
    """
    call = source.node_at(span, cst.Call)
    if call is None:
        return None
    value = cst.List([cst.Element(cst.parse_expression(expression))])
    positional = [a for a in call.args if a.keyword is None and not a.star]
    new: cst.CSTNode | None
    if len(positional) > 2:
        third = positional[2]
        if not (isinstance(third.value, cst.Name) and third.value.value == "None"):
            return None
        new = call.deep_replace(third, third.with_changes(value=value))
    else:
        new = with_argument(call, "algorithms", value)
    if not isinstance(new, cst.Call):
        return None
    return Rewrite(source.replace(call, new), "safe" if safe else "unsafe")
