"""The cyclic garbage collector around work that keeps hundreds of thousands of objects alive.

Reference counting frees almost everything this app allocates; the cyclic collector only finds
cycles. Its full collections walk every live object, and CPython (3.11) runs one whenever the objects
that survived the young collections since the last one reach a quarter of the old ones. Large work
made that happen over and over:

- reading or assessing 100,000 routes allocates millions of small objects that form no cycles: the
  collector traversed every live fact again at each burst, doubling the time (`paused`);
- an import keeps its indexes and outcome rows alive while each batch of records survives the young
  collections and then dies: full collections took a quarter of the import's time (`rare_full_collections`).

The settings are the process's, and work runs in several threads (a web import runs in one of its
own), so each context counts who is inside it: the first to enter changes the setting, the last to
leave restores it.
"""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# CPython runs a full collection after this many collections of the middle generation (its default
# is 10): with 1,000, one every 7,000,000 allocations net instead of every 70,000.
RARE_FULL_COLLECTIONS = 1000

_lock = threading.Lock()
_paused = 0
_was_enabled = True
_deferring = 0
_saved_threshold = (700, 10, 10)


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection at all, for building many objects that form no cycles (reference
    counting still frees them); the collector resumes when the last thread leaves."""
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()


@contextmanager
def rare_full_collections() -> Iterator[None]:
    """Young collections as usual (they collect short-lived cycles), full ones rarely:
    for long work that keeps much alive (an import)."""
    global _deferring, _saved_threshold
    with _lock:
        if _deferring == 0:
            _saved_threshold = gc.get_threshold()
            young, middle, full = _saved_threshold
            gc.set_threshold(young, middle, max(full, RARE_FULL_COLLECTIONS))
        _deferring += 1
    try:
        yield
    finally:
        with _lock:
            _deferring -= 1
            if _deferring == 0:
                gc.set_threshold(*_saved_threshold)
