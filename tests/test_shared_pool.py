"""A long claim's instances share verify's worker pool (properties.runner.shared_pool,
byzpgd._verify._check_shared): the chunks cover every spec once, in order, and the claim's
result is the one it has in one process (only the times differ)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from byzpgd import verify
from byzpgd.experiments.loop import SerialExecutor
from byzpgd.properties import runner
from byzpgd.properties.registry import load_all, shares_pool
from byzpgd.properties.runner import check_claim, pool_chunks, shared_pool
from byzpgd.properties.strategies import sample_specs
from byzpgd.properties.suites.theorems import THEOREM_CLAIMS


class Recording(SerialExecutor):
    """A serial executor that keeps the chunks it was given."""

    def __init__(self):
        self.chunks: list[list] = []

    def map(self, fn, items):
        items = list(items)
        self.chunks.extend(items)
        return map(fn, items)


def _without_times(result):
    details = {k: v for k, v in (result.details or {}).items() if k != "instance_seconds"}
    return replace(result, seconds=0.0, details=details)


@pytest.mark.parametrize("n, parts, sizes", [(70, 3, [32, 32, 6]), (100, 3, [34, 34, 32]), (20, 4, [20])])
def test_the_chunks_cover_every_spec_once_in_order(n, parts, sizes, monkeypatch):
    monkeypatch.setattr(runner, "MIN_SHARE", 32)
    pool = Recording()
    with shared_pool(pool, parts):
        _, size, shared = pool_chunks(n, None)
        result = check_claim("exact_pgd.iterations", "quick", 0, n=n)
    assert shared and size == max(32, -(-n // parts))
    assert [len(c) for c in pool.chunks] == sizes
    assert [s for c in pool.chunks for s in c] == sample_specs("exact_pgd.iterations", n, 0)
    assert result.instances == n


def test_an_executor_of_its_own_is_not_replaced():
    own, pool = Recording(), Recording()
    with shared_pool(pool, 4):
        check_claim("exact_pgd.iterations", "quick", 0, n=40, executor=own)
    assert pool.chunks == [] and [len(c) for c in own.chunks] == [40]


def test_shared_chunks_give_the_result_of_one_process(monkeypatch):
    monkeypatch.setattr(runner, "MIN_SHARE", 16)
    plain = check_claim("byzantine_pgd.grad_norm", "quick", 1, n=80)
    pool = Recording()
    with shared_pool(pool, 3):
        shared = check_claim("byzantine_pgd.grad_norm", "quick", 1, n=80)
    assert len(pool.chunks) == 3
    assert shared.details["instance_seconds"] > 0
    assert _without_times(shared) == _without_times(plain)


@pytest.mark.parametrize("claim_id, check, n", [
    ("saddle_attack.byzantine_pgd_escapes", "attack", 40),
    ("end_to_end.grad_norm_independent", "e2e", 12)])
def test_the_other_pooled_checks_give_the_result_of_one_process(claim_id, check, n, monkeypatch):
    monkeypatch.setattr(runner, "MIN_SHARE", 16)
    from byzpgd.properties.suites.end_to_end import e2e_check
    from byzpgd.properties.suites.saddle_attack import check_attack

    def run():
        if check == "attack":
            return check_attack(claim_id, "quick", 0, n=n)
        return e2e_check(claim_id, "quick", 0, n=n)

    plain, pool = run(), Recording()
    with shared_pool(pool, 3):
        shared = run()
    assert pool.chunks, "the check did not use the shared pool"
    assert _without_times(shared) == _without_times(plain)


def test_a_chunk_size_off_by_one_is_caught(monkeypatch):
    """pool_chunks with n // parts instead of the ceiling (70 specs, 3 parts, no minimum): four
    chunks of 23, 23, 23, 1 where the ceiling gives 24, 24, 22: the size assertions of
    test_the_chunks_cover_every_spec_once_in_order see the difference."""
    monkeypatch.setattr(runner, "MIN_SHARE", 1)
    pool = Recording()

    def floor_chunks(n, executor):
        shared = runner.SHARED_POOL.get()
        return shared[0], n // shared[1], True

    monkeypatch.setattr(runner, "pool_chunks", floor_chunks)
    with shared_pool(pool, 3):
        check_claim("exact_pgd.iterations", "quick", 0, n=70)
    assert [len(c) for c in pool.chunks] == [23, 23, 23, 1]
    assert [len(c) for c in pool.chunks] != [-(-70 // 3)] * 2 + [70 - 2 * -(-70 // 3)]


def test_the_claims_that_share_the_pool():
    load_all()
    assert all(shares_pool(cid) for cid in THEOREM_CLAIMS)
    assert shares_pool("saddle_attack.byzantine_pgd_escapes")
    assert shares_pool("end_to_end.grad_norm_independent")
    assert not shares_pool("monitor.descent") and not shares_pool("parameters.exponents")


def test_parts_must_be_positive():
    with pytest.raises(ValueError, match="parts"), shared_pool(SerialExecutor(), 0):
        pass


def test_verify_with_two_workers_reports_what_one_process_reports(tmp_path):
    """byzpgd verify's pool path (theorem claims' chunks on the workers, in a thread of the main
    process) against its one-process path: every field but the times."""
    claims = "exact_pgd.iterations,exact_pgd.lambda_min,parameters.exponents"
    one = verify(claims, profile="quick", seed=2, jobs=1)
    two = verify(claims, profile="quick", seed=2, jobs=2)
    assert [c.id for c in one.claims] == [c.id for c in two.claims]
    for a, b in zip(one.claims, two.claims, strict=True):
        assert _without_times(a) == _without_times(b)
        assert "instance_seconds" not in (b.details or {})


def test_verify_with_only_shared_claims_keeps_its_workers():
    """The pool's workers are started by the main thread: a worker started from a shared
    claim's thread died with that thread (PR_SET_PDEATHSIG is per thread), and the other shared
    claim's chunk with it (BrokenProcessPool, an 'error' claim)."""
    report = verify("byzantine_pgd.grad_norm,byzantine_pgd.lambda_min", profile="quick", seed=0, jobs=2)
    assert [c.status for c in report.claims] == ["holds", "holds"], [c.error_examples for c in report.claims]


def test_an_interrupt_wrapped_by_compiled_code_is_passed_on_not_an_error(monkeypatch):
    """A Ctrl-C that lands in numba's dispatcher comes back as a SystemError whose cause is the
    KeyboardInterrupt; run_check passes the interrupt on instead of reporting an 'error' claim."""
    from byzpgd.properties import registry

    def interrupted(profile, seed, progress=None):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise SystemError("returned a result with an exception set") from exc

    def plain_failure(profile, seed, progress=None):
        raise SystemError("a check that really failed")

    monkeypatch.setitem(registry.CHECKS, "exact_pgd.iterations", interrupted)
    with pytest.raises(KeyboardInterrupt):
        registry.run_check("exact_pgd.iterations", "quick", 0)
    monkeypatch.setitem(registry.CHECKS, "exact_pgd.iterations", plain_failure)
    assert registry.run_check("exact_pgd.iterations", "quick", 0).status == "error"
