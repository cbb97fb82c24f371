"""faults.json / faults.md / faults.html: the kill matrix of a fault campaign
(:class:`byzpgd.properties.campaign.Campaign`), written as one atomic set.

faults.json: ``profile``, ``seed``, ``command``, ``environment``, ``all_claims`` (every claim ran
on every fault: the full matrix), ``partial`` and ``pending`` (written after each finished fault:
the faults not run yet), ``summary`` (faults per status), ``kill_rate`` (killed among
killed + survived + errored), ``catalogue_kill_rate`` (killed among every fault, readings
excluded), ``guarantee_kill_rate`` and ``conformance_kill_rate`` (faults killed by a claim of that
level among every fault; the guarantee rate is a lower bound unless ``all_claims``),
``parameter_guarantee_kill_rate`` (the ByzantinePGD and exact-PGD parameter faults killed by a
guarantee-level claim), ``by_kind`` (per fault kind: counts per status and per killing level),
``readings_killed`` (readings a claim rejected: should be empty), ``baseline`` (claim -> status,
seconds), ``claims`` (the columns of the matrix), ``claim_levels`` (claim -> guarantee |
conformance), ``faults``: one item per fault with ``id``, ``kind``, ``description``, ``status``
(killed | survived | equivalent | errored | error), ``killed`` (bool), ``killed_by`` (claim ids),
``guarantee_killers``, ``conformance_killers``, ``errored_by`` (claims that crashed or timed out:
never kills), ``outcomes`` (per claim run: status, seconds, replay of the killing instance,
reason), ``error``, ``equivalent`` (the argument, if any), ``seconds``.
"""

from __future__ import annotations

import html
from dataclasses import asdict
from pathlib import Path

from byzpgd.jsonsafe import dumps

from .json_report import commit, environment, stage

FILES = ("faults.json", "faults.md", "faults.html")
MARK = {"holds": "·", "violated": "✗", "error": "E", "timeout": "T", "inconclusive": "?"}


def campaign_json(c) -> dict:
    claims = _columns(c)
    return {"profile": c.profile, "seed": c.seed, "command": c.command,
            "environment": c.environment or environment(), "all_claims": c.all_claims,
            "partial": c.partial, "pending": list(c.pending),
            "summary": c.summary, "kill_rate": c.kill_rate,
            "catalogue_kill_rate": c.catalogue_kill_rate,
            "guarantee_kill_rate": c.guarantee_kill_rate,
            "conformance_kill_rate": c.conformance_kill_rate,
            "parameter_guarantee_kill_rate": c.parameter_guarantee_kill_rate,
            "by_kind": c.by_kind, "readings_killed": list(c.readings_killed),
            "baseline": {k: {"status": o.status, "seconds": o.seconds} for k, o in c.baseline.items()},
            "claims": claims, "claim_levels": {k: c.level(k) for k in claims},
            "faults": [{**asdict(f), "guarantee_killers": list(f.guarantee_killers),
                        "conformance_killers": list(f.conformance_killers)} for f in c.faults],
            "seconds": c.seconds}


def _rates_line(c) -> str:
    bound = "" if c.all_claims else " (a lower bound: faults stopped at their first kill)"
    return (f"Killed by a guarantee-level claim: {c.guarantee_kill_rate:.1%} of the catalogue{bound}; "
            f"by a conformance check: {c.conformance_kill_rate:.1%}; ByzantinePGD and exact-PGD "
            f"parameter faults killed by a guarantee-level claim: {c.parameter_guarantee_kill_rate:.1%}.")


def _kind_table(c) -> list[str]:
    lines = ["| kind | faults | killed | by a guarantee-level claim | by conformance checks only | "
             "survived | equivalent | errored | error |", "|---|---|---|---|---|---|---|---|---|"]
    for kind, r in c.by_kind.items():
        lines.append(f"| {kind} | {r['faults']} | {r['killed']} | {r['killed_by_guarantee']} | "
                     f"{r['killed_by_conformance_only']} | {r['survived']} | {r['equivalent']} | "
                     f"{r['errored']} | {r['error']} |")
    return lines


def _columns(c) -> list[str]:
    seen: list[str] = []
    for f in c.faults:
        seen += [o.claim for o in f.outcomes if o.claim not in seen]
    return seen


def _cell(f, claim) -> str:
    o = next((o for o in f.outcomes if o.claim == claim), None)
    return "" if o is None else MARK.get(o.status, o.status)


def render_markdown(c) -> str:
    s = c.summary
    lines = [f"# Fault campaign: {s['killed']} killed, {s['survived']} survived, "
             f"{s['equivalent']} equivalent, {s['errored']} errored, {s['error']} error", "",
             f"Profile **{c.profile}**, seed **{c.seed}**; kill rate {c.kill_rate:.1%} "
             f"(killed among killed + survived + errored), {c.catalogue_kill_rate:.1%} of the whole "
             f"catalogue (readings, which are not faults, excluded); {c.seconds:.0f} s.", "",
             _rates_line(c), "", f"Command: `{c.command}`", "",
             *([f"**Partial**: {len(c.pending)} fault(s) not run yet (the campaign was still "
                f"running or was stopped): {', '.join(f'`{p}`' for p in c.pending)}.", ""]
               if c.partial else []),
             "A fault is killed when a claim that holds without it is violated under it; a claim "
             "that crashes or exceeds its time budget makes it *errored* (not a kill). Cells: ✗ "
             "violated, E error, T over budget, · holds, ? inconclusive, empty: not run"
             + ("" if c.all_claims else " (a fault stops at its first kill)")
             + ". Columns marked ᶜ are conformance checks, the others guarantee-level claims. "
             "A *reading* is not a fault but a reading of the paper it leaves open: it must "
             "survive.", "", *_kind_table(c), ""]
    if c.readings_killed:
        lines += [f"**Readings a claim rejects** (a claim stricter than the paper): "
                  f"{', '.join(f'`{r}`' for r in c.readings_killed)}", ""]
    cols = _columns(c)
    lines += ["| fault | kind | status | " + " | ".join(
        f"`{k}`" + ("ᶜ" if c.level(k) == "conformance" else "") for k in cols) + " |",
              "|---|---|---|" + "---|" * len(cols)]
    for f in c.faults:
        lines.append(f"| `{f.id}` | {f.kind} | **{f.status}** | "
                     + " | ".join(_cell(f, k) for k in cols) + " |")
    lines += ["", "## Faults", ""]
    for f in c.faults:
        lines.append(f"- `{f.id}` ({f.kind}): {f.description}. **{f.status}**"
                     + (f" by {', '.join(f'`{k}`' for k in f.killed_by)}" if f.killed_by else "")
                     + ("" if not f.killed or f.guarantee_killers else " (conformance checks only)")
                     + (f"; crashed or timed out: {', '.join(f'`{k}`' for k in f.errored_by)}"
                        if f.errored_by else ""))
        for o in f.outcomes:
            if o.claim in f.killed_by or o.claim in f.errored_by:
                lines.append(f"  - `{o.claim}`: {o.status}; {o.reason}"
                             + (f"; replay: `{o.replay}`" if o.replay else ""))
        if f.error:
            lines.append(f"  - error: {f.error.splitlines()[0]}")
        if f.equivalent:
            lines.append(f"  - equivalent: {f.equivalent}")
    bad = [k for k, o in c.baseline.items() if o.status != "holds"]
    if bad:
        lines += ["", f"Claims that do not hold without a fault (never counted as killers): {bad}"]
    return "\n".join(lines) + "\n"


def render_html(c) -> str:
    cols = _columns(c)
    e = html.escape
    head = "".join(f"<th title='{e(k)}'>{e(k)}</th>" for k in cols)
    rows = []
    for f in c.faults:
        cells = "".join(f"<td class='{e(_status(f, k))}'>{e(_cell(f, k))}</td>" for k in cols)
        rows.append(f"<tr><td><code>{e(f.id)}</code></td><td>{e(f.kind)}</td>"
                    f"<td class='{e(f.status)}'>{e(f.status)}</td>{cells}</tr>")
    s = c.summary
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>byzpgd fault campaign</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px}}th{{writing-mode:vertical-rl}}
.killed,.violated{{background:#cfc}}.survived{{background:#fcc}}.error,.errored,.timeout{{background:#fe9}}
.holds{{color:#888}}</style></head><body>
<h1>Fault campaign</h1>
<p>Profile <b>{e(c.profile)}</b>, seed <b>{c.seed}</b>: {s['killed']} killed, {s['survived']} survived,
{s['equivalent']} equivalent, {s['errored']} errored, {s['error']} error; kill rate {c.kill_rate:.1%}
({c.catalogue_kill_rate:.1%} of the whole catalogue, readings excluded); {c.seconds:.0f} s.</p>
<p>{e(_rates_line(c))}</p>
<p>Command: <code>{e(c.command)}</code></p>
<table><tr><th>fault</th><th>kind</th><th>status</th>{head}</tr>
{''.join(rows)}</table>
<pre>{e(render_markdown(c))}</pre></body></html>
"""


def _status(f, claim) -> str:
    o = next((o for o in f.outcomes if o.claim == claim), None)
    return "" if o is None else o.status


def write_faults(out_dir, campaign) -> list[Path]:
    """Write the three files; each is staged first and moved in place only when all are
    rendered (an interrupted write leaves the previous files)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    texts = {"faults.json": dumps(campaign_json(campaign)) + "\n",
             "faults.md": render_markdown(campaign), "faults.html": render_html(campaign)}
    staged = {name: stage(out / name, text) for name, text in texts.items()}
    for name, tmp in staged.items():
        commit(tmp, out / name)
    return [out / n for n in texts]
