"""The iterator that loads with worker processes (num_workers > 0).

* The sampler runs here; batch ``i`` goes to worker ``i % num_workers`` (skipping exhausted
  iterable workers) and results are returned in task order, so the order of samples does not
  depend on num_workers.  At most ``prefetch_factor * num_workers`` tasks are in flight.
* Each worker has a task Queue (its feeder thread means sending never blocks the main thread) and
  its own result pipe.  Waiting for a batch waits on that pipe AND every live worker's process
  sentinel, so a worker that dies (killed, segfault, os._exit) is noticed at once, not after a
  timeout; ``timeout`` bounds a worker that is alive but stuck.
* Shutdown (end of data, early ``break`` + garbage collection, Ctrl-C, an error, interpreter exit)
  writes one byte to a shutdown pipe every worker waits on (so they skip queued work and exit),
  drains their result pipes so none stays blocked writing, and terminates/kills stragglers after
  a short grace period.
"""
from __future__ import annotations

import atexit
import itertools
import multiprocessing
import multiprocessing.connection as mp_connection
import os
import pickle
import signal
import time
import weakref

from ember.runtime import shared_memory as shared

from .pin_memory import pin_memory
from .single_process import _BaseDataLoaderIter
from .transport import BatchReceiver
from .worker import worker_loop

_POLL_INTERVAL = 5.0     # a backstop only: deaths are seen through sentinels immediately
_SHUTDOWN_GRACE = 1.0    # seconds workers get to exit by themselves before SIGTERM

_live_iterators: "weakref.WeakSet" = weakref.WeakSet()


@atexit.register
def _shutdown_all():
    for it in list(_live_iterators):
        it._shutdown_workers()


def _shm_enabled():
    return shared.proc_attach_supported() and os.environ.get("EMBER_DATALOADER_SHM", "1") != "0"


def _describe_exit(code):
    if code is None:
        return "closed its result pipe while still running"
    if code < 0:
        try:
            sig = signal.Signals(-code)
            return f"killed by signal {sig.name} ({signal.strsignal(sig)})"
        except ValueError:
            return f"killed by signal {-code}"
    return f"with exit code {code}"


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    def __init__(self, loader):
        super().__init__(loader)
        self._prefetch_factor = loader.prefetch_factor
        self._in_order = loader.in_order
        self._shutdown = False
        self._owner_pid = os.getpid()
        self._epoch = 0
        self._workers, self._task_queues, self._result_conns = [], [], []
        ctx = loader.multiprocessing_context or multiprocessing.get_context()
        self._use_shm = _shm_enabled()
        self._receiver = BatchReceiver(self._num_workers)
        self._shutdown_reader, self._shutdown_writer = ctx.Pipe(duplex=False)
        try:
            for worker_id in range(self._num_workers):
                task_queue = ctx.Queue()
                task_queue.cancel_join_thread()  # never block interpreter exit on a dead worker
                reader, writer = ctx.Pipe(duplex=False)
                w = ctx.Process(
                    target=worker_loop,
                    args=(self._is_iterable, self._dataset, task_queue, writer,
                          self._shutdown_reader,
                          self._auto_collation, self._collate_fn, self._drop_last,
                          self._base_seed, loader.worker_init_fn, worker_id, self._num_workers,
                          self._use_shm),
                    daemon=True)
                w.start()
                writer.close()  # only the worker writes: if it dies, this end reads EOF
                self._workers.append(w)
                self._task_queues.append(task_queue)
                self._result_conns.append(reader)
        except BaseException:
            self._shutdown_workers()
            raise
        _live_iterators.add(self)
        self._reset(loader, first_iter=True)

    # --- epochs -------------------------------------------------------------------------------
    def _reset(self, loader, first_iter=False):
        super()._reset(loader, first_iter)
        self._epoch += 1
        self._send_idx = 0
        self._rcvd_idx = 0
        self._task_info = {}          # task id -> worker id, for tasks not received yet
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        self._workers_status = [True] * self._num_workers
        if not first_iter:
            self._check_alive()
            for wid in range(self._num_workers):
                self._task_queues[wid].put(("resume", self._epoch,
                                            self._receiver.releases_for(wid)))
            for wid in range(self._num_workers):
                self._drain_until_resumed(wid)
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _drain_until_resumed(self, wid):
        # a previous epoch left early: its batches are still on the way; drop them
        while True:
            msg = self._receive(wid)
            if msg[0] == "resumed" and msg[1] == self._epoch:
                return
            if msg[0] == "data":
                self._receiver.discard(wid, self._workers[wid].pid, *msg[2:])

    # --- dispatch -----------------------------------------------------------------------------
    def _try_put_index(self):
        if len(self._task_info) >= self._prefetch_factor * self._num_workers:
            return
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):
            wid = next(self._worker_cycle)
            if self._workers_status[wid]:
                break
        else:
            return  # every worker is exhausted
        self._task_queues[wid].put(("task", self._send_idx, index,
                                    self._receiver.releases_for(wid)))
        self._task_info[self._send_idx] = wid
        self._send_idx += 1

    def _mark_worker_unavailable(self, wid):
        self._workers_status[wid] = False
        for task_id in [t for t, w in self._task_info.items() if w == wid]:
            del self._task_info[task_id]  # the worker skips these tasks
        if not self._persistent_workers:
            self._task_queues[wid].put(None)

    # --- receiving ----------------------------------------------------------------------------
    def __next__(self):
        try:
            return super().__next__()
        except KeyboardInterrupt:
            self._shutdown_workers()
            raise

    def _next_data(self):
        while True:
            if self._shutdown or not self._task_info:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration
            if self._in_order:
                while self._rcvd_idx not in self._task_info:
                    self._rcvd_idx += 1  # tasks of exhausted workers were dropped
                wid = self._task_info[self._rcvd_idx]
                msg = self._receive(wid)
            else:
                wid, msg = self._receive_any()
            if msg[0] == "stop":
                self._mark_worker_unavailable(wid)
                self._fill()
                continue
            del self._task_info[msg[1]]
            self._fill()
            if msg[0] == "error":
                msg[2].reraise()
            data = self._decode(wid, msg)
            if self._pin_memory:
                data = pin_memory(data)
            return data

    def _fill(self):
        while len(self._task_info) < self._prefetch_factor * self._num_workers:
            before = self._send_idx
            self._try_put_index()
            if self._send_idx == before:
                return

    def _decode(self, wid, msg):
        try:
            return self._receiver.decode(wid, self._workers[wid].pid, *msg[2:])
        except OSError:  # its segment vanished: the worker died right after sending
            self._raise_if_failed(grace=1.0)
            raise

    def _watched(self):
        """Sentinels of workers whose exit would be a failure."""
        return {self._workers[w].sentinel: w for w in range(self._num_workers)
                if self._workers_status[w] or self._persistent_workers}

    def _wait(self, conns):
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait_for = _POLL_INTERVAL
            if deadline is not None:
                wait_for = deadline - time.monotonic()
                if wait_for <= 0:
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
            watched = self._watched()
            ready = mp_connection.wait(list(conns) + list(watched), timeout=wait_for)
            got = [c for c in ready if c in conns]
            if got:
                return got[0]
            if ready:
                self._raise_if_failed(grace=0.0)

    def _read(self, conn):
        try:
            return pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            self._raise_if_failed(grace=2.0)
            raise RuntimeError("DataLoader worker closed its result pipe unexpectedly") from None

    def _receive(self, wid):
        conn = self._result_conns[wid]
        return self._read(self._wait([conn]))

    def _receive_any(self):
        pending = {self._result_conns[w]: w for w in set(self._task_info.values())}
        conn = self._wait(list(pending))
        return pending[conn], self._read(conn)

    def _check_alive(self):
        self._raise_if_failed(grace=0.0)

    def _raise_if_failed(self, grace):
        deadline = time.monotonic() + grace
        while True:
            dead = [(w, self._workers[w]) for w in self._watched().values()
                    if self._workers[w].exitcode is not None]
            if dead or time.monotonic() >= deadline:
                break
            time.sleep(0.01)
        if not dead:
            return
        details = "; ".join(f"worker {w} (pid {p.pid}) {_describe_exit(p.exitcode)}"
                            for w, p in dead)
        self._shutdown_workers()
        raise RuntimeError(f"DataLoader worker exited unexpectedly: {details}. The worker may have "
                           f"run out of memory, crashed in native code, or been killed; see its "
                           f"output above for a traceback.")

    # --- shutdown -----------------------------------------------------------------------------
    def _shutdown_workers(self):
        if self._shutdown or os.getpid() != self._owner_pid:
            return  # a forked child inherited this object: the workers are not its to stop
        self._shutdown = True
        _live_iterators.discard(self)
        try:
            try:
                self._shutdown_writer.send_bytes(b"x")
            except OSError:
                pass  # every worker is gone already
            self._reap()
        finally:
            for q in self._task_queues:
                q.cancel_join_thread()
                q.close()
            for c in self._result_conns + [self._shutdown_reader, self._shutdown_writer]:
                c.close()
            self._receiver.close()

    def _reap(self):
        deadline = time.monotonic() + _SHUTDOWN_GRACE
        conns = list(self._result_conns)
        alive = [w for w in self._workers if w.exitcode is None]
        while alive and time.monotonic() < deadline:
            ready = mp_connection.wait(conns + [w.sentinel for w in alive],
                                       timeout=max(0.0, deadline - time.monotonic()))
            for c in ready:
                if c in conns:  # drain, so no worker stays blocked writing a batch
                    try:
                        c.recv_bytes()
                    except (EOFError, OSError):
                        conns.remove(c)
            alive = [w for w in alive if w.exitcode is None]
        for w in alive:
            w.terminate()
        for w in alive:
            w.join(1.0)
            if w.exitcode is None:
                w.kill()
                w.join()
        for w in self._workers:
            w.join()

    def __del__(self):
        try:
            self._shutdown_workers()
        except Exception:
            pass
