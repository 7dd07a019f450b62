"""Shared by S8 and S9: pydantic types and what FastAPI reads from a request.

Not a standard's module (it defines no rule): the validation rules need the
same three answers, resolved across files through the project index —

- what a type annotation allows (``shapes``): the base type of each union
  member, with the constraints of ``Field``, ``StringConstraints``, ``constr``,
  ``annotated_types`` and FastAPI parameter markers, aliases followed into the
  module that defines them;
- which fields a pydantic / SQLModel class has, inherited ones included
  (``model_fields``), and its class-level configuration (``config_value``);
- which handler and dependency parameters FastAPI fills from the request body,
  the query string, the path... (``request_inputs``), from the route table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from archlint.analysis.routes import Route, RouteTable
from archlint.collect.facts import Assign, Attr, Await, Call, DictExpr, Expr, FunctionFact, Lit, Name, Param, Seq, Starred
from archlint.index import ProjectIndex
from archlint.names import (
    CONFIG_DICTS,
    DEPENDS,
    FIELD_FUNCTIONS,
    FIELD_VALIDATORS,
    MODEL_BASES,
    MODEL_VALIDATORS,
    REQUESTS,
    SEQUENCES,
    SETTINGS_BASES,
    canonical,
)
from archlint.values import ClassRef, Const, Ctx, FuncRef, Instance, Symbol, TypeForm, Unknown, Value, fqn_of

#: Field constructors and constraint carriers whose keywords are constraints.
CONSTRAINT_CALLS = FIELD_FUNCTIONS | {"pydantic.StringConstraints", "pydantic.UrlConstraints"}
CONSTRAINT_KEYS = frozenset(
    {"max_length", "min_length", "le", "lt", "ge", "gt", "pattern", "regex", "min_items", "max_items", "multiple_of"}
)
#: FastAPI's parameter markers -> where the value comes from.
MARKERS = {
    "fastapi.Query": "query",
    "fastapi.Path": "path",
    "fastapi.Header": "header",
    "fastapi.Cookie": "cookie",
    "fastapi.Body": "body",
    "fastapi.Form": "form",
    "fastapi.File": "file",
    **dict.fromkeys(DEPENDS, "depends"),
}
#: Parameter types FastAPI injects itself: never read from the request data.
INJECTED_TYPES = frozenset(
    {
        "fastapi.Request",
        "starlette.requests.Request",
        "starlette.requests.HTTPConnection",
        "fastapi.WebSocket",
        "starlette.websockets.WebSocket",
        "fastapi.Response",
        "starlette.responses.Response",
        "fastapi.BackgroundTasks",
        "starlette.background.BackgroundTasks",
        "fastapi.security.SecurityScopes",
        "fastapi.UploadFile",
        "starlette.datastructures.UploadFile",
    }
)
#: Methods of a model class that validate raw data into an instance.
VALIDATING_METHODS = frozenset({"model_validate", "model_validate_json", "model_validate_strings", "parse_obj", "parse_raw"})
#: Methods of a request that read the raw body.
RAW_BODY_READS = frozenset({"json", "body"})
#: Types FastAPI reads from the body when no marker says otherwise (besides models).
MAPPING_TYPES = frozenset(
    {
        "builtins.dict",
        "typing.Dict",
        "typing.Mapping",
        "typing.MutableMapping",
        "collections.abc.Mapping",
        "collections.abc.MutableMapping",
        "collections.OrderedDict",
        "typing.OrderedDict",
        "typing.DefaultDict",
    }
)
SEQUENCE_TYPES = SEQUENCES | frozenset(
    {
        "typing.Collection",
        "collections.abc.Collection",
        "collections.abc.Set",
        "typing.AbstractSet",
        "collections.deque",
        "typing.Deque",
    }
)
UNION_TYPES = frozenset({"typing.Union", "types.UnionType"})
#: pydantic types that are ints with a built-in bound.
BOUNDED_INTS = {
    "pydantic.PositiveInt": {"gt": 0},
    "pydantic.NonNegativeInt": {"ge": 0},
    "pydantic.NegativeInt": {"lt": 0},
    "pydantic.NonPositiveInt": {"le": 0},
    "pydantic.StrictInt": {},
}
#: annotated_types markers: class -> (positional parameter names).
ANNOTATED_TYPES = {
    "annotated_types.MaxLen": ("max_length",),
    "annotated_types.MinLen": ("min_length",),
    "annotated_types.Len": ("min_length", "max_length"),
    "annotated_types.Le": ("le",),
    "annotated_types.Lt": ("lt",),
    "annotated_types.Ge": ("ge",),
    "annotated_types.Gt": ("gt",),
    "annotated_types.Interval": (),
}
VALIDATOR_MARKERS = frozenset(
    {"pydantic.AfterValidator", "pydantic.BeforeValidator", "pydantic.PlainValidator", "pydantic.WrapValidator"}
)
MODEL_VALIDATORS_KEY = "<model>"
#: Defaults that make a class attribute something other than a request field.
NOT_FIELDS = frozenset({"sqlmodel.Relationship", "pydantic.PrivateAttr"})
_PATH_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z_]+)?}")


def value_fqn(value: Value) -> str:
    return canonical(fqn_of(value)) or ""


# --------------------------------------------------------------------------- #
# Types
# --------------------------------------------------------------------------- #


@dataclass(slots=True)
class Shape:
    """One member of a (possibly Annotated, Optional, union, container) type."""

    kind: str  # model, class, symbol, none, literal, classvar, unknown
    fqn: str = ""  # canonical dotted name of the base type (builtins.str, pydantic.EmailStr, ...)
    #: The class, for models and other project classes.
    model: ClassRef | Symbol | None = None
    container: str = ""  # "", "sequence" or "mapping": the shape is an item of a container
    #: Constraint keyword -> value (Unknown when not static); presence is what most checks need.
    constraints: dict[str, Value] = field(default_factory=dict)
    #: Constraints may come from something archlint cannot read (``**kwargs``, an unknown marker).
    opaque: bool = False
    #: Functions of AfterValidator/BeforeValidator/... markers.
    validators: list[Value] = field(default_factory=list)
    #: FastAPI marker (Query(), Body(), Depends()...) and where the value comes from.
    source: str = ""
    marker: Instance | None = None
    #: The mapping's value shapes (``dict[str, X]``), for mappings.
    values: list[Shape] | None = None

    def copy(self) -> Shape:
        return Shape(
            self.kind,
            self.fqn,
            self.model,
            self.container,
            dict(self.constraints),
            self.opaque,
            list(self.validators),
            self.source,
            self.marker,
            self.values,
        )


class Types:
    """Reads annotations into shapes, resolving aliases across modules."""

    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self._models: dict[Value, bool] = {}

    # ------------------------------------------------------------- classes
    def is_model(self, value: Value) -> bool:
        """A project class deriving from pydantic's BaseModel, BaseSettings or SQLModel."""
        if not isinstance(value, ClassRef):
            return False
        known = self._models.get(value)
        if known is None:
            known = self.index.is_subclass(value, MODEL_BASES)
            self._models[value] = known
        return known

    def is_settings(self, value: Value) -> bool:
        return isinstance(value, ClassRef) and self.index.is_subclass(value, SETTINGS_BASES)

    # --------------------------------------------------------------- shapes
    def annotation(self, expr: Expr | None, ctx: Ctx) -> list[Shape]:
        if expr is None:
            return [Shape("unknown")]
        return self.shapes(self.index.evaluate(expr, ctx), ctx)

    def shapes(self, value: Value, ctx: Ctx, depth: int = 0) -> list[Shape]:
        if depth > 16:
            return [Shape("unknown")]
        if value == Const(None):
            return [Shape("none", "builtins.None")]
        if isinstance(value, Const) and isinstance(value.value, str):
            return self.shapes(self._forward(value.value, ctx), ctx, depth + 1)
        if isinstance(value, ClassRef):
            if self.is_model(value):
                return [Shape("model", value.fqn, model=value)]
            return [Shape("class", value.fqn, model=value)]
        if isinstance(value, Symbol):
            fqn = value_fqn(value)
            if fqn in MODEL_BASES:
                return [Shape("model", fqn, model=value)]
            if fqn in BOUNDED_INTS:
                return [Shape("symbol", "builtins.int", constraints={k: Const(v) for k, v in BOUNDED_INTS[fqn].items()})]
            if fqn == "pydantic.StrictStr":
                return [Shape("symbol", "builtins.str")]
            if fqn in ("typing.Any", "builtins.object"):
                return [Shape("symbol", "typing.Any")]
            return [Shape("symbol", fqn)]
        if isinstance(value, Instance):
            return self._instance_type(value, depth)
        if isinstance(value, TypeForm):
            return self._form(value, depth)
        return [Shape("unknown")]

    def _forward(self, text: str, ctx: Ctx) -> Value:
        """A string annotation (forward reference): ``"Item"`` or ``"models.Item"``."""
        parts = text.strip().split(".")
        if not all(p.isidentifier() for p in parts):
            return Unknown("a string annotation archlint does not parse")
        value = self.index.lookup(parts[0], ctx)
        for part in parts[1:]:
            value = self.index.attribute(value, part)
        return value

    def _instance_type(self, value: Instance, depth: int) -> list[Shape]:
        fqn = value_fqn(value.type)
        call, ctx = value.call, value.ctx
        if fqn == "pydantic.constr":
            return [Shape("symbol", "builtins.str", constraints=self._kwargs(call, ctx))]
        if fqn == "pydantic.conint":
            return [Shape("symbol", "builtins.int", constraints=self._kwargs(call, ctx))]
        if fqn in ("pydantic.conlist", "pydantic.conset", "pydantic.confrozenset"):
            item = call.arg(0, "item_type")
            items = self.shapes(self.index.evaluate(item, ctx), ctx, depth + 1) if item is not None else [Shape("unknown")]
            return [self._contained(s, "sequence") for s in items]
        if fqn in ("typing.TypeVar",):
            bound = call.kw("bound")
            if bound is not None:
                return self.shapes(self.index.evaluate(bound, ctx), ctx, depth + 1)
            constraints = call.args[1:]
            if constraints:
                out: list[Shape] = []
                for c in constraints:
                    out.extend(self.shapes(self.index.evaluate(c, ctx), ctx, depth + 1))
                return out
            return [Shape("unknown")]
        if fqn == "typing.NewType" and len(call.args) > 1:
            return self.shapes(self.index.evaluate(call.args[1], ctx), ctx, depth + 1)
        return [Shape("unknown")]

    def _form(self, form: TypeForm, depth: int) -> list[Shape]:
        origin = form.origin
        fqn = value_fqn(origin)
        args, ctx = form.args, form.ctx
        if fqn == "typing.Annotated" and args:
            inner = self.shapes(args[0], ctx, depth + 1)
            for meta in args[1:]:
                for shape in inner:
                    self.apply_marker(shape, meta)
            return inner
        if fqn == "typing.Optional" and args:
            return self.shapes(args[0], ctx, depth + 1) + [Shape("none", "builtins.None")]
        if fqn in UNION_TYPES:
            out: list[Shape] = []
            for arg in args:
                out.extend(self.shapes(arg, ctx, depth + 1))
            return out
        if fqn in SEQUENCE_TYPES:
            out = []
            for arg in args:
                if arg == Const(Ellipsis):
                    continue
                out.extend(self._contained(s, "sequence") for s in self.shapes(arg, ctx, depth + 1))
            return out or [Shape("symbol", fqn)]
        if fqn in MAPPING_TYPES:
            values = self.shapes(args[1], ctx, depth + 1) if len(args) == 2 else [Shape("symbol", "typing.Any")]
            return [Shape("symbol", "builtins.dict", values=values)]
        if fqn in ("typing.Literal",):
            return [Shape("literal", fqn)]
        if fqn in ("typing.ClassVar",):
            return [Shape("classvar", fqn)]
        if fqn in ("typing.Required", "typing.NotRequired", "typing.ReadOnly", "typing.Final") and args:
            return self.shapes(args[0], ctx, depth + 1)
        if isinstance(origin, (ClassRef, Symbol)):
            # A generic class: Page[Item], BaseModel subclass with type parameters.
            return self.shapes(origin, ctx, depth + 1)
        return [Shape("unknown")]

    @staticmethod
    def _contained(shape: Shape, kind: str) -> Shape:
        shape = shape.copy()
        if not shape.container:
            shape.container = kind
        return shape

    # -------------------------------------------------------------- markers
    def _kwargs(self, call: Call, ctx: Ctx) -> dict[str, Value]:
        out: dict[str, Value] = {}
        for key, expr in call.kwargs:
            if key in CONSTRAINT_KEYS:
                out[key] = self.index.evaluate(expr, ctx)
        return out

    def apply_marker(self, shape: Shape, meta: Value) -> None:
        """Fold one ``Annotated`` metadata item (or a field default) into a shape."""
        if isinstance(meta, Unknown):
            shape.opaque = True
            return
        if not isinstance(meta, Instance):
            return
        fqn = value_fqn(meta.type)
        call, ctx = meta.call, meta.ctx
        if fqn in CONSTRAINT_CALLS or fqn in MARKERS:
            for key, expr in call.kwargs:
                if key is None:
                    shape.opaque = True
                elif key in CONSTRAINT_KEYS:
                    shape.constraints[key] = self.index.evaluate(expr, ctx)
            if fqn in MARKERS:
                shape.source = MARKERS[fqn]
                shape.marker = meta
            return
        if fqn in ANNOTATED_TYPES:
            names = ANNOTATED_TYPES[fqn]
            for i, name in enumerate(names):
                arg = call.arg(i, name)
                if arg is not None:
                    shape.constraints[name] = self.index.evaluate(arg, ctx)
            for key, expr in call.kwargs:
                if key in CONSTRAINT_KEYS:
                    shape.constraints[key] = self.index.evaluate(expr, ctx)
            return
        if fqn in VALIDATOR_MARKERS:
            func = call.arg(0, "func")
            shape.validators.append(self.index.evaluate(func, ctx) if func is not None else Unknown("no function"))
            return
        if isinstance(meta.type, ClassRef) or isinstance(meta.type, FuncRef):
            # A project class or factory used as metadata: it may constrain in ways archlint cannot see.
            shape.opaque = True

    def with_default(self, shapes: list[Shape], default: Expr | None, ctx: Ctx) -> list[Shape]:
        """Fold a field or parameter default (``= Field(max_length=...)``, ``= Query(le=...)``) into shapes."""
        if default is None:
            return shapes
        value = self.index.evaluate(default, ctx)
        if isinstance(value, Instance) and (value_fqn(value.type) in CONSTRAINT_CALLS or value_fqn(value.type) in MARKERS):
            for shape in shapes:
                self.apply_marker(shape, value)
        elif isinstance(value, Unknown) and isinstance(default, Call):
            for shape in shapes:
                shape.opaque = True
        return shapes


def members(shapes: Iterable[Shape]) -> list[Shape]:
    """The union members that are not None."""
    return [s for s in shapes if s.kind != "none"]


def models_in(shapes: Iterable[Shape]) -> list[ClassRef]:
    """Project model classes a type mentions: directly, in a union, a container or a mapping's values."""
    out: list[ClassRef] = []
    for shape in shapes:
        if shape.kind == "model" and isinstance(shape.model, ClassRef):
            out.append(shape.model)
        if shape.values:
            out.extend(models_in(shape.values))
    return out


def const_int(value: Value | None) -> int | None:
    if isinstance(value, Const) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
        return int(value.value)
    return None


# --------------------------------------------------------------------------- #
# Model classes
# --------------------------------------------------------------------------- #


@dataclass(slots=True)
class ModelField:
    name: str
    assign: Assign
    owner: ClassRef
    ctx: Ctx  # the class body
    path: str  # the file defining it

    @property
    def annotation(self) -> Expr | None:
        return self.assign.annotation

    @property
    def default(self) -> Expr | None:
        return self.assign.value


def model_fields(index: ProjectIndex, types: Types, ref: ClassRef | Symbol) -> dict[str, ModelField]:
    """The fields of a model, inherited ones included; the most derived definition wins."""
    fields: dict[str, ModelField] = {}
    for klass in index.mro(ref):
        if not isinstance(klass, ClassRef) or not types.is_model(klass):
            continue
        fact = index.class_fact(klass)
        if fact is None:
            continue
        facts = index.modules[klass.module]
        for assign in fact.assigns:
            if assign.annotation is None or len(assign.targets) != 1 or not isinstance(assign.targets[0], Name):
                continue
            name = assign.targets[0].id
            if name.startswith("_") or name == "model_config" or name in fields:
                continue
            ctx = Ctx(klass.module, fact.qualname)
            if isinstance(assign.value, Call) and value_fqn(index.evaluate(assign.value.func, ctx)) in NOT_FIELDS:
                continue  # a SQLModel Relationship or a private attribute: not read from the request
            fields[name] = ModelField(name, assign, klass, ctx, facts.path)
    return fields


def field_shapes(types: Types, fld: ModelField) -> list[Shape]:
    return types.with_default(types.annotation(fld.annotation, fld.ctx), fld.default, fld.ctx)


def config_value(
    index: ProjectIndex, types: Types, ref: ClassRef, keys: tuple[str, ...], v1_keys: tuple[str, ...] = ()
) -> Value | None:
    """A class-level configuration value (``model_config``, class keywords, v1 ``class Config``), inherited."""
    for klass in index.mro(ref):
        if not isinstance(klass, ClassRef):
            continue
        fact = index.class_fact(klass)
        if fact is None:
            continue
        ctx = Ctx(klass.module, fact.qualname)
        for key in keys:
            expr = fact.keyword(key)
            if expr is not None:
                return index.evaluate(expr, ctx)
        for assign in fact.assigns:
            if not any(isinstance(t, Name) and t.id == "model_config" for t in assign.targets) or assign.value is None:
                continue
            found = _config_lookup(index, assign.value, ctx, keys)
            if found is not None:
                return found
        inner = index.modules[klass.module].classes.get(f"{fact.qualname}.Config")
        if inner is not None:
            inner_ctx = Ctx(klass.module, inner.qualname)
            for assign in inner.assigns:
                for target in assign.targets:
                    if isinstance(target, Name) and target.id in keys + v1_keys and assign.value is not None:
                        return index.evaluate(assign.value, inner_ctx)
    return None


def _config_lookup(index: ProjectIndex, value: Expr, ctx: Ctx, keys: tuple[str, ...]) -> Value | None:
    """One of ``keys`` in a ``model_config`` value: ``ConfigDict(...)``, a dict literal or a shared config.

    ``**spread`` or a configuration archlint cannot read answers ``Unknown``: the
    key may be set there.
    """
    if isinstance(value, (Name, Attr)):
        shared = index.evaluate(value, ctx)
        if isinstance(shared, Instance) and value_fqn(shared.type) in CONFIG_DICTS:
            return _config_lookup(index, shared.call, shared.ctx, keys)
        return shared if isinstance(shared, Unknown) else None
    if isinstance(value, DictExpr):
        for key in keys:
            entry = value.get(key)
            if entry is not None:
                return index.evaluate(entry, ctx)
        if any(k is None for k, _ in value.items):
            return Unknown("a configuration spread from another mapping")
        return None
    if isinstance(value, Call) and value_fqn(index.evaluate(value.func, ctx)) in CONFIG_DICTS:
        for key in keys:
            entry = value.kw(key)
            if entry is not None:
                return index.evaluate(entry, ctx)
        if any(k is None for k, _ in value.kwargs):
            return Unknown("a configuration spread from another mapping")
    return None


def validators_by_field(index: ProjectIndex, types: Types, ref: ClassRef) -> dict[str, list[tuple[FunctionFact, str]]]:
    """Field name -> (method, module) decorated ``@field_validator(name)`` / ``@validator(name)``.

    ``"*"`` collects validators of every field, ``MODEL_VALIDATORS_KEY`` the
    model-level ones (``@model_validator``, ``@root_validator``).
    """
    out: dict[str, list[tuple[FunctionFact, str]]] = {}
    for klass in index.mro(ref):
        if not isinstance(klass, ClassRef):
            continue
        fact = index.class_fact(klass)
        if fact is None:
            continue
        facts = index.modules[klass.module]
        ctx = Ctx(klass.module, fact.qualname)
        for qualname in fact.defs.values():
            fn = facts.functions.get(qualname)
            if fn is None:
                continue
            for deco in fn.decorators:
                func = deco.func if isinstance(deco, Call) else deco
                fqn = value_fqn(index.evaluate(func, ctx))
                if fqn in MODEL_VALIDATORS:
                    out.setdefault(MODEL_VALIDATORS_KEY, []).append((fn, klass.module))
                if fqn not in FIELD_VALIDATORS or not isinstance(deco, Call):
                    continue
                for arg in deco.args:
                    if isinstance(arg, Lit) and isinstance(arg.value, str):
                        out.setdefault(arg.value, []).append((fn, klass.module))
    return out


def measures_length(index: ProjectIndex, fn: FunctionFact | None, module: str) -> bool:
    """Whether a validator body calls ``len(...)``: it bounds the value itself."""
    if fn is None:
        return False
    ctx = Ctx(module, fn.qualname)
    return any(
        isinstance(site.call.func, Name) and site.call.func.id == "len" and index.fqn(site.call.func, ctx) == "builtins.len"
        for site in fn.calls
    )


# --------------------------------------------------------------------------- #
# Request inputs: the route table's handlers and their dependencies
# --------------------------------------------------------------------------- #


@dataclass(slots=True)
class RequestInput:
    """A parameter FastAPI fills from the request (body, query, path, form...)."""

    source: str  # body, query, path, header, cookie, form, file
    param: Param
    function: FunctionFact
    ctx: Ctx  # where the annotation is written
    path: str  # the file
    shapes: list[Shape]
    explicit: bool  # a marker (Body(), Query()...) says where it comes from
    route: Route
    #: The body is read raw and validated by hand (``Model.model_validate(await request.json())``): the call.
    validated_by: Call | None = None

    @property
    def name(self) -> str:
        return self.param.name


@dataclass(slots=True)
class HandlerScope:
    """A route handler or one of its dependencies: where a raw ``request.json()`` would be read."""

    function: FunctionFact
    ref: FuncRef
    path: str
    route: Route


@dataclass(slots=True)
class RequestModel:
    """The inputs, plus the functions they were found in."""

    inputs: list[RequestInput]
    scopes: list[HandlerScope]
    #: (file, span) of raw body reads (``request.json()``) whose value a model validates.
    validated_reads: set[tuple[str, object]] = field(default_factory=set)


def request_model(index: ProjectIndex, types: Types, table: RouteTable) -> RequestModel:
    """Every request input of every route, dependencies followed (``project.requests`` keeps the one result)."""
    walker = _InputWalker(index, types)
    for route in table.routes:
        walker.route(route)
    return RequestModel(walker.inputs, walker.scopes, walker.validated_reads)


class _InputWalker:
    def __init__(self, index: ProjectIndex, types: Types) -> None:
        self.index = index
        self.types = types
        self.inputs: list[RequestInput] = []
        self.scopes: list[HandlerScope] = []
        self.validated_reads: set[tuple[str, object]] = set()

    def route(self, route: Route) -> None:
        if route.handler is None or "WEBSOCKET" in route.methods:
            return
        path_names = self._path_names(route)
        self._function(route.handler, route, path_names, set(), 0, skip_first=False)
        deps = route.kw("dependencies")
        if isinstance(deps, Seq):
            for item in deps.items:
                value = self.index.evaluate(item, route.ctx)
                if isinstance(value, Instance) and MARKERS.get(value_fqn(value.type)) == "depends":
                    self._dependency(value, [], route, path_names, set(), 1)

    def _path_names(self, route: Route) -> set[str] | None:
        """Path parameter names; None when some path is not statically known."""
        names: set[str] = set()
        known = True
        texts: list[str] = []
        for full in route.full_paths:
            text = full.path
            if text is None:
                known = False
            else:
                texts.append(text)
        if route.path_expr is not None:
            value = self.index.evaluate(route.path_expr, route.ctx)
            if isinstance(value, Const) and isinstance(value.value, str):
                texts.append(value.value)
            else:
                known = False
        for text in texts:
            names.update(_PATH_PARAM.findall(text))
        return names if known or names else None

    def _function(
        self, ref: FuncRef, route: Route, path_names: set[str] | None, seen: set[FuncRef], depth: int, *, skip_first: bool
    ) -> None:
        if depth > 6 or ref in seen:
            return
        seen = seen | {ref}
        fn = self.index.function(ref)
        if fn is None:
            return
        facts = self.index.modules[ref.module]
        self.scopes.append(HandlerScope(fn, ref, facts.path, route))
        ctx = Ctx(ref.module, fn.parent or "")
        params = fn.params[1:] if skip_first else fn.params
        for param in params:
            if param.kind in ("vararg", "kwarg"):
                continue
            self._param(param, fn, ctx, facts.path, route, path_names, seen, depth)
        self._validated_bodies(fn, ref, facts.path, route)

    def _validated_bodies(self, fn: FunctionFact, ref: FuncRef, path: str, route: Route) -> None:
        """``Model.model_validate(await request.json())``: a body read raw and validated by hand is a body of ``Model``.

        The raw read may be bound to a local first (``data = await request.json()``).
        """
        ctx = Ctx(ref.module, fn.qualname)
        for site in fn.calls:
            func = site.call.func
            if not isinstance(func, Attr) or func.attr not in VALIDATING_METHODS or not site.call.args:
                continue
            model = self.index.evaluate(func.base, ctx)
            if not self.types.is_model(model):
                continue
            reads = self._raw_reads(site.call.args[0], fn, ctx, 0)
            if not reads:
                continue
            assert isinstance(model, ClassRef)
            request_param = reads[0][1]
            for read, _param in reads:
                self.validated_reads.add((path, read.span))
            shape = Shape("model", model.fqn, model=model)
            self.inputs.append(RequestInput("body", request_param, fn, ctx, path, [shape], False, route, validated_by=site.call))

    def _raw_reads(self, expr: Expr, fn: FunctionFact, ctx: Ctx, depth: int) -> list[tuple[Call, Param]]:
        """The ``request.json()`` / ``request.body()`` calls an expression is made of (a request parameter's)."""
        if depth > 6:
            return []
        if isinstance(expr, Await):
            return self._raw_reads(expr.value, fn, ctx, depth + 1)
        if isinstance(expr, Name):
            bound = [a for a in fn.assigns if any(isinstance(t, Name) and t.id == expr.id for t in a.targets)]
            if len(bound) == 1 and bound[0].value is not None and bound[0].op is None:
                return self._raw_reads(bound[0].value, fn, ctx, depth + 1)
            return []
        if not isinstance(expr, Call):
            return []
        func = expr.func
        if isinstance(func, Attr) and func.attr in RAW_BODY_READS and not expr.args and isinstance(func.base, Name):
            param = fn.param(func.base.id)
            if param is not None and param.annotation is not None:
                where = Ctx(ctx.module, fn.parent or "")
                if value_fqn(self.index.evaluate(param.annotation, where)) in REQUESTS:
                    return [(expr, param)]
            return []
        # json.loads(await request.body()) and the like: the raw read is an argument.
        out: list[tuple[Call, Param]] = []
        for arg in expr.args:
            if not isinstance(arg, Starred):
                out.extend(self._raw_reads(arg, fn, ctx, depth + 1))
        return out

    def _param(
        self,
        param: Param,
        fn: FunctionFact,
        ctx: Ctx,
        path: str,
        route: Route,
        path_names: set[str] | None,
        seen: set[FuncRef],
        depth: int,
    ) -> None:
        types = self.types
        shapes = types.with_default(types.annotation(param.annotation, ctx), param.default, ctx)
        marker = next((s for s in shapes if s.source), None)
        source = marker.source if marker else ""
        if marker is not None and source == "depends":
            target = self._dependency(marker.marker, shapes, route, path_names, seen, depth + 1)
            if isinstance(target, ClassRef) and types.is_model(target):
                # Depends(Model): FastAPI reads the model's fields from the query string.
                model = Shape("model", target.fqn, model=target)
                self.inputs.append(RequestInput("query", param, fn, ctx, path, [model], True, route))
            return
        real = members(shapes)
        if not source:
            if any(s.fqn in INJECTED_TYPES for s in real):
                return
            if param.annotation is None and param.default is None:
                return
            if path_names is not None and param.name in path_names:
                source = "path"
            elif any(s.kind == "model" or s.container or s.fqn == "builtins.dict" for s in real):
                source = "body"
            elif real and all(s.kind == "unknown" for s in real):
                return
            elif path_names is None and param.default is None:
                return  # may be a path parameter of a path archlint cannot read
            else:
                source = "query"
        self.inputs.append(RequestInput(source, param, fn, ctx, path, shapes, bool(marker), route))

    def _dependency(
        self,
        marker: Instance | None,
        shapes: list[Shape],
        route: Route,
        path_names: set[str] | None,
        seen: set[FuncRef],
        depth: int,
    ) -> Value:
        """Walk a ``Depends(...)`` target; returns the target (a model class is the caller's to record)."""
        if marker is None:
            return Unknown("no marker")
        target_expr = marker.call.arg(0, "dependency")
        if target_expr is not None:
            target = self.index.evaluate(target_expr, marker.ctx)
        else:
            # Depends() with no argument: the annotation's class is the dependency.
            target = next(
                (s.model for s in members(shapes) if s.kind in ("model", "class") and isinstance(s.model, ClassRef)),
                Unknown("Depends() on a type archlint cannot call"),
            )
        if isinstance(target, FuncRef):
            self._function(target, route, path_names, seen, depth, skip_first=False)
        elif isinstance(target, ClassRef) and not self.types.is_model(target):
            init = FuncRef(target.module, f"{target.qualname}.__init__")
            self._function(init, route, path_names, seen, depth, skip_first=True)
        elif isinstance(target, Instance) and isinstance(target.type, ClassRef):
            # Depends(checker) on an instance: FastAPI calls checker.__call__.
            call = FuncRef(target.type.module, f"{target.type.qualname}.__call__")
            self._function(call, route, path_names, seen, depth, skip_first=True)
        return target
