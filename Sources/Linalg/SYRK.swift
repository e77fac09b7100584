// Gram accumulation C += alpha·XᵀX (BLAS syrk), the kernel of second-moment statistics:
// X holds one sample per row (e.g. the MLP keys of a batch of tokens), C is their running
// d×d second moment.

/// C += alpha·XᵀX, in place, keeping C exactly symmetric.
///
/// BLAS syrk updates one triangle; this updates the upper triangle and then copies it onto the
/// lower one, so afterwards `c[i, j] == c[j, i]` bit for bit.
/// - Parameters:
///   - x: `n × d`, one sample per row.
///   - c: `d × d`, symmetric on entry (only its upper triangle is read); updated in place.
///   - alpha: scale of XᵀX (e.g. 1, or 1/N for a mean).
/// - Precondition: `c` is `d × d`.
/// - Complexity: O(n·d²) (n·d² flops for the triangle) plus O(d²) for the mirror.
public func accumulateGram<S: LinalgScalar>(of x: Matrix<S>, into c: inout Matrix<S>, alpha: S = 1) {
    let d = x.cols
    let n = x.rows
    precondition(c.rows == d && c.cols == d,
                 "accumulateGram: c is \(c.shape), but x is \(x.shape) so XᵀX is \(d)×\(d)")
    if d == 0 || n == 0 { return }
    x.elements.withUnsafeBufferPointer { xp in
        c.elements.withUnsafeMutableBufferPointer { cp in
            BLASKernel.syrkUpper(trans: true, n: d, k: n, alpha: alpha, a: xp.baseAddress!, lda: d,
                                 beta: 1, c: cp.baseAddress!, ldc: d)
            mirrorUpperToLower(n: d, cp.baseAddress!)
        }
    }
}

/// XᵀX as a new symmetric matrix.
/// - Parameter x: `n × d`, one sample per row.
/// - Returns: `d × d`, exactly symmetric.
/// - Complexity: O(n·d²).
public func gram<S: LinalgScalar>(of x: Matrix<S>) -> Matrix<S> {
    var c = Matrix<S>(rows: x.cols, cols: x.cols)
    accumulateGram(of: x, into: &c)
    return c
}
