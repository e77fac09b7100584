import Foundation
@testable import Linalg
import Synchronization
import Testing

@Suite("Symmetric eigendecomposition")
struct SymmetricEigenTests {
    /// Checks A·V = V·diag(λ), VᵀV = I and ascending λ, all in Double.
    private func checkDecomposition(_ a: Matrix<Double>, values: [Double], vectors: Matrix<Double>,
                                    tolerance: Double, sourceLocation: SourceLocation = #_sourceLocation) {
        let n = a.rows
        #expect(values.count == n, sourceLocation: sourceLocation)
        #expect(vectors.shape == a.shape, sourceLocation: sourceLocation)
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 <= $1 }, "eigenvalues not ascending", sourceLocation: sourceLocation)

        let av = matmul(a, vectors)
        let vLambda = Matrix<Double>(rows: n, cols: n) { i, j in vectors[i, j] * values[j] }
        let scale = max(a.frobeniusNorm, 1)
        let residual = (av - vLambda).frobeniusNorm / scale
        #expect(residual < tolerance, "‖AV − VΛ‖/‖A‖ = \(residual)", sourceLocation: sourceLocation)

        let gram = matmul(vectors, vectors, transposeA: true)
        let orthogonality = gram.maxAbsDifference(Matrix<Double>.identity(n))
        #expect(orthogonality < tolerance, "max |VᵀV − I| = \(orthogonality)", sourceLocation: sourceLocation)
    }

    @Test(arguments: [1, 2, 3, 10, 57])
    func smallRandomMatrices(n: Int) throws {
        let a: Matrix<Double> = randomSymmetric(n, seed: UInt64(100 + n))
        let (values, vectors) = try symmetricEigen(a)
        checkDecomposition(a, values: values, vectors: vectors, tolerance: 1e-12)
        // Against the naive reference product too (the BLAS product is what the check used).
        let av = naiveMatmul(a, vectors)
        let vLambda = Matrix<Double>(rows: n, cols: n) { i, j in vectors[i, j] * values[j] }
        #expect(av.maxAbsDifference(vLambda) < 1e-12)
        // Eigenvalues only agree with the full decomposition.
        let valuesOnly = try symmetricEigenvalues(a)
        for (x, y) in zip(valuesOnly, values) { #expect(abs(x - y) < 1e-12) }
    }

    @Test func knownSpectrum() throws {
        // [[2, 1], [1, 2]]: eigenvalues 1 and 3, eigenvectors (1, -1)/√2 and (1, 1)/√2.
        let a = Matrix<Double>(rows: 2, cols: 2, elements: [2, 1, 1, 2])
        let (values, vectors) = try symmetricEigen(a)
        #expect(abs(values[0] - 1) < 1e-15 && abs(values[1] - 3) < 1e-15)
        let half = 0.5.squareRoot()
        #expect(abs(abs(vectors[0, 0]) - half) < 1e-15 && abs(vectors[0, 0] + vectors[1, 0]) < 1e-15)
        #expect(abs(abs(vectors[0, 1]) - half) < 1e-15 && abs(vectors[0, 1] - vectors[1, 1]) < 1e-15)

        // Diagonal with the eigenvalues out of order: columns come back sorted.
        let d = Matrix<Double>(rows: 3, cols: 3, elements: [5, 0, 0, 0, -2, 0, 0, 0, 1])
        let (dv, dvec) = try symmetricEigen(d)
        #expect(dv == [-2, 1, 5])
        #expect(abs(dvec[1, 0]) == 1 && abs(dvec[2, 1]) == 1 && abs(dvec[0, 2]) == 1)
    }

    @Test func readsOnlyTheUpperTriangle() throws {
        let a: Matrix<Double> = randomSymmetric(6, seed: 103)
        var garbled = a
        for i in 1..<6 { for j in 0..<i { garbled[i, j] = 1000 } }
        #expect(try symmetricEigenvalues(garbled) == symmetricEigenvalues(a))
    }

    @Test func floatInputIsComputedInDouble() throws {
        let a: Matrix<Float> = randomSymmetric(20, seed: 104)
        let (values, vectors) = try symmetricEigen(a)
        checkDecomposition(Matrix<Double>(a), values: values, vectors: vectors, tolerance: 1e-12)
    }

    /// A rank-deficient covariance, as in the null-space projector: KᵀK of 40 samples in 100
    /// dimensions has 60 zero eigenvalues.
    @Test func rankDeficientGram() throws {
        let k: Matrix<Double> = randomMatrix(40, 100, seed: 105)
        let c = gram(of: k)
        let (values, vectors) = try symmetricEigen(c)
        checkDecomposition(c, values: values, vectors: vectors, tolerance: 1e-12)
        let largest = values.last!
        #expect(values.prefix(60).allSatisfy { abs($0) < 1e-10 * largest })
        #expect(values.suffix(40).allSatisfy { $0 > 1e-6 * largest })
    }

    /// n = 600 in tests (the n = 4096 case runs in the benchmark, where it takes seconds).
    @Test func largeMatrix() throws {
        let n = 600
        let x: Matrix<Double> = randomMatrix(n, n, seed: 106)
        let a = (x + x.transposed()).scaled(by: 0.5)
        let (values, vectors) = try symmetricEigen(a)
        checkDecomposition(a, values: values, vectors: vectors, tolerance: 1e-11)
    }

    /// The Float projector's product: the rounded Gram matrix (or I minus it), element for
    /// element as rounding rowGram's Double result, at sizes with one block and with many.
    @Test func rowGramRoundedIsTheRoundedGram() {
        for (n, k) in [(5, 3), (300, 40), (700, 300)] {
            let v: Matrix<Double> = randomMatrix(n, k, seed: UInt64(3 * n + k))
            let g = rowGram(of: v)
            #expect(rowGramRounded(of: v) == Matrix<Float>(g))
            var complement = g
            for i in 0..<(n * n) { complement.elements[i] = -complement.elements[i] }
            for i in 0..<n { complement.elements[i * n + i] += 1 }
            let rounded = rowGramRounded(of: v, complement: true)
            #expect(rounded == Matrix<Float>(complement))
            #expect(rounded == rounded.transposed())
        }
        #expect(rowGramRounded(of: Matrix<Double>(rows: 3, cols: 0)) == Matrix<Float>(rows: 3, cols: 3))
        #expect(rowGramRounded(of: Matrix<Double>(rows: 3, cols: 0), complement: true) == .identity(3))
    }

    @Test func errors() {
        #expect(throws: LinalgError.notSquare(operation: "symmetricEigen", shape: MatrixShape(rows: 2, cols: 3))) {
            try symmetricEigen(Matrix<Double>(rows: 2, cols: 3))
        }
        #expect(throws: LinalgError.nonFiniteInput(operation: "symmetricEigen")) {
            try symmetricEigen(Matrix<Float>(rows: 2, cols: 2, elements: [1, .nan, .nan, 1]))
        }
        let empty = try? symmetricEigen(Matrix<Double>(rows: 0, cols: 0))
        #expect(empty?.values == [] && empty?.vectors.shape == MatrixShape(rows: 0, cols: 0))
    }
}

/// ``SymmetricEigenReduction`` / ``symmetricEigen(_:vectorsIn:)``: every eigenvalue, the
/// eigenvectors of an index range only, against dsyevd's full decomposition.
@Suite("Symmetric eigendecomposition, eigenvectors of a range")
struct SymmetricEigenRangeTests {
    /// A covariance-like PSD matrix: X·Xᵀ/m over m samples whose coordinates decay in scale,
    /// so the spectrum decays over several orders of magnitude (as a layer's second moment).
    private func decayingMoment(_ n: Int, seed: UInt64) -> Matrix<Double> {
        let m = 2 * n
        var x: Matrix<Double> = randomMatrix(n, m, seed: seed)
        for i in 0..<n {
            let scale = 1 / (1 + Double(i) * 0.25)
            for j in 0..<m { x[i, j] *= scale }
        }
        // Rotate the coordinates so that the matrix is not diagonally dominant.
        let q: Matrix<Double> = randomMatrix(n, n, seed: seed + 1)
        let y = matmul(q, x)
        return matmul(y, y, transposeB: true).scaled(by: 1 / Double(m * n))
    }

    /// The eigenpairs of `range`: A·v = λ·v and orthonormal columns, to `tolerance`·‖A‖.
    private func checkVectors(_ a: Matrix<Double>, values: [Double], vectors: Matrix<Double>, range: Range<Int>,
                              tolerance: Double, sourceLocation: SourceLocation = #_sourceLocation) {
        let n = a.rows, k = range.count
        #expect(vectors.shape == MatrixShape(rows: n, cols: k), sourceLocation: sourceLocation)
        guard k > 0 else { return }
        let scale = a.frobeniusNorm
        let av = matmul(a, vectors)
        var worst = 0.0
        for j in 0..<k {
            var norm = 0.0
            for i in 0..<n {
                let r = av[i, j] - values[range.lowerBound + j] * vectors[i, j]
                norm += r * r
            }
            worst = max(worst, norm.squareRoot() / scale)
        }
        #expect(worst < tolerance, "max ‖A·v − λ·v‖/‖A‖ = \(worst)", sourceLocation: sourceLocation)
        let gram = matmul(vectors, vectors, transposeA: true)
        let orthogonality = gram.maxAbsDifference(Matrix<Double>.identity(k))
        #expect(orthogonality < tolerance * Double(n), "max |VᵀV − I| = \(orthogonality)", sourceLocation: sourceLocation)
    }

    @Test(arguments: [(1, 0..<1), (2, 1..<2), (3, 0..<3), (10, 3..<7), (57, 0..<5), (57, 50..<57), (200, 0..<200), (300, 17..<91)])
    func rangesOfRandomMatrices(n: Int, range: Range<Int>) throws {
        let a: Matrix<Double> = randomSymmetric(n, seed: UInt64(300 + n))
        let (values, vectors) = try symmetricEigen(a, vectorsIn: range)
        let (reference, _) = try symmetricEigen(a)
        #expect(values.count == n)
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 <= $1 }, "eigenvalues not ascending")
        let scale = a.frobeniusNorm
        let worst = zip(values, reference).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-12 * scale, "max |λ − λ_dsyevd| = \(worst), ‖A‖ = \(scale)")
        checkVectors(a, values: values, vectors: vectors, range: range, tolerance: 1e-12)
        // The same subspace as dsyevd's vectors: ‖V_refᵀ·V‖ has singular values 1, so its
        // Frobenius norm² is k (unless an eigenvalue at the range's edge is degenerate, which
        // random matrices are not).
        let (_, all) = try symmetricEigen(a)
        var referenceColumns = Matrix<Double>(rows: n, cols: range.count)
        for i in 0..<n { for j in 0..<range.count { referenceColumns[i, j] = all[i, range.lowerBound + j] } }
        let overlap = matmul(referenceColumns, vectors, transposeA: true).frobeniusNorm
        #expect(abs(overlap * overlap - Double(range.count)) < 1e-9, "subspace overlap \(overlap * overlap) of \(range.count)")
    }

    /// A second-moment-like matrix with a decaying spectrum: the low end (the null space) and
    /// the high end, as the projector asks for them.
    @Test(arguments: [64, 256, 512])
    func decayingSpectrumEnds(n: Int) throws {
        let a = decayingMoment(n, seed: UInt64(400 + n))
        let reduction = try SymmetricEigenReduction(a)
        let reference = try symmetricEigenvalues(a)
        let full = try symmetricEigen(a).values
        let scale = a.frobeniusNorm
        #expect(reduction.order == n && reduction.values.count == n)
        #expect(zip(reduction.values, full).map { abs($0 - $1) }.max()! <= 1e-12 * scale)
        #expect(zip(reduction.values, reference).map { abs($0 - $1) }.max()! <= 1e-12 * scale)
        #expect(reduction.values.last! / max(reduction.values.first!, 1e-300) > 100, "the spectrum should decay")
        for range in [0..<(n / 10), (n - n / 8)..<n, 0..<n] {
            let vectors = try reduction.vectors(in: range)
            checkVectors(a, values: reduction.values, vectors: vectors, range: range, tolerance: 1e-12)
            // Rows form of the same vectors.
            #expect(try reduction.transposedVectors(in: range) == vectors.transposed())
        }
        #expect(try reduction.vectors(in: 5..<5).shape == MatrixShape(rows: n, cols: 0))
    }

    /// The blocked back-transformation (column blocks on threads) gives the same
    /// vectors whatever the thread count.
    @Test func sameBytesOnAnyThreadCount() throws {
        let a = decayingMoment(320, seed: 7)
        let range = 20..<320
        let one = try Linalg.withThreadCount(1) { try symmetricEigen(a, vectorsIn: range) }
        let two = try Linalg.withThreadCount(2) { try symmetricEigen(a, vectorsIn: range) }
        #expect(one.values == two.values && one.vectors == two.vectors)
    }

    /// From n = 2048 the reduction runs on two OpenBLAS threads: still dsyevd's eigenvalues, the
    /// same bytes on any Linalg thread count, and no BLAS call running beside it is threaded by it
    /// (a float32 product threaded by OpenBLAS differs from the one-thread product in ~20 % of its
    /// elements, so a call that slipped into the two-thread window would show).
    @Test func threadedReductionKeepsItsThreadsToItself() throws {
        let n = LAPACKKernel.fixedThreadsOrder
        let a: Matrix<Double> = randomSymmetric(n, seed: 2048)
        let reduction = try SymmetricEigenReduction(a)
        let reference = try symmetricEigenvalues(a)
        let scale = a.frobeniusNorm
        #expect(zip(reduction.values, reference).map { abs($0 - $1) }.max()! <= 1e-12 * scale)
        let range = 0..<32
        let vectors = try reduction.vectors(in: range)
        checkVectors(a, values: reduction.values, vectors: vectors, range: range, tolerance: 1e-12)
        let one = try Linalg.withThreadCount(1) { try SymmetricEigenReduction(a) }
        #expect(one.values == reduction.values)
        #expect(try one.vectors(in: range) == vectors)

        // Products on another thread for as long as a reduction runs.
        let x: Matrix<Float> = randomMatrix(512, 512, seed: 5)
        let solo = matmul(x, x)
        final class Background: Sendable {
            let running = Atomic<Bool>(true), mismatches = Atomic<Int>(0), products = Atomic<Int>(0)
            let done = DispatchSemaphore(value: 0)
        }
        let background = Background()
        Thread.detachNewThread {
            while background.running.load(ordering: .acquiring) {
                if matmul(x, x) != solo { background.mismatches.add(1, ordering: .relaxed) }
                background.products.add(1, ordering: .relaxed)
            }
            background.done.signal()
        }
        let concurrent = try SymmetricEigenReduction(a)
        background.running.store(false, ordering: .releasing)
        background.done.wait()
        let (mismatches, products) = (background.mismatches.load(ordering: .relaxed), background.products.load(ordering: .relaxed))
        #expect(concurrent.values == reduction.values)
        #expect(products > 0)
        #expect(mismatches == 0, "\(mismatches) of \(products) products ran threaded")
    }

    /// dstemr's range is cut in two only at a wide relative gap in its middle half, never in a
    /// cluster, and not for small ranges.
    @Test func dstemrRangesAreCutAtAWideGapOnly() {
        // 400 eigenvalues 1, 1.0001, 1.0002, … (relative gaps ~1e-4) with one gap of 5 % at 250.
        var values = (0..<400).map { 1 + 1e-4 * Double($0) }
        for i in 250..<400 { values[i] *= 1.05 }
        #expect(SymmetricEigenReduction.stemrSplit(values: values, range: 0..<400) == 250)
        #expect(SymmetricEigenReduction.stemrSplit(values: values, range: 50..<400) == 250)
        // The wide gap outside the middle half: no cut (the other gaps are too narrow).
        #expect(SymmetricEigenReduction.stemrSplit(values: values, range: 0..<300) == nil)
        // A cluster (every relative gap below 1e-3) is never cut; nor is a small range.
        #expect(SymmetricEigenReduction.stemrSplit(values: (0..<400).map { 1 + 1e-5 * Double($0) }, range: 0..<400) == nil)
        #expect(SymmetricEigenReduction.stemrSplit(values: values, range: 200..<300) == nil)
    }

    /// Eigenvectors computed in two dstemr ranges and back-transformed over several reflector
    /// panels (n = 700: 11 panels, the last partial) are the eigenvectors of A, orthonormal
    /// across the cut, and span dsyevd's subspace.
    @Test func vectorsAcrossTheCutAndThePanels() throws {
        let n = 700
        let a = decayingMoment(n, seed: 41)
        let reduction = try SymmetricEigenReduction(a)
        let range = 100..<n
        #expect(SymmetricEigenReduction.stemrSplit(values: reduction.values, range: range) != nil,
                "the test matrix should have a wide gap to cut at")
        let vectors = try reduction.vectors(in: range)
        checkVectors(a, values: reduction.values, vectors: vectors, range: range, tolerance: 1e-12)
        let (_, all) = try symmetricEigen(a)
        var reference = Matrix<Double>(rows: n, cols: range.count)
        for i in 0..<n { for j in 0..<range.count { reference[i, j] = all[i, range.lowerBound + j] } }
        let overlap = matmul(reference, vectors, transposeA: true).frobeniusNorm
        #expect(abs(overlap * overlap - Double(range.count)) < 1e-9, "subspace overlap \(overlap * overlap) of \(range.count)")
        let one = try Linalg.withThreadCount(1) { try reduction.vectors(in: range) }
        let three = try Linalg.withThreadCount(3) { try reduction.vectors(in: range) }
        #expect(one == vectors && three == vectors)
    }

    @Test func rowGramIsExactlySymmetricAndCorrect() {
        for (n, k) in [(5, 3), (300, 40), (600, 7)] {
            let v: Matrix<Double> = randomMatrix(n, k, seed: UInt64(n + k))
            let g = rowGram(of: v)
            #expect(g == g.transposed())
            #expect(g.maxAbsDifference(naiveMatmul(v, v, transposeB: true)) < 1e-12 * Double(k))
            let f = rowGram(of: Matrix<Float>(v))
            #expect(f == f.transposed())
        }
        #expect(rowGram(of: Matrix<Double>(rows: 3, cols: 0)) == Matrix<Double>(rows: 3, cols: 3))
    }

    @Test func errors() {
        #expect(throws: LinalgError.notSquare(operation: "SymmetricEigenReduction", shape: MatrixShape(rows: 2, cols: 3))) {
            try SymmetricEigenReduction(Matrix<Double>(rows: 2, cols: 3))
        }
        #expect(throws: LinalgError.nonFiniteInput(operation: "SymmetricEigenReduction")) {
            try symmetricEigen(Matrix<Float>(rows: 2, cols: 2, elements: [1, .infinity, .infinity, 1]), vectorsIn: 0..<1)
        }
        let empty = try? symmetricEigen(Matrix<Double>(rows: 0, cols: 0), vectorsIn: 0..<0)
        #expect(empty?.values == [] && empty?.vectors.shape == MatrixShape(rows: 0, cols: 0))
        #expect(LinalgError.eigenvectorsDidNotConverge(routine: "dstemr", info: 3).description.contains("info 3"))
    }
}
