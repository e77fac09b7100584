import Foundation
import Transformer
#if canImport(Glibc)
import Glibc
#endif

/// Writes report files so that no partial file appears under the destination name.
enum ReportFile {
    /// Writes `data` durably to `url` (``Transformer/writeDurably(_:to:mode:)``).
    static func atomicWrite(_ data: Data, to url: URL) throws {
        try writeDurably(Array(data), to: url)
    }
}
