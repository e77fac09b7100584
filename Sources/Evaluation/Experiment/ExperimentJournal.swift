import Editing
import Foundation
import Linalg
import Transformer

/// The durable record of an experiment (`--journal DIR`, `--resume`): the unedited model's
/// evaluation once it is done, and, after every batch of each algorithm, its curve so far and
/// what its edit session needs to go on (an ``EditJournal`` per algorithm: state and edit-layer
/// weights). A rerun with `--resume` skips what is recorded and writes the same report.
///
/// Layout: `unedited.json`; `<algorithm>/journal.json` with its state and weights files and
/// `progress-<batches>.json`. A progress file is written before the edit journal's record that
/// names the same batch count, which commits both.
struct ExperimentJournal: Sendable {
    let directory: URL
    /// The base model's fingerprint and a digest of every input that decides the report.
    let model: String
    let inputs: String

    /// The unedited model's evaluation.
    struct Unedited: Codable, Sendable {
        var version = 1
        var model: String
        var inputs: String
        var points: [ExperimentPoint]
        var metrics: [String: Double]
        /// Indices into the selected records of each dataset (`--skip-too-long`).
        var leftOutCounterFact: [Int]
        var leftOutZsRE: [Int]
        var generationLeftOut: [Int]
    }

    /// An algorithm's run after `batches` batches; `metrics` once it has finished.
    struct Progress: Codable, Sendable {
        var batches: Int
        var edits: Int
        var points: [ExperimentPoint]
        var seconds: Double
        var metrics: [String: Double]?
        var generationLeftOut: [Int]
    }

    var uneditedURL: URL { directory.appendingPathComponent("unedited.json") }

    func editJournal(_ algorithm: EditAlgorithm) -> EditJournal {
        EditJournal(directory: directory.appendingPathComponent(algorithm.rawValue, isDirectory: true))
    }

    func progressURL(_ algorithm: EditAlgorithm, batches: Int) -> URL {
        editJournal(algorithm).directory.appendingPathComponent("progress-\(batches).json")
    }

    func saveUnedited(_ record: Unedited) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try writeDurably(Array(try Self.encoder.encode(record)), to: uneditedURL)
    }

    /// The recorded unedited evaluation, nil when there is none.
    /// - Throws: `ExperimentError.journal` when it is unreadable or records another experiment.
    func loadUnedited() throws -> Unedited? {
        guard FileManager.default.fileExists(atPath: uneditedURL.path) else { return nil }
        let record: Unedited
        do { record = try ReportJSON.decoder.decode(Unedited.self, from: Data(contentsOf: uneditedURL)) } catch {
            throw ExperimentError.journal(path: uneditedURL.path, reason: "is not an experiment journal record: \(error)")
        }
        guard record.model == model, record.inputs == inputs else { throw anotherExperiment(uneditedURL) }
        return record
    }

    /// Records `algorithm` after `progress.batches` batches.
    func save(_ algorithm: EditAlgorithm, progress: Progress, state: EditState, hparams: EditHyperParameters,
              weights: [Int: Matrix<Float>]) throws {
        let journal = editJournal(algorithm)
        try FileManager.default.createDirectory(at: journal.directory, withIntermediateDirectories: true)
        try writeDurably(Array(try Self.encoder.encode(progress)), to: progressURL(algorithm, batches: progress.batches))
        let record = EditJournal.Record(model: model, inputs: inputs, templates: state.templates.groups, before: [], nullSpace: [:],
                                        batchesDone: progress.batches, batchOfRequest: [], optimisation: [])
        try journal.save(record, state: state, hparams: hparams, weights: weights)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: journal.directory.path)) ?? []
        where name.hasPrefix("progress-") && name != "progress-\(progress.batches).json" {
            try? FileManager.default.removeItem(at: journal.directory.appendingPathComponent(name))
        }
    }

    /// `algorithm`'s last record: its progress, state and edit-layer weights; nil when there is none.
    func load(_ algorithm: EditAlgorithm, layers: [Int]) throws -> (progress: Progress, state: EditState, weights: [Int: Matrix<Float>])? {
        let journal = editJournal(algorithm)
        guard let (record, state, weights) = try loadEditJournal(journal, algorithm: algorithm, layers: layers) else { return nil }
        let url = progressURL(algorithm, batches: record.batchesDone)
        let progress: Progress
        do { progress = try ReportJSON.decoder.decode(Progress.self, from: Data(contentsOf: url)) } catch {
            throw ExperimentError.journal(path: url.path, reason: "is missing or unreadable (\(error)); remove \(directory.path) to start over")
        }
        return (progress, state, weights)
    }

    private func loadEditJournal(_ journal: EditJournal, algorithm: EditAlgorithm,
                                 layers: [Int]) throws -> (EditJournal.Record, EditState, [Int: Matrix<Float>])? {
        do {
            return try journal.load(model: model, inputs: inputs, algorithm: algorithm, layers: layers)
        } catch let error as EditJobError {
            if case .invalidState(let path, let reason) = error, reason.hasPrefix("records another job") { throw anotherExperiment(URL(fileURLWithPath: path)) }
            throw error
        }
    }

    /// Removes the journal (the report has been written).
    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func anotherExperiment(_ url: URL) -> ExperimentError {
        .journal(path: url.path, reason: "records another experiment (other model, data, hparams or arguments); give another --journal, or leave out --resume to start over")
    }

    static var encoder: JSONEncoder { ReportJSON.encoder([.sortedKeys]) }
}
