import ArgumentParser
import Editing
import Foundation
import Transformer

/// `--config HPARAMS --stats-dir DIR`: which layers, and where their statistics are cached.
struct StatisticsOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Hyper-parameters: an official hparams/AlphaEdit/*.json (or configs/*.json) file; its layers, mom2_dataset, mom2_n_samples and mom2_dtype name the statistics.", valueName: "hparams.json"))
    var config: String

    @Option(name: .customLong("stats-dir"), help: ArgumentHelp("Statistics cache, laid out like the official data/stats: <dir>/<model>/<dataset>_stats/<module>_<dtype>_mom2_<n>.safetensors.", valueName: "dir"))
    var statsDir = "data/stats"

    var hparamsURL: URL { URL(fileURLWithPath: config) }
    var statsURL: URL { URL(fileURLWithPath: statsDir, isDirectory: true) }

    /// The hparams; `algorithm` decides which keys an official file must have (MEMIT's files lack
    /// the null-space keys, AlphaEdit's have every MEMIT key).
    func hparams(algorithm: EditAlgorithm = .memit) throws -> EditHyperParameters {
        try EditHyperParameters.load(file: hparamsURL, algorithm: algorithm)
    }

    /// The statistics job of a model: config, tokenizer and fingerprint are read, no weights.
    func statisticsJob(model directory: URL, hparams: EditHyperParameters, corpus: Corpus?) throws -> StatisticsJob {
        let config = try ModelConfig.load(directory: directory)
        try ModelLayout.validate(hparams, config: config, path: self.config)
        let checkpoint = try Checkpoint(directory: directory)
        return StatisticsJob(config: config, tokenizer: try Tokenizer(directory: directory, model: config),
                             modelFingerprint: try ModelFingerprint.base(of: checkpoint, config: config),
                             modelName: directory.standardizedFileURL.lastPathComponent, hparams: hparams,
                             statsDirectory: statsURL, corpus: corpus)
    }
}

/// A runtime failure of a command, printed by ArgumentParser as one `Error: …` line.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
