"""archlint: a static architecture linter and policy checker for FastAPI backends."""

import gc

__version__ = "0.1.0"


#: Allocations between two young-generation collections (CPython's default is 700), and how many of
#: those before each older one is collected (default 10 and 10); mypy sets the same kind of values.
_GC_THRESHOLDS = (50_000, 20, 20)


def relax_garbage_collection() -> None:
    """Collect garbage cycles less often, in a command-line process and its collection workers.

    archlint builds a few hundred thousand long-lived objects (syntax trees, facts, the index) and
    few cycles; with the default thresholds the collector traversed them again and again: a quarter
    of a warm run, a sixth of a cold one, on a generated 30k-line backend, for the same peak memory.
    """
    gc.set_threshold(*_GC_THRESHOLDS)
