#!/usr/bin/env python3
# Times LAPACK stages of the smaller-side projector against dsyevd, on a second moment shaped like
# the projector benchmark's (C0 = KᵀK/m of GELU keys, scaled so that 74 % of the eigenvalues fall
# below the 0.02 threshold, as on GPT-2-medium layers 4–8), n = 4096, one thread:
#   python3 scripts/eigen-stages.py
# dsytrd and dsyevd through Debian's liblapacke/libopenblas (the libraries alphaedit links),
# dstemr through SciPy's LAPACK. The reduction to tridiagonal form (dsytrd) is where every LAPACK
# path to eigenvectors starts: its share of dsyevd bounds what computing fewer vectors can gain.
# Needs numpy and scipy; not part of the tests.
import ctypes
import time

import numpy as np
from scipy.linalg import lapack

n = 4096
fraction = 0.74
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, (2 * n, n // 4))
w = rng.standard_normal((n, n // 4)) / np.sqrt(n / 4)
h = x @ w.T
keys = 0.5 * h * (1 + np.tanh(0.7978845608 * (h + 0.044715 * h ** 3)))
c = keys.T @ keys / (2 * n)
values = np.linalg.eigvalsh(c)
r = int(fraction * n)
c = c / np.sqrt(values[r - 1] * values[r]) * 0.02

lapacke = ctypes.CDLL("liblapacke.so.3")
ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(1)
pointer = ctypes.POINTER(ctypes.c_double)
def ptr(a): return a.ctypes.data_as(pointer)
COL_MAJOR = 102

a = np.asfortranarray(c.copy()); d = np.zeros(n); e = np.zeros(n); tau = np.zeros(n)
start = time.time(); info = lapacke.LAPACKE_dsytrd(COL_MAJOR, ord("L"), n, ptr(a), n, ptr(d), ptr(e), ptr(tau))
dsytrd = time.time() - start
b = np.asfortranarray(c.copy()); eig = np.zeros(n)
start = time.time(); info2 = lapacke.LAPACKE_dsyevd(COL_MAJOR, ord("V"), ord("L"), n, ptr(b), n, ptr(eig))
dsyevd = time.time() - start
assert info == 0 and info2 == 0
start = time.time(); lapack.dstemr(d.copy(), np.append(e[:-1], 0.0), 4, 0, 0, r + 1, n, compute_v=1)
dstemr = time.time() - start
print(f"n {n}, null space {r} ({fraction:.0%}), one thread")
print(f"system LAPACK: dsytrd {dsytrd:.2f} s, dsyevd {dsyevd:.2f} s (dsytrd = {dsytrd / dsyevd:.0%} of dsyevd)")
print(f"SciPy dstemr for the {n - r} vectors above the threshold: {dstemr:.2f} s")
