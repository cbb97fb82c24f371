"""Reports: report.json / report.md / report.html from `byzpgd verify` (self-contained HTML with
figures, robust to unknown entry keys, escaped), written atomically as a set, and deterministic
in the profile and seed."""

import copy
import json
import os
import re

import pytest

from byzpgd import cli
from byzpgd.reports import FILES, json_report, plots, render_all, write_all
from byzpgd.reports.html import render_html
from byzpgd.reports.json_report import build_report, without_timings
from byzpgd.reports.markdown import render_markdown

FAST = "byzantine_pgd.iterations,exact_pgd.iterations"   # the two fastest claim checks


def _entry(**kw):
    base = {"id": "byzantine_pgd.grad_norm", "statement": "||grad F|| <= 4 Delta", "source": "Theorem 1",
            "provenance": "POSTER", "kind": "deterministic", "formula": "grad_norm <= 4*Delta",
            "status": "holds", "instances": 50, "nonvacuous_instances": 45, "violations": 0,
            "worst_ratio": 0.89, "empirical_constant": 3.58, "paper_constant": 4.0, "seconds": 0.8}
    return {**base, **kw}


def _rich_report():
    """Entries of every shape the suites produce or may produce: adversaries as a list or as a
    dict of records, rate slopes, a violation with a replay, an error, unknown nested keys,
    'inf' strings, None values, and missing optional keys."""
    claims = [
        _entry(),
        _entry(id="exact_pgd.lambda_min", kind="probabilistic", worst_ratio=-1.57, empirical_constant=0.0,
               binomial={"failures": 0, "trials": 50, "delta": 0.1, "p_value": 1.0, "reject_below": 1e-6},
               adversaries={"trap": {"instances": 6, "violations": 0, "worst_ratio": -1.2},
                            "search": {"instances": 6, "violations": 0, "worst_ratio": -2.0}}),
        _entry(id="saddle_attack.trapped", kind="construction", status="violated", violations=2,
               worst_ratio="inf", adversaries=["sign_flip", "alie"],
               worst_ratio_by_adversary={"sign_flip": 0.3, "alie": "inf"},
               replay="byzpgd replay saddle_attack.trapped '{\"seed\": 3}'",
               worst_violation={"observed": 2.0, "bound": 1.0, "ratio": 2.0, "note": "",
                                "replay": "byzpgd replay saddle_attack.trapped '{\"seed\": 3}'"}),
        _entry(id="aggregator.median.rate", kind="rate", provenance="CONFIRMED-INDIRECT", paper_constant=None,
               slopes={"n": {"fitted": -0.51, "theory": -0.5, "tolerance": 0.2, "matches": True,
                             "values": [25.0, 100.0, 400.0, 1600.0], "delta": [0.19, 0.091, 0.046, 0.023]},
                       "d": {"fitted": 0.48, "theory": 1.0, "tolerance": 0.2, "matches": False,
                             "values": [4.0, 16.0, 64.0], "delta": [0.05, 0.1, 0.19]}},
               fitted_constants={"n": 0.94, "d": 0.026}),
        _entry(id="broken.check", status="error", instances=0, nonvacuous_instances=0, worst_ratio=None,
               empirical_constant=None,
               error_examples=[{"error": "RuntimeError: boom <b>", "traceback": "tb"}]),
        {"id": "symbolic.only <script>alert(1)</script>", "status": "holds", "kind": "symbolic",
         "mystery": {"nested": [1, {"deep": None}], "text": "<i>x</i>"}},
    ]
    return build_report("quick", 0, claims, "byzpgd verify --profile quick --seed 0 --out r", seconds=1.0)


def _external_refs(html: str) -> list[str]:
    """Every src/href that would make a viewer fetch something (not data: nor an in-page #)."""
    refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", html, flags=re.I)
    return [r for r in refs if not (r.startswith("data:") or r.startswith("#"))]


@pytest.fixture(scope="module")
def rich_texts():
    return render_all(_rich_report(), escape_illustration=False)


def test_html_is_self_contained_with_three_figures():
    html = render_all(_rich_report())["report.html"]
    assert _external_refs(html) == []
    assert not re.search(r"<(script|link|iframe|object|embed)\b", html, flags=re.I)
    assert not re.search(r"url\(|@import", html)
    images = re.findall(r'<img [^>]*src="data:image/png;base64,[A-Za-z0-9+/=]+"', html)
    assert len(images) >= 3      # tightness, rate fits, escape trajectories
    for section in ("Tightness per claim", "rate fits", "Escape trajectories", "CosineSaddle.random(2"):
        assert section in html


def test_html_escapes_report_values(rich_texts):
    html = rich_texts["report.html"]
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "RuntimeError: boom &lt;b&gt;" in html
    assert "&lt;i&gt;x&lt;/i&gt;" in html


def test_every_claim_and_every_key_is_rendered(rich_texts):
    html, md = rich_texts["report.html"], rich_texts["report.md"]
    report = _rich_report()
    for c in report["claims"]:
        assert c["id"].split(" ")[0] in html and c["id"].split(" ")[0] in md
        for key in c:
            if key not in ("id", "status", "seconds"):
                assert f"<th>{key}</th>" in html or key in ("statement", "source", "provenance", "kind",
                                                          "formula", "instances", "nonvacuous_instances",
                                                          "violations", "worst_ratio", "empirical_constant",
                                                          "paper_constant", "binomial", "replay",
                                                          "worst_violation", "error_examples"), key
    assert "POSTER" in html and "Theorem 1" in html and "grad_norm &lt;= 4*Delta" in html  # provenance etc.
    assert html.count("<pre>byzpgd replay saddle_attack.trapped") == 1      # deduplicated
    assert "`mystery`" in md and "`worst_ratio_by_adversary`" in md


def test_markdown_summary_violations_and_environment(rich_texts):
    md = rich_texts["report.md"]
    header = next(line for line in md.splitlines() if line.startswith("| claim "))
    for col in ("kind", "provenance", "status", "instances", "non-vacuous", "violations", "worst ratio",
                "empirical / paper", "seconds"):
        assert col in header
    table = [line for line in md.splitlines() if line.startswith("| `")]
    assert len({len(line) for line in table[:6]}) == 1              # columns line up in a terminal
    assert "| 3.58 / 4 " in md and "**VIOLATED**" in md and "**ERROR**" in md
    assert "```sh\nbyzpgd replay saddle_attack.trapped '{\"seed\": 3}'\n```" in md
    assert "RuntimeError: boom <b>" in md
    assert "## Environment" in md and "numpy" in md
    row = next(line for line in md.splitlines()
               if line.startswith("| `saddle_attack.trapped`") and "alie" in line)
    assert re.sub(r"\s+", " ", row) == "| `saddle_attack.trapped` | 2 | `alie` | inf | none |"


def test_per_adversary_breakdowns_in_any_shape():
    rep = _rich_report()
    by_id = {c["id"]: c for c in rep["claims"]}
    assert plots.per_adversary_ratios(by_id["exact_pgd.lambda_min"]) == {"trap": -1.2, "search": -2.0}
    assert plots.per_adversary_ratios(by_id["saddle_attack.trapped"]) == {"sign_flip": 0.3,
                                                                          "alie": float("inf")}
    assert plots.per_adversary_ratios(by_id["byzantine_pgd.grad_norm"]) == {}
    assert rep["adversaries"] == ["alie", "search", "sign_flip", "trap"]


def test_rate_fits_are_read_from_the_entries_and_never_invented():
    rep = _rich_report()
    fits = plots.rate_fits(rep["claims"])
    assert [(f["label"], f["slope"], f["expected_slope"], f["constant"]) for f in fits] == [
        ("slopes.n", -0.51, -0.5, 0.94), ("slopes.d", 0.48, 1.0, 0.026)]
    no_rates = build_report("quick", 0, [_entry()], "cmd")
    assert plots.rate_fits(no_rates["claims"]) == []
    html = render_html(no_rates, escape_illustration=False)
    assert "no rate-kind claim with fitted points" in html
    assert len(re.findall(r"<img ", html)) == 1
    assert "Rate fits" not in render_markdown(no_rates)


def test_a_failing_figure_does_not_cost_the_report(monkeypatch):
    def boom(*a):
        raise RuntimeError("no figure")
    monkeypatch.setattr(plots, "tightness_plot", boom)
    html = render_html(_rich_report(), escape_illustration=False)
    assert "the figure could not be drawn (RuntimeError: no figure)" in html


def test_escape_illustration_is_deterministic_and_escapes():
    a, b = plots.escape_illustration(), plots.escape_illustration()
    bp, rg = a["runs"]["ByzantinePGD"], a["runs"]["robust GD"]
    assert (bp["points"] == b["runs"]["ByzantinePGD"]["points"]).all()
    assert bp["escapes"] >= 1 and bp["lambda_min"] > 0          # left the saddle for a minimum
    assert rg["escapes"] == 0 and rg["lambda_min"] < 0           # stuck at the saddle


# --- atomicity ---------------------------------------------------------------------------------
def _listing(d):
    return sorted(os.listdir(d))


@pytest.fixture(scope="module")
def small_report():
    return build_report("quick", 0, [_entry()], "cmd")


def test_write_all_writes_the_three_files(tmp_path, small_report):
    paths = write_all(tmp_path, small_report, escape_illustration=False)
    assert [p.name for p in paths] == list(FILES) and _listing(tmp_path) == sorted(FILES)
    assert json.loads((tmp_path / "report.json").read_text()) == small_report
    assert oct((tmp_path / "report.md").stat().st_mode & 0o777) != oct(0o600)


@pytest.mark.parametrize("stage_of_failure", ["render", "stage", "commit"])
@pytest.mark.parametrize("old_report", [True, False])
def test_a_failed_write_leaves_the_old_report_or_none(tmp_path, monkeypatch, small_report, stage_of_failure,
                                                      old_report):
    if old_report:
        write_all(tmp_path, small_report, escape_illustration=False)
    before = {n: (tmp_path / n).read_bytes() for n in _listing(tmp_path)}
    new = copy.deepcopy(small_report)
    new["claims"][0]["status"] = "violated"

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
    assert len(re.findall(r"<img ", html)) == 2 and "no rate-kind claim with fitted points" in html


def test_verify_progress_goes_to_stderr_unless_quiet(tmp_path, capsys):
    cli.main(["verify", "--profile", "quick", "--claims", "exact_pgd.iterations", "--out", str(tmp_path),
              "--jobs", "1"])
    err = capsys.readouterr().err
    assert "[1/1] exact_pgd.iterations: holds (50 instances" in err and "report.html" in err
    cli.main(["verify", "--profile", "quick", "--claims", "exact_pgd.iterations", "--out", str(tmp_path),
              "--jobs", "1", "--quiet"])
    assert capsys.readouterr().err == ""
