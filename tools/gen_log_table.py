#!/usr/bin/env python3
"""Generates kLogTableInvC, kLogTableLogC and kLogTableQ (src/kernels/constants.hpp): the
32-entry table of the AVX-512 log.

x = 2^e m with e = getexp(x) = floor(log2 x) and z = getmant(x) in [3/4, 3/2) (so z = m or m / 2);
bits 18..22 of z's bits pick one of 32 intervals of z: j < 16 is [1 + j/32, 1 + (j+1)/32), j >= 16
is [1/2 + j/64, 1/2 + (j+1)/64) (z < 1, where x = 2^(e+1) z). Entry j holds invc ~ 1 / (middle of
interval j) and logc = -log(invc), plus ln2 (the float kLn2) for j >= 16, so that always
  log(x) = e kLn2 + logc + log(1 + r),  r = z invc - 1 (one FMA),  |r| < 1/32,
  log(1 + r) = r Q(r),  Q(r) = 1 + c0 r + c1 r^2 + c2 r^3.
The two intervals beside 1 (j = 0 and j = 31) get invc = 1, so r = z - 1 is exact there and log is
relative-accurate near 1 on both sides (logc = 0 and kLn2: e kLn2 + kLn2 is exactly 0 for e = -1);
log(1) is exactly 0. For the others invc is searched within +-4096 float ulps of the exact inverse
for a logc that is within 2^-11 ulp of a float (Gal's accurate tables), so the float logc carries
practically no error of its own (for j >= 16, -log(invc) + kLn2 is what must be near a float: for
e = -1, -kLn2 + logc is exact by Sterbenz and equals -log(invc) to that accuracy).

Q is fitted by Lawson's iteration (weighted least squares -> minimax) for the error in ulps of the
k = 0 result (the smallest results, so the strictest case; any other k adds at least ln2 - 0.29).
Needs mpmath (pip install mpmath or apt-get install python3-mpmath).

  python3 tools/gen_log_table.py      # about half a minute

Check the result with the exhaustive test (tests/test_kernels_math.cpp, XENT_EXHAUSTIVE_TESTS).
"""
import math
import struct

import mpmath as mp

from minimax import lawson

mp.mp.dps = 40
N = 32
LN2F = struct.unpack("<f", struct.pack("<f", math.log(2)))[0]  # kLn2


def f32(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def bits32(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def to_f32(x):
    return struct.unpack("<f", struct.pack("<f", float(x)))[0]


def ulp(y):
    _, e = math.frexp(float(y))  # |y| = m 2^e, m in [0.5, 1): ulp = 2^(e - 24)
    return mp.ldexp(1, e - 24)


def interval(j):
    base = 0x3F800000 if j < 16 else 0x3F000000
    lo = f32(base | (j << 18))
    hi = f32(base | (j << 18) | ((1 << 18) - 1))  # the last z of the interval
    return mp.mpf(lo), mp.mpf(hi)


def entry(j):
    shift = mp.mpf(LN2F) if j >= 16 else mp.mpf(0)
    if j in (0, 31):
        return 1.0, shift, mp.mpf(0)
    lo, hi = interval(j)
    target = to_f32(2 / (lo + hi))  # r symmetric: z invc - 1 in [-h, h]
    best = None
    b0 = bits32(target)
    for d in range(-4096, 4097):
        invc = f32(b0 + d)
        logc = -mp.log(mp.mpf(invc)) + shift
        miss = abs(logc - mp.mpf(to_f32(logc))) / ulp(logc)
        if best is None or miss < best[0]:
            best = (miss, invc, logc)
    assert best[0] < mp.ldexp(1, -11), (j, best[0])
    return best[1], best[2], -mp.log(mp.mpf(best[1]))


def fit(table, deg=3, per=200, iters=60):
    pts, gs, ws = [], [], []
    for j, (invc, _, logc) in enumerate(table):
        lo, hi = interval(j)
        r0, r1 = lo * invc - 1, hi * invc - 1
        for i in range(per):
            r = r0 + (r1 - r0) * (1 - mp.cos(mp.pi * (i + 0.5) / per)) / 2
            if abs(r) < 1e-7:
                continue
            pts.append(r)
            gs.append((mp.log1p(r) / r - 1) / r)
            ws.append(r**2 / ulp(logc + mp.log1p(r)))
    scale = 32  # basis in 32 r: better conditioned
    n = deg
    c, worst = lawson([[(scale * p)**k for k in range(n)] for p in pts], gs, ws, iters)
    coef = [c[k] * mp.mpf(scale)**k for k in range(n)]
    rmax = max(abs(p) for p in pts)
    return coef, worst, rmax


def main():
    table = [entry(j) for j in range(N)]
    coef, worst, rmax = fit(table)
    print("// |r| <= %.5f; Q: %.3f ulp before rounding" % (float(rmax), float(worst)))
    print("kLogTableInvC = {" + ", ".join("%.9ef" % t[0] for t in table) + "}")
    print("kLogTableLogC = {" + ", ".join("%.9ef" % to_f32(t[1]) for t in table) + "}")
    print("kLogTableQ = {" + ", ".join("%.9ef" % to_f32(c) for c in coef) + "}")


if __name__ == "__main__":
    main()
