"""report.md: a summary a person can read in a terminal or a pull request.

A table (one row per claim), the violations and errors with their replay commands, the
per-adversary worst ratios and rate fits when entries carry them, and the environment. Entries
are read defensively: only ``id`` and ``status`` are really needed; anything missing shows as '—'
and keys this module does not know are listed by the HTML report (here: their names).

The formatting helpers (:func:`fmt`, :func:`replays`, :func:`errors_of`, ...) are shared with
the HTML report.
"""

from __future__ import annotations

import json
from numbers import Real

from .plots import as_number, per_adversary_records, rate_fits, rate_summaries

DASH = "—"
# keys rendered explicitly by both reports; the HTML shows every other key under "other fields"
KNOWN_KEYS = ("id", "statement", "source", "provenance", "kind", "formula", "status", "instances",
              "nonvacuous_instances", "outside_hypotheses", "violations", "errors", "worst_ratio",
              "empirical_constant", "paper_constant", "seconds", "binomial", "replay",
              "worst_violation", "error_examples", "adversaries", "notes")
STATUS_MARK = {"holds": "holds", "violated": "**VIOLATED**", "error": "**ERROR**",
               "inconclusive": "*inconclusive*"}


def fmt(x, digits: int = 3) -> str:
    """Short text for any JSON value: numbers to ``digits`` significant digits, None to '—'."""
    if x is None:
        return DASH
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, Real):
        x = float(x)
        if x == 0:
            return "0"
        s = f"{x:.{digits}g}"
        if "e+" in s and abs(x) < 1e6:  # 1900, not 1.9e+03
            s = str(int(float(s)))
        return s
    if isinstance(x, str):
        return x
    return json.dumps(x, default=str)


def constants(entry: dict) -> str:
    """'empirical / paper' constant."""
    emp, paper = entry.get("empirical_constant"), entry.get("paper_constant")
    if emp is None and paper is None:
        return DASH
    return f"{fmt(emp)} / {fmt(paper)}"


def replays(entry) -> list[str]:
    """Every replay command in an entry, wherever it is (``replay``, ``worst_violation.replay``,
    per-adversary records, lists of commands...), without duplicates, in order of appearance."""
    found: list[str] = []

    def walk(x, under_replay=False):
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, under_replay or "replay" in str(k).lower())
        elif isinstance(x, list):
            for v in x:
                walk(v, under_replay)
        elif under_replay and isinstance(x, str) and x.strip() and x not in found:
            found.append(x)
    walk(entry)
    return found


def errors_of(entry: dict) -> list[dict]:
    """The error records of an entry as dicts with at least 'error' (strings are wrapped)."""
    ex = entry.get("error_examples")
    if not isinstance(ex, list):
        return []
    return [e if isinstance(e, dict) else {"error": str(e)} for e in ex]


PREFERRED_COLUMNS = ("instances", "nonvacuous_instances", "violations", "worst_ratio")


def _scalar(v) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def as_records(value, key_name: str = "name") -> tuple[list[str], list[list]] | None:
    """(columns, rows) when ``value`` is a table in disguise: a dict of flat dicts (the key
    becomes the first column) or a list of flat dicts; None otherwise."""
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        items = [({key_name: k}, v) for k, v in value.items()]
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        items = [({}, v) for v in value]
    else:
        return None
    if not all(_scalar(x) for _, v in items for x in v.values()):
        return None
    keys = list(dict.fromkeys(k for _, v in items for k in v))
    keys = [k for k in PREFERRED_COLUMNS if k in keys] + [k for k in keys if k not in PREFERRED_COLUMNS]
    cols = ([key_name] if items[0][0] else []) + keys
    rows = [[*first.values(), *(v.get(k) for k in keys)] for first, v in items]
    return cols, rows


def adversary_table(claims: list[dict]) -> tuple[list[str], list[list]]:
    """One row per (claim, adversary) with every per-adversary field the entries carry."""
    recs = [(c.get("id", "?"), a, r) for c in claims for a, r in per_adversary_records(c).items()]
    keys = list(dict.fromkeys(k for _, _, r in recs for k, v in r.items() if _scalar(v)))
    keys = [k for k in PREFERRED_COLUMNS if k in keys] + [k for k in keys if k not in PREFERRED_COLUMNS]
    return ["claim", "adversary", *keys], [[cid, a, *(r.get(k) for k in keys)] for cid, a, r in recs]


def rate_table(claims: list[dict]) -> tuple[list[str], list[list]]:
    """One row per fit found in the entries (plus rate-kind claims without fit points)."""
    fits = rate_fits(claims)
    rows = [[f["claim"], f["label"], len(f["x"]), f["slope"], f["expected_slope"], f["tolerance"],
             f["matches"], f["constant"]] for f in fits]
    listed = {f["claim"] for f in fits}
    rows += [[r["claim"], "(no points in the entry)", 0, r["slope"], r["expected_slope"], None, None,
              r["constant"]] for r in rate_summaries(claims) if r["claim"] not in listed]
    return ["claim", "fit", "points", "fitted slope", "theory slope", "tolerance", "matches",
            "fitted constant"], rows


def adversary_summary(claims: list[dict]) -> list[list]:
    """Per claim with a per-adversary breakdown: [id, number of adversaries, the adversary with
    the largest worst ratio, that ratio, adversaries with violations]."""
    rows = []
    for c in claims:
        recs = per_adversary_records(c)
        if not recs:
            continue
        ranked = [(r["worst_ratio"], a) for a, r in recs.items() if r["worst_ratio"] is not None
                  and r["worst_ratio"] == r["worst_ratio"]]
        worst = max(ranked, default=(None, None))
        bad = [a for a, r in recs.items() if (as_number(r.get("violations")) or 0) > 0]
        rows.append([c.get("id", "?"), len(recs), worst[1], worst[0], bad])
    return rows


def count_text(entry: dict, key: str) -> str:
    v = entry.get(key)
    return fmt(v) if v is not None else DASH


def _cell(text) -> str:
    """A Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(header: list[str], rows: list[list]) -> list[str]:
    """A Markdown table with padded columns, so that it also lines up in a terminal."""
    cells = [[_cell(h) for h in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return [line(cells[0]), rule] + [line(r) for r in cells[1:]]


def render_markdown(report: dict) -> str:
    claims = [c for c in report.get("claims", []) if isinstance(c, dict)]
    summary = report.get("summary") or {}
    lines = ["# byzpgd verification report", ""]
    lines.append(f"Profile **{fmt(report.get('profile'))}**, seed **{fmt(report.get('seed'))}**, "
                 f"{len(claims)} claim(s): " + ", ".join(f"{v} {k}" for k, v in summary.items()) + ".")
    if report.get("command"):
        lines += ["", f"Command: `{report['command']}`"]
    if report.get("adversaries"):
        lines += ["", "Adversaries: " + ", ".join(f"`{a}`" for a in report["adversaries"])]
    if report.get("seconds") is not None:
        lines += ["", f"Total time: {fmt(report['seconds'])} s"]
    lines += ["", "## Claims", ""]
    header = ["claim", "kind", "provenance", "status", "instances", "non-vacuous", "violations",
              "worst ratio", "constant (empirical / paper)", "seconds"]
    rows = [[f"`{c.get('id', '?')}`", fmt(c.get("kind")), fmt(c.get("provenance")),
             STATUS_MARK.get(c.get("status"), fmt(c.get("status"))), count_text(c, "instances"),
             count_text(c, "nonvacuous_instances"), count_text(c, "violations"),
             fmt(c.get("worst_ratio")), constants(c), fmt(c.get("seconds"))] for c in claims]
    lines += _table(header, rows)
    lines += ["", "worst ratio = largest observed/bound over the checked instances (<= 1: the bound "
              "held on every instance; <= 0: it held with a sign margin). The empirical constant "
              "is the smallest constant in place of the paper's that would still hold."]

    bad = [c for c in claims if c.get("status") != "holds" or (as_number(c.get("violations")) or 0) > 0]
    lines += ["", "## Violations and errors", ""]
    if not bad:
        lines.append("None: every claim holds.")
    for c in bad:
        lines.append(f"### `{c.get('id', '?')}`: {fmt(c.get('status'))}")
        lines.append("")
        lines.append(f"{fmt(c.get('violations'))} violation(s) among {fmt(c.get('instances'))} "
                     f"instances, {fmt(c.get('errors', len(errors_of(c))))} error(s).")
        b = c.get("binomial")
        if isinstance(b, dict):
            lines.append(f"Binomial test: {fmt(b.get('failures'))}/{fmt(b.get('trials'))} failures, "
                         f"δ = {fmt(b.get('delta'))}, p = {fmt(b.get('p_value'))} "
                         f"(rejected below {fmt(b.get('reject_below'))}).")
        wv = c.get("worst_violation")
        if isinstance(wv, dict):
            lines.append(f"Worst violation: observed {fmt(wv.get('observed'))} > bound "
                         f"{fmt(wv.get('bound'))} (ratio {fmt(wv.get('ratio'))})"
                         + (f"; {wv['note']}" if wv.get("note") else "") + ".")
        if c.get("status") == "inconclusive":
            lines.append("Too few non-vacuous instances to conclude.")
        for cmd in replays(c):
            lines += ["", "```sh", cmd, "```"]
        for e in errors_of(c):
            lines += ["", f"- error: `{_cell(e.get('error', ''))}`"]
        lines.append("")

    adv_rows = adversary_summary(claims)
    if adv_rows:
        lines += ["", "## Per adversary (worst case; the full breakdown is in report.html)", ""]
        lines += _table(["claim", "adversaries", "worst adversary", "its worst ratio",
                         "adversaries with violations"],
                        [[f"`{r[0]}`", r[1], f"`{r[2]}`" if r[2] else DASH, fmt(r[3]),
                          ", ".join(f"`{a}`" for a in r[4]) or "none"] for r in adv_rows])

    cols, rows = rate_table(claims)
    if rows:
        lines += ["", "## Rate fits (log-log slopes)", ""]
        lines += _table(cols, [[f"`{r[0]}`", *(fmt(x) for x in r[1:])] for r in rows])

    extra = sorted({k for c in claims for k in c if k not in KNOWN_KEYS})
    if extra:
        lines += ["", f"Other fields in the entries (see report.html / report.json): "
                      f"{', '.join(f'`{k}`' for k in extra)}."]

    env = report.get("environment") or {}
    lines += ["", "## Environment", ""]
    pk = env.get("packages") if isinstance(env.get("packages"), dict) else {}
    for k, v in env.items():
        if k != "packages":
            lines.append(f"- {k}: {fmt(v)}")
    if pk:
        lines.append("- packages: " + ", ".join(f"{k} {fmt(v)}" for k, v in pk.items()))
    return "\n".join(lines).rstrip() + "\n"
