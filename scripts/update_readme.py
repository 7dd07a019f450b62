"""Regenerate the README's rules table from the rule classes: python scripts/update_readme.py"""

import re
from pathlib import Path

from archlint.cli import rules_markdown

readme = Path(__file__).resolve().parents[1] / "README.md"
text = readme.read_text(encoding="utf-8")
new = re.sub(
    r"(<!-- rules-table:start -->\n).*?(\n<!-- rules-table:end -->)",
    lambda m: m.group(1) + rules_markdown() + m.group(2),
    text,
    flags=re.S,
)
readme.write_text(new, encoding="utf-8")
print("README rules table is up to date" if new == text else "README rules table regenerated")
