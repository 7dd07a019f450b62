"""Validate a document with openapi-spec-validator, every error at the node it is about.

- The validator class is chosen explicitly from the ``openapi`` (or
  ``swagger``) field: 3.0.x -> ``OpenAPIV30SpecValidator``, 3.1.x ->
  ``OpenAPIV31SpecValidator``, 3.2.x -> ``OpenAPIV32SpecValidator``, 2.0 ->
  ``OpenAPIV2SpecValidator``. The unversioned ``OpenAPIV3SpecValidator`` is
  an alias of the newest 3.x in recent releases, never 3.0: it is not used.
- Every error is reported, not just the first; errors the keyword validators
  raise without a location (unresolved path parameters, meta-schema errors of
  a component schema) are given the location of the node being checked.
- ``$ref`` targets: local pointers that lead nowhere are problems of their own
  (the validator would abort on them; here only the part that needs them is
  skipped); remote references (``http:``, ``https:``, any other scheme, and
  ``file:`` or relative paths outside the project) are reported and never
  fetched. The validator's resolver gets handlers that refuse every URI except
  files inside the project, and, while it runs, opening a socket raises, so no
  code path of the validator or of its dependencies can reach the network.
- The faster jsonschema-rs backend of openapi-spec-validator is used when it
  is installed (``archlint[openapi-fast]``); its errors carry instance paths,
  so positions are kept.

openapi-spec-validator is imported only by :func:`validate`.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any
from urllib.parse import unquote, urlsplit

from archlint.fsio import read_text
from archlint.openapi.loader import MISSING, Bounds, Document, LoadError, iter_refs, load_text, local_pointer

VERSIONS = {
    "2.0": "OpenAPIV2SpecValidator",
    "3.0": "OpenAPIV30SpecValidator",
    "3.1": "OpenAPIV31SpecValidator",
    "3.2": "OpenAPIV32SpecValidator",
}
#: Keys whose values are data, not OpenAPI objects: a "$ref" inside is a literal. (``examples`` is
#: data in a schema, where it is a list, but a map of Example objects, which may be references, elsewhere.)
_DATA_KEYS = frozenset({"example", "default", "const", "enum", "value"})


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # "invalid", "dangling-ref", "remote-ref", "version"
    path: tuple
    message: str


class NetworkBlocked(OSError):
    """Raised instead of opening a socket while archlint validates a document."""


def version_of(data: Any) -> tuple[str | None, str | None]:
    """(field name, version text) of the document's ``openapi``/``swagger`` field."""
    if not isinstance(data, dict):
        return None, None
    for key in ("openapi", "swagger"):
        if key in data:
            value = data[key]
            return key, value if isinstance(value, str) else repr(value)
    return None, None


def validator_name(version: str | None) -> str | None:
    if not version:
        return None
    parts = version.split(".")
    return VERSIONS.get(".".join(parts[:2])) if len(parts) >= 2 else None


# --------------------------------------------------------------------------- #
# References
# --------------------------------------------------------------------------- #


#: Objects whose keys are names chosen by the author (a property called "value" is not the keyword).
_NAME_MAPS = frozenset(
    {
        "properties",
        "patternProperties",
        "$defs",
        "definitions",
        "dependentSchemas",
        "schemas",
        "responses",
        "parameters",
        "examples",
        "requestBodies",
        "headers",
        "securitySchemes",
        "links",
        "callbacks",
        "pathItems",
        "paths",
        "webhooks",
        "content",
        "encoding",
        "variables",
        "mapping",
    }
)


def _in_data(path: tuple) -> bool:
    for i, part in enumerate(path):
        if i > 0 and path[i - 1] in _NAME_MAPS:
            continue
        if isinstance(part, str) and (part in _DATA_KEYS or part.startswith("x-")):
            return True
        if part == "examples" and i + 1 < len(path) and isinstance(path[i + 1], int):
            return True
    return False


def ref_problems(doc: Document, base: FsPath | None, project_root: FsPath | None) -> list[Problem]:
    """Dangling local references and references archlint will not fetch."""
    problems: list[Problem] = []
    for where, ref in sorted(iter_refs(doc.data), key=lambda item: doc.span(item[0] + ("$ref",)).line):
        if _in_data(where):
            continue
        at = where + ("$ref",)
        parts = local_pointer(ref)
        if parts is not None:
            if doc.resolve(parts) is MISSING:
                problems.append(Problem("dangling-ref", at, f"The reference `{ref}` points to nothing in this document."))
            continue
        if ref.startswith("#"):
            continue  # a plain-name fragment ($anchor): resolved by the schema dialect
        target = external_target(ref, base, project_root)
        if target is None:
            problems.append(
                Problem(
                    "remote-ref",
                    at,
                    f"The reference `{ref}` points outside the project; archlint does not fetch it, so what it "
                    "refers to is not validated.",
                )
            )
        elif not target.is_file():
            problems.append(Problem("dangling-ref", at, f"The reference `{ref}` names a file that does not exist."))
    return problems


def external_target(ref: str, base: FsPath | None, project_root: FsPath | None) -> FsPath | None:
    """The project file a non-local reference names, or None when it is remote or outside the project."""
    split = urlsplit(ref)
    if split.scheme and split.scheme != "file":
        return None
    if split.scheme == "file":
        if split.netloc not in ("", "localhost"):
            return None
        target = FsPath(unquote(split.path))
    else:
        if base is None:
            return None
        target = base.parent / unquote(split.path)
    if project_root is None:
        return None
    from archlint.fsio import resolve

    try:
        resolved = resolve(target)
    except (OSError, ValueError):
        return None
    root = resolve(project_root)
    return resolved if resolved == root or root in resolved.parents else None


# --------------------------------------------------------------------------- #
# No network
# --------------------------------------------------------------------------- #


@contextlib.contextmanager
def no_network() -> Iterator[None]:
    """While active, connecting a socket or resolving a host name raises ``NetworkBlocked``."""

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise NetworkBlocked("archlint opens no network connection while it validates a document")

    saved = (socket.socket.connect, socket.socket.connect_ex, socket.create_connection, socket.getaddrinfo)
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = refuse  # type: ignore[assignment]
    try:
        yield
    finally:
        (socket.socket.connect, socket.socket.connect_ex, socket.create_connection, socket.getaddrinfo) = saved  # type: ignore[method-assign]


class _RefusedRef(LookupError):
    pass


class _Handlers(dict):
    """Resolver handlers for every scheme: project files are read, everything else is refused."""

    def __init__(self, project_root: FsPath | None, bounds: Bounds | None = None, size: int | None = None) -> None:
        super().__init__()
        self.project_root = project_root
        self.bounds = bounds or Bounds()
        self.size = size

    def __contains__(self, scheme: object) -> bool:
        return True

    def __getitem__(self, scheme: str) -> Any:
        return self.file if scheme == "file" else self.refuse

    def get(self, scheme: str, default: Any = None) -> Any:
        return self[scheme]

    @staticmethod
    def refuse(uri: str) -> Any:
        raise _RefusedRef(f"not fetched: {uri}")

    def file(self, uri: str) -> Any:
        target = external_target(uri.split("#", 1)[0], None, self.project_root)
        if target is None or self.project_root is None:
            raise _RefusedRef(f"not read: {uri}")
        try:
            text = read_text(target, root=self.project_root, limit=self.size)
            return load_text(text, str(target), bounds=self.bounds).data
        except (OSError, LoadError) as exc:
            raise _RefusedRef(f"not readable: {uri}") from exc


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #


def _parts(node: Any) -> tuple | None:
    parts = getattr(node, "parts", None)
    if parts is None:
        return None
    return tuple(parts)


def _where(name: str, args: tuple) -> tuple | None:
    if name == "operation" and len(args) >= 3:
        return ("paths", args[0], args[1])
    for arg in args:
        parts = _parts(arg)
        if parts is not None:
            return parts + (("default",) if name == "default" else ())
    return None


def _wrap(name: str, cls: type, stops: list) -> type:
    def __call__(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        where = _where(name, args)
        try:
            for err in cls.__call__(self, *args, **kwargs):
                if not hasattr(err, "_archlint_where"):
                    err._archlint_where = where  # what the error's (relative) path starts from
                yield err
        except GeneratorExit:
            raise
        except Exception as exc:  # a reference it cannot follow, a node of the wrong shape
            stops.append((where, exc))

    members: dict[str, Any] = {"__call__": __call__}
    if hasattr(cls, "_validate_schema_meta"):
        valid: set[str] = set()

        def _validate_schema_meta(self, schema: Any, schema_value: Any) -> Any:
            # The same component schema is reached through every $ref to it, each time as a new
            # object; checking its content against the dialect once is enough (valid ones only).
            try:
                key = json.dumps(schema_value, sort_keys=True, default=repr)
            except (TypeError, ValueError):
                key = None
            if key is not None and key in valid:
                return None
            error = cls._validate_schema_meta(self, schema, schema_value)
            if error is None and key is not None:
                valid.add(key)
            return error

        members["_validate_schema_meta"] = _validate_schema_meta
    return type(f"ArchlintChecked{cls.__name__}", (cls,), members)


def validate(
    doc: Document,
    base: FsPath | None = None,
    project_root: FsPath | None = None,
    bounds: Bounds | None = None,
    size: int | None = None,
) -> list[Problem]:
    """Every validation problem of the document, in document order.

    ``bounds`` and ``size`` limit each referenced project file (``[limits]``), as the document itself.
    """
    problems = ref_problems(doc, base, project_root)
    field, version = version_of(doc.data)
    if not isinstance(doc.data, dict):
        return problems + [Problem("invalid", (), "The document is not an object, so it is not an OpenAPI document.")]
    name = validator_name(version)
    if name is None:
        where = (field,) if field else ()
        what = f"`{field}: {version}`" if field else "no `openapi` field"
        return problems + [Problem("version", where, f"The document has {what}, so no OpenAPI version can validate it.")]
    try:
        import openapi_spec_validator  # noqa: F401
    except ImportError:
        return problems + [
            Problem(
                "invalid",
                (field,),
                "openapi-spec-validator, a dependency of archlint, is missing "
                "from this environment, so the document was not validated: reinstall archlint.",
            )
        ]
    with no_network():
        problems.extend(_run_validator(doc, name, base, project_root, bool(problems), bounds, size))
    seen: set = set()
    out = []
    for problem in problems:
        key = (problem.path, problem.message)
        if key not in seen:
            seen.add(key)
            out.append(problem)
    return out


def _run_validator(
    doc: Document,
    name: str,
    base: FsPath | None,
    project_root: FsPath | None,
    refs_reported: bool,
    bounds: Bounds | None = None,
    size: int | None = None,
) -> list[Problem]:
    import openapi_spec_validator
    from jsonschema.exceptions import best_match
    from openapi_spec_validator.validation.exceptions import DuplicateOperationIDError

    base_cls = getattr(openapi_spec_validator, name, None)
    if base_cls is None:
        return [
            Problem(
                "version",
                ("openapi",),
                f"The installed openapi-spec-validator has no {name}; upgrade it to validate this version.",
            )
        ]
    stops: list = []
    wrapped = {key: _wrap(key, cls, stops) for key, cls in base_cls.keyword_validators.items()}
    validator_cls = type(
        f"Archlint{name}",
        (base_cls,),
        {"keyword_validators": wrapped, "resolver_handlers": _Handlers(project_root, bounds, size)},
    )
    base_uri = base.resolve().as_uri() if base is not None else ""
    label = ".".join(str(version_of(doc.data)[1]).split(".")[:2])
    problems: list[Problem] = []
    try:
        validator = validator_cls(doc.data, base_uri=base_uri)
        errors = list(validator.iter_errors())
    except Exception as exc:  # noqa: BLE001 - reported, never a crash of the run
        return [Problem("invalid", (), f"The validator could not check this document ({type(exc).__name__}: {exc}).")]
    for err in errors:
        if isinstance(err, DuplicateOperationIDError):
            continue  # reported by the operationId rule, at the duplicate
        where = getattr(err, "_archlint_where", None)
        source = best_match(err.context) if err.context else err
        path = tuple(source.absolute_path)
        if where is not None:
            path = where + path
        message = source.message
        problems.append(Problem("invalid", tuple(path), f"The document is not valid OpenAPI {label}: {_sentence(message)}"))
    if stops and not problems and not refs_reported:
        where, stop = stops[0]
        problems.append(
            Problem("invalid", where or (), f"The validator could not check this node ({type(stop).__name__}: {stop}).")
        )
    problems.sort(key=lambda p: doc.span(p.path).line)
    return problems


def _sentence(text: str) -> str:
    # The Rust backend appends "Failed validating ... On instance ...": keep the first paragraph.
    text = " ".join(str(text).split("\n\n", 1)[0].split())
    if len(text) > 300:
        text = text[:297] + "..."
    return text if text.endswith(".") else text + "."
