"""The project a rule looks at: the index plus the analyses built over it.

Every analysis is built at most once per project, on first use, and shared by
every rule and by the inventory:

- ``project.routes``: the route table (apps, routers, includes, mounts, routes);
- ``project.types``: static types of expressions;
- ``project.apps``: each application's middleware, exception handlers, state;
- ``project.orm``: ORM models and tables;
- ``project.pydantic``: pydantic annotations read into shapes;
- ``project.requests``: every request input of every route;
- ``project.origins``: where values come from (the data-flow analysis);
- ``project.tokens``: JWTs issued and decoded, with the lifetimes that reach them;
- ``project.hashing``: bcrypt cost sites, passlib default schemes, argon2 hashers;
- ``project.cors``: CORSMiddleware configurations and whether they allow any origin;
- ``project.rate_limits``: the auth endpoints S13 judges (limiters and decorators: ``analysis.rate_limits``);
- ``project.openapi``: the OpenAPI documents the run checks.

The engine fills in the typed fields (paths, change set, which OpenAPI documents)
before any rule runs; rules read them and write nothing back. A family of
rules keeps an analysis of its own with :meth:`Project.shared`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from archlint.analysis.apps import AppConfig
from archlint.analysis.commands import CommandLine
from archlint.analysis.cors import Cors
from archlint.analysis.hashing import PasswordHashing
from archlint.analysis.origins import Origins
from archlint.analysis.orm import Models, read_models
from archlint.analysis.pydantic_models import RequestModel, Types, request_model
from archlint.analysis.rate_limits import RateLimits
from archlint.analysis.routes import RouteTable
from archlint.analysis.static_types import TypeResolver
from archlint.analysis.tokens import Tokens
from archlint.collect.facts import FileFacts
from archlint.index import ProjectIndex
from archlint.openapi.sources import OpenAPISet, Request, load

if TYPE_CHECKING:
    from archlint.changes import ChangedPath

T = TypeVar("T")


@dataclass(eq=False)
class Project:
    """What a rule may look at: the index, the analyses over it, the project's paths and change set."""

    index: ProjectIndex
    root: Path  # the project root (configuration directory)
    report_root: Path  # what finding paths are relative to
    #: Paths (relative to report_root) of a change set, or None on a directory run.
    change_set: list[str] | None = None
    #: The change set's entries by report path (status, old path of a rename).
    changes: dict[str, ChangedPath] = field(default_factory=dict)
    #: Non-Python paths given on the command line or generated (OpenAPI documents): always reported.
    other_files: list[str] = field(default_factory=list)
    #: The project's tests, collected only when S24 or the inventory reads them (no other rule sees them).
    test_files: list[FileFacts] = field(default_factory=list)
    #: Which OpenAPI documents ``project.openapi`` loads (from the command line and configuration).
    openapi_request: Request = field(default_factory=Request)
    #: Files that declare themselves generated (report path -> the marker line): nothing is reported in them.
    generated: dict[str, str] = field(default_factory=dict)
    #: The pack's health and liveness probes (full-path globs): unversioned and public (S1, S7, S4).
    health_probes: tuple[str, ...] = ()
    #: After filtering, for rules with ``after_filter`` (AL002): which suppression directives silenced something
    #: (an ``archlint.suppressions.Audit``; None before the filter has run).
    suppression_audit: Any = None
    _shared: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def routes(self) -> RouteTable:
        return RouteTable.build(self.index)

    @cached_property
    def types(self) -> TypeResolver:
        return TypeResolver(self.index)

    @cached_property
    def apps(self) -> AppConfig:
        return AppConfig.build(self.index, self.routes)

    @cached_property
    def orm(self) -> Models:
        return read_models(self.index)

    @cached_property
    def pydantic(self) -> Types:
        return Types(self.index)

    @cached_property
    def requests(self) -> RequestModel:
        return request_model(self.index, self.pydantic, self.routes)

    @cached_property
    def commands(self) -> CommandLine:
        return CommandLine(self.index)

    @cached_property
    def origins(self) -> Origins:
        return Origins(self.index)

    @cached_property
    def tokens(self) -> Tokens:
        return Tokens(self.index, self.origins, lambda: self.routes)

    @cached_property
    def hashing(self) -> PasswordHashing:
        return PasswordHashing(self.index, self.origins)

    @cached_property
    def cors(self) -> Cors:
        return Cors(self.index, self.apps)

    @cached_property
    def rate_limits(self) -> RateLimits:
        return RateLimits(self.index, self.routes)

    @cached_property
    def openapi(self) -> OpenAPISet:
        """The OpenAPI documents the run checks, loaded on first use (see ``archlint.openapi.sources``)."""
        return load(self.openapi_request, self.root, self.report_root, self.index, lambda: self.routes)

    def openapi_if_loaded(self) -> OpenAPISet | None:
        """The OpenAPI documents when a rule asked for them (the engine counts them as checked files)."""
        loaded: OpenAPISet | None = self.__dict__.get("openapi")
        return loaded

    def shared(self, key: Hashable, build: Callable[[], T]) -> T:
        """An analysis private to one family of rules, built once per project under ``key``."""
        if key not in self._shared:
            self._shared[key] = build()
        value: T = self._shared[key]
        return value
