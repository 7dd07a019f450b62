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

Rules call :func:`openapi_set` with the project; everything is computed on
first use and cached in ``project.extra``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any

from archlint.fsio import read_text
from archlint.model import Related, Span
from archlint.openapi.loader import Bounds, Document, LoadError, load_text

if TYPE_CHECKING:
    from archlint.checks.base import Project
    from archlint.openapi.validate import Problem

DOCUMENT_NAMES = frozenset({"openapi.json", "openapi.yaml", "openapi.yml"})
CACHE_DIR = ".archlint_cache"
_KEY = "openapi.set"


@dataclass(slots=True)
class Request:
    """What the command line asked for (engine ``Overrides``)."""

    files: list[FsPath] = field(default_factory=list)
    app: str | None = None
    python: str | None = None
    timeout: float = 60.0


@dataclass(slots=True)
class Failure:
    """A document that could not be read or generated: one finding."""

    kind: str  # "read" or "app"
    path: str
    span: Span
    message: str


@dataclass(slots=True)
class OpenAPISet:
    project: Project
    documents: list[Document] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: Report paths of documents named explicitly or generated: reported even outside the checked paths.
    explicit: set[str] = field(default_factory=set)
    bounds: Bounds = field(default_factory=Bounds)
    size: int | None = None  # bytes of one document ([limits] openapi-size)
    _problems: dict[str, list[Problem]] = field(default_factory=dict)
    _route_index: dict[tuple[str, str], Any] | None = None

    def problems(self, doc: Document) -> list[Problem]:
        """Validation problems of a document (computed once)."""
        cached = self._problems.get(doc.path)
        if cached is None:
            from archlint.openapi.validate import validate

            base = self.project.report_root / doc.path
            cached = validate(doc, base, self.project.root, self.bounds, self.size)
            self._problems[doc.path] = cached
        return cached

    def route_for(self, method: str, path: str) -> Any:
        """The static route (``routes.Route``) serving METHOD path, when the route table knows it."""
        if self._route_index is None:
            self._route_index = {}
            for route in self.project.index.routes.routes:
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


def openapi_set(project: Project) -> OpenAPISet:
    found = project.extra.get(_KEY)
    if found is None:
        found = _build(project)
        project.extra[_KEY] = found
    return found


def _build(project: Project) -> OpenAPISet:
    result = OpenAPISet(project)
    request: Request = project.extra.get("openapi.request") or Request()
    config = project.extra.get("config")
    files: list[FsPath] = []
    explicit = True
    # Documents the repository names (configured or discovered) are read only inside the project;
    # --openapi FILE on the command line is the operator's choice.
    confine: FsPath | None = project.root
    if request.files:
        files = [FsPath(os.path.abspath(f)) for f in request.files]
        confine = None
    elif config is not None and getattr(config, "openapi", None):
        files = [FsPath(os.path.normpath(config.root / p)) for p in config.openapi]
    elif config is not None:
        files, explicit = discover_documents(config), False
    limits = getattr(config, "limits", None)
    size = getattr(limits, "openapi_size", None)
    result.size = size
    result.bounds = Bounds(nodes=getattr(limits, "openapi_nodes", Bounds.nodes),
                           depth=getattr(limits, "openapi_depth", Bounds.depth))
    for file in files:
        rel = os.path.relpath(file, project.report_root).replace(os.sep, "/")
        if confine is not None and not _inside(file, confine):
            # Never read, never named as a path in the report: the configuration key is the culprit.
            result.failures.append(Failure(
                "read", _config_path(project), Span.point(1),
                f"The OpenAPI document `{rel}` named in the configuration is outside the project, so it was not read.",
            ))
            continue
        if explicit:
            result.explicit.add(rel)
        try:
            text = read_text(file, root=confine, limit=size)
        except OSError as exc:
            if getattr(exc, "over_limit", False):
                message = f"The OpenAPI document was skipped: {exc.strerror}; [limits] openapi-size sets the limit."
            else:
                message = f"The OpenAPI document cannot be read: {exc.strerror}."
            result.failures.append(Failure("read", rel, Span.point(1), message))
            continue
        _add(result, text, rel, "file")
    if request.app:
        _add_app(result, project, request, config)
    project.other_files.extend(sorted(result.explicit - set(project.other_files)))
    return result


def _add(result: OpenAPISet, text: str, rel: str, origin: str) -> None:
    try:
        doc = load_text(text, rel, bounds=result.bounds)
    except LoadError as exc:
        result.failures.append(Failure("read", rel, Span.point(exc.line, exc.column), exc.message))
        return
    doc.origin = origin
    result.documents.append(doc)
    result.project.extra.setdefault("checked_files", []).append(rel)


def discover_documents(config: Any) -> list[FsPath]:
    """``openapi.json|yaml|yml`` under the project root, with the excludes Python files get."""
    from archlint.discover import SKIP_DIRS, Excluder

    root = config.root
    excluder = Excluder(config)
    out: list[FsPath] = []
    for directory, dirnames, filenames in os.walk(root):
        here = FsPath(directory)
        excluder.add_gitignore(here)
        rel_dir = here.relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        kept = []
        for name in sorted(dirnames):
            if name in SKIP_DIRS or name.endswith(".egg-info"):
                continue
            sub = here / name
            if (sub / "pyproject.toml").is_file() or (sub / "archlint.toml").is_file():
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if not excluder.excluded(rel, is_dir=True):
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            if name.lower() not in DOCUMENT_NAMES:
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if not excluder.excluded(rel):
                out.append(here / name)
    return out


def _add_app(result: OpenAPISet, project: Project, request: Request, config: Any) -> None:
    from archlint.openapi.app import generate, import_root, parse_spec

    spec = request.app or ""
    module, attr = parse_spec(spec)
    facts = project.index.module(module) if module else None
    module_file = project.report_root / facts.path if facts is not None else None
    root = project.root
    sys_path = [p for p in (import_root(module, module_file), root) if p is not None]
    sys_path += [(root / s).resolve() for s in (getattr(config, "src", None) or [])]
    outcome = generate(f"{module}:{attr}", cwd=root, python=request.python, timeout=request.timeout,
                       sys_path=list(dict.fromkeys(sys_path)))
    if outcome.document is None:
        path, span = _app_location(project, facts)
        result.failures.append(Failure(
            "app", path, span,
            f"The application `{module}:{attr}` could not be loaded to generate its OpenAPI document "
            f"({_clause(outcome.error)}), so S4 and the document rules were not checked on it.",
        ))
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
    rel = os.path.relpath(target, project.report_root).replace(os.sep, "/")
    result.explicit.add(rel)
    _add(result, text, rel, f"app:{module}:{attr}")


def _inside(path: FsPath, root: FsPath) -> bool:
    """Whether the normalised ``path`` is written inside ``root`` (links are judged when the file is read)."""
    from archlint.fsio import within

    return within(os.path.normpath(path), os.path.normpath(root))


def _config_path(project: Project) -> str:
    config = project.extra.get("config")
    source = getattr(config, "source", "") or "pyproject.toml"
    name = source if "/" not in source and source != "defaults" else "pyproject.toml"
    return os.path.relpath(project.root / name, project.report_root).replace(os.sep, "/")


def _app_location(project: Project, facts: Any) -> tuple[str, Span]:
    if facts is not None:
        for obj in project.index.routes.apps:
            if obj.file == facts.path:
                return obj.file, obj.call.span
        return facts.path, Span.point(1)
    config = project.extra.get("config")
    source = getattr(config, "source", "")
    name = source if source.endswith(".toml") and "/" not in source else "pyproject.toml"
    path = os.path.relpath(project.root / name, project.report_root).replace(os.sep, "/")
    return path, Span.point(1)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text) or "app"


def _clause(text: str) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text[:300] if text else "no reason given"
