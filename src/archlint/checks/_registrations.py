"""One handler, several registrations: handler-level findings are reported once.

A handler registered under several paths (stacked decorators for a versioned
and a legacy prefix, with and without a trailing slash, or a router included
under two prefixes) is one piece of code: a finding about what the handler
does (201 on create, its docstring, its return annotation) is one mistake and
gets one finding, at its first registration, listing every path.
"""

from __future__ import annotations

from collections.abc import Iterable

from archlint.collect.facts import Lit
from archlint.analysis.routes import Route


def per_handler(routes: Iterable[Route]) -> list[list[Route]]:
    """The routes grouped by handler and methods, in source order of their first registration."""
    groups: dict[object, list[Route]] = {}
    for route in routes:
        key: object = (route.handler, route.methods) if route.handler is not None else id(route)
        groups.setdefault(key, []).append(route)
    return list(groups.values())


def _paths(route: Route) -> list[str]:
    paths = sorted({p for fp in route.full_paths if (p := fp.path) is not None})
    if paths:
        return paths
    if isinstance(route.path_expr, Lit) and isinstance(route.path_expr.value, str):
        return [route.path_expr.value]
    return ["?"]


def registrations_label(routes: list[Route]) -> str:
    """``POST /api/v1/items`` or ``POST /api/v1/items (also registered as /items)``."""
    paths: list[str] = []
    for route in routes:
        for path in _paths(route):
            if path not in paths:
                paths.append(path)
    label = f"{'/'.join(routes[0].methods)} {paths[0]}"
    if len(paths) > 1:
        label += f" (also registered as {', '.join(paths[1:])})"
    return label
