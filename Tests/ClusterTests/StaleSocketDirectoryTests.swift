import Foundation
import Testing
@testable import Cluster

/// A coordinator killed before it removes its ipc directory leaves `alphaedit-<pid>-<suffix>` in
/// the temporary folder; the next `--workers` job removes it, and nothing that might be another's.
@Suite struct StaleSocketDirectoryTests {
    @Test func directoriesOfDeadCoordinatorsAreRemovedAndNothingElse() throws {
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = finished.processIdentifier
        let temporary = LocalWorkers.socketBase()
        func directory(pid: Int32, holding file: String) throws -> URL {
            let url = temporary.appendingPathComponent("alphaedit-\(pid)-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: url.appendingPathComponent(file).path, contents: Data())
            return url
        }
        let stale = try directory(pid: dead, holding: "coordinator.sock")
        let live = try directory(pid: getpid(), holding: "coordinator.sock")
        let other = try directory(pid: dead, holding: "notes.txt")
        defer { for url in [stale, live, other] { try? FileManager.default.removeItem(at: url) } }

        let made = try LocalWorkers.makeDirectory()
        defer { try? FileManager.default.removeItem(at: made) }
        #expect(!FileManager.default.fileExists(atPath: stale.path), "a dead coordinator's socket directory stays")
        #expect(FileManager.default.fileExists(atPath: live.path), "a live process's directory was removed")
        #expect(FileManager.default.fileExists(atPath: other.path), "a directory holding more than sockets was removed")
        #expect(FileManager.default.fileExists(atPath: made.path))
    }

    /// A temporary folder too long for ipc paths gives way to /tmp instead of failing the job.
    @Test func aLongTemporaryFolderFallsBackToTmp() {
        let short = URL(fileURLWithPath: "/tmp/abc", isDirectory: true)
        #expect(LocalWorkers.socketBase(short) == short)
        let long = URL(fileURLWithPath: "/tmp/" + String(repeating: "d", count: 60), isDirectory: true)
        #expect(LocalWorkers.socketBase(long).path == "/tmp")
    }
}
