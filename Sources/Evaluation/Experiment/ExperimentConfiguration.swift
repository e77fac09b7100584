import Editing
import Foundation

/// Everything `alphaedit experiment` needs: the paper's sequential protocol.
public struct ExperimentConfiguration: Sendable {
    public var modelDirectory: URL
    public var hparamsFile: URL
    public var dataset: EvaluationDataset
    /// The dataset file (CounterFact's for `.mixed`).
    public var dataFile: URL
    /// The zsRE file of a `.mixed` run.
    public var zsreFile: URL?
    /// Which records are edited (and evaluated).
    public var selection: RecordSelection = .all
    /// B: edits per sequential batch.
    public var batchSize: Int = 100
    /// K: metrics after every K edits (rounded up to whole batches).
    public var evaluateEvery: Int = 100
    public var algorithms: [EditAlgorithm] = [.alphaedit, .memit]
    public var outputDirectory: URL
    public var statsDirectory: URL
    public var corpus: URL?
    public var contextTemplatesFile: URL?
    public var templateSeed: UInt64 = 0
    /// Fluency and consistency (sampled generations) on the first `generationRecords` records, at the end.
    public var generation = true
    public var generationRecords = 100
    public var generationSeed: UInt64 = 0
    public var overwrite = false
    /// Edit the records with an evaluation sequence longer than the model's positions, but leave
    /// them out of the metrics (listed in the report) instead of failing.
    public var skipTooLong = false
    /// Where the run records itself after every batch (``ExperimentJournal``); nil: nowhere.
    public var journal: URL?
    /// Go on from the journal instead of starting over.
    public var resume = false
    /// Write the report so far (progress.json, .md, .svg in the output directory) after every
    /// evaluation point (``ProgressReport``).
    public var progressReports = false

    public init(modelDirectory: URL, hparamsFile: URL, dataset: EvaluationDataset, dataFile: URL,
                outputDirectory: URL, statsDirectory: URL) {
        self.modelDirectory = modelDirectory
        self.hparamsFile = hparamsFile
        self.dataset = dataset
        self.dataFile = dataFile
        self.outputDirectory = outputDirectory
        self.statsDirectory = statsDirectory
    }
}

/// One evaluation along the run.
public struct ExperimentPoint: Sendable, Codable {
    public var edits: Int
    /// Metric key → mean ×100 over the records edited so far.
    public var metrics: [String: Double]
    public var seconds: Double
}

/// What an experiment measured.
public struct ExperimentReport: Sendable, Codable {
    public var dataset: EvaluationDataset
    public var model: String
    public var data: String
    public var selection: String
    public var edits: Int
    public var batchSize: Int
    public var evaluateEvery: Int
    public var hparams: String
    /// method → points, in edit order (the unedited model is evaluated on the same records).
    public var curves: [String: [ExperimentPoint]]
    /// method → final metrics (the last point, plus generation metrics when computed).
    public var methods: [String: [String: Double]]
    /// method → seconds spent editing.
    public var editSeconds: [String: Double]
    public var notes: [String]
    /// dataset → `case_id`s edited but left out of the metrics (`--skip-too-long`); absent when none.
    public var leftOut: [String: [Int]]? = nil

    enum CodingKeys: String, CodingKey {
        case dataset, model, data, selection, edits, hparams, curves, methods, notes
        case leftOut = "left_out"
        case batchSize = "batch_size", evaluateEvery = "eval_every", editSeconds = "edit_seconds"
    }
}
