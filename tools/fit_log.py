#!/usr/bin/env python3
"""Refits kLogP (src/kernels/simd/math.hpp): log(1 + r) = r + r^2 P(r) on r in [-1/3, 1/3].

Minimax in ulps of the float result: the error r^2 (P(r) - g(r)), g(r) = (log(1 + r) - r) / r^2, is
weighted by 1 / ulp(log(1 + r)) (the n = 0 case, x in [2/3, 4/3), where the log is needed relative
to its result; n != 0 adds n ln2 >= 0.28 and only absolute accuracy), by Lawson's iteration on
Chebyshev points (tools/minimax.py). Needs mpmath (pip install mpmath).

  python3 tools/fit_log.py [degree]     # default 6, about half a minute

Prints the weighted maximum (ulps before the float rounding of the coefficients and of the
evaluation, which add ~0.7 ulp with FMA) and the coefficients c0..cN of P. Check the result with
the exhaustive test (tests/test_kernels_math.cpp) on every ISA.
"""
import math
import sys

import mpmath as mp

from minimax import chebyshev_points, lawson

mp.mp.dps = 30
A = mp.mpf(1) / 3


def g(r):
    return (mp.log1p(r) - r) / r**2


def ulp(y):
    _, e = math.frexp(float(y))  # |y| = m 2^e, m in [0.5, 1): ulp = 2^(e - 24)
    return mp.ldexp(1, e - 24)


def fit(deg, npts=2000, iters=80):
    pts = [p for p in chebyshev_points(-A, A, npts) if abs(p) > 1e-6]
    gs = [g(p) for p in pts]
    ws = [p**2 / ulp(mp.log1p(p)) for p in pts]
    rows = [[(3 * p)**k for k in range(deg + 1)] for p in pts]  # basis in 3r: better conditioned
    c, worst = lawson(rows, gs, ws, iters)
    return [c[k] * mp.mpf(3)**k for k in range(deg + 1)], worst


def main():
    deg = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    coef, worst = fit(deg)
    print("degree %d: max %.3f ulp before rounding" % (deg, float(worst)))
    print(", ".join("%.9ef" % float(c) for c in coef))


if __name__ == "__main__":
    main()
