"""Evaluation records as text: Markdown tables for summaries and the HTML sections of the report page.

A record (what ``metrics.json`` holds) is ``{"title", "count", "metrics": {name: value}}`` with, when
present, ``"reference"`` (the same numbers on the ground truth), ``"skipped"`` ({what: reason}) and
``"plots"`` ({metric: file name beside the page}).
"""

from __future__ import annotations

import html
from typing import Any

MISSING = "—"


def format_value(value: float | None) -> str:
    """Four significant digits; a missing value is a dash."""
    return MISSING if value is None else f"{value:.4g}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table ('|' in cells escaped)."""
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


def metric_rows(record: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """One row per reported number: metric | output [| ground truth]."""
    reference = record.get("reference") or {}
    header = ["metric", "output", *(["ground truth"] if reference else [])]
    rows = [[name, format_value(value), *([format_value(reference.get(name))] if reference else [])]
            for name, value in record["metrics"].items()]
    return header, rows


def skipped_lines(skipped: dict[str, str]) -> list[str]:
    return [f"- {name}: skipped: {reason}" for name, reason in skipped.items()]


def summary_markdown(record: dict[str, Any]) -> str:
    """summary.md: the title, the pair count, the metric table, what was skipped and the plots."""
    header, rows = metric_rows(record)
    parts = [f"# {record['title']}", f"{record['count']} pairs.", markdown_table(header, rows)]
    if record.get("skipped"):
        parts.append("Skipped:\n\n" + "\n".join(skipped_lines(record["skipped"])))
    parts += [f"![{name}]({file})" for name, file in (record.get("plots") or {}).items()]
    return "\n\n".join(parts) + "\n"


def report_html(record: dict[str, Any]) -> str:
    """The page's head section: the metric table, skipped metrics with reasons, then the plots."""
    header, rows = metric_rows(record)
    table = "<table class=metrics><tr>{}</tr>\n{}</table>".format(
        "".join(f"<th>{html.escape(h)}</th>" for h in header),
        "\n".join("<tr><th>{}</th>{}</tr>".format(
            html.escape(row[0]), "".join(f"<td>{html.escape(cell)}</td>" for cell in row[1:])) for row in rows))
    skipped = "".join(f"<li>{html.escape(name)}: skipped: {html.escape(reason)}</li>"
                      for name, reason in (record.get("skipped") or {}).items())
    plots = "".join(f'<figure><img class=plot src="{html.escape(file)}"><figcaption>{html.escape(name)}'
                    f"</figcaption></figure>" for name, file in (record.get("plots") or {}).items())
    return table + (f"<ul>{skipped}</ul>" if skipped else "") + plots
