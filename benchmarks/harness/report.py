"""The results table: printed to the terminal, written as Markdown and JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

COLUMNS = [  # (header, key in SystemResult.row(), number format)
    ("P@1", "precision@1", "{:.3f}"), ("P@3", "precision@3", "{:.3f}"), ("P@5", "precision@5", "{:.3f}"),
    ("R@5", "recall@5", "{:.3f}"), ("F1@5", "f1@5", "{:.3f}"), ("nDCG@5", "ndcg@5", "{:.3f}"),
    ("LRAP", "lrap", "{:.3f}"), ("tuned F1", "tuned_f1", "{:.3f}"), ("train s", "train_s", "{:.1f}"),
    ("peak RSS MB", "peak_rss_mb", "{:.0f}"), ("docs/s", "docs_per_s", "{:.1f}"), ("load s", "load_s", "{:.2f}"),
]


@dataclass
class SystemResult:
    """One system's scores and costs on one split."""

    name: str
    metrics: dict
    tuned_f1: float | None = None
    tuned_mark: str = ""
    train_s: float | None = None
    peak_rss_mb: float | None = None
    docs_per_s: float | None = None
    load_s: float | None = None
    details: dict = field(default_factory=dict)

    def row(self) -> dict:
        return {**self.metrics, "tuned_f1": self.tuned_f1, "train_s": self.train_s,
                "peak_rss_mb": self.peak_rss_mb, "docs_per_s": self.docs_per_s, "load_s": self.load_s}

    def to_dict(self) -> dict:
        return {"system": self.name, "metrics": {k: _round(v) for k, v in self.metrics.items()},
                "tuned_f1": _round(self.tuned_f1), "tuned_f1_mark": self.tuned_mark,
                "train_seconds": _round(self.train_s), "peak_rss_mb": _round(self.peak_rss_mb),
                "docs_per_second": _round(self.docs_per_s), "load_seconds": _round(self.load_s),
                "details": self.details}


def _round(value, digits: int = 4):
    return round(value, digits) if isinstance(value, float) else value


def cells(result: SystemResult) -> list[str]:
    row = result.row()
    out = []
    for header, key, fmt in COLUMNS:
        value = row.get(key)
        text = "n/a" if value is None else fmt.format(value)
        if key == "tuned_f1" and value is not None and result.tuned_mark:
            text += result.tuned_mark
        out.append(text)
    return out


def print_table(title: str, results: list[SystemResult]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(title)
        print(markdown_table(results))
        return
    table = Table(title=title)
    table.add_column("system")
    for header, _, _ in COLUMNS:
        table.add_column(header, justify="right")
    for result in results:
        table.add_row(result.name, *cells(result))
    console = Console()
    console.width = max(console.width, 180)  # keep every column readable in logs and pipes
    console.print(table)


def markdown_table(results: list[SystemResult]) -> str:
    headers = ["system"] + [h for h, _, _ in COLUMNS]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" + "---:|" * len(COLUMNS)]
    lines += ["| " + " | ".join([r.name, *cells(r)]) + " |" for r in results]
    return "\n".join(lines)


def write_results(out_dir: Path, split: str, header: dict, results: list[SystemResult],
                  notes: list[str]) -> tuple[Path, Path]:
    """Write ``<split>.json`` and ``<split>.md``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{split}.json", out_dir / f"{split}.md"
    data = {**header, "systems": [r.to_dict() for r in results], "notes": notes}
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    lines = [f"# Fahras vs Annif: `{split}` split", "",
             f"- command: `{header['command']}`", f"- date: {header['date']}",
             f"- data: {header['data_summary']}", f"- machine: {header['machine']}", "",
             markdown_table(results), "", "## Notes", ""]
    lines += [f"- {note}" for note in notes]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return json_path, md_path
