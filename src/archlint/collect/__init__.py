"""Parse one file once with LibCST and collect its facts in one traversal.

LibCST is imported on the first parse, not with this package: a run whose
facts (or findings) all come from the cache, ``archlint rules`` and
``archlint explain`` never load it.
"""

from __future__ import annotations

import hashlib
import io
import re
import sys
import tokenize
from typing import TYPE_CHECKING, Literal, overload

from archlint.collect.facts import FileFacts, ParseError
from archlint.collect.guard import DEFAULT_LIMITS, Limits, measure, over_limit, safe_in_process
from archlint.model import Span

if TYPE_CHECKING:
    import libcst as cst

__all__ = ["collect_source", "collect_bytes", "content_digest", "FileFacts"]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)


def content_digest(data: bytes) -> str:
    """The key of a file's facts: they depend on its bytes only."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@overload
def collect_bytes(
    data: bytes,
    *,
    limits: Limits = ...,
    in_process: Literal[False] = ...,
    path: str = ...,
    rel: str = ...,
    module: str = ...,
    is_package: bool = ...,
) -> FileFacts: ...
@overload
def collect_bytes(
    data: bytes,
    *,
    limits: Limits = ...,
    in_process: bool,
    path: str = ...,
    rel: str = ...,
    module: str = ...,
    is_package: bool = ...,
) -> FileFacts | None: ...
def collect_bytes(
    data: bytes,
    *,
    limits: Limits = DEFAULT_LIMITS,
    in_process: bool = False,
    path: str = "",
    rel: str = "",
    module: str = "",
    is_package: bool = False,
) -> FileFacts | None:
    """Facts for one file's bytes; undecodable, unparsable or oversized files give a ParseError fact.

    The facts depend on the bytes (and the limits) only; the location
    arguments, when given, are stamped on afterwards (see :meth:`FileFacts.locate`).
    With ``in_process``, a file within the limits but past what is safe to parse
    in this process (limits raised above the defaults) gives None: the caller
    parses it in a worker process, where a crash costs that file only.
    """
    digest = content_digest(data)
    reason = over_limit(len(data), None, limits)
    if reason is not None:
        return _skipped(reason, digest).locate(path, rel, module, is_package)
    try:
        source = _decode(data)
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        facts = FileFacts(digest=digest)
        facts.parse_error = ParseError(f"The file cannot be decoded: {exc}.", Span.point(1, 1))
        return facts.locate(path, rel, module, is_package)
    shape = measure(source)
    reason = over_limit(len(data), shape, limits)
    if reason is not None:
        return _skipped(reason, digest).locate(path, rel, module, is_package)
    if in_process and not safe_in_process(shape):
        return None
    facts = _collect(source, digest)
    if facts.parse_error is None:
        rejected = _python_rejects(data, source)
        if rejected is not None:
            facts = FileFacts(digest=digest, line_count=facts.line_count, parse_error=rejected)
    return facts.locate(path, rel, module, is_package)


_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=]", re.M)


def _python_rejects(data: bytes, source: str) -> ParseError | None:
    """Python's verdict on what LibCST accepts but CPython does not (NUL bytes, a second BOM, a bad coding cookie).

    Only files with such a byte or a coding cookie are compiled, so the check is
    nearly free: ``compile()`` of the bytes applies the cookie as Python does.
    """
    first_lines = data[: data.find(b"\n", data.find(b"\n") + 1) if data.count(b"\n", 0, 4096) >= 2 else 4096]
    if b"\x00" not in data and "\ufeff" not in source and not _COOKIE.search(first_lines):
        return None
    try:
        compile(data, "<archlint>", "exec", flags=0, dont_inherit=True)
    except SyntaxError as exc:
        line, column = exc.lineno or 1, max(exc.offset or 1, 1)
        return ParseError(f"The file cannot be parsed by Python (LibCST accepts it): {exc.msg}.", Span.point(line, column))
    except ValueError as exc:  # "source code string cannot contain null bytes" (before Python 3.12)
        return ParseError(f"The file cannot be parsed by Python (LibCST accepts it): {exc}.", Span.point(1))
    except (RecursionError, MemoryError):
        return None
    return None


def _skipped(reason: str, digest: str) -> FileFacts:
    facts = FileFacts(digest=digest)
    facts.parse_error = ParseError(reason, Span.point(1))
    return facts


_HEADER_LINES = 40
_HEADER_CHARS = 4000


def leading_header(source: str) -> str:
    """The comments and the module docstring a file begins with (bounded), where tools say "generated"."""
    out: list[str] = []
    quote: str | None = None
    for line in source.splitlines()[:_HEADER_LINES]:
        text = line.strip()
        if quote is not None:
            out.append(text)
            if quote in text:
                quote = None
            continue
        if not text or text.startswith("#"):
            out.append(text)
            continue
        opener = text.lstrip("rRuUbB")[:3]
        if opener in ('"""', "'''"):
            out.append(text)
            rest = text.lstrip("rRuUbB")[3:]
            if opener not in rest:
                quote = opener
            continue
        if opener[:1] in ('"', "'"):
            out.append(text)  # a one-line docstring in single quotes
            continue
        break
    return "\n".join(out)[:_HEADER_CHARS]


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
    else:
        # The running Python accepts the file: syntax newer than LibCST knows (t-strings...).
        version = ".".join(map(str, sys.version_info[:2]))
        return ParseError(
            f"LibCST cannot parse this file, which Python {version} accepts ({message}); it was not analysed.",
            Span.point(line, column),
            python_accepts=True,
        )
    return ParseError(f"The file cannot be parsed: {message}.", Span.point(line, column))


def collect_source(
    source: str, *, path: str = "", rel: str = "", module: str = "", is_package: bool = False, digest: str = ""
) -> FileFacts:
    """Facts for one file's text (tests and tools); the location is stamped when given."""
    return _collect(source, digest).locate(path, rel, module, is_package)


#: Python frames a deeply nested (but within the limits) file needs; from Python 3.11 on,
#: Python-to-Python calls do not consume the C stack, so raising the limit is safe.
_RECURSION_LIMIT = 20_000 if sys.version_info >= (3, 11) else 0


def _collect(source: str, digest: str) -> FileFacts:
    facts = FileFacts(digest=digest)
    facts.line_count = source.count("\n") + 1
    facts.header = leading_header(source)
    previous = sys.getrecursionlimit()
    if previous < _RECURSION_LIMIT:
        sys.setrecursionlimit(_RECURSION_LIMIT)
    import libcst as cst

    from archlint.collect.visitor import collect_tree

    try:
        try:
            tree = cst.parse_module(source)
        except cst.ParserSyntaxError as exc:
            facts.parse_error = _parse_error(source, exc)
            return facts
        collector = collect_tree(source, tree)
    except (RecursionError, MemoryError) as exc:
        facts.parse_error = ParseError(
            f"The file was not analysed: it is too deeply nested ({type(exc).__name__}).", Span.point(1)
        )
        return facts
    finally:
        sys.setrecursionlimit(previous)
    facts.module_scope = collector.module_scope
    facts.functions = collector.functions
    facts.classes = collector.classes
    facts.suppressions = collector.suppressions
    facts.branches = collector.branches
    facts.suppression_comments = collector.suppression_comments
    return facts
