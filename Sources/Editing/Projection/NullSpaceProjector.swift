import Foundation
import Linalg

/// The null-space projector of one layer: P = U0·U0ᵀ over the eigenvectors of the normalised
/// second moment C0 whose eigenvalue is below the threshold (spec section 3).
///
/// alphaedit decomposes C0 with a float64 symmetric eigensolver (LAPACK dsytrd + dsterf for every
/// eigenvalue, dstemr + a blocked back-transformation for the eigenvectors of the smaller side of
/// the threshold) and forms P in float64, then stores float32. The official code takes a float32
/// SVD; for a symmetric PSD matrix both give the same subspace, up to eigenvalues within rounding
/// of the threshold.
public struct NullSpaceProjector: Sendable, Equatable {
    public var layer: Int
    public var threshold: Double
    /// `d0 × d0`, float32.
    public var matrix: Matrix<Float>
    /// r: eigenvalues below the threshold.
    public var nullSpaceDimension: Int
    /// Every eigenvalue of C0, ascending.
    public var eigenvalues: [Double]

    public init(layer: Int, threshold: Double, matrix: Matrix<Float>, nullSpaceDimension: Int, eigenvalues: [Double]) {
        self.layer = layer
        self.threshold = threshold
        self.matrix = matrix
        self.nullSpaceDimension = nullSpaceDimension
        self.eigenvalues = eigenvalues
    }

    /// Computes the projector from a normalised second moment.
    ///
    /// All eigenvalues come from one tridiagonal reduction (``SymmetricEigenReduction``); then only
    /// the eigenvectors on the smaller side of the threshold are computed: with r eigenvalues
    /// below it, P = U0·U0ᵀ over those r when r ≤ d0 − r, else P = I − U1·U1ᵀ over the d0 − r
    /// above it (the same projector: U0·U0ᵀ + U1·U1ᵀ = I). Both in float64, exactly symmetric,
    /// then rounded to float32.
    ///
    /// Memory, at d0 = 4096: the reduction works in C0's own storage when the caller hands it
    /// over (a temporary such as `stats.secondMoment`, else one copy), and is released before P
    /// is formed; P is rounded to float32 block by block (``rowGramRounded(of:complement:)``), so
    /// that at most one d0 × d0 Double (128 MiB) is live at a time, besides C0 if the caller keeps it.
    /// - Complexity: (4/3)d0³ flops for the reduction plus about 3·d0²·min(r, d0 − r), O(d0³).
    public init(layer: Int, secondMoment c0: consuming Matrix<Double>, threshold: Double) throws {
        let d = c0.rows
        let (values, r, kept) = try Self.keptEigenvectors(of: consume c0, threshold: threshold)
        let p: Matrix<Float>
        if let kept {
            p = rowGramRounded(of: kept, complement: r > d - r)   // U0·U0ᵀ, or I − U1·U1ᵀ
        } else {
            p = r == 0 ? Matrix<Float>(rows: d, cols: d) : .identity(d)
        }
        self.init(layer: layer, threshold: threshold, matrix: p, nullSpaceDimension: r, eigenvalues: values)
    }

    /// Every eigenvalue, r (how many lie below the threshold), and the eigenvectors P is formed
    /// from: U0 `[d0, r]` when r ≤ d0 − r, else U1 `[d0, d0 − r]`; none when r is 0 or d0. The
    /// reduction (d0² Doubles of reflectors) ends with this call.
    private static func keptEigenvectors(of c0: consuming Matrix<Double>, threshold: Double)
        throws -> (values: [Double], r: Int, vectors: Matrix<Double>?) {
        let reduction = try SymmetricEigenReduction(consume c0)
        let values = reduction.values, d = reduction.order
        let r = values.prefix { $0 < threshold }.count
        guard r > 0, r < d else { return (values, r, nil) }
        return (values, r, try reduction.vectors(in: r <= d - r ? 0..<r : r..<d))
    }

    /// The projector computed the way alphaedit did before ``init(layer:secondMoment:threshold:)``
    /// took only the eigenvectors it needs: every eigenvector by LAPACK dsyevd, then
    /// P = U0·U0ᵀ by a general product. The reference of the tests and of the projector
    /// benchmark; about twice as slow.
    /// - Complexity: about 9·d0³ (nominal, dsyevd) + 2·d0²·r flops.
    public static func fullDecompositionReference(layer: Int, secondMoment c0: Matrix<Double>,
                                                  threshold: Double) throws -> NullSpaceProjector {
        let (values, vectors) = try symmetricEigen(c0)
        let r = values.prefix { $0 < threshold }.count
        let d = c0.rows
        // U0: the first r columns of the eigenvector matrix (ascending eigenvalues).
        var u0 = Matrix<Double>(rows: d, cols: r, repeating: 0)
        for i in 0..<d {
            for j in 0..<r { u0.elements[i * r + j] = vectors.elements[i * d + j] }
        }
        let p = r == 0 ? Matrix<Double>(rows: d, cols: d, repeating: 0) : matmul(u0, u0, transposeB: true)
        return NullSpaceProjector(layer: layer, threshold: threshold, matrix: Matrix<Float>(p), nullSpaceDimension: r,
                                  eigenvalues: values)
    }

    /// The eigenvalues nearest the threshold (those whose side could flip between implementations).
    public func eigenvaluesNearThreshold(count: Int = 3) -> [Double] {
        let sorted = eigenvalues.sorted { abs($0 - threshold) < abs($1 - threshold) }
        return Array(sorted.prefix(count)).sorted()
    }
}
