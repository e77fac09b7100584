// Does a row of C = A·B (OpenBLAS cblas_sgemm) depend on how many other rows the call computes?
// The targets of requests optimised together match those of one request at a time only up to
// float32 summation order (TargetGroupTests), because their products have other row counts M.
// This prints, for product shapes (K, N) and row counts M, whether the first rows' results differ
// bit for bit from the same rows computed in a call of fewer rows.
//
//   cc -O2 Benchmarks/tools/sgemm-row-invariance.c -o /tmp/sgemm-rows -lopenblas
//   OPENBLAS_NUM_THREADS=2 /tmp/sgemm-rows                # this CPU's kernels
//   OPENBLAS_CORETYPE=Haswell /tmp/sgemm-rows             # the AVX2 kernels, on an AVX-512 CPU
//
// Seen on an AVX-512 (Cooperlake) machine, OpenBLAS 0.3.21 (session 20):
// - its own kernels: the test models' small shapes (K, N ≤ 1024 with one of them ≤ 512) differ
//   between M = 1 and most larger M (OpenBLAS takes other kernels for small products), while
//   GPT-2-medium's shapes (K, N ≥ 1024) give the same bits for any M ≥ 126;
// - OPENBLAS_CORETYPE=Haswell: every shape above differs at every other M tried from 7 (13 for
//   K ≥ 128) up, GPT-2-medium's included.
// So requests optimised together get other roundings than alone on either kernel set; how much
// that moves z after 20 Adam steps is what TargetGroupTests bounds.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float next(unsigned long long *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((*s >> 40) & 0xffffff) / 16777216.0f - 0.5f;
}

// Rows [0, base) of a call of M rows against the same rows computed alone in a call of base rows.
static void check(int k, int n, int base, const int *ms, int count, int maxM) {
    unsigned long long seed = 1;
    float *a = malloc(sizeof(float) * (size_t)maxM * k), *b = malloc(sizeof(float) * (size_t)k * n);
    float *c = malloc(sizeof(float) * (size_t)maxM * n), *r = malloc(sizeof(float) * (size_t)base * n);
    for (size_t i = 0; i < (size_t)maxM * k; i++) a[i] = next(&seed);
    for (size_t i = 0; i < (size_t)k * n; i++) b[i] = next(&seed);
    for (int transB = 0; transB < 2; transB++) {
        CBLAS_TRANSPOSE tb = transB ? CblasTrans : CblasNoTrans;
        int ldb = transB ? k : n;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, base, n, k, 1, a, k, b, ldb, 0, r, n);
        printf("K=%-5d N=%-5d B%s: rows 0..<%d differ at M =", k, n, transB ? "ᵀ" : " ", base);
        int any = 0;
        for (int i = 0; i < count; i++) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, ms[i], n, k, 1, a, k, b, ldb, 0, c, n);
            if (memcmp(c, r, sizeof(float) * (size_t)base * n) != 0) { printf(" %d", ms[i]); any = 1; }
        }
        printf("%s\n", any ? "" : " (none)");
    }
    free(a); free(b); free(c); free(r);
}

int main(void) {
    const int small[] = {3, 7, 13, 16, 17, 40, 100, 200, 513};
    const int smallShapes[][2] = {{64, 64}, {64, 512}, {128, 512}, {512, 512}, {512, 1024}, {1024, 512}};
    for (int i = 0; i < 6; i++) check(smallShapes[i][0], smallShapes[i][1], 1, small, 9, 513);
    const int large[] = {140, 154, 200, 280, 300, 420, 513, 840};
    const int largeShapes[][2] = {{1024, 3072}, {1024, 1024}, {1024, 4096}, {4096, 1024}, {3072, 1024}};
    for (int i = 0; i < 5; i++) check(largeShapes[i][0], largeShapes[i][1], 126, large, 8, 840);
    return 0;
}
