"""Codemods for pydantic v1 idioms: renamed model methods and `Field()` arguments.

Only rewrites that keep the call's meaning: a method whose v2 name takes the
same arguments (or the subset the call uses), an argument whose v2 name means
the same thing. The rest is left to a person (no fix).
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from archlint.fixes import FixSource, Rewrite, add_import, keyword_arg, mentioned_names
from archlint.model import Span

#: v1 method -> (v2 method, keyword arguments the v2 method accepts with the same meaning, positional ok).
METHODS: dict[str, tuple[str, frozenset[str], bool]] = {
    "dict": (
        "model_dump",
        frozenset({"include", "exclude", "by_alias", "exclude_unset", "exclude_defaults", "exclude_none"}),
        False,
    ),
    "json": (
        "model_dump_json",
        frozenset({"include", "exclude", "by_alias", "exclude_unset", "exclude_defaults", "exclude_none", "indent"}),
        False,
    ),
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
        flag = cst.Arg(
            value=cst.Name("True"),
            keyword=cst.Name("from_attributes"),
            equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
        )
        first = call.args[0].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        new_call = call.with_changes(func=call.func.with_changes(attr=cst.Name("model_validate")), args=[first, flag])
        return source.replace(call, new_call)
    if attr not in METHODS:
        return None
    new, keywords, positional = METHODS[attr]
    for arg in call.args:
        if (
            arg.star
            or (arg.keyword is None and not positional)
            or (arg.keyword is not None and arg.keyword.value not in keywords)
        ):
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
    if isinstance(call, cst.Call) and keyword_arg(call, new) is not None:
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
    return _redecorate_validators(source, span, "validator", "field_validator", _field_validator)


def model_validator(source: FixSource, span: Span) -> cst.Module | None:
    """`@root_validator(pre=True)` -> `@model_validator(mode="before")` + `@classmethod`.

    Only the `pre=True` form: v1 and v2 both hand it the raw input and take back
    what it returns. A post root validator (`@root_validator`,
    `skip_on_failure=True`) gets the validated values as a dict in v1 and the
    model in v2 (`mode="after"`), so its body must change: no fix. Every such
    validator of the file is rewritten at once, as for `@field_validator`.
    """
    return _redecorate_validators(source, span, "root_validator", "model_validator", _model_validator)


def _redecorate_validators(
    source: FixSource,
    span: Span,
    v1: str,
    v2: str,
    convert: Callable[[cst.Decorator, cst.FunctionDef, str], cst.Decorator | None],
) -> cst.Module | None:
    """Rewrites every `@v1` decorator of the file that `convert` can, when the finding's is one of them.

    All at once (the same edits for each finding), so the import of `v1` can
    change to `v2` with the last use.
    """
    node = source.node_at(span, cst.BaseExpression)
    local = next((k for k, v in source.imported_names("pydantic").items() if v == v1), None)
    if node is None or local != v1:
        return None  # not imported, or under another name: the import swap below would miss it
    rewrites: dict[cst.Decorator, cst.Decorator] = {}
    for function in _functions(source.module):
        for decorator in function.decorators:
            new = convert(decorator, function, local)
            if new is not None:
                rewrites[decorator] = new
    target = source.enclosing(node, cst.Decorator)
    if target not in rewrites:
        return None
    tree = source.module.visit(_Redecorate(rewrites))
    return tree.visit(_SwapImport(local, v2, keep=_uses(tree, local) > 0))


def _model_validator(decorator: cst.Decorator, function: cst.FunctionDef, local: str) -> cst.Decorator | None:
    call = decorator.decorator
    if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Name) or call.func.value != local:
        return None  # a bare `@root_validator` is a post validator
    if not _plain_method(function):
        return None
    pre = False
    for arg in call.args:
        keyword = arg.keyword.value if arg.keyword is not None else None
        literal = arg.value.value if isinstance(arg.value, cst.Name) and arg.value.value in ("True", "False") else None
        if keyword == "pre" and literal is not None:
            pre = literal == "True"
        elif keyword in ("allow_reuse", "skip_on_failure") and literal is not None:
            continue  # v2 has no reuse check; skipping on failure concerns post validators only
        else:
            return None
    if not pre:
        return None
    mode = cst.Arg(
        value=cst.SimpleString('"before"'),
        keyword=cst.Name("mode"),
        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
    )
    return decorator.with_changes(decorator=call.with_changes(func=cst.Name("model_validator"), args=[mode]))


def _plain_method(function: cst.FunctionDef) -> bool:
    """`def v(cls, value)`: two positional parameters, not already a class or static method."""
    if any(_name(d.decorator) in ("classmethod", "staticmethod") for d in function.decorators):
        return False
    params = function.params
    return not (
        isinstance(params.star_arg, cst.Param)
        or params.star_kwarg
        or params.kwonly_params
        or params.posonly_params
        or len(params.params) != 2
    )


def _field_validator(decorator: cst.Decorator, function: cst.FunctionDef, local: str) -> cst.Decorator | None:
    node = decorator.decorator
    call = node if isinstance(node, cst.Call) else None
    callee = call.func if call is not None else node
    if not isinstance(callee, cst.Name) or callee.value != local:
        return None
    if not _plain_method(function):
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
    new_call = (
        cst.Call(func=cst.Name("field_validator"), args=args)
        if call is None
        else call.with_changes(func=cst.Name("field_validator"), args=args)
    )
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

    def __init__(self, local: str, new: str, keep: bool) -> None:
        super().__init__()
        self.local, self.new, self.keep = local, new, keep

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
        if not isinstance(updated.module, cst.Name) or updated.module.value != "pydantic" or updated.relative:
            return updated
        if isinstance(updated.names, cst.ImportStar):
            return updated
        names = list(updated.names)
        if any(a.name.value == self.new for a in names if isinstance(a.name, cst.Name)):
            if self.keep:
                return updated
            names = [a for a in names if not (isinstance(a.name, cst.Name) and a.name.value == self.local)]
            names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated.with_changes(names=names)
        out: list[cst.ImportAlias] = []
        for alias in names:
            if isinstance(alias.name, cst.Name) and alias.name.value == self.local and alias.asname is None:
                renamed = alias.with_changes(name=cst.Name(self.new))
                if self.keep:
                    out.append(alias.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))))
                out.append(renamed)
            else:
                out.append(alias)
        return updated.with_changes(names=out)


def _name(node: cst.BaseExpression) -> str:
    return node.value if isinstance(node, cst.Name) else ""


#: v1 keys whose v2 name takes the opposite value: `allow_mutation = False` is `frozen = True`.
INVERTED = {"allow_mutation"}


def _key_value(key: str, value: cst.BaseExpression, renames: dict[str, str]) -> tuple[str, cst.BaseExpression, bool] | None:
    """A configuration key and value in v2 spelling, and whether that keeps the meaning exactly (None: no v2 key)."""
    new = renames.get(key, key)
    if not new:
        return None  # removed in v2: a person decides what replaces it
    if key in INVERTED:
        if not (isinstance(value, cst.Name) and value.value in ("True", "False")):
            return None
        # v1's allow_mutation=False forbids assignment; v2's frozen=True also makes instances hashable.
        return new, cst.Name("False" if value.value == "True" else "True"), False
    return new, value, True


def config_dict(source: FixSource, span: Span, kind: str, renames: dict[str, str]) -> Rewrite | None:
    """`class Config:` in a model -> `model_config = ConfigDict(...)` (`SettingsConfigDict` for settings).

    Keys keep their values and comments; v1 names are renamed (`orm_mode` ->
    `from_attributes`: what the author asked for, which v2 ignores under the old
    name). Safe, except an inverted key (`allow_mutation` -> `frozen`). No fix
    for a Config with bases, methods or anything but `key = value`, a key v2
    removed, a model that also has `model_config`, or a `ConfigDict` name bound
    to something else.
    """
    config = source.node_at(span, cst.ClassDef)
    name = source.node_at(span, cst.Name) if config is None else None
    if name is not None:  # the finding is at the class's name
        config = source.enclosing(name, cst.ClassDef)
        config = config if config is not None and config.name is name else None
    owner = source.enclosing(config, cst.ClassDef) if config is not None else None
    if config is None or owner is None or config.bases or config.keywords or config.decorators:
        return None
    if not isinstance(config.body, cst.IndentedBlock) or not isinstance(owner.body, cst.IndentedBlock):
        return None
    if any(line.comment is not None for line in config.body.footer):
        return None  # a comment closing the block would have nowhere to go
    for statement in owner.body.body:
        if isinstance(statement, cst.SimpleStatementLine) and any(_target(small) == "model_config" for small in statement.body):
            return None
    module = "pydantic_settings" if kind == "SettingsConfigDict" else "pydantic"
    bound = source.imported_names(module).get(kind)
    if bound != kind and kind in mentioned_names(source.module):
        return None
    entries: list[tuple[str, cst.BaseExpression, cst.SimpleStatementLine]] = []
    exact = True
    for statement in config.body.body:
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
        small = statement.body[0]
        if isinstance(small, cst.Pass):
            continue
        key = _target(small)
        value = small.value if isinstance(small, (cst.Assign, cst.AnnAssign)) else None
        if key is None or value is None:
            return None
        converted = _key_value(key, value, renames)
        if converted is None:
            return None
        new_key, new_value, same = converted
        exact = exact and same
        entries.append((new_key, new_value, statement))
    call, trailing = _config_call(kind, entries, config.body.header, source.module.default_indent)
    assignment = cst.SimpleStatementLine(
        body=[cst.Assign(targets=[cst.AssignTarget(cst.Name("model_config"))], value=call)],
        leading_lines=config.leading_lines,
        trailing_whitespace=trailing,
    )
    tree = source.replace(config, assignment)
    if bound != kind:
        tree = add_import(tree, module, kind)
    return Rewrite(tree, "safe" if exact else "unsafe")


def _config_call(
    kind: str, entries: list[tuple[str, cst.BaseExpression, cst.SimpleStatementLine]], header: cst.TrailingWhitespace, indent: str
) -> tuple[cst.Call, cst.TrailingWhitespace]:
    """`Kind(key=value)` on one line for one key, else one key a line with their comments; and the line's end."""
    equal = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))
    comments = [line.comment for _, _, st in entries for line in st.leading_lines if line.comment is not None]
    if len(entries) <= 1 and not comments:
        single = [cst.Arg(value=v, keyword=cst.Name(k), equal=equal) for k, v, _ in entries]
        trailing = header
        key_comment = entries[0][2].trailing_whitespace.comment if entries else None
        if header.comment is None and key_comment is not None:  # the key's comment ends the new line
            trailing = header.with_changes(comment=key_comment, whitespace=cst.SimpleWhitespace("  "))
        return cst.Call(func=cst.Name(kind), args=single), trailing

    def line(
        comments: cst.TrailingWhitespace, statement: cst.SimpleStatementLine | None, last: bool
    ) -> cst.ParenthesizedWhitespace:
        empty = [
            e.with_changes(indent=True, whitespace=cst.SimpleWhitespace(indent))
            for e in (statement.leading_lines if statement is not None else ())
            if e.comment is not None
        ]
        return cst.ParenthesizedWhitespace(
            first_line=comments, empty_lines=empty, indent=True, last_line=cst.SimpleWhitespace("" if last else indent)
        )

    args: list[cst.Arg] = []
    for position, (key, value, statement) in enumerate(entries):
        following = entries[position + 1][2] if position + 1 < len(entries) else None
        comma = cst.Comma(whitespace_after=line(statement.trailing_whitespace, following, following is None))
        args.append(cst.Arg(value=value, keyword=cst.Name(key), equal=equal, comma=comma))
    call = cst.Call(func=cst.Name(kind), args=args, whitespace_before_args=line(header, entries[0][2], False))
    return call, cst.TrailingWhitespace()


def _target(small: cst.BaseSmallStatement) -> str | None:
    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
        return small.targets[0].target.value
    if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
        return small.target.value
    return None


def rename_config_key(source: FixSource, span: Span, renames: dict[str, str]) -> Rewrite | None:
    """A v1 key in `ConfigDict(...)`, a class keyword or a `model_config = {...}` dict renamed to its v2 name.

    Safe as for `class Config` (v2 ignores the old name); unsafe for an inverted key (`allow_mutation`). A key in a
    `class Config` is left to that class's own fix (AL220), which rewrites the whole class.
    """
    node = source.node_at(span, cst.BaseExpression)
    if node is None:
        return None
    arg = source.enclosing(node, cst.Arg)
    if isinstance(arg, cst.Arg) and arg.value is node and arg.keyword is not None:
        converted = _key_value(arg.keyword.value, arg.value, renames)
        if converted is None or converted[0] == arg.keyword.value:
            return None
        key, value, same = converted
        tree = source.replace(arg, arg.with_changes(keyword=cst.Name(key), value=value))
        return Rewrite(tree, "safe" if same else "unsafe")
    element = source.enclosing(node, cst.DictElement)
    if isinstance(node, cst.SimpleString) and isinstance(element, cst.DictElement) and element.key is node:
        old = node.evaluated_value
        if not isinstance(old, str):
            return None
        converted = _key_value(old, element.value, renames)
        if converted is None or converted[0] == old:
            return None
        key, value, same = converted
        quote = node.quote
        tree = source.replace(element, element.with_changes(key=cst.SimpleString(f"{quote}{key}{quote}"), value=value))
        return Rewrite(tree, "safe" if same else "unsafe")
    return None
