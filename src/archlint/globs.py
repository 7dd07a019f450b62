"""Path globs for policy data, matched by wcmatch: ``**`` spans directories, ``{a,b}`` alternates.

Layers (S17) and change boundaries (S19) name files by globs over POSIX paths:
``*`` and ``?`` stay within one path component, ``**`` matches any number of
components (zero included, so ``**/api/**`` matches ``api/x.py``), ``[...]`` is
a character class and ``{api,services}`` expands to alternatives. A pattern
that ends with ``/`` matches everything below that directory.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from functools import lru_cache, partial
from typing import cast

from wcmatch import glob as _glob

__all__ = ["match", "match_any", "anchor_depth", "fnmatch_any"]

_FLAGS = _glob.GLOBSTAR | _glob.BRACE | _glob.DOTGLOB


@lru_cache(maxsize=1024)
def _pattern(pattern: str) -> str:
    pattern = pattern.lstrip("/")
    return pattern + "**" if pattern.endswith("/") else pattern


@lru_cache(maxsize=1024)
def _matcher(pattern: str) -> Callable[[str], bool]:
    """The compiled pattern: compiling is most of globmatch's cost, and rules match the same globs per file.

    ``glob.compile`` is newer than the lowest wcmatch archlint supports (8.5): there, each match compiles.
    """
    compile_ = getattr(_glob, "compile", None)
    if compile_ is None:
        return partial(_globmatch, pattern=_pattern(pattern))
    return cast(Callable[[str], bool], compile_(_pattern(pattern), flags=_FLAGS).match)


def _globmatch(path: str, pattern: str) -> bool:
    return bool(_glob.globmatch(path, pattern, flags=_FLAGS))


@lru_cache(maxsize=65536)
def match(pattern: str, path: str) -> bool:
    return bool(_matcher(pattern)(path))


def match_any(patterns: tuple[str, ...] | list[str], path: str) -> str | None:
    """The first pattern that matches ``path``, or None."""
    for pattern in patterns:
        if match(pattern, path):
            return pattern
    return None


def anchor_depth(pattern: str, path: str) -> int | None:
    """How many leading components of ``path`` the pattern needs to claim it.

    ``**/api/**`` claims ``app/api/v1/users.py`` at depth 2 (``app/api``); a
    file pattern such as ``**/routes.py`` only at the full depth. None when
    the pattern does not match. Used to let the outermost match decide.
    """
    if not match(pattern, path):
        return None
    parts = path.split("/")
    for k in range(1, len(parts)):
        # Does the pattern claim everything below the first k components?
        if match(pattern, "/".join(parts[:k]) + "/\x00probe"):
            return k
    return len(parts)


@lru_cache(maxsize=1024)
def _fnmatch_pack(patterns: tuple[str, ...]) -> Callable[[str], object]:
    """One regular expression for a list of fnmatch patterns (a pack option): one match instead of one per pattern."""
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)).match


def fnmatch_any(name: str | None, patterns: Iterable[str]) -> bool:
    """Whether ``name`` matches one of the fnmatch ``patterns`` (case-sensitive, as ``fnmatch.fnmatchcase``).

    The patterns are compiled once per list into one expression: rules match every call's
    dotted name against the same pack lists.
    """
    if not name:
        return False
    key = patterns if isinstance(patterns, tuple) else tuple(patterns)
    if not key:
        return False
    return _fnmatch_pack(key)(name) is not None
