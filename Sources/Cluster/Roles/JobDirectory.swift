import Foundation
import Transformer

/// The coordinator's job directory: `job.json` (the job, its command and workers), `plan.txt`
/// (the memory model and placement) and `timings.json` (seconds per phase), each rewritten
/// atomically (a temporary file renamed into place) as the job goes on.
public final class JobDirectory: @unchecked Sendable {
    public let url: URL

    public init(url: URL) throws {
        self.url = url.standardizedFileURL
        do {
            try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
        } catch {
            throw ClusterError.invalidOption(flag: "--job-dir", reason: "cannot create \(url.path): \(error.localizedDescription)")
        }
    }

    /// `<temporary directory>/alphaedit-job-<job id>`.
    public static func defaultURL(jobID: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("alphaedit-job-\(jobID)", isDirectory: true)
    }

    func write(_ name: String, text: String) {
        try? writeDurably(Array(text.utf8), to: url.appendingPathComponent(name))
    }

    func write<T: Encodable>(_ name: String, json value: T) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        if let data = try? encoder.encode(value) { try? writeDurably(Array(data + Data("\n".utf8)), to: url.appendingPathComponent(name)) }
    }
}
