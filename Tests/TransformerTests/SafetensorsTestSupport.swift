import Foundation
import Testing
import Transformer

/// Helpers shared by the Safetensors*/Checkpoint* tests.
enum SafetensorsTestSupport {
    /// A file assembled by hand: the 8-byte length prefix (`length`, default the header's size),
    /// the header text, then `data`.
    static func file(header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
        let text = Array(header.utf8)
        return file(headerBytes: text, data: data, length: length)
    }

    static func file(headerBytes: [UInt8], data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
        var out: [UInt8] = []
        withUnsafeBytes(of: (length ?? UInt64(headerBytes.count)).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        out.append(contentsOf: data)
        return out
    }

    /// The name of an error's enum case (`"byteCountMismatch"`), for counting and matching.
    static func caseName(_ error: any Error) -> String {
        if let label = Mirror(reflecting: error).children.first?.label { return label }
        return String(describing: error)
    }

    /// Opens `bytes` in memory and returns the SafetensorsError it throws (recording an issue if
    /// it does not throw one), after checking the description is one line naming the file.
    @discardableResult
    static func openError(
        _ bytes: [UInt8], name: String = "hand.safetensors", sourceLocation: SourceLocation = #_sourceLocation
    ) -> SafetensorsError? {
        let error = #expect(throws: SafetensorsError.self, sourceLocation: sourceLocation) {
            _ = try SafetensorsFile(bytes: bytes, name: name)
        }
        if let error {
            #expect(!error.description.contains("\n"), "multi-line: \(error)", sourceLocation: sourceLocation)
            #expect(error.description.hasPrefix(name + ": "), "does not name the file: \(error)", sourceLocation: sourceLocation)
        }
        return error
    }

    /// Little-endian bytes of the values.
    static func bytes<T>(_ values: [T]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }

    /// Bit patterns, so that NaNs compare equal to themselves.
    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
}

/// A small seeded generator (SplitMix64), so failures reproduce.
struct SafetensorsRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
