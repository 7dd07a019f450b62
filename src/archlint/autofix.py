"""``--fix``, ``--diff``, ``--add-noqa``: rewrite the project from its findings.

Fixing runs to a fixed point: check, apply every fix that does not overlap
another one in its file, check again (only the rewritten files are parsed
anew), until no fix is left or ten passes have run. A fix whose result does
not parse or compile is dropped, never written. ``--diff`` does the same on
texts held in memory (the engine's overlay) and writes nothing.
"""

from __future__ import annotations

import difflib
import io
import re
import tokenize
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from archlint.engine import Overrides, RunResult, run
from archlint.fixes import FixSource, Rewrite, apply_edits, edits, overlaps
from archlint.fsio import read_bytes
from archlint.model import Edit, Finding, Fix, Span
from archlint.report import write_atomic

MAX_PASSES = 10
TODO_REASON = "TODO: reason"


@dataclass(slots=True)
class Applied:
    path: str
    rule_id: str
    message: str
    line: int


@dataclass(slots=True)
class FixOutcome:
    #: The check of the fixed code (what is left).
    result: RunResult
    applied: list[Applied] = field(default_factory=list)
    #: Absolute path -> (text before, text after) of every file the fixes change.
    changed: dict[Path, tuple[str, str]] = field(default_factory=dict)
    #: Fixes dropped because their result did not parse (one line each).
    rejected: list[str] = field(default_factory=list)


def attach_fixes(result: RunResult, overlay: dict[Path, str] | None = None, findings: list[Finding] | None = None) -> None:
    """Give every finding whose rule can fix it (``FIXES``) its fix; the files concerned are parsed once.

    ``findings``: only these of the result's findings (an editor asks for the fixes of one range).
    """
    overlay = overlay or {}
    root = result.report.root
    groups: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.report.findings if findings is None else findings:
        rule = result.rules.get(finding.rule_id)
        if finding.fix is None and rule is not None and type(rule).FIXES:
            groups[finding.path].append(finding)
    for path, findings in groups.items():
        text = _read(root / path, overlay)
        if text is None:
            continue
        try:
            source = FixSource(text)
        except (cst.ParserSyntaxError, RecursionError):
            continue
        for finding in findings:
            rule = result.rules[finding.rule_id]
            try:
                new = rule.fix(finding, source)
            except Exception:  # a fix that cannot handle a shape leaves the finding unfixed
                new = None
            if new is None:
                continue
            applicability, message = rule.fix_applicability, rule.fix_message or f"Fix {rule.id}."
            if isinstance(new, Rewrite):  # this fix's own safety (and message)
                applicability, message, new = new.applicability, new.message or message, new.tree
            code = new.code if isinstance(new, cst.Module) else str(new)
            if code != text:
                finding.fix = Fix(message, edits(text, code), applicability)


def fix_project(paths: Sequence[str | Path], overrides: Overrides, *, unsafe: bool = False, write: bool = True) -> FixOutcome:
    overrides.overlay = {}
    originals: dict[Path, str] = {}
    outcome: FixOutcome | None = None
    applied: list[Applied] = []
    rejected: list[str] = []
    refused: set[tuple[str, str, str]] = set()
    for _ in range(MAX_PASSES):
        result = run(paths, overrides)
        attach_fixes(result, overrides.overlay)
        root = result.report.root
        candidates: dict[str, list[tuple[Finding, Fix]]] = defaultdict(list)
        for finding in result.report.findings:
            fix = finding.fix
            if fix is None or not (fix.safe or unsafe) or _key(finding) in refused:
                continue
            candidates[finding.path].append((finding, fix))
        progress = False
        for path, pairs in candidates.items():
            absolute = (root / path).resolve()
            text = _read(absolute, overrides.overlay)
            if text is None:
                continue
            chosen: list[tuple[Finding, Fix]] = []
            taken: list[Edit] = []
            for finding, fix in pairs:
                if any(overlaps(e, t) for e in fix.edits for t in taken):
                    continue  # next pass
                chosen.append((finding, fix))
                taken.extend(fix.edits)
            new: str | None = _apply(text, [fix for _, fix in chosen], path)
            if new is None:  # together they break the file: one at a time, keeping those that parse
                new = text
                for finding, fix in list(chosen):
                    attempt = _apply(new, [fix], path)
                    if attempt is None:
                        chosen.remove((finding, fix))
                        refused.add(_key(finding))
                        rejected.append(f"{path}:{finding.span.line}: the {finding.rule_id} fix would not parse; left as it is")
                    else:
                        new = attempt
            if not chosen or new == text:
                continue
            originals.setdefault(absolute, text)
            if write:
                write_atomic(absolute, new)
            else:
                overrides.overlay[absolute] = new
            applied.extend(Applied(path, f.rule_id, fix.message, f.span.line) for f, fix in chosen)
            progress = True
        if not progress:
            outcome = FixOutcome(result, applied, {}, rejected)
            break
    if outcome is None:
        outcome = FixOutcome(run(paths, overrides), applied, {}, rejected)
    for absolute, before in originals.items():
        after = overrides.overlay.get(absolute) if not write else absolute.read_text(encoding="utf-8")
        if after is not None and after != before:
            outcome.changed[absolute] = (before, after)
    overrides.overlay = {}
    return outcome


def _key(finding: Finding) -> tuple[str, str, str]:
    return (finding.path, finding.rule_id, finding.message)


def _apply(text: str, fixes: list[Fix], path: str) -> str | None:
    """The text with the fixes' edits applied, or None when the result would not parse or compile."""
    unique: list[Edit] = []
    for fix in fixes:
        for edit in fix.edits:
            if edit not in unique:
                unique.append(edit)
    new = apply_edits(text, unique)
    try:
        cst.parse_module(new)
        compile(new, path, "exec", dont_inherit=True)
    except (cst.ParserSyntaxError, SyntaxError, ValueError, RecursionError):
        return None
    return new


def _read(path: Path, overlay: dict[Path, str]) -> str | None:
    resolved = path.resolve()
    if resolved in overlay:
        return overlay[resolved]
    try:
        return read_bytes(path, root=None, limit=None).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None


def unified_diff(changed: dict[Path, tuple[str, str]], root: Path) -> str:
    out: list[str] = []
    for absolute in sorted(changed):
        before, after = changed[absolute]
        try:
            rel = absolute.relative_to(root.resolve()).as_posix()
        except ValueError:
            rel = absolute.as_posix()
        out.extend(
            difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{rel}", f"b/{rel}")
        )
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n\\ No newline at end of file\n"
    return "".join(out)


# --------------------------------------------------------------------------- #
# --add-noqa
# --------------------------------------------------------------------------- #


def add_noqa(result: RunResult, reason: str = TODO_REASON) -> tuple[int, list[str]]:
    """Put ``# archlint: ignore[CODES] -- reason`` where the suppression is honoured for every finding.

    The directive goes on the finding's first line, or, when a comment cannot
    go there (inside a multi-line string, after a backslash), on its last line
    or a line of the enclosing definition's header. Existing archlint
    directives on that line get the codes added. Returns the number of
    directives written or extended, and the findings that had no place.
    """
    root = result.report.root
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.report.findings:
        if finding.rule_id == "AL001":
            continue  # a file that does not parse cannot take a comment safely
        by_path[finding.path].append(finding)
    written = 0
    skipped: list[str] = []
    for path, findings in sorted(by_path.items()):
        absolute = root / path
        text = _read(absolute, {})
        if text is None or not path.endswith((".py", ".pyi")):
            skipped.extend(f"{path}:{f.span.line}: {f.rule_id}" for f in findings)
            continue
        lines = text.splitlines(keepends=True)
        blocked = _blocked_lines(text)
        wanted: dict[int, list[str]] = defaultdict(list)
        for finding in findings:
            line = _directive_line(finding, lines, blocked)
            if line is None:
                skipped.append(f"{path}:{finding.span.line}: {finding.rule_id}")
                continue
            if finding.rule_id not in wanted[line]:
                wanted[line].append(finding.rule_id)
        for line, codes in wanted.items():
            lines[line - 1] = _with_directive(lines[line - 1], codes, reason)
            written += 1
        if wanted:
            new = "".join(lines)
            try:
                cst.parse_module(new)
            except cst.ParserSyntaxError:
                skipped.extend(f"{path}:{line}: {', '.join(codes)}" for line, codes in wanted.items())
                continue
            write_atomic(absolute, new)
    return written, skipped


def suppression_edit(text: str, finding: Finding, reason: str = TODO_REASON) -> Edit | None:
    """The edit that suppresses one finding as ``--add-noqa`` does (None: no place for the comment)."""
    if finding.rule_id == "AL001" or not finding.path.endswith((".py", ".pyi")):
        return None
    lines = text.splitlines(keepends=True)
    line = _directive_line(finding, lines, _blocked_lines(text))
    if line is None:
        return None
    old = lines[line - 1]
    new = _with_directive(old, [finding.rule_id], reason)
    if _apply_line(text, line, new) is None:
        return None
    changed = edits(old, new)
    return (
        Edit(Span(line, changed[0].span.column, line, changed[0].span.end_column), changed[0].content)
        if len(changed) == 1 and changed[0].span.line == changed[0].span.end_line == 1
        else None
    )


def _apply_line(text: str, line: int, new: str) -> str | None:
    lines = text.splitlines(keepends=True)
    lines[line - 1] = new
    result = "".join(lines)
    try:
        cst.parse_module(result)
    except (cst.ParserSyntaxError, RecursionError):
        return None
    return result


def _directive_line(finding: Finding, lines: list[str], blocked: set[int]) -> int | None:
    """The line a suppression of ``finding`` goes on: its first line, else its last, when a comment can go there."""
    return next((n for n in (finding.span.line, finding.span.end_line) if _free(n, lines, blocked)), None)


def _blocked_lines(text: str) -> set[int]:
    """Lines whose end is inside a string token (a comment there would become part of the string)."""
    blocked: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in (tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", -1)) and token.end[0] > token.start[0]:
                blocked.update(range(token.start[0], token.end[0]))
    except (tokenize.TokenError, SyntaxError):
        pass
    return blocked


def _free(line: int, lines: list[str], blocked: set[int]) -> bool:
    if not 0 < line <= len(lines) or line in blocked:
        return False
    return not lines[line - 1].rstrip("\r\n").endswith("\\")


def _with_directive(line: str, codes: list[str], reason: str) -> str:
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    existing = re.search(r"#\s*archlint:\s*ignore\[(?P<codes>[A-Za-z0-9_,\s]*)\]", body)
    if existing:
        have = [c.strip().upper() for c in re.split(r"[,\s]+", existing.group("codes")) if c.strip()]
        merged = have + [c for c in codes if c not in have]
        return body[: existing.start("codes")] + ", ".join(merged) + body[existing.end("codes") :] + ending
    return f"{body}  # archlint: ignore[{', '.join(sorted(codes))}] -- {reason}{ending}"
