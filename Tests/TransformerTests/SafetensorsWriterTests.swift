import Foundation
import Testing
import Transformer

/// `SafetensorsWriter.write(to:)` is atomic: a file appears complete under its name or not at all.
@Suite struct SafetensorsWriterTests {
    static func smallWriter() throws -> SafetensorsWriter {
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        try writer.add(name: "w", floats: [1, 2, 3, 4], shape: [2, 2])
        try writer.add(name: "ids", int64s: [5, 6], shape: [2])
        return writer
    }

    static func listing(_ directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    @Test func writingIntoAMissingDirectoryThrowsAndLeavesNothing() throws {
        let parent = try FixturePaths.temporaryDirectory("safetensors-writer")
        defer { try? FileManager.default.removeItem(at: parent) }
        let missing = parent.appendingPathComponent("no-such-dir")
        let target = missing.appendingPathComponent("model.safetensors")
        let error = #expect(throws: SafetensorsError.self) { try Self.smallWriter().write(to: target) }
        #expect(error == .writeFailed(file: target.path, reason: "directory \(missing.path) does not exist; create it first"))
        #expect(!FileManager.default.fileExists(atPath: missing.path))
        #expect(try Self.listing(parent) == [])
    }

    @Test func successfulWritesLeaveOnlyTheOutput() throws {
        let directory = try FixturePaths.temporaryDirectory("safetensors-writer")
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("model.safetensors")
        try Self.smallWriter().write(to: target)
        #expect(try Self.listing(directory) == ["model.safetensors"])
        let file = try SafetensorsFile(url: target)
        #expect(try file.floats("w") == [1, 2, 3, 4] && file.int64s("ids") == [5, 6])
        #expect([UInt8](try Data(contentsOf: target)) == (try Self.smallWriter()).serialized())

        // Replacing an existing file: the mapping of the old one stays readable, the new one is complete.
        var second = SafetensorsWriter()
        try second.add(name: "w", floats: [9], shape: [1])
        try second.write(to: target)
        #expect(try Self.listing(directory) == ["model.safetensors"])
        #expect(try file.floats("w") == [1, 2, 3, 4])
        #expect(try SafetensorsFile(url: target).floats("w") == [9])
    }

    @Test func aFailedRenameRemovesTheTemporaryFile() throws {
        let directory = try FixturePaths.temporaryDirectory("safetensors-writer")
        defer { try? FileManager.default.removeItem(at: directory) }
        // The destination is a non-empty directory, so the final rename fails after the data is written.
        let target = directory.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        try Data("keep".utf8).write(to: target.appendingPathComponent("keep.txt"))
        let error = #expect(throws: SafetensorsError.self) { try Self.smallWriter().write(to: target) }
        guard case .writeFailed(let file, _) = error else { Issue.record("no writeFailed: \(String(describing: error))"); return }
        #expect(file == target.path)
        #expect(try Self.listing(directory) == ["occupied"])
        #expect(try Self.listing(target) == ["keep.txt"])
    }
}
