"""Partial reports (issue 26 item 3): report.json/md/html are rewritten after each finished claim,
marked partial until the run ends; --max-seconds ends the run with a partial report holding every
finished claim (exit 3); an interrupt after a claim finished leaves that partial report, re-marked
'interrupted' (never a report that looks complete). The checks are replaced by instant or hanging
stand-ins (registry.CHECKS), so nothing here depends on the machine's speed."""

from __future__ import annotations

import json
import time

import pytest

from byzpgd import cli
from byzpgd.properties import registry
from byzpgd.properties.result import ClaimResult
from byzpgd.reports.model import Report
from byzpgd.theory.claims import get

registry.load_all()
FAST, SLOW, LAST = [c for c in registry.claim_ids() if c.startswith("parameters.")][:3]


def _instant(claim_id):
    def check(profile, seed, progress=None):
        return ClaimResult(**{**ClaimResult.crashed(get(claim_id), "x").__dict__, "status": "holds",
                              "errors": 0, "error_examples": ()})
    return check


def _hangs(profile, seed, progress=None):
    time.sleep(600)
    raise AssertionError("never reached: the run ends before")


def _interrupts(profile, seed, progress=None):
    raise KeyboardInterrupt


@pytest.fixture
def checks(monkeypatch):
    def install(**by_id):
        for cid, fn in by_id.items():
            monkeypatch.setitem(registry.CHECKS, cid, fn)
    return install


def _verify(out, *extra):
    return cli.main(["verify", "--profile", "quick", "--claims", f"{FAST},{SLOW},{LAST}", "--out", str(out),
                     "--quiet", *extra])


def test_the_report_is_rewritten_after_each_claim_and_marked_partial_until_the_end(tmp_path, checks,
                                                                                    monkeypatch):
    checks(**{FAST: _instant(FAST), SLOW: _instant(SLOW), LAST: _instant(LAST)})
    seen = []
    from byzpgd.api import VerifyReport
    original = VerifyReport.write

    def recording(self, out_dir, **kw):
        paths = original(self, out_dir, **kw)
        seen.append(json.loads((tmp_path / "report.json").read_text()))
        return paths
    monkeypatch.setattr(VerifyReport, "write", recording)
    assert _verify(tmp_path, "--jobs", "1") == 0
    assert [[c["id"] for c in r["claims"]] for r in seen] == [[FAST], [FAST, SLOW], [FAST, SLOW, LAST],
                                                               [FAST, SLOW, LAST]]
    assert [r.get("partial") for r in seen[:3]] == [
        {"reason": "running", "pending": [SLOW, LAST]}, {"reason": "running", "pending": [LAST]},
        {"reason": "running", "pending": []}]
    assert "partial" not in seen[-1]                  # the final report is complete
    assert "PARTIAL" not in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_max_seconds_ends_the_run_with_every_finished_claim(tmp_path, checks, capsys, jobs):
    checks(**{FAST: _instant(FAST), SLOW: _hangs, LAST: _hangs})
    t0 = time.monotonic()
    code = _verify(tmp_path, "--jobs", jobs, "--max-seconds", "3")
    assert code == cli.EXIT_TIMEOUT == 3
    assert time.monotonic() - t0 < 300                # the hanging checks (600 s) were ended, not waited for
    report = json.loads((tmp_path / "report.json").read_text())
    assert [c["id"] for c in report["claims"]] == [FAST] and report["claims"][0]["status"] == "holds"
    assert report["partial"] == {"reason": "max_seconds", "pending": [SLOW, LAST]}
    assert "--max-seconds 3" in report["command"]
    md = (tmp_path / "report.md").read_text()
    assert "PARTIAL REPORT" in md and f"`{SLOW}`" in md
    assert "PARTIAL REPORT" in (tmp_path / "report.html").read_text()
    assert "ran out" in capsys.readouterr().err


def test_an_interrupt_after_a_finished_claim_leaves_the_partial_report_marked(tmp_path, checks, capsys):
    checks(**{FAST: _instant(FAST), SLOW: _interrupts, LAST: _instant(LAST)})
    (tmp_path / "report.json").write_text("previous\n")
    assert _verify(tmp_path, "--jobs", "1") == cli.EXIT_INTERRUPTED
    report = json.loads((tmp_path / "report.json").read_text())
    assert [c["id"] for c in report["claims"]] == [FAST]
    assert report["partial"]["reason"] == "interrupted" and report["partial"]["pending"] == [SLOW, LAST]
    assert "the partial report" in capsys.readouterr().err


def test_partial_survives_a_json_round_trip():
    r = Report("quick", 0, "byzpgd verify", [], partial="max_seconds", pending=("a.b",))
    back = Report.from_json(json.loads(json.dumps(r.to_json())))
    assert (back.partial, back.pending) == ("max_seconds", ("a.b",))
    complete = Report.from_json(Report("quick", 0, "c", []).to_json())
    assert complete.partial is None and "partial" not in complete.to_json()


def test_max_seconds_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        cli.main(["verify", "--out", "x", "--max-seconds", "0"])
    assert "seconds > 0" in capsys.readouterr().err


def test_a_partial_html_report_waits_for_the_figures():
    """Rewritten after each claim, the partial report.html leaves out the figures (seconds of
    plotting per write); the final report draws them."""
    from byzpgd.reports.html import render_html

    claim = _instant(FAST)("quick", 0)
    partial = render_html(Report("quick", 0, "c", [claim], partial="running", pending=(SLOW,)))
    final = render_html(Report("quick", 0, "c", [claim]))
    assert "figures are drawn when the run ends" in partial and "PARTIAL REPORT" in partial
    assert "figures are drawn when the run ends" not in final and "PARTIAL REPORT" not in final
