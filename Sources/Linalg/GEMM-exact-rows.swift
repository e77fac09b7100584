// Large products cut into few, tall row blocks: fewer repacks, the same bytes as one call.
//
// `ProductSplit` cuts a product into up to 64 blocks along its longer side so that its bytes do
// not depend on the thread count; each block is one single-threaded BLAS call, which packs the
// other factor again (measured: 10–12 % of the statistics pass is OpenBLAS's packing). But
// OpenBLAS computes C's rows (its column-major N dimension) in panels of a fixed width, so a
// block of rows that starts at a multiple of that width gets exactly the bytes one unsplit call
// gives it (measured with OpenBLAS 0.3.21, Haswell kernel: row blocks of any multiple of 24 rows
// equal one call, in all four transpose cases; heights of 16, 100, 128 or 512 do not). Then the
// blocks may be as few and as tall as the thread count wants: one thread or sixteen, every byte
// is the unsplit call's. The property belongs to the kernel, so it is checked once per process
// and scalar type against one call before it is used (`RowExactness`); where it does not hold,
// products keep the shape-only split.

extension ProductSplit {
    /// Products of at least this many multiply-adds with at least `exactRowMinimum` rows are cut
    /// into row blocks sized for the thread count (when the kernel allows, `RowExactness`).
    /// Smaller products keep the shape-only split, so a model trained with them (the knowledge
    /// model's largest product is ~2³⁰) is rebuilt byte for byte.
    static let exactRowWork = 1 << 31
    static let exactRowMinimum = 4 * exactRowUnit
    /// Row blocks are multiples of this height (a multiple of 24 for OpenBLAS's sgemm, 3 × its
    /// 8-wide panels, and of dgemm's).
    static let exactRowUnit = 192

    /// The row-block height for `rows` rows on `threads` threads: about two blocks per thread,
    /// a multiple of `exactRowUnit`, or nil when the product takes the shape-only split.
    static func exactRowBlock(rows: Int, work: Int, threads: Int) -> Int? {
        guard work >= exactRowWork, rows >= exactRowMinimum else { return nil }
        let wanted = (rows + 2 * threads - 1) / (2 * threads)
        return (wanted + exactRowUnit - 1) / exactRowUnit * exactRowUnit
    }
}

/// Whether this process's BLAS gives row blocks of `ProductSplit.exactRowUnit` multiples the
/// bytes of one call, checked once per scalar type on a product that crosses a panel edge and a
/// k-block edge, in all four transpose cases.
enum RowExactness {
    static let float32: Bool = holds(Float.self)
    static let float64: Bool = holds(Double.self)

    static func holds<S: LinalgScalar>(_: S.Type) -> Bool {
        let unit = ProductSplit.exactRowUnit
        let (m, n, k) = (2 * unit + 40, 72, 700)
        var seed: UInt64 = 0x726f_7773  // "rows"
        func next() -> S {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return S(Double(Int64(bitPattern: seed) >> 11) / Double(1 << 52))
        }
        let a = [S]((0..<(m * k)).map { _ in next() }), b = [S]((0..<(n * k)).map { _ in next() })
        for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
            let (lda, ldb) = (transA ? m : k, transB ? k : n)
            var whole = [S](repeating: 0, count: m * n), split = whole
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    whole.withUnsafeMutableBufferPointer { cp in
                        BLASKernel.gemmCall(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1,
                                            a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb,
                                            beta: 0, c: cp.baseAddress!, ldc: n)
                    }
                    split.withUnsafeMutableBufferPointer { cp in
                        for start in stride(from: 0, to: m, by: unit) {
                            let rows = min(unit, m - start)
                            BLASKernel.gemmCall(transA: transA, transB: transB, m: rows, n: n, k: k, alpha: 1,
                                                a: ap.baseAddress! + (transA ? start : start * lda), lda: lda,
                                                b: bp.baseAddress!, ldb: ldb,
                                                beta: 0, c: cp.baseAddress! + start * n, ldc: n)
                        }
                    }
                }
            }
            if whole != split { return false }
        }
        return true
    }

    static func holds(for kind: ScalarKind) -> Bool {
        switch kind {
        case .float32: float32
        case .float64: float64
        }
    }
}
