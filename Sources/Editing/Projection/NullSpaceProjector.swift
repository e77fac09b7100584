import Foundation
import Linalg

/// The null-space projector of one layer: P = U0·U0ᵀ over the eigenvectors of the normalised
/// second moment C0 whose eigenvalue is below the threshold (spec section 3).
///
/// alphaedit decomposes C0 with a float64 symmetric eigensolver (LAPACK dsyevd) and forms P in
/// float64, then stores float32. The official code takes a float32 SVD; for a symmetric PSD matrix
/// both give the same subspace, up to eigenvalues within rounding of the threshold.
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
    /// - Complexity: one d0 × d0 eigendecomposition and one d0 × r × d0 product, O(d0³).
    public init(layer: Int, secondMoment c0: Matrix<Double>, threshold: Double) throws {
        let (values, vectors) = try symmetricEigen(c0)
        let r = values.prefix { $0 < threshold }.count
        let d = c0.rows
        // U0: the first r columns of the eigenvector matrix (ascending eigenvalues).
        var u0 = Matrix<Double>(rows: d, cols: r, repeating: 0)
        for i in 0..<d {
            for j in 0..<r { u0.elements[i * r + j] = vectors.elements[i * d + j] }
        }
        let p = r == 0 ? Matrix<Double>(rows: d, cols: d, repeating: 0) : matmul(u0, u0, transposeB: true)
        self.init(layer: layer, threshold: threshold, matrix: Matrix<Float>(p), nullSpaceDimension: r, eigenvalues: values)
    }

    /// The eigenvalues nearest the threshold (those whose side could flip between implementations).
    public func eigenvaluesNearThreshold(count: Int = 3) -> [Double] {
        let sorted = eigenvalues.sorted { abs($0 - threshold) < abs($1 - threshold) }
        return Array(sorted.prefix(count)).sorted()
    }
}
