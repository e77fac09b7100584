#!/usr/bin/env python3
# Times the LAPACK stages of the smaller-side projector against dsyevd with SciPy's LAPACK, on a
# second moment shaped like the projector benchmark's (C0 = KᵀK/m of GELU keys, scaled so that 74 %
# of the eigenvalues fall below the 0.02 threshold, as on GPT-2-medium layers 4–8), n = 4096:
#   OPENBLAS_NUM_THREADS=1 python3 scripts/eigen-stages.py
# It shows how much of dsyevd the Householder reduction (dsytrd) alone costs, a floor for any
# method that starts from it. Needs numpy and scipy; not part of the tests.
import numpy as np, time, os
from scipy.linalg import lapack
n=4096
rng=np.random.default_rng(0)
X=rng.uniform(-1,1,(2*n,n//4)); W=rng.standard_normal((n,n//4))/np.sqrt(n/4)
H=X@W.T; K=0.5*H*(1+np.tanh(0.7978845608*(H+0.044715*H**3)))
C=K.T@K/(2*n)
ev=np.linalg.eigvalsh(C); thr=np.sqrt(ev[int(0.74*n)-1]*ev[int(0.74*n)])
C=C/thr*0.02
t=time.time(); c,d,e,tau,info=lapack.dsytrd(C,lower=1); t1=time.time()-t
t=time.time(); w=lapack.dsterf(d.copy(),e.copy()); t2=time.time()-t
k=n-int(0.74*n)
t=time.time(); res=lapack.dstemr(d.copy(),np.append(e,0.0),4,0,0,int(0.74*n)+1,n,compute_v=1); t3=time.time()-t
print("dsytrd %.2f s, dsterf %.2f s, dstemr(%d vecs) %.2f s"%(t1,t2,k,t3))
t=time.time(); lapack.dsyevd(C); print("dsyevd %.2f"%(time.time()-t))
