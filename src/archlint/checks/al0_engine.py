"""AL0xx: findings of the engine itself (files it cannot read or parse)."""

from __future__ import annotations

from collections.abc import Iterable

from archlint.checks.base import Project, Rule
from archlint.model import Finding, Severity


class UnparsableFile(Rule):
    """Reports a Python file that cannot be decoded or parsed.

    Every other file is still checked; this one is left out of the project
    index, so rules that need it (an include chain through it, a constant
    defined in it) may report less or say "unverifiable".

    ## Why is this bad?
    A file that does not parse cannot run, and archlint cannot hold it to any
    standard. LibCST parses Python 3.0 to 3.14 syntax, so this is a real
    syntax error, not a new-syntax false alarm.
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
            if facts.parse_error is not None:
                yield self.finding(facts.path, facts.parse_error.span, facts.parse_error.message)
