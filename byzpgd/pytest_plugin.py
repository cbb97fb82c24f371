"""pytest plugin: ``pytest --byzpgd-report DIR`` writes the same report.json / report.md /
report.html as ``byzpgd verify --out DIR`` at the end of a test run.

Options: ``--byzpgd-report DIR``, ``--byzpgd-profile NAME`` (default: the ``--hypothesis-profile``
if it names a byzpgd profile, else byzpgd's default, 'ci'), ``--byzpgd-seed N`` (default 0),
``--byzpgd-claims ID,...`` (default: every registered claim).

Every claim of the report is obtained exactly as ``byzpgd verify`` obtains it, by
:func:`byzpgd.properties.registry.run_check` ``(claim, profile, seed)``; the work the tests did
is reused where it is provably the same, through the result cache hook of
:mod:`byzpgd.properties.runner` (``set_result_cache``):

1. *Recording.* While a report is requested, a recording cache is installed: each *plain*
   :func:`~byzpgd.properties.runner.check_claim` call made by a test (no ``algorithm``,
   ``constant`` or ``n`` override, i.e. not an able-to-fail run), from a test that does not use
   ``monkeypatch``, is recorded with its (claim, profile, seed), and its result travels with
   the test's report (``user_properties``, as JSON), so this also works under pytest-xdist.
2. *Serving.* At session end the registered checks run through ``run_check`` with a serving
   cache: a plain ``check_claim`` call whose (claim, profile, seed) a test recorded returns the
   recorded result instead of recomputing it. Whatever the check does around that call still
   runs, so the result is the one ``byzpgd verify`` computes (check_claim is deterministic in
   its arguments), apart from timings. Claims whose checks do not go through check_claim are
   simply computed.

The report's ``pytest`` field says which claims were served from the tests. If a claim does not
hold, the session's exit status becomes 1 (as ``byzpgd verify``'s would), unless tests already
failed. Enable with ``-p byzpgd.pytest_plugin`` or through the ``pytest11`` entry point.
"""

from __future__ import annotations

import json
import shlex
import time
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported lazily: the plugin loads in every pytest session of the environment
    from .properties.result import ClaimResult
    from .properties.runner import CacheKey

_PROP = "byzpgd_claim_result"


class RecordingCache:
    """A runner.ResultCache that never serves; remembers the plain check_claim results of the
    running test."""

    def __init__(self):
        self.recorded: list[tuple[CacheKey, ClaimResult]] = []

    def lookup(self, key: CacheKey) -> ClaimResult | None:
        return None

    def record(self, key: CacheKey, result: ClaimResult) -> None:
        self.recorded.append((key, result))


class ServingCache:
    """A runner.ResultCache serving the results the tests recorded, by (claim, profile, seed);
    remembers what it served."""

    def __init__(self, collected: dict[tuple, ClaimResult]):
        self.collected = collected
        self.served: list[ClaimResult] = []

    def lookup(self, key: CacheKey) -> ClaimResult | None:
        if not getattr(key, "batched", True):  # only results computed as verify computes them
            return None
        hit = self.collected.get((key.claim_id, key.profile, key.seed))
        if hit is not None:
            self.served.append(hit)
        return hit

    def record(self, key: CacheKey, result: ClaimResult) -> None:
        pass


def pytest_addoption(parser):
    group = parser.getgroup("byzpgd", "byzpgd verification report")
    group.addoption("--byzpgd-report", metavar="DIR", default=None,
                    help="write DIR/report.json, report.md and report.html at the end of the session")
    group.addoption("--byzpgd-profile", metavar="NAME", default=None,
                    help="profile of the report (default: --hypothesis-profile if it is a byzpgd "
                         "profile, else 'ci')")
    group.addoption("--byzpgd-seed", metavar="N", type=int, default=0, help="seed of the report (default 0)")
    group.addoption("--byzpgd-claims", metavar="ID[,ID...]", default=None,
                    help="claims of the report (default: every registered claim)")
    group.addoption("--byzpgd-claims-from", metavar="PATH_OR_MODULE", action="append", default=None,
                    help="load user-declared claims (byzpgd.claims) from a file or module first "
                         "(repeatable); their ids can then be in --byzpgd-claims")


def _enabled(config) -> bool:
    return bool(config.getoption("byzpgd_report", default=None))


def report_profile(config) -> str:
    from .properties.profiles import DEFAULT_PROFILE, PROFILES

    explicit = config.getoption("byzpgd_profile", default=None)
    if explicit:
        if explicit not in PROFILES:
            raise pytest.UsageError(f"--byzpgd-profile must be one of {sorted(PROFILES)}, got {explicit!r}")
        return explicit
    hyp = config.getoption("hypothesis_profile", default=None)
    return hyp if hyp in PROFILES else DEFAULT_PROFILE


# --- hooks ---------------------------------------------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    if not _enabled(config):
        return
    report_profile(config)  # usage errors early
    from .properties.user import load_claims_from
    for source in config.getoption("byzpgd_claims_from") or ():
        try:
            load_claims_from(source)
        except Exception as exc:
            raise pytest.UsageError(f"--byzpgd-claims-from {source}: {type(exc).__name__}: {exc}") from None
    config.pluginmanager.register(_Session(config), "byzpgd-report-session")


class _Session:
    """Per-session state: attaches the plain check_claim results of each test to its report (in
    the process running it) and collects them (in the controller, or the only process)."""

    def __init__(self, config):
        self.config = config
        self.collected: dict[tuple, ClaimResult] = {}   # (claim, profile, seed) -> result

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        from .properties import runner

        cache = RecordingCache()
        previous = runner.set_result_cache(cache)
        try:
            yield
        finally:
            runner.set_result_cache(previous)
        # a test that monkeypatches may have changed what check_claim runs: not reused
        if "monkeypatch" not in getattr(item, "fixturenames", ()):
            for key, result in cache.recorded:  # JSON text: survives pytest-xdist's serialisation
                if not getattr(key, "batched", True):   # not as verify computes it: not reused
                    continue
                item.user_properties.append((_PROP, json.dumps(
                    {"key": [key.claim_id, key.profile, key.seed], "result": result.to_json()})))

    def pytest_runtest_logreport(self, report):
        from .properties.result import ClaimResult

        for name, value in getattr(report, "user_properties", None) or []:
            if name == _PROP:
                rec = json.loads(value)
                self.collected.setdefault(tuple(rec["key"]), ClaimResult.from_json(rec["result"]))

    def pytest_sessionfinish(self, session, exitstatus):
        if not hasattr(self.config, "workerinput"):
            _write_report(session, exitstatus, self.collected)


def _say(config, msg: str) -> None:
    if config.getoption("verbose", 0) < 0:
        return
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is not None:
        tr.write_line(msg)


def _run_check_served(claim_id: str, profile: str, seed: int,
                      collected: dict) -> tuple[ClaimResult, bool]:
    """run_check, answering plain check_claim calls from the tests' results; the run time of a
    served result is the time the test spent on it."""
    from .properties import runner
    from .properties.registry import run_check

    cache = ServingCache(collected)
    previous = runner.set_result_cache(cache)
    try:
        result = run_check(claim_id, profile, seed)
    finally:
        runner.set_result_cache(previous)
    if cache.served:
        result = result.with_seconds(result.seconds + sum(r.seconds for r in cache.served))
    return result, bool(cache.served)


def _write_report(session, exitstatus, collected: dict) -> None:
    config = session.config
    from .cli import illustration
    from .properties.registry import claim_ids
    from .reports import write_all
    from .reports.json_report import build_report
    from .reports.words import counts_text

    t0 = time.perf_counter()
    profile, seed = report_profile(config), config.getoption("byzpgd_seed")
    all_ids = claim_ids()
    wanted = config.getoption("byzpgd_claims")
    ids = wanted.split(",") if wanted else all_ids
    unknown = [c for c in ids if c not in all_ids]
    if unknown:
        _say(config, f"byzpgd report: unknown claim id(s) {unknown}; no report written")
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
        return
    _say(config, "")
    _say(config, f"byzpgd report: {len(ids)} claims, profile {profile}, seed {seed}")
    results, from_tests = [], []
    for k, cid in enumerate(ids, 1):
        result, served = _run_check_served(cid, profile, seed, collected)
        if served:
            from_tests.append(cid)
        results.append(result)
        _say(config, f"[{k}/{len(ids)}] {cid}: {result.status} "
                     f"({'from the tests' if served else 'computed'}; {counts_text(result)}, "
                     f"{result.seconds} s)")
    command = shlex.join(["pytest", *(str(a) for a in config.invocation_params.args)])
    report = build_report(profile, seed, results, command, seconds=time.perf_counter() - t0,
                          illustration=illustration(lambda msg: _say(config, msg)),
                          extra={"pytest": {
                              "claims_from_tests": from_tests,
                              "claims_computed_at_session_end": [c for c in ids
                                                                 if c not in from_tests],
                              "tests_exit_status": int(exitstatus)}})
    paths = write_all(config.getoption("byzpgd_report"), report)
    _say(config, f"byzpgd report: wrote {', '.join(str(p) for p in paths)}: {report.summary}")
    if not report.ok and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
