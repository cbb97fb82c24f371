"""Reports: report.md / report.html rendered from a typed Report of ClaimResults (self-contained
HTML with figures, escaped), written atomically as a set, deterministic in the profile and seed;
reports draw given data and import no layer that runs anything."""

import ast
import json
import math
import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from byzpgd import cli
from byzpgd.experiments.figures import escape_illustration
from byzpgd.properties.result import BinomialTest, ClaimResult, Fit, GroupRow, Violation
from byzpgd.reports import FILES, json_report, plots, render_all, write_all
from byzpgd.reports.html import render_html
from byzpgd.reports.json_report import without_timings
from byzpgd.reports.markdown import fit_rows, render_markdown, worst_adversary
from byzpgd.reports.model import Report

ROOT = Path(__file__).resolve().parents[1]
FAST = "byzantine_pgd.iterations,exact_pgd.iterations"   # the two fastest claim checks
REPLAY = "byzpgd replay saddle_attack.trapped '{\"seed\": 3}'"
ENV = {"python": "3.11.7", "packages": {"numpy": "2.0.0", "scipy": "1.14.0"}}


def _result(**kw) -> ClaimResult:
    base = dict(id="byzantine_pgd.grad_norm", statement="||grad F|| <= 4 Delta", source="Theorem 1",
                provenance="POSTER", kind="deterministic", formula="grad_norm <= 4*Delta",
                status="holds", instances=50, nonvacuous_instances=45, outside_hypotheses=3,
                violations=0, worst_ratio=0.89, empirical_constant=3.58, claim_constant=4.0,
                seconds=0.8)
    return ClaimResult(**{**base, **kw})


def _rate_fits() -> dict[str, Fit]:
    return {"n": Fit(slope=-0.51, expected=-0.5, tolerance=0.2, constant=0.94,
                     points={"x": [25.0, 100.0, 400.0, 1600.0], "y": [0.19, 0.091, 0.046, 0.023]}),
            "d": Fit(slope=0.48, expected=1.0, tolerance=0.2, constant=0.026,
                     points={"x": [4.0, 16.0, 64.0], "y": [0.05, 0.1, 0.19]})}


def _claims() -> list[ClaimResult]:
    """One claim of each situation: holds; probabilistic with a binomial test and per-adversary
    rows (one with extras); violated with an infinite ratio, a worst violation and its replay;
    a rate claim with fits; a crashed check; hostile text in an id and in the details."""
    return [
        _result(),
        _result(id="exact_pgd.lambda_min", kind="probabilistic", worst_ratio=-1.57,
                empirical_constant=0.0, binomial=BinomialTest.of(0, 50, 0.1),
                adversaries={"trap": GroupRow(6, 6, 0, -1.2, {"escapes": 5}),
                             "search": GroupRow(6, 5, 0, -2.0)}),
        _result(id="saddle_attack.trapped", kind="construction", status="violated", violations=2,
                worst_ratio=float("inf"),
                adversaries={"sign_flip": GroupRow(10, 10, 0, 0.3),
                             "alie": GroupRow(10, 10, 2, float("inf"))},
                worst_violation=Violation(2.0, 1.0, 2.0, "escaped", REPLAY), replay=REPLAY),
        _result(id="aggregator.median.rate", kind="rate", provenance="CONFIRMED-INDIRECT",
                claim_constant=None, fits=_rate_fits(), details={"worst_attack": "alie"}),
        _result(id="broken.check", status="error", instances=0, nonvacuous_instances=0, errors=1,
                worst_ratio=None, empirical_constant=None,
                error_examples=({"error": "RuntimeError: boom <b>", "traceback": "tb",
                                 "spec": {"seed": 1}},)),
        _result(id="symbolic.only <script>alert(1)</script>", kind="symbolic", worst_ratio=None,
                details={"mystery": {"nested": [1, {"deep": None}], "text": "<i>x</i>"},
                         "subchecks": [{"name": "a", "holds": True}, {"name": "b", "holds": True}]}),
    ]


def _report(claims=None, illustration=None) -> Report:
    return Report("quick", 0, "byzpgd verify --profile quick --seed 0 --out r",
                  _claims() if claims is None else claims, ENV, 1.0, {"pytest": {"tests": 3}},
                  illustration)


def _external_refs(html: str) -> list[str]:
    """Every src/href that would make a viewer fetch something (not data: nor an in-page #)."""
    refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", html, flags=re.I)
    return [r for r in refs if not (r.startswith("data:") or r.startswith("#"))]


@pytest.fixture(scope="module")
def illustration():
    return escape_illustration()


@pytest.fixture(scope="module")
def texts():
    rep = _report()
    return {"report.md": render_markdown(rep), "report.html": render_html(rep)}


# --- HTML -------------------------------------------------------------------------------------
def test_html_is_self_contained_with_three_figures(illustration):
    html = render_html(_report(illustration=illustration))
    assert _external_refs(html) == []
    assert not re.search(r"<(script|link|iframe|object|embed)\b", html, flags=re.I)
    assert not re.search(r"url\(|@import", html)
    images = re.findall(r'<img [^>]*src="data:image/png;base64,[A-Za-z0-9+/=]+"', html)
    assert len(images) == 3      # tightness, rate fits, escape trajectories
    for section in ("Tightness per claim", "rate fits", "Escape trajectories",
                    "CosineSaddle.random(2", "T_th=12"):
        assert section in html


def test_the_illustration_is_drawn_only_when_carried_and_wanted(illustration, texts):
    assert "this report carries no illustration data" in texts["report.html"]
    skipped = render_html(_report(illustration=illustration), escape_illustration=False)
    assert "skipped for this report" in skipped and "CosineSaddle.random(2" not in skipped
    assert len(re.findall(r"<img ", skipped)) == 2


def test_html_escapes_report_values(texts):
    html = texts["report.html"]
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "RuntimeError: boom &lt;b&gt;" in html
    assert "&lt;i&gt;x&lt;/i&gt;" in html


def test_html_shows_the_documented_fields_of_every_claim(texts):
    html = texts["report.html"]
    for c in _claims():
        assert f"<code>{c.id.split(' ')[0]}" in html
        for key in c.details:
            assert f"<th>{key}</th>" in html
    assert "POSTER" in html and "Theorem 1" in html and "grad_norm &lt;= 4*Delta" in html
    assert "50 checked, 45 non-vacuous,\n3 outside the hypotheses" in html
    assert "0 failures / 50 trials" in html                       # the binomial test
    assert "observed 2 &gt; bound 1\n(ratio 2); escaped" in html   # the worst violation
    assert html.count(f"<pre>{REPLAY.replace(chr(39), '&#39;').replace(chr(34), '&#34;')}</pre>") == 1
    assert "<th>escapes</th>" in html                             # GroupRow.extra as a column
    assert "spec: <code>{&#34;seed&#34;: 1}</code>" in html        # an error's spec
    assert "<td>a</td><td class=num>yes</td>" not in html          # bools are not numbers
    assert "<td>a</td><td>yes</td>" in html                        # details records as a table


def test_a_failing_figure_does_not_cost_the_report(monkeypatch):
    def boom(*a):
        raise RuntimeError("no figure")
    monkeypatch.setattr(plots, "tightness_plot", boom)
    html = render_html(_report())
    assert "the figure could not be drawn (RuntimeError: no figure)" in html
    assert "Per adversary" in html and "aggregator.median.rate" in html


# --- Markdown ---------------------------------------------------------------------------------
def test_markdown_summary_violations_and_environment(texts):
    md = texts["report.md"]
    header = next(line for line in md.splitlines() if line.startswith("| claim "))
    for col in ("kind", "provenance", "status", "instances", "non-vacuous", "outside hypotheses",
                "failures", "worst ratio", "empirical / claim", "seconds"):
        assert col in header
    table = [line for line in md.splitlines() if line.startswith("| `")]
    assert len({len(line) for line in table[:6]}) == 1              # columns line up in a terminal
    assert "| 3.58 / 4 " in md and "**VIOLATED**" in md and "**ERROR**" in md
    assert f"```sh\n{REPLAY}\n```" in md and md.count(REPLAY) == 1
    assert "Worst violation: observed 2 > bound 1 (ratio 2); escaped." in md
    assert "RuntimeError: boom <b>" in md
    assert "## Environment" in md and "- packages: numpy 2.0.0, scipy 1.14.0" in md
    row = next(line for line in md.splitlines()
               if line.startswith("| `saddle_attack.trapped`") and "alie" in line)
    assert re.sub(r"\s+", " ", row) == "| `saddle_attack.trapped` | 2 | `alie` | ∞ | `alie` |"
    assert "`mystery`, `subchecks`" in md and "`worst_attack`" in md


def test_worst_adversary_reads_the_group_rows():
    by_id = {c.id: c for c in _claims()}
    assert worst_adversary(by_id["exact_pgd.lambda_min"]) == ("trap", -1.2)
    assert worst_adversary(by_id["saddle_attack.trapped"]) == ("alie", float("inf"))
    assert worst_adversary(by_id["byzantine_pgd.grad_norm"]) == (None, None)
    nan_row = replace(by_id["exact_pgd.lambda_min"],
                      adversaries={"a": GroupRow(1, 1, 0, float("nan")), "b": GroupRow(1, 1, 0, 0.5)})
    assert worst_adversary(nan_row) == ("b", 0.5)


# --- figures read the typed fields ------------------------------------------------------------
def test_rate_fits_are_read_from_claim_result_fits():
    rows = fit_rows(_claims())
    assert rows == [["aggregator.median.rate", "n", 4, -0.51, -0.5, 0.2,
                     "slope -0.51 <= -0.5 + 0.2: holds (one-sided)", 0.94],
                    ["aggregator.median.rate", "d", 3, 0.48, 1.0, 0.2,
                     "slope 0.48 <= 1 + 0.2: holds (one-sided)", 0.026]]
    unfitted = _result(id="aggregator.x.rate", kind="rate")
    assert fit_rows([unfitted]) == [["aggregator.x.rate", "(no fit in the result)", 0, None, None,
                                     None, "—", None]]
    html = render_html(_report([unfitted]))
    assert "carry no fit with points" in html and len(re.findall(r"<img ", html)) == 1
    no_rates = _report([_result()])
    assert "no rate-kind claim with fitted points" in render_html(no_rates)
    assert "Rate fits" not in render_markdown(no_rates)


def test_the_rate_plot_draws_the_fit_it_is_given_and_fits_nothing(monkeypatch):
    claims = [c for c in _claims() if c.fits]

    def no_fitting(*a, **k):
        raise AssertionError("reports must not fit")
    monkeypatch.setattr(np, "polyfit", no_fitting)
    monkeypatch.setattr(np.linalg, "lstsq", no_fitting)
    first = plots.rate_fit_plot(claims)
    assert first is not None and first == plots.rate_fit_plot(claims)     # deterministic bytes
    moved = {"n": replace(_rate_fits()["n"], constant=9.4), "d": _rate_fits()["d"]}
    assert plots.rate_fit_plot([replace(claims[0], fits=moved)]) != first  # the line is C·x^s
    pointless = {"n": Fit(slope=-0.5, points={"x": [], "y": []})}
    assert plots.rate_fit_plot([replace(claims[0], fits=pointless)]) is None


def test_the_tightness_plot_reads_worst_ratios_per_claim_and_per_adversary():
    claims = _claims()
    first = plots.tightness_plot(claims)
    assert first == plots.tightness_plot(claims)
    lam = claims[1]
    moved_adv = replace(lam, adversaries={**lam.adversaries, "search": GroupRow(6, 5, 0, 0.5)})
    assert plots.tightness_plot([*claims[:1], moved_adv, *claims[2:]]) != first
    assert plots.tightness_plot([replace(claims[0], worst_ratio=0.1), *claims[1:]]) != first
    # read back from report.json (where non-finite ratios are the strings 'inf'/'nan'): floats again
    back = [ClaimResult.from_json(c.to_json()) for c in claims]
    assert claims[2].to_json()["worst_ratio"] == "inf"
    assert back[2].worst_ratio == math.inf and plots.tightness_plot(back) == first
    assert plots.tightness_plot([]) is None


# --- layering: reports draw, they run nothing -------------------------------------------------
FORBIDDEN = ("byzpgd.algorithms", "byzpgd.oracles", "byzpgd.experiments", "byzpgd.properties.suites",
             "byzpgd.audit")
ALLOWED_PROPERTIES = ("byzpgd.properties.result", "byzpgd.properties.profiles")


def _imports(path: Path) -> list[str]:
    """Absolute names of the modules a reports/ module imports (relative ones resolved)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "byzpgd" if node.level == 2 else "byzpgd.reports" if node.level == 1 else ""
            mod = ".".join(p for p in (base, node.module or "") if p)
            names += [mod, *(f"{mod}.{a.name}" for a in node.names)]
    return names


def test_reports_import_no_layer_that_runs_anything():
    files = sorted((ROOT / "reports").glob("*.py"))
    assert {"html.py", "markdown.py", "plots.py", "figures.py"} <= {f.name for f in files}
    bad = {}
    for f in files:
        for name in _imports(f):
            props = name.startswith("byzpgd.properties") and not name.startswith(ALLOWED_PROPERTIES)
            typed = name.startswith("byzpgd.audit.result")     # the audit's result types (data only)
            if props or (name.startswith(FORBIDDEN) and not typed) or name == "matplotlib.pyplot":
                bad.setdefault(f.name, []).append(name)
    assert bad == {}


def test_the_import_check_sees_relative_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("from ..experiments.figures import x\nfrom .plots import png\nimport numpy\n")
    assert _imports(f) == ["byzpgd.experiments.figures", "byzpgd.experiments.figures.x",
                           "byzpgd.reports.plots", "byzpgd.reports.plots.png", "numpy"]


# --- atomicity ---------------------------------------------------------------------------------
def _listing(d):
    return sorted(os.listdir(d))


@pytest.fixture(scope="module")
def small_report():
    return _report([_result()])


def test_write_all_writes_the_three_files(tmp_path, small_report):
    paths = write_all(tmp_path, small_report, escape_illustration=False)
    assert [p.name for p in paths] == list(FILES) and _listing(tmp_path) == sorted(FILES)
    assert json.loads((tmp_path / "report.json").read_text()) == small_report.to_json()
    assert (tmp_path / "report.md").read_text() == render_markdown(small_report)
    assert oct((tmp_path / "report.md").stat().st_mode & 0o777) != oct(0o600)


@pytest.mark.parametrize("stage_of_failure", ["render", "stage", "commit"])
@pytest.mark.parametrize("old_report", [True, False])
def test_a_failed_write_leaves_the_old_report_or_none(tmp_path, monkeypatch, small_report, stage_of_failure,
                                                      old_report):
    if old_report:
        write_all(tmp_path, small_report, escape_illustration=False)
    before = {n: (tmp_path / n).read_bytes() for n in _listing(tmp_path)}
    new = replace(small_report, claims=[replace(small_report.claims[0], status="violated")])

    if stage_of_failure == "render":
        import byzpgd.reports.html as html_mod
        monkeypatch.setattr(html_mod, "render_html", lambda *a, **k: 1 / 0)
    elif stage_of_failure == "stage":
        real_stage = json_report.stage

        def stage(path, text):
            if path.name == "report.html":
                raise OSError("disk full")
            return real_stage(path, text)
        monkeypatch.setattr("byzpgd.reports.stage", stage)
    else:
        real_commit = json_report.commit

        def commit(tmp, path):   # the second file fails after the first was moved in place
            if path.name == "report.md":
                raise KeyboardInterrupt
            return real_commit(tmp, path)
        monkeypatch.setattr("byzpgd.reports.commit", commit)
    with pytest.raises((ZeroDivisionError, OSError, KeyboardInterrupt)):
        write_all(tmp_path, new, escape_illustration=False)
    assert {n: (tmp_path / n).read_bytes() for n in _listing(tmp_path)} == before   # no temp file either


def test_render_all_is_deterministic(small_report):
    assert render_all(small_report) == render_all(small_report)


# --- verify: the three files, determinism -------------------------------------------------------
def _verify(out, seed):
    rc = cli.main(["verify", "--profile", "quick", "--claims", FAST, "--seed", str(seed), "--out", str(out),
                   "--quiet", "--jobs", "1"])
    return rc, json.loads((out / "report.json").read_text())


def test_verify_is_deterministic_in_profile_and_seed(tmp_path):
    rc1, first = _verify(tmp_path / "a", 1)
    rc2, second = _verify(tmp_path / "a", 1)     # same folder: the command is the same too
    _, other = _verify(tmp_path / "b", 2)
    assert rc1 == rc2 == 0
    assert _listing(tmp_path / "a") == sorted(FILES)
    assert "seconds" in first and all("seconds" in c for c in first["claims"])
    assert without_timings(first) == without_timings(second)
    out_a = tmp_path / "a"
    assert first["command"] == f"byzpgd verify --profile quick --seed 1 --claims {FAST} --out {out_a}"
    # another seed draws other instances
    differs = [a["id"] for a, b in zip(first["claims"], other["claims"], strict=True)
               if without_timings(a) != without_timings(b)]
    assert differs
    md = (tmp_path / "a" / "report.md").read_text()
    assert "`byzantine_pgd.iterations`" in md and "`exact_pgd.iterations`" in md
    html = (tmp_path / "a" / "report.html").read_text()
    assert "no rate-kind claim with fitted points" in html


def test_verify_progress_goes_to_stderr_unless_quiet(tmp_path, capsys):
    cli.main(["verify", "--profile", "quick", "--claims", "exact_pgd.iterations", "--out", str(tmp_path),
              "--jobs", "1"])
    err = capsys.readouterr().err
    assert "[1/1] exact_pgd.iterations: holds (50 instances" in err and "report.html" in err
    cli.main(["verify", "--profile", "quick", "--claims", "exact_pgd.iterations", "--out", str(tmp_path),
              "--jobs", "1", "--quiet"])
    assert capsys.readouterr().err == ""
