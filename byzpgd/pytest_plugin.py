"""pytest plugin: ``pytest --byzpgd-report DIR`` writes the same report.json / report.md /
report.html as ``byzpgd verify --out DIR`` at the end of a test run.

Options: ``--byzpgd-report DIR``, ``--byzpgd-profile NAME`` (default: the ``--hypothesis-profile``
if it names a byzpgd profile, else byzpgd's default, 'ci'), ``--byzpgd-seed N`` (default 0),
``--byzpgd-claims ID,...`` (default: every registered claim).

Every claim of the report is obtained exactly as ``byzpgd verify`` obtains it, by
:func:`byzpgd.properties.registry.run_check` ``(claim, profile, seed)``; the work the tests did
is reused where it is provably the same:

1. *Recording.* While a report is requested, :func:`byzpgd.properties.runner.check_claim` is
   wrapped (before conftest and test modules import it). Each *plain* call made by a test (no
   ``algorithm``/``constant``/``n`` or other override away from its default, i.e. not an
   able-to-fail run), from a test that does not use ``monkeypatch``, is recorded with its
   (claim, profile, seed) and its entry travels with the test's report (``user_properties``), so
   this also works under pytest-xdist.
2. *Serving.* At session end the registered checks run through ``run_check``; when a check makes
   a plain ``check_claim`` call whose (claim, profile, seed) a test recorded, the recorded entry
   is returned instead of recomputing it. Whatever the check does around that call (other calls,
   post-processing) still runs, so the entry is the one ``byzpgd verify`` computes (check_claim
   is deterministic in its arguments), apart from timings. Claims whose checks do not go through
   check_claim are simply computed.

The report's ``pytest`` field says which claims were served from the tests. If a claim does not
hold, the session's exit status becomes 1 (as ``byzpgd verify``'s would), unless tests already
failed. Enable with ``-p byzpgd.pytest_plugin`` or through the ``pytest11`` entry point.
"""

from __future__ import annotations

import copy
import inspect
import json
import math
import shlex
import time

import pytest

_PROP = "byzpgd_claim_entry"
_recorded: list[dict] = []       # plain calls of the running test
_served: list[dict] = []         # entries served from the tests during one run_check
_serve_from: dict | None = None  # (claim, profile, seed) -> entry, while serving
_original_check_claim = None


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


# --- the check_claim wrapper -------------------------------------------------------------------
def _is_default(value, default) -> bool:
    try:
        return value is default or bool(value == default)
    except Exception:  # e.g. arrays: not a default
        return False


def _install_recorder() -> None:
    """Wrap runner.check_claim: record plain calls (in tests), serve recorded entries (at
    session end)."""
    global _original_check_claim
    from .properties import runner

    if _original_check_claim is not None:
        return
    original = _original_check_claim = runner.check_claim
    sig = inspect.signature(original)
    plain_args = ("claim_id", "profile", "seed", "progress")

    def check_claim(*args, **kwargs):
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError:
            return original(*args, **kwargs)
        plain = all(_is_default(v, sig.parameters[k].default)
                    for k, v in bound.arguments.items() if k not in plain_args)
        bound.apply_defaults()
        key = (bound.arguments["claim_id"], bound.arguments["profile"], int(bound.arguments["seed"]))
        if plain and _serve_from is not None and key in _serve_from:
            entry = copy.deepcopy(_serve_from[key])
            _served.append(entry)
            return entry
        entry = original(*args, **kwargs)
        if plain and _serve_from is None:
            _recorded.append({"claim": key[0], "profile": key[1], "seed": key[2], "entry": entry})
        return entry

    check_claim.__doc__ = original.__doc__
    check_claim.__wrapped__ = original
    runner.check_claim = check_claim


def _uninstall_recorder() -> None:
    global _original_check_claim
    if _original_check_claim is not None:
        from .properties import runner
        runner.check_claim = _original_check_claim
        _original_check_claim = None


def _to_json(x):
    if hasattr(x, "item"):
        return x.item()
    if hasattr(x, "tolist"):
        return x.tolist()
    raise TypeError(f"not JSON-serialisable: {type(x).__name__}")


# --- hooks ---------------------------------------------------------------------------------------
def pytest_load_initial_conftests(early_config, parser, args):
    """Install the wrapper as early as possible (for -p and entry-point loading), before any
    conftest or test module imports check_claim."""
    if getattr(early_config.known_args_namespace, "byzpgd_report", None):
        _install_recorder()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    if not _enabled(config):
        return
    report_profile(config)  # usage errors early
    _install_recorder()
    config.pluginmanager.register(_Session(config), "byzpgd-report-session")


def pytest_unconfigure(config):
    _uninstall_recorder()


class _Session:
    """Per-session state: attaches the plain check_claim entries of each test to its report (in
    the process running it) and collects them (in the controller, or the only process)."""

    def __init__(self, config):
        self.config = config
        self.collected: dict[tuple, dict] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        _recorded.clear()
        yield
        # a test that monkeypatches may have changed what check_claim runs: not reused
        if "monkeypatch" not in getattr(item, "fixturenames", ()):
            for rec in _recorded:  # JSON text: survives pytest-xdist's serialisation
                item.user_properties.append((_PROP, json.dumps(rec, default=_to_json)))
        _recorded.clear()

    def pytest_runtest_logreport(self, report):
        for name, value in getattr(report, "user_properties", None) or []:
            if name == _PROP:
                rec = json.loads(value)
                self.collected.setdefault((rec["claim"], rec["profile"], rec["seed"]), rec["entry"])

    def pytest_sessionfinish(self, session, exitstatus):
        if not hasattr(self.config, "workerinput"):
            _write_report(session, exitstatus, self.collected)


def _say(config, msg: str) -> None:
    if config.getoption("verbose", 0) < 0:
        return
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is not None:
        tr.write_line(msg)


def _run_check_served(claim_id: str, profile: str, seed: int, collected: dict) -> tuple[dict, bool]:
    """run_check, answering plain check_claim calls from the tests' entries; the run time of a
    served entry is the time the test spent on it."""
    global _serve_from
    from .properties.registry import run_check

    _served.clear()
    _serve_from = collected
    try:
        entry = run_check(claim_id, profile, seed)
    finally:
        _serve_from = None
    served = list(_served)
    _served.clear()
    if served:
        extra = sum(float(e.get("seconds") or 0.0) for e in served
                    if isinstance(e.get("seconds"), (int, float)) and math.isfinite(e["seconds"]))
        entry["seconds"] = round(float(entry.get("seconds") or 0.0) + extra, 3)
    return entry, bool(served)


def _write_report(session, exitstatus, collected: dict) -> None:
    config = session.config
    from .properties.registry import claim_ids
    from .reports import write_all
    from .reports.json_report import build_report, sanitize

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
    entries, from_tests = [], []
    for k, cid in enumerate(ids, 1):
        entry, served = _run_check_served(cid, profile, seed, collected)
        entry = sanitize(entry)
        if served:
            from_tests.append(cid)
        entries.append(entry)
        worst = entry.get("worst_ratio")
        _say(config, f"[{k}/{len(ids)}] {cid}: {entry.get('status')} "
                     f"({'from the tests' if served else 'computed'}; {entry.get('instances')} instances, "
                     f"{entry.get('nonvacuous_instances')} non-vacuous, {entry.get('violations')} "
                     f"violations, worst ratio {f'{worst:.3g}' if isinstance(worst, float) else worst}, "
                     f"{entry.get('seconds')} s)")
    command = shlex.join(["pytest", *(str(a) for a in config.invocation_params.args)])
    report = build_report(profile, seed, entries, command, seconds=time.perf_counter() - t0,
                          pytest={"claims_from_tests": from_tests,
                                  "claims_computed_at_session_end": [c for c in ids if c not in from_tests],
                                  "tests_exit_status": int(exitstatus)})
    paths = write_all(config.getoption("byzpgd_report"), report)
    _say(config, f"byzpgd report: wrote {', '.join(str(p) for p in paths)}: {report['summary']}")
    if any(e.get("status") != "holds" for e in entries) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
