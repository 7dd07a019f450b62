"""Path globs for policy data: ``**`` spans directories, ``{a,b}`` alternates.

Layers (S17) and change boundaries (S19) name files by globs over POSIX paths:
``*`` and ``?`` stay within one path component, ``**`` matches any number of
components (zero included, so ``**/api/**`` matches ``api/x.py``), ``[...]`` is
a character class and ``{api,services}`` expands to alternatives. A pattern
that ends with ``/`` matches everything below that directory.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["compile_glob", "match", "match_any", "anchor_depth"]


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """A regular expression matching the whole POSIX path."""
    if pattern.endswith("/"):
        pattern += "**"
    return re.compile(_translate(pattern.lstrip("/")) + r"\Z", re.DOTALL)


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    depth = 0  # inside {...}
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                at_start = i == 0 or pattern[i - 1] == "/"
                j = i + 2
                if at_start and j < n and pattern[j] == "/":
                    out.append(r"(?:[^/]*/)*")  # "**/": zero or more directories
                    i = j + 1
                    continue
                if at_start and j == n:
                    out.append(r".*")  # trailing "**": everything below
                    i = j
                    continue
                out.append(r"[^/]*")  # "**" inside a component behaves as "*"
                i = j
                continue
            out.append(r"[^/]*")
        elif c == "?":
            out.append(r"[^/]")
        elif c == "[":
            close = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "]") else i + 1)
            if close == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : close]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = close
        elif c == "{":
            depth += 1
            out.append("(?:")
        elif c == "," and depth:
            out.append("|")
        elif c == "}" and depth:
            depth -= 1
            out.append(")")
        else:
            out.append(re.escape(c))
        i += 1
    if depth:  # an unclosed brace is a literal brace
        return re.escape(pattern)
    return "".join(out)


def match(pattern: str, path: str) -> bool:
    return compile_glob(pattern).match(path) is not None


def match_any(patterns: tuple[str, ...] | list[str], path: str) -> str | None:
    """The first pattern that matches ``path``, or None."""
    for pattern in patterns:
        if compile_glob(pattern).match(path) is not None:
            return pattern
    return None


def anchor_depth(pattern: str, path: str) -> int | None:
    """How many leading components of ``path`` the pattern needs to claim it.

    ``**/api/**`` claims ``app/api/v1/users.py`` at depth 2 (``app/api``); a
    file pattern such as ``**/routes.py`` only at the full depth. None when
    the pattern does not match. Used to let the outermost match decide.
    """
    regex = compile_glob(pattern)
    if regex.match(path) is None:
        return None
    parts = path.split("/")
    for k in range(1, len(parts)):
        if regex.match("/".join(parts[:k]) + "/\0") is not None:
            return k
    return len(parts)
