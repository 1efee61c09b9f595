"""``report.html``: the study in one self-contained page (no external URL, no script).

Plots are embedded as base64 PNG; every figure of ``results.json`` is listed with its CI or
p-value and protocol; a banner says so when the EEG is synthetic.
"""

from __future__ import annotations

import base64
import math
from html import escape
from pathlib import Path
from typing import Any

REPORT_FILE = "report.html"

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1100px;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
.banner{background:#fff3cd;border:2px solid #d4a72c;padding:.8em 1em;font-weight:bold}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.85em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}caption{text-align:left;font-weight:bold;padding:.3em 0}
td.protocol{max-width:32em;color:#555;font-size:.9em}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#444}.note{color:#555;font-size:.9em}
.status{color:#555;font-weight:normal;font-size:.8em}
"""


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def _table(title: str, columns: list[str], rows: list[list[str]], note: str = "") -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    note_html = f'<p class="note">{escape(note)}</p>' if note else ""
    return (
        f"<table><caption>{escape(title)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>{note_html}"
    )


def _figures_table(figures: dict[str, dict[str, Any]]) -> str:
    rows = []
    for name, f in figures.items():
        ci = "" if f["ci"] is None else f"[{_number(f['ci'][0])}, {_number(f['ci'][1])}]"
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{escape(cell)}</td>"
                for cell in (
                    name,
                    _number(f["value"]),
                    str(f["n"]),
                    ci,
                    _number(f["p"]),
                    "synthetic" if f["synthetic"] else "real",
                )
            )
            + f'<td class="protocol">{escape(f["protocol"])}</td></tr>'
        )
    head = "".join(f"<th>{c}</th>" for c in ("figure", "value", "n", "CI", "p", "data", "protocol"))
    return (
        f"<table><caption>figures (as in results.json)</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _plot(plot: dict[str, Any], out: Path) -> str:
    data = base64.b64encode((out / plot["png"]).read_bytes()).decode("ascii")
    svg = f" (SVG: {escape(plot['svg'])})" if plot.get("svg") else ""
    return (
        f'<figure><img alt="{escape(plot["title"])}" src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(plot['title'])}{svg}</figcaption></figure>"
    )


def _stage(stage: dict[str, Any], out: Path) -> str:
    parts = [
        f'<section id="stage-{escape(stage["name"])}"><h2>{escape(stage["title"])} '
        f'<span class="status">({escape(stage["status"])}, {stage["seconds"]:.0f} s)</span></h2>'
    ]
    parts += [f'<p class="note">{escape(n)}</p>' for n in stage["notes"]]
    if stage["figures"]:
        parts.append(_figures_table(stage["figures"]))
    parts += [
        _table(t["title"], t["columns"], t["rows"], t.get("note", "")) for t in stage["tables"]
    ]
    parts += [_plot(p, out) for p in stage["plots"]]
    parts.append("</section>")
    return "\n".join(parts)


def _overview(record: dict[str, Any]) -> str:
    model = record.get("model") or {}
    rows = [
        [
            "data",
            f"{record['data'].get('dataset', '?')} from {record['data'].get('source', '?')}"
            + (" (SYNTHETIC)" if record["synthetic"] else ""),
        ],
        [
            "language model",
            f"{model.get('name', '-')} ({model.get('architecture', '-')}); {model.get('note', '')}",
        ],
        ["model fingerprint (sha256)", str(model.get("fingerprint", "-"))],
        ["stages", ", ".join(f"{s['name']} ({s['status']})" for s in record["stages"])],
        ["software", ", ".join(f"{k} {v}" for k, v in record["software"].items() if v)],
        ["created", record["created"]],
    ]
    return _table("overview", ["", "value"], rows)


def render(record: dict[str, Any], out: Path) -> str:
    """The HTML of the report for a ``results.json`` record whose plots are under ``out``."""
    banner = (
        f'<p class="banner" id="synthetic-banner">{escape(record["warning"])}</p>'
        if record["warning"]
        else ""
    )
    stages = "\n".join(_stage(s, out) for s in record["stages"])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>vaxis study report</title><style>{STYLE}</style></head><body>"
        f"<h1>vaxis study: a shared valence axis across a language model and EEG</h1>"
        f"{banner}{_overview(record)}{stages}"
        '<p class="note">Every figure carries its protocol, n and a CI or p-value; published '
        "figures of the study are marked \u201cpublished, not run here\u201d. Machine-readable: "
        "results.json (schema: vaxis/resources/study/results.schema.json).</p>"
        "</body></html>\n"
    )


def write_report(record: dict[str, Any], out: Path) -> Path:
    """Write ``report.html`` into ``out``."""
    path = out / REPORT_FILE
    path.write_text(render(record, out), encoding="utf-8")
    return path
