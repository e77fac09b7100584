// Comparisons used by parity tests: how far is a result from a reference, in Double.

extension Matrix {
    /// The largest |self[i, j] − other[i, j]|, computed in `Double`. The other matrix may have
    /// another precision (e.g. a `Float` result against a `Double` reference). NaN anywhere
    /// gives NaN.
    /// - Precondition: equal shapes.
    /// - Complexity: O(rows·cols).
    @_specialize(where Scalar == Float, Other == Float)
    @_specialize(where Scalar == Float, Other == Double)
    @_specialize(where Scalar == Double, Other == Double)
    @_specialize(where Scalar == Double, Other == Float)
    public func maxAbsDifference<Other: LinalgScalar>(_ other: Matrix<Other>) -> Double {
        precondition(shape == other.shape, "Matrix.maxAbsDifference: shapes \(shape) and \(other.shape) differ")
        var largest = 0.0
        elements.withUnsafeBufferPointer { x in
            other.elements.withUnsafeBufferPointer { y in
                for k in 0..<x.count {
                    let d = abs(Double(x[k]) - Double(y[k]))
                    if d.isNaN { largest = .nan; return }
                    largest = Swift.max(largest, d)
                }
            }
        }
        return largest
    }

    /// ‖self − reference‖_F / ‖reference‖_F, computed in `Double` (the reference may have
    /// another precision). Returns 0 when both are zero and +infinity when only the reference
    /// is zero.
    /// - Precondition: equal shapes.
    /// - Complexity: O(rows·cols).
    @_specialize(where Scalar == Float, Reference == Float)
    @_specialize(where Scalar == Float, Reference == Double)
    @_specialize(where Scalar == Double, Reference == Double)
    @_specialize(where Scalar == Double, Reference == Float)
    public func relativeError<Reference: LinalgScalar>(to reference: Matrix<Reference>) -> Double {
        precondition(shape == reference.shape, "Matrix.relativeError: shapes \(shape) and \(reference.shape) differ")
        var difference = 0.0
        var norm = 0.0
        elements.withUnsafeBufferPointer { x in
            reference.elements.withUnsafeBufferPointer { r in
                for k in 0..<x.count {
                    let rk = Double(r[k])
                    let d = Double(x[k]) - rk
                    difference += d * d
                    norm += rk * rk
                }
            }
        }
        if difference == 0 { return 0 }
        return (difference / norm).squareRoot()
    }
}

extension Matrix {
    /// Whether every element is finite (no NaN, no ±infinity).
    /// - Complexity: O(rows·cols).
    public var isFinite: Bool {
        elements.withUnsafeBufferPointer { allFinite($0) }
    }
}

@_specialize(where S == Float)
@_specialize(where S == Double)
private func allFinite<S: LinalgScalar>(_ x: UnsafeBufferPointer<S>) -> Bool {
    for k in 0..<x.count where !x[k].isFinite { return false }
    return true
}
