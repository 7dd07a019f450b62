"""The per-file facts cache: facts keyed by content, shared safely by concurrent runs.

Layout under the cache directory (``.archlint_cache/`` at the project root, or
``$ARCHLINT_CACHE_DIR``)::

    .gitignore                  "*": the folder is never committed
    facts/ab/<key>              one entry per distinct file content
    manifests/<project>         the entry keys a project's last run used
    results/<query>             a run's findings for one project, one entry per question asked
                                (project, paths, change set, selection); see :class:`ResultsCache`
    openapi/                    documents generated for --app (archlint.openapi.sources)

An entry's key hashes the file's content digest with archlint's version,
LibCST's version, the Python version (parse-error messages come from
``compile()``), the parse limits and the entry format, so an upgrade never
reads stale facts.

An entry is never trusted: it starts with a magic header and the BLAKE2b hash
of its key and payload (a truncated, corrupt or foreign file, or an entry
renamed from another key, fails the check), and the payload is unpickled by an
unpickler that only constructs archlint's plain fact classes and a handful of
builtins (``find_class`` refuses everything else). Anything wrong is a cache
miss: the file is parsed again and the entry rewritten.

Writes go to a temporary file in the same folder and are renamed into place
(atomic on POSIX and Windows), so concurrent runs and interrupted runs never
leave a partial entry under a real key. After a run whose set of entries
changed, entries no project's manifest refers to (files deleted or edited) are
pruned, except ones written since the run started (another run may be using
them).
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

from archlint.collect.facts import FileFacts
from archlint.collect.guard import DEFAULT_LIMITS, Limits

CACHE_DIR_NAME = ".archlint_cache"
ENV_VAR = "ARCHLINT_CACHE_DIR"
#: Bumped whenever the entry layout or the pickled classes change shape.
FORMAT = 5  # 2: FileFacts.header, ImportFact.statement (issue 17); 3: FileFacts.branches (issue 23);
# 4: Assign.guarded, Other.ops (issue 23); 5: Span is a named tuple (issue 14)
_MAGIC = b"ARCHLINT-FACTS\x00"
_HASH_SIZE = 32
_STALE_TEMP_SECONDS = 3600
#: Manifests of projects not run for this long no longer keep entries alive.
_MANIFEST_DAYS = 30

_ALLOWED_MODULES = frozenset({"archlint.collect.facts", "archlint.model"})
_ALLOWED_BUILTINS = {"frozenset": frozenset, "set": set, "complex": complex, "Ellipsis": Ellipsis}


class _FactsUnpickler(pickle.Unpickler):
    """Constructs only archlint's fact classes (and plain builtins): never an arbitrary callable."""

    def find_class(self, module: str, name: str):
        if module in _ALLOWED_MODULES and not name.startswith("_"):
            obj = getattr(sys.modules[module], name, None)
            if isinstance(obj, type) and obj.__module__ == module:
                return obj
        elif module == "builtins" and name in _ALLOWED_BUILTINS:
            return _ALLOWED_BUILTINS[name]
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a facts cache entry")


@functools.cache
def _environment() -> str:
    """What the facts were made with (read once a process: the code that runs does not change while it runs)."""
    try:
        from importlib.metadata import version

        libcst_version = version("libcst")
    except Exception:  # pragma: no cover - an uninstalled LibCST cannot have parsed anything
        libcst_version = "unknown"
    from archlint import __version__

    return f"archlint {__version__}; libcst {libcst_version}; python {sys.version_info[:3]}; format {FORMAT}; schema {_schema()}"


def _schema() -> str:
    """The shape of the fact classes: an entry written before a field was added or renamed is a miss."""
    import dataclasses

    from archlint.collect import facts as facts_module

    shapes = []
    for name, obj in sorted(vars(facts_module).items()):
        if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == facts_module.__name__:
            shapes.append(f"{name}({','.join(f.name for f in dataclasses.fields(obj))})")
    return hashlib.blake2b(";".join(shapes).encode(), digest_size=8).hexdigest()


def default_directory(project_root: Path) -> Path:
    """``$ARCHLINT_CACHE_DIR`` when set, else ``.archlint_cache/`` at the project root."""
    override = os.environ.get(ENV_VAR)
    return Path(override) if override else project_root / CACHE_DIR_NAME


class FactsCache:
    """Facts by content digest. ``directory=None`` disables the cache (``--no-cache``)."""

    def __init__(self, directory: Path | None, project_root: Path | None = None, limits: Limits | None = None) -> None:
        self.directory = directory
        self.project = str(project_root.resolve()) if project_root is not None else ""
        self.started = time.time()
        # Facts of a file past a limit say so: the limits are part of the key.
        limits_key = (limits or DEFAULT_LIMITS).key()
        self._environment = f"{_environment()}; limits {limits_key}" if directory is not None else ""
        self.used: set[str] = set()
        self.hits = 0
        self.misses = 0
        self._writable = directory is not None

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    # ------------------------------------------------------------------ keys
    def key(self, digest: str) -> str:
        return hashlib.blake2b(f"{self._environment}\0{digest}".encode(), digest_size=20).hexdigest()

    def _entry(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / "facts" / key[:2] / key

    # ------------------------------------------------------------- read/write
    def get(self, digest: str) -> FileFacts | None:
        """The cached facts of this content, or None (missing, stale, corrupt or foreign)."""
        if self.directory is None or not digest:
            return None
        key = self.key(digest)
        self.used.add(key)
        try:
            with open(self._entry(key), "rb") as handle:
                data = handle.read()
        except OSError:
            self.misses += 1
            return None
        facts = self._decode(key, data)
        if facts is None or facts.digest != digest:
            self.misses += 1
            return None
        self.hits += 1
        return facts

    def _decode(self, key: str, data: bytes) -> FileFacts | None:
        head = len(_MAGIC) + _HASH_SIZE
        if len(data) <= head or not data.startswith(_MAGIC):
            return None
        expected, payload = data[len(_MAGIC) : head], data[head:]
        if hashlib.blake2b(key.encode() + payload, digest_size=_HASH_SIZE).digest() != expected:
            return None
        try:
            facts = _FactsUnpickler(io.BytesIO(payload)).load()
        except Exception:
            return None
        return facts if isinstance(facts, FileFacts) else None

    def put(self, digest: str, facts: FileFacts) -> None:
        """Store content-only facts (the location fields are cleared in the entry)."""
        if self.directory is None or not self._writable or not digest:
            return
        key = self.key(digest)
        self.used.add(key)
        location = (facts.path, facts.rel, facts.module, facts.is_package)
        facts.locate("", "", "", False)
        try:
            payload = pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # pragma: no cover - facts are plain data
            return
        finally:
            facts.locate(*location)
        header = _MAGIC + hashlib.blake2b(key.encode() + payload, digest_size=_HASH_SIZE).digest()
        target = self._entry(key)
        try:
            self._ensure_root()
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(target, header + payload)
        except OSError:
            # A read-only or full disk: run on without the cache.
            self._writable = False

    def _ensure_root(self) -> None:
        assert self.directory is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        ignore = self.directory / ".gitignore"
        if not ignore.exists():
            _write_atomic(ignore, b"# Created by archlint.\n*\n")

    # ---------------------------------------------------------------- pruning
    def _manifest(self) -> Path:
        assert self.directory is not None
        name = hashlib.blake2b(self.project.encode(), digest_size=12).hexdigest()
        return self.directory / "manifests" / name

    def finish(self) -> None:
        """Record the entries this run used; prune unreferenced entries when the set changed."""
        if self.directory is None or not self._writable or not self.project:
            return
        manifest = self._manifest()
        text = "\n".join(sorted(self.used)) + "\n"
        try:
            previous = manifest.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            previous = None
        if previous == text:
            return
        try:
            self._ensure_root()
            manifest.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(manifest, text.encode("ascii"))
            self.prune()
        except OSError:
            pass

    def prune(self) -> int:
        """Delete entries no recent manifest refers to and that are older than this run."""
        if self.directory is None:
            return 0
        keep = set(self.used)
        limit = time.time() - _MANIFEST_DAYS * 86400
        manifests = self.directory / "manifests"
        try:
            for manifest in manifests.iterdir():
                try:
                    if manifest.stat().st_mtime < limit:
                        manifest.unlink()
                        continue
                    keep.update(manifest.read_text(encoding="ascii").split())
                except (OSError, UnicodeDecodeError):
                    continue
        except OSError:
            return 0
        removed = 0
        facts_dir = self.directory / "facts"
        try:
            shards = list(facts_dir.iterdir())
        except OSError:
            return 0
        for shard in shards:
            try:
                entries = list(shard.iterdir())
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.name.startswith(".tmp-"):
                        if entry.stat().st_mtime < time.time() - _STALE_TEMP_SECONDS:
                            entry.unlink()
                        continue
                    if entry.name in keep or entry.stat().st_mtime >= self.started - 1:
                        continue
                    entry.unlink()
                    removed += 1
                except OSError:
                    continue
        return removed


def clean(directory: Path, *, whole: bool) -> list[Path]:
    """Remove archlint's cache contents; the whole folder too when it is the default ``.archlint_cache``.

    With ``$ARCHLINT_CACHE_DIR`` (``whole=False``) only the folders archlint
    writes are removed, never anything else the user keeps there.
    """
    import shutil

    removed: list[Path] = []
    names = ["facts", "manifests", "results"] + (["openapi"] if whole else [])
    for name in names:
        target = directory / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
            removed.append(target)
    if whole:
        ignore = directory / ".gitignore"
        if ignore.is_file():
            ignore.unlink()
        try:
            directory.rmdir()
        except OSError:
            pass
    return removed


#: Result entries kept (the most recently used): a few per project cover its usual questions
#: (the whole tree, pre-commit's files, an editor's file).
_RESULTS_KEPT = 32
_RESULTS_MAGIC = b"ARCHLINT-RESULTS\x00"


class ResultsCache:
    """A project's findings for one question, valid while every input is the same.

    ``query`` names the entry (the project, the paths, the change set, the
    selection: what is asked); ``key`` is everything the answer depends on
    (archlint's environment, the configuration and pack, the rules and their
    options, every file's path and content digest, the OpenAPI documents). An
    entry answers only when its stored key equals the run's key, so any change
    anywhere is a miss and the run is checked as without the cache. Entries are
    written atomically, hashed and read with the same restricted unpickler as
    the facts (findings are plain ``archlint.model`` data); the least recently
    used are pruned beyond a small number.
    """

    #: Libraries whose verdicts are part of the findings (document validation, glob and ignore matching).
    LIBRARIES = ("openapi-spec-validator", "jsonschema-rs", "pyyaml", "wcmatch", "pathspec")

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.environment = f"{_environment()}; {_versions(self.LIBRARIES)}" if directory is not None else ""

    def _entry(self, query: str) -> Path:
        assert self.directory is not None
        name = hashlib.blake2b(f"{self.environment}\0{query}".encode(), digest_size=16).hexdigest()
        return self.directory / "results" / name

    def get(self, query: str, key: str) -> object | None:
        if self.directory is None:
            return None
        path = self._entry(query)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        head = len(_RESULTS_MAGIC) + _HASH_SIZE
        if len(data) <= head or not data.startswith(_RESULTS_MAGIC):
            return None
        full = f"{self.environment}\0{key}".encode()
        expected, payload = data[len(_RESULTS_MAGIC) : head], data[head:]
        if hashlib.blake2b(full + payload, digest_size=_HASH_SIZE).digest() != expected:
            return None  # another key (any input changed), or a damaged entry
        try:
            value = _FactsUnpickler(io.BytesIO(payload)).load()
        except Exception:
            return None
        try:
            os.utime(path)  # recently used: kept by pruning
        except OSError:
            pass
        return value

    def put(self, query: str, key: str, value: object) -> None:
        if self.directory is None:
            return
        try:
            payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # pragma: no cover - findings are plain data
            return
        full = f"{self.environment}\0{key}".encode()
        data = _RESULTS_MAGIC + hashlib.blake2b(full + payload, digest_size=_HASH_SIZE).digest() + payload
        target = self._entry(query)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            ignore = self.directory / ".gitignore"
            if not ignore.exists():
                _write_atomic(ignore, b"# Created by archlint.\n*\n")
            _write_atomic(target, data)
            self._prune(target.parent)
        except OSError:
            pass

    @staticmethod
    def _prune(folder: Path) -> None:
        try:
            entries = [(p.stat().st_mtime, p) for p in folder.iterdir()]
        except OSError:
            return
        now = time.time()
        for mtime, path in sorted(entries, reverse=True)[_RESULTS_KEPT:]:
            if path.name.startswith(".tmp-") and mtime > now - _STALE_TEMP_SECONDS:
                continue
            try:
                path.unlink()
            except OSError:
                pass


@functools.cache
def _versions(names: tuple[str, ...]) -> str:
    """The libraries' versions, read once a process like ``_environment`` (each read scans the installed
    distributions: a few milliseconds a library, which every in-process run paid again)."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in names:
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            out.append(f"{name} -")
    return ", ".join(out)


def _write_atomic(target: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
