"""AL0xx: findings of the engine itself (files it cannot read or parse)."""

from __future__ import annotations

from collections.abc import Iterable

from archlint.checks.base import Project, Rule
from archlint.model import Finding, Severity


class UnparsableFile(Rule[None]):
    """Reports a Python file that cannot be decoded or parsed.

    Every other file is still checked; this one is left out of the project
    index, so rules that need it (an include chain through it, a constant
    defined in it) may report less or say "unverifiable".

    ## Why is this bad?
    A file that does not parse cannot run, and archlint cannot hold it to any
    standard. LibCST parses Python 3.0 to 3.14 syntax, so this is a real
    syntax error, not a new-syntax false alarm. Where LibCST and the running
    Python disagree, the finding says which: a file only Python rejects (NUL
    bytes, a second byte-order mark, a bad coding cookie) is an error naming
    Python's message; a file only LibCST rejects (syntax newer than LibCST) is a
    note, since the code runs.

    A file past a parse limit (the pack's `[limits]` `file-size`,
    `nesting-depth`, `expression-terms`) or one that crashes LibCST's
    parser is reported here too, naming the limit, and is not analysed.
    """

    id = "AL001"
    name = "UnparsableFile"
    standard = None
    severity = Severity.ERROR
    precision = "very-high"
    tags = ("engine",)
    INVALID = ["def broken(:\n    pass\n"]
    VALID = ["try:\n    pass\nexcept ValueError, TypeError:  # Python 3.14 syntax\n    pass\n"]

    def check(self, project: Project) -> Iterable[Finding]:
        for facts in project.index.files.values():
            error = facts.parse_error
            if error is not None:
                # Where only LibCST (not Python) rejects the file, archlint's verdict is a note.
                yield self.finding(
                    facts.path, error.span, error.message, severity=Severity.NOTE if error.python_accepts else None
                )
