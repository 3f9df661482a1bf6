"""The data-health report: one self-contained HTML file (charts and thumbnails inside) or JSON.

The HTML needs nothing else to open: charts are inline SVG, thumbnails are
base64 JPEG data, and the text is in the language the report was made in,
mirrored for right-to-left languages.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from engine.cleaning.findings import Finding, affected_rows
from engine.core import i18n
from engine.core.about import app_version
from engine.core.atomic import write_atomic
from engine.core.i18n import _, ngettext
from engine.data.datasets import Dataset

_SEVERITY_COLOURS = {"error": "#b3261e", "warning": "#b35900", "info": "#2f6fba"}
#: Rows listed per finding in the HTML report (the JSON report lists all of them).
_ROWS_PER_FINDING = 200
#: Of those, how many image rows carry a thumbnail (each is a few kB inside the file).
_ROW_THUMBNAILS = 60


def severity_name(severity: str) -> str:
    return {"error": _("Error"), "warning": _("Warning"), "info": _("Note")}[severity]


def language_mix(findings: Sequence[Finding]) -> dict[str, int]:
    for finding in findings:
        if finding.kind == "text.language_mix":
            counts = finding.stats.get("counts", finding.stats)
            return {str(code): int(n) for code, n in counts.items() if isinstance(n, int)}
    return {}


def bar_chart_svg(counts: dict[str, int], width: int = 640, bar: int = 22) -> str:
    """Horizontal bars, largest first; drawn from the reading direction's start."""
    if not counts:
        return ""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:30]
    top = max(value for _, value in items) or 1
    label_width, gap = 180, 6
    height = len(items) * (bar + gap)
    rtl = i18n.is_rtl()
    rows = []
    for index, (name, value) in enumerate(items):
        y = index * (bar + gap)
        length = (width - label_width - 70) * value / top
        x_bar = width - label_width - length if rtl else label_width
        x_label = width - label_width + 8 if rtl else label_width - 8
        x_value = x_bar - 6 if rtl else x_bar + length + 6
        anchor_label, anchor_value = ("start", "end") if rtl else ("end", "start")
        rows.append(
            f'<text x="{x_label:.0f}" y="{y + bar * 0.72:.0f}" '
            f'text-anchor="{anchor_label}">{escape(str(name))}</text>'
            f'<rect x="{x_bar:.1f}" y="{y}" width="{length:.1f}" height="{bar}" '
            'rx="3" fill="#2f6fba"/>'
            f'<text x="{x_value:.0f}" y="{y + bar * 0.72:.0f}" '
            f'text-anchor="{anchor_value}">{escape(i18n.format_number(value))}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-size="13" font-family="sans-serif" role="img">{"".join(rows)}</svg>'
    )


def _thumbnail_data(path: str) -> str | None:
    from engine.data.images import load_rgb, thumbnail_jpeg

    try:
        data = thumbnail_jpeg(load_rgb(path, target_min_side=96), 96, quality=80)
    except Exception:  # a broken image is exactly what some findings are about
        return None
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def _row_columns(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(key, heading) of the columns the rows of a finding have, in a fixed order."""
    headings = {
        "row": _("Row"),
        "item": _("Item"),
        "label": _("Label"),
        "suggested_label": _("Suggested label"),
        "confidence": _("Confidence"),
        "group": _("Group"),
        "kept": _("Kept"),
    }
    present = {key for row in rows for key in row}
    return [(key, heading) for key, heading in headings.items() if key in present]


def _cell_html(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "kept":
        return escape(_("kept") if value else _("removed"))
    if key == "confidence" and isinstance(value, (int, float)):
        return escape(i18n.format_percent(float(value)))
    if key == "group" and isinstance(value, int):
        return escape(i18n.format_number(value + 1))
    text = str(value)
    return f"<bdi>{escape(text if len(text) <= 300 else text[:299] + '…')}</bdi>"


def _rows_html(dataset: Dataset, finding: Finding) -> str:
    """Every affected row (up to ``_ROWS_PER_FINDING``, then how many more), with a
    thumbnail for the first image rows and the suggested label or kept row beside it."""
    rows = affected_rows(finding, dataset.frame)
    if not rows:
        return ""
    shown = rows[:_ROWS_PER_FINDING]
    columns = _row_columns(shown)
    images = dataset.task == "image"
    head = ("<th></th>" if images else "") + "".join(
        f"<th>{escape(heading)}</th>" for _key, heading in columns
    )
    body = []
    for index, row in enumerate(shown):
        cells = []
        if images:
            data = (
                _thumbnail_data(row["item"])
                if index < _ROW_THUMBNAILS and row.get("item")
                else None
            )
            cells.append(f'<td><img src="{data}" alt="" width="64"></td>' if data else "<td></td>")
        for key, _heading in columns:
            value = (
                Path(row[key]).name if images and key == "item" and row.get(key) else row.get(key)
            )
            cells.append(f"<td>{_cell_html(key, value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(rows) > len(shown):
        hidden = len(rows) - len(shown)
        more = (
            "<p>"
            + escape(
                ngettext(
                    "… and {n} more row (all of them are in the JSON report)",
                    "… and {n} more rows (all of them are in the JSON report)",
                    hidden,
                ).format(n=i18n.format_number(hidden))
            )
            + "</p>"
        )
    return (
        f"<table class='preview rows'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>{more}"
    )


def build_html(
    dataset: Dataset, findings: Sequence[Finding], created: datetime | None = None
) -> str:
    created = created or datetime.now()
    heading, classes_heading, findings_heading = (
        _("Data health report"),
        _("Classes"),
        _("Findings"),
    )
    languages_heading, nothing_found, fix_heading = (
        _("Languages"),
        _("No problems found."),
        _("Suggested fix:"),
    )
    direction = "rtl" if i18n.is_rtl() else "ltr"
    counts = {str(k): int(v) for k, v in dataset.class_counts().items()}
    total = len(dataset)
    summary = (
        ngettext("{n} item", "{n} items", total).format(n=i18n.format_number(total))
        + " · "
        + ngettext("{n} class", "{n} classes", len(counts)).format(
            n=i18n.format_number(len(counts))
        )
    )
    lang = escape(i18n.current_language().replace("_", "-"))
    parts = [
        f"<!DOCTYPE html><html lang='{lang}' dir='{direction}'>",
        "<head><meta charset='utf-8'>",
        f"<title>{escape(heading)} — {escape(dataset.name)}</title>",
        "<style>body{font-family:system-ui,'Noto Sans',"
        "'Noto Sans CJK SC','Noto Sans Arabic',sans-serif;"
        "max-width:980px;margin:2em auto;padding:0 1em;color:#1d1d1f}"
        ".finding{border-inline-start:5px solid var(--c);padding:.3em 1em;"
        "margin:1.2em 0;background:#f6f7f9}"
        ".badge{color:#fff;background:var(--c);border-radius:4px;padding:1px 6px;font-size:.85em}"
        "table.preview{border-collapse:collapse;font-size:.9em}table.preview td,table.preview th"
        "{border:1px solid #ccd;padding:3px 6px;text-align:start}"
        ".thumbs{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;width:100px;font-size:.75em}"
        "figcaption{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}"
        ".broken{width:96px;height:96px;background:#eee;display:flex;align-items:center;"
        "justify-content:center}"
        "</style></head><body>",
        f"<h1>{escape(heading)}</h1>",
        f"<p><b><bdi>{escape(dataset.name)}</bdi></b> — "
        f"<bdi>{escape(dataset.source.path)}</bdi><br>{escape(summary)}<br>",
        escape(
            _("Made by Taxon {version} on {date}.").format(
                version=app_version(), date=i18n.format_datetime(created)
            )
        ),
        "</p>",
        f"<h2>{escape(classes_heading)}</h2>",
        bar_chart_svg(counts),
    ]
    languages = language_mix(findings)
    if languages:
        parts += [f"<h2>{escape(languages_heading)}</h2>", bar_chart_svg(languages)]
    parts.append(f"<h2>{escape(findings_heading)}</h2>")
    if not findings:
        parts.append(f"<p>{escape(nothing_found)}</p>")
    for finding in findings:
        colour = _SEVERITY_COLOURS[finding.severity]
        count = ngettext("{n} row", "{n} rows", finding.count).format(
            n=i18n.format_number(finding.count)
        )
        count_html = f" <small>({escape(count)})</small>" if finding.count else ""
        parts.append(
            f"<section class='finding' style='--c:{colour}'>"
            f"<h3><span class='badge'>{escape(severity_name(finding.severity))}</span> "
            f"{escape(finding.title.text())}{count_html}</h3>"
            f"<p>{escape(finding.explanation.text())}</p>"
        )
        if finding.fix is not None:
            parts.append(
                f"<p><b>{escape(fix_heading)}</b> {escape(finding.fix.description.text())}</p>"
            )
        parts.append(_rows_html(dataset, finding))
        parts.append("</section>")
    parts.append("</body></html>")
    return "".join(parts)


def findings_json(dataset: Dataset, findings: Sequence[Finding]) -> dict[str, Any]:
    """The report as data. Each finding's ``rows`` names every row it affects (file or
    text, label, suggested label and confidence, duplicate group and which row is
    kept), so a finding can be checked without opening Taxon."""
    return {
        "format": "taxon-findings",
        "version": 1,
        "language": i18n.current_language(),
        "dataset": {
            "name": dataset.name,
            "task": dataset.task,
            "rows": len(dataset),
            "source": dataset.source.to_json(),
            "classes": {str(k): int(v) for k, v in dataset.class_counts().items()},
        },
        "findings": [
            dict(finding.to_json(), rows=affected_rows(finding, dataset.frame))
            for finding in findings
        ],
    }


def write_report(dataset: Dataset, findings: Sequence[Finding], path: str | Path) -> Path:
    """HTML or JSON by the file's extension, written atomically.

    A file name that is not valid UTF-8 (bytes from another system's disk) is written
    as ``\\xe9``-style escapes rather than failing; in JSON that is a valid escape.
    A refused write is a ``UserError`` whose hint fits (read-only, disk full, no folder).
    """
    from engine.core.output_folder import write_problem

    path = Path(path)
    if path.suffix.lower() == ".json":
        text = json.dumps(findings_json(dataset, findings), ensure_ascii=False, indent=2)
    else:
        text = build_html(dataset, findings)
    try:
        write_atomic(path, text.encode("utf-8", "backslashreplace"))
    except OSError as error:
        raise write_problem(error, path) from error
    return path
