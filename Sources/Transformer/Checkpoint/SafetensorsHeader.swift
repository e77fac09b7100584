/// The parsed and validated header of one safetensors file.
///
/// Layout of a file: an 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the
/// data section. The JSON maps tensor names to `{"dtype", "shape", "data_offsets": [begin, end]}`
/// (offsets relative to the data section) plus an optional `"__metadata__"` string→string map.
///
/// Validation, each failure a `SafetensorsError` naming the file and tensor: length prefix
/// present and within the file and the 100 MB limit; UTF-8; JSON; no key twice (at any level); a top-level
/// object; entries with exactly the three keys; known dtype; shape of non-negative integers;
/// offsets `[begin, end]` with begin <= end <= data size; end − begin = product(shape) × dtype size
/// (overflow-checked); no two tensors sharing a byte.
///
/// Lenient, unlike the Rust reference implementation: gaps between tensors and bytes after the
/// last tensor are accepted (the Rust library requires tensors to tile the data section exactly).
/// Such bytes are never read. Files written by `SafetensorsWriter` have no gaps.
struct SafetensorsHeader: Sendable {
    /// The format's limit on the header length (the Rust library's `MAX_HEADER_SIZE`).
    static let maxHeaderLength = 100_000_000

    /// N, the header length in bytes.
    let headerLength: Int
    /// Size of the data section: file size − 8 − N.
    let dataSize: Int
    let metadata: [String: String]
    /// Every tensor, ordered by data offset (then end, then name).
    let tensors: [TensorInfo]
    /// Name → index into `tensors`.
    let positions: [String: Int]

    /// Offset of the data section from the start of the file.
    var dataStart: Int { 8 + headerLength }

    /// Parses and validates the header of a whole file's bytes.
    init(bytes: UnsafeRawBufferPointer, file: String) throws(SafetensorsError) {
        guard bytes.count >= 8 else { throw .fileTooShort(file: file, size: bytes.count) }
        let length = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard length <= UInt64(Self.maxHeaderLength) else {
            throw .headerTooLarge(file: file, headerLength: length, limit: Self.maxHeaderLength)
        }
        guard length <= UInt64(bytes.count - 8) else {
            throw .headerLengthExceedsFile(file: file, headerLength: length, available: bytes.count - 8)
        }
        headerLength = Int(length)
        dataSize = bytes.count - 8 - headerLength

        let root: SafetensorsJSON.Value
        do {
            root = try SafetensorsJSON.parse(UnsafeRawBufferPointer(rebasing: bytes[8 ..< 8 + headerLength]))
        } catch {
            switch error.kind {
            case .invalidUTF8: throw .headerNotUTF8(file: file, offset: error.offset)
            case .syntax: throw .headerNotJSON(file: file, reason: error.reason, offset: error.offset)
            case .duplicateKey(let key): throw .duplicateEntry(file: file, key: key)
            }
        }
        guard case .object(let members) = root else {
            throw .headerNotObject(file: file, found: root.abbreviated())
        }

        var metadata: [String: String] = [:]
        var tensors: [TensorInfo] = []
        tensors.reserveCapacity(members.count)
        for member in members {
            if member.key == "__metadata__" {
                metadata = try Self.parseMetadata(member.value, file: file)
            } else {
                tensors.append(try Self.parseEntry(name: member.key, member.value, dataSize: dataSize, file: file))
            }
        }
        tensors.sort { a, b in
            if a.dataOffsets.lowerBound != b.dataOffsets.lowerBound { return a.dataOffsets.lowerBound < b.dataOffsets.lowerBound }
            if a.dataOffsets.upperBound != b.dataOffsets.upperBound { return a.dataOffsets.upperBound < b.dataOffsets.upperBound }
            return SafetensorsJSON.codePointLess(a.name, b.name)
        }
        try Self.checkNoOverlap(tensors, file: file)

        self.metadata = metadata
        self.tensors = tensors
        var positions: [String: Int] = [:]
        positions.reserveCapacity(tensors.count)
        for (i, tensor) in tensors.enumerated() { positions[tensor.name] = i }
        self.positions = positions
    }

    // MARK: Pieces

    private static func parseMetadata(_ value: SafetensorsJSON.Value, file: String) throws(SafetensorsError) -> [String: String] {
        switch value {
        case .null:
            return [:]   // the Rust library reads `Option<HashMap>`, so null means none
        case .object(let members):
            var metadata: [String: String] = [:]
            for member in members {
                guard case .string(let string) = member.value else {
                    throw .invalidMetadata(file: file, reason: "key \(SafetensorsJSON.quoted(member.key)) has \(member.value.abbreviated())")
                }
                metadata[member.key] = string
            }
            return metadata
        default:
            throw .invalidMetadata(file: file, reason: "found \(value.abbreviated())")
        }
    }

    private static func parseEntry(
        name: String, _ value: SafetensorsJSON.Value, dataSize: Int, file: String
    ) throws(SafetensorsError) -> TensorInfo {
        guard case .object(let members) = value else {
            throw .entryNotObject(file: file, tensor: name, found: value.abbreviated())
        }
        var dtypeValue: SafetensorsJSON.Value?
        var shapeValue: SafetensorsJSON.Value?
        var offsetsValue: SafetensorsJSON.Value?
        for member in members {
            switch member.key {
            case "dtype": dtypeValue = member.value
            case "shape": shapeValue = member.value
            case "data_offsets": offsetsValue = member.value
            default: break
            }
        }
        guard members.count == 3, let dtypeValue, let shapeValue, let offsetsValue else {
            throw .invalidEntryKeys(file: file, tensor: name, keys: members.map(\.key))
        }

        guard case .string(let dtypeName) = dtypeValue, let dtype = DType(rawValue: dtypeName) else {
            throw .unknownDType(file: file, tensor: name, found: dtypeValue.abbreviated())
        }

        guard case .array(let dimensions) = shapeValue else {
            throw .invalidShape(file: file, tensor: name, found: shapeValue.abbreviated())
        }
        var shape: [Int] = []
        shape.reserveCapacity(dimensions.count)
        for dimension in dimensions {
            guard case .number(let number) = dimension, let n = number.unsignedInteger, n <= UInt64(Int.max) else {
                throw .invalidShape(file: file, tensor: name, found: shapeValue.abbreviated())
            }
            shape.append(Int(n))
        }

        guard case .array(let offsets) = offsetsValue, offsets.count == 2 else {
            throw .invalidOffsets(file: file, tensor: name, reason: "found \(offsetsValue.abbreviated())")
        }
        guard case .number(let beginNumber) = offsets[0], let begin = beginNumber.unsignedInteger,
              case .number(let endNumber) = offsets[1], let end = endNumber.unsignedInteger else {
            throw .invalidOffsets(file: file, tensor: name, reason: "found \(offsetsValue.abbreviated())")
        }
        guard begin <= end else {
            throw .invalidOffsets(file: file, tensor: name, reason: "begin \(begin) > end \(end)")
        }
        guard end <= UInt64(dataSize) else {
            throw .offsetsBeyondData(file: file, tensor: name, end: end, dataSize: dataSize)
        }

        guard let expected = TensorInfo.byteCount(dtype: dtype, shape: shape) else {
            throw .sizeOverflow(file: file, tensor: name, dtype: dtype, shape: shape)
        }
        let byteCount = Int(end - begin)
        guard byteCount == expected else {
            throw .byteCountMismatch(file: file, tensor: name, byteCount: byteCount, dtype: dtype, shape: shape)
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: Int(begin) ..< Int(end))
    }

    /// `tensors` is sorted by begin offset; empty tensors overlap nothing.
    private static func checkNoOverlap(_ tensors: [TensorInfo], file: String) throws(SafetensorsError) {
        var furthest: TensorInfo?   // the non-empty tensor seen so far that ends last
        for tensor in tensors where !tensor.dataOffsets.isEmpty {
            if let previous = furthest, tensor.dataOffsets.lowerBound < previous.dataOffsets.upperBound {
                throw .overlappingTensors(file: file, first: previous.name, second: tensor.name)
            }
            if furthest == nil || tensor.dataOffsets.upperBound > furthest!.dataOffsets.upperBound {
                furthest = tensor
            }
        }
    }
}
