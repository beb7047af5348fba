"""The loop a DataLoader worker process runs.

Protocol (main -> worker, over the worker's task Queue; plus one byte on the shared shutdown pipe,
which makes every worker exit before its next task):
  ("task", task_id, index, releases)   fetch and send one batch; ``releases`` are segment ids the
                                       main process no longer uses
  ("resume", epoch, releases)          persistent workers: start a new epoch, answer "resumed"
  None                                 exit
Worker -> main, over the worker's own result pipe (one pickled tuple per message):
  ("data", task_id, skeleton, used, new, retired)   see transport.py
  ("error", task_id, ExceptionWrapper)
  ("stop", task_id)                    iterable dataset exhausted
  ("resumed", epoch)

Workers ignore SIGINT: on Ctrl-C the main process gets KeyboardInterrupt and shuts them down
(terminal Ctrl-C signals the whole process group; dying on it would only print noise).  A watchdog
thread exits the worker when its parent disappears, even if the worker is blocked on a pipe.
"""
from __future__ import annotations

import faulthandler
import multiprocessing.connection as mp_connection
import os
import pickle
import random
import signal
import threading
import time

import numpy as np

from . import worker_info
from .exceptions import ExceptionWrapper
from .fetch import create_fetcher
from .transport import WorkerArena, encode

_WATCHDOG_INTERVAL = 0.5


def _watch_parent(parent_pid):
    while True:
        time.sleep(_WATCHDOG_INTERVAL)
        if os.getppid() != parent_pid:  # re-parented: the DataLoader's process is gone
            os._exit(1)


def _seed_everything(base_seed, worker_id):
    import ember
    seed = base_seed + worker_id
    random.seed(seed)
    ember.manual_seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))
    return seed


def worker_loop(is_iterable, dataset, task_queue, result_conn, shutdown_conn, auto_collation,
                collate_fn, drop_last, base_seed, init_fn, worker_id, num_workers, use_shm):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        faulthandler.enable()  # a segfault prints the worker's Python stack before it dies
    except Exception:
        pass
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True,
                     name="ember-dataloader-watchdog").start()
    seed = _seed_everything(base_seed, worker_id)
    worker_info._worker_info = worker_info.WorkerInfo(
        id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
    where = f"in DataLoader worker process {worker_id}"
    arena = WorkerArena() if use_shm else None

    init_error = None
    fetcher = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetcher = create_fetcher(is_iterable, dataset, auto_collation, collate_fn, drop_last)
    except Exception:
        init_error = ExceptionWrapper(where=where)

    def send(message):
        try:
            payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # e.g. an exception object that will not pickle
            payload = pickle.dumps(("error", message[1], ExceptionWrapper(where=where)))
        result_conn.send_bytes(payload)

    iteration_end = False
    try:
        # waiting on the queue's pipe next to the shutdown pipe: the queue's private ``_reader``
        # is the only way to select() on it, and a one-byte shutdown message reaches every
        # worker at once, even when the main process's queue feeder threads are already gone
        # (they are, when the iterator is collected as part of a reference cycle)
        waitables = [task_queue._reader, shutdown_conn]
        while True:
            if shutdown_conn in mp_connection.wait(waitables):
                break
            msg = task_queue.get()
            if msg is None:
                break
            if msg[0] == "resume":
                if arena is not None:
                    arena.release(msg[2])
                iteration_end = False
                if init_error is None:
                    fetcher = create_fetcher(is_iterable, dataset, auto_collation, collate_fn,
                                             drop_last)
                send(("resumed", msg[1]))
                continue
            _, task_id, index, releases = msg
            if arena is not None:
                arena.release(releases)
            if iteration_end:
                continue  # the main process skips the tasks it gave an exhausted worker
            if init_error is not None:
                send(("error", task_id, init_error))
                continue
            reply = _produce(fetcher, index, task_id, arena, is_iterable, where)
            iteration_end = reply[0] == "stop"
            send(reply)
            del reply
    except (BrokenPipeError, ConnectionResetError, EOFError):
        pass  # the main process went away or shut us down mid-send
    except KeyboardInterrupt:
        pass
    finally:
        worker_info._arena = None
        try:
            result_conn.close()
        except OSError:
            pass


def _produce(fetcher, index, task_id, arena, is_iterable, where):
    """Fetch, collate and encode one batch; the message to send back."""
    if arena is not None:
        arena.begin()
        worker_info._arena = arena
    try:
        data = fetcher.fetch(index)
        return ("data", task_id) + encode(data, arena)
    except StopIteration:
        if arena is not None:
            arena.abort()
        if is_iterable:
            return ("stop", task_id)
        return ("error", task_id, ExceptionWrapper(where=where))
    except Exception:
        if arena is not None:
            arena.abort()
        return ("error", task_id, ExceptionWrapper(where=where))
    finally:
        worker_info._arena = None
