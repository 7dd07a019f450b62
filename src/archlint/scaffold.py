"""``archlint init``: a first ``[tool.archlint]`` from what the project looks like.

It finds the FastAPI applications (``FastAPI(`` in a module), the source roots
that hold their packages, and for every layer of the pack's S17 contract the
project's own directories (or files) that the pack's globs claim, the
outermost match deciding, as S17 decides. Layers the project does not have
keep the pack's globs, so the contract stays whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from archlint.config import load_config
from archlint.discover import discover
from archlint.globs import anchor_depth

_APP = re.compile(r"^[^#\n]*\bFastAPI\s*\(", re.MULTILINE)


@dataclass(slots=True)
class Detected:
    root: Path
    files: int = 0
    apps: list[str] = field(default_factory=list)  # project-relative paths of modules that create an app
    src: list[str] = field(default_factory=list)
    layers: dict[str, list[str]] = field(default_factory=dict)  # layer -> globs found in the project
    defaults: dict[str, list[str]] = field(default_factory=dict)  # layers not found -> the pack's globs


def detect(root: Path) -> Detected:
    root = root.resolve()
    config = load_config(None, root)
    files = discover(config, root)
    found = Detected(root=root, files=len(files))
    src: set[str] = set()
    for f in files:
        try:
            text = f.abs.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if _APP.search(text):
            found.apps.append(f.rel)
            src.add(_source_root(f.abs, root))
    found.src = sorted(s for s in src if s)
    pack_paths: dict[str, list[str]] = config.pack.standard("S17").get("layer-paths", {})
    claimed: dict[str, set[str]] = {}
    for f in files:
        best: tuple[int, str] | None = None
        for layer, globs in pack_paths.items():
            for glob in globs:
                depth = anchor_depth(glob, f.rel)
                if depth is not None and (best is None or depth < best[0]):
                    best = (depth, layer)
        if best is None:
            continue
        depth, layer = best
        parts = f.rel.split("/")
        claimed.setdefault(layer, set()).add(f.rel if depth >= len(parts) else "/".join(parts[:depth]) + "/**")
    for layer, globs in pack_paths.items():
        if layer in claimed:
            found.layers[layer] = _outermost(claimed[layer])
        else:
            found.defaults[layer] = list(globs)
    return found


def _outermost(globs: set[str]) -> list[str]:
    """Drop a glob or file that a wider glob of the same layer already covers."""
    dirs = sorted(g[:-3] for g in globs if g.endswith("/**"))
    kept = []
    for g in sorted(globs):
        base = g[:-3] if g.endswith("/**") else g
        if any(base != d and base.startswith(d + "/") for d in dirs):
            continue
        kept.append(g)
    return kept


def _source_root(path: Path, root: Path) -> str:
    """The directory that holds the top package of ``path`` ("" for the project root)."""
    top = path.parent
    if (top / "__init__.py").is_file():
        while top != root and (top.parent / "__init__.py").is_file():
            top = top.parent
        top = top.parent
    rel = top.relative_to(root).as_posix()
    return "" if rel == "." else rel


def toml(found: Detected) -> str:
    """The ``[tool.archlint]`` tables for what was found."""
    lines = ["[tool.archlint]", "# Written by `archlint init` from what it found in the project; adjust freely."]
    if found.apps:
        lines.append(f"# FastAPI applications: {', '.join(found.apps)}")
    if found.src:
        lines.append(f"src = [{', '.join(_quote(s) for s in found.src)}]")
    lines += [
        "",
        "[tool.archlint.standards.S17.layer-paths]",
        "# Each layer of the pack's contract: the directories found, else the pack's globs.",
    ]
    for layer, globs in found.layers.items():
        lines.append(f"{_key(layer)} = [{', '.join(_quote(g) for g in globs)}]")
    for layer, globs in found.defaults.items():
        lines.append(f"{_key(layer)} = [{', '.join(_quote(g) for g in globs)}]  # not found: the pack's default")
    return "\n".join(lines) + "\n"


def report(found: Detected) -> str:
    """What was found, for people."""
    out = [f"Scanned {found.files} Python file{'s' if found.files != 1 else ''} under {found.root}."]
    out.append("FastAPI applications: " + (", ".join(found.apps) if found.apps else "none found"))
    out.append("Source roots: " + (", ".join(found.src) if found.src else "the project root"))
    for layer, globs in found.layers.items():
        out.append(f"Layer {layer}: {', '.join(globs)}")
    if found.defaults:
        out.append("Layers not found (the pack's globs kept): " + ", ".join(found.defaults))
    return "\n".join(out) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _quote(name)
