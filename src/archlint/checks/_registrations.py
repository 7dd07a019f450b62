"""One handler, several registrations: handler-level findings are reported once.

A handler registered under several paths (stacked decorators for a versioned
and a legacy prefix, with and without a trailing slash, or a router included
under two prefixes) is one piece of code: a finding about what the handler
does (201 on create, its docstring, its return annotation) is one mistake and
gets one finding, at its first registration, listing every path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from archlint.analysis.endpoints import route_label
from archlint.analysis.routes import Route

T = TypeVar("T")


def per_handler(routes: Iterable[Route]) -> list[list[Route]]:
    """The routes grouped by handler and methods, in source order of their first registration."""
    groups: dict[object, list[Route]] = {}
    for route in routes:
        key: object = (route.handler, route.methods) if route.handler is not None else id(route)
        groups.setdefault(key, []).append(route)
    return list(groups.values())


def flagged_handlers(routes: Iterable[Route], verdict: Callable[[Route], T | None]) -> Iterator[tuple[Route, T, str]]:
    """Per handler whose `verdict` flags a registration: the first flagged route, its verdict, and the
    `registrations_label` of every flagged registration (one finding per handler)."""
    for group in per_handler(routes):
        flagged = [(route, v) for route in group if (v := verdict(route)) is not None]
        if flagged:
            route, v = flagged[0]
            yield route, v, registrations_label([r for r, _ in flagged])


def registrations_label(routes: list[Route]) -> str:
    """``POST /api/v1/items`` or ``POST /api/v1/items (also registered as /items)``, each path said as
    ``route_label`` says it (router-relative and unresolved paths say so)."""
    texts: list[str] = []
    for route in routes:
        label = route_label(route)
        known = sorted({re.sub(r"/{2,}", "/", p) or "/" for fp in route.full_paths if (p := fp.path) is not None})
        for text in [label.split(" ", 1)[1], *known[1:]]:
            if text not in texts:
                texts.append(text)
    label = f"{'/'.join(routes[0].methods)} {texts[0]}"
    if len(texts) > 1:
        label += f" (also registered as {', '.join(texts[1:])})"
    return label
