import Foundation
import Testing
@testable import Editing
@testable import Transformer

/// The cached, resumable statistics pass of `alphaedit stats`.
@Suite struct StatisticsJobTests {
    /// The oracle's hparams with fewer samples (`mom2_n_samples`), to keep the passes short.
    static func hparams(samples: Int, in directory: URL) throws -> URL {
        let oracle = try OracleFixture("alphaedit-oracle")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: oracle.hparamsURL)) as! [String: Any]
        object["mom2_n_samples"] = samples
        let url = directory.appendingPathComponent("hparams-\(samples).json")
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: url)
        return url
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("alphaedit-stats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func job(_ oracle: OracleFixture, hparams: URL, stats: URL) throws -> StatisticsJob {
        let config = try ModelConfig.load(directory: oracle.modelDirectory)
        let fingerprint = try ModelFingerprint.base(of: try Checkpoint(directory: oracle.modelDirectory), config: config)
        var job = StatisticsJob(config: config, tokenizer: try oracle.tokenizer(), modelFingerprint: fingerprint, modelName: "model",
                                hparams: try EditHyperParameters.load(file: hparams, algorithm: .alphaedit), statsDirectory: stats,
                                corpus: try Corpus(url: oracle.directory.appendingPathComponent("stats_corpus.txt")))
        job.checkpointInterval = 50
        job.chunkSamples = 25
        return job
    }

    final class Notes: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        var all: [String] { lock.withLock { lines } }
        var handler: EditEventHandler {
            { [self] event in if case .note(let text) = event { lock.withLock { lines.append(text) } } }
        }
    }

    /// A pass over 200 samples run to the end (`whole`), and a job of the same inputs in its own
    /// statistics directory `name`, set to stop after 75 samples (`interrupted`).
    func wholeAndInterruptible(_ name: String) throws
        -> (oracle: OracleFixture, model: TransformerModel, whole: StatisticsJob, interrupted: StatisticsJob) {
        let oracle = try OracleFixture("alphaedit-oracle")
        let work = try Self.temporaryDirectory()
        let hparams = try Self.hparams(samples: 200, in: work)
        let model = try oracle.model()
        let whole = try job(oracle, hparams: hparams, stats: work.appendingPathComponent("whole"))
        _ = try whole.run(model: { model })
        var interrupted = try job(oracle, hparams: hparams, stats: work.appendingPathComponent(name))
        interrupted.stopAfterSamples = 75
        return (oracle, model, whole, interrupted)
    }

    /// A pass stopped after its first checkpoint (as if killed) and started again ends with the
    /// same bytes as a pass that was never interrupted.
    @Test func interruptedPassResumesToTheSameBytes() throws {
        var (oracle, model, whole, interrupted) = try wholeAndInterruptible("resumed")
        do {
            _ = try interrupted.run(model: { model })
            Issue.record("the pass was not interrupted")
        } catch let stop as StatisticsJob.Interrupted {
            #expect(stop.nextSample == 100)
        }
        for layer in oracle.layers {
            #expect(!FileManager.default.fileExists(atPath: interrupted.url(layer: layer).path))
            let (partial, metadata) = try LayerStatistics.read(from: interrupted.partialURL(layer: layer))
            #expect(metadata["next_sample"] == "100" && partial.samples == 100)
        }

        interrupted.stopAfterSamples = nil
        let notes = Notes()
        let resumed = try interrupted.run(model: { model }, events: notes.handler)
        #expect(notes.all.contains("resuming statistics at sample 100 of 200"), "\(notes.all)")
        for (i, layer) in oracle.layers.enumerated() {
            #expect(resumed[i].samples == 200)
            let expected = try Data(contentsOf: whole.url(layer: layer))
            let actual = try Data(contentsOf: interrupted.url(layer: layer))
            #expect(actual == expected, "layer \(layer): the resumed file differs from the uninterrupted one")
            #expect(!FileManager.default.fileExists(atPath: interrupted.partialURL(layer: layer).path))
        }
        // A third run computes nothing: every layer is cached.
        let cached = try interrupted.run(model: { Issue.record("the model was needed"); return model })
        #expect(cached.map(\.count) == resumed.map(\.count))
    }

    /// A checkpoint cut short (as by a full disk or a crash of a writer that did not rename
    /// into place) is not trusted: the pass starts over and ends with the uninterrupted bytes.
    @Test func aTruncatedCheckpointIsNotTrusted() throws {
        var (oracle, model, whole, interrupted) = try wholeAndInterruptible("cut")
        #expect(throws: StatisticsJob.Interrupted.self) { _ = try interrupted.run(model: { model }) }
        let checkpoint = interrupted.partialURL(layer: oracle.layers[0])
        let bytes = try Data(contentsOf: checkpoint)
        try bytes.prefix(bytes.count / 2).write(to: checkpoint)

        interrupted.stopAfterSamples = nil
        let notes = Notes()
        _ = try interrupted.run(model: { model }, events: notes.handler)
        #expect(!notes.all.contains { $0.hasPrefix("resuming") })
        #expect(notes.all.contains { $0.hasPrefix("not resuming from the statistics checkpoints") && $0.contains(checkpoint.lastPathComponent) },
                "\(notes.all)")
        for layer in oracle.layers {
            #expect(try Data(contentsOf: interrupted.url(layer: layer)) == Data(contentsOf: whole.url(layer: layer)), "layer \(layer)")
        }
    }

    /// Checkpoints of another corpus are not resumed from: the pass starts over.
    @Test func checkpointsOfAnotherCorpusAreNotResumed() throws {
        let oracle = try OracleFixture("alphaedit-oracle")
        let work = try Self.temporaryDirectory()
        let hparams = try Self.hparams(samples: 100, in: work)
        let model = try oracle.model()
        let stats = work.appendingPathComponent("stats")
        var first = try job(oracle, hparams: hparams, stats: stats)
        first.stopAfterSamples = 50
        #expect(throws: StatisticsJob.Interrupted.self) { _ = try first.run(model: { model }) }
        // Same file name, other text: the checkpoint's corpus fingerprint no longer matches.
        let text = try String(contentsOf: oracle.directory.appendingPathComponent("stats_corpus.txt"), encoding: .utf8)
        let other = work.appendingPathComponent("other").appendingPathComponent("stats_corpus.txt")
        try FileManager.default.createDirectory(at: other.deletingLastPathComponent(), withIntermediateDirectories: true)
        try String(text.split(separator: "\n").reversed().joined(separator: "\n") + "\n").write(to: other, atomically: true, encoding: .utf8)
        let config = try ModelConfig.load(directory: oracle.modelDirectory)
        var second = StatisticsJob(config: config, tokenizer: try oracle.tokenizer(), modelFingerprint: first.modelFingerprint,
                                   modelName: "model", hparams: first.hparams, statsDirectory: stats, corpus: try Corpus(url: other))
        second.checkpointInterval = 50
        let notes = Notes()
        let result = try second.run(model: { model }, events: notes.handler)
        #expect(!notes.all.contains { $0.hasPrefix("resuming") })
        #expect(result.allSatisfy { $0.samples == 100 && $0.provenance.corpus == second.corpus!.fingerprint })
    }
}
