"""Which OpenAPI documents a run checks, loaded once per project and shared by the rules.

Documents come from, in this order of precedence:

1. ``--openapi FILE`` on the command line (replaces 2 and 3);
2. ``[tool.archlint] openapi = [...]`` (paths relative to the project root;
   replaces 3);
3. files named ``openapi.json``, ``openapi.yaml`` or ``openapi.yml`` found in
   the project, with the same excludes as Python files;

plus, with ``--app module:attr``, the application's generated document, written
to ``.archlint_cache/openapi/`` under the project root so findings have a file
and a line to point at.

The engine turns the configuration and the command line into a typed
:class:`Request` before any rule runs; ``Project.openapi`` loads the documents
on first use (:func:`load`), once per project, and rules only read the result.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

from archlint.fsio import read_text, within
from archlint.model import Related, Span
from archlint.openapi.loader import Bounds, Document, LoadError, load_text

if TYPE_CHECKING:
    from collections.abc import Callable

    from archlint.analysis.routes import RouteTable
    from archlint.index import ProjectIndex
    from archlint.openapi.validate import Problem

CACHE_DIR = ".archlint_cache"


@dataclass(slots=True)
class Request:
    """Which documents to load, as the engine read them from the command line and the configuration."""

    #: Documents named on the command line or in the configuration (absolute).
    files: list[FsPath] = field(default_factory=list)
    #: Whether ``files`` were named (reported even outside the checked paths) rather than discovered.
    explicit: bool = True
    #: Finds ``openapi.json|yaml|yml`` in the project when no document is named.
    discover: Callable[[], list[FsPath]] | None = None
    app: str | None = None
    python: str | None = None
    timeout: float = 60.0
    #: Extra source roots (``src = [...]``) put on the generated app's ``sys.path``.
    src: list[FsPath] = field(default_factory=list)
    #: The configuration file's name (``pyproject.toml``): where an app failure points without a module.
    config_name: str = "pyproject.toml"
    #: Whether the documents must be inside the project: true when the repository names them (configured or
    #: discovered), false for ``--openapi FILE``, which is the operator's choice.
    confine: bool = True
    #: Bytes of one document (``[limits] openapi-size``); nodes and depth once read (``openapi-nodes|depth``).
    size: int | None = None
    bounds: Bounds = field(default_factory=Bounds)


@dataclass(slots=True)
class Failure:
    """A document that could not be read or generated: one finding."""

    kind: str  # "read" or "app"
    path: str
    span: Span
    message: str


@dataclass(slots=True)
class OpenAPISet:
    root: FsPath
    report_root: FsPath
    #: The route table, read only when a rule matches a document to its routes.
    table: Callable[[], RouteTable]
    documents: list[Document] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: Report paths of documents named explicitly or generated: reported even outside the checked paths.
    explicit: set[str] = field(default_factory=set)
    #: Report paths of the documents that loaded (counted as checked files).
    checked: list[str] = field(default_factory=list)
    bounds: Bounds = field(default_factory=Bounds)
    size: int | None = None  # bytes of one document or referenced file ([limits] openapi-size)
    _problems: dict[str, list[Problem]] = field(default_factory=dict)
    _route_index: dict[tuple[str, str], Any] | None = None

    def problems(self, doc: Document) -> list[Problem]:
        """Validation problems of a document (computed once)."""
        cached = self._problems.get(doc.path)
        if cached is None:
            from archlint.openapi.validate import validate

            base = self.report_root / doc.path
            cached = validate(doc, base, self.root, self.bounds, self.size)
            self._problems[doc.path] = cached
        return cached

    def route_for(self, method: str, path: str) -> Any:
        """The static route (``routes.Route``) serving METHOD path, when the route table knows it."""
        if self._route_index is None:
            self._route_index = {}
            for route in self.table().routes:
                for full in route.full_paths:
                    if full.path is None:
                        continue
                    for m in route.methods:
                        self._route_index.setdefault((m.upper(), normalize_path(full.path)), route)
        return self._route_index.get((method.upper(), normalize_path(path)))

    def route_of(self, doc: Document, method: str, template: str) -> Any:
        """The static route serving a document operation (with the servers' path in front)."""
        from archlint.openapi.walk import server_prefixes

        data = doc.data if isinstance(doc.data, dict) else {}
        for prefix in dict.fromkeys([*server_prefixes(data), ""]):
            route = self.route_for(method, prefix + template)
            if route is not None:
                return route
        return None

    def related(self, doc: Document, path: tuple) -> list[Related]:
        """For a document generated with --app: the decorators of the routes a finding at ``path`` is about."""
        if not doc.origin.startswith("app:") or len(path) < 2 or path[0] != "paths" or not isinstance(doc.data, dict):
            return []
        from archlint.openapi.walk import METHODS

        template = str(path[1])
        item = (doc.data.get("paths") or {}).get(template)
        if len(path) > 2 and path[2] in METHODS:
            methods = [str(path[2])]
        else:
            methods = [m for m in METHODS if isinstance(item, dict) and m in item]
        out = []
        for method in methods:
            route = self.route_of(doc, method, template)
            if route is not None:
                out.append(Related(route.file, route.call.span, f"{method.upper()} {template} is served by this route."))
        return out


def normalize_path(path: str) -> str:
    """``/items/{item_id:int}/`` and ``/items/{id}`` compare equal: parameter names and converters drop out."""
    path = re.sub(r"\{[^}/]*\}", "{}", path)
    return path.rstrip("/") or "/"


def load(request: Request, root: FsPath, report_root: FsPath, index: ProjectIndex, table: Callable[[], RouteTable]) -> OpenAPISet:
    """Load the requested documents (and generate the app's), recording what fails."""
    result = OpenAPISet(root, report_root, table, bounds=request.bounds, size=request.size)
    # Links are not resolved here: a loop must not raise, and a link out is judged when the file is read.
    files = [FsPath(os.path.abspath(f)) for f in request.files]
    if request.discover is not None and not files:
        files = request.discover()
    # Documents the repository names (configured or discovered) are read only inside the project.
    confine = root if request.confine else None
    for file in files:
        rel = os.path.relpath(file, report_root).replace(os.sep, "/")
        if confine is not None and not within(os.path.normpath(file), os.path.normpath(confine)):
            # Never read, and the report names no path outside: the configuration key is the culprit.
            config = os.path.relpath(root / request.config_name, report_root).replace(os.sep, "/")
            result.failures.append(
                Failure(
                    "read",
                    config,
                    Span.point(1),
                    f"The OpenAPI document `{rel}` named in the configuration is outside the project, so it was not read.",
                )
            )
            continue
        if request.explicit:
            result.explicit.add(rel)
        try:
            text = read_text(file, root=confine, limit=request.size)
        except OSError as exc:
            if getattr(exc, "over_limit", False):
                message = f"The OpenAPI document was skipped: {exc.strerror}; [limits] openapi-size sets the limit."
            else:
                message = f"The OpenAPI document cannot be read: {exc.strerror}."
            result.failures.append(Failure("read", rel, Span.point(1), message))
            continue
        _add(result, text, rel, "file")
    if request.app:
        _add_app(result, index, request)
    return result


def _add(result: OpenAPISet, text: str, rel: str, origin: str) -> None:
    try:
        doc = load_text(text, rel, bounds=result.bounds)
    except LoadError as exc:
        result.failures.append(Failure("read", rel, Span.point(exc.line, exc.column), exc.message))
        return
    doc.origin = origin
    result.documents.append(doc)
    result.checked.append(rel)


def _add_app(result: OpenAPISet, index: ProjectIndex, request: Request) -> None:
    from archlint.openapi.app import generate, import_root, parse_spec

    spec = request.app or ""
    module, attr = parse_spec(spec)
    facts = index.module(module) if module else None
    module_file = result.report_root / facts.path if facts is not None else None
    root = result.root
    sys_path = [p for p in (import_root(module, module_file), root) if p is not None]
    sys_path += request.src
    outcome = generate(
        f"{module}:{attr}", cwd=root, python=request.python, timeout=request.timeout, sys_path=list(dict.fromkeys(sys_path))
    )
    if outcome.document is None:
        path, span = _app_location(result, request, facts)
        result.failures.append(
            Failure(
                "app",
                path,
                span,
                f"The application `{module}:{attr}` could not be loaded to generate its OpenAPI document "
                f"({_clause(outcome.error)}), so S4 and the document rules were not checked on it.",
            )
        )
        return
    cache = root / CACHE_DIR
    target = cache / "openapi" / f"{_safe(module)}-{_safe(attr)}.json"
    text = json.dumps(outcome.document, indent=2, ensure_ascii=False) + "\n"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        ignore = cache / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# Created by archlint.\n*\n", encoding="utf-8")
        target.write_text(text, encoding="utf-8")
    except OSError:
        pass  # positions still refer to the text below; only the file to open is missing
    rel = os.path.relpath(target, result.report_root).replace(os.sep, "/")
    result.explicit.add(rel)
    _add(result, text, rel, f"app:{module}:{attr}")


def _app_location(result: OpenAPISet, request: Request, facts: Any) -> tuple[str, Span]:
    if facts is not None:
        for obj in result.table().apps:
            if obj.file == facts.path:
                return obj.file, obj.call.span
        return facts.path, Span.point(1)
    path = os.path.relpath(result.root / request.config_name, result.report_root).replace(os.sep, "/")
    return path, Span.point(1)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text) or "app"


def _clause(text: str) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text[:300] if text else "no reason given"
