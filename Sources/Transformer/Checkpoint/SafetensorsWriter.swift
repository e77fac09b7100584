import Foundation

/// Builds a safetensors file from tensors and writes it atomically.
///
/// The output matches the Python/Rust library byte for byte: tensors are laid out by descending
/// dtype (the reference enum order, so I64/F64 before F32 before BF16/F16…) then by name, with no
/// gaps; the header is compact JSON with `__metadata__` first (omitted when empty, keys sorted) and
/// then the tensors in layout order, each as `{"dtype","shape","data_offsets"}`, padded with spaces
/// to a multiple of 8 bytes so that the data section is 8-byte aligned.
///
/// Tensors are held until `write`: arrays passed to `add` are kept (copy-on-write, so no copy is
/// made unless a conversion is requested), and `add(copying:from:)` keeps only a reference to the
/// source file, whose bytes are read while writing.
public struct SafetensorsWriter: Sendable {
    /// The `__metadata__` map of the header, e.g. `["format": "pt"]` as transformers writes.
    public var metadata: [String: String]

    private(set) var entries: [Entry] = []
    private var names: Set<String> = []

    struct Entry: Sendable {
        let name: String
        let dtype: DType
        let shape: [Int]
        let byteCount: Int
        let payload: Payload
    }

    enum Payload: Sendable {
        case bytes([UInt8])
        case floats([Float])
        case doubles([Double])
        case halves([UInt16])
        case int64s([Int64])
        case tensor(SafetensorsFile, TensorInfo)

        func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            switch self {
            case .bytes(let a): return try a.withUnsafeBytes(body)
            case .floats(let a): return try a.withUnsafeBytes(body)
            case .doubles(let a): return try a.withUnsafeBytes(body)
            case .halves(let a): return try a.withUnsafeBytes(body)
            case .int64s(let a): return try a.withUnsafeBytes(body)
            case .tensor(let file, let info): return try file.withBytes(of: info, body)
            }
        }
    }

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Names of the tensors added so far, in the order they were added.
    public var tensorNames: [String] { entries.map(\.name) }

    /// Total bytes of tensor data added so far (the data section's size).
    public var dataByteCount: Int { entries.reduce(0) { $0 + $1.byteCount } }

    // MARK: Adding tensors

    /// Adds a tensor given as its raw little-endian bytes.
    /// - Throws: `SafetensorsError.invalidTensorName` (duplicate or `__metadata__`) or
    ///   `.dataDoesNotMatchShape` if `bytes.count != product(shape) × dtype.byteSize`.
    public mutating func add(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) throws {
        try append(name: name, dtype: dtype, shape: shape, count: bytes.count, unit: 1, payload: .bytes(bytes))
    }

    /// Adds a float tensor, stored as `dtype`: F32 as is, F64 widened exactly, F16 and BF16
    /// rounded to nearest even (NaN stays NaN, overflow becomes ±inf; see `HalfFloat`).
    /// - Throws: `SafetensorsError.invalidTensorName`, `.dataDoesNotMatchShape` if
    ///   `floats.count != product(shape)`, or `.unsupportedWriteDType` for a non-float dtype.
    public mutating func add(name: String, floats: [Float], shape: [Int], as dtype: DType = .F32) throws {
        let payload: Payload
        switch dtype {
        case .F32: payload = .floats(floats)
        case .F64: payload = .doubles(floats.map(Double.init))
        case .F16: payload = .halves(floats.map(HalfFloat.f16Bits(from:)))
        case .BF16: payload = .halves(floats.map(HalfFloat.bf16Bits(from:)))
        default: throw SafetensorsError.unsupportedWriteDType(tensor: name, dtype: dtype)
        }
        try append(name: name, dtype: dtype, shape: shape, count: floats.count, unit: dtype.byteSize, payload: payload)
    }

    /// Adds an I64 tensor.
    /// - Throws: `SafetensorsError.invalidTensorName` or `.dataDoesNotMatchShape`.
    public mutating func add(name: String, int64s: [Int64], shape: [Int]) throws {
        try append(name: name, dtype: .I64, shape: shape, count: int64s.count, unit: 8, payload: .int64s(int64s))
    }

    /// Adds tensor `tensor` of `file` unchanged (same dtype, shape and bytes), under `name`
    /// (default: the same name). The bytes are copied from the file's mapping during `write`.
    public mutating func add(copying tensor: String, from file: SafetensorsFile, as name: String? = nil) throws {
        let info = try file.info(tensor)
        try append(name: name ?? tensor, dtype: info.dtype, shape: info.shape,
                   count: info.byteCount, unit: 1, payload: .tensor(file, info))
    }

    /// Removes the tensor `name`; returns false if no such tensor was added.
    @discardableResult
    public mutating func remove(_ name: String) -> Bool {
        guard names.remove(name) != nil else { return false }
        entries.removeAll { $0.name == name }
        return true
    }

    /// The entry added under `name`, if any.
    func entry(_ name: String) -> Entry? {
        names.contains(name) ? entries.first { $0.name == name } : nil
    }

    /// Adds an entry taken from another writer (already validated there).
    mutating func append(_ entry: Entry) {
        precondition(!names.contains(entry.name), "duplicate tensor \(entry.name)")
        names.insert(entry.name)
        entries.append(entry)
    }

    private mutating func append(name: String, dtype: DType, shape: [Int], count: Int, unit: Int, payload: Payload) throws {
        if name == "__metadata__" {
            throw SafetensorsError.invalidTensorName(tensor: name, reason: "\"__metadata__\" is reserved for the header's metadata")
        }
        if names.contains(name) {
            throw SafetensorsError.invalidTensorName(tensor: name, reason: "a tensor of this name was already added")
        }
        let byteCount = count * unit
        guard let expected = TensorInfo.byteCount(dtype: dtype, shape: shape), expected == byteCount else {
            throw SafetensorsError.dataDoesNotMatchShape(tensor: name, dtype: dtype, shape: shape, byteCount: byteCount)
        }
        names.insert(name)
        entries.append(Entry(name: name, dtype: dtype, shape: shape, byteCount: byteCount, payload: payload))
    }

    // MARK: Writing

    /// The entries in file order: descending dtype rank, then name by code point.
    var layout: [Entry] {
        entries.sorted { a, b in
            if a.dtype != b.dtype { return a.dtype.layoutRank > b.dtype.layoutRank }
            return SafetensorsJSON.codePointLess(a.name, b.name)
        }
    }

    /// The header text including its space padding (without the 8-byte length prefix).
    func headerBytes(layout: [Entry]) -> [UInt8] {
        var json = "{"
        var first = true
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            let keys = metadata.keys.sorted(by: SafetensorsJSON.codePointLess)
            json += keys.map { SafetensorsJSON.quoted($0) + ":" + SafetensorsJSON.quoted(metadata[$0]!) }.joined(separator: ",")
            json += "}"
            first = false
        }
        var offset = 0
        for entry in layout {
            if !first { json += "," }
            first = false
            let shape = entry.shape.map(String.init).joined(separator: ",")
            json += SafetensorsJSON.quoted(entry.name)
                + ":{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + entry.byteCount)]}"
            offset += entry.byteCount
        }
        json += "}"
        var bytes = Array(json.utf8)
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - bytes.count % 8) % 8))
        return bytes
    }

    /// Size in bytes of the file `write` would produce.
    public var fileByteCount: Int {
        8 + headerBytes(layout: layout).count + dataByteCount
    }

    /// The whole file, in memory.
    public func serialized() -> [UInt8] {
        let layout = layout
        let header = headerBytes(layout: layout)
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + dataByteCount)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for entry in layout {
            entry.payload.withUnsafeBytes { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Writes the file to `url` atomically: to a temporary file in the same directory, fsynced and
    /// renamed over `url`. On failure nothing is left under `url` (an existing file there is kept)
    /// and the temporary file is removed.
    /// - Throws: `SafetensorsError.writeFailed`, e.g. when the directory does not exist.
    public func write(to url: URL) throws {
        try AtomicFile.write(url) { sink in try self.write(into: &sink) }
    }

    /// Writes the whole file into `sink`.
    func write(into sink: inout AtomicFile.Sink) throws {
        let layout = layout
        let header = headerBytes(layout: layout)
        try withUnsafeBytes(of: UInt64(header.count).littleEndian) { try sink.write($0) }
        try sink.write(header)
        for entry in layout {
            try entry.payload.withUnsafeBytes { try sink.write($0) }
        }
    }
}
