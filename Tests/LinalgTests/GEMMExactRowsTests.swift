import Testing
@testable import Linalg

/// Large products in tall row blocks sized for the thread count (GEMM-exact-rows.swift).
@Suite("GEMM exact row blocks", .serialized)
struct GEMMExactRowsTests {
    @Test func rowBlocksAreMultiplesOfTheUnitAndOnlyForLargeProducts() {
        let unit = ProductSplit.exactRowUnit
        #expect(ProductSplit.exactRowBlock(rows: 3072, work: 1 << 33, threads: 2) == 768)
        #expect(ProductSplit.exactRowBlock(rows: 3072, work: 1 << 33, threads: 1) == 1536)
        #expect(ProductSplit.exactRowBlock(rows: 1000, work: 1 << 33, threads: 3) == 192)
        for threads in 1...16 {
            let block = ProductSplit.exactRowBlock(rows: 5000, work: 1 << 32, threads: threads)!
            #expect(block % unit == 0 && block >= unit)
        }
        // Below the work or the rows threshold: the shape-only split.
        #expect(ProductSplit.exactRowBlock(rows: 3072, work: (1 << 31) - 1, threads: 2) == nil)
        #expect(ProductSplit.exactRowBlock(rows: 4 * unit - 1, work: 1 << 40, threads: 2) == nil)
    }

    /// A product past the threshold gives the same bytes on 1, 2 and 3 threads, in every transpose
    /// case; where the kernel has the property, they are one single call's bytes.
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func sameBytesOnAnyThreadCountAndAsOneCall(transA: Bool, transB: Bool) {
        let (m, n, k) = (1000, 1100, 1953)  // 2.15e9 multiply-adds, rows not a multiple of 192
        #expect(m * n * k >= ProductSplit.exactRowWork)
        let a: Matrix<Float> = transA ? randomMatrix(k, m, seed: 31) : randomMatrix(m, k, seed: 31)
        let b: Matrix<Float> = transB ? randomMatrix(n, k, seed: 32) : randomMatrix(k, n, seed: 32)
        let one = Linalg.withThreadCount(1) { matmul(a, b, transposeA: transA, transposeB: transB) }
        let two = Linalg.withThreadCount(2) { matmul(a, b, transposeA: transA, transposeB: transB) }
        let three = Linalg.withThreadCount(3) { matmul(a, b, transposeA: transA, transposeB: transB) }
        #expect(one.elements == two.elements && one.elements == three.elements)
        if RowExactness.float32 {
            var whole = [Float](repeating: 0, count: m * n)
            a.elements.withUnsafeBufferPointer { ap in
                b.elements.withUnsafeBufferPointer { bp in
                    whole.withUnsafeMutableBufferPointer { cp in
                        BLASKernel.gemmCall(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1,
                                            a: ap.baseAddress!, lda: a.cols, b: bp.baseAddress!, ldb: b.cols,
                                            beta: 0, c: cp.baseAddress!, ldc: n)
                    }
                }
            }
            #expect(one.elements == whole)
        }
        // And it is the product (spot check against a Double dot product).
        for (i, j) in [(0, 0), (m - 1, n - 1), (517, 903)] {
            var reference = 0.0
            for p in 0..<k {
                reference += Double(transA ? a[p, i] : a[i, p]) * Double(transB ? b[j, p] : b[p, j])
            }
            #expect(abs(Double(one[i, j]) - reference) < 1e-3)
        }
    }

    /// On this machine's OpenBLAS the property holds for both precisions (if a future kernel
    /// breaks it, products fall back to the shape-only split and this says so).
    @Test func theKernelHasTheProperty() {
        #expect(RowExactness.float32, "row blocks of 192 rows differ from one sgemm call: large products use the shape-only split")
        #expect(RowExactness.float64, "row blocks of 192 rows differ from one dgemm call: large products use the shape-only split")
    }
}
