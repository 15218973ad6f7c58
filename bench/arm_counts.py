"""ARM instruction counts for bench/report.py (issue 14): A1 and A2 of docs/PERFORMANCE.md.

Nothing is timed under an emulator, but executed instructions can be counted there: each cross build
dir's xent_arm_counts (bench/arm_counts.cpp) runs under qemu-user with our TCG plugin
(bench/qemu-count/libxent_count.so), which counts the guest instructions of each region between the
program's markers. The table gives instructions per element of y_pred for xent and for the scalar and
plain-xsimd baselines compiled for the same target, and the ratios the targets ask for.

Standard library only (Python 3.6+).
"""
import os
import struct
import subprocess
import tempfile

# e_machine -> (name, qemu-user binary, pinned CPU, sysroot of Debian's cross libraries)
QEMU = {183: ("aarch64", "qemu-aarch64", "cortex-a72", "/usr/aarch64-linux-gnu"),
        40: ("armv7", "qemu-arm", "cortex-a7", "/usr/arm-linux-gnueabihf")}

# (target, case, baseline the ratio is taken against, need): fewer instructions than the baseline.
TARGETS = [("A1", "sparse_logits_f32_64x32000", "xsimd_naive", 2.5),
           ("A2", "sparse_logits_f32_4096x10", "scalar", 3.0),
           ("A2", "categorical_probs_f32_4096x10", "scalar", 3.0),
           ("-", "log_f32_1048576", None, None)]
IMPLS = ("xent", "scalar", "xsimd_naive")


def elf_machine(path):
    with open(path, "rb") as f:
        head = f.read(20)
    if head[:4] != b"\x7fELF":
        return None
    return struct.unpack("<H" if head[5] == 1 else ">H", head[18:20])[0]


def count(build_dir, case_filter=""):
    """Runs the build's counting program under qemu with the plugin.

    Returns (arch text, {(case, impl): instructions per element}) or raises RuntimeError."""
    program = os.path.join(build_dir, "bench", "xent_arm_counts")
    plugin = os.path.join(build_dir, "bench", "qemu-count", "libxent_count.so")
    for path in (program, plugin):
        if not os.path.isfile(path):
            raise RuntimeError("%s not built (cmake --build %s --target xent_arm_counts xent_count_plugin)"
                               % (path, build_dir))
    machine = elf_machine(program)
    if machine not in QEMU:
        raise RuntimeError("%s is not an aarch64 or armv7 executable" % program)
    arch, qemu, cpu, sysroot = QEMU[machine]
    fd, counts_path = tempfile.mkstemp(prefix="xent_counts_", suffix=".txt")
    os.close(fd)
    cmd = [qemu, "-cpu", cpu, "-L", sysroot, "-plugin", "%s,out=%s" % (plugin, counts_path), program]
    if case_filter:
        cmd.append(case_filter)
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        with open(counts_path) as f:
            plugin_lines = f.read().splitlines()
    except OSError as e:
        raise RuntimeError("cannot run %s: %s" % (qemu, e))
    finally:
        os.unlink(counts_path)
    if proc.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(cmd), proc.returncode, proc.stderr.strip()))
    isa, regions = "?", {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["isa"] and len(parts) == 2:
            isa = parts[1]
        elif parts[:1] == ["region"] and len(parts) == 5:
            regions[int(parts[1])] = (parts[2], parts[3], int(parts[4]))
    insns, summary = {}, None
    for line in plugin_lines:
        fields = dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)
        if "insns" in fields and "symbol" not in fields and "block" not in fields:
            insns[int(fields["region"])] = int(fields["insns"])
        elif "regions" in fields:
            summary = fields
    if summary is None or summary.get("errors") != "0" or set(insns) != set(regions):
        raise RuntimeError("the plugin's regions do not match the program's: %s" % (summary or "no summary"))
    per_element = {(c, impl): insns[i] / float(n) for i, (c, impl, n) in regions.items()}
    return "%s %s (%s)" % (arch, isa, cpu), per_element


def table(build_dirs, case_filter=""):
    """Prints the ARM table; returns the list of missed targets (strings)."""
    missed, rows = [], []
    for d in build_dirs:
        try:
            arch, per_element = count(d, case_filter)
        except RuntimeError as e:
            rows.append(("A1-A2", "-", d, "-", "-", "-", "-", "-", "", "MISSED (%s)" % e))
            missed.append("A1-A2 %s: %s" % (d, e))
            continue
        for target, case, against, need in TARGETS:
            got = [per_element.get((case, impl)) for impl in IMPLS]
            if got[0] is None:
                continue  # left out by the filter
            ratios = ["%.2fx" % (g / got[0]) if g else "-" for g in got[1:]]
            status, need_text = "(no target)", ""
            if against is not None:
                base = per_element.get((case, against))
                ratio = base / got[0] if base else 0.0
                need_text = "%s/xent >= %g" % (against, need)
                status = "met" if ratio >= need else "MISSED"
                if status != "met":
                    missed.append("%s %s %s: %s/xent %.2fx (need >= %g)" % (target, arch, case, against, ratio, need))
            rows.append((target, case, arch) + tuple("%.2f" % g if g else "-" for g in got) +
                        tuple(ratios) + (need_text, status))
    head = ("target", "case", "ISA", "xent", "scalar", "xsimd_naive", "scalar/xent", "naive/xent", "need",
            "status")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    print("ARM instruction counts: executed guest instructions per element of y_pred (qemu-user TCG plugin)")
    line = "  ".join("%-*s" % (w, h) for w, h in zip(widths, head)).rstrip()
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join("%-*s" % (w, str(c)) for w, c in zip(widths, r)).rstrip())
    return missed
