import Foundation
import Linalg
import Transformer

/// The durable record of an edit job (`<job dir>/journal`): after each batch, what a restarted
/// job needs to go on from the next one and write the same bytes — the context templates, the
/// scores before editing, the sequential state, the edit layers' weights and each request's
/// optimisation summary. Each record's files are written (fsync'd) under the batch's number
/// (`state-<batchesDone>.safetensors`, `weights-<batchesDone>.safetensors`) before
/// `journal.json`, renamed into place last, records that number: a crash at any instant leaves
/// the previous record whole.
public struct EditJournal: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// One record (`journal.json`).
    public struct Record: Codable, Sendable {
        public var version = 1
        /// The base model's fingerprint and a digest of the job's inputs (hparams, requests,
        /// algorithm, batch size, templates' source): a record of another job is refused.
        public var model: String
        public var inputs: String
        public var templates: [[String]]
        public var before: [[String: TargetScore]]
        public var nullSpace: [String: Int]
        public var batchesDone: Int
        public var batchOfRequest: [Int]
        public var optimisation: [TargetOptimisationSummary]

        public init(model: String, inputs: String, templates: [[String]], before: [[String: TargetScore]], nullSpace: [String: Int],
                    batchesDone: Int, batchOfRequest: [Int], optimisation: [TargetOptimisationSummary]) {
            self.model = model
            self.inputs = inputs
            self.templates = templates
            self.before = before
            self.nullSpace = nullSpace
            self.batchesDone = batchesDone
            self.batchOfRequest = batchOfRequest
            self.optimisation = optimisation
        }

        /// The record's files in the journal directory, named by its batch count.
        public var stateFile: String { "state-\(batchesDone).safetensors" }
        public var weightsFile: String { "weights-\(batchesDone).safetensors" }
    }

    var recordURL: URL { directory.appendingPathComponent("journal.json") }

    /// The last record with its state and weights; nil when there is none.
    /// - Throws: `EditJobError.invalidState` when the journal is unreadable or of another job.
    public func load(model: String, inputs: String, algorithm: EditAlgorithm, layers: [Int]) throws -> (record: Record, state: EditState, weights: [Int: Matrix<Float>])? {
        guard FileManager.default.fileExists(atPath: recordURL.path) else { return nil }
        let record: Record
        do { record = try JSONDecoder().decode(Record.self, from: Data(contentsOf: recordURL)) } catch {
            throw EditJobError.invalidState(path: recordURL.path, reason: "is not a journal record: \(error)")
        }
        guard record.model == model, record.inputs == inputs else {
            throw EditJobError.invalidState(path: recordURL.path, reason: "records another job (other model or inputs); give another --job-dir, or leave out --resume to start over")
        }
        let state = try EditState.read(from: directory.appendingPathComponent(record.stateFile), algorithm: algorithm, layers: layers, model: model)
        let file = try SafetensorsFile(url: directory.appendingPathComponent(record.weightsFile))
        var weights: [Int: Matrix<Float>] = [:]
        for layer in layers {
            let name = "layer.\(layer)"
            let info = try file.info(name)
            guard info.shape.count == 2 else {
                throw EditJobError.invalidState(path: record.weightsFile, reason: "\(name) has shape \(info.shape)")
            }
            weights[layer] = Matrix(rows: info.shape[0], cols: info.shape[1], elements: try file.floats(name))
        }
        return (record, state, weights)
    }

    /// Records the job after `record.batchesDone` batches.
    public func save(_ record: Record, state: EditState, hparams: EditHyperParameters, weights: [Int: Matrix<Float>]) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try state.write(to: directory.appendingPathComponent(record.stateFile), hparams: hparams)
        var writer = SafetensorsWriter(metadata: ["format": "alphaedit-journal-weights"])
        for (layer, weight) in weights.sorted(by: { $0.key < $1.key }) {
            try writer.add(name: "layer.\(layer)", floats: weight.elements, shape: [weight.rows, weight.cols])
        }
        try writer.write(to: directory.appendingPathComponent(record.weightsFile))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try writeDurably(Array(try encoder.encode(record)), to: recordURL)
        // Older records' files are no longer named by the record.
        let keep: Set<String> = [record.stateFile, record.weightsFile, "journal.json"]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        where !keep.contains(name) && (name.hasPrefix("state-") || name.hasPrefix("weights-")) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    /// A digest of the inputs that decide a job's result.
    public static func digest(_ parts: [Data]) -> String {
        var h: UInt64 = 0xcbf29ce484222325
        for part in parts {
            for byte in part { h = (h ^ UInt64(byte)) &* 0x100000001b3 }
            h = (h ^ 0xff) &* 0x100000001b3
        }
        return String(format: "%016llx", h)
    }
}
