"""The cyclic garbage collector's settings around large work (register/collector.py): changed while
the work runs, restored after it, also when it fails or when two pieces of work overlap (a web import
runs in a thread of its own while requests assess routes)."""

import gc

import pytest

from register import collector


@pytest.fixture(autouse=True)
def collector_as_found():
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.set_threshold(*threshold)
    gc.enable() if enabled else gc.disable()


def test_overlapping_work_keeps_full_collections_rare_until_the_last_one_ends():
    gc.set_threshold(700, 10, 10)
    first = collector.rare_full_collections()
    first.__enter__()
    assert gc.get_threshold() == (700, 10, collector.RARE_FULL_COLLECTIONS)
    with pytest.raises(RuntimeError):
        with collector.rare_full_collections():
            # The first ends before the second: each restoring what it found would leave it changed.
            first.__exit__(None, None, None)
            assert gc.get_threshold() == (700, 10, collector.RARE_FULL_COLLECTIONS)
            raise RuntimeError("the work failed")
    assert gc.get_threshold() == (700, 10, 10)


def test_overlapping_pauses_resume_the_collector_when_the_last_one_ends_and_only_if_it_ran():
    gc.enable()
    first, second = collector.paused(), collector.paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()
    gc.disable()  # switched off by someone else: a pause does not switch it on
    with collector.paused():
        pass
    assert not gc.isenabled()
