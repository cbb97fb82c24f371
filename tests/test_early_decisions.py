"""Early decisions (issue 26 item 2, byzpgd.properties.early): a claim stops drawing instances once
its verdict cannot change, and the status is the one --complete gives, on a violated and on a
holding claim; a probabilistic claim stops only when its failures reject at the largest sample it
could still reach (a rule that judged the sample so far would stop wrongly, shown below)."""

from __future__ import annotations

from byzpgd.experiments.loop import InstanceError, Timed, run_instances
from byzpgd.properties.checks import Observation, verdict
from byzpgd.properties.early import EarlyStop, complete_instances
from byzpgd.properties.result import ALPHA_BINOMIAL, BinomialTest
from byzpgd.properties.runner import check_claim
from byzpgd.theory.claims import get
from tests import variants

DELTA = 0.1


def _obs(holds: bool, group: str = "a", **kw) -> Observation:
    spec = {"family": "byzantine_pgd", "adversary": {"name": group}}
    return Observation(observed=2.0 if not holds else 0.5, bound=1.0, ratio=2.0 if not holds else 0.5,
                       holds=holds, vacuous=kw.get("vacuous", False),
                       in_hypotheses=kw.get("in_hypotheses", True), empirical_constant=1.0, spec=spec)


def _group(spec):
    return spec["adversary"]["name"]


def _stop_index(rule: EarlyStop, observations) -> int | None:
    for i, o in enumerate(observations):
        if rule(Timed(o, 0.0)):
            return i
    return None


def _counts(result):
    return (result.status, result.instances, result.nonvacuous_instances, result.violations,
            result.outside_hypotheses, result.errors)


# --- the rule on synthetic observations ----------------------------------------------------------
def test_a_deterministic_claim_stops_at_its_first_violation_inside_the_hypotheses():
    obs = [_obs(True), _obs(False, in_hypotheses=False), _obs(True), _obs(False), _obs(True)]
    rule = EarlyStop("deterministic", [o.spec for o in obs], _group, DELTA)
    assert _stop_index(rule, obs) == 3                  # not at the violation outside the hypotheses
    assert rule.details()["early_decision"]["instances_run"] == 4


def test_an_error_stops_any_claim():
    rule = EarlyStop("probabilistic", [_obs(True).spec] * 5, _group, DELTA)
    assert not rule(Timed(_obs(True), 0.0))
    assert rule(InstanceError({}, "boom", ""))


def test_probabilistic_failures_must_reject_at_the_largest_reachable_sample():
    """Six failures first, then 94 runs that hold: 6/6 rejects on its own (p = 1e-6) but 6/100 does
    not. The rule must not stop there (the complete verdict holds); a rule on the sample so far
    (n = 6) would have stopped with 'violated'."""
    obs = [_obs(False)] * 6 + [_obs(True)] * 94
    specs = [o.spec for o in obs]
    alpha = ALPHA_BINOMIAL / 2                          # one group: G + 1 = 2 tests
    assert BinomialTest.of(6, 6, DELTA, alpha).rejects                      # the naive rule stops
    assert _stop_index(EarlyStop("probabilistic", specs, _group, DELTA), obs) is None
    claim = get("byzantine_pgd.lambda_min")
    assert verdict(claim, obs, [], DELTA).status != "violated"
    assert verdict(claim, obs[:6], [], DELTA).status == "violated"          # what stopping would report


def test_probabilistic_claim_stops_once_the_final_test_must_reject():
    obs = [_obs(False)] * 40 + [_obs(True)] * 60
    specs = [o.spec for o in obs]
    alpha = ALPHA_BINOMIAL / 2
    k = next(k for k in range(101) if BinomialTest.of(k, 100, DELTA, alpha).rejects)
    i = _stop_index(EarlyStop("probabilistic", specs, _group, DELTA), obs)
    assert i == k - 1                                   # stopped at the k-th failure, not before
    claim = get("byzantine_pgd.lambda_min")
    early, full = verdict(claim, obs[:i + 1], [], DELTA), verdict(claim, obs, [], DELTA)
    assert early.status == full.status == "violated"


def test_a_budget_ended_run_stops_the_claim():
    obs = [_obs(True), _obs(True)]
    ended = Observation(0.0, 1.0, 0.0, False, False, True, 0.0, obs[0].spec, budget_ended=True)
    rule = EarlyStop("deterministic", [o.spec for o in obs] * 2, _group, DELTA)
    assert _stop_index(rule, [*obs, ended]) == 2
    assert "budget" in rule.details()["early_decision"]["reason"]


def test_run_instances_stops_when_told_and_runs_nothing_after():
    ran = []

    def fn(spec):
        ran.append(spec)
        return spec

    out = run_instances(list(range(10)), fn, stop=lambda r: r.value == 3)
    assert [r.value for r in out] == [0, 1, 2, 3] and ran == [0, 1, 2, 3]


# --- real claims: early and --complete agree -------------------------------------------------------
def test_a_violated_deterministic_claim_is_violated_early_and_complete():
    early = check_claim("exact_pgd.grad_norm", "quick", seed=0, algorithm=variants.exact_threshold_2eps)
    with complete_instances():
        full = check_claim("exact_pgd.grad_norm", "quick", seed=0, algorithm=variants.exact_threshold_2eps)
    assert early.status == full.status == "violated"
    decided = early.details["early_decision"]
    assert decided["instances_run"] < decided["instances_planned"] == 50
    assert "early_decision" not in full.details and early.violations == 1 <= full.violations


def test_a_violated_probabilistic_claim_is_violated_early_and_complete():
    early = check_claim("exact_pgd.lambda_min", "quick", seed=0, algorithm=variants.exact_no_perturbation)
    with complete_instances():
        full = check_claim("exact_pgd.lambda_min", "quick", seed=0, algorithm=variants.exact_no_perturbation)
    assert early.status == full.status == "violated"
    assert early.details["early_decision"]["instances_run"] < 50


def test_a_holding_claim_runs_every_instance_and_agrees_with_complete():
    early = check_claim("exact_pgd.grad_norm", "quick", seed=0)
    with complete_instances():
        full = check_claim("exact_pgd.grad_norm", "quick", seed=0)
    assert early.status == "holds" and _counts(early) == _counts(full)
    assert "early_decision" not in early.details


# --- a runaway is decided at its smallest theory cap first -----------------------------------------
def test_a_runaway_is_violated_at_the_instance_with_the_smallest_cap(monkeypatch):
    """Early decisions run the instances by theory cap, smallest first: a run that never settles
    reaches that cap at once (a violation), so the claim is decided before any long instance. With
    the spec order instead (the variant), the first instance's cap is astronomically large and the
    runaway meets the wall-clock guard first: 'inconclusive', not 'violated'. Neither outcome
    depends on the machine: the first part runs without a guard (only the first instance runs, and
    its cap stops it), the variant's first instance can never reach its cap, whatever the guard."""
    from byzpgd.experiments import budget
    from byzpgd.properties import runner
    from tests.test_run_budgets import _never_stopping

    monkeypatch.setattr(budget, "INSTANCE_SECONDS", 1e9)
    result = check_claim("byzantine_pgd.grad_norm", "quick", seed=0, algorithm=_never_stopping())
    assert result.status == "violated"
    assert result.details["early_decision"]["instances_run"] == 1
    assert "call cap" in result.worst_violation.note
    monkeypatch.setattr(budget, "INSTANCE_SECONDS", 0.5)
    monkeypatch.setattr(runner, "cap_order", lambda specs: list(range(len(specs))))
    in_spec_order = check_claim("byzantine_pgd.grad_norm", "quick", seed=0, algorithm=_never_stopping())
    assert in_spec_order.status == "inconclusive" and in_spec_order.details["budget_ended"] == 1


def test_cap_order_is_by_theory_cap_and_keeps_ties_in_spec_order():
    from byzpgd.experiments.instances import spec_call_cap
    from byzpgd.properties.runner import cap_order
    from byzpgd.properties.strategies import sample_specs

    specs = sample_specs("byzantine_pgd.grad_norm", 30, 0)
    order = cap_order(specs)
    caps = [spec_call_cap(specs[i]).calls for i in order]
    assert sorted(order) == list(range(30)) and caps == sorted(caps)
    assert all(order[k] < order[k + 1] for k in range(29) if caps[k] == caps[k + 1])
