import Foundation
import Synchronization

/// A safetensors file, memory-mapped read-only and validated when opened.
///
/// Opening maps the file (`mmap`, unmapped when the object is released) and checks the whole
/// header (see `SafetensorsHeader` for the rules); tensor bytes are only touched when read, so
/// opening a multi-gigabyte checkpoint costs a header parse. Reads copy or convert out of the
/// mapping (`floats`, `doubles`, `int64s`, `int32s`, `rawBytes`); `withFloats` lends an F32
/// tensor without copying. Immutable, so one file can be read from many tasks at once.
///
/// Every error is a `SafetensorsError` naming `name` (the path) and the tensor.
public final class SafetensorsFile: Sendable {
    /// Where the file was opened from; nil for a file made from bytes in memory.
    public let url: URL?
    /// The path (or, for bytes in memory, the display name) used in error messages.
    public let name: String
    /// The header's `__metadata__` (empty if absent), e.g. `["format": "pt"]`.
    public var metadata: [String: String] { header.metadata }
    /// Every tensor name, in the order of the tensors' bytes in the file.
    public let tensorNames: [String]

    let header: SafetensorsHeader
    let region: ByteRegion
    private let served = Atomic<Int>(0)

    /// Tensor bytes read out of the file so far (every read goes through one place), for
    /// checking that a process reads only the tensors it needs.
    public var bytesRead: Int { served.load(ordering: .relaxed) }

    /// Opens and validates the safetensors file at `url` by memory-mapping it.
    /// - Throws: `SafetensorsError` if the file cannot be opened or its header is invalid.
    /// - Complexity: O(header size); tensor bytes are not read.
    public convenience init(url: URL) throws {
        let path = url.path
        let region = try ByteRegion(mapping: path)
        try self.init(region: region, url: url, name: path)
    }

    /// Validates a safetensors file held in memory (the bytes are copied).
    /// - Parameters:
    ///   - bytes: the whole file.
    ///   - name: how errors name the file.
    public convenience init(bytes: [UInt8], name: String) throws {
        let region = bytes.withUnsafeBytes { ByteRegion(copying: $0) }
        try self.init(region: region, url: nil, name: name)
    }

    /// Validates a safetensors file held in memory (the bytes are copied).
    public convenience init(data: Data, name: String) throws {
        let region = data.withUnsafeBytes { ByteRegion(copying: $0) }
        try self.init(region: region, url: nil, name: name)
    }

    private init(region: ByteRegion, url: URL?, name: String) throws {
        self.header = try SafetensorsHeader(bytes: region.bytes, file: name)
        self.region = region
        self.url = url
        self.name = name
        self.tensorNames = header.tensors.map(\.name)
    }

    // MARK: Inspecting

    /// Every tensor's header entry, in file-offset order.
    public var tensors: [TensorInfo] { header.tensors }

    /// Offset of the data section from the start of the file (8 + header length); a tensor's
    /// bytes are at `dataSectionOffset + info.dataOffsets` in the file.
    public var dataSectionOffset: Int { header.dataStart }

    /// Size of the whole file in bytes.
    public var fileSize: Int { region.bytes.count }

    /// True if the bytes are a memory mapping of the file (false for in-memory files).
    public var isMemoryMapped: Bool { region.isMapped }

    public func contains(_ tensor: String) -> Bool {
        header.positions[tensor] != nil
    }

    /// The header entry of `tensor`.
    /// - Throws: `SafetensorsError.tensorNotFound`.
    public func info(_ tensor: String) throws -> TensorInfo {
        guard let position = header.positions[tensor] else {
            throw SafetensorsError.tensorNotFound(file: name, tensor: tensor, available: header.tensors.count)
        }
        return header.tensors[position]
    }

    // MARK: Raw access

    /// Lends the tensor's bytes (little-endian, row-major) for the duration of `body`, without
    /// copying. The pointer must not escape `body`.
    public func withRawBytes<R>(_ tensor: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try info(tensor)
        return try withBytes(of: info, body)
    }

    /// A copy of the tensor's bytes (little-endian, row-major).
    public func rawBytes(_ tensor: String) throws -> [UInt8] {
        let info = try info(tensor)
        return withBytes(of: info) { Array($0) }
    }

    /// Lends the bytes of a tensor of this file (bounds were checked when the header was read)
    /// for the duration of `body`, then takes the pages that hold only this tensor out of the
    /// process's resident set (see `ByteRegion.dropResidentPages`): what a read copies is
    /// resident once, in the copy. Every read goes through here.
    func withBytes<R>(of info: TensorInfo, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        served.add(info.byteCount, ordering: .relaxed)
        let range = (header.dataStart + info.dataOffsets.lowerBound) ..< (header.dataStart + info.dataOffsets.lowerBound + info.byteCount)
        defer { region.dropResidentPages(range) }
        return try body(UnsafeRawBufferPointer(rebasing: region.bytes[range]))
    }
}
