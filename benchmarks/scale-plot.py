#!/usr/bin/env python3
"""Plots the scale table (benchmarks/scale.sh): one panel per cost against the record count (log-log).

    python3 benchmarks/scale-plot.py benchmarks/results/scale-384.jsonl benchmarks/results/scale-384.png

Uses matplotlib when it is installed, else gnuplot (Debian: apt-get install gnuplot-nox). Also prints the table as
Markdown (the README's "Scale" table). Lines with the same n: the last one wins. Lines of a store without documents
(`scale --documents off`) are kept apart: they only feed the "no documents" disk table. Also prints, when the lines
have them, the filtered-query table (`filtered_curve`) and the hnswlib table (`anchor_curve`, `scale --anchor hnswlib`).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

MIB = 1048576.0

# (title, unit, value of one JSON line)
PANELS = [
    ("durable ingest", "records/s", lambda r: r["ingest_records_per_second"]),
    ("index ready", "s", lambda r: r["index_ready_seconds"]),
    ("query p50 at recall 0.95", "ms", lambda r: r.get("query_p50_ms_095")),
    ("query p99 at recall 0.95", "ms", lambda r: r.get("query_p99_ms_095")),
    ("reopen to first query", "s", lambda r: r["reopen_first_query_seconds"]),
    ("compaction (20 % deleted)", "s", lambda r: r.get("compact_seconds")),
    ("backup", "s", lambda r: r.get("backup_seconds")),
    ("RSS querying (store alone)", "MiB", lambda r: r.get("rss_store_only_bytes", r["rss_querying_bytes"]) / MIB),
    ("disk (total)", "MiB", lambda r: r["disk_bytes"]["total"] / MIB),
    ("longest writer wait", "ms", lambda r: r["write_wait_max_ms"]),
]


def load(path, documents=True):
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                r = json.loads(line)
                if r.get("command") == "scale" and r.get("documents", True) == documents:
                    rows[r["n"]] = r
    return [rows[n] for n in sorted(rows)]


def filtered_table(rows):
    out = ["| records | filter (share of rows) | ef | recall@10 | p50 / p99 ms | QPS | p50 / p99 vs unfiltered at the same ef |",
           "|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        for p in r.get("filtered_curve", []):
            out.append(
                f"| {r['n']:,} | `bucket $lt {round(p['selectivity'] * 1000)}` ({p['selectivity'] * 100:g} %) | {p['ef']} | {p['recall_at_10']:.4f} "
                f"| {fmt(p['p50_ms'])} / {fmt(p['p99_ms'])} | {fmt(p['qps'], 0)} | {fmt(p['p50_over_unfiltered'])}× / {fmt(p['p99_over_unfiltered'])}× |")
    return "\n".join(out) if len(out) > 2 else ""


def anchor_table(rows):
    out = ["| records | hnswlib build s (threads) | store index ready / hnswlib build | ef @0.95 store / hnswlib | QPS @0.95 store / hnswlib | ratio "
           "| p50 ms @0.95 store / hnswlib | p50 ratio (hnswlib / store) |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "anchor_curve" not in r:
            continue
        by_ef = {p["ef"]: p for p in r["anchor_curve"]}
        store = by_ef.get(r.get("anchor_store_ef_095"), {}).get("store_p50_ms")
        native = by_ef.get(r.get("anchor_hnswlib_ef_095"), {}).get("hnswlib_p50_ms")
        out.append(
            f"| {r['n']:,} | {fmt(r['hnswlib_build_seconds'], 1)} ({r['hnswlib_build_threads']}) | {fmt(r.get('index_ready_over_hnswlib_build'))}× "
            f"| {r.get('anchor_store_ef_095', '–')} / {r.get('anchor_hnswlib_ef_095', '–')} "
            f"| {fmt(r.get('anchor_store_qps_095'), 0)} / {fmt(r.get('anchor_hnswlib_qps_095'), 0)} | {fmt(r.get('qps_095_over_hnswlib'))}× "
            f"| {fmt(store, 3)} / {fmt(native, 3)} | {fmt(native / store if store and native else None)}× |")
    return "\n".join(out) if len(out) > 2 else ""


def disk_table(rows):
    out = ["| records | documents / metadata | raw vectors MiB | disk MiB: sqlite / vectors / graph / total | disk / raw | allocated / raw | SQLite free MiB |",
           "|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        d = r["disk_bytes"]
        raw = r["n"] * r["dim"] * 4
        free = r.get("sqlite_breakdown", {}).get("freelist_bytes")
        out.append(
            f"| {r['n']:,} | {'on' if r.get('documents', True) else 'off'} / {'on' if r.get('metadata', True) else 'off'} | {fmt(raw / MIB, 0)} "
            f"| {fmt(d.get('sqlite', 0) / MIB, 0)} / {fmt(d.get('vectors', 0) / MIB, 0)} / {fmt(d.get('graph', 0) / MIB, 0)} / {fmt(d['total'] / MIB, 0)} "
            f"| {fmt(d['total'] / raw)}× | {fmt(r['disk_allocated_bytes'] / raw if 'disk_allocated_bytes' in r else None)}× | {fmt(free / MIB if free is not None else None, 1)} |")
    return "\n".join(out)


def fmt(v, digits=2):
    return "–" if v is None else f"{v:,.{digits}f}"


def ef_or_more(r, key):
    """The ef that reached the recall, or "> the largest ef measured" when none did."""
    if r.get(key) is not None:
        return r[key]
    curve = r.get("query_curve") or []
    return f"> {max(p['ef'] for p in curve)}" if curve else "–"


def table(rows):
    out = ["| records | ingest rec/s | index ready s | ef @0.95 | p50/p99 ms @0.95 | ef @0.99 | p50/p99 ms @0.99 | reopen→query s "
           "| compact s (20 % deleted) | backup s | RSS querying MiB: store alone / in the benchmark | disk MiB: sqlite / vectors / graph / total | writer wait max ms | load avg (1 min) start / end |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        d = r["disk_bytes"]
        out.append(
            f"| {r['n']:,} | {fmt(r['ingest_records_per_second'], 0)} | {fmt(r['index_ready_seconds'], 1)} | {ef_or_more(r, 'ef_recall_095')} "
            f"| {fmt(r.get('query_p50_ms_095'))} / {fmt(r.get('query_p99_ms_095'))} | {ef_or_more(r, 'ef_recall_099')} "
            f"| {fmt(r.get('query_p50_ms_099'))} / {fmt(r.get('query_p99_ms_099'))} | {fmt(r['reopen_first_query_seconds'], 3)} "
            f"| {fmt(r.get('compact_seconds'))} | {fmt(r.get('backup_seconds'))} | {fmt(r['rss_store_only_bytes'] / MIB if 'rss_store_only_bytes' in r else None, 0)} / {fmt(r['rss_querying_bytes'] / MIB, 0)} "
            f"| {fmt(d.get('sqlite', 0) / MIB, 0)} / {fmt(d.get('vectors', 0) / MIB, 0)} / {fmt(d.get('graph', 0) / MIB, 0)} / {fmt(d['total'] / MIB, 0)} "
            f"| {fmt(r.get('write_wait_max_ms'), 1)} | {fmt(r.get('load_avg_1m_start'), 1)} / {fmt(r.get('load_avg_1m_end'), 1)} |")
    return "\n".join(out)


def plot_matplotlib(rows, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 5, figsize=(20, 7.5))
    ns = [r["n"] for r in rows]
    for ax, (title, unit, f) in zip(axes.flat, PANELS):
        pts = [(n, f(r)) for n, r in zip(ns, rows) if f(r) is not None]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{title} ({unit})")
        ax.set_xlabel("records")
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("EmbeddedChroma scale: 384-d cosine, batches of 1,000 with metadata and documents")
    fig.tight_layout()
    fig.savefig(png, dpi=100)


def plot_gnuplot(rows, png):
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        sys.exit("Neither matplotlib nor gnuplot is installed: apt-get install gnuplot-nox (or python3-matplotlib).")
    with tempfile.TemporaryDirectory() as tmp:
        script = [f"set terminal pngcairo size 2000,750 font ',10'" if _has_cairo(gnuplot) else "set terminal png size 2000,750",
                  f"set output '{png}'",
                  "set multiplot layout 2,5 title 'EmbeddedChroma scale: 384-d cosine, batches of 1,000 with metadata and documents'",
                  "set logscale xy", "set grid", "set xlabel 'records'", "unset key", "set format x '%.0s%c'"]
        for i, (title, unit, f) in enumerate(PANELS):
            data = os.path.join(tmp, f"p{i}.dat")
            with open(data, "w", encoding="utf-8") as out:
                for r in rows:
                    v = f(r)
                    if v is not None and v > 0:
                        out.write(f"{r['n']} {v}\n")
            script.append(f"set title '{title} ({unit})'")
            script.append(f"plot '{data}' using 1:2 with linespoints pt 7 lw 2")
        script.append("unset multiplot")
        path = os.path.join(tmp, "scale.gp")
        with open(path, "w", encoding="utf-8") as out:
            out.write("\n".join(script) + "\n")
        subprocess.run([gnuplot, path], check=True)


def _has_cairo(gnuplot):
    terms = subprocess.run([gnuplot, "-e", "set terminal"], capture_output=True, text=True)
    return "pngcairo" in (terms.stdout + terms.stderr)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: scale-plot.py RESULTS.jsonl OUT.png")
    rows = load(sys.argv[1])
    if not rows:
        sys.exit(f"No scale lines in {sys.argv[1]}.")
    print(table(rows))
    for extra in (filtered_table(rows), anchor_table(rows)):
        if extra:
            print()
            print(extra)
    print()
    print(disk_table(rows + load(sys.argv[1], documents=False)))
    try:
        plot_matplotlib(rows, sys.argv[2])
    except ImportError:
        plot_gnuplot(rows, sys.argv[2])
    print(f"wrote {sys.argv[2]}")


if __name__ == "__main__":
    main()
