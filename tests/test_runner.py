"""The theorem-claim runner (byzpgd.properties.runner): instances drawn by the one seeding scheme,
one instance loop with a pluggable executor, and the explicit result-cache hook."""

import numpy as np
import pytest

from byzpgd.experiments.loop import ProcessExecutor
from byzpgd.properties import runner
from byzpgd.properties.result import ClaimResult
from byzpgd.properties.strategies import ADVERSARY_SCHEDULES, SAMPLERS, NumpySource, sample_specs
from byzpgd.seeding import instance_rng

CLAIM = "exact_pgd.iterations"   # the fastest theorem claim (about 0.01 s per instance)


def test_instances_are_drawn_from_the_one_seeding_scheme():
    """Instance i of claim c under seed s is drawn from default_rng([s, i, *c.encode()]), the
    scheme every report so far was produced with (a change here changes every count)."""
    sched = ADVERSARY_SCHEDULES[CLAIM]
    for seed in (0, 7):
        expected = [SAMPLERS[CLAIM](NumpySource(np.random.default_rng([seed, i, *CLAIM.encode()])),
                                    sched[i % len(sched)]) for i in range(4)]
        assert sample_specs(CLAIM, 4, seed) == expected
    assert sample_specs(CLAIM, 2, 0)[1] == SAMPLERS[CLAIM](NumpySource(instance_rng(0, CLAIM, 1)),
                                                           sched[1])
    assert sample_specs(CLAIM, 3, 0) != sample_specs(CLAIM, 3, 1)


def test_a_process_executor_gives_the_serial_result():
    serial = runner.check_claim(CLAIM, "quick", 0, n=6)
    parallel = runner.check_claim(CLAIM, "quick", 0, n=6, executor=ProcessExecutor(2))
    assert parallel.with_seconds(0) == serial.with_seconds(0)
    assert serial.instances + serial.outside_hypotheses == 6


def test_progress_is_reported_per_instance():
    seen = []
    runner.check_claim(CLAIM, "quick", 0, n=3, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


class _Cache:
    def __init__(self, hits=None):
        self.hits, self.lookups, self.records = hits or {}, [], []

    def lookup(self, key):
        self.lookups.append(key)
        return self.hits.get(key)

    def record(self, key, result):
        self.records.append((key, result))


@pytest.fixture
def cache():
    def install(hits=None):
        c = _Cache(hits)
        runner.set_result_cache(c)
        return c
    yield install
    runner.set_result_cache(None)


def test_a_plain_call_is_recorded_and_then_served(cache, monkeypatch):
    c = cache()
    result = runner.check_claim(CLAIM, "quick", 0)
    key = runner.CacheKey(CLAIM, "quick", 0)
    assert c.lookups == [key] and c.records == [(key, result)]
    served = ClaimResult.from_json({**result.to_json(), "details": {"served": True}})
    cache({key: served})
    monkeypatch.setattr(runner, "run_instances", None)   # a served call runs nothing
    assert runner.check_claim(CLAIM, "quick", 0) is served


def _no_algorithm(spec, oracle, w0, rng):
    raise RuntimeError("not run")


@pytest.mark.parametrize("override", [{"n": 3}, {"constant": 1e-6}, {"algorithm": _no_algorithm}])
def test_calls_with_an_override_bypass_the_cache(cache, override):
    c = cache({runner.CacheKey(CLAIM, "quick", 0): "never served"})
    result = runner.check_claim(CLAIM, "quick", 0, **override)
    assert isinstance(result, ClaimResult)
    assert c.lookups == [] and c.records == []


def test_set_result_cache_returns_the_previous_cache():
    a, b = _Cache(), _Cache()
    assert runner.set_result_cache(a) is None
    assert runner.set_result_cache(b) is a
    assert runner.set_result_cache(None) is b
