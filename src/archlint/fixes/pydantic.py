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


def field_validator(source: FixSource, span: Span) -> cst.Module | None:
    """`@validator("a", pre=True)` -> `@field_validator("a", mode="before")` + `@classmethod`.

    Only when the meaning is kept: no `always=`/`each_item=` (no v2 spelling on
    the decorator), a plain `from pydantic import validator` import, and a
    function taking `(cls, value)` only (v2 passes a `ValidationInfo`, not `values`).
    Every such validator of the file is rewritten at once (the same edits for
    each finding), so the import can change with the last use.
    """
    node = source.node_at(span, cst.BaseExpression)
    local = next((k for k, v in source.imported_names("pydantic").items() if v == "validator"), None)
    if node is None or local != "validator":
        return None  # not imported, or under another name: the import swap below would miss it
    rewrites: dict[cst.Decorator, cst.Decorator] = {}
    for function in _functions(source.module):
        for decorator in function.decorators:
            new = _field_validator(decorator, function, local)
            if new is not None:
                rewrites[decorator] = new
    target = source.enclosing(node, cst.Decorator)
    if target not in rewrites:
        return None
    tree = source.module.visit(_Redecorate(rewrites))
    return tree.visit(_SwapImport(local, keep=_uses(tree, local) > 0))


def _field_validator(decorator: cst.Decorator, function: cst.FunctionDef, local: str) -> cst.Decorator | None:
    node = decorator.decorator
    call = node if isinstance(node, cst.Call) else None
    callee = call.func if call is not None else node
    if not isinstance(callee, cst.Name) or callee.value != local:
        return None
    if any(_name(d.decorator) in ("classmethod", "staticmethod") for d in function.decorators):
        return None
    params = function.params
    if isinstance(params.star_arg, cst.Param) or params.star_kwarg or params.kwonly_params \
            or params.posonly_params or len(params.params) != 2:
        return None
    args: list[cst.Arg] = []
    for arg in call.args if call is not None else ():
        keyword = arg.keyword.value if arg.keyword is not None else None
        if keyword is None:
            args.append(arg)
        elif keyword == "pre":
            if not (isinstance(arg.value, cst.Name) and arg.value.value in ("True", "False")):
                return None
            if arg.value.value == "True":
                args.append(arg.with_changes(keyword=cst.Name("mode"), value=cst.SimpleString('"before"')))
        elif keyword == "allow_reuse":
            continue  # v2 has no reuse check to switch off
        else:
            return None  # always=, each_item=, check_fields=: a person decides
    if args:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    new_call = cst.Call(func=cst.Name("field_validator"), args=args) if call is None else call.with_changes(
        func=cst.Name("field_validator"), args=args)
    return decorator.with_changes(decorator=new_call)


def _functions(tree: cst.CSTNode) -> list[cst.FunctionDef]:
    found: list[cst.FunctionDef] = []

    class _Collect(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            found.append(node)

    tree.visit(_Collect())
    return found


def _uses(tree: cst.Module, name: str) -> int:
    """Uses of ``name`` outside import statements."""
    count = 0

    class _Count(cst.CSTVisitor):
        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Name(self, node: cst.Name) -> None:
            nonlocal count
            count += node.value == name

    tree.visit(_Count())
    return count


class _Redecorate(cst.CSTTransformer):
    def __init__(self, rewrites: dict[cst.Decorator, cst.Decorator]) -> None:
        super().__init__()
        self.rewrites = rewrites

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if not any(d in self.rewrites for d in original.decorators):
            return updated
        decorators: list[cst.Decorator] = []
        for old in original.decorators:
            if old in self.rewrites:
                decorators.append(self.rewrites[old])
                decorators.append(cst.Decorator(decorator=cst.Name("classmethod")))
            else:
                decorators.append(old)
        return updated.with_changes(decorators=decorators)


class _SwapImport(cst.CSTTransformer):
    """In `from pydantic import ...`: `validator` becomes `field_validator` (kept beside it while still used)."""

    def __init__(self, local: str, keep: bool) -> None:
        super().__init__()
        self.local, self.keep = local, keep

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
        if not isinstance(updated.module, cst.Name) or updated.module.value != "pydantic" or updated.relative:
            return updated
        if isinstance(updated.names, cst.ImportStar):
            return updated
        names = list(updated.names)
        if any(a.name.value == "field_validator" for a in names if isinstance(a.name, cst.Name)):
            if self.keep:
                return updated
            names = [a for a in names if not (isinstance(a.name, cst.Name) and a.name.value == self.local)]
            names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated.with_changes(names=names)
        out: list[cst.ImportAlias] = []
        for alias in names:
            if isinstance(alias.name, cst.Name) and alias.name.value == "validator" and alias.asname is None:
                renamed = alias.with_changes(name=cst.Name("field_validator"))
                if self.keep:
                    out.append(alias.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))))
                out.append(renamed)
            else:
                out.append(alias)
        return updated.with_changes(names=out)


def _name(node: cst.BaseExpression) -> str:
    return node.value if isinstance(node, cst.Name) else ""
