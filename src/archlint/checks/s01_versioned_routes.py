"""S1 — versioned routes: every route's full path starts with ``/api/v{N}``."""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from archlint.analysis.routes import FullPath, ObjKey, Route, RouteTable, Segment, methods_on
from archlint.checks.base import Project, Rule, probe_match
from archlint.model import Finding, Related, Severity, Span
from archlint.pack import option

_MAX_RELATED = 10


@dataclass(frozen=True)
class S1Options:
    route_pattern: re.Pattern[str] = option("Regular expression every full route path must match.")
    unversioned_allow: tuple[str, ...] = option("Full paths (fnmatch globs) exempt from versioning: docs, health, metrics.")
    exempt_mount_types: tuple[str, ...] = option("Dotted names of ASGI apps whose mounts are exempt (static files, SPA).")


def _versioned_head(pattern: re.Pattern[str], head: str) -> bool:
    """Whether a known head already decides the match, whatever unknown part follows.

    Prefixes FastAPI accepts start with "/", so the unknown rest is "" or "/...".
    """
    for probe in (head, head + "/"):
        match = pattern.match(probe)
        if match is None or match.end() > len(head) + 1:
            return False
    return True


def _label(route: Route, path: str, methods: tuple[str, ...] | None = None) -> str:
    return f"{'/'.join(methods or route.methods)} {path}"


class UnversionedRoute(Rule[S1Options]):
    """Reports routes whose full path does not start with an API version (`/api/v1/...`).

    The full path is composed the way FastAPI composes it: mount paths,
    `include_router(..., prefix=...)` calls, `APIRouter(prefix=...)` and the
    decorator path, with prefixes built from constants, settings defaults and
    f-strings resolved across files. One mistake gives one finding, at the
    outermost prefix on the chain that makes the paths unversioned (the
    `include_router` or `mount` call, or the `APIRouter(prefix=...)` that
    supplies the first segment); the affected routes are listed as related
    locations.

    ## Why is this bad?
    Clients pin a version. Without `/api/v1/` in every path there is no way to
    ship a breaking change next to the old contract, and proxies, gateways and
    API documents cannot route or group by version.
    """

    id = "AL101"
    name = "UnversionedRoute"
    standard = "S1"
    severity = Severity.ERROR
    tags = ("api",)
    Options = S1Options
    INVALID = [
        """
        from fastapi import APIRouter, FastAPI

        router = APIRouter(prefix="/users")  # expect: AL101

        @router.get("/")
        async def list_users() -> list[str]:
            return []

        app = FastAPI()
        app.include_router(router)
        """
    ]
    VALID = [
        """
        from fastapi import APIRouter, FastAPI

        API_V1 = "/api/v1"
        router = APIRouter(prefix="/users")

        @router.get("/")
        async def list_users() -> list[str]:
            return []

        app = FastAPI()
        app.include_router(router, prefix=API_V1)
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes
        table = project.routes
        groups: dict[tuple[str, Span], list[tuple[Route, str]]] = defaultdict(list)
        blame_of: dict[tuple[str, Span], Segment] = {}
        for route in table.routes:
            for full in route.full_paths:
                path = full.path
                if path is None or full.rewritten or self._allowed(path):
                    continue
                if self.options.route_pattern.match(path):
                    continue
                segment = self._blame(route, full, table)
                key = (segment.path, segment.span)
                blame_of[key] = segment
                groups[key].append((route, _label(route, path, methods_on(route, full))))
        for key, routes in groups.items():
            segment = blame_of[key]
            yield self.finding(
                segment.path,
                segment.span,
                self._message(segment, routes),
                related=[
                    Related(r.file, r.call.span, f"{label} is served without a version.")
                    for r, label in routes[:_MAX_RELATED]
                    if segment.kind != "route"
                ],
            )

    def _allowed(self, path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, glob) for glob in self.options.unversioned_allow) or probe_match(
            getattr(self, "_probes", ()), path
        )

    def _blame(self, route: Route, full: FullPath, table: RouteTable) -> Segment:
        """The outermost segment that supplies the first path segment."""
        first = next((s for s in full.segments if s.text), full.segments[-1])
        if first.kind != "route" or not full.edges:
            return first
        # The decorator supplies the first segment: blame the outermost include/mount,
        # unless a sibling route under it is versioned (then this route is the mistake).
        owner = table.objects[route.owner]
        siblings = [
            fp.path
            for other in owner.routes
            if other is not route
            for fp in other.full_paths
            if fp.path is not None and fp.segments[:-1] == full.segments[:-1]
        ]
        if any(self.options.route_pattern.match(p) for p in siblings):
            return first
        return full.edges[0]

    def _message(self, segment: Segment, routes: list[tuple[Route, str]]) -> str:
        pattern = self.options.route_pattern.pattern
        if segment.kind == "route":
            return f"The route {routes[0][1]} is not versioned: its full path must match `{pattern}`."
        where = {
            "include": "this include_router call",
            "mount": "this mount",
            "router": "this router's prefix",
        }[segment.kind]
        if segment.from_arguments:
            where = "the router this call makes"
        examples = ", ".join(label for _r, label in routes[:3])
        more = f" and {len(routes) - 3} more" if len(routes) > 3 else ""
        count = f"{len(routes)} route{'s' if len(routes) != 1 else ''}"
        return (
            f"{count} served through {where} {'is' if len(routes) == 1 else 'are'} not versioned "
            f"({examples}{more}): full paths must match `{pattern}`."
        )


class UnverifiableRoutePath(Rule[S1Options]):
    """Notes routes whose full path archlint cannot resolve statically, so S1 is unverifiable.

    A prefix read from the environment, computed at run time, or coming from a
    router archlint cannot trace to an application; an application with a
    `root_path` or a middleware that rewrites `scope["path"]`. The note sits at
    the expression that could not be resolved, once, not once per route.

    ## Why is this bad?
    It is not, necessarily: archlint says "unverifiable" instead of guessing.
    Make the prefix a constant or a settings field with a literal default, or
    suppress the note where the dynamic prefix is deliberate.
    """

    id = "AL102"
    name = "UnverifiableRoutePath"
    standard = "S1"
    severity = Severity.NOTE
    precision = "medium"
    tags = ("api",)
    Options = S1Options
    INVALID = [
        """
        import os
        from fastapi import FastAPI, APIRouter

        router = APIRouter()

        @router.get("/users")
        async def list_users() -> list[str]:
            return []

        app = FastAPI()
        app.include_router(router, prefix=os.environ["API_PREFIX"])  # expect: AL102
        """
    ]
    VALID = [
        """
        from fastapi import FastAPI, APIRouter

        router = APIRouter()

        @router.get("/users")
        async def list_users() -> list[str]:
            return []

        app = FastAPI()
        app.include_router(router, prefix="/api/v1")
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes
        table = project.routes
        pattern = self.options.route_pattern
        notes: dict[tuple[str, Span], tuple[str, list[Route]]] = {}
        reachable = table.reachable()

        def note(path: str, span: Span, message: str, route: Route | None) -> None:
            entry = notes.setdefault((path, span), (message, []))
            if route is not None:
                entry[1].append(route)

        rewritten: dict[tuple[ObjKey, str], list[tuple[Route, str]]] = defaultdict(list)
        for route in table.routes:
            for full in route.full_paths:
                path = full.path
                if path is None:
                    head = full.known_head()
                    if _versioned_head(pattern, head):
                        continue
                    seg = full.first_unknown()
                    assert seg is not None
                    note(
                        seg.path,
                        seg.span,
                        f"This path segment cannot be resolved statically ({seg.reason}), so S1 is unverifiable for the routes under it.",
                        route,
                    )
                elif full.rewritten and not pattern.match(path) and not self._allowed(path):
                    rewritten[(full.app, full.rewritten)].append((route, _label(route, path, methods_on(route, full))))
        # A root_path or a path-rewriting middleware is one note per application, not one per route.
        for (app_key, why), routes in rewritten.items():
            app = table.objects[app_key]
            labels = list(dict.fromkeys(label for _r, label in routes))
            more = f" and {len(labels) - 3} more" if len(labels) > 3 else ""
            count = f"{len(labels)} route{'s' if len(labels) != 1 else ''}"
            note(
                app.file,
                app.call.span,
                f"{count} of this application look{'s' if len(labels) == 1 else ''} unversioned ({', '.join(labels[:3])}{more}), but {why}: S1 is unverifiable for them.",
                None,
            )
        for inc in table.includes:
            if inc.child is None and inc.parent in reachable:
                note(
                    inc.file,
                    inc.call.span,
                    f"The included router cannot be resolved statically ({inc.reason}), so S1 is unverifiable for its routes.",
                    None,
                )
        for mount in table.mounts:
            if mount.child is not None or mount.parent not in reachable:
                continue
            app_type = getattr(getattr(mount.app, "type", None), "fqn", None)
            if app_type in self.options.exempt_mount_types:
                continue
            value = project.index.const(mount.path_expr, mount.ctx) if mount.path_expr is not None else ""
            if isinstance(value, str) and (pattern.match(value) or self._allowed(value)):
                continue
            note(
                mount.file,
                mount.call.span,
                "This mount serves an application whose routes archlint cannot see, so S1 is unverifiable for it.",
                None,
            )
        for key, obj in table.objects.items():
            if obj.parameter is not None and obj.routes:
                param = obj.parameter
                note(
                    obj.file,
                    obj.call.span,
                    f"Routes are registered on the parameter '{param.name}' of {param.module}.{param.function}, and no call archlint can trace passes an application or router to it, so S1 is unverifiable for them.",
                    None,
                )
            elif obj.kind == "router" and obj.routes and key not in reachable:
                note(
                    obj.file,
                    obj.call.span,
                    "This router is not included in any application archlint can trace, so S1 is unverifiable for its routes.",
                    None,
                )
        for (path, span), (message, _routes) in notes.items():
            yield self.finding(path, span, message)

    def _allowed(self, path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, glob) for glob in self.options.unversioned_allow) or probe_match(
            getattr(self, "_probes", ()), path
        )
