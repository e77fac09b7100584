import Foundation
import Testing
@testable import Editing

/// Installing an output directory: the name always holds a whole output (previous or new), both
/// with the atomic exchange and with the fallback; without --overwrite the previous one stays.
struct OutputDirectoryTests {
    func directory(_ root: URL, _ name: String, files: [String: String]) throws -> URL {
        let url = root.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (file, text) in files { try text.write(to: url.appendingPathComponent(file), atomically: false, encoding: .utf8) }
        return url
    }

    func contents(_ url: URL) throws -> [String: String] {
        var result: [String: String] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: url.path) {
            result[file] = try String(contentsOf: url.appendingPathComponent(file), encoding: .utf8)
        }
        return result
    }

    @Test(arguments: [true, false])
    func replacingLeavesOnlyTheNewOutput(useExchange: Bool) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("alphaedit-install-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let destination = try directory(root, "out", files: ["model.safetensors": "old", "old-only.txt": "x"])
        let staging = try directory(root, ".out.partial-1", files: ["model.safetensors": "new", "edits.jsonl": "{}"])
        try OutputDirectory.install(staging: staging, at: destination, overwrite: true, useExchange: useExchange)
        #expect(try contents(destination) == ["model.safetensors": "new", "edits.jsonl": "{}"])
        // Nothing left beside it: no staging, no previous output.
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path) == ["out"])
    }

    @Test func withoutOverwriteThePreviousOutputStays() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("alphaedit-install-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let destination = try directory(root, "out", files: ["model.safetensors": "old"])
        let staging = try directory(root, ".out.partial-1", files: ["model.safetensors": "new"])
        #expect(throws: EditJobError.self) { try OutputDirectory.install(staging: staging, at: destination, overwrite: false) }
        #expect(try contents(destination) == ["model.safetensors": "old"])
        // Into an empty place: a plain rename.
        let fresh = root.appendingPathComponent("fresh", isDirectory: true)
        try OutputDirectory.install(staging: staging, at: fresh, overwrite: false)
        #expect(try contents(fresh) == ["model.safetensors": "new"])
    }
}
