"""The results table: printed to the terminal, written as Markdown and JSON.

Also the lines under the table: the issue's accuracy target (computed from
the rows) and the speed comparison, and the averaging of cross-validation
folds into one row per system.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

COLUMNS = [  # (header, key in SystemResult.row(), number format)
    ("P@1", "precision@1", "{:.3f}"), ("P@3", "precision@3", "{:.3f}"), ("P@5", "precision@5", "{:.3f}"),
    ("R@5", "recall@5", "{:.3f}"), ("F1@5", "f1@5", "{:.3f}"), ("nDCG@5", "ndcg@5", "{:.3f}"),
    ("LRAP", "lrap", "{:.3f}"), ("tuned F1", "tuned_f1", "{:.3f}"), ("train s", "train_s", "{:.1f}"),
    ("train CPU s", "train_cpu_s", "{:.1f}"),
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
    train_cpu_s: float | None = None
    #: other numbers averaged over folds (e.g. the train seconds of an ensemble's sources)
    extras: dict = field(default_factory=dict)
    #: runs (folds) this result covers, and how many the split has
    runs: int = 1
    runs_expected: int = 1

    @property
    def is_annif(self) -> bool:
        return self.name.startswith("Annif")

    def row(self) -> dict:
        return {**self.metrics, "tuned_f1": self.tuned_f1, "train_s": self.train_s,
                "train_cpu_s": self.train_cpu_s, "peak_rss_mb": self.peak_rss_mb,
                "docs_per_s": self.docs_per_s, "load_s": self.load_s}

    def label(self) -> str:
        if self.runs != self.runs_expected:
            return f"{self.name} ({self.runs}/{self.runs_expected} folds)"
        return self.name

    def to_dict(self) -> dict:
        return {"system": self.name, "metrics": {k: _round(v) for k, v in self.metrics.items()},
                "tuned_f1": _round(self.tuned_f1), "tuned_f1_mark": self.tuned_mark,
                "train_seconds": _round(self.train_s), "train_cpu_seconds": _round(self.train_cpu_s),
                "peak_rss_mb": _round(self.peak_rss_mb), "docs_per_second": _round(self.docs_per_s),
                "load_seconds": _round(self.load_s), "extras": {k: _round(v) for k, v in self.extras.items()},
                "runs": self.runs, "runs_expected": self.runs_expected, "details": self.details}


_AVERAGED = ("tuned_f1", "train_s", "train_cpu_s", "docs_per_s", "load_s")


def _mean(values) -> float | None:
    present = [v for v in values if isinstance(v, (int, float))]
    return statistics.fmean(present) if present else None


def average(results: list[SystemResult], runs_expected: int) -> SystemResult:
    """One row for a system from its rows on several folds: the mean of every metric and
    cost (peak RSS: the maximum); per-fold rows and standard deviations go to ``details``."""
    if len(results) == 1 and runs_expected == 1:
        return results[0]
    first = results[0]
    keys = [k for k in first.metrics if all(isinstance(r.metrics.get(k), (int, float)) for r in results)]
    metrics = {k: _mean(r.metrics[k] for r in results) for k in keys}
    spread = {k: statistics.stdev([r.metrics[k] for r in results]) for k in keys if len(results) > 1}
    if len(results) > 1 and all(r.tuned_f1 is not None for r in results):
        spread["tuned_f1"] = statistics.stdev([r.tuned_f1 for r in results])
    extras = {k: _mean(r.extras.get(k) for r in results) for k in first.extras}
    peaks = [r.peak_rss_mb for r in results if r.peak_rss_mb is not None]
    averaged = {name: _mean(getattr(r, name) for r in results) for name in _AVERAGED}
    details = {"averaged_over": len(results), "std_over_folds": {k: round(v, 4) for k, v in spread.items()}}
    sources = [r.details.get("sources") for r in results]
    if all(sources):  # an ensemble: its sources may differ from fold to fold
        counts = Counter(sources)
        details["sources"] = sources[0] if len(counts) == 1 else "; ".join(
            f"{combo} in {n} folds" for combo, n in counts.most_common())
    details["folds"] = [r.to_dict() for r in results]
    return SystemResult(name=first.name, metrics=metrics, tuned_mark=first.tuned_mark,
                        peak_rss_mb=max(peaks) if peaks else None, details=details, extras=extras,
                        runs=len(results), runs_expected=runs_expected, **averaged)


# ---------------------------------------------------------------------------- lines under the table
def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _best(results: list[SystemResult], key) -> SystemResult | None:
    scored = [r for r in results if key(r) is not None]
    return max(scored, key=key) if scored else None


def target_lines(results: list[SystemResult]) -> list[str]:
    """The issue's target: Fahras's error at most 2/3 of Annif's best error, for tuned F1
    and nDCG@5 (best over all Annif rows; best over all Fahras rows)."""
    annif = [r for r in results if r.is_annif]
    fahras = [r for r in results if not r.is_annif]
    lines = []
    for title, key in (("tuned F1", lambda r: r.tuned_f1), ("nDCG@5", lambda r: r.metrics.get("ndcg@5"))):
        best_annif, best_fahras = _best(annif, key), _best(fahras, key)
        if best_annif is None:
            lines.append(f"Target on {title}: n/a (no Annif row)")
            continue
        needed = 1 - (2 / 3) * (1 - key(best_annif))
        line = (f"Target on {title}: Annif's best is {_fmt(key(best_annif))} ({best_annif.label()}); "
                f"Fahras needs >= {_fmt(needed)} (1 - fahras <= 2/3 * (1 - annif_best))")
        if best_fahras is None:
            line += "; no Fahras row."
        else:
            got = key(best_fahras)
            verdict = "MET" if got >= needed else f"NOT met (short by {needed - got:.3f})"
            line += f"; best Fahras row: {_fmt(got)} ({best_fahras.label()}): {verdict}."
        lines.append(line)
    return lines


def spread_lines(results: list[SystemResult]) -> list[str]:
    """For rows averaged over folds: the standard deviation over folds of nDCG@5 and tuned F1."""
    parts = []
    for r in results:
        std = r.details.get("std_over_folds") or {}
        if "ndcg@5" in std:
            parts.append(f"{r.label()} {_fmt(std['ndcg@5'])} / {_fmt(std.get('tuned_f1'))}")
    return ["Spread over folds (standard deviation of nDCG@5 / tuned F1): " + "; ".join(parts) + "."] if parts else []


def speed_lines(results: list[SystemResult]) -> list[str]:
    """Fahras ensemble's train time vs the train time of Annif's ensemble sources, and
    both ensembles' throughput."""
    fahras = next((r for r in results if not r.is_annif and r.name.startswith("Fahras ensemble")), None)
    annif = next((r for r in results if r.name == "Annif ensemble"), None)
    nn = next((r for r in results if r.name == "Annif nn_ensemble"), None)
    if fahras is None or annif is None:
        missing = " and ".join(n for n, r in (("a Fahras ensemble row", fahras), ("an Annif ensemble row", annif))
                               if r is None)
        return [f"Speed: n/a (needs {missing})."]
    sources = annif.details.get("sources") or "its sources"
    base_s, base_cpu = annif.extras.get("sources_train_s"), annif.extras.get("sources_train_cpu_s")
    line = (f"Speed: {fahras.label()} trains in {_fmt(fahras.train_s, 1)} s wall / {_fmt(fahras.train_cpu_s, 1)} s CPU; "
            f"Annif's ensemble sources ({sources}) take {_fmt(base_s, 1)} s wall / {_fmt(base_cpu, 1)} s CPU "
            f"together")
    if base_s and fahras.train_s:
        line += f" (Fahras/Annif: {fahras.train_s / base_s:.2f}x wall"
        line += f", {fahras.train_cpu_s / base_cpu:.2f}x CPU)" if base_cpu and fahras.train_cpu_s else ")"
    if nn is not None and nn.train_s is not None:
        line += f"; Annif nn_ensemble adds {_fmt(nn.train_s, 1)} s wall / {_fmt(nn.train_cpu_s, 1)} s CPU of training"
    line += (f". Throughput: {fahras.label()} {_fmt(fahras.docs_per_s, 1)} docs/s vs Annif ensemble "
             f"{_fmt(annif.docs_per_s, 1)} docs/s")
    if fahras.docs_per_s and annif.docs_per_s:
        line += f" ({fahras.docs_per_s / annif.docs_per_s:.2f}x)"
    return [line + "."]


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


def print_table(title: str, results: list[SystemResult], below: list[str] = ()) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(title)
        print(markdown_table(results))
        for line in below:
            print(line)
        return
    table = Table(title=title)
    table.add_column("system")
    for header, _, _ in COLUMNS:
        table.add_column(header, justify="right")
    for result in results:
        table.add_row(result.label(), *cells(result))
    console = Console()
    console.width = max(console.width, 200)  # keep every column readable in logs and pipes
    console.print(table)
    for line in below:
        console.print(line, soft_wrap=True, highlight=False, markup=False)


def markdown_table(results: list[SystemResult]) -> str:
    headers = ["system"] + [h for h, _, _ in COLUMNS]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" + "---:|" * len(COLUMNS)]
    lines += ["| " + " | ".join([r.label(), *cells(r)]) + " |" for r in results]
    return "\n".join(lines)


def write_results(out_dir: Path, split: str, header: dict, results: list[SystemResult],
                  notes: list[str], below: list[str] = ()) -> tuple[Path, Path]:
    """Write ``<split>.json`` and ``<split>.md``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{split}.json", out_dir / f"{split}.md"
    data = {**header, "systems": [r.to_dict() for r in results], "summary": list(below), "notes": notes}
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    lines = [f"# Fahras vs Annif: `{split}` split", "",
             f"- command: `{header['command']}`", f"- date: {header['date']}",
             f"- data: {header['data_summary']}", f"- machine: {header['machine']}"]
    if header.get("run_seconds") is not None:
        lines.append(f"- run time: {header['run_seconds'] / 60:.1f} min wall clock for the whole command")
    lines += ["", markdown_table(results), ""]
    lines += [f"- {line}" for line in below]
    lines += ["", "## Notes", ""]
    lines += [f"- {note}" for note in notes]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return json_path, md_path


def _docs_markers(split: str) -> tuple[str, str]:
    return (f"<!-- vs_annif {split}: written by benchmarks/vs_annif.py --write-docs; edits in here are replaced -->",
            f"<!-- /vs_annif {split} -->")


def write_docs(docs_path: Path, split: str, header: dict, results: list[SystemResult],
               below: list[str] = ()) -> Path:
    """Put the run's table, with its command and date, into ``docs_path`` (atomically).

    The table goes between the split's two marker comments, replacing what
    was there; without them, a new section with the markers is appended.
    """
    start, end = _docs_markers(split)
    lines = [start, "", f"- command: `{header['command']}`", f"- date: {header['date']}",
             f"- data: {header['data_summary']}", f"- machine: {header['machine']}"]
    if header.get("run_seconds") is not None:
        lines.append(f"- run time: {header['run_seconds'] / 60:.1f} min wall clock for the whole command")
    lines += ["", markdown_table(results), ""] + [f"- {line}" for line in below] + ["", end]
    block = "\n".join(lines)
    text = docs_path.read_text(encoding="utf-8") if docs_path.exists() else "# Benchmarks\n"
    first, last = text.find(start), text.find(end)
    if first >= 0 and last > first:
        text = text[:first] + block + text[last + len(end):]
    else:
        text = text.rstrip("\n") + f"\n\n## Fahras vs Annif, `{split}` split\n\n{block}\n"
    tmp = docs_path.with_name(f".{docs_path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(docs_path)
    return docs_path
