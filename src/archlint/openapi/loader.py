"""Read an OpenAPI document (JSON or YAML) and remember where every node is written.

Both readers return plain data (dicts with string keys, lists, scalars) and a
map from each node's path (a tuple of keys and indexes, a JSON pointer in
parts) to where its key and its value are written, as code-point offsets into
the text; :class:`Document` turns those into :class:`archlint.model.Span`
(1-based lines, 1-based UTF-16 columns).

- JSON: ``json.loads`` for the data (its error positions for a broken file),
  then one regular-expression scan of the tokens for the positions.
- YAML: PyYAML's ``compose`` with the C loader when it is available (its marks
  are code-point offsets), and our own construction of the node graph: mapping
  keys are kept as written (an unquoted ``200:`` stays the string ``"200"``,
  ``on:`` stays ``"on"``), timestamps stay strings, merge keys are applied.

PyYAML is imported only when a YAML document is read.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from archlint.model import Span

Path = tuple[str | int, ...]  # a node's path: keys (str) and list indexes (int)

#: Tokens of a valid JSON text (whitespace is skipped by ``finditer``).
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.S)


class LoadError(Exception):
    """A document that cannot be read: the message and the 1-based line and column."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class Bounds:
    """How big a document may grow once read (the pack's ``[limits]``); past a bound it is skipped."""

    #: Nodes (objects, arrays, scalars), YAML aliases expanded: a 1.6 KB alias bomb stops here.
    nodes: int = 1_000_000
    #: Nesting depth: the validator and the rules walk documents recursively.
    depth: int = 64


#: Integers longer than this are read as floats: Python refuses to convert (and print) longer ones.
_MAX_INT_DIGITS = 4000


def _parse_int(text: str) -> int | float:
    return int(text) if len(text) <= _MAX_INT_DIGITS else float(text)


def _measure(root: Any, children: Any, bounds: Bounds) -> None:
    """Raise LoadError when the tree ``root`` unfolds into is cyclic, deeper or bigger than ``bounds``.

    Shared nodes (YAML aliases) are measured once and counted at every use, so the cost is
    linear in the distinct nodes whatever the expanded size; a node that contains itself
    (``x: &x [*x]``) is a cycle.
    """
    done: dict[int, tuple[int, int]] = {}  # id -> (expanded size, height)
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        key = id(node)
        kids = children(node)
        if leaving:
            on_path.discard(key)
            size, height = 1, 1
            for kid in kids:
                kid_size, kid_height = done[id(kid)]
                size += kid_size
                height = max(height, kid_height + 1)
            if size > bounds.nodes:
                raise LoadError(
                    f"The document was skipped: it expands to more than {bounds.nodes:,} nodes (YAML aliases "
                    "included), past the limit ([limits] openapi-nodes)."
                )
            if height > bounds.depth:
                raise LoadError(
                    f"The document was skipped: it nests deeper than {bounds.depth} levels, past the limit "
                    "([limits] openapi-depth)."
                )
            done[key] = (size, height)
            continue
        if key in done:
            continue
        if key in on_path:
            raise LoadError("The document was skipped: a YAML alias refers to a node that contains it (a cycle).")
        if not kids:
            done[key] = (1, 1)
            continue
        on_path.add(key)
        stack.append((node, True))
        stack.extend((kid, False) for kid in kids)


def _data_children(node: Any) -> list:
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, list):
        return node
    return []


@dataclass(slots=True)
class Document:
    """One OpenAPI document: its data and where each node is written."""

    path: str  # relative to the report root
    text: str
    data: Any
    fmt: str  # "json" or "yaml"
    #: node path -> (key start, key end, value start, value end) code-point offsets; key is -1 for list items.
    positions: dict[Path, tuple[int, int, int, int]] = field(default_factory=dict)
    #: Paths of mapping keys written twice (the later occurrence).
    duplicates: list[Path] = field(default_factory=list)
    #: "file", "config", "option" or "app:<module:attr>": where the document came from.
    origin: str = "file"
    _line_starts: list[int] | None = None

    # ------------------------------------------------------------ spans
    def _lines(self) -> list[int]:
        if self._line_starts is None:
            starts = [0]
            starts.extend(m.end() for m in re.finditer(r"\r\n|\r|\n", self.text))
            self._line_starts = starts
        return self._line_starts

    def point(self, offset: int) -> tuple[int, int]:
        """1-based line and 1-based UTF-16 column of a code-point offset."""
        starts = self._lines()
        line = bisect.bisect_right(starts, offset) - 1
        start = starts[line]
        prefix = self.text[start:offset]
        column = len(prefix) + sum(1 for ch in prefix if ord(ch) > 0xFFFF)
        return line + 1, column + 1

    def span_between(self, start: int, end: int) -> Span:
        line, column = self.point(start)
        end_line, end_column = self.point(max(end, start + 1))
        return Span(line, column, end_line, end_column)

    def span(self, path: Path, *, value: bool = False) -> Span:
        """Where the node at ``path`` is written: its key (or, for a list item or with
        ``value=True``, the first line of its value). Paths through a local ``$ref``
        land in the referenced node; an unknown tail falls back to the deepest known node."""
        physical = self.physical(path)
        while physical and physical not in self.positions:
            physical = physical[:-1]
        entry = self.positions.get(physical)
        if entry is None:
            return Span.point(1)
        kstart, kend, vstart, vend = entry
        if kstart >= 0 and not value:
            return self.span_between(kstart, kend)
        # A container's span is its first line only: the place to look, not the whole block.
        newline = self.text.find("\n", vstart, vend)
        return self.span_between(vstart, vend if newline < 0 else newline)

    def physical(self, path: Path) -> Path:
        """The path as written: a step into a ``$ref`` object continues at its local target."""
        node = self.data
        out: list = []
        hops = 0
        for part in path:
            if isinstance(node, dict) and not isinstance(part, str) and part not in node and str(part) in node:
                part = str(part)  # the Rust validator backend reports a key such as "200" as a number
            if isinstance(node, dict) and part not in node and isinstance(node.get("$ref"), str) and hops < 32:
                target = local_pointer(node["$ref"])
                resolved = self.resolve(target) if target is not None else _MISSING
                if resolved is not _MISSING:
                    hops += 1
                    out = list(target)  # type: ignore[arg-type]
                    node = resolved
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                out.append(part)
                return tuple(out)
            out.append(part)
        return tuple(out)

    def resolve(self, parts: Path) -> Any:
        """The node at a pointer's parts, or ``_MISSING``."""
        node = self.data
        for part in parts:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list):
                try:
                    index = int(part)
                except (TypeError, ValueError):
                    return _MISSING
                if not 0 <= index < len(node):
                    return _MISSING
                node = node[index]
            else:
                return _MISSING
        return node

    def deref(self, node: Any, limit: int = 32) -> tuple[Any, Path | None]:
        """Follow local ``$ref`` objects: the target and its path (None when the node is not a ref)."""
        where: Path | None = None
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and limit > 0:
            parts = local_pointer(node["$ref"])
            if parts is None:
                break
            target = self.resolve(parts)
            if target is _MISSING:
                break
            node, where, limit = target, parts, limit - 1
        return node, where


class _Missing:
    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "<missing>"


_MISSING: Any = _Missing()
MISSING = _MISSING


def local_pointer(ref: str) -> Path | None:
    """``#/components/schemas/A~1B`` -> ("components", "schemas", "A/B"); None if not local."""
    if not ref.startswith("#"):
        return None
    fragment = unquote(ref[1:])
    if fragment == "":
        return ()
    if not fragment.startswith("/"):
        return None  # a plain-name fragment ($anchor): not a JSON pointer
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in fragment[1:].split("/"))


# --------------------------------------------------------------------------- #
# JSON
# --------------------------------------------------------------------------- #


def load_json(text: str, path: str, bounds: Bounds | None = None) -> Document:
    try:
        data = json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise LoadError(f"The file is not valid JSON: {exc.msg}.", exc.lineno, exc.colno) from None
    except RecursionError:
        raise LoadError("The file nests too deeply to be read.") from None
    except (ValueError, MemoryError) as exc:
        raise LoadError(f"The file cannot be read as JSON: {exc}.") from None
    _measure(data, _data_children, bounds or Bounds())
    doc = Document(path=path, text=text, data=data, fmt="json")
    _scan_json(doc)
    return doc


def _scan_json(doc: Document) -> None:
    positions = doc.positions
    # Frames: [path, is_object, next index, expecting key, key, key start, key end, value start]
    stack: list[list] = []
    for match in _JSON_TOKEN.finditer(doc.text):
        token = match.group()
        start, end = match.span()
        head = token[0]
        if stack:
            frame = stack[-1]
            if head == ",":
                if frame[1]:
                    frame[3] = True
                continue
            if head == ":":
                continue
            if head in "}]":
                stack.pop()
                entry = positions[frame[0]]
                positions[frame[0]] = (entry[0], entry[1], entry[2], end)
                continue
            if frame[1] and frame[3]:
                frame[4] = json.loads(token) if "\\" in token else token[1:-1]
                frame[5], frame[6], frame[3] = start, end, False
                continue
            if frame[1]:
                node_path = frame[0] + (frame[4],)
                kstart, kend = frame[5], frame[6]
                if node_path in positions:
                    doc.duplicates.append(node_path)
            else:
                node_path = frame[0] + (frame[2],)
                frame[2] += 1
                kstart = kend = -1
        else:
            node_path, kstart, kend = (), -1, -1
        positions[node_path] = (kstart, kend, start, end)
        if head == "{":
            stack.append([node_path, True, 0, True, None, 0, 0, start])
        elif head == "[":
            stack.append([node_path, False, 0, False, None, 0, 0, start])


# --------------------------------------------------------------------------- #
# YAML
# --------------------------------------------------------------------------- #

_SCALAR_TAGS = {
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


def load_yaml(text: str, path: str, bounds: Bounds | None = None) -> Document:
    try:
        import yaml
    except ImportError:
        raise LoadError(
            "PyYAML, a dependency of archlint, is missing from this environment, so the YAML document "
            "was not read: reinstall archlint."
        ) from None

    loader_cls = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    try:
        root = yaml.compose(text, Loader=loader_cls)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "syntax error").rstrip(".")
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise LoadError(f"The file is not valid YAML: {problem}.", line, column) from None
    except yaml.YAMLError as exc:
        raise LoadError(f"The file is not valid YAML: {str(exc).splitlines()[0] if str(exc) else exc!r}.") from None
    except RecursionError:
        raise LoadError("The file nests too deeply to be read.") from None
    doc = Document(path=path, text=text, data=None, fmt="yaml")
    if root is None:
        doc.data = None
        return doc

    def node_children(node: Any) -> list:
        if isinstance(node, yaml.MappingNode):
            return [part for pair in node.value for part in pair]
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        return []

    _measure(root, node_children, bounds or Bounds())
    builder = _YamlBuilder(doc, yaml)
    doc.positions[()] = (-1, -1, root.start_mark.index, root.end_mark.index)
    try:
        doc.data = builder.build(root, ())
    except RecursionError:
        raise LoadError("The file nests too deeply to be read.") from None
    return doc


class _YamlBuilder:
    def __init__(self, doc: Document, yaml: Any) -> None:
        self.doc = doc
        self.yaml = yaml
        self.constructor = yaml.constructor.SafeConstructor()
        self.built: dict[int, Any] = {}

    def build(self, node: Any, path: Path) -> Any:
        yaml = self.yaml
        known = self.built.get(id(node))
        if known is not None:
            return known
        if isinstance(node, yaml.MappingNode):
            out: dict = {}
            self.built[id(node)] = out
            try:
                self.constructor.flatten_mapping(node)
            except yaml.MarkedYAMLError:
                pass
            for key_node, value_node in node.value:
                key = self._key(key_node)
                child = path + (key,)
                if key in out:
                    self.doc.duplicates.append(child)
                self.doc.positions[child] = (
                    key_node.start_mark.index,
                    key_node.end_mark.index,
                    value_node.start_mark.index,
                    value_node.end_mark.index,
                )
                out[key] = self.build(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            items: list = []
            self.built[id(node)] = items
            for i, item in enumerate(node.value):
                child = path + (i,)
                self.doc.positions[child] = (-1, -1, item.start_mark.index, item.end_mark.index)
                items.append(self.build(item, child))
            return items
        return self._scalar(node)

    def _key(self, node: Any) -> str:
        if isinstance(node, self.yaml.ScalarNode):
            return str(node.value)
        return json.dumps(self.build(node, ()), sort_keys=True, default=str)

    def _scalar(self, node: Any) -> Any:
        if node.tag in _SCALAR_TAGS:
            if node.tag == "tag:yaml.org,2002:int" and len(node.value) > _MAX_INT_DIGITS:
                return node.value
            try:
                return self.constructor.construct_object(node, deep=True)
            except (self.yaml.YAMLError, ValueError, OverflowError):
                return node.value
        return node.value


def load_text(text: str, path: str, fmt: str | None = None, bounds: Bounds | None = None) -> Document:
    """Parse ``text``; ``fmt`` is "json" or "yaml" (default: by the file name, JSON first for others)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if fmt is None:
        lower = path.lower()
        fmt = "yaml" if lower.endswith((".yaml", ".yml")) else "json"
    return load_json(text, path, bounds) if fmt == "json" else load_yaml(text, path, bounds)


def iter_refs(data: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every ``$ref`` string in the document: (path of the object holding it, the reference)."""
    stack: list[tuple[Path, Any]] = [(path, data)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                yield where, ref
            for key, value in node.items():
                if isinstance(value, (dict, list)):
                    stack.append((where + (key,), value))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, (dict, list)):
                    stack.append((where + (i,), value))
