/// The element type of a safetensors tensor, spelled as in the file's JSON header.
///
/// The cases are declared in the order of the reference (Rust) implementation's `Dtype` enum;
/// writers lay tensors out by descending `layoutRank` (widest alignment first) and then by name,
/// as the Python/Rust library does, so files written here match files written by Hugging Face.
///
/// Not covered: the sub-byte and exotic types added to the format later (`F4`, `F6_E2M3`,
/// `F6_E3M2`, `F8_E8M0`, `C64`); a header naming them is rejected as an unknown dtype.
public enum DType: String, Sendable, CaseIterable, Codable {
    case BOOL
    case U8
    case I8
    case F8_E5M2
    case F8_E4M3
    case I16
    case U16
    case F16
    case BF16
    case I32
    case U32
    case F32
    case F64
    case I64
    case U64

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3: return 1
        case .I16, .U16, .F16, .BF16: return 2
        case .I32, .U32, .F32: return 4
        case .F64, .I64, .U64: return 8
        }
    }

    /// True for the floating-point types (`floats(_:)` and `doubles(_:)` read these).
    public var isFloatingPoint: Bool {
        switch self {
        case .F8_E5M2, .F8_E4M3, .F16, .BF16, .F32, .F64: return true
        default: return false
        }
    }

    /// True for BOOL and the integer types (`int64s(_:)` and `int32s(_:)` read these).
    public var isInteger: Bool { !isFloatingPoint }

    /// Position in the reference implementation's enum; the writer sorts tensors by it, descending.
    var layoutRank: Int { DType.allCases.firstIndex(of: self)! }
}
