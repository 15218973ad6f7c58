#!/usr/bin/env python3
"""Refits kLogP (src/kernels/simd_kernels.hpp): log(1 + r) = r + r^2 P(r) on r in [-1/3, 1/3].

Minimax in ulps of the float result: the error r^2 (P(r) - g(r)), g(r) = (log(1 + r) - r) / r^2, is
weighted by 1 / ulp(log(1 + r)) (the n = 0 case, x in [2/3, 4/3), where the log is needed relative
to its result; n != 0 adds n ln2 >= 0.28 and only absolute accuracy). Lawson's iteration turns
weighted least squares on Chebyshev points into the minimax fit. Needs mpmath (pip install mpmath).

  python3 tools/fit_log.py [degree]     # default 6, about half a minute

Prints the weighted maximum (ulps before the float rounding of the coefficients and of the
evaluation, which add ~0.7 ulp with FMA) and the coefficients c0..cN of P. Check the result with
the exhaustive test (tests/test_kernels_math.cpp) on every ISA.
"""
import math
import sys

import mpmath as mp

mp.mp.dps = 30
A = mp.mpf(1) / 3


def g(r):
    return (mp.log1p(r) - r) / r**2


def ulp(y):
    _, e = math.frexp(float(y))  # |y| = m 2^e, m in [0.5, 1): ulp = 2^(e - 24)
    return mp.ldexp(1, e - 24)


def fit(deg, npts=2000, iters=80):
    pts = [-A + 2 * A * (1 - mp.cos(mp.pi * (i + 0.5) / npts)) / 2 for i in range(npts)]
    pts = [p for p in pts if abs(p) > 1e-6]
    gs = [g(p) for p in pts]
    ws = [p**2 / ulp(mp.log1p(p)) for p in pts]
    rows = [[(3 * p)**k for k in range(deg + 1)] for p in pts]  # basis in 3r: better conditioned
    lw = [mp.mpf(1) / len(pts)] * len(pts)
    for _ in range(iters):
        m = mp.zeros(deg + 1, deg + 1)
        v = mp.zeros(deg + 1, 1)
        for row, gv, w, l in zip(rows, gs, ws, lw):
            ww = l * w * w
            for i in range(deg + 1):
                v[i] += ww * row[i] * gv
                for j in range(i, deg + 1):
                    m[i, j] += ww * row[i] * row[j]
        for i in range(deg + 1):
            for j in range(i):
                m[i, j] = m[j, i]
        c = mp.lu_solve(m, v)
        errs = [w * (mp.fsum(c[k] * row[k] for k in range(deg + 1)) - gv) for row, gv, w in zip(rows, gs, ws)]
        s = mp.fsum(l * abs(e) for l, e in zip(lw, errs))
        lw = [l * abs(e) / s for l, e in zip(lw, errs)]
    return [c[k] * mp.mpf(3)**k for k in range(deg + 1)], max(abs(e) for e in errs)


def main():
    deg = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    coef, worst = fit(deg)
    print("degree %d: max %.3f ulp before rounding" % (deg, float(worst)))
    print(", ".join("%.9ef" % float(c) for c in coef))


if __name__ == "__main__":
    main()
