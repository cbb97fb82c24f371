"""byzpgd.numba_support: one switch for every compiled kernel, and no Ctrl-C lost while one compiles."""

import signal

import numpy as np
import pytest

from byzpgd import numba_support
from byzpgd.algorithms.aggregators import trim_kernel


def test_a_ctrl_c_during_compilation_is_delivered_after_it_not_lost():
    """``signals_deferred`` (around numba's compilation, whose LLVM callbacks dropped a
    KeyboardInterrupt): the signal is held and raised on exit, and the handler is restored.
    Able to fail: without the deferral the interrupt is raised inside the block."""
    before = signal.getsignal(signal.SIGINT)
    reached_end = False
    with pytest.raises(KeyboardInterrupt):
        with numba_support.signals_deferred():
            signal.raise_signal(signal.SIGINT)
            reached_end = True                   # not interrupted inside the block
    assert reached_end and signal.getsignal(signal.SIGINT) is before
    with pytest.raises(KeyboardInterrupt):       # plain: raised at once, the line after never runs
        signal.raise_signal(signal.SIGINT)
        reached_end = False
    assert reached_end


def test_the_trimmed_mean_kernel_compiles_with_signals_deferred(monkeypatch):
    """The trimmed mean's kernel (in the aggregators, which import nothing else of byzpgd but
    this helper) compiles inside ``signals_deferred`` too: a SIGINT raised during its first call
    arrives after the compilation, as a KeyboardInterrupt, with the kernel compiled and cached."""
    if not trim_kernel.available():
        pytest.skip("numba not installed (the fast extra) or BYZPGD_NO_NUMBA set: no kernel to compile")
    import numba

    b = 31                                        # a trim no other test compiles first
    trim_kernel._compiled.cache_clear()
    real_njit = numba.njit
    events = []

    def njit_that_is_interrupted(**options):
        def wrap(fn):
            dispatcher = real_njit(**options)(fn)

            def first_call(*args):
                signal.raise_signal(signal.SIGINT)   # as a Ctrl-C in the middle of compiling
                events.append("compiled")
                return dispatcher(*args)
            return first_call
        return wrap

    monkeypatch.setattr(numba, "njit", njit_that_is_interrupted)
    with pytest.raises(KeyboardInterrupt):
        trim_kernel._compiled(b)
    assert events == ["compiled"]                 # the compilation ran to its end first
    monkeypatch.setattr(numba, "njit", real_njit)
    trim_kernel._compiled.cache_clear()
    X = np.random.default_rng(0).standard_normal((2 * b + 5, 7))
    expected = np.sort(X, axis=0)[b:-b].mean(axis=0)
    assert np.allclose(trim_kernel.trimmed_mean_kernel(X, b), expected, rtol=0, atol=1e-12)


def test_one_variable_switches_every_kernel_off(monkeypatch):
    """The row reductions, the per-trial products and the trimmed mean read the same switch."""
    from byzpgd import geometry
    from byzpgd.oracles import products

    assert trim_kernel.available is numba_support.numba_available
    assert geometry.numba_available is numba_support.numba_available
    assert products.numba_available is numba_support.numba_available
    assert trim_kernel.NO_NUMBA_ENV == numba_support.NO_NUMBA_ENV == "BYZPGD_NO_NUMBA"
