"""Every public kernel in child processes made after the parent ran it on two threads: by
``fork`` (GNU OpenMP's pool does not survive it: the child runs on one thread, warns once,
and gives the one-thread result), by ``forkserver`` and ``spawn`` (fresh processes with
their threads), and through a ``ProcessPoolExecutor``. Every wait is bounded, so a hang
fails the test instead of stalling the run."""

import concurrent.futures
import multiprocessing
import warnings

import numpy as np
import pytest
from test_reliability import KERNEL_IDS, KERNELS, assert_same_result

import suite
from suite import _threads

#: Seconds a child may take for all kernels (a few hundred milliseconds normally).
TIMEOUT = 120

METHODS = [m for m in ("fork", "forkserver", "spawn")
           if m in multiprocessing.get_all_start_methods()]


def run_kernels(dtype, num_threads):
    """In the child: every kernel's result at ``num_threads``, and the warnings raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [kernel.run(*kernel.arrays(dtype), num_threads=num_threads)
                   for kernel in KERNELS]
    return results, [str(w.message) for w in caught]


def _expected(dtype, num_threads):
    return [kernel.run(*kernel.arrays(dtype), num_threads=num_threads) for kernel in KERNELS]


def _check(results, expected, dtype):
    assert len(results) == len(KERNELS)
    for kernel, got, want in zip(KERNELS, results, expected):
        assert_same_result(got, want, kernel.exact, dtype, kernel.name)


def _parent_runs_on_two_threads(dtype, threads):
    """Start GNU OpenMP's pool in this process, as a user's parent would; return the
    results a child on ``threads`` threads must give."""
    on_two = _expected(dtype, 2)
    assert _threads._pool_started
    return on_two if threads == 2 else _expected(dtype, threads)


def _child_threads(method):
    """The threads a child made by ``method`` runs its kernels on after this parent started
    the pool (and whether it warns about it)."""
    return (1, True) if method == "fork" else (2, False)


@pytest.mark.parametrize("method", METHODS)
def test_kernels_in_a_child_process(method):
    threads, warns = _child_threads(method)
    expected = _parent_runs_on_two_threads(np.float32, threads)
    context = multiprocessing.get_context(method)
    with context.Pool(1) as pool:
        try:
            results, messages = pool.apply_async(run_kernels, (np.float32, 2)).get(TIMEOUT)
        except multiprocessing.TimeoutError:
            pool.terminate()
            pytest.fail(f"a child made by {method} did not finish its kernels in {TIMEOUT} s")
    _check(results, expected, np.float32)
    fork_warnings = [m for m in messages if "forked" in m]
    assert len(fork_warnings) == (1 if warns else 0), messages


@pytest.mark.parametrize("method", METHODS)
def test_kernels_in_a_process_pool_executor(method):
    threads, _ = _child_threads(method)
    expected = _parent_runs_on_two_threads(np.float64, threads)
    executor = concurrent.futures.ProcessPoolExecutor(
        max_workers=2, mp_context=multiprocessing.get_context(method))
    try:
        futures = [executor.submit(run_kernels, np.float64, 2) for _ in range(2)]
        for future in futures:
            results, _ = future.result(timeout=TIMEOUT)
            _check(results, expected, np.float64)
    except concurrent.futures.TimeoutError:
        pytest.fail(f"a {method} worker did not finish its kernels in {TIMEOUT} s")
    finally:
        processes = list((executor._processes or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.kill()


def test_a_child_forked_before_the_pool_started_keeps_its_threads(monkeypatch):
    # the flag, not a real fork: this test process has long started the pool
    monkeypatch.setattr(_threads, "_pool_started", False)
    monkeypatch.setattr(_threads, "_forked_after_pool", False)
    _threads._after_fork_in_child()
    assert not _threads._forked_after_pool
    assert _threads.effective_n_threads(2) == 2


def test_the_forked_child_warns_once(monkeypatch):
    monkeypatch.setattr(_threads, "_pool_started", True)
    monkeypatch.setattr(_threads, "_forked_after_pool", False)
    _threads._after_fork_in_child()
    with pytest.warns(RuntimeWarning, match="spawn") as record:
        assert _threads.effective_n_threads(2) == 1
        assert _threads.effective_n_threads(None) == 1
        assert _threads.effective_n_threads(1) == 1
    assert len(record) == 1
    x = np.ones((1, 2, 3, 3), np.float32)
    assert np.array_equal(suite.upsample(x, scale_factor=2, num_threads=2),
                          np.ones((1, 2, 6, 6), np.float32))


@pytest.mark.parametrize("kernel", KERNELS, ids=KERNEL_IDS)
def test_kernel_inputs_are_deterministic(kernel):
    # the child rebuilds the inputs from the same seed: they must be the parent's
    for a, b in zip(kernel.arrays(np.float32), kernel.arrays(np.float32)):
        assert (a is None and b is None) or np.array_equal(a, b)
