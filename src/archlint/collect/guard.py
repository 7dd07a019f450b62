"""Cheap pre-parse limits: a file LibCST cannot parse safely is skipped, not the run.

LibCST's native parser overflows its stack (a segmentation fault, no Python
exception) on about 2,000 nested brackets or a 10,000-term ``a and a and ...``;
its Python visitors recurse once per nesting level, and a long chain of binary
operators takes quadratic time. Before parsing, one regular-expression pass
over the text measures the deepest bracket nesting and the longest operator
chain (strings and comments skipped), and a file past a limit becomes one
finding naming the limit. The limits are options of the pack's ``[limits]``
table (or ``[tool.archlint.limits]``):

- ``file-size`` (default 1 MiB): larger files are skipped unread by LibCST;
- ``nesting-depth`` (default 200, CPython's own limit on nested brackets);
- ``expression-terms`` (default 500 terms chained by operators in one expression).

Files within the limits are parsed with a raised recursion limit, so a valid
150-deep list or a 500-term sum is analysed; a ``RecursionError`` that still
happens is one AL001 finding. The engine parses files past the in-process
safety band (possible only with raised limits) in a worker process, so a
crash of the parser costs that file only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Nesting and chains measured safe to parse in the main process (LibCST 1.9 crashes at
#: about 2,000 nested brackets and 5,000-10,000 chained terms).
SAFE_NESTING_DEPTH = 400
SAFE_EXPRESSION_TERMS = 2000


@dataclass(frozen=True, slots=True)
class Limits:
    max_file_bytes: int = 1_048_576
    max_nesting_depth: int = 200
    max_expression_terms: int = 500

    def key(self) -> str:
        return f"{self.max_file_bytes}/{self.max_nesting_depth}/{self.max_expression_terms}"


DEFAULT_LIMITS = Limits()

#: One match per token that matters, the text between consumed inside the match (so the
#: scan advances linearly): strings, comments, brackets, separators and operators.
_BORING = r"""(?:(?!(?:and|or|not)\b)\w+|[^\w'"\#()\[\]{},;:\n+\-*/%@&|^~])*"""
_TOKENS = re.compile(
    _BORING
    + r"""(?:
      (?P<str>'''(?:[^\\]|\\[\s\S])*?'''|\"\"\"(?:[^\\]|\\[\s\S])*?\"\"\"
             |'(?:[^'\\\n]|\\[\s\S])*'|"(?:[^"\\\n]|\\[\s\S])*")
    | (?P<com>\#[^\n]*)
    | (?P<open>[(\[{])
    | (?P<close>[)\]}])
    | (?P<sep>[,;:\n])
    | (?P<op>\*\*|//|<<|>>|[-+*/%@&|^~]|(?:and|or|not)\b)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Shape:
    """The deepest bracket nesting and the longest operator chain (an upper bound of LibCST's recursion)."""

    nesting: int
    terms: int


def measure(source: str) -> Shape:
    """One pass over the text; strings and comments are skipped, so their brackets do not count."""
    depth = max_depth = 0
    counts = [0]  # operators in the current segment of each open bracket level
    chain = max_chain = 0  # sum of counts: operators nested on the way to this point
    for match in _TOKENS.finditer(source):
        kind = match.lastgroup
        if kind == "op":
            counts[-1] += 1
            chain += 1
            if chain > max_chain:
                max_chain = chain
        elif kind == "open":
            depth += 1
            if depth > max_depth:
                max_depth = depth
            counts.append(0)
        elif kind == "close":
            if depth:
                depth -= 1
                chain -= counts.pop()
        elif kind == "sep":
            if match.group() != "\n" or depth == 0:
                chain -= counts[-1]
                counts[-1] = 0
    return Shape(max_depth, max_chain + 1 if max_chain else 0)


def over_limit(size: int, shape: Shape | None, limits: Limits) -> str | None:
    """Why the file is skipped (a sentence naming the limit and its option), or None."""
    if size > limits.max_file_bytes:
        return (
            f"The file was not analysed: it has {size:,} bytes, more than the limit of "
            f"{limits.max_file_bytes:,} ([limits] file-size)."
        )
    if shape is None:
        return None
    if shape.nesting > limits.max_nesting_depth:
        return (
            f"The file was not analysed: its brackets nest {shape.nesting} deep, more than the limit of "
            f"{limits.max_nesting_depth} ([limits] nesting-depth)."
        )
    if shape.terms > limits.max_expression_terms:
        return (
            f"The file was not analysed: an expression chains {shape.terms} terms with operators, more than the limit of "
            f"{limits.max_expression_terms} ([limits] expression-terms)."
        )
    return None


def safe_in_process(shape: Shape) -> bool:
    return shape.nesting <= SAFE_NESTING_DEPTH and shape.terms <= SAFE_EXPRESSION_TERMS
