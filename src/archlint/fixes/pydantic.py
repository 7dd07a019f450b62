"""Codemods for pydantic v1 idioms: renamed model methods and `Field()` arguments.

Only rewrites that keep the call's meaning: a method whose v2 name takes the
same arguments (or the subset the call uses), an argument whose v2 name means
the same thing. The rest is left to a person (no fix).
"""

from __future__ import annotations

import libcst as cst

from archlint.fixes import FixSource
from archlint.model import Span

#: v1 method -> (v2 method, keyword arguments the v2 method accepts with the same meaning, positional ok).
METHODS: dict[str, tuple[str, frozenset[str], bool]] = {
    "dict": ("model_dump", frozenset({"include", "exclude", "by_alias", "exclude_unset", "exclude_defaults",
                                      "exclude_none"}), False),
    "json": ("model_dump_json", frozenset({"include", "exclude", "by_alias", "exclude_unset", "exclude_defaults",
                                           "exclude_none", "indent"}), False),
    "copy": ("model_copy", frozenset({"update", "deep"}), False),
    "parse_obj": ("model_validate", frozenset(), True),
    "parse_raw": ("model_validate_json", frozenset(), True),
    "construct": ("model_construct", frozenset({"_fields_set"}), True),
    "update_forward_refs": ("model_rebuild", frozenset(), False),
    "schema": ("model_json_schema", frozenset({"by_alias", "ref_template"}), False),
    "validate": ("model_validate", frozenset(), True),
}

#: v1 `Field()`/`constr()`/`conlist()` argument -> v2 name, for the renames that keep the meaning.
ARGUMENTS = {"regex": "pattern", "min_items": "min_length", "max_items": "max_length"}


def rename_method(source: FixSource, span: Span) -> cst.Module | None:
    call = source.node_at(span, cst.Call)
    if call is None or not isinstance(call.func, cst.Attribute):
        return None
    attr = call.func.attr.value
    if attr == "from_orm":
        # v2 validates attributes only when asked: say so at the call, whatever the model's config.
        if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
            return None
        flag = cst.Arg(value=cst.Name("True"), keyword=cst.Name("from_attributes"),
                       equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))
        first = call.args[0].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        new_call = call.with_changes(func=call.func.with_changes(attr=cst.Name("model_validate")), args=[first, flag])
        return source.replace(call, new_call)
    if attr not in METHODS:
        return None
    new, keywords, positional = METHODS[attr]
    for arg in call.args:
        if arg.star or (arg.keyword is None and not positional) or (
                arg.keyword is not None and arg.keyword.value not in keywords):
            return None  # an argument v2 does not take the same way
    return source.replace(call.func, call.func.with_changes(attr=cst.Name(new)))


def rename_argument(source: FixSource, span: Span) -> cst.Module | None:
    value = source.node_at(span, cst.BaseExpression)
    if value is None:
        return None
    arg = source.enclosing(value, cst.Arg)
    if not isinstance(arg, cst.Arg) or arg.value is not value or arg.keyword is None:
        return None
    new = ARGUMENTS.get(arg.keyword.value)
    if new is None:
        return None
    call = source.enclosing(arg, cst.Call)
    if isinstance(call, cst.Call) and any(a.keyword is not None and a.keyword.value == new for a in call.args):
        return None  # both spellings given: a person decides
    return source.replace(arg, arg.with_changes(keyword=cst.Name(new)))
