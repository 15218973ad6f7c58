#!/usr/bin/env python3
"""The microcontroller budgets (README, "Microcontrollers"), measured on QEMU's boards.

  python3 ports/cortex-m/budgets.py                     # builds both presets, prints the tables
  python3 ports/cortex-m/budgets.py --check build/cortex-m4   # ctest's `budgets`: fails over a budget

For a build tree of the cortex-m4 or cortex-m55 preset (ports/cortex-m/budgets/ has the firmware):
  flash  text + data of xent_budget_flash (SparseCategoricalCrossentropy<> from float32 logits,
         linked with -ffunction-sections -fdata-sections -Wl,--gc-sections) minus the same
         firmware without xent (xent_budget_flash_base); and the text of all of libxent.a
  RAM    .data and .bss of each object of libxent.a (constant tables are .rodata), sizeof the metrics
  stack  the deepest public call: the stack painted on the board (xent_budget_stack)
  speed  instructions per element of xent and of the plain Keras formulas over newlib's expf/logf
         in the same firmware (xent_budget_speed), under qemu-system-arm -icount shift=0: every
         instruction is one ns of virtual clock, and the firmware reads the SysTick around each case
The budgets hold on the Cortex-M4: flash <= 16 KiB, libxent.a text < 128 KiB, stack <= 1.5 KiB,
no .data/.bss, and xent >= 3x fewer instructions per element than the baseline in every case. The
Cortex-M55 build is measured the same way and reported. Standard library only.
"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BOARDS = {"cortex-m4": "mps2-an386", "cortex-m55": "mps3-an547"}
FLASH_BUDGET = 16 * 1024
LIB_TEXT_BUDGET = 128 * 1024
STACK_BUDGET = 1536
SPEED_RATIO = 3.0


def cache_value(build, name):
    with open(os.path.join(build, "CMakeCache.txt")) as f:
        for line in f:
            m = re.match(re.escape(name) + r":[A-Z]+=(.*)", line)
            if m:
                return m.group(1).strip()
    return ""


def sizes(path):
    """(text, data, bss) of an ELF, or per object of an archive: [(name, text, data, bss)]."""
    out = subprocess.run(["arm-none-eabi-size", path], check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines()[1:]:
        f = line.split()
        name = re.sub(r" \(ex .*\)$", "", " ".join(f[5:]))
        rows.append((name, int(f[0]), int(f[1]), int(f[2])))
    return rows


def run(board, elf, qemu_args=""):
    env = dict(os.environ, XENT_MCU_QEMU_ARGS=qemu_args, XENT_MCU_TIMEOUT="300")
    p = subprocess.run([os.path.join(HERE, "run.sh"), board, elf], capture_output=True, text=True, env=env)
    return p.returncode, p.stdout + p.stderr


def measure(build):
    cpu = cache_value(build, "XENT_MCU_CPU")
    board = BOARDS[cpu]
    fw = os.path.join(build, "ports", "cortex-m", "budgets")
    m = {"cpu": cpu, "board": board, "flags": cache_value(build, "CMAKE_CXX_FLAGS_RELEASE"), "errors": []}

    (_, t1, d1, _), = sizes(os.path.join(fw, "xent_budget_flash"))
    (_, t0, d0, _), = sizes(os.path.join(fw, "xent_budget_flash_base"))
    m["flash"] = (t1 + d1) - (t0 + d0)
    objects = sizes(os.path.join(build, "src", "libxent.a"))
    m["lib_text"] = sum(o[1] for o in objects)
    m["lib_rw"] = [(o[0], o[2], o[3]) for o in objects if o[2] or o[3]]

    code, out = run(board, os.path.join(fw, "xent_budget_stack"))
    m["stack"] = [(int(a), b) for a, b in re.findall(r"^stack (\d+) (.*)$", out, re.M)]
    m["stack_max"] = re.search(r"^stack max (\d+) (.*)$", out, re.M)
    m["sizeof"] = [(b, int(a)) for a, b in re.findall(r"^sizeof (\d+) (.*)$", out, re.M)]
    if m["stack_max"] is None or "a case failed" in out:
        m["errors"].append("stack firmware: " + out[-400:])

    code, out = run(board, os.path.join(fw, "xent_budget_speed"), "-icount shift=0")
    m["speed"] = [(name, int(n), float(a), float(b)) for name, n, a, b in
                  re.findall(r"^case (\S+) (\d+) ([\d.]+) ([\d.]+)$", out, re.M)]
    if code != 0 or len(m["speed"]) != 4:
        m["errors"].append("speed firmware (exit %d): %s" % (code, out[-400:]))
    return m


def report(m):
    print("## %s (QEMU %s; Release flags %s)\n" % (m["cpu"], m["board"], m["flags"]))
    print("| budget | measured | limit |")
    print("|---|---|---|")
    print("| flash: one metric from float32 logits, firmware with xent minus without | %d B (%.1f KiB) | 16 KiB |"
          % (m["flash"], m["flash"] / 1024))
    print("| libxent.a text, all of it | %d B (%.1f KiB) | 128 KiB |" % (m["lib_text"], m["lib_text"] / 1024))
    rw = ", ".join("%s %d/%d" % o for o in m["lib_rw"]) or "none in any object"
    print("| libxent.a .data/.bss | %s | none |" % rw)
    if m["stack_max"]:
        print("| stack: deepest public call (%s) | %s B | 1536 B |" % (m["stack_max"].group(2), m["stack_max"].group(1)))
    for name, n in m["sizeof"]:
        print("| sizeof %s | %d B | |" % (name, n))
    print("\n| speed case | elements | xent instr/element | newlib baseline instr/element | ratio |")
    print("|---|---|---|---|---|")
    for name, n, ours, base in m["speed"]:
        print("| %s | %d | %.1f | %.1f | %.2fx |" % (name, n, ours / n, base / n, base / ours))
    print("\n<details><summary>stack per entry point</summary>\n")
    for b, name in m["stack"]:
        print("- %d B: %s" % (b, name))
    print("\n</details>\n")


def failures(m):
    bad = list(m["errors"])
    if m["lib_text"] >= LIB_TEXT_BUDGET:
        bad.append("libxent.a text %d >= %d" % (m["lib_text"], LIB_TEXT_BUDGET))
    if m["lib_rw"]:
        bad.append("libxent.a has .data/.bss: %s" % m["lib_rw"])
    if m["cpu"] != "cortex-m4":
        return bad  # the other budgets are the Cortex-M4's
    if m["flash"] > FLASH_BUDGET:
        bad.append("flash %d > %d" % (m["flash"], FLASH_BUDGET))
    if m["stack_max"] and int(m["stack_max"].group(1)) > STACK_BUDGET:
        bad.append("stack %s > %d (%s)" % (m["stack_max"].group(1), STACK_BUDGET, m["stack_max"].group(2)))
    for name, n, ours, base in m["speed"]:
        if base / ours < SPEED_RATIO:
            bad.append("%s: %.2fx fewer instructions than the baseline, under %.0fx" % (name, base / ours, SPEED_RATIO))
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("builds", nargs="*", help="build trees of the cortex-m4/m55 presets (default: build both)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a budget is exceeded")
    args = ap.parse_args()
    builds = args.builds
    if not builds:
        targets = ["xent", "xent_budget_flash", "xent_budget_flash_base", "xent_budget_stack", "xent_budget_speed"]
        for preset in BOARDS:
            subprocess.run(["cmake", "--preset", preset], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            subprocess.run(["cmake", "--build", "build/" + preset, "-j2", "--target"] + targets, cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
        builds = [os.path.join(ROOT, "build", p) for p in BOARDS]
    bad = []
    for build in builds:
        m = measure(build)
        report(m)
        bad += ["%s: %s" % (m["cpu"], b) for b in failures(m)]
    for b in bad:
        print("OVER BUDGET " + b)
    return 1 if bad and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
