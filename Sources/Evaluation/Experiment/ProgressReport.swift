import Editing
import Foundation

/// The report of a running experiment so far: after the unedited model's evaluation and after each
/// evaluation point of each algorithm, `progress.json`, `progress.md` and `progress.svg` in the
/// output directory show every curve up to that point (a run of hours can be read while it runs).
/// The final report replaces them (``remove(from:)``).
///
/// Algorithms running side by side update it from their own threads; the files are rewritten
/// whole, each through a temporary file, under a lock.
public final class ProgressReport: @unchecked Sendable {
    public static let baseName = "progress"

    private let lock = NSLock()
    private var report: ExperimentReport
    private let directory: URL
    private let events: EditEventHandler

    /// - Parameter base: the report's fixed parts and the unedited model's curve and metrics.
    init(base: ExperimentReport, directory: URL, events: @escaping EditEventHandler) {
        report = base
        self.directory = directory
        self.events = events
    }

    /// Records `method`'s curve so far and rewrites the files. A failure to write is reported as
    /// a note and does not stop the run.
    func update(method: String, points: [ExperimentPoint], editSeconds: Double) {
        lock.lock()
        defer { lock.unlock() }
        report.curves[method] = points
        report.editSeconds[method] = editSeconds
        if let last = points.last { report.methods[method] = last.metrics }
        write()
    }

    /// Writes the files with only the unedited model's evaluation.
    func start() {
        lock.lock()
        defer { lock.unlock() }
        write()
    }

    private func write() {
        var snapshot = report
        let done = report.curves.filter { $0.key != "unedited" }.sorted { $0.key < $1.key }
            .compactMap { method, points in points.last.map { "\(ExperimentReport.title(method)) after \($0.edits)" } }
            .joined(separator: ", ")
        let stamp = ISO8601DateFormatter().string(from: Date())
        snapshot.notes.insert("In progress (\(stamp)): \(done.isEmpty ? "no algorithm evaluated yet" : done) of \(report.edits) edits. "
            + "Each method's row is its latest evaluation; fluency and consistency come with the final report, which replaces these files.",
            at: 0)
        do {
            try snapshot.write(to: directory, baseName: Self.baseName)
        } catch {
            events(.note("could not write the progress report to \(directory.path): \(error)"))
        }
    }

    /// Removes the progress files (once the final report is written).
    public static func remove(from directory: URL) {
        for suffix in ["json", "md", "svg"] {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent("\(baseName).\(suffix)"))
        }
    }
}
