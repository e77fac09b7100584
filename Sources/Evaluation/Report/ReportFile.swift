import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes report files so that no partial file appears under the destination name.
enum ReportFile {
    /// Writes `data` to a hidden sibling of `url`, then renames it over `url` (atomic on POSIX).
    static func atomicWrite(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(UUID().uuidString.prefix(8))")
        try data.write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path, NSLocalizedDescriptionKey: "\(url.path): cannot rename the written file into place: \(reason)"])
        }
    }
}
