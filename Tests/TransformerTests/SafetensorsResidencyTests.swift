import Foundation
import Testing
import Transformer

/// A read copies a tensor out of the file's mapping and leaves none of it resident: a loaded
/// model is in memory once (its float copies), not twice for as long as its checkpoint is open.
@Suite struct SafetensorsResidencyTests {
    /// 16 MiB of F32, between two small tensors, so that its pages are its own.
    static let count = 4 << 20
    static let values: [Float] = (0..<count).map { Float($0 % 1000) * 0.5 }

    /// A temporary file holding `small.before`, `big` and `small.after`; removed by `body`'s caller.
    static func withFile(_ body: (URL) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("residency-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var writer = SafetensorsWriter()
        try writer.add(name: "small.before", floats: [1, 2, 3], shape: [3])
        try writer.add(name: "big", floats: values, shape: [count / 1024, 1024])
        try writer.add(name: "small.after", floats: [4, 5, 6], shape: [3])
        let url = directory.appendingPathComponent("model.safetensors")
        try Data(writer.serialized()).write(to: url)
        try body(url)
    }

    /// The resident bytes of this process's mappings of `url` (the `Rss:` lines of /proc/self/smaps).
    static func residentBytes(of url: URL) throws -> Int {
        let path = url.resolvingSymlinksInPath().path
        // Read to the end: /proc files report a size of 0, and a reader that trusts the size stops early.
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/smaps"))
        defer { try? handle.close() }
        let smaps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        var inFile = false, total = 0
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let first = fields.first, first.contains("-"), first.allSatisfy({ $0.isHexDigit || $0 == "-" }) {
                inFile = line.hasSuffix(path)   // a mapping's first line ends with its path
            } else if inFile, fields.first == "Rss:", fields.count >= 2, let kB = Int(fields[1]) {
                total += kB * 1024
            }
        }
        return total
    }

    static let linux: Bool = FileManager.default.fileExists(atPath: "/proc/self/smaps")
    /// At most this much of `big` stays resident after a read (a few pages of slack for the kernel).
    static let slack = 64 * 1024

    @Test(.enabled(if: linux, "needs /proc/self/smaps (Linux)"))
    func readsLeaveTheTensorOutOfTheResidentSet() throws {
        try Self.withFile { url in
            let file = try SafetensorsFile(url: url)
            #expect(file.isMemoryMapped)
            let bigBytes = Self.count * 4

            // While lent, the tensor is resident: the measurement sees it.
            let whileLent = try file.withFloats("big") { floats -> Int in
                var sum: Float = 0
                for i in stride(from: 0, to: floats.count, by: 1024) { sum += floats[i] }   // touch every page
                #expect(sum > 0)
                return try Self.residentBytes(of: url)
            }
            #expect(whileLent >= bigBytes, "the lent tensor's pages: \(whileLent) bytes resident")
            #expect(try Self.residentBytes(of: url) <= Self.slack, "after withFloats")

            // Each copying reader, twice: the same values, and nothing left resident.
            for _ in 0..<2 {
                #expect(try file.floats("big") == Self.values)
                #expect(try Self.residentBytes(of: url) <= Self.slack, "after floats")
                #expect(try file.rawBytes("big").count == bigBytes)
                #expect(try Self.residentBytes(of: url) <= Self.slack, "after rawBytes")
                #expect(try file.doubles("big").map(Float.init) == Self.values)
                #expect(try Self.residentBytes(of: url) <= Self.slack, "after doubles")
            }
            // The neighbours are untouched by the release.
            #expect(try file.floats("small.before") == [1, 2, 3])
            #expect(try file.floats("small.after") == [4, 5, 6])
        }
    }

    @Test(.enabled(if: linux, "needs /proc/self/smaps (Linux)"))
    func loadingACheckpointLeavesNoneOfItResident() throws {
        try Self.withFile { url in
            let checkpoint = try Checkpoint(directory: url.deletingLastPathComponent())
            var destination = [Float](repeating: 0, count: Self.count)
            try destination.withUnsafeMutableBufferPointer { try checkpoint.floats("big", into: $0) }
            #expect(destination == Self.values)
            #expect(try Self.residentBytes(of: url) <= Self.slack)
        }
    }
}
