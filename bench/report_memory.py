"""Memory rows of bench/report.py's table: M1 (stack depth measured by xent_bench, frames from
gcc's -fstack-usage files, heap allocations), the sizeof lines, and M2 (.text of the ARM static
libraries, read with the cross binutils' size). Standard library only."""
import os
import re
import struct
import subprocess

STACK_LIMIT = 4096  # M1: bytes of stack per public call
TEXT_LIMIT = 128 * 1024  # M2: bytes of .text per ARM static library


def parse_su(su_dir):
    """[(bytes, qualifier, function, file)] from gcc's -fstack-usage files."""
    frames = []
    for root, _, files in os.walk(su_dir):
        for fn in files:
            if not fn.endswith(".su"):
                continue
            with open(os.path.join(root, fn)) as f:
                for line in f:
                    parts = line.rstrip("\n").split("\t")
                    if len(parts) != 3:
                        continue
                    where, size, qual = parts
                    # "src/foo.cpp:12:34:void ns::f(args)"
                    m = re.match(r"(.*?):(\d+):(\d+):(.*)", where)
                    func = m.group(4) if m else where
                    frames.append((int(size), qual, func, fn[:-3]))
    return frames


def m1(res, t, su_dir):
    ctx = res.context
    peak = ctx.get("stack_peak_bytes")
    if peak is not None:
        t.fixed("M1", "stack depth of the deepest public call, measured", "%s B" % peak,
                "<= %d B" % STACK_LIMIT, int(peak) <= STACK_LIMIT)
    allocs = ctx.get("heap_allocations_in_calls")
    if allocs is not None:
        t.fixed("M1", "heap allocations inside public calls", allocs, "== 0 (operator new)", allocs == "0")
    failed = ctx.get("stack_probe_failed_calls")
    if failed:
        t.fixed("M1", "probed calls returned an error", failed, "none", False)
    frames = parse_su(su_dir) if su_dir and os.path.isdir(su_dir) else []
    if frames:
        biggest = max(frames)
        # "dynamic,bounded" (a realigned frame) has a known bound; plain "dynamic" (alloca, VLA) has none.
        unbounded = [f for f in frames if f[1] == "dynamic"]
        t.fixed("M1", "largest single frame (-fstack-usage)", "%d B" % biggest[0], "<= %d B" % STACK_LIMIT,
                biggest[0] <= STACK_LIMIT)
        if unbounded:
            t.fixed("M1", "unbounded frames (-fstack-usage)", ", ".join(short(f[2]) for f in unbounded[:5]),
                    "none (alloca/VLA)", False)
    return frames


def short(func, width=48):
    func = re.sub(r"\(.*", "", func)
    func = func.split(" ")[-1]
    return func if len(func) <= width else "..." + func[-(width - 3):]


def print_memory(res, frames, su_dir):
    ctx = res.context
    print()
    print("Memory")
    sizes = sorted((k[len("sizeof "):], v) for k, v in ctx.items() if k.startswith("sizeof "))
    for name, v in sizes:
        print("  sizeof(xent::%s) = %s bytes" % (name, v))
    calls = ctx.get("stack_bytes_by_call", "")
    if calls:
        pairs = [c.split("=") for c in calls.split(";") if "=" in c]
        by_call = sorted(((int(v), k) for k, v in pairs), reverse=True)
        print("  measured stack depth per public call (painted stack, includes ~40 B of harness);")
        print("  deepest first:")
        for v, k in by_call[:8]:
            print("    %6d B  %s" % (v, k))
    if frames:
        print("  -fstack-usage (%s): single frames; the measured depth above is the" % su_dir)
        print("  whole call chain (a metric update = update + run_batch + a row kernel + its helpers).")
        print("  Largest frames:")
        seen = set()
        for f in sorted(frames, reverse=True):
            key = (f[3], short(f[2], 70))
            if key in seen:
                continue
            seen.add(key)
            print("    %6d B  %-28s %s" % (f[0], f[3], short(f[2], 70)))
            if len(seen) == 10:
                break
        print("  Largest frame per file:")
        per_file = {}
        for f in frames:
            if f[3] not in per_file or f[0] > per_file[f[3]][0]:
                per_file[f[3]] = f
        for fn, f in sorted(per_file.items(), key=lambda kv: -kv[1][0]):
            print("    %6d B  %-28s %s" % (f[0], fn, short(f[2], 70)))
    elif su_dir:
        print("  no .su files under %s (gcc builds only)" % su_dir)


def elf_machine_of_archive(path):
    """e_machine of the first ELF member of an ar archive (183 AArch64, 40 ARM, 62 x86-64)."""
    with open(path, "rb") as f:
        data = f.read()
    at = data.find(b"\x7fELF")
    if at < 0:
        return None
    little = data[at + 5] == 1
    return struct.unpack("<H" if little else ">H", data[at + 18:at + 20])[0]


m2_notes = []


def m2(t, cross_dirs):
    tools = {183: ("aarch64", "aarch64-linux-gnu-size"), 40: ("armv7", "arm-linux-gnueabihf-size"),
             62: ("x86-64", "size")}
    for d in cross_dirs:
        lib = None
        for root, _, files in os.walk(d):
            if "libxent.a" in files:
                lib = os.path.join(root, "libxent.a")
                break
        if lib is None:
            t.fixed("M2", d, "no libxent.a", "build the library first", False)
            continue
        arch, tool = tools.get(elf_machine_of_archive(lib), ("?", "size"))
        try:
            out = subprocess.run([tool, "-A", lib], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 universal_newlines=True, check=True).stdout
            berkeley = subprocess.run([tool, "-t", lib], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      universal_newlines=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            t.fixed("M2", "%s %s" % (arch, lib), "cannot run %s: %s" % (tool, e), "", False)
            continue
        text = 0
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].startswith(".text") and parts[1].isdigit():
                text += int(parts[1])
        total_line = [l for l in berkeley.splitlines() if "(TOTALS)" in l]
        berk = total_line[0].split()[0] if total_line else "?"
        t.fixed("M2", "%s libxent.a .text" % arch, "%d B" % text, "<= %d B" % TEXT_LIMIT, text <= TEXT_LIMIT)
        m2_notes.append("  M2 %s: %s (size -A: .text* sections %d B; size -t Berkeley text, incl. rodata, %s B)"
                        % (arch, lib, text, berk))


