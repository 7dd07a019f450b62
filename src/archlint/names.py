"""The one table of library symbols the analyses and rules know by name.

A library defines a symbol in one module and re-exports it from another
(``fastapi.params.Depends`` is ``fastapi.Depends``); the index reports where a
name was imported from, so a symbol has several spellings. ``canonical`` maps
each to the public one, and every set here holds a symbol's public spelling
together with all its internal ones, so a lookup matches whether or not the
caller canonicalised first. How libraries spell their own API is fixed by the
libraries, not by policy: policy lists (what counts as slow, weak, safe) stay
in the pack.
"""

from __future__ import annotations

#: Internal modules -> the public module that re-exports their names (longest prefix wins).
PUBLIC_MODULES = {
    "typing_extensions": "typing",
    "sqlalchemy.future": "sqlalchemy",
    "sqlalchemy.engine.create": "sqlalchemy",
    "sqlalchemy.engine": "sqlalchemy",
    "sqlalchemy.schema": "sqlalchemy",
    "sqlalchemy.sql.schema": "sqlalchemy",
    "sqlalchemy.sql.expression": "sqlalchemy",
    "sqlalchemy.sql._elements_constructors": "sqlalchemy",
    "sqlalchemy.sql._selectable_constructors": "sqlalchemy",
    "sqlalchemy.sql": "sqlalchemy",
    "sqlalchemy.types": "sqlalchemy",
    "sqlalchemy.sql.sqltypes": "sqlalchemy",
    "sqlalchemy.orm.session": "sqlalchemy.orm",
    "sqlalchemy.orm.scoping": "sqlalchemy.orm",
    "sqlalchemy.orm.decl_api": "sqlalchemy.orm",
    "sqlalchemy.orm._orm_constructors": "sqlalchemy.orm",
    "sqlalchemy.orm.relationships": "sqlalchemy.orm",
    "sqlalchemy.orm.strategy_options": "sqlalchemy.orm",
    "sqlalchemy.orm.base": "sqlalchemy.orm",
    "sqlalchemy.orm.properties": "sqlalchemy.orm",
    "sqlalchemy.orm.query": "sqlalchemy.orm",
    "sqlalchemy.ext.asyncio.session": "sqlalchemy.ext.asyncio",
    "sqlalchemy.ext.asyncio.engine": "sqlalchemy.ext.asyncio",
    "sqlalchemy.ext.asyncio.scoping": "sqlalchemy.ext.asyncio",
    "sqlmodel.main": "sqlmodel",
    "sqlmodel.orm.session": "sqlmodel",
    "sqlmodel.sql.expression": "sqlmodel",
    "sqlmodel.sql._expression_select_gen": "sqlmodel",
    "sqlmodel.ext.asyncio": "sqlmodel.ext.asyncio.session",
    "pydantic.networks": "pydantic",
    "pydantic.types": "pydantic",
    "pydantic.main": "pydantic",
    "pydantic.fields": "pydantic",
    "pydantic.config": "pydantic",
    "pydantic.functional_validators": "pydantic",
    "pydantic.root_model": "pydantic",
    "pydantic_settings.main": "pydantic_settings",
    "fastapi.params": "fastapi",
    "fastapi.param_functions": "fastapi",
    "fastapi.requests": "fastapi",
    "fastapi.background": "fastapi",
    "fastapi.datastructures": "fastapi",
    "fastapi.websockets": "fastapi",
}
#: Single names re-exported where their module's other names are not.
_PUBLIC_NAMES = {"fastapi.responses.Response": "fastapi.Response"}


def canonical(fqn: str | None) -> str | None:
    """The public spelling of an external dotted name (``sqlalchemy.orm.session.Session`` -> ``sqlalchemy.orm.Session``)."""
    if not fqn:
        return fqn
    if fqn in _PUBLIC_NAMES:
        return _PUBLIC_NAMES[fqn]
    module, _, name = fqn.rpartition(".")
    probe = module
    while probe:
        public = PUBLIC_MODULES.get(probe)
        if public is not None:
            return f"{public}.{name}"
        probe = probe.rpartition(".")[0]
    return fqn


def _spellings(*public: str) -> frozenset[str]:
    """Public dotted names with every internal spelling ``canonical`` maps to them."""
    out = set(public)
    for fqn in public:
        module, _, name = fqn.rpartition(".")
        out.update(f"{internal}.{name}" for internal, target in PUBLIC_MODULES.items() if target == module)
        out.update(internal for internal, target in _PUBLIC_NAMES.items() if target == fqn)
    return frozenset(out)


# ------------------------------------------------------------------ typing
ANNOTATED = _spellings("typing.Annotated")
UNIONS = _spellings("typing.Optional", "typing.Union")
CLASSVAR = _spellings("typing.ClassVar")
ITERATORS = frozenset(
    f"{module}.{name}"
    for module in ("typing", "collections.abc", "typing_extensions")
    for name in ("Generator", "AsyncGenerator", "Iterator", "AsyncIterator", "Iterable", "AsyncIterable")
)

# ------------------------------------------------------------ FastAPI, Starlette
#: ``Security(dep, scopes=[...])`` is ``Depends`` with scopes: a dependency wherever ``Depends`` is.
SECURITY = _spellings("fastapi.Security")
DEPENDS = _spellings("fastapi.Depends") | SECURITY
PATH_PARAMS = _spellings("fastapi.Path")
QUERY_PARAMS = _spellings("fastapi.Query")
FORM_PARAMS = _spellings("fastapi.Form")
HTTP_EXCEPTIONS = frozenset({"fastapi.HTTPException", "fastapi.exceptions.HTTPException", "starlette.exceptions.HTTPException"})
APP_TYPES = frozenset({"fastapi.FastAPI", "fastapi.applications.FastAPI"})
ROUTER_TYPES = frozenset({"fastapi.APIRouter", "fastapi.routing.APIRouter"})
STARLETTE_APPS = frozenset({"starlette.applications.Starlette"})
REQUESTS = _spellings("fastapi.Request") | {"starlette.requests.Request"}
RESPONSES = _spellings("fastapi.Response") | {"starlette.responses.Response"}
RESPONSE_MODULES = ("fastapi.responses.", "starlette.responses.")
#: Response classes whose body is a page, not a JSON document.
HTML_RESPONSES = frozenset({"fastapi.responses.HTMLResponse", "starlette.responses.HTMLResponse"})
#: Responses a browser form action answers with.
REDIRECT_RESPONSES = frozenset({"fastapi.responses.RedirectResponse", "starlette.responses.RedirectResponse"})
MIDDLEWARE_WRAPPERS = frozenset({"starlette.middleware.Middleware", "fastapi.middleware.Middleware"})
AUTHENTICATION_MIDDLEWARE = frozenset({"starlette.middleware.authentication.AuthenticationMiddleware"})

# ------------------------------------------------------------------ pydantic
BASE_MODEL = _spellings("pydantic.BaseModel")
SQLMODEL = _spellings("sqlmodel.SQLModel")
SETTINGS_BASES = _spellings("pydantic_settings.BaseSettings", "pydantic.BaseSettings") | {
    "pydantic.env_settings.BaseSettings",
    "pydantic.v1.BaseSettings",
}
#: Classes whose subclasses are pydantic models (settings and SQLModel included).
MODEL_BASES = (
    BASE_MODEL
    | _spellings("pydantic.RootModel")
    | {"pydantic.generics.GenericModel", "pydantic.v1.BaseModel", "pydantic.v1.main.BaseModel"}
    | SETTINGS_BASES
    | SQLMODEL
)
PYDANTIC_FIELD = _spellings("pydantic.Field")
SQLMODEL_FIELD = _spellings("sqlmodel.Field")
#: pydantic / SQLModel field constructors: ``x: int = Field(15)`` has default 15.
FIELD_FUNCTIONS = PYDANTIC_FIELD | SQLMODEL_FIELD
CONFIG_DICTS = _spellings("pydantic.ConfigDict", "pydantic_settings.SettingsConfigDict")
FIELD_VALIDATORS = _spellings("pydantic.field_validator", "pydantic.validator") | {
    "pydantic.class_validators.validator",
    "pydantic.deprecated.class_validators.validator",
    "pydantic.v1.validator",
}
MODEL_VALIDATORS = _spellings("pydantic.model_validator", "pydantic.root_validator") | {
    "pydantic.class_validators.root_validator",
    "pydantic.deprecated.class_validators.root_validator",
    "pydantic.v1.root_validator",
}

#: Sequence types by every spelling typing and collections.abc give them.
SEQUENCES = frozenset(
    {
        "builtins.list",
        "builtins.set",
        "builtins.frozenset",
        "builtins.tuple",
        "typing.List",
        "typing.Set",
        "typing.FrozenSet",
        "typing.Tuple",
        "typing.Sequence",
        "typing.MutableSequence",
        "typing.Iterable",
        "collections.abc.Sequence",
        "collections.abc.Iterable",
    }
)

# ------------------------------------------------------------- SQLAlchemy, SQLModel
SQLMODEL_RELATIONSHIP = _spellings("sqlmodel.Relationship")
DECLARATIVE_BASES = _spellings(
    "sqlalchemy.orm.DeclarativeBase", "sqlalchemy.orm.DeclarativeBaseNoMeta", "sqlalchemy.orm.MappedAsDataclass"
)
DECLARATIVE_FUNCTIONS = _spellings("sqlalchemy.orm.declarative_base") | {"sqlalchemy.ext.declarative.declarative_base"}
AS_DECLARATIVE = _spellings("sqlalchemy.orm.as_declarative") | {"sqlalchemy.ext.declarative.as_declarative"}
DECLARED_ATTR = _spellings("sqlalchemy.orm.declared_attr") | {"sqlalchemy.ext.declarative.declared_attr"}
ASYNC_ATTRS = frozenset({"sqlalchemy.ext.asyncio.AsyncAttrs"})
COLUMN = _spellings("sqlalchemy.Column")
MAPPED_COLUMN = _spellings("sqlalchemy.orm.mapped_column")
COLUMN_PROPERTY = _spellings("sqlalchemy.orm.column_property")
#: Column constructors whose ``default=`` gives a new row's value.
COLUMN_FUNCTIONS = COLUMN | MAPPED_COLUMN
MAPPED = _spellings("sqlalchemy.orm.Mapped")
TABLE = _spellings("sqlalchemy.Table")
RELATIONSHIP = _spellings("sqlalchemy.orm.relationship", "sqlalchemy.orm.relation")
FOREIGN_KEY = _spellings("sqlalchemy.ForeignKey")
INDEX = _spellings("sqlalchemy.Index")
UNIQUE = _spellings("sqlalchemy.UniqueConstraint")
PRIMARY_KEY = _spellings("sqlalchemy.PrimaryKeyConstraint")
FOREIGN_KEY_CONSTRAINT = _spellings("sqlalchemy.ForeignKeyConstraint")

# ------------------------------------------------------------------ hashing
PASSLIB_CONTEXT = frozenset({"passlib.context.CryptContext"})
PWDLIB_HASH = frozenset({"pwdlib.PasswordHash", "pwdlib._hash.PasswordHash", "pwdlib.password_hash.PasswordHash"})
PWDLIB_BCRYPT = frozenset({"pwdlib.hashers.bcrypt.BcryptHasher"})

# ------------------------------------------------------------------ environment
#: Reads of one environment variable (their result is never a constant).
ENV_GETTERS = frozenset({"os.getenv", "os.environ.get", "os.environ.setdefault", "os.environ.__getitem__"})
