"""Export jobs pause the cycle collector while they run and give it back as they found it."""

from __future__ import annotations

import gc

from labelvault.exports.collector import collector_paused


def test_the_collector_is_back_when_the_last_pause_ends():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off():
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
