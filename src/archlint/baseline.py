"""Fingerprints and baselines: accept today's findings, report only new ones.

A fingerprint identifies a finding by what it is about, not where it is:

- the rule and the file (path relative to the report root);
- the qualified name of the innermost ``def``/``class`` that encloses it
  (``UserService.create``; empty at module level);
- the normalised text of the reported node: the source tokens from the
  finding's start to the end of the span or of its first logical line,
  whichever comes first, without comments or whitespace, string literals
  written one canonical way and trailing commas dropped, so reformatting
  (black, ruff format, re-indenting, quote style, wrapping) does not change it;
- an occurrence index among findings that share all of the above.

Line and column numbers are not part of it: lines moving, code above the
finding changing and the file being reformatted leave it unchanged; editing the
reported code itself changes it, so a changed violation is reported again.

A baseline file (JSON) lists the fingerprints of the findings it accepts, with
the rule, path, line and message for people reading it. ``apply`` splits a
run's findings into new ones (reported) and unchanged ones (accepted), and
lists the baseline's entries that no longer match anything as absent (fixed:
they leave the baseline silently, ``prune`` drops them from the file).
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import tokenize
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from archlint.fsio import read_bytes
from archlint.model import Finding, Severity, Span, utf16_to_index

BASELINE_VERSION = 1
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER}
_CLOSERS = {")", "]", "}"}


class BaselineError(Exception):
    """A baseline file that cannot be read or is not a baseline (exit code 2)."""


# --------------------------------------------------------------------------- #
# Fingerprints
# --------------------------------------------------------------------------- #


@dataclass(slots=True)
class _Source:
    """What fingerprints need of one file: its tokens and its definitions' line ranges."""

    tokens: list[tokenize.TokenInfo]
    lines: list[str]
    #: (first line, last line, qualified name) of every def/class, outermost first.
    definitions: list[tuple[int, int, str]] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path, read: Callable[[Path], str] | None = None) -> _Source:
        try:
            text = (
                read(path) if read is not None else read_bytes(path, root=None, limit=None).decode("utf-8-sig", errors="replace")
            )
        except (OSError, ValueError):
            return cls([], [])
        text = text.removeprefix("\ufeff")
        lines = text.splitlines()
        try:
            tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in _SKIP]
        except (tokenize.TokenError, SyntaxError, IndentationError):
            tokens = []
        definitions: list[tuple[int, int, str]] = []
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            tree = None
        if tree is not None:
            _definitions(tree, "", definitions)
        return cls(tokens, lines, definitions)

    def qualname(self, line: int) -> str:
        best = ""
        for first, last, name in self.definitions:
            if first <= line <= last:
                best = name  # definitions are listed outermost first: the last match is the innermost
        return best

    def text(self, span: Span) -> str:
        """The normalised tokens of the reported node, up to the end of its first logical line."""
        if not self.tokens:
            return ""
        start = (span.line, utf16_to_index(self.lines, span.line, span.column))
        end = (span.end_line, utf16_to_index(self.lines, span.end_line, span.end_column))
        if end <= start:
            end = (span.line, 10**9)
        out: list[str] = []
        for token in self.tokens:
            if token.start < start:
                continue
            if token.start >= end or token.type == tokenize.NEWLINE:
                break
            if token.type == tokenize.STRING:
                out.append(_string(token.string))
            elif token.string in _CLOSERS and out and out[-1] == ",":
                out[-1] = token.string
            else:
                out.append(token.string)
            if len(out) >= 200:
                break
        return " ".join(out)


def _definitions(node: ast.AST, prefix: str, out: list[tuple[int, int, str]]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = f"{prefix}{child.name}"
            first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
            out.append((first, child.end_lineno or child.lineno, name))
            _definitions(child, f"{name}.", out)
        else:
            _definitions(child, prefix, out)


def _string(literal: str) -> str:
    """A string literal written one way: ``'a'`` and ``"a"`` are the same text."""
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return literal  # f-strings and the like: as written
    return repr(value)


def fingerprint(findings: Iterable[Finding], report_root: Path, read: Callable[[Path], str] | None = None) -> None:
    """Fill in every finding's ``fingerprint`` (see the module docstring); ``read`` reads a file's text."""
    sources: dict[str, _Source] = {}
    seen: Counter = Counter()
    for finding in sorted(findings, key=Finding.sort_key):
        source = sources.get(finding.path)
        if source is None:
            source = sources[finding.path] = _Source.read(report_root / finding.path, read)
        key = (finding.rule_id, finding.path, source.qualname(finding.span.line), source.text(finding.span))
        seen[key] += 1
        material = "\0".join((*key, str(seen[key])))
        finding.fingerprint = hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()[:32]


# --------------------------------------------------------------------------- #
# Baseline files
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, slots=True)
class Entry:
    """One accepted finding: the fingerprint matches; the rest is for people and for absent results."""

    fingerprint: str
    rule: str
    path: str
    line: int
    message: str
    severity: str = "warning"

    def as_finding(self) -> Finding:
        try:
            severity = Severity.parse(self.severity)
        except ValueError:
            severity = Severity.WARNING
        return Finding(self.rule, self.message, self.path, Span.point(max(self.line, 1)), severity, fingerprint=self.fingerprint)


@dataclass(slots=True)
class Baseline:
    path: Path
    entries: list[Entry]


@dataclass(slots=True)
class Outcome:
    """A run against a baseline: what is new, what it accepted, what it no longer finds."""

    new: list[Finding]
    unchanged: list[Finding]
    absent: list[Entry]


def load(path: Path) -> Baseline:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"baseline file does not exist: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"cannot read baseline file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}: not a baseline file (invalid JSON at line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise BaselineError(f"{path}: not a baseline file (no 'findings' list)")
    if data.get("version") != BASELINE_VERSION:
        raise BaselineError(
            f"{path}: baseline version {data.get('version')!r} is not supported "
            f"(expected {BASELINE_VERSION}; write it again with --write-baseline)"
        )
    entries = []
    for i, item in enumerate(data["findings"]):
        try:
            entries.append(
                Entry(
                    str(item["fingerprint"]),
                    str(item["rule"]),
                    str(item["path"]),
                    int(item.get("line", 1)),
                    str(item.get("message", "")),
                    str(item.get("severity", "warning")),
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise BaselineError(f"{path}: finding {i + 1} needs 'fingerprint', 'rule' and 'path'") from None
    return Baseline(path, entries)


def render(entries: Iterable[Entry]) -> str:
    ordered = sorted(entries, key=lambda e: (e.path, e.line, e.rule, e.fingerprint))
    doc = {
        "version": BASELINE_VERSION,
        "tool": "archlint",
        "comment": "Findings accepted as they are: `archlint check --baseline FILE` reports only findings "
        "not listed here. Rewrite with --write-baseline; drop fixed ones with --prune-baseline.",
        "findings": [
            {
                "fingerprint": e.fingerprint,
                "rule": e.rule,
                "path": e.path,
                "line": e.line,
                "severity": e.severity,
                "message": e.message,
            }
            for e in ordered
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def entry(finding: Finding) -> Entry:
    return Entry(finding.fingerprint, finding.rule_id, finding.path, finding.span.line, finding.message, finding.severity.label)


def apply(findings: list[Finding], baseline: Baseline, in_scope: Callable[[Entry], bool]) -> Outcome:
    """Split findings into new and unchanged; absent: the in-scope entries nothing matched.

    ``in_scope`` says whether this run could have reproduced an entry (its rule
    ran and its path was checked): an entry outside the run is neither matched
    nor absent.
    """
    available: dict[str, int] = Counter(e.fingerprint for e in baseline.entries)
    new: list[Finding] = []
    unchanged: list[Finding] = []
    for finding in findings:
        if available.get(finding.fingerprint, 0) > 0:
            available[finding.fingerprint] -= 1
            finding.baseline_state = "unchanged"
            unchanged.append(finding)
        else:
            finding.baseline_state = "new"
            new.append(finding)
    left: dict[str, int] = defaultdict(int, available)
    absent = []
    for e in baseline.entries:
        if left[e.fingerprint] > 0 and in_scope(e):
            left[e.fingerprint] -= 1
            absent.append(e)
    return Outcome(new, unchanged, absent)


def written(previous: Baseline | None, findings: list[Finding], in_scope: Callable[[Entry], bool]) -> list[Entry]:
    """The entries ``--write-baseline`` writes: this run's findings plus the old entries it did not cover."""
    kept = [e for e in previous.entries if not in_scope(e)] if previous is not None else []
    return kept + [entry(f) for f in findings]


def pruned(baseline: Baseline, absent: list[Entry]) -> list[Entry]:
    """The baseline without its absent (fixed) entries."""
    drop = Counter(e.fingerprint for e in absent)
    out = []
    for e in baseline.entries:
        if drop[e.fingerprint] > 0:
            drop[e.fingerprint] -= 1
            continue
        out.append(e)
    return out
