import Foundation
import Linalg
import Transformer

/// Where a job's stages run: ``LocalExecutor`` in this process; the Cluster module provides one
/// that runs them on workers. Jobs (`EditJob`, `ExperimentRunner`, `alphaedit stats` and
/// `project`) take an executor and are otherwise the same code.
public protocol EditExecutor: AnyObject {
    /// The job's model folder and hparams file, which an executor whose stages run elsewhere
    /// names to its workers (they load them from there). Jobs call it before any stage.
    func bind(modelDirectory: URL, hparamsFile: URL) throws

    /// The job's model as the driver holds it: `weights`, the whole model, or, when the placement
    /// shards the layers, only the blocks of `editLayers` (what the output is written from), and
    /// `passes`, what runs forward passes on it.
    func loadModel(config: ModelConfig, checkpoint: Checkpoint, directory: URL, editLayers: [Int],
                   algorithm: EditAlgorithm) throws -> (weights: TransformerModel, passes: any LanguageModel)

    /// Computes the chunks of a statistics pass over `layers` (the coordinator's `model`, loaded
    /// lazily, is used only by the local executor).
    func statisticsStages(layers: [Int], corpus: Corpus, tokenizer: Tokenizer,
                          model: () throws -> TransformerModel) throws -> any StatisticsStages
    /// The projectors of `stats` (one per layer, in order), each computed where its layer is owned.
    func projectors(_ stats: [LayerStatistics], threshold: Double) throws -> [NullSpaceProjector]
    /// A fresh edit session's stages, starting from `model` (the unedited model of the job).
    func editStages(model: TransformerModel, tokenizer: Tokenizer, hparams: EditHyperParameters,
                    algorithm: EditAlgorithm, templates: ContextTemplates, events: @escaping EditEventHandler) throws -> any EditStages
}

/// Every stage in this process.
public final class LocalExecutor: EditExecutor {
    public init() {}

    /// Nothing to name: the stages run on the job's own model.
    public func bind(modelDirectory: URL, hparamsFile: URL) throws {}

    public func loadModel(config: ModelConfig, checkpoint: Checkpoint, directory: URL, editLayers: [Int],
                          algorithm: EditAlgorithm) throws -> (weights: TransformerModel, passes: any LanguageModel) {
        let model = try TransformerModel.load(config: config, checkpoint: checkpoint, directoryName: directory.path)
        return (model, model)
    }

    public func statisticsStages(layers: [Int], corpus: Corpus, tokenizer: Tokenizer,
                                 model: () throws -> TransformerModel) throws -> any StatisticsStages {
        LocalStatisticsStages(collector: StatisticsCollector(model: try model(), tokenizer: tokenizer, layers: layers), corpus: corpus)
    }

    public func projectors(_ stats: [LayerStatistics], threshold: Double) throws -> [NullSpaceProjector] {
        try ProjectorJob.computeConcurrently(stats, threshold: threshold)
    }

    public func editStages(model: TransformerModel, tokenizer: Tokenizer, hparams: EditHyperParameters,
                           algorithm: EditAlgorithm, templates: ContextTemplates, events: @escaping EditEventHandler) throws -> any EditStages {
        LocalStages(model: model, tokenizer: tokenizer, hparams: hparams, templates: templates, events: events)
    }
}

extension EditState {
    /// The statistics, the projectors (AlphaEdit) and the initial state of a job: cached files
    /// used where they match, the rest computed by `executor`. The one place a job builds its state.
    public static func prepare(algorithm: EditAlgorithm, statistics job: StatisticsJob, model: () throws -> TransformerModel,
                               templates: ContextTemplates, executor: any EditExecutor,
                               events: @escaping EditEventHandler) throws -> (state: EditState, projectors: [NullSpaceProjector]) {
        let stats = try job.run(model: model, executor: executor, events: events)
        var projectors: [NullSpaceProjector] = []
        if algorithm == .alphaedit {
            let threshold = job.hparams.nullspaceThreshold ?? 0.02
            projectors = try ProjectorJob(statistics: job, threshold: threshold)
                .run(stats: stats, events: events) { try executor.projectors($0, threshold: threshold) }
        }
        let state = try EditState.initial(algorithm: algorithm, statistics: stats, projectors: projectors,
                                      templates: templates, modelFingerprint: job.modelFingerprint)
        return (state, projectors)
    }
}

extension StatisticsJob {
    /// `run(model:stages:events:)` with the chunks computed by `executor`.
    public func run(model: () throws -> TransformerModel, executor: any EditExecutor,
                    events: EditEventHandler = { _ in }) throws -> [LayerStatistics] {
        guard let corpus, hparams.layers.contains(where: { !FileManager.default.fileExists(atPath: url(layer: $0).path) }) else {
            return try run(model: model, events: events)
        }
        let missing = hparams.layers.filter { !FileManager.default.fileExists(atPath: url(layer: $0).path) }
        return try run(model: model, stages: try executor.statisticsStages(layers: missing, corpus: corpus, tokenizer: tokenizer, model: model),
                       events: events)
    }
}
