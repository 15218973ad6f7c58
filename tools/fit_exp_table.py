#!/usr/bin/env python3
"""Generates the table exp of the sums (src/kernels/constants.hpp, kExpTable8/16/64, kExpTableQ*).

exp(x) = 2^(k/N) * p(f), k = round(x N / ln2), f = x - k ln2/N in [-ln2/2N, ln2/2N]. The table holds
2^(j/N), j = k mod N, rounded to the nearest float, stored as its bits minus j << (23 - log2 N): adding
k << (23 - log2 N) then puts k div N into the exponent and cancels j (see exp_sum_parts).
p(f) = 1 + f q(f), q fitted minimax in the relative error of p (Lawson's iteration on Chebyshev points,
tools/minimax.py). Needs mpmath.

  python3 tools/fit_exp_table.py N degree      # the kernels use N=16 and N=8 degree 3 (AVX-512, AVX2), N=64 degree 2 (scalar)
"""
import struct
import sys

import mpmath as mp

from minimax import chebyshev_points, lawson

mp.mp.dps = 30


def float_bits(v):
    return struct.unpack("<I", struct.pack("<f", float(v)))[0]


def table(n):
    shift = 23 - (n.bit_length() - 1)
    out = []
    for j in range(n):
        bits = float_bits(mp.power(2, mp.mpf(j) / n))  # Python rounds double -> float to nearest
        out.append(bits - (j << shift))
    return out


def fit(n, deg, npts=600):
    a = mp.log(2) / (2 * n) * (1 + mp.mpf("1e-4"))  # the rounding of k widens the range a little
    pts = [p for p in chebyshev_points(-a, a, npts) if abs(p) > 1e-12]
    gs = [(mp.exp(p) - 1) / p for p in pts]      # q's target
    ws = [p / mp.exp(p) for p in pts]            # relative error of p = f (q - g) / e^f
    c, worst = lawson([[(p / a) ** k for k in range(deg)] for p in pts], gs, ws)
    return [c[k] / a ** k for k in range(deg)], worst


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    deg = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    coef, worst = fit(n, deg)
    print("N=%d degree %d: max relative error %.3g (%.3f ulp of 1) before rounding" % (n, deg, worst, worst * 2**23))
    print("q: " + ", ".join("%.9ef" % float(c) for c in coef))
    t = table(n)
    print("table: " + ", ".join("0x%08x" % b for b in t))


if __name__ == "__main__":
    main()
