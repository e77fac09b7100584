/// The ways a Linalg computation can fail at run time.
///
/// Programmer errors (mismatched shapes in products, out-of-bounds strided access) trap with a
/// precondition message instead; the throwing APIs (solves, inverse, eigendecomposition) report
/// everything through this type so a caller can recover or explain.
public enum LinalgError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Two operands whose shapes do not fit together, e.g. `solve(a, b)` with `b.rows != a.rows`.
    case shapeMismatch(operation: String, lhs: MatrixShape, rhs: MatrixShape)
    /// An operation that needs a square matrix got another shape.
    case notSquare(operation: String, shape: MatrixShape)
    /// The input contains NaN or infinity.
    case nonFiniteInput(operation: String)
    /// LU factorisation met an exactly zero pivot: `U[pivot, pivot] == 0` (0-based), so the
    /// matrix is singular.
    case singularMatrix(operation: String, pivot: Int)
    /// The matrix is singular to working precision: its estimated reciprocal condition number
    /// (1-norm) is below the scalar's machine epsilon, so a solution would have no correct digits.
    case illConditioned(operation: String, reciprocalCondition: Double)
    /// Cholesky factorisation failed: the leading minor of order `minor` (1-based) is not
    /// positive definite.
    case notPositiveDefinite(operation: String, minor: Int)
    /// LAPACK's symmetric eigensolver did not converge (`info` as returned by dsyevd).
    case eigenDidNotConverge(info: Int)
    /// LAPACK's tridiagonal eigenvector solver (dstemr, MRRR) failed, or found fewer vectors
    /// than asked for (`info` 0); `info` as LAPACK returned it.
    case eigenvectorsDidNotConverge(routine: String, info: Int)
    /// LAPACK rejected argument number `index` of `routine`. This is a bug in Linalg.
    case illegalArgument(routine: String, index: Int)
    /// LAPACKE could not allocate its working memory.
    case outOfMemory(routine: String)
    /// The problem needs more workspace than LAPACK's 32-bit integers can address.
    case problemTooLarge(routine: String, detail: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(operation, lhs, rhs):
            return "\(operation): shapes \(lhs) and \(rhs) do not fit together; check which operand is transposed or which axis holds the samples"
        case let .notSquare(operation, shape):
            return "\(operation): needs a square matrix, got \(shape)"
        case let .nonFiniteInput(operation):
            return "\(operation): the input contains NaN or infinity; find where it was produced (overflow in float32? an uninitialised statistic?) before factorising"
        case let .singularMatrix(operation, pivot):
            return "\(operation): the matrix is singular (LU pivot U[\(pivot), \(pivot)] is exactly zero); make sure its rows are linearly independent, or add a ridge term λI before solving"
        case let .illConditioned(operation, rcond):
            return "\(operation): the matrix is singular to working precision (estimated reciprocal condition number \(rcond)); add a ridge term λI, or solve in Double"
        case let .notPositiveDefinite(operation, minor):
            return "\(operation): the matrix is not positive definite (the leading minor of order \(minor) is not); use solve(_:_:) (LU) for indefinite matrices, or add a ridge term λI"
        case let .eigenDidNotConverge(info):
            return "symmetricEigen: LAPACK dsyevd did not converge (info \(info)); check the matrix for a huge dynamic range and rescale it"
        case let .eigenvectorsDidNotConverge(routine, info):
            return "\(routine): LAPACK could not compute the requested eigenvectors (info \(info)); check the matrix for a huge dynamic range and rescale it, or use symmetricEigen(_:) (dsyevd)"
        case let .illegalArgument(routine, index):
            return "\(routine): LAPACK rejected argument \(index); this is a bug in Linalg, please report it with the shapes involved"
        case let .outOfMemory(routine):
            return "\(routine): LAPACKE could not allocate its workspace; free memory or use a smaller problem"
        case let .problemTooLarge(routine, detail):
            return "\(routine): the problem is too large for LAPACK's 32-bit integers (\(detail))"
        }
    }
}

/// Maps a negative LAPACKE `info` to an error (memory errors are LAPACKE's own codes).
func lapackFailure(_ info: Int32, routine: String) -> LinalgError {
    switch info {
    case -1011, -1010: .outOfMemory(routine: routine)
    default: .illegalArgument(routine: routine, index: Int(-info))
    }
}
