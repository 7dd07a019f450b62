"""S8 — Pydantic v2 Field constraints on what a request sends.

Only request input is held to the standard: models used as the type of a body
(or form) parameter of some route — directly, in ``list[...]``/``Optional``,
nested in another body model, with inherited fields — and the query
parameters that page or size a list. Response models, settings classes and
internal models are not request bodies and are never reported.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from archlint.analysis.pydantic_models import (
    MODEL_VALIDATORS_KEY,
    ModelField,
    RequestInput,
    Shape,
    Types,
    config_value,
    const_int,
    field_shapes,
    measures_length,
    members,
    model_fields,
    models_in,
    validators_by_field,
    value_fqn,
)
from archlint.checks.base import Project, Rule
from archlint.collect.facts import Call, Name, Seq
from archlint.index import ProjectIndex
from archlint.model import Finding, Severity, Span
from archlint.names import PASSLIB_CONTEXT, PWDLIB_BCRYPT, PWDLIB_HASH
from archlint.pack import option
from archlint.values import ClassRef, Ctx, FuncRef, Instance, Value

_BODY_SOURCES = ("body", "form")
#: Calls that hash a password with bcrypt (bcrypt 5 rejects input over 72 bytes).
_BCRYPT_CALLS = (
    "bcrypt.hashpw",
    "passlib.hash.bcrypt.hash",
    "passlib.hash.bcrypt.encrypt",
    "passlib.hash.bcrypt.using",
)


@dataclass(frozen=True)
class S8Options:
    unbounded_string_types: tuple[str, ...] = option(
        "Dotted names of string types that need a max_length in a request body (EmailStr and HttpUrl are bounded "
        "by pydantic itself and are not listed)."
    )
    email_types: tuple[str, ...] = option("Dotted names of the types an e-mail field may have.")
    email_field_pattern: re.Pattern[str] = option("Field and parameter names that hold an e-mail address.")
    password_field_pattern: re.Pattern[str] = option("Field and parameter names that hold a password.")
    credential_host_fields: re.Pattern[str] = option(
        "Sibling field names that say where a password is used (`host`, `url`, `server`, `port`): a password "
        "beside one of them is a credential the application keeps for another system, not held to the bounds."
    )
    credential_password_names: re.Pattern[str] = option(
        "Password field names that name another system (`smtp_password`, `sftp_passphrase`, `db_password`): "
        "credentials the application keeps, not the user's own password."
    )
    password_min_length: int = option("Smallest min_length a password field may have.")
    password_max_length: int = option("Largest max_length a password field may have.")
    bcrypt_password_max_length: int = option(
        "Largest max_length a password field may have where the project hashes with bcrypt (it rejects longer input)."
    )
    upper_bound_field_pattern: re.Pattern[str] = option(
        "Integer query parameters and body fields that page or size something: they need an upper bound (le/lt)."
    )
    lower_bound_field_pattern: re.Pattern[str] = option(
        "Integer query parameters and body fields that skip or offset: they need a lower bound (ge/gt)."
    )


# --------------------------------------------------------------------------- #
# What the request sends: body fields and parameters, analysed once per project
# --------------------------------------------------------------------------- #


@dataclass(slots=True)
class InputItem:
    """One value a request sends: a body model's field or a handler parameter."""

    name: str
    path: str
    span: Span
    shapes: list[Shape]
    source: str  # body, form, query
    where: str  # "field `name` of the request body `UserCreate`"
    #: Class-level bounds (model_config str_max_length / str_min_length).
    class_max: Value | None = None
    class_min: Value | None = None
    #: A field validator of the model checks this field's len().
    length_validated: bool = False
    #: Some validator (field_validator, AfterValidator...) checks the value.
    validated: bool = False
    #: Declared by the body model itself (not inherited).
    direct: bool = True
    #: Bounds the handler applies in code: "upper" (``min(limit, N)``), "lower" (``max(skip, 0)``).
    clamped: frozenset[str] = frozenset()
    #: The other fields of the model that declares this one (empty for a parameter).
    siblings: frozenset[str] = frozenset()


def _input_items(project: Project) -> list[InputItem]:
    """Every request input the S8 rules judge (built once per project)."""
    return project.shared("s08.items", lambda: _read_input_items(project))


def _read_input_items(project: Project) -> list[InputItem]:
    index = project.index
    types: Types = project.pydantic
    request = project.requests
    items: list[InputItem] = []
    body_models: list[ClassRef] = []
    query_models: list[ClassRef] = []
    for inp in request.inputs:
        models = models_in(inp.shapes)
        if inp.source in _BODY_SOURCES:
            body_models.extend(models)
        elif inp.source == "query":
            query_models.extend(models)
        if not models:
            items.append(_param_item(index, inp))
    seen_models: set[tuple[str, ClassRef]] = set()
    for source, roots in (("body", body_models), ("query", query_models)):
        queue = deque(roots)
        while queue:
            model = queue.popleft()
            if (source, model) in seen_models:
                continue
            seen_models.add((source, model))
            class_max = config_value(index, types, model, ("str_max_length",), ("max_anystr_length",))
            class_min = config_value(index, types, model, ("str_min_length",), ("min_anystr_length",))
            validators = validators_by_field(index, types, model)
            fields = model_fields(index, types, model)
            for fld in fields.values():
                shapes = field_shapes(types, fld)
                if any(s.kind == "classvar" for s in shapes):
                    continue
                if source == "body":
                    queue.extend(models_in(shapes))
                checks = validators.get(fld.name, []) + validators.get("*", [])
                model_checks = validators.get(MODEL_VALIDATORS_KEY, [])
                items.append(
                    InputItem(
                        name=fld.name,
                        path=fld.path,
                        span=fld.assign.span,
                        shapes=shapes,
                        source=source,
                        where=_field_where(fld, model, source),
                        class_max=class_max,
                        class_min=class_min,
                        length_validated=any(measures_length(index, fn, module) for fn, module in checks + model_checks)
                        or any(_validator_measures(index, v) for s in shapes for v in s.validators),
                        validated=bool(checks) or any(s.validators for s in shapes),
                        direct=fld.owner == model,
                        siblings=frozenset(name for name in fields if name != fld.name),
                    )
                )
    # A field reached from several bodies is reported once: name the body that declares it when there is one.
    items.sort(key=lambda item: not item.direct)
    return items


def _clamps(index: ProjectIndex, inp: RequestInput) -> frozenset[str]:
    """``limit = min(limit, 100)`` / ``max(skip, 0)`` in the function: "upper" / "lower" bounds set in code."""
    out: set[str] = set()
    ctx = Ctx(inp.ctx.module, inp.function.qualname)
    for site in inp.function.calls:
        func = site.call.func
        if not isinstance(func, Name) or func.id not in ("min", "max"):
            continue
        if index.fqn(func, ctx) != f"builtins.{func.id}" or not _mentions(site.call, inp.name):
            continue
        out.add("upper" if func.id == "min" else "lower")
    return frozenset(out)


def _mentions(call: Call, name: str) -> bool:
    for arg in call.args:
        if isinstance(arg, Name) and arg.id == name:
            return True
        if isinstance(arg, Call) and _mentions(arg, name):
            return True
    return False


def _param_item(index: ProjectIndex, inp: RequestInput) -> InputItem:
    kind = {"body": "body parameter", "form": "form parameter", "query": "query parameter"}.get(inp.source, "parameter")
    handler = inp.function.qualname.replace(".<locals>.", ".")
    return InputItem(
        name=inp.name,
        path=inp.path,
        span=inp.param.span,
        shapes=inp.shapes,
        # A Form() parameter is validated by FastAPI like a Body() one: the same bounds hold.
        source=inp.source,
        where=f"{kind} `{inp.name}` of `{handler}`",
        length_validated=any(_validator_measures(index, v) for s in inp.shapes for v in s.validators),
        validated=any(s.validators for s in inp.shapes),
        clamped=_clamps(index, inp),
    )


def _validator_measures(index: ProjectIndex, value: Value) -> bool:
    if not isinstance(value, FuncRef):
        return False
    return measures_length(index, index.function(value), value.module)


def _field_where(fld: ModelField, model: ClassRef, source: str) -> str:
    owner = fld.owner.qualname
    what = "request body" if source == "body" else "query model"
    if fld.owner == model:
        return f"field `{fld.name}` of the {what} `{owner}`"
    return f"field `{fld.name}` of `{owner}` (inherited by the {what} `{model.qualname}`)"


def _single(shapes: list[Shape]) -> Shape | None:
    """The one non-None member of a type that is not a container, else None."""
    real = members(shapes)
    if len(real) != 1 or real[0].container:
        return None
    return real[0]


def _bound(shape: Shape, *keys: str) -> Value | None:
    for key in keys:
        if key in shape.constraints:
            return shape.constraints[key]
    return None


def uses_bcrypt(project: Project) -> bool:
    """Whether the project hashes passwords with bcrypt (directly, passlib's default scheme or pwdlib's first hasher)."""
    return project.shared("s08.bcrypt", lambda: _uses_bcrypt(project))


def _uses_bcrypt(project: Project) -> bool:
    index = project.index
    found = bool(index.calls_to(*_BCRYPT_CALLS))
    if not found:
        for _facts, site, ctx in index.calls_to(*PASSLIB_CONTEXT):
            default = index.const(site.call.kw("default"), ctx) if site.call.kw("default") is not None else None
            schemes = index.const(site.call.arg(0, "schemes"), ctx)
            if default == "bcrypt" or (default is None and isinstance(schemes, list) and schemes[:1] == ["bcrypt"]):
                found = True
                break
    if not found:
        for _facts, site, ctx in index.calls_to(*PWDLIB_HASH):
            hashers = site.call.arg(0, "hashers")
            if isinstance(hashers, Seq) and hashers.items:
                first = index.evaluate(hashers.items[0], ctx)
                if isinstance(first, Instance) and value_fqn(first.type) in PWDLIB_BCRYPT:
                    found = True
                    break
    return found


class _S8Rule(Rule[S8Options]):
    standard = "S8"
    Options = S8Options
    tags = ("validation",)

    def items(self, project: Project) -> list[InputItem]:
        return _input_items(project)

    def is_password(self, name: str) -> bool:
        return bool(self.options.password_field_pattern.search(name))

    def is_email(self, name: str) -> bool:
        return bool(self.options.email_field_pattern.search(name))

    def not_email_typed(self, item: InputItem, shape: Shape) -> bool:
        """An e-mail field typed as a plain string without a validator of its own (AL203)."""
        return (
            self.is_email(item.name)
            and not self.is_password(item.name)
            and shape.fqn in self.options.unbounded_string_types
            and shape.fqn not in self.options.email_types
            and not item.validated
            and not shape.opaque
        )

    def unique(self, findings: Iterable[Finding]) -> Iterator[Finding]:
        seen: set[tuple[str, int, int]] = set()
        for finding in findings:
            key = (finding.path, finding.span.line, finding.span.column)
            if key not in seen:
                seen.add(key)
                yield finding


class UnboundedBodyString(_S8Rule):
    """Reports request-body string fields without a maximum length.

    A field of a model used as a route's body (or form) — directly, in a
    list, nested in another body model, or inherited from a base class —
    typed `str`, `SecretStr` or an unbounded URL type (`AnyUrl`,
    `AnyHttpUrl`) needs `max_length`, in any of pydantic's forms:
    `Field(max_length=...)` (pydantic or SQLModel), `Annotated[str,
    Field(...)]`, `StringConstraints`, `constr(...)`, `annotated_types.MaxLen`
    / `Len`, a shared alias defined in another module, or the model's
    `str_max_length` setting. `EmailStr` and `HttpUrl` are bounded by
    pydantic. Password and e-mail fields have their own rules (AL202, AL203).

    ## Why is this bad?
    Without a limit a client can send megabytes in a name field: it is parsed,
    validated, logged and stored before anything notices, and the database
    column's length error surfaces as a 500 instead of a 422.
    """

    id = "AL201"
    name = "UnboundedBodyString"
    severity = Severity.WARNING
    security_severity = 5.3
    INVALID = [
        {
            "app/schemas.py": """
            from pydantic import BaseModel, Field

            class ItemCreate(BaseModel):
                title: str = Field(description="The title.")  # expect: AL201
            """,
            "app/main.py": """
            from fastapi import FastAPI
            from app.schemas import ItemCreate

            app = FastAPI()

            @app.post("/api/v1/items", status_code=201)
            async def create_item(item: ItemCreate) -> None:
                ...
            """,
        }
    ]
    VALID = [
        {
            "app/types.py": """
            from typing import Annotated
            from pydantic import StringConstraints

            Title = Annotated[str, StringConstraints(min_length=1, max_length=200)]
            """,
            "app/schemas.py": """
            from pydantic import BaseModel
            from app.types import Title

            class ItemCreate(BaseModel):
                title: Title

            class ItemRead(BaseModel):
                title: str
            """,
            "app/main.py": """
            from fastapi import FastAPI
            from app.schemas import ItemCreate, ItemRead

            app = FastAPI()

            @app.post("/api/v1/items", status_code=201, response_model=ItemRead)
            async def create_item(item: ItemCreate) -> ItemRead:
                ...
            """,
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        unbounded = set(self.options.unbounded_string_types)
        return self.unique(self._check(project, unbounded))

    def _check(self, project: Project, unbounded: set[str]) -> Iterator[Finding]:
        for item in self.items(project):
            if item.source not in _BODY_SOURCES or self.is_password(item.name):
                continue
            shape = _single(item.shapes)
            if shape is None or shape.fqn not in unbounded or shape.opaque:
                continue
            if self.is_email(item.name):
                # AL203 reports it (the fix, EmailStr, is bounded), or a validator of its own checks the address.
                continue
            if _bound(shape, "max_length") is not None or item.class_max is not None or item.length_validated:
                continue
            type_name = shape.fqn.rsplit(".", 1)[-1]
            if shape.fqn == "builtins.str":
                hint = "give it `Field(max_length=...)`, `StringConstraints(max_length=...)` or `constr(max_length=...)`"
            elif "Url" in type_name:
                hint = "use `HttpUrl` (at most 2083 characters) or add `max_length`"
            else:
                hint = "add `Field(max_length=...)`"
            yield self.finding(
                item.path,
                item.span,
                f"The {item.where} is typed `{type_name}` without a maximum length: {hint}.",
            )


class PasswordLengthBounds(_S8Rule):
    """Reports request-body password fields whose length limits are missing or out of policy.

    A field or body parameter named like a password (pack pattern) — the
    user's own password, not a credential the application keeps for another
    system (a password named after that system, `smtp_password`, or sent
    beside its `host`/`url`/`port`) — needs
    `min_length` of at least 8 and `max_length` of at most 128 — at most 72
    where the project hashes passwords with bcrypt (`bcrypt.hashpw`, passlib's
    default `bcrypt` scheme, pwdlib's first hasher), which rejects longer
    input. Limits are read from every form pydantic accepts, across modules.

    ## Why is this bad?
    Short passwords are guessed; unbounded ones let a client make the server
    hash megabytes (bcrypt and argon2 are slow on purpose). bcrypt 5 raises on
    passwords over 72 bytes, so a longer limit turns a valid-looking request
    into a 500.
    """

    id = "AL202"
    name = "PasswordLengthBounds"
    severity = Severity.ERROR
    security_severity = 5.9
    INVALID = [
        {
            "app/schemas.py": """
            from pydantic import BaseModel, EmailStr, Field

            class UserCreate(BaseModel):
                email: EmailStr
                password: str = Field(min_length=6)  # expect: AL202
            """,
            "app/main.py": """
            from fastapi import FastAPI
            from app.schemas import UserCreate

            app = FastAPI()

            @app.post("/api/v1/users", status_code=201)
            async def create_user(user: UserCreate) -> None:
                ...
            """,
        }
    ]
    VALID = [
        {
            "app/schemas.py": """
            from pydantic import BaseModel, EmailStr, Field

            class UserCreate(BaseModel):
                email: EmailStr
                password: str = Field(min_length=8, max_length=72)
            """,
            "app/security.py": """
            import bcrypt

            def hash_password(password: str) -> bytes:
                return bcrypt.hashpw(password.encode(), bcrypt.gensalt())
            """,
            "app/main.py": """
            from fastapi import FastAPI
            from app.schemas import UserCreate

            app = FastAPI()

            @app.post("/api/v1/users", status_code=201)
            async def create_user(user: UserCreate) -> None:
                ...
            """,
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        return self.unique(self._check(project))

    def _check(self, project: Project) -> Iterator[Finding]:
        unbounded = set(self.options.unbounded_string_types)
        bcrypt = None
        for item in self.items(project):
            if item.source not in _BODY_SOURCES or not self.is_password(item.name):
                continue
            if self._kept_credential(item):
                continue  # a credential kept for another system: a secret, not the user's own password
            shape = _single(item.shapes)
            if shape is None or shape.fqn not in unbounded or shape.opaque or item.length_validated:
                continue
            if bcrypt is None:
                bcrypt = uses_bcrypt(project)
            low = self.options.password_min_length
            high = self.options.bcrypt_password_max_length if bcrypt else self.options.password_max_length
            problems = []
            minimum = _bound(shape, "min_length")
            minimum = minimum if minimum is not None else item.class_min
            if minimum is None:
                problems.append("no minimum length")
            elif (value := const_int(minimum)) is not None and value < low:
                problems.append(f"a minimum length of {value}")
            maximum = _bound(shape, "max_length")
            maximum = maximum if maximum is not None else item.class_max
            if maximum is None:
                problems.append("no maximum length")
            elif (value := const_int(maximum)) is not None and value > high:
                problems.append(f"a maximum length of {value}")
            if not problems:
                continue
            why = " (the project hashes passwords with bcrypt, which rejects input over 72 bytes)" if bcrypt else ""
            yield self.finding(
                item.path,
                item.span,
                f"The password {item.where} has {' and '.join(problems)}: "
                f"it needs min_length >= {low} and max_length <= {high}{why}.",
            )

    def _kept_credential(self, item: InputItem) -> bool:
        """A password for another system: named after it, or sent beside its host or URL."""
        if self.options.credential_password_names.search(item.name):
            return True
        return any(self.options.credential_host_fields.search(name) for name in item.siblings)


class EmailFieldNotEmailStr(_S8Rule):
    """Reports request-body e-mail fields typed as a plain `str` instead of `EmailStr`.

    Fields and body parameters named like an e-mail address (pack pattern)
    must have one of the pack's e-mail types (`EmailStr`, `NameEmail`). A
    field with its own validator (`field_validator`, `AfterValidator`) is
    left alone: it checks the address another way.

    ## Why is this bad?
    A `str` accepts anything: addresses that can never receive mail end up in
    the users table, unique constraints miss case and whitespace variants, and
    the field has no length limit.
    """

    id = "AL203"
    name = "EmailFieldNotEmailStr"
    severity = Severity.WARNING
    INVALID = [
        {
            "app/schemas.py": """
            from pydantic import BaseModel, Field

            class Signup(BaseModel):
                email: str = Field(max_length=255)  # expect: AL203
                password: str = Field(min_length=8, max_length=128)
            """,
            "app/main.py": """
            from fastapi import FastAPI
            from app.schemas import Signup

            app = FastAPI()

            @app.post("/api/v1/signups", status_code=201)
            async def sign_up(body: Signup) -> None:
                ...
            """,
        }
    ]
    VALID = [
        {
            "app/schemas.py": """
            from pydantic import BaseModel, EmailStr, Field

            class Signup(BaseModel):
                email: EmailStr
                password: str = Field(min_length=8, max_length=128)

            class Mailing(BaseModel):
                email_subject: str = Field(max_length=200)
            """,
            "app/main.py": """
            from fastapi import FastAPI
            from app.schemas import Mailing, Signup

            app = FastAPI()

            @app.post("/api/v1/signups", status_code=201)
            async def sign_up(body: Signup, mailing: Mailing) -> None:
                ...
            """,
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        return self.unique(self._check(project))

    def _check(self, project: Project) -> Iterator[Finding]:
        allowed = " or ".join(f"`{t.rsplit('.', 1)[-1]}`" for t in self.options.email_types) or "`EmailStr`"
        for item in self.items(project):
            if item.source not in _BODY_SOURCES:
                continue
            shape = _single(item.shapes)
            if shape is None or not self.not_email_typed(item, shape):
                continue
            type_name = shape.fqn.rsplit(".", 1)[-1]
            yield self.finding(
                item.path,
                item.span,
                f"The e-mail {item.where} is typed `{type_name}`: type it {allowed} so the address is validated and bounded.",
            )


class UnboundedPaginationInteger(_S8Rule):
    """Reports paging and sizing integers without bounds: `limit` without `le`, `skip` without `ge`.

    Query parameters of routes (and of their dependencies, and query models),
    and body fields, that are integers named like a page size (pack pattern:
    `limit`, `page_size`, `per_page`, ...) need an upper bound (`le`/`lt`);
    those named like an offset (`skip`, `offset`) need a lower bound
    (`ge`/`gt`). Bounds count in every form: `Query(le=...)`,
    `Annotated[int, Query(...)]`, `Field`, `conint`, `annotated_types.Le`,
    `PositiveInt`/`NonNegativeInt`, shared aliases.

    ## Why is this bad?
    `?limit=1000000` makes one request load a whole table, and `?skip=-1`
    reaches the database as a negative OFFSET (an error on PostgreSQL, a 500
    for the client). A bounded parameter is a 422 with a clear message instead
    — and the response-time standard's static proxy (S22).
    """

    id = "AL204"
    name = "UnboundedPaginationInteger"
    severity = Severity.WARNING
    security_severity = 5.3
    INVALID = [
        """
        from fastapi import FastAPI

        app = FastAPI()

        @app.get("/api/v1/items")
        async def list_items(
            skip: int = 0,  # expect: AL204
            limit: int = 100,  # expect: AL204
        ) -> list[str]:
            return []
        """
    ]
    VALID = [
        """
        from typing import Annotated
        from fastapi import FastAPI, Query

        app = FastAPI()

        @app.get("/api/v1/items")
        async def list_items(
            skip: Annotated[int, Query(ge=0)] = 0,
            limit: int = Query(100, ge=1, le=100),
        ) -> list[str]:
            return []
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        return self.unique(self._check(project))

    def _check(self, project: Project) -> Iterator[Finding]:
        upper = self.options.upper_bound_field_pattern
        lower = self.options.lower_bound_field_pattern
        for item in self.items(project):
            if item.source not in ("query", "body", "form"):
                continue
            shape = _single(item.shapes)
            if shape is None or shape.fqn != "builtins.int" or shape.opaque:
                continue
            marker = "Query" if item.source == "query" and not item.where.startswith("field") else "Field"
            if upper.search(item.name) and _bound(shape, "le", "lt") is None and "upper" not in item.clamped:
                yield self.finding(
                    item.path,
                    item.span,
                    f"The {item.where} sizes a result but has no upper bound: add `le=` (for example `{marker}(ge=1, le=100)`).",
                )
            elif lower.search(item.name) and _bound(shape, "ge", "gt") is None and "lower" not in item.clamped:
                yield self.finding(
                    item.path,
                    item.span,
                    f"The {item.where} is an offset without a lower bound: add `ge={1 if 'page' in item.name.lower() else 0}`.",
                )
