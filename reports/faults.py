"""faults.json / faults.md / faults.html: the kill matrix of a fault campaign
(:class:`byzpgd.properties.campaign.Campaign`), written as one atomic set.

faults.json: ``profile``, ``seed``, ``command``, ``environment``, ``summary`` (faults per status),
``kill_rate`` (killed among killed + survived), ``catalogue_kill_rate`` (killed among every fault,
readings excluded), ``readings_killed`` (readings a claim rejected: should be empty),
``baseline`` (claim -> status, seconds),
``claims`` (the columns of the matrix), ``faults``: one item per fault with ``id``, ``kind``,
``description``, ``status`` (killed | survived | equivalent | error), ``killed`` (bool),
``killed_by`` (claim ids), ``outcomes`` (per claim run: status, seconds, replay of the killing
instance, reason), ``error``, ``equivalent`` (the argument, if any), ``seconds``.
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
            "environment": c.environment or environment(), "summary": c.summary,
            "kill_rate": c.kill_rate, "catalogue_kill_rate": c.catalogue_kill_rate,
            "readings_killed": list(c.readings_killed),
            "baseline": {k: {"status": o.status, "seconds": o.seconds} for k, o in c.baseline.items()},
            "claims": claims, "faults": [asdict(f) for f in c.faults], "seconds": c.seconds}


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
             f"{s['equivalent']} equivalent, {s['error']} error", "",
             f"Profile **{c.profile}**, seed **{c.seed}**; kill rate {c.kill_rate:.1%} "
             f"(killed among killed + survived), {c.catalogue_kill_rate:.1%} of the whole catalogue "
             f"(readings, which are not faults, excluded); {c.seconds:.0f} s.", "",
             f"Command: `{c.command}`", "",
             "A fault is killed when a claim that holds without it is violated, errors or exceeds "
             "its time budget under it. Cells: ✗ violated, E error, T over budget, · holds, "
             "? inconclusive, empty: not run (a fault stops at its first kill). A *reading* is "
             "not a fault but a reading of the paper it leaves open: it must survive.", ""]
    if c.readings_killed:
        lines += [f"**Readings a claim rejects** (a claim stricter than the paper): "
                  f"{', '.join(f'`{r}`' for r in c.readings_killed)}", ""]
    cols = _columns(c)
    lines += ["| fault | kind | status | " + " | ".join(f"`{k}`" for k in cols) + " |",
              "|---|---|---|" + "---|" * len(cols)]
    for f in c.faults:
        lines.append(f"| `{f.id}` | {f.kind} | **{f.status}** | "
                     + " | ".join(_cell(f, k) for k in cols) + " |")
    lines += ["", "## Faults", ""]
    for f in c.faults:
        lines.append(f"- `{f.id}` ({f.kind}): {f.description}. **{f.status}**"
                     + (f" by {', '.join(f'`{k}`' for k in f.killed_by)}" if f.killed_by else ""))
        for o in f.outcomes:
            if o.claim in f.killed_by:
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
.killed,.violated,.timeout{{background:#cfc}}.survived{{background:#fcc}}.error{{background:#fe9}}
.holds{{color:#888}}</style></head><body>
<h1>Fault campaign</h1>
<p>Profile <b>{e(c.profile)}</b>, seed <b>{c.seed}</b>: {s['killed']} killed, {s['survived']} survived,
{s['equivalent']} equivalent, {s['error']} error; kill rate {c.kill_rate:.1%}
({c.catalogue_kill_rate:.1%} of the whole catalogue, readings excluded); {c.seconds:.0f} s.</p>
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
