// The BLAS and LAPACK C interfaces, as Debian's libopenblas-dev and liblapacke-dev install them.
// Only the Linalg target imports this module.
#pragma once
#include <cblas.h>
#include <lapacke.h>
