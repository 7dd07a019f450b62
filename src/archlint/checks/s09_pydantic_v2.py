"""S9 — no Pydantic v1 idioms; request bodies are typed models.

Every v1 idiom is matched on what it resolves to, never on its spelling: a
``class Config`` counts only inside a class that derives from pydantic's
BaseModel (settings and SQLModel included), ``@validator`` only when it is
pydantic's, and ``.dict()``/``.json()``/``.copy()`` only on a receiver known to
be a model instance — a parameter annotated with a model, a local built by a
model's constructor, ``model_validate`` or a function annotated to return a
model, ``self`` in a model's method, a model-typed field of one of those. ``.json()`` on an httpx or requests
response, ``.copy()`` on a dict and look-alike decorators are never reported.

v1 idioms in the v1 side of a version guard (`else:` of `if PYDANTIC_V2:`,
`if not PYDANTIC_V2:`, `if PYDANTIC_V1:`, `if VERSION.startswith("1")`: the
pack's `v2-guards`, `v1-guards` and `version-names`) are the fallback of code
that supports both versions and are not reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archlint.analysis.pydantic_models import (
    Shape,
    Types,
    field_shapes,
    members,
    model_fields,
    models_in,
    value_fqn,
)
from archlint.checks.base import Project, Rule
from archlint.collect.facts import Attr, Await, Branch, Call, ClassFact, DictExpr, Expr, Lit, Loop, Name, UnaryOp
from archlint.index import ProjectIndex
from archlint.model import Finding, Severity, Span
from archlint.names import CONFIG_DICTS, PYDANTIC_FIELD, REQUESTS, SQLMODEL_FIELD, canonical
from archlint.pack import option
from archlint.values import ClassRef, Ctx, FuncRef, Instance, ParamValue, Symbol

if TYPE_CHECKING:
    import libcst as cst

    from archlint.fixes import FixSource, Rewrite

#: Field-like callables whose keyword arguments changed in v2 (v1 spellings included).
_FIELD_LIKE = (
    *PYDANTIC_FIELD,
    *SQLMODEL_FIELD,
    "pydantic.constr",
    "pydantic.types.constr",
    "pydantic.conlist",
    "pydantic.types.conlist",
    "pydantic.conset",
    "pydantic.types.conset",
    "pydantic.confrozenset",
    "pydantic.types.confrozenset",
)
#: Classmethods that build a model: their result is an instance of the class.
_BUILDERS = frozenset(
    {
        "model_validate",
        "model_validate_json",
        "model_validate_strings",
        "model_construct",
        "parse_obj",
        "parse_raw",
        "parse_file",
        "from_orm",
        "construct",
    }
)
#: Methods a plain dict has too: a receiver that may be a dict is not known to be a model.
_DICT_METHODS = frozenset(dir(dict))


@dataclass(frozen=True)
class S9Options:
    v1_config_keys: dict[str, str] = option("pydantic v1 configuration keys -> their v2 name (an empty string: removed in v2).")
    v1_class_methods: dict[str, str] = option("v1 classmethods of models -> what v2 calls them.")
    v1_instance_methods: dict[str, str] = option("v1 methods of model instances -> what v2 calls them.")
    v1_validators: dict[str, str] = option("Dotted names of v1 validator decorators -> the v2 decorator.")
    v1_functions: dict[str, str] = option("Dotted names of v1 module-level helpers -> the v2 replacement.")
    v1_field_arguments: dict[str, str] = option(
        "Keyword arguments of Field/constr/conlist that v2 renamed or removed -> the v2 name (empty: removed)."
    )
    v1_imports: dict[str, str] = option(
        "Dotted names (or module prefixes ending in '.*') that exist only in pydantic v1 -> the v2 replacement."
    )
    v2_guards: re.Pattern[str] = option(
        "Names of flags that say pydantic v2 is installed (`PYDANTIC_V2`, `IS_PYDANTIC_V2`): the `else:` side of "
        "`if FLAG:` (and the body of `if not FLAG:`) is the v1 fallback of code that supports both."
    )
    v1_guards: re.Pattern[str] = option(
        "Names of flags that say pydantic v1 is installed (`PYDANTIC_V1`): `if FLAG:` is v1 code."
    )
    version_names: re.Pattern[str] = option(
        'Names of version strings (`VERSION`, `PYDANTIC_VERSION`): `if VERSION.startswith("2")` guards v2 code.'
    )
    untyped_body_types: tuple[str, ...] = option(
        "Types that leave a request body unvalidated (every dict/Mapping type is read as builtins.dict, "
        "Any and object as typing.Any)."
    )


class _S9Rule(Rule[S9Options]):
    standard = "S9"
    Options = S9Options
    severity = Severity.WARNING
    tags = ("validation", "pydantic")

    @staticmethod
    def types(project: Project) -> Types:
        return project.pydantic


class _V1Idiom(_S9Rule):
    """A v1 idiom is not reported in the v1 side of a version guard: compatibility code that supports both."""

    def check(self, project: Project) -> Iterable[Finding]:
        fallbacks: dict[str, list[tuple[int, int]]] = {}
        for facts in project.index.files.values():
            ranges = [r for b in facts.branches if (r := self._v1_side(b)) is not None]
            if ranges:
                fallbacks[facts.path] = ranges
        for finding in self.idioms(project):
            line = finding.span.line
            if any(start <= line <= end for start, end in fallbacks.get(finding.path, ())):
                continue
            yield finding

    def idioms(self, project: Project) -> Iterable[Finding]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _v1_side(self, branch: Branch) -> tuple[int, int] | None:
        verdict = self._guard(branch.test)
        if verdict == "v2":
            return (branch.orelse.line, branch.orelse.end_line) if branch.orelse is not None else None
        if verdict == "v1":
            return (branch.body.line, branch.body.end_line)
        return None

    def _guard(self, test: Expr) -> str | None:
        """ "v2" when the test holds under pydantic v2, "v1" under v1, None when it is no version guard."""
        if isinstance(test, UnaryOp) and test.op == "Not":
            inner = self._guard(test.operand)
            return {"v1": "v2", "v2": "v1"}.get(inner or "")
        if isinstance(test, (Name, Attr)):
            last = test.id if isinstance(test, Name) else test.attr
            if self.options.v2_guards.search(last):
                return "v2"
            if self.options.v1_guards.search(last):
                return "v1"
            return None
        if isinstance(test, Call) and isinstance(test.func, Attr) and test.func.attr == "startswith":
            base = test.func.base
            last = base.id if isinstance(base, Name) else base.attr if isinstance(base, Attr) else ""
            prefix = test.arg(0, "prefix")
            if last and self.options.version_names.search(last) and isinstance(prefix, Lit) and isinstance(prefix.value, str):
                major = prefix.value.split(".")[0]
                return "v2" if major == "2" else "v1" if major == "1" else None
        return None


def _replacement(new: str) -> str:
    return f"v2 calls it `{new}`" if new else "v2 removed it"


def _model_classes(project: Project, types: Types) -> Iterator[tuple[str, ClassFact, ClassRef]]:
    index = project.index
    for facts in index.modules.values():
        for fact in facts.classes.values():
            ref = ClassRef(facts.module, fact.qualname)
            if types.is_model(ref):
                yield facts.path, fact, ref


def _v1_config_classes(project: Project, types: Types) -> Iterator[tuple[str, ClassFact, ClassRef]]:
    """``class Config:`` nested in a model: (file, the Config class, the model)."""
    for facts in project.index.modules.values():
        for fact in facts.classes.values():
            if fact.name != "Config" or fact.parent is None or fact.parent not in facts.classes:
                continue
            owner = ClassRef(facts.module, fact.parent)
            if types.is_model(owner):
                yield facts.path, fact, owner


class PydanticV1ConfigClass(_V1Idiom):
    """Reports `class Config:` inside a pydantic model, settings class or SQLModel.

    Only a class named `Config` nested in a class that derives from
    pydantic's `BaseModel` (resolved across modules) is reported; a `Config`
    class anywhere else is left alone.

    ## Why is this bad?
    pydantic v2 reads configuration from `model_config = ConfigDict(...)`
    (`SettingsConfigDict` for settings); `class Config` is deprecated, warns
    at import and will be removed, and several of its keys were renamed, so
    the setting silently does nothing.
    """

    id = "AL220"
    name = "PydanticV1ConfigClass"
    INVALID = [
        """
        from pydantic import BaseModel

        class UserRead(BaseModel):
            id: int

            class Config:  # expect: AL220
                from_attributes = True
        """
    ]
    VALID = [
        """
        from pydantic import BaseModel, ConfigDict

        class UserRead(BaseModel):
            model_config = ConfigDict(from_attributes=True)

            id: int

        class Settings:
            class Config:
                debug = False
        """
    ]

    fix_message = "Declare `model_config = ConfigDict(...)` (`SettingsConfigDict` for settings) with the v2 keys."
    #: Per fix: safe when every key keeps its meaning (renamed keys included: v2 ignores the old names, so the
    #: fix does what the author asked for); unsafe for `allow_mutation` -> `frozen` (frozen models are hashable).
    FIXES = [
        (
            {
                "app/schemas.py": """
                    from pydantic import BaseModel

                    class UserRead(BaseModel):
                        id: int

                        class Config:
                            orm_mode = True  # read from ORM objects

                    class ItemRead(BaseModel):
                        id: int

                        class Config:
                            # the API speaks camelCase
                            allow_population_by_field_name = True
                            anystr_strip_whitespace = True  # trim input
                            extra = "forbid"
                """,
                "app/settings.py": """
                    from pydantic_settings import BaseSettings

                    class Settings(BaseSettings):
                        database_url: str

                        class Config:
                            env_file = ".env"
                """,
            },
            {
                "app/schemas.py": """
                    from pydantic import BaseModel, ConfigDict

                    class UserRead(BaseModel):
                        id: int

                        model_config = ConfigDict(from_attributes=True)  # read from ORM objects

                    class ItemRead(BaseModel):
                        id: int

                        model_config = ConfigDict(
                            # the API speaks camelCase
                            populate_by_name=True,
                            str_strip_whitespace=True,  # trim input
                            extra="forbid",
                        )
                """,
                "app/settings.py": """
                    from pydantic_settings import BaseSettings, SettingsConfigDict

                    class Settings(BaseSettings):
                        database_url: str

                        model_config = SettingsConfigDict(env_file=".env")
                """,
            },
            "safe",
        ),
        (
            """
            from pydantic import BaseModel

            class Point(BaseModel):
                x: int

                class Config:
                    allow_mutation = False

            class Legacy(BaseModel):
                x: int

                class Config:
                    underscore_attrs_are_private = True

                    @staticmethod
                    def schema_extra(schema: dict) -> None:
                        schema["title"] = "Legacy"
            """,
            """
            from pydantic import BaseModel, ConfigDict

            class Point(BaseModel):
                x: int

                model_config = ConfigDict(frozen=True)

            class Legacy(BaseModel):
                x: int

                class Config:
                    underscore_attrs_are_private = True

                    @staticmethod
                    def schema_extra(schema: dict) -> None:
                        schema["title"] = "Legacy"
            """,
            "unsafe",
        ),
    ]

    def fix(self, finding: Finding, source: FixSource) -> cst.Module | Rewrite | None:
        kind = getattr(self, "_kinds", {}).get((finding.path, finding.span))
        if kind is None:
            return None
        from archlint.fixes import pydantic as pydantic_fixes  # LibCST: only when fixing

        return pydantic_fixes.config_dict(source, finding.span, kind, self.options.v1_config_keys)

    def idioms(self, project: Project) -> Iterable[Finding]:
        types = self.types(project)
        self._kinds: dict[tuple[object, ...], str] = {}
        for path, fact, owner in _v1_config_classes(project, types):
            kind = "SettingsConfigDict" if types.is_settings(owner) else "ConfigDict"
            self._kinds[(path, fact.span)] = kind
            yield self.finding(
                path,
                fact.span,
                f"`class Config` in `{owner.qualname}` is pydantic v1 configuration: use `model_config = {kind}(...)`.",
            )


class PydanticV1ConfigKey(_V1Idiom):
    """Reports configuration keys pydantic v2 renamed or removed (`orm_mode`, `allow_population_by_field_name`, ...).

    Keys are looked for in a model's `class Config`, in `ConfigDict(...)` /
    `SettingsConfigDict(...)` calls, in a `model_config = {...}` dict and in
    class keywords of a model; the pack maps each v1 key to its v2 name.

    ## Why is this bad?
    v2 warns about and otherwise ignores the old names: `orm_mode = True` no
    longer enables `model_validate(orm_object)`, `schema_extra` no longer
    reaches the OpenAPI document.
    """

    id = "AL221"
    name = "PydanticV1ConfigKey"
    INVALID = [
        """
        from pydantic import BaseModel, ConfigDict

        class UserRead(BaseModel):
            model_config = ConfigDict(orm_mode=True)  # expect: AL221

            id: int
        """
    ]
    VALID = [
        """
        from pydantic import BaseModel, ConfigDict

        class UserRead(BaseModel):
            model_config = ConfigDict(from_attributes=True)

            id: int
            orm_mode: bool = False
        """
    ]

    fix_message = "Use the v2 name of the configuration key."
    #: Per fix: safe for a renamed key (v2 ignores the old name), unsafe for `allow_mutation` -> `frozen`.
    FIXES = [
        (
            """
            from pydantic import BaseModel, ConfigDict

            class UserRead(BaseModel):
                model_config = ConfigDict(orm_mode=True, extra="forbid")  # read ORM objects

                id: int

            class ItemRead(BaseModel):
                model_config = {"allow_population_by_field_name": True}

                id: int
            """,
            """
            from pydantic import BaseModel, ConfigDict

            class UserRead(BaseModel):
                model_config = ConfigDict(from_attributes=True, extra="forbid")  # read ORM objects

                id: int

            class ItemRead(BaseModel):
                model_config = {"populate_by_name": True}

                id: int
            """,
            "safe",
        ),
        (
            """
            from pydantic import BaseModel, ConfigDict

            class Point(BaseModel):
                model_config = ConfigDict(allow_mutation=False, underscore_attrs_are_private=True)

                x: int
            """,
            """
            from pydantic import BaseModel, ConfigDict

            class Point(BaseModel):
                model_config = ConfigDict(frozen=True, underscore_attrs_are_private=True)

                x: int
            """,
            "unsafe",
        ),
    ]

    def fix(self, finding: Finding, source: FixSource) -> cst.Module | Rewrite | None:
        from archlint.fixes import pydantic as pydantic_fixes  # LibCST: only when fixing

        return pydantic_fixes.rename_config_key(source, finding.span, self.options.v1_config_keys)

    def idioms(self, project: Project) -> Iterable[Finding]:
        index = project.index
        types = self.types(project)
        keys = self.options.v1_config_keys
        seen: set[tuple[str, Span]] = set()

        def report(path: str, expr: Expr, key: str) -> Iterator[Finding]:
            if (path, expr.span) in seen:
                return
            seen.add((path, expr.span))
            yield self.finding(
                path,
                expr.span,
                f"`{key}` is a pydantic v1 configuration key: {_replacement(keys[key])}.",
            )

        for path, fact, _owner in _v1_config_classes(project, types):
            for assign in fact.assigns:
                for target in assign.targets:
                    if isinstance(target, Name) and target.id in keys:
                        yield from report(path, target, target.id)
        for facts, site, _ctx in index.calls_to(*CONFIG_DICTS):
            for key, value in site.call.kwargs:
                if key in keys:
                    yield from report(facts.path, value, key)
        for path, fact, _ref in _model_classes(project, types):
            for key, value in fact.keywords:
                if key in keys:
                    yield from report(path, value, key)
            for assign in fact.assigns:
                if isinstance(assign.value, DictExpr) and any(
                    isinstance(t, Name) and t.id == "model_config" for t in assign.targets
                ):
                    for key_expr, _value in assign.value.items:
                        if isinstance(key_expr, Lit) and key_expr.value in keys:
                            yield from report(path, key_expr, str(key_expr.value))


class PydanticV1Validator(_V1Idiom):
    """Reports pydantic v1 validators: `@validator` and `@root_validator` (resolved, aliases included).

    A decorator is reported only when it resolves to pydantic's (or
    `pydantic.v1`'s) validator; a project's or another library's `validator`
    is not.

    ## Why is this bad?
    Both are deprecated in v2: `@validator` became `@field_validator` (with
    `mode=` instead of `pre=`/`always=`, and no `values` argument),
    `@root_validator` became `@model_validator`. The old ones warn and behave
    subtly differently (`each_item`, `allow_reuse`), and will be removed.
    """

    id = "AL222"
    name = "PydanticV1Validator"
    INVALID = [
        """
        from pydantic import BaseModel, validator

        class ItemCreate(BaseModel):
            title: str

            @validator("title")  # expect: AL222
            def strip_title(cls, value: str) -> str:
                return value.strip()
        """
    ]
    VALID = [
        """
        from pydantic import BaseModel, field_validator

        class ItemCreate(BaseModel):
            title: str

            @field_validator("title")
            @classmethod
            def strip_title(cls, value: str) -> str:
                return value.strip()
        """
    ]

    fix_message = 'Use `@field_validator` or `@model_validator(mode="before")` (with `@classmethod`).'
    FIXES = [
        (
            """
            from pydantic import BaseModel, root_validator

            class Window(BaseModel):
                start: int
                end: int

                @root_validator(pre=True, allow_reuse=True)
                def defaults(cls, values: dict) -> dict:
                    values.setdefault("end", values.get("start"))  # an open window closes where it starts
                    return values
            """,
            """
            from pydantic import BaseModel, model_validator

            class Window(BaseModel):
                start: int
                end: int

                @model_validator(mode="before")
                @classmethod
                def defaults(cls, values: dict) -> dict:
                    values.setdefault("end", values.get("start"))  # an open window closes where it starts
                    return values
            """,
        ),
        (
            # A post root validator gets a dict in v1 and the model in v2: its body must change, no fix.
            """
            from pydantic import BaseModel, root_validator

            class Window(BaseModel):
                start: int
                end: int

                @root_validator(skip_on_failure=True)
                def ordered(cls, values: dict) -> dict:
                    if values["start"] > values["end"]:
                        raise ValueError("start after end")
                    return values
            """,
            """
            from pydantic import BaseModel, root_validator

            class Window(BaseModel):
                start: int
                end: int

                @root_validator(skip_on_failure=True)
                def ordered(cls, values: dict) -> dict:
                    if values["start"] > values["end"]:
                        raise ValueError("start after end")
                    return values
            """,
        ),
        (
            """
            from pydantic import BaseModel, validator

            class Signup(BaseModel):
                email: str
                name: str

                @validator("email", pre=True, allow_reuse=True)
                def lower(cls, value: str) -> str:
                    return value.lower()

                @validator("name")
                def strip(cls, value: str) -> str:
                    return value.strip()
            """,
            """
            from pydantic import BaseModel, field_validator

            class Signup(BaseModel):
                email: str
                name: str

                @field_validator("email", mode="before")
                @classmethod
                def lower(cls, value: str) -> str:
                    return value.lower()

                @field_validator("name")
                @classmethod
                def strip(cls, value: str) -> str:
                    return value.strip()
            """,
        ),
        (
            """
            from pydantic import BaseModel, validator

            class Signup(BaseModel):
                password: str
                confirm: str

                @validator("confirm")
                def same(cls, value: str, values: dict) -> str:
                    if value != values.get("password"):
                        raise ValueError("passwords differ")
                    return value
            """,
            """
            from pydantic import BaseModel, validator

            class Signup(BaseModel):
                password: str
                confirm: str

                @validator("confirm")
                def same(cls, value: str, values: dict) -> str:
                    if value != values.get("password"):
                        raise ValueError("passwords differ")
                    return value
            """,
        ),
    ]

    def fix(self, finding: Finding, source: FixSource) -> cst.Module | Rewrite | None:
        from archlint.fixes import pydantic as pydantic_fixes  # LibCST: only when fixing

        return pydantic_fixes.field_validator(source, finding.span) or pydantic_fixes.model_validator(source, finding.span)

    def idioms(self, project: Project) -> Iterable[Finding]:
        index = project.index
        validators = self.options.v1_validators
        seen: set[tuple[str, Span]] = set()
        for facts, site, _ctx in index.calls_to(*validators):
            fqn = index.fqn(site.call.func, _ctx) or ""
            seen.add((facts.path, site.call.span))
            yield self._finding(facts.path, site.call, fqn, validators[fqn])
        for facts in index.modules.values():
            for fn in facts.functions.values():
                for deco in fn.decorators:
                    if isinstance(deco, Call) or (facts.path, deco.span) in seen:
                        continue
                    fqn = index.fqn(deco, Ctx(facts.module, fn.parent or "")) or ""
                    if fqn in validators:
                        seen.add((facts.path, deco.span))
                        yield self._finding(facts.path, deco, fqn, validators[fqn])

    def _finding(self, path: str, expr: Expr, fqn: str, new: str) -> Finding:
        old = fqn.rsplit(".", 1)[-1]
        return self.finding(path, expr.span, f"`@{old}` is a pydantic v1 validator: use `@{new}`.")


class PydanticV1ModelMethod(_V1Idiom):
    """Reports v1 model methods: `.dict()`, `.json()`, `.copy()`, `parse_obj`, `from_orm`, `update_forward_refs`...

    Classmethods (`parse_obj`, `parse_raw`, `from_orm`, `update_forward_refs`,
    `schema`, ...) are reported on a class known to be a model; instance
    methods (`.dict()`, `.json()`, `.copy()`) only on a receiver known to be a
    model instance: a parameter or local annotated with a model class, a local
    built by a model's constructor, `model_validate` or a project function
    annotated to return a model, `self` in a model's method, a model-typed
    field of one of those, a loop over a `list[Model]`. A method the project's own class
    defines, a `.json()` on an HTTP response, a `.copy()` on a dict are not
    reported.

    ## Why is this bad?
    v2 renamed them (`model_dump`, `model_dump_json`, `model_copy`,
    `model_validate`, `model_rebuild`); the old names are deprecated, warn on
    every call and behave differently in corner cases (`.copy()` does not
    validate `update=`, `.json()` ignores v2 serializers' modes).
    """

    id = "AL223"
    name = "PydanticV1ModelMethod"
    INVALID = [
        {
            "app/schemas.py": """
            from pydantic import BaseModel

            class ItemUpdate(BaseModel):
                title: str | None = None
            """,
            "app/services.py": """
            from app.schemas import ItemUpdate

            def changes(item_in: ItemUpdate) -> dict:
                return item_in.dict(exclude_unset=True)  # expect: AL223
            """,
        }
    ]
    VALID = [
        {
            "app/schemas.py": """
            from pydantic import BaseModel

            class ItemUpdate(BaseModel):
                title: str | None = None
            """,
            "app/services.py": """
            import httpx
            from app.schemas import ItemUpdate

            def changes(item_in: ItemUpdate) -> dict:
                return item_in.model_dump(exclude_unset=True)

            def fetch(url: str) -> dict:
                response = httpx.get(url, timeout=5)
                return response.json()
            """,
        }
    ]

    fix_message = "Call the v2 method."
    FIXES = [
        (
            {
                "app/schemas.py": """
                from pydantic import BaseModel

                class Item(BaseModel):
                    title: str | None = None
                """,
                "app/services.py": """
                from app.schemas import Item

                def changes(item_in: Item, row: object) -> dict:
                    copy = item_in.copy(update={"title": "x"})
                    loaded = Item.parse_obj({"title": "y"})
                    orm = Item.from_orm(row)
                    fresh = Item(title="z")
                    return item_in.dict(exclude_unset=True) | {"json": fresh.json(indent=2)}
                """,
            },
            {
                "app/schemas.py": """
                from pydantic import BaseModel

                class Item(BaseModel):
                    title: str | None = None
                """,
                "app/services.py": """
                from app.schemas import Item

                def changes(item_in: Item, row: object) -> dict:
                    copy = item_in.model_copy(update={"title": "x"})
                    loaded = Item.model_validate({"title": "y"})
                    orm = Item.model_validate(row, from_attributes=True)
                    fresh = Item(title="z")
                    return item_in.model_dump(exclude_unset=True) | {"json": fresh.model_dump_json(indent=2)}
                """,
            },
        ),
        (
            {
                "app/schemas.py": """
                from pydantic import BaseModel

                class Item(BaseModel):
                    title: str | None = None
                """,
                "app/services.py": """
                from app.schemas import Item

                def dump(item: Item) -> str:
                    return item.json(sort_keys=True) + str(item.copy(include={"title"}))
                """,
            },
            {
                "app/schemas.py": """
                from pydantic import BaseModel

                class Item(BaseModel):
                    title: str | None = None
                """,
                "app/services.py": """
                from app.schemas import Item

                def dump(item: Item) -> str:
                    return item.json(sort_keys=True) + str(item.copy(include={"title"}))
                """,
            },
        ),
    ]

    def fix(self, finding: Finding, source: FixSource) -> cst.Module | Rewrite | None:
        from archlint.fixes import pydantic as pydantic_fixes  # LibCST: only when fixing

        return pydantic_fixes.rename_method(source, finding.span)

    def idioms(self, project: Project) -> Iterable[Finding]:
        index = project.index
        types = self.types(project)
        receivers = _Receivers(index, types)
        class_methods = self.options.v1_class_methods
        instance_methods = self.options.v1_instance_methods
        for facts, scope, ctx in index.iter_scopes():
            for site in scope.calls:
                func = site.call.func
                if not isinstance(func, Attr):
                    continue
                attr = func.attr
                if attr not in class_methods and attr not in instance_methods:
                    continue
                kind, model = receivers.of(func.base, ctx, attr)
                if model is None or receivers.defines(model, attr):
                    continue
                if kind == "class" and attr in class_methods:
                    new = class_methods[attr]
                elif kind == "instance" and attr in instance_methods:
                    new = instance_methods[attr]
                else:
                    continue
                name = model.qualname if isinstance(model, ClassRef) else model.fqn.rsplit(".", 1)[-1]
                what = f"the model class `{name}`" if kind == "class" else f"an instance of `{name}`"
                yield self.finding(
                    facts.path,
                    site.call.span,
                    f"`.{attr}()` on {what} is pydantic v1: use `.{new}()`.",
                )


class _Receivers:
    """Whether an expression is a model class or a model instance."""

    def __init__(self, index: ProjectIndex, types: Types) -> None:
        self.index = index
        self.types = types

    def defines(self, model: ClassRef | Symbol, attr: str) -> bool:
        """The project's own class (or a project base) defines the method itself."""
        for klass in self.index.mro(model):
            if isinstance(klass, ClassRef):
                fact = self.index.class_fact(klass)
                if fact is not None and attr in fact.defs:
                    return True
        return False

    def of(self, expr: Expr, ctx: Ctx, attr: str, depth: int = 0) -> tuple[str, ClassRef | Symbol | None]:
        if depth > 4:
            return "", None
        index, types = self.index, self.types
        value = index.evaluate(expr, ctx)
        if isinstance(value, ClassRef):
            return ("class", value) if types.is_model(value) else ("", None)
        if isinstance(value, Instance):
            if isinstance(value.type, ClassRef) and types.is_model(value.type):
                return "instance", value.type
            return "", None
        if isinstance(value, ParamValue):
            return self._param(value, attr)
        if isinstance(expr, Name):
            return self._local(expr, ctx, attr, depth)
        if isinstance(expr, (Call, Await)):
            return self._call_result(expr, ctx, attr, depth)
        if isinstance(expr, Attr):
            kind, owner = self.of(expr.base, ctx, attr, depth + 1)
            if kind == "instance" and owner is not None:
                fld = model_fields(index, types, owner).get(expr.attr)
                if fld is not None:
                    return self._typed(field_shapes(types, fld), attr)
        return "", None

    def _param(self, param: ParamValue, attr: str) -> tuple[str, ClassRef | Symbol | None]:
        index, types = self.index, self.types
        facts = index.modules.get(param.module)
        fn = facts.functions.get(param.function) if facts else None
        if fn is None:
            return "", None
        if fn.class_qualname is not None and fn.params and fn.params[0].name == param.name:
            names = {d.id for d in fn.decorators if isinstance(d, Name)}
            if "staticmethod" not in names:
                owner = ClassRef(param.module, fn.class_qualname)
                if types.is_model(owner):
                    return ("class" if "classmethod" in names else "instance"), owner
                return "", None
        if param.annotation is None:
            return "", None
        shapes = types.annotation(param.annotation, Ctx(param.module, fn.parent or ""))
        return self._typed(shapes, attr)

    def _typed(self, shapes: list[Shape], attr: str) -> tuple[str, ClassRef | Symbol | None]:
        """An annotated value: a model instance when every member is one (a dict member too, for methods dict lacks)."""
        real = members(shapes)
        if not real or any(s.container for s in real):
            return "", None
        models = [s.model for s in real if s.kind == "model" and isinstance(s.model, ClassRef)]
        generic = [s for s in real if s.kind == "model" and isinstance(s.model, Symbol)]
        others = [s for s in real if s.kind != "model"]
        if not models and not generic:
            return "", None
        if others and (attr in _DICT_METHODS or any(s.fqn != "builtins.dict" for s in others)):
            return "", None
        if models:
            return "instance", models[0]
        # A TypeVar bound to BaseModel (generic CRUD code): an instance of some model.
        return "instance", generic[0].model

    def _local(self, name: Name, ctx: Ctx, attr: str, depth: int) -> tuple[str, ClassRef | Symbol | None]:
        """A local bound by ``Model.model_validate(...)`` or annotated with a model."""
        scope = self.index.scope(ctx)
        if scope is None or scope.kind != "function":
            return "", None
        bindings = [
            a
            for a in scope.assigns
            if a.span.line <= name.span.line and any(isinstance(t, Name) and t.id == name.id for t in a.targets)
        ]
        if not bindings:
            return self._loop_item(name, scope.loops, ctx, attr, depth)
        assign = max(bindings, key=lambda a: a.span.line)
        if assign.op is not None or assign.loop_depth:
            return "", None
        if assign.annotation is not None:
            return self._typed(self.types.annotation(assign.annotation, ctx), attr)
        if assign.value is None:
            return "", None
        return self._call_result(assign.value, ctx, attr, depth)

    def _call_result(self, value: Expr, ctx: Ctx, attr: str, depth: int) -> tuple[str, ClassRef | Symbol | None]:
        """``Model.model_validate(...)``, or a project function whose return annotation is a model."""
        if isinstance(value, Await):
            value = value.value
        if not isinstance(value, Call):
            return "", None
        if isinstance(value.func, Attr) and value.func.attr in _BUILDERS:
            kind, model = self.of(value.func.base, ctx, attr, depth + 1)
            if kind == "class":
                return "instance", model
        func = self.index.evaluate(value.func, ctx)
        if isinstance(func, FuncRef):
            fn = self.index.function(func)
            if fn is not None and fn.returns_annotation is not None and not fn.is_generator:
                where = Ctx(func.module, fn.parent or "")
                return self._typed(self.types.annotation(fn.returns_annotation, where), attr)
        return "", None

    def _loop_item(self, name: Name, loops: list[Loop], ctx: Ctx, attr: str, depth: int) -> tuple[str, ClassRef | Symbol | None]:
        """``for item in items`` where ``items`` is annotated ``list[Model]``: an instance of the model."""
        iterables = [loop.iter for loop in loops if isinstance(loop.target, Name) and loop.target.id == name.id]
        known = [i for i in iterables if i is not None]
        if len(known) != 1:
            return "", None
        shapes = self._annotated(known[0], ctx, attr, depth)
        real = members(shapes or [])
        if real and all(s.container == "sequence" for s in real):
            items = [s.copy() for s in real]
            for item in items:
                item.container = ""
            return self._typed(items, attr)
        return "", None

    def _annotated(self, expr: Expr, ctx: Ctx, attr: str, depth: int) -> list[Shape] | None:
        """The declared type of a parameter or of a model field read from a known model instance."""
        value = self.index.evaluate(expr, ctx)
        if isinstance(value, ParamValue) and value.annotation is not None:
            fn = self.index.modules[value.module].functions.get(value.function)
            return self.types.annotation(value.annotation, Ctx(value.module, (fn.parent if fn else None) or ""))
        if isinstance(expr, Attr):
            kind, owner = self.of(expr.base, ctx, attr, depth + 1)
            if kind == "instance" and isinstance(owner, ClassRef):
                fld = model_fields(self.index, self.types, owner).get(expr.attr)
                if fld is not None:
                    return field_shapes(self.types, fld)
        return None


class PydanticV1Function(_V1Idiom):
    """Reports pydantic v1 module-level helpers: `parse_obj_as`, `parse_raw_as`, `schema_of`, ...

    Calls are matched by resolved name (`from pydantic import parse_obj_as
    as parse` included); the pack maps each to its v2 replacement.

    ## Why is this bad?
    v2 replaced them with `TypeAdapter(T).validate_python(...)`,
    `.validate_json(...)` and `.json_schema()`; the old helpers are
    deprecated, warn on every call and rebuild a validator each time.
    """

    id = "AL224"
    name = "PydanticV1Function"
    INVALID = [
        """
        from pydantic import BaseModel, parse_obj_as

        class Item(BaseModel):
            id: int

        def load(rows: list[dict]) -> list[Item]:
            return parse_obj_as(list[Item], rows)  # expect: AL224
        """
    ]
    VALID = [
        """
        from pydantic import BaseModel, TypeAdapter

        class Item(BaseModel):
            id: int

        ITEMS = TypeAdapter(list[Item])

        def load(rows: list[dict]) -> list[Item]:
            return ITEMS.validate_python(rows)
        """
    ]

    def idioms(self, project: Project) -> Iterable[Finding]:
        index = project.index
        functions = self.options.v1_functions
        for facts, site, ctx in index.calls_to(*functions):
            fqn = index.fqn(site.call.func, ctx) or ""
            yield self.finding(
                facts.path,
                site.call.span,
                f"`{fqn.rsplit('.', 1)[-1]}()` is a pydantic v1 helper: use `{functions[fqn]}`.",
            )


class PydanticV1FieldArgument(_V1Idiom):
    """Reports v1 keyword arguments of `Field`, `constr` and `conlist`: `regex=`, `min_items=`, `max_items=`, ...

    pydantic's and SQLModel's `Field`, and the `con*` type factories, are
    matched by resolved name; FastAPI's `Query`/`Path` are not pydantic
    fields and are left alone.

    ## Why is this bad?
    v2 renamed `regex` to `pattern` and `min_items`/`max_items` to
    `min_length`/`max_length`, and removed `const`, `unique_items` and
    `allow_mutation`: the old spelling raises or is ignored, so the
    constraint the code shows is not enforced.
    """

    id = "AL225"
    name = "PydanticV1FieldArgument"
    INVALID = [
        """
        from pydantic import BaseModel, Field

        class Product(BaseModel):
            sku: str = Field(max_length=12, regex=r"^[A-Z0-9-]+$")  # expect: AL225
        """
    ]
    VALID = [
        """
        from pydantic import BaseModel, Field

        class Product(BaseModel):
            sku: str = Field(max_length=12, pattern=r"^[A-Z0-9-]+$")
            tags: list[str] = Field(default_factory=list, max_length=10)
        """
    ]

    fix_message = "Use the v2 name of the argument."
    FIXES = [
        (
            """
            from pydantic import BaseModel, Field, conlist

            class Product(BaseModel):
                sku: str = Field(max_length=12, regex=r"^[A-Z0-9-]+$")
                tags: list[str] = Field(default_factory=list, min_items=1, max_items=10)
                sizes: conlist(int, max_items=3) = []
            """,
            """
            from pydantic import BaseModel, Field, conlist

            class Product(BaseModel):
                sku: str = Field(max_length=12, pattern=r"^[A-Z0-9-]+$")
                tags: list[str] = Field(default_factory=list, min_length=1, max_length=10)
                sizes: conlist(int, max_length=3) = []
            """,
        ),
        (
            """
            from pydantic import BaseModel, Field

            class Product(BaseModel):
                sku: str = Field(max_length=12, const=True)
            """,
            """
            from pydantic import BaseModel, Field

            class Product(BaseModel):
                sku: str = Field(max_length=12, const=True)
            """,
        ),
    ]

    def fix(self, finding: Finding, source: FixSource) -> cst.Module | Rewrite | None:
        if "SQLModel" in finding.message:
            return None  # SQLModel's Field takes the v2 names through schema_extra: a person decides
        from archlint.fixes import pydantic as pydantic_fixes  # LibCST: only when fixing

        return pydantic_fixes.rename_argument(source, finding.span)

    def idioms(self, project: Project) -> Iterable[Finding]:
        index = project.index
        arguments = self.options.v1_field_arguments
        for facts, site, ctx in index.calls_to(*_FIELD_LIKE):
            fqn = canonical(index.fqn(site.call.func, ctx)) or ""
            callee = fqn.rsplit(".", 1)[-1]
            for key, value in site.call.kwargs:
                if key in arguments:
                    new = arguments[key]
                    fix = f"v2 calls it `{new}`" if new else "v2 removed it"
                    if fqn == "sqlmodel.Field" and new:
                        fix = (
                            f"SQLModel hands it to pydantic v2, which ignores it; pass "
                            f'`schema_extra={{"{new}": ...}}` or use `Annotated[..., Field({new}=...)]`'
                        )
                    yield self.finding(
                        facts.path,
                        value.span,
                        f"`{key}=` is a pydantic v1 argument of `{callee}()`: {fix}.",
                    )


class UntypedRequestBody(_S9Rule):
    """Reports route bodies typed `dict`, `Dict[str, Any]`, `Mapping` or `Any` instead of a model.

    The route table's handlers and their dependencies are read the way
    FastAPI reads them: a parameter typed with a mapping is a body, `Any`
    is a body when `Body()` says so (otherwise FastAPI reads it from the
    query string). A `dict` of models is typed and left alone.

    ## Why is this bad?
    An untyped body is not validated: any JSON reaches the handler, the
    OpenAPI document says nothing about it, and every key the code reads is a
    possible KeyError or type confusion — the Field constraints of S8 cannot
    apply.
    """

    id = "AL226"
    name = "UntypedRequestBody"
    security_severity = 5.3
    INVALID = [
        """
        from typing import Any
        from fastapi import FastAPI

        app = FastAPI()

        @app.post("/api/v1/events", status_code=201)
        async def create_event(payload: dict[str, Any]) -> None:  # expect: AL226
            ...
        """
    ]
    VALID = [
        """
        from typing import Any
        from fastapi import FastAPI
        from pydantic import BaseModel, Field

        app = FastAPI()

        class EventCreate(BaseModel):
            name: str = Field(max_length=100)

        @app.post("/api/v1/events", status_code=201)
        async def create_event(payload: EventCreate, q: Any = None) -> None:
            ...
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        untyped = set(self.options.untyped_body_types)
        seen: set[tuple[str, Span]] = set()
        for inp in project.requests.inputs:
            if inp.source != "body" or (inp.path, inp.param.span) in seen:
                continue
            real = members(inp.shapes)
            bad = [s for s in real if s.fqn in untyped and not models_in(s.values or [])]
            if not bad or models_in(real):
                continue
            if any(s.fqn == "typing.Any" for s in bad) and not inp.explicit and not any(s.container for s in bad):
                continue  # FastAPI reads a bare Any from the query string
            seen.add((inp.path, inp.param.span))
            yield self.finding(
                inp.path,
                inp.param.span,
                f"The body parameter `{inp.name}` of `{inp.function.name}` is an untyped "
                f"`{bad[0].fqn.rsplit('.', 1)[-1]}`: declare a pydantic model so the body is validated.",
            )


class RawRequestJson(_S9Rule):
    """Reports route handlers (and their dependencies) that read `await request.json()` instead of a typed body.

    The receiver must resolve to FastAPI's or Starlette's `Request`; a
    middleware, an exception handler or an HTTP client's `.json()` is not a
    route handler reading its body and is not reported. Nor is a raw body a
    model validates at once (`Item.model_validate(await request.json())`,
    directly or through a local): S8 then checks `Item` as the request body.

    ## Why is this bad?
    The parsed JSON is not validated, not documented in OpenAPI and not
    bounded by any Field constraint; a model parameter gives all three.
    """

    id = "AL227"
    name = "RawRequestJson"
    security_severity = 5.3
    INVALID = [
        """
        from fastapi import FastAPI, Request

        app = FastAPI()

        @app.post("/api/v1/webhooks", status_code=201)
        async def receive(request: Request) -> None:
            payload = await request.json()  # expect: AL227
        """
    ]
    VALID = [
        """
        import httpx
        from fastapi import FastAPI, Request
        from pydantic import BaseModel, Field

        app = FastAPI()

        class Webhook(BaseModel):
            event: str = Field(max_length=50)

        @app.post("/api/v1/webhooks", status_code=201)
        async def receive(request: Request, payload: Webhook) -> None:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get("https://example.com")
                response.json()
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        seen: set[tuple[str, Span]] = set()
        # A raw body a model validates at once (``Model.model_validate(await request.json())``) is a typed body.
        validated = project.requests.validated_reads
        for scope in project.requests.scopes:
            fn, ref = scope.function, scope.ref
            ctx = Ctx(ref.module, fn.qualname)
            for site in fn.calls:
                func = site.call.func
                if not isinstance(func, Attr) or func.attr != "json" or site.call.args or site.call.kwargs:
                    continue
                receiver = index.evaluate(func.base, ctx)
                if not isinstance(receiver, ParamValue) or receiver.annotation is None:
                    continue
                owner = index.modules[receiver.module].functions.get(receiver.function)
                where = Ctx(receiver.module, (owner.parent if owner else None) or "")
                annotation = index.evaluate(receiver.annotation, where)
                if value_fqn(annotation) not in REQUESTS:
                    continue
                if (scope.path, site.call.span) in seen or (scope.path, site.call.span) in validated:
                    continue
                seen.add((scope.path, site.call.span))
                yield self.finding(
                    scope.path,
                    site.call.span,
                    f"`{fn.name}` reads the raw body with `request.json()`: declare a pydantic model parameter "
                    "so FastAPI validates and documents it.",
                )


class PydanticV1Import(_V1Idiom):
    """Reports imports that exist only in pydantic v1: `from pydantic import BaseSettings`, the `pydantic.v1` namespace.

    The pack lists the names (and `module.*` prefixes); relative imports of
    the project's own modules are never matched.

    ## Why is this bad?
    `from pydantic import BaseSettings` fails on pydantic 2 (settings moved to
    the `pydantic-settings` package), and `pydantic.v1` runs the old library
    inside the new one: models built on it get none of v2's validation,
    speed or fixes, and cannot be mixed with v2 models.
    """

    id = "AL228"
    name = "PydanticV1Import"
    INVALID = [
        """
        from pydantic import BaseSettings  # expect: AL228

        class Settings(BaseSettings):
            debug: bool = False
        """
    ]
    VALID = [
        """
        from pydantic_settings import BaseSettings

        class Settings(BaseSettings):
            debug: bool = False
        """
    ]

    def idioms(self, project: Project) -> Iterable[Finding]:
        names = self.options.v1_imports
        prefixes = {k[:-2]: v for k, v in names.items() if k.endswith(".*")}
        for facts in project.index.modules.values():
            for imp in facts.imports:
                if imp.level:
                    continue
                full = f"{imp.module}.{imp.name}" if imp.name and imp.name != "*" else imp.module
                new = names.get(full)
                if new is None:
                    new = next((v for p, v in prefixes.items() if full == p or full.startswith(p + ".")), None)
                if new is None:
                    continue
                yield self.finding(
                    facts.path,
                    imp.span,
                    f"`{full}` exists only in pydantic v1: use {new}.",
                )
