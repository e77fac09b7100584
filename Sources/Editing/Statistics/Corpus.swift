import Foundation
import Transformer

/// The text that stands in for the official `mom2_dataset`: one sample per line of a text file,
/// or one JSON object with a `text` field per line of a `.jsonl` file.
public struct Corpus: Sendable {
    public let url: URL
    /// Every sample, in file order.
    public let samples: [String]
    /// FNV-1a of the file's bytes (hex).
    public let fingerprint: String

    public init(url: URL) throws {
        self.url = url
        let data: Data
        do { data = try Self.contents(of: url) } catch {
            throw CorpusError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CorpusError.malformed(path: url.path, line: 0, reason: "not UTF-8 text")
        }
        fingerprint = Fingerprint.hex(of: data)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if url.pathExtension.lowercased() == "jsonl" {
            samples = try lines.enumerated().compactMap { number, line in
                if line.trimmingCharacters(in: .whitespaces).isEmpty { return nil }
                guard let object = try? JSONValue.parse(Data(line.utf8)).objectValue,
                      let sample = object["text"]?.stringValue else {
                    throw CorpusError.malformed(path: url.path, line: number + 1, reason: "not a JSON object with a \"text\" string")
                }
                return sample
            }
        } else {
            samples = lines
        }
        guard !samples.isEmpty else { throw CorpusError.malformed(path: url.path, line: 0, reason: "holds no samples") }
    }

    /// The file's bytes; a device or a pipe (`/dev/stdin`, a shell's `<(zcat corpus.gz)`), which
    /// Foundation refuses to map, is read as a stream.
    static func contents(of url: URL) throws -> Data {
        do { return try Data(contentsOf: url) } catch {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let handle = try? FileHandle(forReadingFrom: url) else { throw error }
            defer { try? handle.close() }
            return try handle.readToEnd() ?? Data()
        }
    }

    /// The indices of the first `count` samples in the order of Python's
    /// `random.Random(1).shuffle(range(len))`, as the official `FixedRandomSubsetSampler(seed=1)`.
    public func sampleOrder(count: Int, seed: UInt64 = 1) -> [Int] {
        var order = Array(samples.indices)
        var random = PythonRandom(seed: seed)
        random.shuffle(&order)
        return Array(order.prefix(count))
    }
}

public enum CorpusError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): cannot be read: \(reason)"
        case .malformed(let path, let line, let reason):
            return line > 0 ? "\(path):\(line): \(reason)" : "\(path): \(reason)"
        }
    }
}

/// 64-bit FNV-1a, for fingerprints of corpora and checkpoints (not for security).
public enum Fingerprint {
    public static func hash(_ bytes: some Sequence<UInt8>, seed: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 {
        var h = seed
        for byte in bytes {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }

    public static func hex(of data: Data) -> String {
        String(format: "%016llx", hash(data))
    }
}
