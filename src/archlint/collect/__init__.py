"""Parse one file once with LibCST and collect its facts in one traversal."""

from __future__ import annotations

import hashlib
import io
import re
import tokenize

import libcst as cst
from libcst.metadata import MetadataWrapper

from archlint.collect.facts import FileFacts, ParseError
from archlint.collect.visitor import FactCollector
from archlint.model import Span

__all__ = ["collect_source", "collect_bytes", "FileFacts"]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)


def collect_bytes(data: bytes, *, path: str, rel: str, module: str, is_package: bool = False) -> FileFacts:
    """Facts for one file's bytes; undecodable or unparsable files give a ParseError fact."""
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    try:
        source = _decode(data)
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        facts = FileFacts(path=path, rel=rel, module=module, is_package=is_package, digest=digest)
        facts.parse_error = ParseError(f"The file cannot be decoded: {exc}.", Span.point(1, 1))
        return facts
    return collect_source(source, path=path, rel=rel, module=module, is_package=is_package, digest=digest)


def _parse_error(source: str, exc: cst.ParserSyntaxError) -> ParseError:
    """LibCST's verdict, at Python's own error position when Python agrees the file is broken.

    (LibCST's native parser reports where it gave up, which can be lines later.)
    """
    message = re.sub(r"^(parser error: )?error at \d+:\d+: ", "", exc.message).rstrip(".")
    line, column = max(exc.raw_line, 1), exc.raw_column + 1
    try:
        compile(source, "<archlint>", "exec", flags=0, dont_inherit=True)
    except SyntaxError as syntax:
        if syntax.lineno:
            line, column = syntax.lineno, max(syntax.offset or 1, 1)
            if syntax.msg and syntax.msg != "invalid syntax":
                message = syntax.msg
    except (ValueError, RecursionError, MemoryError):
        pass
    return ParseError(f"The file cannot be parsed: {message}.", Span.point(line, column))


def collect_source(
    source: str, *, path: str, rel: str, module: str, is_package: bool = False, digest: str = ""
) -> FileFacts:
    facts = FileFacts(path=path, rel=rel, module=module, is_package=is_package, digest=digest)
    facts.line_count = source.count("\n") + 1
    try:
        tree = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        facts.parse_error = _parse_error(source, exc)
        return facts
    except (RecursionError, MemoryError) as exc:  # pragma: no cover - pathological input
        facts.parse_error = ParseError(f"The file is too deeply nested to parse ({type(exc).__name__}).", Span.point(1))
        return facts
    collector = FactCollector(source)
    MetadataWrapper(tree, unsafe_skip_copy=True).visit(collector)
    facts.module_scope = collector.module_scope
    facts.functions = collector.functions
    facts.classes = collector.classes
    facts.suppressions = collector.suppressions
    facts.branches = collector.branches
    return facts
