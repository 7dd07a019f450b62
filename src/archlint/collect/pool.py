"""Parse files in worker processes where a crash costs one file, never the run.

LibCST's native parser can overflow its stack on hostile input and take the
whole process down (no Python exception). Each worker reports every file's
facts as soon as they are built; when a worker dies, the file it was on is
known exactly (the first of its batch without a result): that file gets one
finding, the rest of its batch goes back to the queue and a new worker takes
over. No ``BrokenProcessPool`` ever ends a run.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection, wait

from archlint import relax_garbage_collection
from archlint.collect.facts import FileFacts, ParseError
from archlint.collect.guard import Limits
from archlint.model import Span

#: Files per message to a worker: small enough to balance two cores, large enough to amortise the pipe.
BATCH = 8


def _worker(conn: Connection, limits: Limits) -> None:  # pragma: no cover - runs in the child process
    from archlint.collect import collect_bytes

    # Ctrl-C goes to the whole process group: the parent decides, and stops its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A crash is reported by the parent as a finding; no traceback dump on the shared stderr.
    import faulthandler

    faulthandler.disable()
    relax_garbage_collection()
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        for index, data in batch:
            conn.send((index, collect_bytes(data, limits=limits)))


def crashed(exitcode: int | None) -> FileFacts:
    """The facts of a file whose parse killed its worker (not cached: the next run tries again)."""
    if exitcode is not None and exitcode < 0:
        try:
            how = f"signal {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"signal {-exitcode}"
    else:
        how = f"exit code {exitcode}"
    facts = FileFacts(transient=True)
    facts.parse_error = ParseError(
        f"The file was not analysed: LibCST's parser crashed on it ({how}); every other file was checked.",
        Span.point(1),
    )
    return facts


class _Worker:
    def __init__(self, context, limits: Limits) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker, args=(child, limits), daemon=True)
        self.process.start()
        child.close()
        self.batch: list[int] = []

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():  # pragma: no cover
            self.process.kill()
            self.process.join()


def collect_isolated(
    blobs: list[bytes], workers: int, limits: Limits, on_result: Callable[[], None] | None = None
) -> list[FileFacts]:
    """Facts for each blob, parsed in ``workers`` processes; a worker's death costs one file.

    ``on_result`` is called once per file as its facts arrive (progress).
    """
    results: list[FileFacts | None] = [None] * len(blobs)
    queue: deque[list[int]] = deque(list(range(start, min(start + BATCH, len(blobs)))) for start in range(0, len(blobs), BATCH))
    context = multiprocessing.get_context()
    pool: list[_Worker] = []
    try:
        for _ in range(min(workers, len(queue))):
            pool.append(_Worker(context, limits))
        idle = list(pool)
        busy: list[_Worker] = []
        while queue or busy:
            while queue and idle:
                worker = idle.pop()
                worker.batch = queue.popleft()
                worker.conn.send([(i, blobs[i]) for i in worker.batch])
                busy.append(worker)
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for worker in list(busy):
                died = False
                if worker.conn in ready or worker.process.sentinel in ready:
                    try:
                        while worker.conn.poll():
                            index, facts = worker.conn.recv()
                            results[index] = facts
                            if on_result is not None:
                                on_result()
                            worker.batch.remove(index)
                    except Exception:  # EOF or a message cut short by the death
                        died = True
                    if not worker.process.is_alive() and worker.batch:
                        died = True
                if died:
                    worker.process.join()
                    culprit, rest = worker.batch[0], worker.batch[1:]
                    results[culprit] = crashed(worker.process.exitcode)
                    if on_result is not None:
                        on_result()
                    if rest:
                        queue.appendleft(rest)
                    busy.remove(worker)
                    pool.remove(worker)
                    worker.conn.close()
                    if queue and not idle:
                        replacement = _Worker(context, limits)
                        pool.append(replacement)
                        idle.append(replacement)
                elif not worker.batch:
                    busy.remove(worker)
                    idle.append(worker)
    finally:
        for worker in pool:
            if worker.batch and worker.process.is_alive():
                worker.process.kill()  # interrupted mid-batch
            worker.stop()
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]
