/// A safetensors file that cannot be read or written, or a tensor request it cannot satisfy.
///
/// Every case names the file (`file`: the path it was opened from, or the display name of an
/// in-memory file) and, where one is involved, the tensor. `description` is one line:
/// `<file>: <fault>[; <what to do>]`.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    // MARK: Opening and mapping
    /// `open`, `fstat` or `mmap` failed; `reason` is the system's message.
    case cannotOpen(file: String, reason: String)
    /// The path names a directory or device, not a regular file.
    case notARegularFile(file: String)

    // MARK: Header framing
    /// The file is shorter than the 8-byte little-endian header length that starts every file.
    case fileTooShort(file: String, size: Int)
    /// The header length prefix exceeds the 100 MB limit of the format.
    case headerTooLarge(file: String, headerLength: UInt64, limit: Int)
    /// The header length prefix points past the end of the file.
    case headerLengthExceedsFile(file: String, headerLength: UInt64, available: Int)
    /// The header is not valid UTF-8; `offset` is from the start of the header text.
    case headerNotUTF8(file: String, offset: Int)
    /// The header is not valid JSON; `offset` is from the start of the header text.
    case headerNotJSON(file: String, reason: String, offset: Int)
    /// A key appears twice in one JSON object of the header (e.g. a tensor listed twice).
    case duplicateEntry(file: String, key: String)
    /// The header is valid JSON but not an object.
    case headerNotObject(file: String, found: String)
    /// `__metadata__` is not an object of string values.
    case invalidMetadata(file: String, reason: String)

    // MARK: Tensor entries
    /// A header entry is not an object.
    case entryNotObject(file: String, tensor: String, found: String)
    /// A header entry does not have exactly the keys `dtype`, `shape` and `data_offsets`.
    case invalidEntryKeys(file: String, tensor: String, keys: [String])
    /// `dtype` is not a string naming a known dtype.
    case unknownDType(file: String, tensor: String, found: String)
    /// `shape` is not a list of non-negative integers.
    case invalidShape(file: String, tensor: String, found: String)
    /// `data_offsets` is not `[begin, end]` with non-negative integers and begin <= end.
    case invalidOffsets(file: String, tensor: String, reason: String)
    /// `data_offsets` ends past the data section (the bytes after the header).
    case offsetsBeyondData(file: String, tensor: String, end: UInt64, dataSize: Int)
    /// product(shape) × dtype size overflows a 64-bit integer.
    case sizeOverflow(file: String, tensor: String, dtype: DType, shape: [Int])
    /// The byte range of `data_offsets` does not hold product(shape) elements of `dtype`.
    case byteCountMismatch(file: String, tensor: String, byteCount: Int, dtype: DType, shape: [Int])
    /// Two tensors share bytes.
    case overlappingTensors(file: String, first: String, second: String)

    // MARK: Reading tensors
    /// No tensor of that name; `available` is how many tensors the file has.
    case tensorNotFound(file: String, tensor: String, available: Int)
    /// The tensor's dtype cannot be read as the requested Swift type (`target`, e.g. "Float").
    case unsupportedConversion(file: String, tensor: String, dtype: DType, target: String)
    /// An element does not fit the requested narrower integer type.
    case valueOutOfRange(file: String, tensor: String, index: Int, value: String, target: String)

    // MARK: Writing
    /// `add` was given a name already added, or the reserved name `__metadata__`.
    case invalidTensorName(tensor: String, reason: String)
    /// `add` was given bytes or values whose count does not match the shape.
    case dataDoesNotMatchShape(tensor: String, dtype: DType, shape: [Int], byteCount: Int)
    /// `add(name:floats:shape:as:)` was asked for a non-float dtype.
    case unsupportedWriteDType(tensor: String, dtype: DType)
    /// Creating, writing or renaming the output failed; nothing was left under the output name.
    case writeFailed(file: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let file, let reason):
            return "\(file): cannot open: \(reason)"
        case .notARegularFile(let file):
            return "\(file): not a regular file (for a model directory use Checkpoint(directory:))"
        case .fileTooShort(let file, let size):
            return "\(file): file is \(size) bytes, shorter than the 8-byte header length; it is truncated or not a safetensors file"
        case .headerTooLarge(let file, let length, let limit):
            return "\(file): header length \(length) exceeds the format's limit of \(limit) bytes; the file is corrupt or not a safetensors file"
        case .headerLengthExceedsFile(let file, let length, let available):
            return "\(file): header length \(length) exceeds the \(available) bytes after the length prefix; the file is truncated or not a safetensors file"
        case .headerNotUTF8(let file, let offset):
            return "\(file): header is not valid UTF-8 (at header byte \(offset))"
        case .headerNotJSON(let file, let reason, let offset):
            return "\(file): header is not valid JSON: \(reason) (at header byte \(offset))"
        case .duplicateEntry(let file, let key):
            return "\(file): header has the key \(quoted(key)) twice (a tensor must be listed once)"
        case .headerNotObject(let file, let found):
            return "\(file): header must be a JSON object, found \(found)"
        case .invalidMetadata(let file, let reason):
            return "\(file): \"__metadata__\" must map strings to strings: \(reason)"
        case .entryNotObject(let file, let tensor, let found):
            return "\(file): tensor \(quoted(tensor)): entry must be an object with dtype, shape and data_offsets, found \(found)"
        case .invalidEntryKeys(let file, let tensor, let keys):
            let list = keys.map { quoted($0) }.joined(separator: ", ")
            return "\(file): tensor \(quoted(tensor)): entry must have exactly the keys \"dtype\", \"shape\", \"data_offsets\", found [\(list)]"
        case .unknownDType(let file, let tensor, let found):
            return "\(file): tensor \(quoted(tensor)): unknown dtype \(found) (known: \(DType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .invalidShape(let file, let tensor, let found):
            return "\(file): tensor \(quoted(tensor)): shape must be a list of non-negative integers, found \(found)"
        case .invalidOffsets(let file, let tensor, let reason):
            return "\(file): tensor \(quoted(tensor)): data_offsets must be [begin, end] with non-negative integers and begin <= end: \(reason)"
        case .offsetsBeyondData(let file, let tensor, let end, let dataSize):
            return "\(file): tensor \(quoted(tensor)): data_offsets end \(end) is past the end of the \(dataSize)-byte data section; the file is truncated or corrupt"
        case .sizeOverflow(let file, let tensor, let dtype, let shape):
            return "\(file): tensor \(quoted(tensor)): \(dtype.byteSize) × product(\(shape)) overflows a 64-bit byte count"
        case .byteCountMismatch(let file, let tensor, let byteCount, let dtype, let shape):
            return "\(file): tensor \(quoted(tensor)): byte count \(byteCount) does not equal \(dtype.byteSize) × product(\(shape)) = \(expectedBytes(dtype, shape))"
        case .overlappingTensors(let file, let first, let second):
            return "\(file): tensors \(quoted(first)) and \(quoted(second)) overlap in the data section"
        case .tensorNotFound(let file, let tensor, let available):
            return "\(file): no tensor named \(quoted(tensor)) (the file has \(available) tensors; list them with tensorNames)"
        case .unsupportedConversion(let file, let tensor, let dtype, let target):
            return "\(file): tensor \(quoted(tensor)): dtype \(dtype.rawValue) cannot be read as \(target)\(conversionHint(dtype))"
        case .valueOutOfRange(let file, let tensor, let index, let value, let target):
            return "\(file): tensor \(quoted(tensor)): element \(index) = \(value) does not fit in \(target)"
        case .invalidTensorName(let tensor, let reason):
            return "tensor \(quoted(tensor)): \(reason)"
        case .dataDoesNotMatchShape(let tensor, let dtype, let shape, let byteCount):
            return "tensor \(quoted(tensor)): \(byteCount) bytes given, but \(dtype.rawValue) \(shape) needs \(dtype.byteSize) × product(\(shape)) = \(expectedBytes(dtype, shape))"
        case .unsupportedWriteDType(let tensor, let dtype):
            return "tensor \(quoted(tensor)): floats can be written as F32, F64, F16 or BF16, not \(dtype.rawValue)"
        case .writeFailed(let file, let reason):
            return "\(file): cannot write: \(reason)"
        }
    }

    private func quoted(_ name: String) -> String { SafetensorsJSON.quoted(name) }

    private func expectedBytes(_ dtype: DType, _ shape: [Int]) -> String {
        guard let count = TensorInfo.byteCount(dtype: dtype, shape: shape) else { return "(overflow)" }
        return String(count)
    }

    private func conversionHint(_ dtype: DType) -> String {
        if dtype.isFloatingPoint { return " (use floats or doubles)" }
        if dtype == .U64 { return " (use rawBytes)" }
        return " (use int64s or int32s)"
    }
}
