import Editing
import Foundation
import Linalg
import Transformer

/// `alphaedit experiment`: T edits in sequential batches of B with each algorithm, metrics of the
/// records edited so far after every K edits, and the unedited model on the same records
/// (`experiments/evaluate_sequential.py`'s protocol).
public struct ExperimentRunner: Sendable {
    public let configuration: ExperimentConfiguration
    let hparams: [EditAlgorithm: EditHyperParameters]
    let counterFact: [CounterFactRecord]
    let zsre: [ZsRERecord]
    let requests: [EditRequest]
    let config: ModelConfig
    let templatesFromFile: ContextTemplates?

    /// Reads and checks the inputs; nothing heavy is loaded and nothing is written.
    public init(_ configuration: ExperimentConfiguration) throws {
        self.configuration = configuration
        var hparams: [EditAlgorithm: EditHyperParameters] = [:]
        for algorithm in configuration.algorithms {
            hparams[algorithm] = try EditHyperParameters.load(file: configuration.hparamsFile, algorithm: algorithm)
        }
        self.hparams = hparams
        config = try ModelConfig.load(directory: configuration.modelDirectory)
        for h in hparams.values { try ModelLayout.validate(h, config: config, path: configuration.hparamsFile.path) }
        switch configuration.dataset {
        case .counterfact:
            let all = try CounterFactRecord.load(file: configuration.dataFile)
            counterFact = Array(all[try configuration.selection.range(count: all.count, path: configuration.dataFile.path)])
            zsre = []
            requests = counterFact.map(\.editRequest)
        case .zsre:
            let all = try ZsRERecord.load(file: configuration.dataFile)
            let range = try configuration.selection.range(count: all.count, path: configuration.dataFile.path)
            zsre = Array(all[range])
            counterFact = []
            requests = try zip(range, zsre).map { try $1.editRequest(caseID: $0, path: configuration.dataFile.path) }
        }
        guard !requests.isEmpty else { throw ExperimentError.invalidArgument("the selection \(configuration.selection) holds no records") }
        guard configuration.batchSize >= 1, configuration.evaluateEvery >= 1 else {
            throw ExperimentError.invalidArgument("--batch-size and --eval-every must be at least 1")
        }
        templatesFromFile = try configuration.contextTemplatesFile.map { try ContextTemplates.load(file: $0) }
        try EditJob.checkOutputDirectory(configuration.outputDirectory, overwrite: configuration.overwrite)
    }

    /// What a run produced: the report and, per algorithm, the edited model and its state.
    public struct Result: Sendable {
        public var report: ExperimentReport
        public var original: TransformerModel
        public var tokenizer: Tokenizer
        public var checkpoint: Checkpoint
        public var fingerprint: String
        public var edited: [EditAlgorithm: (model: TransformerModel, state: EditState)]
    }

    public func run(executor: any EditExecutor = LocalExecutor(), events: @escaping EditEventHandler = { _ in }) throws -> ExperimentReport {
        try runKeepingModels(executor: executor, events: events).report
    }

    /// - Parameter executor: where the stages run; the result does not depend on it.
    public func runKeepingModels(executor: any EditExecutor = LocalExecutor(), events: @escaping EditEventHandler = { _ in }) throws -> Result {
        let c = configuration
        try executor.bind(modelDirectory: c.modelDirectory, hparamsFile: c.hparamsFile)
        let checkpoint = try Checkpoint(directory: c.modelDirectory)
        let tokenizer = try Tokenizer(directory: c.modelDirectory)
        let fingerprint = try ModelFingerprint.base(of: checkpoint, config: config)
        let anyHparams = hparams[c.algorithms[0]]!
        let statsJob = StatisticsJob(config: config, tokenizer: tokenizer, modelFingerprint: fingerprint,
                                     modelName: c.modelDirectory.standardizedFileURL.lastPathComponent, hparams: anyHparams,
                                     statsDirectory: c.statsDirectory, corpus: try c.corpus.map { try Corpus(url: $0) })
        try statsJob.validate()
        events(.stage("loading \(c.modelDirectory.lastPathComponent)"))
        let original = try TransformerModel.load(config: config, checkpoint: checkpoint, directoryName: c.modelDirectory.path)
        let templates = templatesFromFile ?? ContextTemplates.sample(model: original, tokenizer: tokenizer, seed: c.templateSeed)
        let checkpoints = Self.checkpoints(total: requests.count, batchSize: c.batchSize, every: c.evaluateEvery)

        var curves: [String: [ExperimentPoint]] = [:]
        var finals: [String: [String: Double]] = [:]
        var editSeconds: [String: Double] = [:]
        var edited: [EditAlgorithm: (model: TransformerModel, state: EditState)] = [:]
        let clock = ContinuousClock()

        // The unedited model: every record once; each checkpoint averages the first k.
        events(.stage("evaluating the unedited model on \(requests.count) records"))
        let unedited = try evaluate(original, tokenizer: tokenizer, upTo: requests.count, events: events)
        curves["unedited"] = checkpoints.map { k in ExperimentPoint(edits: k, metrics: Self.summary(unedited, prefix: k), seconds: 0) }
        finals["unedited"] = try finalMetrics(original, tokenizer: tokenizer, results: unedited, events: events)

        for algorithm in c.algorithms {
            let h = hparams[algorithm]!
            let prepared = try EditState.prepare(algorithm: algorithm, statistics: statsJob, model: { original },
                                                 templates: templates, executor: executor, events: events)
            let stages = try executor.editStages(model: original, tokenizer: tokenizer, hparams: h, algorithm: algorithm,
                                                 templates: templates, events: events)
            var session = try EditSession(stages: stages, state: prepared.state, events: events)
            var points: [ExperimentPoint] = []
            var seconds = 0.0
            var done = 0
            var lastResults: [RecordResults] = []
            while done < requests.count {
                let batch = Array(requests[done..<min(done + c.batchSize, requests.count)])
                events(.stage("\(algorithm.rawValue): edits \(done + 1)–\(done + batch.count) of \(requests.count)"))
                let start = clock.now
                _ = try session.apply(batch)
                seconds += (clock.now - start) / .seconds(1)
                done += batch.count
                if checkpoints.contains(done) {
                    events(.stage("\(algorithm.rawValue): metrics after \(done) edits"))
                    let evalStart = clock.now
                    lastResults = try evaluate(session.model, tokenizer: tokenizer, upTo: done, events: events)
                    points.append(ExperimentPoint(edits: done, metrics: Self.summary(lastResults, prefix: done),
                                                  seconds: (clock.now - evalStart) / .seconds(1)))
                }
            }
            curves[algorithm.rawValue] = points
            editSeconds[algorithm.rawValue] = seconds
            finals[algorithm.rawValue] = try finalMetrics(session.model, tokenizer: tokenizer, results: lastResults, events: events)
            edited[algorithm] = (session.model, session.state)
        }
        var notes = [
            "Metrics after k edits average the records edited so far (evaluate_sequential.py); the unedited model is evaluated on the same records.",
        ]
        if c.dataset == .counterfact && c.generation {
            notes.append("Fluency and consistency are measured at the end, on the first \(min(c.generationRecords, requests.count)) records, with top-5 sampling (seed \(c.generationSeed)); consistency uses an approximate TF-IDF reference corpus (the official attribute snippets are not available).")
        }
        let report = ExperimentReport(dataset: c.dataset, model: c.modelDirectory.path, data: c.dataFile.path,
                                      selection: c.selection.description, edits: requests.count, batchSize: c.batchSize,
                                      evaluateEvery: c.evaluateEvery, hparams: c.hparamsFile.path, curves: curves, methods: finals,
                                      editSeconds: editSeconds, notes: notes)
        return Result(report: report, original: original, tokenizer: tokenizer, checkpoint: checkpoint,
                      fingerprint: fingerprint, edited: edited)
    }

    /// Edit counts at which metrics are taken: every K edits (at batch ends), and the end.
    static func checkpoints(total: Int, batchSize: Int, every: Int) -> [Int] {
        var result: [Int] = []
        var done = 0, next = every
        while done < total {
            done = min(done + batchSize, total)
            if done >= next || done == total {
                result.append(done)
                while next <= done { next += every }
            }
        }
        return result
    }

    /// Per-record results of either dataset.
    enum RecordResults {
        case counterFact(CounterFactRecordResult)
        case zsre(ZsRERecordResult)
    }

    func evaluate(_ model: TransformerModel, tokenizer: Tokenizer, upTo count: Int, events: @escaping EditEventHandler) throws -> [RecordResults] {
        switch configuration.dataset {
        case .counterfact:
            let evaluator = CounterFactEvaluator(model: model, tokenizer: tokenizer)
            return try evaluator.evaluate(Array(counterFact.prefix(count)), events: events).results.map { .counterFact($0) }
        case .zsre:
            let evaluator = ZsREEvaluator(model: model, tokenizer: tokenizer)
            let cases = zip(requests, zsre).prefix(count).map { request, record in
                record.evaluationCase(caseID: request.caseID, tokenizer: tokenizer)
            }
            return try evaluator.evaluate(Array(cases), events: events).results.map { .zsre($0) }
        }
    }

    /// Means ×100 of the first `prefix` records.
    static func summary(_ results: [RecordResults], prefix: Int) -> [String: Double] {
        let slice = results.prefix(prefix)
        var metrics: [(key: String, value: MetricStatistic)] = []
        let counterFact = slice.compactMap { if case .counterFact(let r) = $0 { return r }; return nil }
        let zsre = slice.compactMap { if case .zsre(let r) = $0 { return r }; return nil }
        if !counterFact.isEmpty { metrics = EvaluationReport.counterFactMetrics(counterFact) }
        if !zsre.isEmpty { metrics = EvaluationReport.zsREMetrics(zsre) }
        return Dictionary(uniqueKeysWithValues: metrics.map { ($0.key, $0.value.mean) })
    }

    /// The last point's metrics plus, for CounterFact, fluency and consistency from generations.
    func finalMetrics(_ model: TransformerModel, tokenizer: Tokenizer, results: [RecordResults], events: @escaping EditEventHandler) throws -> [String: Double] {
        var metrics = Self.summary(results, prefix: results.count)
        guard configuration.dataset == .counterfact, configuration.generation else { return metrics }
        let records = Array(counterFact.prefix(min(configuration.generationRecords, results.count)))
        let generation = CounterFactGeneration(settings: GenerationSettings(seed: configuration.generationSeed),
                                               reference: ReferenceCorpus(records: counterFact))
        events(.stage("generation metrics on \(records.count) records"))
        let evaluator = CounterFactEvaluator(model: model, tokenizer: tokenizer, generation: generation)
        let generated = try evaluator.evaluate(records, events: events).results
        let statistics = EvaluationReport.counterFactMetrics(generated)
        for key in [CounterFactMetric.fluency.rawValue, CounterFactMetric.consistency.rawValue] {
            if let value = statistics.first(where: { $0.key == key })?.value.mean { metrics[key] = value }
        }
        return metrics
    }
}
