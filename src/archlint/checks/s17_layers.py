"""S17 — clean layers: imports follow the layer contract; routes delegate database work to services.

Layers are data (import-linter's ``layers`` and ``forbidden`` contracts in
spirit): ``layer-paths`` names each layer's files by globs over the
project-relative path, ``layers`` orders them from top to bottom. The
route rules find the database through the project index: a parameter typed
or injected as a SQLAlchemy/SQLModel session, a session a handler opens, a
query built with ``select(...)`` — never a variable's name.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from archlint import globs
from archlint.checks.base import Project, Rule
from archlint.collect.facts import (
    Attr,
    Await,
    BinOp,
    Call,
    Expr,
    FileFacts,
    FunctionFact,
    ImportFact,
    Name,
    Param,
    Scope,
)
from archlint.index import ProjectIndex
from archlint.model import Finding, Related, Severity, Span
from archlint.names import ANNOTATED, DEPENDS, ITERATORS, UNIONS
from archlint.pack import ConfigError, option
from archlint.values import ClassRef, Ctx, FuncRef, Instance, Symbol, TypeForm, Value, fqn_of

_MAX_RELATED = 10


@dataclass(frozen=True)
class S17Options:
    layers: tuple[str, ...] = option(
        "The layer contract, top to bottom: a module may import its own layer and the layers below it, never one "
        "above. `a | b` puts independent layers side by side (they may not import each other); `a : b` puts layers "
        "side by side that may. Layers missing from the list are bound only by `forbidden`."
    )
    layer_paths: dict[str, tuple[str, ...]] = option(
        "Each layer's files, as globs over the project-relative path (`**/api/**`, `**/crud.py`). A file matched "
        "by several layers belongs to the one named by its outermost package directory."
    )
    layer_evidence: dict[str, tuple[str, ...]] = option(
        "Layer -> modules (dotted prefixes) whose import shows a file belongs to it. A file matched to such a "
        "layer only by its folder or file name, that imports none of them (nor a project module of the same "
        "layer that does), is not in that layer: a domain package named `repositories` (of git repositories) "
        "is not the data-access layer. Wiring modules are never in these layers. An empty table trusts the names."
    )
    domain_package_layers: int = option(
        "A folder holding files named for this many different layers (`models.py`, `service.py`, `views.py`) "
        "is a domain package: its own name (`service/`, `repositories/`) assigns no layer, its files' names do."
    )
    forbidden: dict[str, tuple[str, ...]] = option(
        "Further forbidden imports (import-linter's `forbidden` contract): layer -> the layers it must not import. "
        "Names without an entry in `layer-paths` are ignored, so the pack's defaults never get in the way of a "
        "project's own contract."
    )
    no_skip: dict[str, tuple[str, ...]] = option(
        "Layer -> lower layers it must not import directly whenever a layer between them has files (the api layer "
        "reaching the repositories past the services)."
    )
    wiring_modules: tuple[str, ...] = option(
        "Globs of modules that wire layers together (dependency providers such as `api/deps.py`): they may build "
        "any lower layer's objects, so `no-skip` does not apply to them."
    )
    ignore_type_checking_imports: bool = option(
        "Leave imports under `if TYPE_CHECKING:` out of the contracts and the cycles (they never run)."
    )
    api_layer: str = option("The layer whose route handlers and dependencies must not run the database themselves.")
    service_layers: tuple[str, ...] = option(
        "Layers that must not know the transport: no `HTTPException`, no `Request` parameters."
    )
    session_types: tuple[str, ...] = option(
        "Dotted names of database session classes (a parameter of such a type, or subclass, is a session)."
    )
    session_factories: tuple[str, ...] = option(
        "Dotted names of session factories: calling an instance (`SessionLocal()`) opens a session."
    )
    engine_factories: tuple[str, ...] = option(
        "Dotted names of functions that create an engine: the engine and its connections (`engine.connect()`, "
        "`engine.begin()`) run the database too."
    )
    session_objects: tuple[str, ...] = option(
        "Dotted names of ready-made session objects of libraries (`fastapi_sqlalchemy.db.session`)."
    )
    session_methods: tuple[str, ...] = option("Session methods that run the database (`execute`, `add`, `commit`, ...).")
    query_builders: tuple[str, ...] = option("Dotted names of functions that build SQL statements (`select`).")
    allow_auth_dependency_queries: bool = option(
        "Let an authentication dependency (one that reads a security scheme or decodes a token) load the user itself."
    )
    security_schemes: tuple[str, ...] = option(
        "fnmatch patterns of dotted names of security schemes and credentials types (`fastapi.security.*`)."
    )
    token_decoders: tuple[str, ...] = option("Dotted names of functions that decode an access token (`jwt.decode`).")
    transport_exceptions: tuple[str, ...] = option("HTTP exception classes the service layers must not raise.")
    transport_types: tuple[str, ...] = option("Request objects the service layers must not take as parameters.")
    web_modules: tuple[str, ...] = option(
        "Top-level modules whose import marks code as the HTTP layer (`fastapi`, `starlette`): a package the "
        "api layer's globs match that imports none of them (outbound clients) is not the api layer."
    )
    request_parameter_markers: tuple[str, ...] = option(
        "Dotted names of FastAPI parameter markers (`Header`, `Security`, `Depends`): a function taking one is a "
        "request dependency, wherever it lives, and may speak HTTP."
    )

    def __post_init__(self) -> None:
        known = set(self.layer_paths)
        ordered = _flat(self.layers)
        if len(set(ordered)) != len(ordered):
            raise ConfigError("[standards.S17]: option 'layers' names a layer twice")
        for name in ordered:
            if name not in known:
                raise ConfigError(
                    f"[standards.S17]: layer '{name}' is named in option 'layers' but has no entry in layer-paths "
                    f"(known: {', '.join(sorted(known)) or 'none'})"
                )


def _parse_levels(layers: tuple[str, ...]) -> list[tuple[list[str], bool]]:
    """``["api", "models | schemas"]`` -> [(["api"], False), (["models", "schemas"], True)] (names, independent)."""
    out = []
    for entry in layers:
        independent = "|" in entry
        if independent and ":" in entry:
            raise ConfigError(f"[standards.S17]: layer entry '{entry}' mixes '|' and ':'")
        names = [n.strip() for n in entry.replace("|", ":").split(":") if n.strip()]
        out.append((names, independent))
    return out


def _flat(layers: tuple[str, ...]) -> list[str]:
    return [n for names, _ in _parse_levels(layers) for n in names]


# --------------------------------------------------------------------------- #
# The layer map and the import graph, shared by the rules of one run
# --------------------------------------------------------------------------- #


@dataclass(slots=True)
class _Edge:
    facts: FileFacts
    imp: ImportFact
    target: FileFacts
    source_layer: str
    target_layer: str


class _Layers:
    def __init__(self, index: ProjectIndex, options: S17Options) -> None:
        self.index = index
        self.options = options
        self.levels = _parse_levels(options.layers)
        self.rank = {name: i for i, (names, _) in enumerate(self.levels) for name in names}
        self.order = list(options.layer_paths)
        self._of: dict[str, str | None] = {}
        self._web: dict[str, bool] = {}
        self._domains: set[str] | None = None
        self._evidence: dict[tuple[str, str], bool] = {}

    def layer_of(self, facts: FileFacts) -> str | None:
        if facts.path not in self._of:
            self._of[facts.path] = self._compute(facts)
        return self._of[facts.path]

    def _compute(self, facts: FileFacts) -> str | None:
        parts = facts.rel.split("/")
        package_start = len(parts) - len(facts.module.split(".")) - (1 if facts.is_package else 0)
        matches: list[tuple[int, int, int, str]] = []
        for position, (name, patterns) in enumerate(self.options.layer_paths.items()):
            for pattern in patterns:
                depth = globs.anchor_depth(pattern, facts.rel)
                if depth is None:
                    continue
                if depth < len(parts) and "/".join(parts[:depth]) in self._domain_dirs():
                    continue  # a domain package's name is not a layer
                matches.append((0 if depth - 1 >= package_start else 1, depth, position, name))
        for _, depth, _, name in sorted(matches):
            if name in self.options.layer_evidence and not self._evidenced(facts, name, 0):
                continue
            if name == self.options.api_layer and depth < len(parts) and not self._holds_web("/".join(parts[:depth])):
                continue  # an `api` package of outbound clients: a layer is known by what it holds
            return name
        return None

    def _holds_web(self, directory: str) -> bool:
        """Whether any module below ``directory`` imports the web framework (routes, dependencies, responses)."""
        if directory not in self._web:
            prefix = directory + "/"
            roots = set(self.options.web_modules)
            self._web[directory] = any(
                imp.level == 0 and imp.module.split(".")[0] in roots
                for facts in self.index.files.values()
                if facts.rel.startswith(prefix)
                for imp in facts.imports
            )
        return self._web[directory]

    def _domain_dirs(self) -> set[str]:
        """Folders whose files are named for several layers: domain packages (``incident/models.py``, ``incident/service.py``)."""
        if self._domains is None:
            named: dict[str, set[str]] = {}
            for f in self.index.files.values():
                parts = f.rel.split("/")
                for name, patterns in self.options.layer_paths.items():
                    if any(globs.anchor_depth(p, f.rel) == len(parts) for p in patterns):
                        named.setdefault("/".join(parts[:-1]), set()).add(name)
            wanted = self.options.domain_package_layers
            self._domains = {d for d, layers in named.items() if wanted > 0 and len(layers) >= wanted}
        return self._domains

    def _evidenced(self, facts: FileFacts, layer: str, depth: int) -> bool:
        """Whether a file named for ``layer`` shows it: it imports one of the layer's evidence modules, or a
        project module of the same name-layer that does (a package's ``__init__`` re-exporting its repositories)."""
        if globs.match_any(self.options.wiring_modules, facts.rel):
            return False
        key = (facts.path, layer)
        if key in self._evidence:
            return self._evidence[key]
        self._evidence[key] = False  # cycles: no evidence through oneself
        modules = self.options.layer_evidence[layer]
        found = False
        for imp in facts.imports:
            if imp.level == 0 and any(imp.module == m or imp.module.startswith(m + ".") for m in modules):
                found = True
                break
        if not found and depth < 3:
            for imp in facts.imports:
                target = import_target(self.index, imp, facts)
                if target is None or target is facts:
                    continue
                if self._named(target, layer) and self._evidenced(target, layer, depth + 1):
                    found = True
                    break
        self._evidence[key] = found
        return found

    def _named(self, facts: FileFacts, layer: str) -> bool:
        return any(globs.anchor_depth(p, facts.rel) is not None for p in self.options.layer_paths.get(layer, ()))

    def files_in(self, layer: str) -> bool:
        return any(self.layer_of(f) == layer for f in self.index.files.values())

    def violation(self, source: str, target: str) -> str | None:
        """Why an import from ``source`` into ``target`` breaks the contract, or None."""
        if target in self.options.forbidden.get(source, ()):
            return f"the contract forbids the {source} layer to import the {target} layer"
        if source in self.rank and target in self.rank:
            s, t = self.rank[source], self.rank[target]
            if t < s:
                return f"the {target} layer sits above the {source} layer ({self.describe()})"
            if t == s and self.levels[s][1]:
                return f"the {source} and {target} layers are independent of each other"
        return None

    def describe(self) -> str:
        return " > ".join(" | ".join(names) if ind else " : ".join(names) for names, ind in self.levels)

    def between(self, upper: str, lower: str) -> list[str]:
        if upper not in self.rank or lower not in self.rank:
            return []
        hi, lo = self.rank[upper], self.rank[lower]
        return [n for names, _ in self.levels[hi + 1 : lo] for n in names]

    def edges(self) -> Iterator[_Edge]:
        """Every import of a project module from a layer into another layer (once per statement and target)."""
        seen: set[tuple[str, Span, str]] = set()
        for facts in self.index.files.values():
            source = self.layer_of(facts)
            if source is None:
                continue
            for imp in facts.imports:
                if imp.type_checking and self.options.ignore_type_checking_imports:
                    continue
                target = import_target(self.index, imp, facts)
                if target is None or target is facts:
                    continue
                layer = self.layer_of(target)
                if layer is None or layer == source:
                    continue
                key = (facts.path, imp.stmt_span, target.module)
                if key in seen:
                    continue
                seen.add(key)
                yield _Edge(facts, imp, target, source, layer)


def import_target(index: ProjectIndex, imp: ImportFact, facts: FileFacts) -> FileFacts | None:
    """The project file an import statement loads (``from app import crud`` -> app/crud.py)."""
    base = index.absolute_module(imp, facts)
    if imp.name and imp.name != "*":
        found = _project_module(index, f"{base}.{imp.name}" if base else imp.name)
        if found is not None:
            return found
    return _project_module(index, base) if base else None


def _project_module(index: ProjectIndex, name: str) -> FileFacts | None:
    found = index.modules.get(name)
    if found is None and "." in name:  # by dotted suffix only: a bare `import jwt` is never a project file
        found = index.module(name)
    return found


#: What the S17 rules share per project and option values.
_SharedT = TypeVar("_SharedT", "_Layers", "_Database")


def _shared(project: Project, kind: type[_SharedT], options: S17Options) -> _SharedT:
    """One layer map / database model per project and option values, shared by the S17 rules."""
    cache: list[_Layers | _Database] = project.shared("s17", list)
    for item in cache:
        if isinstance(item, kind) and item.options == options:
            return item
    item = kind(project.index, options)
    cache.append(item)
    return item


def _layers(project: Project, options: S17Options) -> _Layers:
    return _shared(project, _Layers, options)


# --------------------------------------------------------------------------- #
# Import rules
# --------------------------------------------------------------------------- #


class LayerImportViolation(Rule[S17Options]):
    """Reports an import against the layer contract: a lower layer importing a higher one, or a forbidden import.

    The contract is data in `[standards.S17]`: `layers` from top to bottom
    (api, services, repositories, models and schemas by default) and
    `forbidden` for the rest (the core must not import the api layer). A
    project writes its own in `[tool.archlint.standards.S17]`. The finding
    sits on the import statement.

    ## Why is this bad?
    Dependencies that point up make the layers one tangle: a model that
    imports a route module drags FastAPI into every script that touches the
    database, a service that imports the api layer cannot be reused from a
    worker or a test without the web stack, and import cycles follow.
    """

    id = "AL601"
    name = "LayerImportViolation"
    standard = "S17"
    severity = Severity.ERROR
    tags = ("architecture",)
    Options = S17Options
    INVALID = [
        {
            "app/api/deps.py": """
                from app.core.db import SessionLocal

                def get_db():
                    with SessionLocal() as db:
                        yield db
            """,
            "app/models/user.py": """
                from sqlalchemy.orm import Mapped, mapped_column

                from app.api.deps import get_db  # expect: AL601
                from app.models.base import Base

                class User(Base):
                    __tablename__ = "users"
                    id: Mapped[int] = mapped_column(primary_key=True)
            """,
            "app/models/base.py": "from sqlalchemy.orm import DeclarativeBase\n\nclass Base(DeclarativeBase): pass\n",
            "app/core/db.py": "SessionLocal = None\n",
            "app/api/routes.py": "from fastapi import APIRouter\n\nrouter = APIRouter()\n",
        }
    ]
    VALID = [
        {
            "app/api/routes/users.py": """
                from app.models.user import User
                from app.services.users import UserService
            """,
            "app/services/users.py": "from app.models.user import User\n",
            "app/models/user.py": "class User: pass\n",
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        layers = _layers(project, self.options)
        for edge in layers.edges():
            reason = layers.violation(edge.source_layer, edge.target_layer)
            if reason is None:
                continue
            yield self.finding(
                edge.facts.path,
                edge.imp.span,
                f"This import makes the {edge.source_layer} layer depend on the {edge.target_layer} layer "
                f"(`{edge.target.module}`), but {reason}: move the shared code down, or invert the dependency.",
            )


class LayerImportCycle(Rule[S17Options]):
    """Reports layers that import each other in a cycle when a layer outside the ordered contract is part of it.

    Between the layers of `layers` an upward import is already a contract
    violation, and siblings written `a : b` may import each other by
    contract. A layer bound only by `forbidden` (such as `core`) may be
    imported by everybody, and may import the other layers, but not both
    ways round. One finding per cycle, at an import of the direction with
    the fewest imports; the other directions are related locations. Imports
    under `if TYPE_CHECKING:` do not count.

    ## Why is this bad?
    Two layers that need each other are one layer: neither can be changed,
    tested or reused alone, and the cycle turns into circular-import errors as
    soon as an import moves to module level.
    """

    id = "AL602"
    name = "LayerImportCycle"
    standard = "S17"
    severity = Severity.WARNING
    tags = ("architecture",)
    Options = S17Options
    INVALID = [
        {
            "app/core/db.py": """
                from app.models.base import Base  # expect: AL602

                def create_tables(engine):
                    Base.metadata.create_all(engine)
            """,
            "app/models/base.py": """
                from sqlalchemy.orm import DeclarativeBase

                from app.core.db import create_tables
                from app.core.config import settings

                class Base(DeclarativeBase):
                    pass
            """,
            "app/core/config.py": "settings = None\n",
        }
    ]
    VALID = [
        {
            "app/core/db.py": "from app.models.base import Base\n",
            "app/models/base.py": """
                from typing import TYPE_CHECKING

                from sqlalchemy.orm import DeclarativeBase

                if TYPE_CHECKING:
                    from app.core.db import Engine

                class Base(DeclarativeBase):
                    pass
            """,
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        layers = _layers(project, self.options)
        graph: dict[str, dict[str, list[_Edge]]] = defaultdict(lambda: defaultdict(list))
        for edge in layers.edges():
            if layers.violation(edge.source_layer, edge.target_layer) is None:
                graph[edge.source_layer][edge.target_layer].append(edge)
        for component in _cycles(graph):
            if all(layer in layers.rank for layer in component):
                continue  # siblings the contract lets import each other
            inner = [
                (source, target, edges)
                for source in sorted(component)
                for target, edges in sorted(graph[source].items())
                if target in component
            ]
            inner.sort(key=lambda item: (len(item[2]), item[0], item[1]))
            source, target, edges = inner[0]
            edges = sorted(edges, key=lambda e: (e.facts.path, e.imp.span.line))
            first = edges[0]
            names = " and ".join(sorted(component)) if len(component) == 2 else ", ".join(sorted(component))
            others = [sorted(e, key=lambda x: (x.facts.path, x.imp.span.line))[0] for s, t, e in inner[1:]]
            yield self.finding(
                first.facts.path,
                first.imp.span,
                f"The {names} layers import each other: this import makes the {source} layer depend on the "
                f"{target} layer, which depends back on it. Break the cycle by moving the shared code into one "
                f"layer (or import only for typing under `if TYPE_CHECKING:`).",
                related=[
                    Related(e.facts.path, e.imp.span, f"The {e.source_layer} layer imports the {e.target_layer} layer here.")
                    for e in others[:_MAX_RELATED]
                ],
            )


def _cycles(graph: dict[str, dict[str, list[_Edge]]]) -> list[set[str]]:
    """Strongly connected components with more than one layer (Tarjan)."""
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index_of[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, {})):
            if succ not in index_of:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index_of[succ])
        if low[node] == index_of[node]:
            component = set()
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.add(item)
                if item == node:
                    break
            if len(component) > 1:
                out.append(component)

    for node in sorted(graph):
        if node not in index_of:
            visit(node)
    return out


class ServiceLayerSkipped(Rule[S17Options]):
    """Reports an api module that imports the repository/CRUD layer directly when the project has a service layer.

    Which layers must not be skipped is the `no-skip` option (api ->
    repositories by default). Where a layer between them has files, the
    import skips it; where none has (a backend with no service layer at all,
    whose routes call the CRUD functions and hold the logic), the finding
    says the layer is missing. Modules that wire dependencies together
    (`wiring-modules`, such as `api/deps.py`) may build repositories to hand
    them to services.

    ## Why is this bad?
    The service layer is where business rules and the unit of work live. A
    route that reaches past it to the repositories duplicates or bypasses
    those rules, and the service layer stops being the one place to change
    them.
    """

    id = "AL603"
    name = "ServiceLayerSkipped"
    standard = "S17"
    severity = Severity.WARNING
    tags = ("architecture",)
    Options = S17Options
    INVALID = [
        {
            "app/api/routes/users.py": """
                from fastapi import APIRouter

                from app.crud.user import get_user  # expect: AL603
                from app.services.users import UserService
            """,
            "app/crud/user.py": "from sqlalchemy import select\n\ndef get_user(db, user_id): return select()\n",
            "app/services/users.py": "class UserService: pass\n",
        }
    ]
    VALID = [
        {
            "app/api/routes/users.py": """
                from app.services.users import get_user
            """,
            "app/services/users.py": "from app.crud.user import get_user\n",
            "app/crud/user.py": "from sqlalchemy import select\n\ndef get_user(db, user_id): return select()\n",
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        layers = _layers(project, self.options)
        if not self.options.no_skip:
            return
        skipped: dict[tuple[str, str], list[str]] = {}
        missing: dict[tuple[str, str], list[str]] = {}
        for upper, lowers in self.options.no_skip.items():
            for lower in lowers:
                every = layers.between(upper, lower)
                between = [n for n in every if layers.files_in(n)]
                if between:
                    skipped[(upper, lower)] = between
                elif every and layers.files_in(lower):
                    missing[(upper, lower)] = every
        for edge in layers.edges():
            skipping = skipped.get((edge.source_layer, edge.target_layer))
            absent = missing.get((edge.source_layer, edge.target_layer))
            if (not skipping and not absent) or globs.match_any(self.options.wiring_modules, edge.facts.rel):
                continue
            if absent:
                names = " and ".join(absent)
                yield self.finding(
                    edge.facts.path,
                    edge.imp.span,
                    f"The {edge.source_layer} layer imports the {edge.target_layer} layer directly "
                    f"(`{edge.target.module}`) and the project has no {names} layer: the routes hold the logic; "
                    f"move it into a {names} layer that uses the {edge.target_layer}.",
                )
                continue
            if not skipping:
                continue
            names = " and ".join(skipping)
            yield self.finding(
                edge.facts.path,
                edge.imp.span,
                f"The {edge.source_layer} layer imports the {edge.target_layer} layer directly (`{edge.target.module}`), "
                f"skipping the {names} layer: call a service, which uses the {edge.target_layer}.",
            )


# --------------------------------------------------------------------------- #
# The database: sessions and queries, resolved through the index
# --------------------------------------------------------------------------- #


@dataclass(slots=True)
class _Op:
    span: Span
    text: str


class _Database:
    """Answers "is this a database session?" and "does this function run the database?"."""

    def __init__(self, index: ProjectIndex, options: S17Options) -> None:
        self.index = index
        self.options = options
        self.session_types = frozenset(options.session_types)
        self.factories = frozenset(options.session_factories) | frozenset(options.engine_factories)
        self.engines = frozenset(options.engine_factories)
        self.objects = frozenset(options.session_objects)
        self.methods = frozenset(options.session_methods)
        self.builders = frozenset(options.query_builders)
        self._providers: dict[FuncRef, bool] = {}
        self._auth: dict[FuncRef, bool] = {}

    # ------------------------------------------------------------ sessions
    def is_session_type(self, value: Value) -> bool:
        if isinstance(value, TypeForm):
            origin = fqn_of(value.origin)
            if origin in ANNOTATED:
                if value.args and self.is_session_type(value.args[0]):
                    return True
                return any(self._provider_of(v) for v in value.args[1:])
            if origin in UNIONS:
                return any(self.is_session_type(v) for v in value.args)
            return False
        return isinstance(value, (ClassRef, Symbol)) and self.index.is_subclass(value, self.session_types)

    def _type_expr_is_session(self, expr: Expr | None, ctx: Ctx) -> bool:
        if expr is None:
            return False
        if isinstance(expr, BinOp) and expr.op == "BitOr":  # Session | None
            return self._type_expr_is_session(expr.left, ctx) or self._type_expr_is_session(expr.right, ctx)
        return self.is_session_type(self.index.evaluate(expr, ctx))

    def _provider_of(self, value: Value) -> bool:
        """``Depends(get_db)`` whose provider yields or returns a session."""
        if not isinstance(value, Instance) or fqn_of(value.type) not in DEPENDS:
            return False
        target = value.call.arg(0, "dependency")
        ref = self.index.evaluate(target, value.ctx) if target is not None else None
        return isinstance(ref, FuncRef) and self.provides_session(ref)

    def provides_session(self, ref: FuncRef) -> bool:
        if ref in self._providers:
            return self._providers[ref]
        self._providers[ref] = False  # cycles
        fn = self.index.function(ref)
        result = False
        if fn is not None:
            ctx = Ctx(ref.module, fn.parent or "")
            annotation = self.index.evaluate(fn.returns_annotation, ctx) if fn.returns_annotation is not None else None
            if isinstance(annotation, TypeForm) and fqn_of(annotation.origin) in ITERATORS:
                result = bool(annotation.args) and self.is_session_type(annotation.args[0])
            elif annotation is not None and self.is_session_type(annotation):
                result = True
            else:
                facts = self.index.modules.get(ref.module)
                values = fn.yields if fn.is_generator else fn.returns
                result = facts is not None and any(v is not None and self.is_session_expr(v, fn, facts) for v in values)
        self._providers[ref] = result
        return result

    def param_is_session(self, param: Param, fn: FunctionFact, facts: FileFacts) -> bool:
        ctx = Ctx(facts.module, fn.parent or "")
        if self._type_expr_is_session(param.annotation, ctx):
            return True
        if isinstance(param.default, Call):
            return self._provider_of(self.index.evaluate(param.default, ctx))
        return False

    def is_session_expr(self, expr: Expr, fn: FunctionFact, facts: FileFacts, depth: int = 0) -> bool:
        """Whether an expression inside ``fn`` denotes a session (parameter, opened, assigned or module-level)."""
        if depth > 4:
            return False
        if isinstance(expr, Await):
            return self.opens_session(expr.value, Ctx(facts.module, fn.qualname), fn, facts, depth)
        if isinstance(expr, Attr):  # self.session in a class-based view, db.database on a module
            if self._self_attribute_is_session(expr, fn, facts):
                return True
            return self._is_handle(self.index.evaluate(expr, Ctx(facts.module, fn.qualname)))
        if not isinstance(expr, Name):
            return self.opens_session(expr, Ctx(facts.module, fn.qualname), fn, facts, depth)
        scope: Scope | None = fn
        while scope is not None:
            ctx = Ctx(facts.module, scope.qualname)
            if isinstance(scope, FunctionFact):
                param = scope.param(expr.id)
                if param is not None:
                    return self.param_is_session(param, scope, facts)
            bound = False
            for item in scope.withs:
                if isinstance(item.target, Name) and item.target.id == expr.id:
                    bound = True
                    if self.opens_session(item.context, ctx, fn, facts, depth):
                        return True
            for assign in scope.assigns:
                if assign.value is not None and any(isinstance(t, Name) and t.id == expr.id for t in assign.targets):
                    bound = True
                    if self.opens_session(assign.value, ctx, fn, facts, depth):
                        return True
                    if isinstance(scope, FunctionFact) and isinstance(assign.value, (Name, Await)):
                        if self.is_session_expr(assign.value, scope, facts, depth + 1):
                            return True
            if bound:
                return False
            if scope.kind == "module":  # imported, or bound in a way the walk does not see
                return self._is_handle(self.index.evaluate(expr, Ctx(facts.module, fn.qualname)))
            scope = facts.scope(scope.parent) if scope.parent is not None else None
        return False

    def _is_handle(self, value: Value) -> bool:
        """A module-level session, scoped session, engine or database object."""
        if isinstance(value, Symbol):
            return value.fqn in self.objects
        if not isinstance(value, Instance):
            return False
        return fqn_of(value.type) in self.engines or self.index.is_subclass(value.type, self.session_types)

    def _self_attribute_is_session(self, expr: Attr, fn: FunctionFact, facts: FileFacts) -> bool:
        """``self.session`` in a class-based view whose class declares ``session: Session = Depends(get_db)``."""
        me = expr.base.id if isinstance(expr.base, Name) else None
        if fn.class_qualname is None or not fn.params or fn.params[0].name != me:
            return False
        klass = facts.classes.get(fn.class_qualname)
        if klass is None:
            return False
        ctx = Ctx(facts.module, klass.qualname)
        for assign in klass.assigns:
            if any(isinstance(t, Name) and t.id == expr.attr for t in assign.targets):
                if self._type_expr_is_session(assign.annotation, ctx):
                    return True
                if isinstance(assign.value, Call) and self._provider_of(self.index.evaluate(assign.value, ctx)):
                    return True
        return False

    def opens_session(self, expr: Expr, ctx: Ctx, fn: FunctionFact, facts: FileFacts, depth: int) -> bool:
        """``Session(engine)``, ``SessionLocal()``, ``async_session.begin()``, a session-providing function."""
        if isinstance(expr, Await):
            expr = expr.value
        if isinstance(expr, (Name, Attr)):
            return self._is_handle(self.index.evaluate(expr, ctx))
        if not isinstance(expr, Call):
            return False
        func = expr.func
        if isinstance(func, Attr) and func.attr in ("begin", "connect"):
            base = self.index.evaluate(func.base, ctx)
            if isinstance(base, Instance) and fqn_of(base.type) in self.factories:
                return func.attr == "begin" or fqn_of(base.type) in self.engines
        callee = self.index.evaluate(func, ctx)
        if isinstance(callee, (ClassRef, Symbol)):
            return fqn_of(callee) in self.engines or self.index.is_subclass(callee, self.session_types)
        if isinstance(callee, Instance):
            return fqn_of(callee.type) in self.factories or self.index.is_subclass(callee.type, self.session_types)
        if isinstance(callee, FuncRef):
            return self.provides_session(callee)
        return False

    # ------------------------------------------------------------ queries
    def operations(self, fn: FunctionFact, facts: FileFacts) -> list[_Op]:
        """The database work ``fn`` does itself: session calls and statements it builds."""
        ctx = Ctx(facts.module, fn.qualname)
        out: list[_Op] = []
        for site in fn.calls:
            func = site.call.func
            if isinstance(func, Attr) and func.attr in self.methods:
                if self.is_session_expr(func.base, fn, facts):
                    receiver = func.base.dotted() or "session"
                    out.append(_Op(site.call.span, f"`{receiver}.{func.attr}()`"))
                continue
            if isinstance(func, (Name, Attr)):
                fqn = self.index.fqn(func, ctx)
                if fqn in self.builders:
                    out.append(_Op(site.call.span, f"`{fqn.rsplit('.', 1)[1]}(...)`"))
        out.sort(key=lambda op: (op.span.line, op.span.column))
        return out

    # ------------------------------------------------------- dependencies
    def dependencies(self, fn: FunctionFact, facts: FileFacts) -> list[FuncRef]:
        """Functions ``fn`` depends on through ``Depends``/``Security`` (default or ``Annotated``)."""
        ctx = Ctx(facts.module, fn.parent or "")
        out: list[FuncRef] = []
        for param in fn.params:
            for marker in self._markers(param, ctx):
                target = marker.call.arg(0, "dependency")
                if target is None:
                    continue
                ref = self.index.evaluate(target, marker.ctx)
                if isinstance(ref, FuncRef):
                    out.append(ref)
        return out

    def _markers(self, param: Param, ctx: Ctx) -> list[Instance]:
        values: list[Value] = []
        if param.default is not None:
            values.append(self.index.evaluate(param.default, ctx))
        if param.annotation is not None:
            annotation = self.index.evaluate(param.annotation, ctx)
            if isinstance(annotation, TypeForm) and fqn_of(annotation.origin) in ANNOTATED:
                values.extend(annotation.args[1:])
        return [v for v in values if isinstance(v, Instance) and fqn_of(v.type) in DEPENDS]

    def is_auth_dependency(self, ref: FuncRef) -> bool:
        """Reads a security scheme or credentials, decodes a token, or depends on such a dependency."""
        if ref in self._auth:
            return self._auth[ref]
        self._auth[ref] = False
        fn = self.index.function(ref)
        facts = self.index.modules.get(ref.module)
        result = False
        if fn is not None and facts is not None:
            ctx = Ctx(facts.module, fn.parent or "")
            for param in fn.params:
                annotation = self.index.evaluate(param.annotation, ctx) if param.annotation is not None else None
                if isinstance(annotation, TypeForm) and fqn_of(annotation.origin) in ANNOTATED and annotation.args:
                    annotation = annotation.args[0]
                if annotation is not None and self._is_scheme(annotation):
                    result = True
                for marker in self._markers(param, ctx):
                    target = marker.call.arg(0, "dependency")
                    value = self.index.evaluate(target, marker.ctx) if target is not None else None
                    if isinstance(value, Instance) and self._is_scheme(value.type):
                        result = True
                    elif isinstance(value, FuncRef) and self.is_auth_dependency(value):
                        result = True
            if not result:
                result = self._decodes_token(ref, 0)
        self._auth[ref] = result
        return result

    def _decodes_token(self, ref: FuncRef, depth: int) -> bool:
        """Calls a token decoder, itself or through project helpers (``decode_access_token(token)``)."""
        fn = self.index.function(ref)
        if fn is None or depth > 3:
            return False
        ctx = Ctx(ref.module, fn.qualname)
        for site in fn.calls:
            if not isinstance(site.call.func, (Name, Attr)):
                continue
            callee = self.index.evaluate(site.call.func, ctx)
            if fqn_of(callee) in self.options.token_decoders:
                return True
            if isinstance(callee, FuncRef) and callee != ref and self._decodes_token(callee, depth + 1):
                return True
        return False

    def _is_scheme(self, value: Value) -> bool:
        if not isinstance(value, (ClassRef, Symbol)):
            return False
        return any(
            fnmatch.fnmatchcase(fqn_of(klass) or "", pattern)
            for klass in self.index.mro(value)
            for pattern in self.options.security_schemes
        )


def _database(project: Project, options: S17Options) -> _Database:
    return _shared(project, _Database, options)


def _handlers(project: Project) -> list[tuple[FuncRef, FunctionFact, FileFacts]]:
    out: list[tuple[FuncRef, FunctionFact, FileFacts]] = []
    seen: set[FuncRef] = set()
    for route in project.routes.routes:
        ref = route.handler
        if ref is None or ref in seen:
            continue
        seen.add(ref)
        fn = project.index.function(ref)
        facts = project.index.modules.get(ref.module)
        if fn is not None and facts is not None:
            out.append((ref, fn, facts))
    return out


def _ops_text(ops: list[_Op]) -> str:
    names = list(dict.fromkeys(op.text for op in ops))
    return ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")


class RouteRunsDatabase(Rule[S17Options]):
    """Reports a route handler that runs the database itself instead of calling a service.

    A handler that calls a session's `execute`, `exec`, `scalars`, `get`,
    `add`, `commit`, `delete`, `refresh`, `query`... or builds a statement with
    `select(...)` (the lists are pack options). A session is found through the
    project index, never by a variable's name: a parameter typed as a
    SQLAlchemy or SQLModel session (also through `Annotated` aliases such as
    `SessionDep`), a `Depends(...)` whose provider yields one, or a session
    the handler opens. Receiving the session and passing it on to a service
    or CRUD function is what the standard asks for, and is not reported.
    One finding per handler, at its first database call.

    ## Why is this bad?
    Routes are the transport layer. Queries and commits in a handler cannot
    be reused by another route, a worker or a test without HTTP, the unit of
    work is spread over the web layer, and the service layer the standard
    asks for stays empty.
    """

    id = "AL604"
    name = "RouteRunsDatabase"
    standard = "S17"
    severity = Severity.ERROR
    tags = ("architecture", "database")
    Options = S17Options
    INVALID = [
        """
        from fastapi import APIRouter, Depends
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession

        from app.api.deps import get_db
        from app.models import User

        router = APIRouter()

        @router.get("/users")
        async def list_users(db: AsyncSession = Depends(get_db)) -> list:
            result = await db.execute(select(User))  # expect: AL604
            return list(result.scalars())
        """
    ]
    VALID = [
        """
        from fastapi import APIRouter, Depends
        from sqlalchemy.ext.asyncio import AsyncSession

        from app.api.deps import get_db
        from app.services.users import UserService

        router = APIRouter()

        @router.get("/users")
        async def list_users(db: AsyncSession = Depends(get_db)) -> list:
            return await UserService(db).list()
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        database = _database(project, self.options)
        for _ref, fn, facts in _handlers(project):
            ops = database.operations(fn, facts)
            if not ops:
                continue
            yield self.finding(
                facts.path,
                ops[0].span,
                f"The route handler `{fn.name}` runs the database itself ({_ops_text(ops)}): move this work into a "
                f"service and call the service with the session.",
                related=[Related(facts.path, op.span, f"The handler also runs {op.text} here.") for op in ops[1:_MAX_RELATED]],
            )


class ApiDependencyRunsDatabase(Rule[S17Options]):
    """Reports a dependency or helper in the api layer that runs the database itself for the routes.

    Functions a route handler reaches through `Depends(...)`, or calls
    directly, that live in the api layer (`api-layer`) and run queries or
    commits on a session. A dependency that only opens and yields the
    session is the session provider and is fine. An authentication
    dependency (one that reads a security scheme such as
    `OAuth2PasswordBearer` or decodes a token) may load the current user when
    `allow-auth-dependency-queries` is true. One finding per function.

    ## Why is this bad?
    A query in a dependency is a query in the web layer: the same rules as
    for route handlers apply, and the lookup belongs in a service the
    dependency calls.
    """

    id = "AL605"
    name = "ApiDependencyRunsDatabase"
    standard = "S17"
    severity = Severity.WARNING
    tags = ("architecture", "database")
    Options = S17Options
    INVALID = [
        {
            "app/api/deps.py": """
                from fastapi import Depends, HTTPException
                from sqlalchemy.orm import Session

                from app.core.db import get_db
                from app.models import Item

                def get_item_or_404(item_id: int, db: Session = Depends(get_db)) -> Item:
                    item = db.get(Item, item_id)  # expect: AL605
                    if item is None:
                        raise HTTPException(status_code=404)
                    return item
            """,
            "app/api/routes/items.py": """
                from fastapi import APIRouter, Depends

                from app.api.deps import get_item_or_404

                router = APIRouter()

                @router.get("/items/{item_id}")
                def read_item(item=Depends(get_item_or_404)) -> dict:
                    return {"id": item.id}
            """,
        }
    ]
    VALID = [
        {
            "app/api/deps.py": """
                from collections.abc import Iterator

                from fastapi import Depends
                from sqlalchemy.orm import Session

                from app.core.db import SessionLocal
                from app.services.items import ItemService

                def get_db() -> Iterator[Session]:
                    db = SessionLocal()
                    try:
                        yield db
                        db.commit()
                    finally:
                        db.close()

                def get_item_service(db: Session = Depends(get_db)) -> ItemService:
                    return ItemService(db)
            """,
            "app/api/routes/items.py": """
                from fastapi import APIRouter, Depends

                from app.api.deps import get_item_service

                router = APIRouter()

                @router.get("/items/{item_id}")
                def read_item(item_id: int, items=Depends(get_item_service)) -> dict:
                    return items.read(item_id)
            """,
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        layers = _layers(project, self.options)
        database = _database(project, self.options)
        handlers = _handlers(project)
        handler_refs = {ref for ref, _fn, _facts in handlers}
        users: dict[FuncRef, list[str]] = defaultdict(list)
        stack: list[tuple[FuncRef, str]] = []
        for _ref, handler, handler_facts in handlers:
            for dep in database.dependencies(handler, handler_facts):
                stack.append((dep, handler.name))
            for callee in self._callees(project.index, handler, handler_facts):
                stack.append((callee, handler.name))
        seen: set[FuncRef] = set()
        while stack:
            ref, user = stack.pop()
            users[ref].append(user)
            if ref in seen or ref in handler_refs:
                continue
            seen.add(ref)
            fn = project.index.function(ref)
            facts = project.index.modules.get(ref.module)
            if fn is None or facts is None:
                continue
            for dep in database.dependencies(fn, facts):
                stack.append((dep, fn.name))
        for ref in sorted(seen, key=lambda r: r.fqn):
            fn = project.index.function(ref)
            facts = project.index.modules.get(ref.module)
            if fn is None or facts is None:  # a dependency archlint cannot find: nothing to judge
                continue
            if layers.layer_of(facts) != self.options.api_layer:
                continue
            if fn.is_generator and database.provides_session(ref):
                continue
            if self.options.allow_auth_dependency_queries and database.is_auth_dependency(ref):
                continue
            ops = database.operations(fn, facts)
            if not ops:
                continue
            used_by = sorted(set(users[ref]))
            names = ", ".join(f"`{u}`" for u in used_by[:3]) + (" and more" if len(used_by) > 3 else "")
            yield self.finding(
                facts.path,
                ops[0].span,
                f"`{fn.name}` (used by {names}) runs the database in the {self.options.api_layer} layer "
                f"({_ops_text(ops)}): move the query into a service and call that.",
            )

    @staticmethod
    def _callees(index: ProjectIndex, fn: FunctionFact, facts: FileFacts) -> list[FuncRef]:
        ctx = Ctx(facts.module, fn.qualname)
        out = []
        for site in fn.calls:
            if isinstance(site.call.func, (Name, Attr)):
                value = index.evaluate(site.call.func, ctx)
                if isinstance(value, FuncRef):
                    out.append(value)
        return out


def _takes_markers(index: ProjectIndex, fn: FunctionFact, facts: FileFacts, markers: frozenset[str]) -> bool:
    """A function with a `Header()`/`Security()`/`Depends()` parameter (default or `Annotated`) is a request dependency."""
    outer = Ctx(facts.module, fn.parent or "")
    for param in fn.params:
        if isinstance(param.default, Call) and index.fqn(param.default.func, outer) in markers:
            return True
        if param.annotation is not None:
            value = index.evaluate(param.annotation, outer)
            if isinstance(value, TypeForm) and fqn_of(value.origin) in ANNOTATED:
                if any(isinstance(a, Instance) and fqn_of(a.type) in markers for a in value.args[1:]):
                    return True
    return False


def _request_dependencies(index: ProjectIndex, options: S17Options) -> set[FuncRef]:
    """Every project function FastAPI calls per request: the targets of `Depends(f)`/`Security(f)` anywhere."""
    markers = frozenset(options.request_parameter_markers)
    out: set[FuncRef] = set()
    for _facts, site, ctx in index.iter_calls():
        if index.fqn(site.call.func, ctx) not in markers:
            continue
        target = site.call.arg(0, "dependency")
        value = index.evaluate(target, ctx) if target is not None else None
        if isinstance(value, FuncRef):
            out.add(value)
        elif isinstance(value, ClassRef):
            for method in ("__init__", "__call__"):
                member = index.class_member(value, method)
                if isinstance(member, FuncRef):
                    out.add(member)
        elif isinstance(value, Instance) and isinstance(value.type, ClassRef):
            member = index.class_member(value.type, "__call__")
            if isinstance(member, FuncRef):
                out.add(member)
    return out


class TransportInServiceLayer(Rule[S17Options]):
    """Reports a service that raises an HTTP exception or takes the request: transport leaking into the service layer.

    In the layers named by `service-layers`, a `raise` of one of
    `transport-exceptions` (FastAPI's and Starlette's `HTTPException`, and
    their subclasses) or a parameter typed as one of `transport-types`
    (`Request`, `WebSocket`). A request dependency is web-layer code wherever
    it lives: a function used through `Depends(...)`/`Security(...)`
    anywhere in the project, or taking `Header()`/`Cookie()`/`Depends()`
    parameters (`request-parameter-markers`), may raise `HTTPException` and
    take the request, even in a `services/` package.

    ## Why is this bad?
    A service that speaks HTTP cannot be called from a worker, a CLI or
    another service without faking a request, and the status codes of the
    API end up decided far from the routes. Raise domain exceptions and map
    them to responses in the api layer.
    """

    id = "AL606"
    name = "TransportInServiceLayer"
    standard = "S17"
    severity = Severity.WARNING
    tags = ("architecture",)
    Options = S17Options
    INVALID = [
        {
            "app/services/users.py": """
                from fastapi import HTTPException, Request

                class UserService:
                    def __init__(self, db) -> None:
                        self.db = db

                    async def get(self, user_id: int):
                        user = await self.db.get("User", user_id)
                        if user is None:
                            raise HTTPException(status_code=404, detail="Not found.")  # expect: AL606
                        return user

                async def client_ip(request: Request) -> str:  # expect: AL606
                    return request.client.host
            """
        }
    ]
    VALID = [
        {
            "app/services/users.py": """
                class UserNotFoundError(Exception):
                    pass

                class UserService:
                    def __init__(self, db) -> None:
                        self.db = db

                    async def get(self, user_id: int):
                        user = await self.db.get("User", user_id)
                        if user is None:
                            raise UserNotFoundError(user_id)
                        return user
            """
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        layers = _layers(project, self.options)
        index = project.index
        exceptions = frozenset(self.options.transport_exceptions)
        transports = frozenset(self.options.transport_types)
        dependencies: set[FuncRef] | None = None
        markers = frozenset(self.options.request_parameter_markers)
        for facts in index.files.values():
            layer = layers.layer_of(facts)
            if layer is None or layer not in self.options.service_layers:
                continue
            for fn in facts.functions.values():
                ctx = Ctx(facts.module, fn.qualname)
                if dependencies is None:
                    dependencies = _request_dependencies(index, self.options)
                if FuncRef(facts.module, fn.qualname) in dependencies or _takes_markers(index, fn, facts, markers):
                    continue  # a request dependency: speaking HTTP is its job, wherever it lives
                for raised in fn.raises:
                    if raised is None:  # a bare `raise`
                        continue
                    target = raised.func if isinstance(raised, Call) else raised
                    value = index.evaluate(target, ctx)
                    if index.is_subclass(value, exceptions):
                        yield self.finding(
                            facts.path,
                            raised.span,
                            f"The {layer} layer raises `{fqn_of(value)}`, an HTTP concern: raise a domain exception "
                            f"and turn it into a response in the api layer.",
                        )
                outer = Ctx(facts.module, fn.parent or "")
                for param in fn.params:
                    if param.annotation is None:
                        continue
                    value = index.evaluate(param.annotation, outer)
                    if isinstance(value, TypeForm) and fqn_of(value.origin) in ANNOTATED and value.args:
                        value = value.args[0]
                    if index.is_subclass(value, transports):
                        yield self.finding(
                            facts.path,
                            param.span,
                            f"`{fn.name}` in the {layer} layer takes the HTTP request (`{param.name}: "
                            f"{fqn_of(value)}`): pass the values it needs instead.",
                        )
