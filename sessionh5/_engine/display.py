"""Summaries for people: aligned text in a terminal, small HTML tables in a notebook.

RestoreReport, SessionInfo, SessionDiff and Archive show the same facts both ways
(``__repr__`` and ``_repr_html_``), so both are built from one :class:`Summary`.
Everything shown is escaped: names and values come from files. Long lists are cut
(``MAX_ROWS``), so a report of 20,000 skipped objects stays a screenful.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

__all__ = ["MAX_ROWS", "Summary", "Table"]

#: Rows of one table shown before "... N more".
MAX_ROWS = 20


@dataclass(slots=True)
class Table:
    """A titled table: column headers and rows of text."""

    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)


@dataclass(slots=True)
class Summary:
    """A title, label/value facts and tables."""

    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)

    def text(self) -> str:
        """Aligned lines: the title, the facts, then each table indented under its title."""
        lines = [self.title]
        width = max((len(label) for label, _ in self.facts), default=0) + 2
        lines += [f"  {label:<{width}}{value}" for label, value in self.facts]
        for table in self.tables:
            lines.append(f"  {table.title}")
            shown, more = _cut(table.rows)
            rows = [table.header, *shown]
            widths = [max(len(r[i]) for r in rows) for i in range(len(table.header))]
            lines += ["    " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
                      .rstrip() for row in rows]
            if more:
                lines.append(f"    ... {more} more")
        return "\n".join(lines)

    def html(self) -> str:
        """A <div> with a facts table and one table per section, everything escaped."""
        left = ' style="text-align:left"'
        parts = [f'<div class="sessionh5"><strong>{escape(self.title)}</strong>']
        if self.facts:
            parts.append("<table>" + "".join(
                f"<tr><th{left}>{escape(label)}</th><td{left}>{escape(value)}</td></tr>"
                for label, value in self.facts) + "</table>")
        for table in self.tables:
            shown, more = _cut(table.rows)
            head = "".join(f"<th{left}>{escape(h)}</th>" for h in table.header)
            body = "".join("<tr>" + "".join(f"<td{left}>{escape(c)}</td>" for c in row)
                           + "</tr>" for row in shown)
            if more:
                body += f'<tr><td colspan="{len(table.header)}">... {more} more</td></tr>'
            parts.append(f"<details open><summary>{escape(table.title)}</summary>"
                         f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                         "</details>")
        return "".join(parts) + "</div>"


def _cut(rows: list[tuple[str, ...]]) -> tuple[list[tuple[str, ...]], int]:
    if len(rows) <= MAX_ROWS:
        return rows, 0
    return rows[:MAX_ROWS], len(rows) - MAX_ROWS
