"""Run archlint on the development corpus and compare findings by rule and resolved endpoints.

    python scripts/corpus.py snapshot LABEL [--corpora ~/corpora] [--only NAME ...]
    python scripts/corpus.py compare OLD NEW
    python scripts/corpus.py table LABEL > docs/corpus.md

The corpus is the list of public FastAPI codebases in ``../shared/corpus/README.md``,
extracted outside the repository (``../shared/corpus/extract.sh``). A snapshot
keeps, per codebase, the JSON findings of ``archlint check`` and the JSON of
``archlint inventory`` under ``~/corpus-runs/LABEL/`` (outside the repository:
their code is never copied in). ``compare`` prints what changed by rule and the
findings that appeared or vanished, so a refactor that should change nothing
shows that it did not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

#: name -> backend root inside the extracted tree (../shared/corpus/README.md).
CORPUS = {
    "full-stack-fastapi-template": "backend",
    "minimal-fastapi-postgres-template": "app",
    "fastapi-boilerplate": "src/app",
    "fastapi-realworld-example-app": "app",
    "fastapi-users": "fastapi_users",
    "mealie": "mealie",
    "lnbits": "lnbits",
    "dispatch": "src/dispatch",
    "prefect": "src/prefect/server",
    "polar": "server/polar",
}
RUNS = Path(os.environ.get("ARCHLINT_CORPUS_RUNS", Path.home() / "corpus-runs"))


def _archlint(*args: str, cwd: Path) -> tuple[int, str, str, float]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "archlint", *args], cwd=cwd, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start


def snapshot(label: str, corpora: Path, only: list[str], extra: list[str]) -> None:
    out = RUNS / label
    out.mkdir(parents=True, exist_ok=True)
    for name, root in CORPUS.items():
        if only and name not in only:
            continue
        tree = corpora / name
        if not tree.is_dir():
            print(f"{name}: not extracted at {tree}", file=sys.stderr)
            continue
        code, stdout, stderr, seconds = _archlint(
            "check", root, "--format", "json", "--exit-zero", "--no-cache", *extra, cwd=tree
        )
        if code not in (0, 1):
            # An older archlint without --no-cache: try without it.
            code, stdout, stderr, seconds = _archlint("check", root, "--format", "json", "--exit-zero", *extra, cwd=tree)
        if code not in (0, 1):
            print(f"{name}: check exited {code}: {stderr.strip()[:300]}", file=sys.stderr)
            continue
        (out / f"{name}.check.json").write_text(stdout)
        icode, istdout, istderr, _ = _archlint("inventory", root, "--format", "json", cwd=tree)
        if icode == 0:
            (out / f"{name}.inventory.json").write_text(istdout)
        else:
            print(f"{name}: inventory exited {icode}: {istderr.strip()[:300]}", file=sys.stderr)
        (out / f"{name}.seconds").write_text(f"{seconds:.2f}\n")
        print(f"{name}: {len(_findings(out, name))} findings in {seconds:.1f} s", file=sys.stderr)


def _findings(run: Path, name: str) -> list[dict]:
    path = run / f"{name}.check.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    return data["findings"] if isinstance(data, dict) else data


def _endpoints(run: Path, name: str) -> tuple[int, int, int]:
    """(endpoints, distinct method+path, resolved)."""
    path = run / f"{name}.inventory.json"
    if not path.exists():
        return 0, 0, 0
    endpoints = json.loads(path.read_text())["endpoints_created"]
    resolved = sum(1 for e in endpoints if e.get("path"))
    distinct = len({(e["method"], e.get("path") or e.get("handler")) for e in endpoints})
    return len(endpoints), distinct, resolved


def _key(finding: dict) -> tuple:
    return (finding.get("path"), finding.get("line"), finding.get("column"), finding.get("rule"), finding.get("message"))


def compare(old: str, new: str) -> int:
    a, b = RUNS / old, RUNS / new
    changed = 0
    for name in CORPUS:
        fa, fb = _findings(a, name), _findings(b, name)
        if not fa and not fb:
            continue
        ca, cb = Counter(f.get("rule") for f in fa), Counter(f.get("rule") for f in fb)
        ka, kb = Counter(map(_key, fa)), Counter(map(_key, fb))
        gone, came = ka - kb, kb - ka
        ea, eb = _endpoints(a, name), _endpoints(b, name)
        if not gone and not came and ea == eb:
            print(f"{name}: unchanged ({len(fa)} findings, endpoints {eb[2]}/{eb[0]} resolved)")
            continue
        changed += 1
        print(f"{name}: {len(fa)} -> {len(fb)} findings; endpoints resolved {ea[2]}/{ea[0]} -> {eb[2]}/{eb[0]}")
        for rule in sorted(set(ca) | set(cb)):
            if ca[rule] != cb[rule]:
                print(f"    {rule}: {ca[rule]} -> {cb[rule]}")
        for key in sorted(gone, key=str)[:15]:
            print(f"  - {key}")
        for key in sorted(came, key=str)[:15]:
            print(f"  + {key}")
    return 1 if changed else 0


def table(label: str) -> None:
    run = RUNS / label
    rules: Counter[str] = Counter()
    rows = []
    for name in CORPUS:
        findings = _findings(run, name)
        if not (run / f"{name}.check.json").exists():
            continue
        rules.update(f.get("rule") for f in findings)
        total, distinct, resolved = _endpoints(run, name)
        share = f"{resolved / total:.0%}" if total else "—"
        seconds = (run / f"{name}.seconds").read_text().strip() if (run / f"{name}.seconds").exists() else "?"
        by_sev = Counter(f.get("severity") for f in findings)
        rows.append(
            f"| {name} | {len(findings)} | {by_sev['error']} | {by_sev['warning']} | {by_sev['note']} "
            f"| {total} | {distinct} | {resolved} ({share}) | {seconds} |"
        )
    print("| codebase | findings | errors | warnings | notes | endpoints | distinct | resolved | seconds |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    print()
    print("| rule | findings (all codebases) |")
    print("| --- | --- |")
    for rule, count in sorted(rules.items()):
        print(f"| {rule} | {count} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot")
    snap.add_argument("label")
    snap.add_argument("--corpora", type=Path, default=Path.home() / "corpora")
    snap.add_argument("--only", nargs="*", default=[])
    snap.add_argument("--extra", nargs="*", default=[], help="more arguments for archlint check")
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("old")
    cmp_.add_argument("new")
    tab = sub.add_parser("table")
    tab.add_argument("label")
    args = parser.parse_args()
    if args.command == "snapshot":
        snapshot(args.label, args.corpora, args.only, args.extra)
        return 0
    if args.command == "compare":
        return compare(args.old, args.new)
    table(args.label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
