#!/usr/bin/env python3
"""Instructions per float of benchmarks of xent_bench, counted by valgrind's callgrind.

Cycles are not available on shared VMs, but instruction counts are exact and repeatable. Each
benchmark runs twice under callgrind, with XENT_BENCH_ITERATIONS=1 and =1+N; the difference is N
timed iterations and nothing else (data generation and the agreement checks cancel out).

  python3 bench/instructions.py build/bench-vg/bench/xent_bench '^P1/'
  python3 bench/instructions.py BIN '^P4/sparse_logits' --iterations 5

valgrind does not run AVX-512, and reports a CPU without it: xent's dispatcher then picks AVX2, and
a binary whose baselines were built with -march=native on an AVX-512 machine dies with SIGILL in
them. Build a separate tree for this with -DXENT_BENCH_NATIVE=OFF (-DXENT_BENCH_TORCH=OFF saves
time). Standard library only.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile


def run(binary, name, iterations):
    fd, out = tempfile.mkstemp(prefix="xent_cg_")
    os.close(fd)
    fd, js = tempfile.mkstemp(prefix="xent_cg_", suffix=".json")
    os.close(fd)
    env = dict(os.environ, XENT_BENCH_ITERATIONS=str(iterations), XENT_BENCH_FACTS="0")
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, binary,
           # Fixed iteration counts add "/iterations:N" to the name.
           "--benchmark_filter=^" + re.escape(name) + "(/iterations:[0-9]+)?$", "--benchmark_out=" + js, "--benchmark_out_format=json"]
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    total = None
    with open(out) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                total = int(line.split()[1])
    with open(js) as f:
        data = json.load(f)
    os.unlink(out)
    os.unlink(js)
    bench = [b for b in data["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
    if not bench or bench[0].get("error_occurred"):
        raise RuntimeError("%s: %s" % (name, bench[0].get("error_message") if bench else "did not run"))
    return total, bench[0], data.get("context", {})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("filter", help="benchmark name regex")
    ap.add_argument("--iterations", type=int, default=4, help="timed iterations in the difference (default 4)")
    args = ap.parse_args()
    listed = subprocess.run([args.binary, "--benchmark_list_tests=true", "--benchmark_filter=" + args.filter],
                            stdout=subprocess.PIPE, universal_newlines=True, check=True,
                            env=dict(os.environ, XENT_BENCH_FACTS="0")).stdout.split()
    if not listed:
        sys.exit("no benchmark matches " + args.filter)
    print("%-58s %6s %14s %10s %10s" % ("benchmark", "isa", "Ir/iteration", "Ir/float", "Ir/row"))
    for name in listed:
        try:
            one, bench, ctx = run(args.binary, name, 1)
            more, _, _ = run(args.binary, name, 1 + args.iterations)
        except (RuntimeError, subprocess.CalledProcessError) as e:
            print("%-58s  failed: %s" % (name, e))
            continue
        per_iter = (more - one) / args.iterations
        floats = bench.get("floats", 0)
        rows = bench.get("rows/s", 0) * bench.get("cpu_time", 0) / bench.get("iterations", 1)
        unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}.get(bench.get("time_unit", "ns"), 1e-9)
        rows *= unit
        print("%-58s %6s %14.0f %10.2f %10s" % (name, ctx.get("xent_isa", "?"), per_iter,
                                                per_iter / floats if floats else float("nan"),
                                                "%.1f" % (per_iter / rows) if rows >= 0.5 else "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
