"""The audit report rendered from a typed AuditResult (reports/audit_report.py, issue 21 item 6).

A small AuditResult is built by hand (three settings with synthetic measurements from a seeded
generator, slopes with every kind of evidence, a grade with a reason of each kind, a KappaSummary
and an EndToEnd); no audit runs. The checks read the rendered Markdown and HTML back into sections
and tables (:func:`md_doc`, :func:`html_doc`) and compare them with the result's fields; each check
is shown to catch a subtly wrong rendering (a dropped row, a wrong count, a moved mark, a None).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from html.parser import HTMLParser

import numpy as np
import pytest

from byzpgd.audit.result import (
    AuditResult,
    AuditSettings,
    BiasEntry,
    BiasTest,
    Decision,
    EndToEnd,
    Finding,
    Grade,
    KappaSummary,
    Measurement,
    Reason,
    SlopeFit,
    SweepSlopes,
)
from byzpgd.reports import audit_report
from byzpgd.reports.audit_report import FILES, render_all, render_html, render_markdown, write_audit

REFS = ("median", "trimmed_mean")
D = 10


# ---------------------------------------------------------------------------------------------
# a hand-built result
# ---------------------------------------------------------------------------------------------
def _deltas(rng: np.random.Generator, m: int, n: int, f: int, scale: float) -> tuple[float, ...]:
    base = scale * (f / m / math.sqrt(n) + math.sqrt(D / (n * m)))
    return tuple(float(x) for x in base * rng.lognormal(0.0, 0.1, size=3))


def _row(rng, setting: int, attack: str, m: int, n: int, f: int, sweeps, *, f_rule=None, scale=1.0,
         **kw) -> Measurement:
    reps = kw.pop("delta_reps", None) or _deltas(rng, m, n, f, scale)
    ref_reps = {r: _deltas(rng, m, n, f, 1.0 + 0.2 * k) for k, r in enumerate(REFS)}
    ref = {r: float(np.mean(v)) for r, v in ref_reps.items()}
    lb = f / m / math.sqrt(n) + math.sqrt(D / (n * m))
    return Measurement(setting=setting, attack=attack, m=m, n=n, d=D, f=f, f_rule=f_rule or f, honest=f == 0,
                       sweeps=tuple(sweeps), delta=float(np.mean(reps)), delta_reps=reps, delta_reference=ref,
                       delta_reference_reps=ref_reps, best_reference=min(ref, key=ref.get), lower_bound=lb,
                       rates={"median": 2 * lb, "trimmed_mean": 3 * lb}, **kw)


def _measurements() -> tuple[Measurement, ...]:
    rng = np.random.default_rng(2024)
    rows = []
    for sid, m in ((0, 10), (1, 30)):                       # honest m sweep
        for attack in ("none", "worst"):
            rows.append(_row(rng, sid, attack, m, 100, 0, ("m_honest",), f_rule=max(1, m // 10)))
    inf = (math.inf,) * 3
    rows += [_row(rng, 2, "sign_flip", 30, 100, 2, ("n",)),
             _row(rng, 2, "nan", 30, 100, 2, ("n",), delta_reps=inf, error="non_finite_output"),
             _row(rng, 2, "sign_flip@last", 30, 100, 2, ("n",), scale=25.0, placement="last"),
             _row(rng, 2, "worst", 30, 100, 2, ("n",), scale=25.0, worst_attack="sign_flip@last",
                  placement="last", reference_worst_attack={"median": "alie", "trimmed_mean": "ipm"},
                  nonfinite_input={"nan": math.inf, "inf": 0.3}, nonfinite_input_failed=("nan",))]
    return tuple(rows)


def _fit(sweep, variable, who, values, slope, half, level=0.95) -> SlopeFit:
    if slope is None:
        return SlopeFit(sweep, variable, who, tuple(values), None, None, None, 0, None, level, 1, 2)
    ci = (slope - half, slope + half)
    return SlopeFit(sweep, variable, who, tuple(values), slope, 0.8, half / 2.2, 4, ci, level, 6, 0)


def _sweep(sweep, variable, values, slope, half, evidence, *, graded=True, exponent=-0.5) -> SweepSlopes:
    fits = {"user": _fit(sweep, variable, "user", values, slope, half),
            **{r: _fit(sweep, variable, r, values, -0.5 + 0.01 * k, 0.1) for k, r in enumerate(REFS)}}
    theory = {"median": -0.5, "trimmed_mean": -0.5, "lower_bound": -0.49}
    if not graded:
        return SweepSlopes(sweep, variable, tuple(values), fits, theory, False)
    thr = exponent + 0.25
    return SweepSlopes(sweep, variable, tuple(values), fits, theory, True, exponent, thr, evidence,
                       None if evidence in ("undetermined", "missing") else 0.0123)


SLOPES = {"m_honest": _sweep("m_honest", "m", (10, 30), -0.52, 0.1, "shown"),
          "n": _sweep("n", "n", (25, 100, 400), 0.031, 0.12, "refuted"),
          "alpha": _sweep("alpha", "alpha", (0.05, 0.1), 0.61, 0.9, "undetermined", exponent=1.0),
          "n_honest": _sweep("n_honest", "n", (25, 100), None, 0.0, "missing"),
          "m": _sweep("m", "m", (10, 30, 100), -0.3, 0.1, None, graded=False)}

REASONS = (
    Reason("finding:exception", "fail", "exception (3 call(s)): ValueError: bad shape in my_rule"),
    Reason("nonfinite_input", "fail", "2 Byzantine row(s) of NaN (attack 'nan') drive the rule to a "
           "non-finite output at 1 setting(s)", {"attack": "nan", "input": "NaN", "settings": [2]}),
    Reason("breakdown", "fail", "breakdown: setting m = 30, n = 100: Delta = 9.1 under attack 'sign_flip' "
           "with the Byzantine rows placed 'last' > 10 x 0.2", {"setting": 2, "threshold": 2.01}),
    Reason("bias", "fail", "biased without attack: at m = 10, n = 100 the mean error has norm 0.31 > 0.12",
           {"setting": 0, "p_value": 1e-6}),
    Reason("end_to_end", "fail", "end-to-end instance seed 77: AggregatorFailure: timeout"),
    Reason("slope", "fail", "Delta under attack does not shrink at the rate in n (n): fitted slope 0.031",
           {"sweep": "n", "ci": [-0.089, 0.151]}),
    Reason("not_shown", "inconclusive", "the rate in alpha (alpha) is not shown: fitted slope 0.61 contains "
           "the threshold 1.25", {"sweep": "alpha"}),
    Reason("slope", "suboptimal", "Delta does not shrink at the rate in m (m_honest) in a second sweep"),
    Reason("delta_exceeds_reference", "suboptimal",
           "setting m = 10, n = 100: Delta = 0.7 > 3 x 0.2 + 0.1 x 0.1",
           {"setting": 0, "attacks_exceeding": {"alie": 0.7}}),
)

FINDINGS = (Finding("exception", "ValueError: bad shape in my_rule", "error", 3,
                    {"phase": "battery", "attack": "sign_flip", "setting": 2}),
            Finding("wrong_dtype", "returned float32", "warning", 1, {"phase": "load"}))


def _records() -> tuple[dict, ...]:
    def ok(seed, ratio):
        return {"seed": seed, "Delta": 1.5e-4, "status": "converged", "calls": 812, "escapes": 1,
                "grad_norm": {"observed": 4 * 1.5e-4 * ratio, "bound": 6e-4, "ratio": ratio, "holds": True},
                "iterations": {"observed": 812, "bound": 9.5e5, "ratio": 812 / 9.5e5, "holds": True},
                "in_hypotheses": True, "outside": "", "holds": True}
    outside = dict(ok(55, 0.2), in_hypotheses=False, outside="Delta above Theorem 1's limit 3.1e-4")
    return (ok(11, 0.4), ok(22, 0.1), outside, {"seed": 77, "error": "AggregatorFailure: timeout"})


def make_result(**changes) -> AuditResult:
    rows = _measurements()
    thresholds = {r.setting: (3 * r.best_reference_delta + 0.1 * r.lower_bound,
                              10 * r.best_reference_delta + 0.1 * r.lower_bound)
                  for r in rows if r.attack == "worst"}
    at_1 = next(r for r in rows if r.setting == 1 and r.attack == "worst")
    thresholds[1] = (at_1.delta, thresholds[1][1])          # exactly at the threshold: within (<=)
    grade = Grade("fail", REASONS, ("2 of 4 end-to-end instance(s) could not be checked",), 0.0123,
                  (Decision("slope in n (n) <= -0.25", "refuted", 0.0123, slope=0.031, ci=(-0.089, 0.151)),
                   Decision("bias at m = 10, n = 100", "biased", 5e-4, p_value=1e-6, level=5e-4)), thresholds)
    settings = AuditSettings(target="my_rules:shifted_median", profile="quick", seed=3, f_max=2,
                             references=REFS, attacks=("sign_flip", "nan", "sign_flip@last"),
                             description="function shifted_median",
                             alpha_max=0.0667, call_timeout=5.0, assume_finite=False,
                             profile_config={"m": 30, "m_grid": [10, 30]},
                             criterion={"factor": 3.0, "statement": "fail: an error-level finding, ..."},
                             command="byzpgd audit my_rules:shifted_median --profile quick --seed 3")
    bias = (BiasEntry(0, 10, 100, D, 1, 16, {"user": BiasTest(0.31, 1e-6, 1.5, 16, True),
                                            "median": BiasTest(0.02, 0.7, 0.01, 16, True),
                                            "trimmed_mean": None}),
            BiasEntry(1, 30, 100, D, 3, 16, {"user": BiasTest(0.05, 0.2, 0.04, 16, False),
                                            "median": BiasTest(0.03, 0.5, 0.01, 16, False),
                                            "trimmed_mean": BiasTest(0.02, 0.6, 0.01, 16, False)}))
    kappa = KappaSummary(n=30, f=2, d=D, kappa_hat=0.4321, lower_bound=2 / 26, upper_bound=0.3125,
                         upper_source="Allouah et al. 2023, Prop. 1 (coordinate-wise median)",
                         exceeds_upper=True, evaluations=2400)
    e2e = EndToEnd(holds=False, status="error", instances=4, ran=3, inside_hypotheses=2, errors=1,
                   violations=0, skipped=0, could_not_be_checked=1,
                   worst_ratio={"grad_norm": 0.4, "iterations": 812 / 9.5e5},
                   claims=("end_to_end.grad_norm", "end_to_end.iterations"),
                   reasons=("end-to-end instance seed 77: AggregatorFailure: timeout",), records=_records(),
                   setting={"landscape": "phase retrieval (population risk)", "d": 10, "m": 20, "n": 200,
                            "f": 2, "attack": "saddle_trap"})
    battery_settings = tuple({"id": r.setting, "m": r.m, "n": r.n, "d": r.d, "f": r.f, "alpha": r.alpha,
                              "f_rule": r.f_rule, "honest": r.honest, "sweeps": list(r.sweeps)}
                             for r in rows if r.attack == "worst")
    res = AuditResult(settings=settings, grade=grade, measurements=rows, battery_settings=battery_settings,
                      bias=bias, slopes=dict(SLOPES),
                      constants={"user": {"median": 1.2, "lower_bound": 3.4}, "median": {"median": 0.5,
                                                                                        "lower_bound": None}},
                      kappa=kappa, end_to_end=e2e, findings=FINDINGS, sandbox={"calls": 1234}, seconds=1.5,
                      environment={"python": "3.12.1", "packages": {"numpy": "2.0.0"}})
    return replace(res, **changes)


def bare_result() -> AuditResult:
    """A result with every optional field empty or None: nothing of it may print as None."""
    res = make_result()
    return replace(res, settings=replace(res.settings, description=None, alpha_max=None, call_timeout=None,
                                         command=None, criterion={}, assume_finite=True),
                   grade=Grade("inconclusive", (REASONS[6],), (), None, (), {}), kappa=None, end_to_end=None,
                   findings=(), bias=(), constants={}, seconds=None, environment={},
                   slopes={"n_honest": SLOPES["n_honest"]})


# ---------------------------------------------------------------------------------------------
# reading the rendered documents back
# ---------------------------------------------------------------------------------------------
def _md_cells(line: str) -> list[str]:
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def md_doc(text: str) -> dict[str, dict]:
    """{section title: {'text': its text, 'tables': [[header, *rows]], 'bullets': [[item, …]]}}."""
    doc: dict[str, dict] = {}
    cur = None
    in_table = in_list = False
    for line in text.splitlines():
        if line.startswith("## "):
            cur = doc.setdefault(line[3:].strip(), {"text": "", "tables": [], "bullets": [], "strong": []})
            in_table = in_list = False
            continue
        if cur is None:
            continue
        cur["text"] += line + "\n"
        if line.startswith("|"):
            if re.fullmatch(r"\|(---\|)+", line):
                continue
            if not in_table:
                cur["tables"].append([])
                in_table = True
            cur["tables"][-1].append(_md_cells(line))
        else:
            in_table = False
            if line.startswith("- "):
                if not in_list:
                    cur["bullets"].append([])
                    in_list = True
                cur["bullets"][-1].append(line[2:].replace("**", ""))
                if line.startswith("- **"):
                    cur["strong"].append(line[2:].replace("**", ""))
            else:
                in_list = False
    return doc


class _HTMLDoc(HTMLParser):
    def __init__(self):
        super().__init__()
        self.doc: dict[str, dict] = {}
        self.cur = None
        self.buf: list[str] | None = None
        self.tag = None
        self.bold = False
        self.title = ""

    def handle_starttag(self, tag, attrs):
        if tag == "h2":
            self.title, self.tag = "", "h2"
        elif tag == "ul" and self.cur is not None:
            self.cur["bullets"].append([])
        elif tag == "table" and self.cur is not None:
            self.cur["tables"].append([])
        elif tag == "tr" and self.cur is not None:
            self.cur["tables"][-1].append([])
        elif tag in ("td", "th", "li"):
            self.buf, self.tag, self.bold = [], tag, False
        elif tag == "b" and self.tag == "li":
            self.bold = True

    def handle_endtag(self, tag):
        if tag == "h2":
            self.cur = self.doc.setdefault(self.title.strip(),
                                           {"text": "", "tables": [], "bullets": [], "strong": []})
            self.tag = None
        elif tag in ("td", "th") and self.buf is not None:
            self.cur["tables"][-1][-1].append("".join(self.buf).strip())
            self.buf = None
        elif tag == "li" and self.buf is not None:
            self.cur["bullets"][-1].append(" ".join("".join(self.buf).split()))
            if self.bold:
                self.cur["strong"].append(self.cur["bullets"][-1][-1])
            self.buf = None

    def handle_data(self, data):
        if self.tag == "h2":
            self.title += data
            return
        if self.buf is not None:
            self.buf.append(data)
        if self.cur is not None:
            self.cur["text"] += data


def html_doc(text: str) -> dict[str, dict]:
    p = _HTMLDoc()
    p.feed(text)
    return p.doc


def visible_html_text(text: str) -> str:
    return "\n".join(v["text"] for v in html_doc(text).values())


def section(doc: dict, prefix: str) -> dict:
    hits = [v for k, v in doc.items() if k.startswith(prefix)]
    assert len(hits) == 1, f"expected one section starting with {prefix!r}, got {list(doc)}"
    return hits[0]


def table_with(sec: dict, first_header: str, containing: str) -> tuple[list[str], list[list[str]]]:
    for t in sec["tables"]:
        if t and t[0] and t[0][0] == first_header and containing in t[0]:
            return t[0], t[1:]
    raise AssertionError(f"no table with headers {first_header!r} … {containing!r}")


@pytest.fixture(scope="module")
def result() -> AuditResult:
    return make_result()


@pytest.fixture(scope="module")
def texts(result) -> dict[str, str]:
    return render_all(result)


@pytest.fixture(scope="module")
def docs(texts) -> dict[str, dict]:
    return {"md": md_doc(texts["audit.md"]), "html": html_doc(texts["audit.html"])}


# ---------------------------------------------------------------------------------------------
# the checks, each applied to the real rendering and to a subtly wrong one
# ---------------------------------------------------------------------------------------------
def check_slopes(doc: dict, res: AuditResult):
    """One row per sweep, in order, with the exponent, threshold, slope [CI] and evidence word."""
    head, rows = table_with(section(doc, "Against the paper's rates"), "sweep", "evidence")
    assert len(rows) == len(res.slopes)
    col = {h: k for k, h in enumerate(head)}
    words = {"shown": "shown", "refuted": "refuted", "undetermined": "undetermined", "missing": "no slope"}
    for row, (sweep, e) in zip(rows, res.slopes.items(), strict=True):
        assert f"({e.variable})" in row[col["sweep"]]
        u = e.user
        if u.slope is None:
            assert row[col["audited slope [CI]"]].startswith("no slope")
        else:
            assert row[col["audited slope [CI]"]] == f"{u.slope:.3f} [{u.ci[0]:.3f}, {u.ci[1]:.3f}]"
        if e.graded:
            assert row[col["evidence"]] == words[e.evidence], sweep
            assert row[col["threshold"]] == f"{e.threshold:.3g}"
            assert row[col["theory's exponent"]] == f"{e.exponent:.3g}"
        else:
            assert row[col["evidence"]] == "not graded"


def check_findings(doc: dict, res: AuditResult):
    """The count in the heading is the number of findings listed, and every finding is listed."""
    titles = [k for k in doc if k.startswith("Findings")]
    assert titles == [f"Findings ({len(res.findings)})"]
    sec = doc[titles[0]]
    if not res.findings:
        assert not sec["tables"]
        return
    head, rows = table_with(sec, "kind", "message")
    assert len(rows) == len(res.findings)
    assert [r[head.index("message")] for r in rows] == [f.message for f in res.findings]
    assert [r[head.index("calls")] for r in rows] == [str(f.count) for f in res.findings]


def check_reasons(doc: dict, res: AuditResult):
    sec = section(doc, "Reasons")
    assert f"Reasons ({len(res.reasons)})" in doc
    assert len(sec["bullets"][0]) == len(res.reasons)
    for b, r in zip(sec["bullets"][0], res.reasons, strict=True):
        assert b.endswith(r.message) and f"({r.grade})" in b


def check_verdict(doc: dict, res: AuditResult):
    """Every verdict word explained in one line; this audit's is the marked (and emphasised) one."""
    sec = section(doc, "What the verdict means")
    [bullets] = sec["bullets"]
    assert [b.split(" ")[0].rstrip(":") for b in bullets] == ["pass", "suboptimal", "inconclusive", "fail"]
    marked = [b for b in bullets if "(this audit)" in b]
    assert len(marked) == 1 and marked[0].startswith(res.verdict + " ")
    assert sec["strong"] == marked
    assert "the data of this profile cannot show the rate: run a larger profile" in bullets[2]


def check_worst(doc: dict, res: AuditResult):
    """The worst table prints the grade's thresholds and judges each row against them."""
    head, rows = table_with(section(doc, "Worst empirical Delta"), "m", "factor threshold")
    worst = res.worst()
    assert len(rows) == len(worst)
    for row, r in zip(rows, worst, strict=True):
        thr, thr_b = res.grade.thresholds[r.setting]
        assert row[head.index("factor threshold")] == f"{thr:.4g}"
        assert row[head.index("breakdown threshold")] == f"{thr_b:.4g}"
        assert row[head.index("within factor")] == ("yes" if r.delta <= thr else "no")
        broken = "— (no attack)" if r.honest else ("yes" if r.delta > thr_b else "no")
        assert row[head.index("broken")] == broken
        assert row[head.index("Delta (audited)")] == f"{r.delta:.4g}"


def check_clean(text: str):
    """No Python repr, None or private name reaches the reader."""
    for bad in ("None", "True", "False", "{'", "['", "('", "<function", " object at 0x"):
        assert bad not in text, bad
    assert not re.search(r"(?<![\w.])_[a-z]", text), re.search(r"(?<![\w.])_[a-z]\w*", text)


CHECKS = (check_slopes, check_findings, check_reasons, check_verdict, check_worst)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("fmt_", ["md", "html"])
def test_each_check_holds_on_both_formats(check, fmt_, docs, result):
    check(docs[fmt_], result)


def _drop_line(text: str, needle: str) -> str:
    lines = text.splitlines()
    hits = [k for k, x in enumerate(lines) if needle in x]
    assert len(hits) >= 1
    del lines[hits[0]]
    return "\n".join(lines)


def test_the_checks_catch_subtly_wrong_markdown(texts, result):
    md = texts["audit.md"]
    refuted_row = next(x for x in md.splitlines()
                       if x.startswith("|") and "| yes |" in x and "| refuted |" in x)    # slopes table
    wrong = {
        check_slopes: [md.replace(refuted_row + "\n", ""),                    # the refuted sweep dropped
                       md.replace("| refuted |", "| undetermined |"),         # its evidence softened
                       md.replace(refuted_row, refuted_row.replace("| -0.25 |", "| 0.25 |"))],  # sign lost
        check_findings: [md.replace(f"Findings ({len(result.findings)})",          # errors only counted
                                    f"Findings ({len(result.error_findings())})"),
                         _drop_line(md, "returned float32")],
        check_reasons: [_drop_line(md, "(inconclusive): ")],
        check_verdict: [md.replace("- inconclusive: ", "- inconclusive (this audit): "),
                        md.replace("- **fail (this audit): ", "- fail (this audit): ")
                        .replace("- pass: ", "- **pass: ")],                 # the emphasis on another word
        check_worst: [md.replace("| — (no attack) |", "| no |", 1)],
    }
    for check, variants in wrong.items():
        check(md_doc(md), result)
        for bad in variants:
            assert bad != md, check.__name__
            with pytest.raises(AssertionError):
                check(md_doc(bad), result)


def test_the_checks_catch_a_renderer_that_drops_or_miscounts(monkeypatch, result):
    """Renderers wrong in one detail (not the text after the fact): each is caught."""
    real_slopes = audit_report.slopes_table

    def drop_refuted(res):
        t = real_slopes(res)
        return audit_report.Table(t.head, tuple(r for r in t.rows if "refuted" not in r))
    with monkeypatch.context() as mp:
        mp.setattr(audit_report, "slopes_table", drop_refuted)
        with pytest.raises(AssertionError):
            check_slopes(md_doc(render_markdown(result)), result)
    with monkeypatch.context() as mp:                            # one-sided check read on the wrong end
        mp.setattr(audit_report, "EVIDENCE_WORDS", {**audit_report.EVIDENCE_WORDS, "missing": "undetermined"})
        with pytest.raises(AssertionError):
            check_slopes(html_doc(render_html(result)), result)
    with monkeypatch.context() as mp:                            # thresholds swapped
        real_within = audit_report._within
        mp.setattr(audit_report, "_within",
                   lambda res, r: (lambda t: (t[1], t[0], t[2], t[3]))(real_within(res, r)))
        with pytest.raises(AssertionError):
            check_worst(md_doc(render_markdown(result)), result)
    with monkeypatch.context() as mp:                            # the fmt of None leaks through
        mp.setattr(audit_report, "DASH", "None")
        with pytest.raises(AssertionError):
            check_clean(render_markdown(bare_result()))


# ---------------------------------------------------------------------------------------------
# files and audit.json
# ---------------------------------------------------------------------------------------------
def _strict(text: str):
    def bad(token):
        raise ValueError(f"non-strict JSON token {token}")
    return json.loads(text, parse_constant=bad)


def test_three_files_written_and_audit_json_round_trips(tmp_path, result):
    paths = write_audit(tmp_path / "out", result)
    assert [p.name for p in paths] == list(FILES) and all(p.is_file() for p in paths)
    data = _strict((tmp_path / "out" / "audit.json").read_text())
    assert data["schema"] == 2 and data["verdict"] == "fail"
    back = AuditResult.from_json(data)
    assert back == result
    assert math.isinf(back.measurements[5].delta)             # the NaN row's inf survives as 'inf'
    assert (tmp_path / "out" / "audit.md").read_text() == render_markdown(result)
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_audit_json_gets_this_machines_environment_when_the_result_has_none(tmp_path):
    res = make_result(environment={})
    write_audit(tmp_path, res)
    data = _strict((tmp_path / "audit.json").read_text())
    assert "numpy" in data["environment"]["packages"] and data["environment"]["python"]
    assert AuditResult.from_json(data) == res.with_environment(data["environment"])
    assert AuditResult.from_json(data) != res


def test_a_failed_render_leaves_the_previous_files(tmp_path, monkeypatch, result):
    write_audit(tmp_path, result)
    before = {n: (tmp_path / n).read_text() for n in FILES}

    def boom(res):
        raise RuntimeError("render failed")
    monkeypatch.setattr(audit_report, "render_html", boom)
    with pytest.raises(RuntimeError):
        write_audit(tmp_path, make_result(grade=replace(result.grade, verdict="pass", reasons=())))
    assert {n: (tmp_path / n).read_text() for n in FILES} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)


# ---------------------------------------------------------------------------------------------
# content
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt_", ["md", "html"])
def test_verdict_reasons_evidence_and_kappa_are_shown(fmt_, texts, result):
    text = texts["audit.md"] if fmt_ == "md" else visible_html_text(texts["audit.html"])
    head = texts["audit.md"].splitlines()[0] if fmt_ == "md" else texts["audit.html"]
    assert "FAIL" in head
    for r in result.reasons:
        assert r.message in text
    for word in ("shown", "refuted", "undetermined", "no slope", "not graded"):
        assert f"{word}" in text
    k = result.kappa
    assert f"kappa-hat = {k.kappa_hat:.4g}" in text and f"f/(n - 2f) = {k.lower_bound:.4g}" in text
    assert f"proven upper bound: {k.upper_bound:.4g} ({k.upper_source})" in text
    assert "EXCEEDS" in text and "the implementation is wrong" in text
    assert "CI upper end <= threshold" in text and "one-sided" in text


@pytest.mark.parametrize("make", [make_result, bare_result], ids=["full", "bare"])
def test_no_repr_none_or_private_name_reaches_the_reader(make):
    texts = render_all(make())
    check_clean(texts["audit.md"])
    check_clean(visible_html_text(texts["audit.html"]))


def test_the_non_finite_mode_is_stated():
    full, bare = (render_markdown(r) for r in (make_result(), bare_result()))
    assert "non-finite Byzantine rows graded as attacks" in full and "--assume-finite" not in full
    assert "--assume-finite: the server drops non-finite rows" in bare
    assert "graded as attacks" not in bare


def test_kappa_flag_only_when_above_the_proven_bound(result):
    k = result.kappa
    within = render_markdown(make_result(kappa=replace(k, kappa_hat=0.2, exceeds_upper=False)))
    assert "EXCEEDS" not in within and "kappa-hat is within the proven upper bound" in within
    none_known = render_markdown(make_result(kappa=replace(k, upper_bound=None, upper_source=None,
                                                           exceeds_upper=False)))
    assert "none known for this rule" in none_known and "EXCEEDS" not in none_known
    below = render_markdown(make_result(kappa=replace(k, kappa_hat=0.01, exceeds_upper=False)))
    assert "did not reach the universal lower bound" in below
    assert "Not estimated in this run." in render_markdown(bare_result())


def test_end_to_end_says_what_it_shows(result):
    md = render_markdown(result)
    sec = section(md_doc(md), "ByzantinePGD end to end")
    txt = " ".join(sec["text"].split())
    assert "ByzantinePGD with this rule under the saddle-point attack (phase retrieval (population" in txt
    assert ("2 instance(s) inside Theorem 1's hypotheses all satisfied |grad F(w~)| <= 4 Delta and the call "
            "bound") in txt
    assert "1 could not be checked (why: Delta above Theorem 1's limit 3.1e-4: 1 instance(s))" in txt
    assert "1 ended in an error" in txt and "an instance ended in an error" in txt
    assert ("Largest observed / bound over the checked instances: |grad F(w~)| / (4 Delta) 0.4; calls / "
            f"call bound {812 / 9.5e5:.3g}.") in txt
    head, rows = table_with(sec, "seed", "note")
    assert [r[0] for r in rows] == [str(r["seed"]) for r in result.end_to_end.records]
    assert rows[3][-1] == "AggregatorFailure: timeout" and rows[2][-1].startswith("outside: Delta above")
    violated = replace(result.end_to_end, status="violated", violations=1, errors=0)
    txt = " ".join(render_markdown(make_result(end_to_end=violated)).split())
    assert "of 2 instance(s) inside Theorem 1's hypotheses, 1 satisfied" in txt and "1 VIOLATED them" in txt
    assert "Guarantee VIOLATED" in txt
    assert "Not run." in section(md_doc(render_markdown(bare_result())), "ByzantinePGD end to end")["text"]


def test_attack_table_lists_every_measurement(result, docs):
    head, rows = table_with(section(docs["md"], "Per attack"), "attack", "m=30, n=100, f=2")
    cells = sum(c != "—" for r in rows for c in r[1:])
    assert cells == len(result.measurements)
    nan_row = next(r for r in rows if r[0] == "nan")
    assert nan_row[head.index("m=30, n=100, f=2")] == "inf [non_finite_output]"
    assert next(r for r in rows if r[0] == "sign_flip (Byzantine rows last)")


def test_plots_drawn_and_a_failing_plot_costs_only_itself(result, monkeypatch):
    html = render_html(result)
    assert html.count("data:image/png;base64,") == 2 and 'src="http' not in html

    def boom(*a, **k):
        raise ValueError("no canvas")
    monkeypatch.setattr(audit_report, "_panel", boom)
    html = render_html(result)
    assert html.count("Not drawn: ValueError: no canvas") == 2 and "Findings (2)" in html


def test_user_text_is_escaped_in_html():
    res = make_result(findings=(Finding("exception", "<script>alert(1)</script>", "error", 1, {}),))
    html = render_html(res)
    assert "<script>alert" not in html and "&lt;script&gt;" in html
