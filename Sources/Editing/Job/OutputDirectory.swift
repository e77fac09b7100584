import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Puts a fully written staging directory in place of an output directory so that, whatever
/// instant the process is killed at, the output name holds either the previous output, whole, or
/// the new one, whole.
///
/// With nothing at the destination a rename does it. Replacing an existing directory uses Linux's
/// `renameat2(RENAME_EXCHANGE)`, which swaps the two names in one step; the previous output then
/// sits at the staging name and is removed. Where the exchange is unavailable (another kernel or
/// file system), the previous output is first renamed aside (`.<name>.previous-…`), the new one
/// renamed in, and the old one removed: a kill between the two renames leaves the previous
/// output under that aside name, never a partial directory under the output name.
enum OutputDirectory {
    /// - Parameter useExchange: false takes the fallback path (for tests).
    static func install(staging: URL, at destination: URL, overwrite: Bool, useExchange: Bool = true) throws {
        let fm = FileManager.default
        guard fm.fileExists(atPath: destination.path) else {
            try rename(staging, destination)
            return
        }
        guard overwrite else { throw EditJobError.outputExists(path: destination.path) }
        if useExchange, exchange(staging.path, destination.path) {
            FaultPoint.hit("output.after-exchange")
            try? fm.removeItem(at: staging)   // now the previous output
            return
        }
        let aside = destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent).previous-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try rename(destination, aside)
        do {
            try rename(staging, destination)
        } catch {
            try? rename(aside, destination)
            throw error
        }
        try? fm.removeItem(at: aside)
    }

    /// A fresh staging name beside `destination`: `.<name>.partial-<pid>-<random>`, so that a
    /// later run can tell a staging directory left by a killed process from one being written.
    static func stagingURL(for destination: URL) -> URL {
        destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent).partial-\(getpid())-\(UUID().uuidString.prefix(8))", isDirectory: true)
    }

    /// Removes the staging directories of `destination` whose process is gone (a job killed while
    /// writing). They never hold the output: that is only ever under the output's name, or, on
    /// the fallback path, under the `.previous-` name, which is left alone.
    static func removeAbandonedStaging(of destination: URL) {
        let fm = FileManager.default
        let parent = destination.deletingLastPathComponent()
        let prefix = ".\(destination.lastPathComponent).partial-"
        guard let names = try? fm.contentsOfDirectory(atPath: parent.path) else { return }
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid > 0 else { continue }
            // kill(pid, 0) fails with ESRCH when no such process exists.
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? fm.removeItem(at: parent.appendingPathComponent(name))
            }
        }
    }

    private static func rename(_ from: URL, _ to: URL) throws {
        guard Glibc.rename(from.path, to.path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: to.path,
                NSLocalizedDescriptionKey: "cannot rename \(from.path) to \(to.path): \(String(cString: strerror(errno)))"])
        }
    }

    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32

    /// `renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)` (glibc ≥ 2.28), looked up at run
    /// time because Swift's Glibc module does not export it; false when it is missing or fails.
    private static func exchange(_ a: String, _ b: String) -> Bool {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return false }
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let renameExchange: UInt32 = 1 << 1
        return renameat2(AT_FDCWD, a, AT_FDCWD, b, renameExchange) == 0
    }
}
