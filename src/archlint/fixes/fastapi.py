"""Codemods for FastAPI findings: `Annotated` dependencies, redundant `response_model`, 201 on create."""

from __future__ import annotations

import libcst as cst

from archlint.fixes import FixSource, add_import, with_argument
from archlint.model import Span


def depends_to_annotated(source: FixSource, span: Span) -> cst.Module | None:
    """`db: Session = Depends(get_db)` -> `db: Annotated[Session, Depends(get_db)]` (Ruff FAST002's fix).

    No fix for a parameter without an annotation, nor when dropping the default
    would leave a parameter without default after one with a default (a syntax error).
    """
    call = source.node_at(span, cst.Call)
    if call is None:
        return None
    param = source.enclosing(call, cst.Param)
    if not isinstance(param, cst.Param) or param.default is not call or param.annotation is None:
        return None
    params = source.enclosing(param, cst.Parameters)
    if isinstance(params, cst.Parameters) and not _may_lose_default(params, param):
        return None
    local = _annotated_name(source)
    annotated = cst.Subscript(
        value=cst.parse_expression(local),
        slice=[
            cst.SubscriptElement(
                cst.Index(param.annotation.annotation), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            ),
            cst.SubscriptElement(cst.Index(call)),
        ],
    )
    new_param = param.with_changes(
        annotation=param.annotation.with_changes(annotation=annotated),
        default=None,
        equal=cst.MaybeSentinel.DEFAULT,
    )
    tree = source.replace(param, new_param)
    return tree if local != "Annotated" or "Annotated" in _bound(source) else add_import(tree, "typing", "Annotated")


def _may_lose_default(params: cst.Parameters, target: cst.Param) -> bool:
    """Whether ``target`` can drop its default: keyword-only, or no positional default before it stays."""
    if any(p is target for p in params.kwonly_params):
        return True
    for p in [*params.posonly_params, *params.params]:
        if p is target:
            return True
        if p.default is not None and not _converted(p):
            return False
    return True


def _converted(param: cst.Param) -> bool:
    """A parameter whose `Depends(...)` default this fix turns into `Annotated` in the same pass."""
    default = param.default
    return (
        param.annotation is not None and isinstance(default, cst.Call) and _callee_name(default.func) in ("Depends", "Security")
    )


def _callee_name(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return ""


def _bound(source: FixSource) -> dict[str, str]:
    return {**source.imported_names("typing"), **source.imported_names("typing_extensions")}


def _annotated_name(source: FixSource) -> str:
    for local, name in _bound(source).items():
        if name == "Annotated":
            return local
    return "Annotated"


def remove_argument(source: FixSource, span: Span, keyword: str) -> cst.Module | None:
    """The call argument ``keyword=...`` whose value starts at ``span``, removed (commas kept tidy)."""
    value = source.node_at(span, cst.BaseExpression)
    if value is None:
        return None
    arg = source.enclosing(value, cst.Arg)
    if not isinstance(arg, cst.Arg) or arg.keyword is None or arg.keyword.value != keyword or arg.value is not value:
        return None
    call = source.enclosing(arg, cst.Call)
    if not isinstance(call, cst.Call):
        return None
    args = [a for a in call.args if a is not arg]
    if args and call.args[-1] is arg:
        # The last argument goes: the new last one takes its trailing comma (or none).
        args[-1] = args[-1].with_changes(comma=arg.comma)
    return source.replace(call, call.with_changes(args=args))


def set_status_created(source: FixSource, span: Span) -> cst.Module | None:
    """A route decorator call gets `status_code=status.HTTP_201_CREATED` (201 without `status` imported)."""
    call = source.node_at(span, cst.Call)
    if call is None:
        return None
    fastapi = {**source.imported_names("fastapi"), **source.imported_names("starlette")}
    value = "status.HTTP_201_CREATED" if fastapi.get("status") == "status" else "201"
    expression = cst.parse_expression(value)
    if any(arg.star == "*" for arg in call.args):
        return None
    new_call = with_argument(call, "status_code", expression)
    return None if new_call is None else source.replace(call, new_call)
