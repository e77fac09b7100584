/// The element types Linalg computes with: `Float` (BLAS/LAPACK `s` routines) and `Double`
/// (`d` routines).
///
/// Every generic entry point of Linalg switches on ``scalarKind`` once and then calls the
/// matching C routine, so the cost of being generic is one branch per call, not per element.
///
/// - Important: Only `Float` and `Double` conform. Conforming another type is unsupported;
///   Linalg traps (with a message) if it meets one.
public protocol LinalgScalar: BinaryFloatingPoint & Sendable {
    /// Which precision family of BLAS/LAPACK serves this type.
    static var scalarKind: ScalarKind { get }
}

/// The precision family of a ``LinalgScalar``.
public enum ScalarKind: String, Sendable, Hashable, CustomStringConvertible {
    /// IEEE binary32; the `s` routines (`sgemm`, `ssyrk`, …).
    case float32
    /// IEEE binary64; the `d` routines (`dgemm`, `dsyevd`, …).
    case float64

    /// The size of one element in bytes.
    public var byteCount: Int {
        switch self {
        case .float32: 4
        case .float64: 8
        }
    }

    public var description: String { rawValue }
}

extension Float: LinalgScalar {
    public static var scalarKind: ScalarKind { .float32 }
}

extension Double: LinalgScalar {
    public static var scalarKind: ScalarKind { .float64 }
}

// MARK: - Internal: typed views of generic pointers

extension LinalgScalar {
    /// Traps unless `Self` is exactly `Float`/`Double` for the kind it claims.
    @inline(__always)
    static func checkConformance() {
        switch scalarKind {
        case .float32:
            precondition(Self.self == Float.self, "LinalgScalar: only Float and Double may conform (found \(Self.self))")
        case .float64:
            precondition(Self.self == Double.self, "LinalgScalar: only Float and Double may conform (found \(Self.self))")
        }
    }

    // The memory is bound to `Self`, and these are called only after `scalarKind` said that
    // `Self` is `Float` (resp. `Double`), which `checkConformance` verifies; so the memory is
    // bound to `Float` (resp. `Double`) and `assumingMemoryBound` is valid.

    @inline(__always)
    static func f32(_ p: UnsafePointer<Self>) -> UnsafePointer<Float> {
        checkConformance()
        return UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    @inline(__always)
    static func f32(_ p: UnsafeMutablePointer<Self>) -> UnsafeMutablePointer<Float> {
        checkConformance()
        return UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    @inline(__always)
    static func f64(_ p: UnsafePointer<Self>) -> UnsafePointer<Double> {
        checkConformance()
        return UnsafeRawPointer(p).assumingMemoryBound(to: Double.self)
    }

    @inline(__always)
    static func f64(_ p: UnsafeMutablePointer<Self>) -> UnsafeMutablePointer<Double> {
        checkConformance()
        return UnsafeMutableRawPointer(p).assumingMemoryBound(to: Double.self)
    }
}
