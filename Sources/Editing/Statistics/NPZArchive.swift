import Foundation
import Transformer
import ZIPFoundation

/// A NumPy `.npz` file (what `np.savez` / `np.savez_compressed` write): a zip archive, stored or
/// deflated, of one `.npy` array per key (`mom2.mom2` is the member `mom2.mom2.npy`).
///
/// Members are decoded while they are decompressed, straight into the destination array, so a
/// d0 × d0 float32 matrix costs only its decoded copy. Every fault is an `NPZError` naming the
/// file and the member.
public struct NPZArchive {
    public let url: URL
    /// The keys, as `np.load(...).files` lists them (member names without `.npy`), in archive order.
    public let keys: [String]
    private let archive: Archive
    /// The archive's size on disk: no member's stored bytes can exceed it.
    private let fileSize: UInt64

    /// Opens the archive and reads its directory; no member is decompressed.
    public init(url: URL) throws {
        self.url = url
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw NPZError.unreadable(path: url.path, reason: "no such file")
        }
        guard !isDirectory.boolValue else { throw NPZError.unreadable(path: url.path, reason: "is a directory") }
        guard FileManager.default.isReadableFile(atPath: url.path) else {
            throw NPZError.unreadable(path: url.path, reason: "permission denied")
        }
        fileSize = ((try? FileManager.default.attributesOfItem(atPath: url.path)[.size]) as? NSNumber)?.uint64Value ?? UInt64.max
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw NPZError.notAnArchive(path: url.path, reason: Self.describe(error))
        }
        keys = archive.filter { $0.type == .file }.map { $0.path.hasSuffix(".npy") ? String($0.path.dropLast(4)) : $0.path }
    }

    /// A content identity without decompressing: FNV-1a over every member's name, size and CRC-32.
    public var contentFingerprint: String {
        var h = Fingerprint.hash([])
        for entry in archive where entry.type == .file {
            h = Fingerprint.hash(Array("\(entry.path) \(entry.uncompressedSize) \(entry.checksum)".utf8), seed: h)
        }
        return String(format: "%016llx", h)
    }

    public func contains(_ key: String) -> Bool { entry(key) != nil }

    private func entry(_ key: String) -> Entry? {
        archive[key + ".npy"] ?? archive[key]
    }

    private func requireEntry(_ key: String) throws -> Entry {
        guard let entry = entry(key), entry.type == .file else {
            throw NPZError.missingMember(path: url.path, member: key, members: keys)
        }
        // The reader goes by the recorded sizes: ones the file cannot hold would have it read
        // (and allocate buffers for) bytes that are not there.
        let stored = entry.isCompressed ? entry.compressedSize : entry.uncompressedSize
        guard stored <= fileSize, entry.isCompressed || entry.compressedSize == entry.uncompressedSize else {
            throw NPZError.corruptMember(path: url.path, member: key,
                                         reason: "the zip directory records \(entry.compressedSize) stored and \(entry.uncompressedSize) uncompressed bytes (\(entry.isCompressed ? "deflated" : "stored")) in a file of \(fileSize) bytes")
        }
        return entry
    }

    /// The `.npy` header of member `key` (only the first bytes are decompressed).
    public func header(_ key: String) throws -> NPYHeader {
        let entry = try requireEntry(key)
        var bytes: [UInt8] = []
        var header: NPYHeader?
        struct Enough: Error {}
        do {
            _ = try archive.extract(entry, bufferSize: 4096, skipCRC32: true) { chunk in
                bytes.append(contentsOf: chunk)
                do {
                    if let parsed = try NPYHeader.parse(bytes) {
                        header = parsed
                        throw Enough()
                    }
                } catch let fault as NPYHeaderFault {
                    throw NPZError.malformedMember(path: url.path, member: key, reason: fault.description)
                }
            }
        } catch is Enough {
        } catch let error as NPZError {
            throw error
        } catch {
            throw NPZError.corruptMember(path: url.path, member: key, reason: Self.describe(error))
        }
        guard let header else {
            throw NPZError.malformedMember(path: url.path, member: key, reason: "ends after \(bytes.count) bytes, inside its .npy header")
        }
        return header
    }

    /// Member `key` decoded to `Element`, in row-major (C) order whatever the file's order.
    /// - Throws: `NPZError` for a missing member, a bad header, an unsupported dtype, a byte count
    ///   that disagrees with the shape, or a damaged (CRC / deflate) member.
    /// - Complexity: one pass over the member's bytes; memory is the decoded array.
    public func array<Element: NPYElement>(_ key: String, as _: Element.Type = Element.self) throws -> NPYArray<Element> {
        let entry = try requireEntry(key)
        guard let storedSize = Int(exactly: entry.uncompressedSize) else {
            throw NPZError.corruptMember(path: url.path, member: key,
                                         reason: "the zip directory records an uncompressed size of \(entry.uncompressedSize) bytes")
        }
        var decoder = NPYDecoder<Element>(path: url.path, member: key, storedSize: storedSize)
        let checksum: CRC32
        do {
            checksum = try archive.extract(entry, bufferSize: 1 << 20, skipCRC32: false) { chunk in
                try decoder.consume(chunk)
            }
        } catch let error as NPZError {
            throw error
        } catch {
            throw NPZError.corruptMember(path: url.path, member: key, reason: Self.describe(error))
        }
        guard checksum == entry.checksum else {
            throw NPZError.corruptMember(path: url.path, member: key,
                                         reason: String(format: "CRC-32 is %08x, the archive records %08x", checksum, entry.checksum))
        }
        return try decoder.finish()
    }

    /// A 0-d (or one-element) integer member, e.g. `mom2.count`. Floats with an integral value are accepted.
    public func integer(_ key: String) throws -> Int {
        let header = try self.header(key)
        guard header.elementCount == 1 else {
            throw NPZError.unexpectedValue(path: url.path, member: key, reason: "has shape \(header.shape), expected a single integer")
        }
        let values = try array(key, as: Double.self).elements
        guard let value = Int(exactly: values[0]) else {
            throw NPZError.unexpectedValue(path: url.path, member: key, reason: "is \(values[0]), not an integer")
        }
        return value
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case Archive.ArchiveError.unreadableArchive: return "not a zip archive (np.savez writes one)"
        case Archive.ArchiveError.missingEndOfCentralDirectoryRecord: return "not a zip archive, or truncated (no end-of-central-directory record)"
        case Archive.ArchiveError.invalidCompressionMethod: return "uses a compression method other than stored or deflate"
        case Archive.ArchiveError.invalidLocalHeaderSize, Archive.ArchiveError.invalidLocalHeaderDataOffset: return "damaged zip local header"
        case Archive.ArchiveError.invalidCentralDirectoryOffset, Archive.ArchiveError.invalidCentralDirectorySize,
             Archive.ArchiveError.invalidCentralDirectoryEntryCount: return "damaged zip central directory"
        case Archive.ArchiveError.invalidEntrySize: return "damaged zip entry size"
        default:
            // ZIPFoundation's (internal) Data.CompressionError.
            let text = String(describing: error)
            if text.contains("corruptedData") || text.contains("invalidStream") { return "deflate data is corrupt" }
            return text
        }
    }
}

/// A decoded `.npy` array: its shape and its elements in row-major order.
public struct NPYArray<Element: NPYElement>: Sendable {
    public var header: NPYHeader
    public var shape: [Int] { header.shape }
    public var elements: [Element]
}

extension NPYArray {
    /// Decodes a whole `.npy` file held in memory; faults are `NPZError`s naming `path` (the
    /// member is the file name without `.npy`).
    public init(npy bytes: [UInt8], path: String) throws {
        var member = URL(fileURLWithPath: path).lastPathComponent
        if member.hasSuffix(".npy") { member.removeLast(4) }
        var decoder = NPYDecoder<Element>(path: path, member: member, storedSize: bytes.count)
        try decoder.consume(Data(bytes))
        self = try decoder.finish()
    }
}

/// Element types an `.npy` member can be decoded to.
public protocol NPYElement: Sendable {
    static var zero: Self { get }
    /// One element of `type` at `pointer` (any alignment).
    static func decode(_ type: NPYDataType, at pointer: UnsafeRawPointer) -> Self
    /// `count` consecutive elements of `type` from `source` (any alignment) into `destination`.
    static func decode(_ type: NPYDataType, from source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Self>)
}

extension NPYElement {
    public static func decode(_ type: NPYDataType, from source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Self>) {
        let size = type.itemSize!
        for i in 0..<count { destination[i] = decode(type, at: source + i * size) }
    }
}

extension Double: NPYElement {
    public static func decode(_ type: NPYDataType, at pointer: UnsafeRawPointer) -> Double { type.double(at: pointer) }

    /// Little-endian float32 and float64, the official files' dtypes, without a per-element switch.
    public static func decode(_ type: NPYDataType, from source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Double>) {
        switch type {
        case .float(8, false):
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 8)
        case .float(4, false):
            for i in 0..<count { destination[i] = Double(source.loadUnaligned(fromByteOffset: i * 4, as: Float.self)) }
        default:
            for i in 0..<count { destination[i] = type.double(at: source + i * type.itemSize!) }
        }
    }
}

extension Int64: NPYElement {
    public static func decode(_ type: NPYDataType, at pointer: UnsafeRawPointer) -> Int64 { type.int64(at: pointer) }
}

/// Decodes an `.npy` stream chunk by chunk: header first, then elements straight into place
/// (an element split across chunks is carried over).
struct NPYDecoder<Element: NPYElement> {
    let path: String
    let member: String
    /// The member's uncompressed size as the zip directory records it.
    let storedSize: Int
    private var headerBytes: [UInt8] = []
    private var header: NPYHeader?
    private var elements: [Element] = []
    private var filled = 0
    private var carry: [UInt8] = []
    private var dataBytes = 0
    private var expectedBytes = 0

    init(path: String, member: String, storedSize: Int) {
        self.path = path
        self.member = member
        self.storedSize = storedSize
    }

    mutating func consume(_ chunk: Data) throws {
        if header != nil {
            try feed(chunk)
            return
        }
        headerBytes.append(contentsOf: chunk)
        let parsed: NPYHeader?
        do { parsed = try NPYHeader.parse(headerBytes) } catch {
            throw NPZError.malformedMember(path: path, member: member, reason: error.description)
        }
        guard let parsed else { return }
        guard let byteCount = parsed.dataByteCount else {
            throw NPZError.unsupportedDType(path: path, member: member, descr: parsed.descr)
        }
        // The zip directory tells the size before anything is allocated.
        guard storedSize - parsed.dataOffset == byteCount else {
            throw NPZError.sizeMismatch(path: path, member: member, shape: parsed.shape, descr: parsed.descr,
                                        expected: byteCount, found: storedSize - parsed.dataOffset)
        }
        header = parsed
        expectedBytes = byteCount
        // Sizes in the header and the zip directory are claims: the array grows with the bytes
        // that actually arrive, so a member claiming a terabyte allocates nothing up front.
        elements = []
        elements.reserveCapacity(min(parsed.elementCount, 1 << 16))
        let rest = Data(headerBytes[parsed.dataOffset...])
        headerBytes = []
        try feed(rest)
    }

    private mutating func feed(_ chunk: Data) throws {
        guard let header, let itemSize = header.dataType.itemSize else { return }
        dataBytes += chunk.count
        guard dataBytes <= expectedBytes else {
            throw NPZError.sizeMismatch(path: path, member: member, shape: header.shape, descr: header.descr,
                                        expected: expectedBytes, found: dataBytes)
        }
        let type = header.dataType
        chunk.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            guard let base = bytes.baseAddress else { return }
            var offset = 0
            let arrived = (carry.count + bytes.count) / itemSize
            if filled + arrived > elements.count {
                let target = min(header.elementCount, max(filled + arrived, 2 * elements.count))
                elements.append(contentsOf: repeatElement(Element.zero, count: target - elements.count))
            }
            if !carry.isEmpty {
                let take = min(itemSize - carry.count, bytes.count)
                carry.append(contentsOf: bytes[0..<take])
                offset = take
                if carry.count == itemSize {
                    elements[filled] = carry.withUnsafeBytes { Element.decode(type, at: $0.baseAddress!) }
                    filled += 1
                    carry.removeAll(keepingCapacity: true)
                }
            }
            let whole = (bytes.count - offset) / itemSize
            if whole > 0 {
                let start = filled
                elements.withUnsafeMutableBufferPointer { out in
                    Element.decode(type, from: base + offset, count: whole, into: out.baseAddress! + start)
                }
                filled += whole
                offset += whole * itemSize
            }
            if offset < bytes.count { carry.append(contentsOf: bytes[offset...]) }
        }
    }

    mutating func finish() throws -> NPYArray<Element> {
        guard let header else {
            let reason = headerBytes.isEmpty ? "is empty" : "ends after \(headerBytes.count) bytes, inside its .npy header"
            throw NPZError.malformedMember(path: path, member: member, reason: reason)
        }
        guard dataBytes == expectedBytes, carry.isEmpty else {
            throw NPZError.sizeMismatch(path: path, member: member, shape: header.shape, descr: header.descr,
                                        expected: expectedBytes, found: dataBytes)
        }
        if header.fortranOrder && header.shape.count >= 2 {
            elements = Self.rowMajor(fromColumnMajor: elements, shape: header.shape)
        }
        return NPYArray(header: header, elements: elements)
    }

    /// Reorders column-major (Fortran) elements to row-major: element (i0, i1, …) sits at
    /// i0 + s0·(i1 + s1·(…)) in the input and at ((i0·s1 + i1)·s2 + …) in the output.
    static func rowMajor(fromColumnMajor input: [Element], shape: [Int]) -> [Element] {
        guard !input.isEmpty else { return input }
        var output = input
        if shape.count == 2 {
            let rows = shape[0], cols = shape[1]
            for i in 0..<rows { for j in 0..<cols { output[i * cols + j] = input[j * rows + i] } }
            return output
        }
        // Column-major strides; walk output (row-major) indices in order.
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in 1..<shape.count { strides[axis] = strides[axis - 1] * shape[axis - 1] }
        var index = [Int](repeating: 0, count: shape.count)
        for o in 0..<output.count {
            var source = 0
            for axis in 0..<shape.count { source += index[axis] * strides[axis] }
            output[o] = input[source]
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return output
    }
}

/// A `.npz` file that cannot be used; every case names the file and, where it applies, the member.
public enum NPZError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notAnArchive(path: String, reason: String)
    case missingMember(path: String, member: String, members: [String])
    case corruptMember(path: String, member: String, reason: String)
    case malformedMember(path: String, member: String, reason: String)
    case unsupportedDType(path: String, member: String, descr: String)
    case sizeMismatch(path: String, member: String, shape: [Int], descr: String, expected: Int, found: Int)
    case unexpectedValue(path: String, member: String, reason: String)
    /// The file name does not follow `<module>_<dtype>_mom2_<samples>.npz`.
    case fileName(path: String, reason: String)
    /// Well-formed statistics that do not fit this model or these hyper-parameters.
    case incompatible(path: String, reason: String)

    public var description: String { message.escapingLineBreaks }

    private var message: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): cannot be read: \(reason)"
        case .notAnArchive(let path, let reason): return "\(path): \(reason)"
        case .missingMember(let path, let member, let members):
            return "\(path): has no member \"\(member)\" (members: \(members.isEmpty ? "none" : members.joined(separator: ", "))); is it an official statistics file (mom2.mom2, mom2.count)?"
        case .corruptMember(let path, let member, let reason): return "\(path): member \"\(member)\" is damaged: \(reason)"
        case .malformedMember(let path, let member, let reason): return "\(path): member \"\(member)\": \(reason)"
        case .unsupportedDType(let path, let member, let descr):
            return "\(path): member \"\(member)\" has dtype \(descr.debugDescription); only numbers (<f4, <f8, <i4, <i8 …) are read"
        case .sizeMismatch(let path, let member, let shape, let descr, let expected, let found):
            return "\(path): member \"\(member)\" holds \(found) data bytes, but shape \(shape) of \(descr) needs \(expected)"
        case .unexpectedValue(let path, let member, let reason): return "\(path): member \"\(member)\" \(reason)"
        case .fileName(let path, let reason): return "\(path): \(reason)"
        case .incompatible(let path, let reason): return "\(path): \(reason)"
        }
    }
}
