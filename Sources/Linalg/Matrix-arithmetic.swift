// Element-wise arithmetic on `Matrix`, through the BLAS level-1 kernels (fast in debug builds
// too, and in callers that are not specialised).

/// Largest count handed to one level-1 BLAS call (32-bit counts).
let level1Chunk = 1 << 30

extension Matrix {
    /// `lhs + rhs`, element-wise.
    /// - Precondition: equal shapes.
    /// - Complexity: O(rows·cols).
    public static func + (lhs: Matrix, rhs: Matrix) -> Matrix {
        var result = lhs
        result.add(rhs, scaledBy: 1, operation: "+")
        return result
    }

    /// `lhs - rhs`, element-wise.
    /// - Precondition: equal shapes.
    /// - Complexity: O(rows·cols).
    public static func - (lhs: Matrix, rhs: Matrix) -> Matrix {
        var result = lhs
        result.add(rhs, scaledBy: -1, operation: "-")
        return result
    }

    /// `lhs = lhs + rhs`, in place.
    /// - Precondition: equal shapes.
    /// - Complexity: O(rows·cols).
    public static func += (lhs: inout Matrix, rhs: Matrix) {
        lhs.add(rhs, scaledBy: 1, operation: "+=")
    }

    /// `lhs = lhs - rhs`, in place.
    /// - Precondition: equal shapes.
    /// - Complexity: O(rows·cols).
    public static func -= (lhs: inout Matrix, rhs: Matrix) {
        lhs.add(rhs, scaledBy: -1, operation: "-=")
    }

    /// `self += alpha · other`, in place (BLAS axpy).
    /// - Precondition: equal shapes.
    /// - Complexity: O(rows·cols).
    public mutating func add(_ other: Matrix, scaledBy alpha: Scalar) {
        add(other, scaledBy: alpha, operation: "add(_:scaledBy:)")
    }

    /// `alpha · self`.
    /// - Complexity: O(rows·cols).
    public func scaled(by alpha: Scalar) -> Matrix {
        var result = self
        result.scale(by: alpha)
        return result
    }

    /// `self = alpha · self`, in place (BLAS scal).
    /// - Complexity: O(rows·cols).
    public mutating func scale(by alpha: Scalar) {
        let count = elements.count
        elements.withUnsafeMutableBufferPointer { buffer in
            var start = 0
            while start < count {
                let n = min(level1Chunk, count - start)
                BLASKernel.scal(n: n, alpha: alpha, x: buffer.baseAddress! + start, incx: 1)
                start += n
            }
        }
    }

    /// The Frobenius norm √(Σ x²), computed by BLAS nrm2 (scaled, so it does not overflow
    /// early).
    /// - Complexity: O(rows·cols).
    public var frobeniusNorm: Scalar {
        let count = elements.count
        return elements.withUnsafeBufferPointer { buffer in
            var start = 0
            var sumOfSquares: Scalar = 0
            while start < count {
                let n = min(level1Chunk, count - start)
                let part = BLASKernel.nrm2(n: n, x: buffer.baseAddress! + start, incx: 1)
                if n == count { return part }
                sumOfSquares += part * part
                start += n
            }
            return sumOfSquares.squareRoot()
        }
    }

    private mutating func add(_ other: Matrix, scaledBy alpha: Scalar, operation: String) {
        precondition(shape == other.shape, "Matrix \(operation): shapes \(shape) and \(other.shape) differ")
        let count = elements.count
        other.elements.withUnsafeBufferPointer { x in
            elements.withUnsafeMutableBufferPointer { y in
                var start = 0
                while start < count {
                    let n = min(level1Chunk, count - start)
                    BLASKernel.axpy(n: n, alpha: alpha, x: x.baseAddress! + start, incx: 1,
                                    y: y.baseAddress! + start, incy: 1)
                    start += n
                }
            }
        }
    }
}
