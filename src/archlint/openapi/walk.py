"""Operations, responses and request-body schemas of a loaded document, with their paths.

Every helper works on the plain data of :class:`~archlint.openapi.loader.Document`
and returns node paths, so a rule can report at ``doc.span(path)``. Local
``$ref`` objects are followed; the path returned for a referenced node is the
path of its target (the place to change), not of the reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from archlint.openapi.loader import Document

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SUCCESS = re.compile(r"^2(\d\d|XX)$", re.I)
_CLIENT_ERROR = re.compile(r"^4(\d\d|XX)$", re.I)


@dataclass(slots=True)
class Operation:
    doc: Document
    template: str  # the path template as written ("/api/v1/items/{id}")
    method: str  # lower case
    node: dict
    path: tuple  # ("paths", template, method): report at doc.span(path)

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.template}"

    @property
    def responses(self) -> dict:
        responses = self.node.get("responses")
        resolved, _ = self.doc.deref(responses)
        return resolved if isinstance(resolved, dict) else {}

    def parameters(self) -> Iterator[tuple[tuple, dict]]:
        """Operation and path-item parameters (path of the parameter object, the object)."""
        item, item_where = self.doc.deref(self.doc.data["paths"][self.template])
        base = item_where if item_where is not None else ("paths", self.template)
        seen: set[tuple[str, str]] = set()
        sources = [(self.path, self.node), (base, item if isinstance(item, dict) else {})]
        for where, owner in sources:
            params = owner.get("parameters")
            if not isinstance(params, list):
                continue
            for i, param in enumerate(params):
                resolved, target = self.doc.deref(param)
                if not isinstance(resolved, dict):
                    continue
                key = (str(resolved.get("name")), str(resolved.get("in")))
                if key in seen:
                    continue
                seen.add(key)
                yield (target if target is not None else where + ("parameters", i)), resolved


def operations(doc: Document) -> list[Operation]:
    data = doc.data
    paths = data.get("paths") if isinstance(data, dict) else None
    if not isinstance(paths, dict):
        return []
    out = []
    for template, item in paths.items():
        resolved, _ = doc.deref(item)
        if not isinstance(resolved, dict):
            continue
        for method in METHODS:
            op = resolved.get(method)
            if isinstance(op, dict):
                out.append(Operation(doc, str(template), method, op, ("paths", template, method)))
    return out


def is_success(code: str) -> bool:
    return bool(_SUCCESS.match(str(code)))


def is_client_error(code: str) -> bool:
    return bool(_CLIENT_ERROR.match(str(code)))


def schema_types(schema: dict) -> set[str]:
    value = schema.get("type")
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {v for v in value if isinstance(v, str)}
    return set()


def component_name(path: tuple | None) -> str | None:
    """``("components", "schemas", "User")`` -> "User"."""
    if path and len(path) == 3 and path[0] == "components" and path[1] == "schemas":
        return str(path[2])
    return None


def collect_properties(doc: Document, schema: Any, limit: int = 16) -> set[str]:
    """Property names a schema declares, through ``$ref`` and ``allOf``/``anyOf``/``oneOf``."""
    schema, _ = doc.deref(schema)
    if not isinstance(schema, dict) or limit <= 0:
        return set()
    names = set(schema["properties"]) if isinstance(schema.get("properties"), dict) else set()
    for key in ("allOf", "anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list):
            for branch in branches:
                names |= collect_properties(doc, branch, limit - 1)
    return names


def server_prefixes(data: dict) -> list[str]:
    """The path part of each ``servers`` URL (variables at their defaults), or [""]."""
    servers = data.get("servers")
    prefixes: list[str] = []
    if isinstance(servers, list):
        for server in servers:
            if not isinstance(server, dict) or not isinstance(server.get("url"), str):
                continue
            url = server["url"]
            variables = server.get("variables")
            if not isinstance(variables, dict):
                variables = {}
            for name, var in variables.items():
                default = var.get("default") if isinstance(var, dict) else None
                if isinstance(default, str):
                    url = url.replace("{" + str(name) + "}", default)
            prefixes.append(urlsplit(url).path.rstrip("/"))
    return sorted(set(prefixes)) or [""]
