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
    /// - Complexity: (4/3)d0³ flops for the reduction plus about 3·d0²·min(r, d0 − r), O(d0³).
    public init(layer: Int, secondMoment c0: Matrix<Double>, threshold: Double) throws {
        let reduction = try SymmetricEigenReduction(c0)
        let values = reduction.values
        let d = c0.rows
        let r = values.prefix { $0 < threshold }.count
        let p: Matrix<Double>
        if r == 0 {
            p = Matrix<Double>(rows: d, cols: d, repeating: 0)
        } else if r == d {
            p = .identity(d)
        } else if r <= d - r {
            p = rowGram(of: try reduction.vectors(in: 0..<r))          // U0·U0ᵀ
        } else {
            var complement = rowGram(of: try reduction.vectors(in: r..<d))   // U1·U1ᵀ
            complement.elements.withUnsafeMutableBufferPointer { e in
                for i in 0..<(d * d) { e[i] = -e[i] }
                for i in 0..<d { e[i * d + i] += 1 }
            }
            p = complement                                                 // I − U1·U1ᵀ
        }
        self.init(layer: layer, threshold: threshold, matrix: Matrix<Float>(p), nullSpaceDimension: r, eigenvalues: values)
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
