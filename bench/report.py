#!/usr/bin/env python3
"""Runs xent_bench and prints the targets table of docs/PERFORMANCE.md as measured ratios.

Every figure is a ratio of two benchmarks of the same binary in the same run (medians over the
repetitions of floats/second), so a noisy or slow machine still gives a fair verdict. Repetitions
are interleaved in random order, so a slow phase of a shared machine hits every case alike instead
of whichever case was running then.
Exits 1 when a target is missed (or a baseline disagreed with xent), 0 when all are met.

  python3 bench/report.py build/host/bench/xent_bench              # P1-P7, Q1-Q3, R1-R4, M1 (5 repetitions)
  python3 bench/report.py BIN --quick                              # fewer, shorter repetitions
  python3 bench/report.py BIN --all                                # also kernels and metric updates
  python3 bench/report.py BIN --cross-build build/aarch64 --cross-build build/armhf   # adds M2, A1-A2
  python3 bench/report.py --arm-only --cross-build build/aarch64 --cross-build build/armhf  # A1-A2 alone
  python3 bench/report.py --json saved.json                        # report on a saved run

Standard library only (Python 3.6+).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arm_counts  # noqa: E402  (next to this file)
from report_memory import m1, m2, m2_notes, print_memory  # noqa: E402


HOT_CASE = "sparse_logits_f32_4x32000"  # P1's rows hot in L2: a diagnostic, no target
HOT_CASE_F16 = "sparse_logits_f16_4x32000"  # the same in float16, for P2's cap
P4_KINDS = ["sparse_logits_f32", "sparse_probs_f32", "categorical_logits_f32", "categorical_probs_f32"]


# ---------------------------------------------------------------- running and reading the benchmarks
def run_benchmarks(binary, args):
    fd, out_path = tempfile.mkstemp(prefix="xent_bench_", suffix=".json")
    os.close(fd)
    cmd = [binary,
           "--benchmark_filter=" + args.filter,
           "--benchmark_repetitions=%d" % args.repetitions,
           "--benchmark_min_time=%g" % args.min_time,
           "--benchmark_enable_random_interleaving=true",
           "--benchmark_display_aggregates_only=true",
           "--benchmark_out=" + out_path,
           "--benchmark_out_format=json"]
    env = dict(os.environ)
    if args.isa:
        env["XENT_ISA"] = args.isa
    print("running: " + " ".join(cmd), file=sys.stderr)
    # The console table goes to stderr, so stdout carries only the report.
    proc = subprocess.run(cmd, stdout=sys.stderr, env=env)
    if proc.returncode != 0:
        sys.exit("xent_bench failed with exit code %d" % proc.returncode)
    with open(out_path) as f:
        data = json.load(f)
    if args.save_json:
        with open(args.save_json, "w") as f:
            json.dump(data, f, indent=1)
    os.unlink(out_path)
    return data


class Results:
    """Medians per benchmark name, from the individual repetitions."""

    def __init__(self, data):
        self.context = data.get("context", {})
        runs = {}
        self.errors = {}
        for b in data.get("benchmarks", []):
            name = b.get("run_name", b["name"])
            if b.get("error_occurred"):
                self.errors[name] = b.get("error_message", "error")
                continue
            if b.get("run_type", "iteration") != "iteration":
                continue
            runs.setdefault(name, []).append(b)
        self.items = {n: statistics.median(r.get("items_per_second", 0.0) for r in rs) for n, rs in runs.items()}
        self.rows = {n: statistics.median(r.get("rows/s", 0.0) for r in rs) for n, rs in runs.items()}
        self.reps = {n: len(rs) for n, rs in runs.items()}
        self.first = {n: rs[0] for n, rs in runs.items()}  # per-iteration counters (same in every repetition)

    def find(self, group, case, impl):
        """items/s median of "<group>/<case>/<impl>" or None (absent), or the error string."""
        name = "%s/%s/%s" % (group, case, impl)
        if name in self.errors:
            return "error: " + self.errors[name]
        return self.items.get(name)


# ---------------------------------------------------------------- the targets
class Table:
    def __init__(self, complete=True):
        self.lines = []
        self.missed = []
        self.complete = complete  # False when a --filter left cases out: absent ones are not misses
        self.notes = []  # context lines printed under the table (no target)

    def check(self, target, what, ours, base, base_name, need, strict=False, unit=None):
        """ours/base >= need (or > need when strict). Absent baselines are n/a, errors are missed."""
        if isinstance(ours, str) or isinstance(base, str):
            msg = ours if isinstance(ours, str) else base
            self.lines.append((target, what, base_name, "-", "-", ">=%g" % need, "MISSED (%s)" % msg))
            self.missed.append("%s %s vs %s: %s" % (target, what, base_name, msg))
            return
        if ours is None or base is None or base == 0:
            status = ("n/a (not built)" if self.complete else "not run") if base is None else "n/a"
            if ours is None:
                status = "not run"
                if self.complete:
                    status = "MISSED (xent case not run)"
                    self.missed.append("%s %s: no xent result" % (target, what))
            self.lines.append((target, what, base_name, fmt_rate(ours, unit), fmt_rate(base, unit),
                               (">" if strict else ">=") + "%g" % need, status))
            return
        ratio = ours / base
        ok = ratio > need if strict else ratio >= need
        status = "met" if ok else "MISSED"
        if not ok:
            self.missed.append("%s %s vs %s: %.2fx (need %s%g)" % (target, what, base_name, ratio,
                                                                  ">" if strict else ">=", need))
        self.lines.append((target, what, base_name, fmt_rate(ours, unit), fmt_rate(base, unit),
                           "%.2fx %s %g" % (ratio, ">" if strict else ">=", need), status))

    def info(self, target, what, text):
        self.notes.append("%s  %s: %s" % (target, what, text))

    def fixed(self, target, what, value, limit_text, ok):
        self.lines.append((target, what, "", value, "", limit_text, "met" if ok else "MISSED"))
        if not ok:
            self.missed.append("%s %s: %s (%s)" % (target, what, value, limit_text))

    def print(self):
        head = ("target", "case", "vs", "xent", "baseline", "ratio / limit", "status")
        widths = [max(len(str(r[i])) for r in self.lines + [head]) for i in range(len(head))]
        line = "  ".join("%-*s" % (w, h) for w, h in zip(widths, head))
        print(line)
        print("-" * len(line))
        for r in self.lines:
            print("  ".join("%-*s" % (w, str(c)) for w, c in zip(widths, r)).rstrip())
        if self.notes:
            print()
            print("Notes (no target)")
            for n in self.notes:
                print("  " + n)


def fmt_rate(v, unit=None):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if unit == "ns/row":
        return "%.1f ns/row" % (1e9 / v) if v else "-"
    return "%.3g Gfl/s" % (v / 1e9)


def p_table(res, t):
    ctx = res.context
    isa = ctx.get("xent_isa", "?")
    # P1
    p1 = "sparse_logits_f32_256x32000"
    ours = res.find("P1", p1, "xent")
    t.check("P1", p1, ours, res.find("P1", p1, "xsimd_naive"), "xsimd_naive", 2.5)
    t.check("P1", p1, ours, res.find("P1", p1, "scalar"), "scalar", 30)
    t.check("P1", p1, ours, res.find("P1", p1, "torch"), "torch", 6)
    limit = res.find("P1", p1, "sum")
    naive = res.find("P1", p1, "xsimd_naive")
    if isinstance(limit, float) and isinstance(naive, float):
        t.info("P1", p1, "memory limit (plain sum, same buffer) %s = %.2fx naive" % (fmt_rate(limit), limit / naive))
    hot = HOT_CASE
    ours_hot, naive_hot = res.find("P1", hot, "xent"), res.find("P1", hot, "xsimd_naive")
    eigen_hot = res.find("P1", hot, "eigen_rows")
    if isinstance(ours_hot, float) and isinstance(naive_hot, float):
        t.info("P1", hot + " (in L2)", "xent %s, naive %s: %.2fx%s" % (
            fmt_rate(ours_hot), fmt_rate(naive_hot), ours_hot / naive_hot,
            "; eigen_rows %s" % fmt_rate(eigen_hot) if isinstance(eigen_hot, float) else ""))
    # Where P1/P3 stand between the memory limit and the in-cache rate: if streaming from memory
    # and computing did not overlap at all, the rate would be 1 / (1/sum + 1/in-cache).
    if isinstance(limit, float) and isinstance(ours_hot, float):
        for group, case in (("P1", p1), ("P3", "sparse_logits_f32_2048x32768")):
            got, lim = res.find(group, case, "xent"), res.find(group, case, "sum")
            if isinstance(got, float) and isinstance(lim, float):
                serial = 1.0 / (1.0 / lim + 1.0 / ours_hot)
                t.info(group, case, "xent %s; memory limit %s, in-L2 xent %s; no-overlap model %s, "
                       "full overlap %s" % (fmt_rate(got), fmt_rate(lim), fmt_rate(ours_hot), fmt_rate(serial),
                                           fmt_rate(min(lim, ours_hot))))
    # P2
    t.check("P2", "sparse_logits_f16_256x32000", res.find("P2", "sparse_logits_f16_256x32000", "xent"),
            ours, "xent fp32 (P1)", 0.8)
    t.check("P2", "sparse_logits_f16_2048x32768", res.find("P2", "sparse_logits_f16_2048x32768", "xent"),
            res.find("P3", "sparse_logits_f32_2048x32768", "xent"), "xent fp32 (P3)", 1.6)
    # P2 from DRAM can show at most (float16 in L2) / (float32 from DRAM): when float32 streams at the
    # plain sum's rate, that cap is below 1.6 unless float16 computes 1.6x faster than memory feeds float32.
    f16_hot = res.find("P2", HOT_CASE_F16, "xent")
    f32_dram, sum_dram = res.find("P3", "sparse_logits_f32_2048x32768", "xent"), res.find(
        "P3", "sparse_logits_f32_2048x32768", "sum")
    if isinstance(f16_hot, float) and isinstance(f32_dram, float) and isinstance(sum_dram, float):
        t.info("P2", "sparse_logits_f16_2048x32768", "cap: f16 in L2 %s / fp32 from DRAM %s = %.2fx "
               "(fp32 streams %.1f GB/s, %.2fx the plain sum)" % (
                   fmt_rate(f16_hot), fmt_rate(f32_dram), f16_hot / f32_dram, f32_dram * 4 / 1e9,
                   f32_dram / sum_dram))
    # P3
    p3 = "sparse_logits_f32_2048x32768"
    t.check("P3", p3 + " (256 MiB)", res.find("P3", p3, "xent"), res.find("P3", p3, "sum"), "plain sum", 0.8)
    # P4
    for kind in P4_KINDS:
        case = kind + "_4096x10"
        ours4 = res.rows.get("P4/%s/xent" % case)
        t.check("P4", case, to_rows(res, "P4", case, "xent"), to_rows(res, "P4", case, "scalar"), "scalar", 5,
                unit="ns/row")
        t.check("P4", case, to_rows(res, "P4", case, "xent"), to_rows(res, "P4", case, "xsimd_naive"),
                "xsimd_naive", 2, unit="ns/row")
        torch = res.rows.get("P4/%s/torch" % case)
        if torch and ours4:
            t.info("P4", case, "torch %.1f ns/row (xent %.2fx)" % (1e9 / torch, ours4 / torch))
    # P5
    p5 = "log_f32_1048576"
    need5 = 2.5 if isa == "avx512" else 2.0
    t.check("P5", p5, res.find("P5", p5, "xent"), res.find("P5", p5, "xsimd_naive"), "xsimd_naive (xsimd::log)",
            need5)
    ulp = ctx.get("log_max_ulp_sample")
    if ulp is not None:
        try:
            t.fixed("P5", "log max ulp (2^20-float sample)", ulp, "<= 3.5 (exhaustive check: tests/)",
                    float(ulp) <= 3.5)
        except ValueError:
            pass
    # P6
    p6 = "categorical_probs_f32_ls0.1_256x1000"
    t.check("P6", p6, res.find("P6", p6, "xent"), res.find("P6", p6, "xsimd_naive"), "xsimd_naive", 2.5)
    ours6, torch6 = res.find("P6", p6, "xent"), res.find("P6", p6, "torch")
    if isinstance(ours6, float) and isinstance(torch6, float):
        t.info("P6", p6, "torch %s (xent %.2fx)" % (fmt_rate(torch6), ours6 / torch6))
    # P7: Eigen slower than xent on every case, in both styles (whole-matrix expressions, and one
    # row at a time), whichever is faster.
    eigen_runs = sorted({tuple(n.split("/")) for n in list(res.items) + list(res.errors)
                         if n.startswith("P") and n.split("/")[-1] in ("eigen", "eigen_rows")
                         and "/%s/" % HOT_CASE not in n})
    if not eigen_runs:
        t.lines.append(("P7", "every case", "eigen", "-", "-", "> 1", "n/a (built without Eigen)"))
    for group, case, impl in eigen_runs:
        t.check("P7", "%s %s" % (group, case), res.find(group, case, "xent"), res.find(group, case, impl),
                impl, 1.0, strict=True)


# Q1-Q3 (issue 12): int8 predictions against xent's float32 rows of the same run (P1, P3, P4) and
# against what a user writes today, dequantizing into a float buffer and then xent's float32 path.
Q1_CASE = "sparse_logits_i8_256x32000"
Q1_HOT = "sparse_logits_i8_4x32000"  # int8 rows hot in L2: a diagnostic for Q2, no target
Q2_CASE = "sparse_logits_i8_2048x32768"
Q_DEQUANT = "dequantize_xent"


def q_table(res, t):
    p1, p3 = "sparse_logits_f32_256x32000", "sparse_logits_f32_2048x32768"
    ours1 = res.find("Q1", Q1_CASE, "xent")
    t.check("Q1", Q1_CASE + " (rows in L2)", ours1, res.find("P1", p1, "xent"), "xent fp32 (P1)", 1.0)
    t.check("Q1", Q1_CASE + " (rows in L2)", ours1, res.find("Q1", Q1_CASE, Q_DEQUANT), "dequantize + xent fp32", 1.0)
    ours2 = res.find("Q2", Q2_CASE, "xent")
    t.check("Q2", Q2_CASE + " (64 MiB, DRAM)", ours2, res.find("P3", p3, "xent"), "xent fp32 (P3, 256 MiB)", 2.5)
    t.check("Q2", Q2_CASE + " (64 MiB, DRAM)", ours2, res.find("Q2", Q2_CASE, Q_DEQUANT), "dequantize + xent fp32",
            1.0)
    # Q2 can show at most (int8 in L2) / (fp32 from DRAM): the int8 kernel must compute 2.5x faster than
    # memory feeds float32 for the ratio to reach 2.5.
    hot, f32_dram, sum_dram = res.find("Q1", Q1_HOT, "xent"), res.find("P3", p3, "xent"), res.find("P3", p3, "sum")
    if isinstance(hot, float) and isinstance(f32_dram, float):
        t.info("Q2", Q2_CASE, "cap: int8 in L2 %s / fp32 from DRAM %s = %.2fx%s" % (
            fmt_rate(hot), fmt_rate(f32_dram), hot / f32_dram,
            " (fp32 streams %.1f GB/s, %.2fx the plain sum)" % (f32_dram * 4 / 1e9, f32_dram / sum_dram)
            if isinstance(sum_dram, float) else ""))
    if isinstance(ours2, float) and isinstance(hot, float):
        t.info("Q2", Q2_CASE, "int8 from DRAM %s = %.2fx int8 in L2 (streams %.1f GB/s)" % (
            fmt_rate(ours2), ours2 / hot, ours2 / 1e9))
    for kind in P4_KINDS:
        f32 = kind + "_4096x10"
        case = kind.replace("_f32", "_i8") + "_4096x10"
        ours3 = to_rows(res, "Q3", case, "xent")
        t.check("Q3", case, ours3, to_rows(res, "P4", f32, "xent"), "xent fp32 (P4)", 1.0, unit="ns/row")
        t.check("Q3", case, ours3, to_rows(res, "Q3", case, Q_DEQUANT), "dequantize + xent fp32", 1.0, unit="ns/row")
    # The int8 data: TFLite's quantization of bench_data's logits (scale and zero point from their
    # range) and softmax outputs (fixed 1/256, -128); the loss it moves is the quantization's, not ours.
    for group, case in [("Q1", Q1_CASE), ("Q2", Q2_CASE)] + [("Q3", k.replace("_f32", "_i8") + "_4096x10")
                                                            for k in P4_KINDS]:
        run = res.first.get("%s/%s/xent" % (group, case))
        if run and "q_scale" in run:
            t.info(group, case, "int8 scale %.6g zero point %d; mean loss per row moves %+.4g from float32" % (
                run["q_scale"], int(run["q_zero_point"]), run.get("q_loss_shift", 0.0)))


# R1-R4 (issue 14): the race against the field's kernels. Peers absent from the build are n/a.
R_PEERS = ["sleef", "hwy", "onednn", "xnnpack"]
R_FULL_TENSOR = ("onednn", "xnnpack")  # they write a rows x classes output xent never needs
# R4's FMA-port bounds in floats per cycle (docs/PERFORMANCE.md): lanes x 2 FMA ports / the fused
# multiply-adds each vector of our kernels needs. The sums' exp (AVX-512 and AVX2 table forms): 6
# with the accumulation (SSE2's degree 5: 9); the log: 6 (AVX-512 table) or 9 (polynomial).
R4_BOUND = {"avx512": {"exp": 2 * 16 / 6.0, "log": 2 * 16 / 6.0}, "avx2": {"exp": 2 * 8 / 6.0, "log": 2 * 8 / 9.0},
            "sse2": {"exp": 2 * 4 / 9.0, "log": 2 * 4 / 9.0}}
R1_CASES = ["sparse_logits_f32_256x32000", "sparse_logits_f32_4096x1000"]
R2_CASE = "sparse_logits_f32_4096x10"
R3_CASE = "log_f32_1048576"


def r_table(res, t):
    isa = res.context.get("xent_isa", "?")
    for case in R1_CASES:
        ours = res.find("R1", case, "xent")
        for peer in R_PEERS:
            t.check("R1", case, ours, res.find("R1", case, peer), peer, 1.5 if peer in R_FULL_TENSOR else 1.0)
    for peer in R_PEERS:
        t.check("R2", R2_CASE, to_rows(res, "R2", R2_CASE, "xent"), to_rows(res, "R2", R2_CASE, peer), peer, 2.0,
                unit="ns/row")
    ours3 = res.find("R3", R3_CASE, "xent")
    form = "AVX-512" if isa == "avx512" else "AVX2" if isa == "avx2" else isa
    t.check("R3", R3_CASE, ours3, res.find("R3", R3_CASE, "sleef"), "Sleef_logf*_u35 (%s)" % form, 1.0)
    t.check("R3", R3_CASE, ours3, res.find("R3", R3_CASE, "hwy"), "hwy Log (%s)" % form, 1.5)
    u10 = res.find("R3", R3_CASE, "sleef_u10")
    if isinstance(ours3, float) and isinstance(u10, float):
        t.info("R3", R3_CASE, "Sleef_logf*_u10 %s (xent %.2fx)" % (fmt_rate(u10), ours3 / u10))
    # R4: floats per cycle at the measured busy clock, against the FMA-port bound.
    mhz = to_float(res.context.get("measured_mhz")) or to_float(res.context.get("mhz_per_cpu"))
    which = "measured" if to_float(res.context.get("measured_mhz")) else "nominal"
    bound = R4_BOUND.get(isa)
    for group, case, kind in [("R1", c, "exp") for c in R1_CASES] + [("R2", R2_CASE, "exp"),
                                                                    ("R3", R3_CASE, "log")]:
        ours = res.find(group, case, "xent")
        if not isinstance(ours, float) or not mhz:
            continue
        per_cycle = ours / (mhz * 1e6)
        limit = ("%.2f (%s FMA ports) = %.0f%%" % (bound[kind], kind, 100 * per_cycle / bound[kind])
                 if bound else "no bound for %s" % isa)
        t.lines.append(("R4", case, "", "%.2f fl/cycle" % per_cycle, "@ %.0f MHz %s" % (mhz, which),
                        "bound " + limit, "stated"))


def to_float(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def to_rows(res, group, case, impl):
    name = "%s/%s/%s" % (group, case, impl)
    if name in res.errors:
        return "error: " + res.errors[name]
    return res.rows.get(name)


# ---------------------------------------------------------------- the extra tables (--all)
def print_families(res):
    kern = {}
    for name, v in res.items.items():
        m = re.match(r"kernel/([^/]+)/([^/]+)/(\d+)$", name)
        if m:
            kern.setdefault(m.group(1), {}).setdefault(int(m.group(3)), {})[m.group(2)] = v
    if kern:
        print()
        print("Kernels alone (Gfloat/s, medians; ratio = xent / xsimd_naive)")
        for op in sorted(kern):
            impls = sorted({i for row in kern[op].values() for i in row}, key=lambda i: (i != "xent", i))
            print("  %-16s %10s  " % (op, "n") + "  ".join("%12s" % i for i in impls) + "    ratio")
            for n in sorted(kern[op]):
                row = kern[op][n]
                ratio = ("%.2fx" % (row["xent"] / row["xsimd_naive"])) if "xent" in row and row.get(
                    "xsimd_naive") else ""
                print("  %-16s %10d  " % ("", n) + "  ".join(
                    "%12s" % ("%.3g" % (row[i] / 1e9) if i in row else "-") for i in impls) + "    " + ratio)
    metric = sorted((n, v) for n, v in res.items.items() if n.startswith("metric/"))
    if metric:
        print()
        print("Whole metric updates (xent, one update of ~1M floats of y_pred)")
        print("  %-44s %12s %14s" % ("case", "Gfloat/s", "ns/row"))
        for n, v in metric:
            rows = res.rows.get(n)
            print("  %-44s %12.3g %14s" % (n.split("/")[1], v / 1e9, "%.1f" % (1e9 / rows) if rows else "-"))
    for n, e in sorted(res.errors.items()):
        if not n.startswith("P"):
            print("  ERROR %s: %s" % (n, e))


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", nargs="?", help="path of xent_bench")
    ap.add_argument("--json", help="read a saved --benchmark_format=json output instead of running")
    ap.add_argument("--save-json", help="also write the raw JSON here")
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.25, help="seconds per repetition (default 0.25)")
    ap.add_argument("--quick", action="store_true", help="3 repetitions of 0.05 s: a rough table in ~1 minute")
    ap.add_argument("--all", action="store_true", help="also the kernels alone and the whole metric updates")
    ap.add_argument("--filter", help="benchmark filter regex (default: ^[PQR], or everything with --all)")
    ap.add_argument("--isa", help="run with XENT_ISA set to this (scalar, sse2, avx2, avx512)")
    ap.add_argument("--su-dir", help="where the library's .su files are (default: from the binary's context)")
    ap.add_argument("--cross-build", action="append", default=[],
                    help="a cross build dir (aarch64/armv7): its libxent.a .text (M2) and instruction counts "
                         "under qemu (A1-A2); repeatable")
    ap.add_argument("--arm-only", action="store_true",
                    help="only the ARM instruction counts of the --cross-build dirs (no xent_bench run)")
    args = ap.parse_args()
    if args.arm_only:
        if not args.cross_build:
            ap.error("--arm-only needs at least one --cross-build DIR")
        return print_missed(arm_counts.table(args.cross_build))
    if args.quick:
        args.repetitions, args.min_time = 3, 0.05
    if args.filter is None:
        args.filter = "." if args.all else "^[PQR]"
    if args.json:
        with open(args.json) as f:
            data = json.load(f)
    elif args.binary:
        data = run_benchmarks(args.binary, args)
    else:
        ap.error("give the xent_bench binary or --json FILE")

    res = Results(data)
    ctx = res.context
    reps = sorted(set(res.reps.values()))
    print("xent %s benchmark report" % ctx.get("xent_version", "?"))
    print("  CPU:        %s, %s cores, %s MHz (%s)" % (ctx.get("cpu_model", "?"), ctx.get("num_cpus", "?"),
                                                     ctx.get("mhz_per_cpu", "?"), ctx.get("host_name", "?")))
    forced = ctx.get("xent_isa_forced")
    print("  xent ISA:   %s%s" % (ctx.get("xent_isa", "?"), " (forced by XENT_ISA=%s)" % forced if forced else ""))
    print("  baselines:  compiled with %s; xsimd-naive arch %s; %s; %s" % (
        ctx.get("baseline_flags", "?"), ctx.get("xsimd_naive_arch", "?"), ctx.get("eigen", "Eigen absent"),
        ctx.get("torch", "libtorch absent")))
    print("  peers:      %s; Highway %s; %s; %s" % (ctx.get("sleef", "SLEEF absent"), ctx.get("hwy", "absent"),
                                                 ctx.get("onednn", "oneDNN absent"),
                                                 ctx.get("xnnpack", "XNNPACK absent")))
    print("  clock:      %s MHz measured busy (dependent adds), %s MHz nominal" % (
        ctx.get("measured_mhz", "?"), ctx.get("mhz_per_cpu", "?")))
    print("  method:     medians of %s randomly interleaved repetition(s) of items (floats of y_pred) per CPU second;" %
          ",".join(str(r) for r in reps))
    print("              each ratio compares two benchmarks of this one run. xent build: %s." %
          ctx.get("xent_build_type", "?"))
    print()

    t = Table(complete=args.filter in ("^P", "^[PR]", "^[PQR]", ".", ".*"))
    p_table(res, t)
    if any(n.startswith("Q") for n in list(res.items) + list(res.errors)):  # not under --filter '^P'
        q_table(res, t)
    if any(n.startswith("R") for n in list(res.items) + list(res.errors)):  # not under --filter '^P'
        r_table(res, t)
    su_dir = args.su_dir or ctx.get("su_dir")
    frames = m1(res, t, su_dir)
    m2(t, args.cross_build)
    t.print()
    print_memory(res, frames, su_dir)
    for note in m2_notes:
        print(note)
    if args.all:
        print_families(res)
    if args.cross_build:
        print()
        t.missed += arm_counts.table(args.cross_build)
    return print_missed(t.missed)


def print_missed(missed):
    print()
    if missed:
        print("MISSED %d target(s):" % len(missed))
        for m in missed:
            print("  - " + m)
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
