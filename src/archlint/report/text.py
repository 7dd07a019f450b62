"""Human-readable output: each finding with a code frame, then a one-line summary.

::

    app/api.py:3:5: S1 [error] Route is not versioned.
      |
    3 | @app.get("/users")
      |     ^^^^^^^^^^^^^^
"""

from __future__ import annotations

import re
import unicodedata
from itertools import groupby

from archlint.fsio import looks_binary, read_bytes
from archlint.model import Finding, Report, Severity
from archlint.report import escape

#: The most the text format reads of a reported file to show its code frames.
FRAME_FILE_LIMIT = 16 * 1024 * 1024

TAB_WIDTH = 4
_NEWLINE = re.compile(r"\r\n|\r|\n")  # what Python (and so LibCST) counts as a line break

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_BLUE = "\x1b[34m"
_SEVERITY_COLOR = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.NOTE: "\x1b[36m"}


def render(report: Report, *, color: bool = False) -> str:
    paint = _painter(color)
    findings = sorted(report.findings, key=Finding.sort_key)
    out: list[str] = []
    for path, group in groupby(findings, key=lambda f: f.path):
        lines = _read_lines(report, path)
        for f in group:
            out.extend(_header(f, paint))
            out.extend(_frame(f, lines, paint))
            out.extend(
                f"  = related: {escape.line(r.path)}:{r.span.line}:{r.span.column}: {_one_line(r.message)}" for r in f.related
            )
            out.append("")
    out.append(paint(_BOLD, summary(findings, report.files_checked, report.files_generated)))
    if report.unchanged or report.absent:
        out.append(
            f"Baseline: {_plural(len(report.unchanged), 'finding')} accepted, {len(report.absent)} fixed since it was written."
        )
    return "\n".join(out) + "\n"


def summary(findings: list[Finding], files: int, generated: int = 0) -> str:
    files_text = _plural(files, "file")
    if generated:
        files_text += f"; {_plural(generated, 'generated file')} skipped"
    if not findings:
        return f"All checks passed ({files_text})."
    counts = [
        _plural(n, label)
        for severity, label in ((Severity.ERROR, "error"), (Severity.WARNING, "warning"), (Severity.NOTE, "note"))
        if (n := sum(1 for f in findings if f.severity == severity))
    ]
    return f"Found {_plural(len(findings), 'problem')} ({', '.join(counts)}) in {files_text}."


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _painter(color: bool):
    def paint(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if color and text else text

    return paint


def _read_lines(report: Report, path: str) -> list[str] | None:
    """The lines of a reported file for its code frames; None for a binary, special or outside file."""
    try:
        data = read_bytes(report.root / path, root=report.root, limit=FRAME_FILE_LIMIT)
    except (OSError, ValueError):
        return None
    if looks_binary(data):
        return None  # never frame a font or an image
    return _NEWLINE.split(data.decode("utf-8", errors="replace"))


def _one_line(message: str) -> str:
    return escape.line(" ".join(part.strip() for part in message.split("\n") if part.strip()))


def _header(f: Finding, paint) -> list[str]:
    first, *rest = escape.lines(f.message).split("\n") or [""]
    sev = paint(_SEVERITY_COLOR[f.severity], f"[{f.severity.label}]")
    location = paint(_BOLD, f"{escape.line(f.path)}:{f.span.line}:{f.span.column}:")
    return [f"{location} {paint(_BOLD, f.rule_id)} {sev} {first}", *(f"    {line}" for line in rest)]


def _frame(f: Finding, lines: list[str] | None, paint) -> list[str]:
    """The finding's first line with a gutter and ``^^^`` under the span ([] if unavailable)."""
    span = f.span
    if lines is None or not 1 <= span.line <= len(lines):
        return []
    source = lines[span.line - 1]
    start = char_index(source, span.column)
    end = char_index(source, span.end_column) if span.end_line == span.line else len(source)
    shown, cells = _expand(source)
    caret_from = cells[start]
    caret_to = max(cells[max(end, start)], caret_from + 1)

    number = str(span.line)
    pad = " " * len(number)
    bar = paint(_BLUE, "|")
    frame = [
        f"{pad} {bar}",
        f"{paint(_BLUE, number)} {bar} {shown}".rstrip(),
        f"{pad} {bar} {' ' * caret_from}{paint(_SEVERITY_COLOR[f.severity], '^' * (caret_to - caret_from))}",
    ]
    if span.end_line > span.line:
        frame.append(f"{pad} {bar} ... (continues to line {span.end_line})")
    return frame


def char_index(line: str, column: int) -> int:
    """Character offset in ``line`` of a 1-based UTF-16 column (clamped to the line)."""
    units = column - 1
    for index, char in enumerate(line):
        if units <= 0:
            return index
        units -= 2 if ord(char) > 0xFFFF else 1
    return len(line)


def _expand(line: str) -> tuple[str, list[int]]:
    """Line as displayed (tabs expanded) and the display cell where each character starts.

    The list has one extra entry: the cell just after the last character.
    """
    shown: list[str] = []
    cells: list[int] = []
    cell = 0
    for char in line:
        cells.append(cell)
        if char == "\t":
            width = TAB_WIDTH - cell % TAB_WIDTH
            shown.append(" " * width)
        elif escape.is_control(char):
            # Terminal control sequences from the source never reach the terminal.
            text = escape.escaped_char(char)
            width = len(text)
            shown.append(text)
        else:
            width = _width(char)
            shown.append(char)
        cell += width
    cells.append(cell)
    return "".join(shown), cells


def _width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
