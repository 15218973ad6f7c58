"""Shared by the fitting scripts in tools/: Lawson's iteration, which turns weighted least squares on
a fixed set of points into the minimax (equioscillating) fit. Needs mpmath."""
import mpmath as mp


def lawson(rows, targets, weights, iters=60):
    """Coefficients c minimising max_i |weights[i] * (sum_k c[k] rows[i][k] - targets[i])|, and that max.

    rows[i] is the basis evaluated at point i; each iteration solves the normal equations with the
    points weighted by Lawson's factors, then moves those factors towards the points of largest error.
    """
    n = len(rows[0])
    lw = [mp.mpf(1) / len(rows)] * len(rows)
    for _ in range(iters):
        m = mp.zeros(n, n)
        v = mp.zeros(n, 1)
        for row, gv, w, l in zip(rows, targets, weights, lw):
            ww = l * w * w
            for i in range(n):
                v[i] += ww * row[i] * gv
                for k in range(n):
                    m[i, k] += ww * row[i] * row[k]
        c = mp.lu_solve(m, v)
        errs = [w * (mp.fsum(c[k] * row[k] for k in range(n)) - gv) for row, gv, w in zip(rows, targets, weights)]
        s = mp.fsum(l * abs(e) for l, e in zip(lw, errs))
        lw = [l * abs(e) / s for l, e in zip(lw, errs)]
    return [c[k] for k in range(n)], max(abs(e) for e in errs)


def chebyshev_points(lo, hi, n):
    """n points on [lo, hi], denser towards the ends (where a minimax error peaks)."""
    return [lo + (hi - lo) * (1 - mp.cos(mp.pi * (i + 0.5) / n)) / 2 for i in range(n)]
