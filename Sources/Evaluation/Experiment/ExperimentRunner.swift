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
    /// Which record each request is, in edit order.
    let order: [RecordReference]
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
        var counterFactRequests: [EditRequest] = [], zsreRequests: [EditRequest] = []
        var counterFact: [CounterFactRecord] = [], zsre: [ZsRERecord] = []
        if configuration.dataset != .zsre {
            let all = try CounterFactRecord.load(file: configuration.dataFile)
            counterFact = Array(all[try configuration.selection.range(count: all.count, path: configuration.dataFile.path)])
            counterFactRequests = counterFact.map(\.editRequest)
        }
        if configuration.dataset != .counterfact {
            guard let file = configuration.dataset == .zsre ? configuration.dataFile : configuration.zsreFile else {
                throw ExperimentError.invalidArgument("a mixed run needs a zsRE file as well as the CounterFact file")
            }
            let all = try ZsRERecord.load(file: file)
            let range = try configuration.selection.range(count: all.count, path: file.path)
            zsre = Array(all[range])
            zsreRequests = try zip(range, zsre).map { try $1.editRequest(caseID: $0, path: file.path) }
        }
        self.counterFact = counterFact
        self.zsre = zsre
        order = RecordReference.interleaved(counterFact: counterFact.count, zsre: zsre.count)
        requests = order.map { reference in
            switch reference {
            case .counterFact(let i): return counterFactRequests[i]
            case .zsre(let i): return zsreRequests[i]
            }
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
        let tokenizer = try Tokenizer(directory: c.modelDirectory, model: config)
        let fingerprint = try ModelFingerprint.base(of: checkpoint, config: config)
        let anyHparams = hparams[c.algorithms[0]]!
        let statsJob = StatisticsJob(config: config, tokenizer: tokenizer, modelFingerprint: fingerprint,
                                     modelName: c.modelDirectory.standardizedFileURL.lastPathComponent, hparams: anyHparams,
                                     statsDirectory: c.statsDirectory, corpus: try c.corpus.map { try Corpus(url: $0) })
        try statsJob.validate()
        events(.stage("loading \(c.modelDirectory.lastPathComponent)"))
        let original = try TransformerModel.load(config: config, checkpoint: checkpoint, directoryName: c.modelDirectory.path)
        let templates = try templatesFromFile ?? ContextTemplates.sample(model: original, tokenizer: tokenizer, seed: c.templateSeed)
        let checkpoints = Self.checkpoints(total: requests.count, batchSize: c.batchSize, every: c.evaluateEvery)
        let journal = try c.journal.map { ExperimentJournal(directory: $0, model: fingerprint, inputs: try inputsDigest()) }

        var curves: [String: [ExperimentPoint]] = [:]
        var finals: [String: [String: Double]] = [:]
        var editSeconds: [String: Double] = [:]
        var edited: [EditAlgorithm: (model: TransformerModel, state: EditState)] = [:]

        // The unedited model: every record once; each checkpoint averages the first k.
        // It also finds the records too long for the model (`--skip-too-long`): the length of a
        // record's sequences does not depend on the weights, so they are left out of every evaluation.
        // A journal records it, and each algorithm after every batch (`--resume`).
        let leftOut: LeftOut
        var generationLeftOut: [Int] = []
        if c.resume, let recorded = try journal?.loadUnedited() {
            events(.note("the unedited model's evaluation is in the journal \(journal!.directory.path)"))
            leftOut = LeftOut(counterFact: Set(recorded.leftOutCounterFact), zsre: Set(recorded.leftOutZsRE))
            curves["unedited"] = recorded.points
            finals["unedited"] = recorded.metrics
            generationLeftOut = recorded.generationLeftOut
        } else {
            events(.stage("evaluating the unedited model on \(requests.count) records"))
            let unedited: [RecordResults]
            do {
                (unedited, leftOut) = try evaluate(original, tokenizer: tokenizer, upTo: requests.count, leaving: LeftOut(),
                                                   skipTooLong: c.skipTooLong, events: events)
            } catch let error as EvaluationError {
                guard case .sequenceTooLong = error else { throw error }
                throw ExperimentError.invalidArgument("\(error); pass --skip-too-long to edit such records but leave them out of the metrics")
            }
            curves["unedited"] = checkpoints.map { k in ExperimentPoint(edits: k, metrics: summary(unedited, upTo: k, leaving: leftOut), seconds: 0) }
            finals["unedited"] = try finalMetrics(original, tokenizer: tokenizer, results: unedited, leaving: leftOut,
                                                  generationLeftOut: &generationLeftOut, events: events)
            try journal?.saveUnedited(ExperimentJournal.Unedited(
                model: journal!.model, inputs: journal!.inputs, points: curves["unedited"]!, metrics: finals["unedited"]!,
                leftOutCounterFact: leftOut.counterFact.sorted(), leftOutZsRE: leftOut.zsre.sorted(), generationLeftOut: generationLeftOut))
        }

        let data = c.dataset == .mixed ? [c.dataFile.path, c.zsreFile?.path ?? ""].joined(separator: " + ") : c.dataFile.path
        func report(editSeconds: [String: Double], notes: [String]) -> ExperimentReport {
            ExperimentReport(dataset: c.dataset, model: c.modelDirectory.path, data: data,
                             selection: c.selection.description, edits: requests.count, batchSize: c.batchSize,
                             evaluateEvery: c.evaluateEvery, hparams: c.hparamsFile.path, curves: curves, methods: finals,
                             editSeconds: editSeconds, notes: notes)
        }
        let progressReport = c.progressReports
            ? ProgressReport(base: report(editSeconds: [:], notes: []), directory: c.outputDirectory, events: events) : nil
        progressReport?.start()

        // The statistics and projectors are prepared one algorithm at a time (they share the cache
        // files); then each algorithm edits its own copy of the model, side by side when
        // `sideBySideThreads` allows. Results are the same bytes either way: Linalg's results never
        // depend on its thread count.
        // An algorithm recorded in the journal goes on from its record, which holds its state
        // (projectors or second moments included): nothing is prepared for it.
        var starts: [AlgorithmStart] = []
        for algorithm in c.algorithms {
            if c.resume, let journal, let resumed = try journal.load(algorithm, layers: hparams[algorithm]!.layers) {
                starts.append(.resumed(progress: resumed.progress, state: resumed.state, weights: resumed.weights))
            } else {
                starts.append(.fresh(try EditState.prepare(algorithm: algorithm, statistics: statsJob, model: { original },
                                                           templates: templates, executor: executor, events: events).state))
            }
        }
        let shared = AlgorithmRunInputs(original: original, tokenizer: tokenizer, templates: templates,
                                        checkpoints: checkpoints, leftOut: leftOut, journal: journal, progressReport: progressReport)
        let threads = sideBySideThreads(executor: executor, weightBytes: 4 * config.parameterCount)
        let runs: [AlgorithmRun]
        if let threads {
            events(.note("\(c.algorithms.map { ExperimentReport.title($0.rawValue) }.joined(separator: " and ")) run side by side, \(threads) thread\(threads == 1 ? "" : "s") each"))
            runs = try Linalg.withThreadCount(threads) {
                try SideBySide.run(c.algorithms.count) { i in
                    let algorithm = c.algorithms[i]
                    return try runAlgorithm(algorithm, from: starts[i], shared: shared, executor: executor,
                                            events: Self.tagged(events, with: algorithm))
                }
            }
        } else {
            runs = try c.algorithms.indices.map { i in
                try runAlgorithm(c.algorithms[i], from: starts[i], shared: shared, executor: executor, events: events)
            }
        }
        for (algorithm, run) in zip(c.algorithms, runs) {
            curves[algorithm.rawValue] = run.points
            editSeconds[algorithm.rawValue] = run.seconds
            finals[algorithm.rawValue] = run.metrics
            generationLeftOut += run.generationLeftOut
            edited[algorithm] = (run.model, run.state)
        }
        let clockNote = threads == nil ? "" : " The algorithms ran at the same time, \(threads!) thread\(threads! == 1 ? "" : "s") each: editing times are wall times of concurrent runs."
        var notes = [
            "Metrics after k edits average the records edited so far (evaluate_sequential.py); the unedited model is evaluated on the same records." + clockNote,
        ]
        if c.dataset == .mixed {
            notes.append("CounterFact and zsRE records are interleaved in proportion (\(counterFact.count) and \(zsre.count)); each dataset's metrics average its records edited so far.")
        }
        if c.dataset != .zsre && c.generation {
            notes.append("Fluency and consistency are measured at the end, on the first \(min(c.generationRecords, requests.count)) records, with top-5 sampling (seed \(c.generationSeed)); consistency uses an approximate TF-IDF reference corpus (the official attribute snippets are not available).")
        }
        notes += leftOut.notes(counterFact: counterFact, zsreCaseIDs: zsreCaseIDs, of: requests.count, limit: config.maxPositions)
        if !generationLeftOut.isEmpty {
            let cases = Array(Set(generationLeftOut)).sorted().map(String.init).joined(separator: ", ")
            notes.append("Fluency and consistency leave out case \(cases): prompt and generation do not fit the model's \(config.maxPositions) positions (--skip-too-long).")
        }
        var written = report(editSeconds: editSeconds, notes: notes)
        written.leftOut = leftOut.isEmpty ? nil : leftOut.caseIDs(counterFact: counterFact, zsreCaseIDs: zsreCaseIDs)
        return Result(report: written, original: original, tokenizer: tokenizer, checkpoint: checkpoint,
                      fingerprint: fingerprint, edited: edited)
    }

    /// What every algorithm's run reads.
    struct AlgorithmRunInputs: @unchecked Sendable {
        let original: TransformerModel
        let tokenizer: Tokenizer
        let templates: ContextTemplates
        let checkpoints: [Int]
        let leftOut: LeftOut
        let journal: ExperimentJournal?
        let progressReport: ProgressReport?
    }

    /// One algorithm's sequential run: its curve, editing seconds, final metrics and edited model.
    struct AlgorithmRun: @unchecked Sendable {
        var points: [ExperimentPoint]
        var seconds: Double
        var metrics: [String: Double]
        var generationLeftOut: [Int]
        var model: TransformerModel
        var state: EditState
    }

    /// Where an algorithm's run begins: a prepared state before the first edit, or the journal's
    /// last record (`--resume`).
    enum AlgorithmStart: @unchecked Sendable {
        case fresh(EditState)
        case resumed(progress: ExperimentJournal.Progress, state: EditState, weights: [Int: Matrix<Float>])
    }

    /// Edits every request in batches from a fresh copy of the model (or from where the journal
    /// left it), with metrics at each checkpoint.
    func runAlgorithm(_ algorithm: EditAlgorithm, from start: AlgorithmStart, shared: AlgorithmRunInputs, executor: any EditExecutor,
                      events: @escaping EditEventHandler) throws -> AlgorithmRun {
        let c = configuration
        let h = hparams[algorithm]!
        let clock = ContinuousClock()
        var model = shared.original
        var state: EditState
        var progress = ExperimentJournal.Progress(batches: 0, edits: 0, points: [], seconds: 0, metrics: nil, generationLeftOut: [])
        switch start {
        case .fresh(let prepared):
            state = prepared
        case .resumed(let recorded, let recordedState, let weights):
            (progress, state) = (recorded, recordedState)
            for (layer, weight) in weights { model.weights.blocks[layer].mlp.down.weight = weight }
            if !progress.points.isEmpty {
                shared.progressReport?.update(method: algorithm.rawValue, points: progress.points, editSeconds: progress.seconds)
            }
            if let metrics = progress.metrics {
                events(.note("\(algorithm.rawValue): finished in the journal"))
                return AlgorithmRun(points: progress.points, seconds: progress.seconds, metrics: metrics,
                                    generationLeftOut: progress.generationLeftOut, model: model, state: state)
            }
            events(.note("\(algorithm.rawValue): resuming from the journal after \(progress.edits) edits"))
        }
        let stages = try executor.editStages(model: model, tokenizer: shared.tokenizer, hparams: h,
                                             algorithm: algorithm, templates: shared.templates, events: events)
        var session = try EditSession(stages: stages, state: state, events: events)
        func record() throws {
            try shared.journal?.save(algorithm, progress: progress, state: session.state, hparams: h,
                                     weights: Dictionary(uniqueKeysWithValues: h.layers.map { ($0, session.model.weights.blocks[$0].mlp.down.weight) }))
        }
        var lastResults: [RecordResults] = []
        while progress.edits < requests.count {
            let done = progress.edits
            let batch = Array(requests[done..<min(done + c.batchSize, requests.count)])
            events(.stage("\(algorithm.rawValue): edits \(done + 1)–\(done + batch.count) of \(requests.count)"))
            let start = clock.now
            _ = try session.apply(batch)
            progress.seconds += (clock.now - start) / .seconds(1)
            progress.edits += batch.count
            progress.batches += 1
            if shared.checkpoints.contains(progress.edits) {
                events(.stage("\(algorithm.rawValue): metrics after \(progress.edits) edits"))
                let evalStart = clock.now
                lastResults = try evaluate(session.model, tokenizer: shared.tokenizer, upTo: progress.edits, leaving: shared.leftOut,
                                           skipTooLong: false, events: events).results
                progress.points.append(ExperimentPoint(edits: progress.edits, metrics: summary(lastResults, upTo: progress.edits, leaving: shared.leftOut),
                                                       seconds: (clock.now - evalStart) / .seconds(1)))
                shared.progressReport?.update(method: algorithm.rawValue, points: progress.points, editSeconds: progress.seconds)
            }
            try record()
            FaultPoint.hit("experiment.batch-recorded")
        }
        if lastResults.isEmpty {
            // Resumed after the last batch: its records' results again (the same: nothing has changed).
            lastResults = try evaluate(session.model, tokenizer: shared.tokenizer, upTo: progress.edits, leaving: shared.leftOut,
                                       skipTooLong: false, events: events).results
        }
        var generationLeftOut: [Int] = []
        let metrics = try finalMetrics(session.model, tokenizer: shared.tokenizer, results: lastResults, leaving: shared.leftOut,
                                       generationLeftOut: &generationLeftOut, events: events)
        progress.metrics = metrics
        progress.generationLeftOut = generationLeftOut
        try record()
        return AlgorithmRun(points: progress.points, seconds: progress.seconds, metrics: metrics, generationLeftOut: generationLeftOut,
                            model: session.model, state: session.state)
    }

    /// A digest of every input that decides the report, for the journal: another experiment's
    /// journal is refused.
    func inputsDigest() throws -> String {
        let c = configuration
        var parts = [try Data(contentsOf: c.hparamsFile), try Data(contentsOf: c.dataFile)]
        parts.append(try c.zsreFile.map { try Data(contentsOf: $0) } ?? Data())
        parts.append(try c.contextTemplatesFile.map { try Data(contentsOf: $0) } ?? Data())
        parts.append(Data(("\(c.dataset.rawValue) \(c.selection) batch \(c.batchSize) every \(c.evaluateEvery) "
            + "algorithms \(c.algorithms.map(\.rawValue)) seed \(c.templateSeed) generation \(c.generation) \(c.generationRecords) "
            + "\(c.generationSeed) skip \(c.skipTooLong) stats \(c.statsDirectory.standardizedFileURL.path)").utf8))
        return EditJournal.digest(parts)
    }

    /// The threads per algorithm when the algorithms can run side by side: in this process (the
    /// local executor), with at least one thread each, and with memory for a copy of the model
    /// per algorithm (at most half of what is available); nil runs them one after the other.
    func sideBySideThreads(executor: any EditExecutor, weightBytes: Int) -> Int? {
        let n = configuration.algorithms.count
        guard n > 1, executor is LocalExecutor, Linalg.threadCount >= n else { return nil }
        let needed = UInt64(weightBytes) * UInt64(2 * (n + 1))
        guard needed <= HostMemory.available() / 2 else { return nil }
        return Linalg.threadCount / n
    }

    /// `events` with the algorithm's name in front of progress details, so that two runs' progress
    /// lines tell which is which.
    static func tagged(_ events: @escaping EditEventHandler, with algorithm: EditAlgorithm) -> EditEventHandler {
        { event in
            if case .progress(let done, let total, let detail) = event {
                events(.progress(done: done, total: total, detail: "\(algorithm.rawValue): \(detail)"))
            } else {
                events(event)
            }
        }
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

    /// The `case_id` of each selected zsRE record, in selection order.
    var zsreCaseIDs: [Int] {
        zip(order, requests).compactMap { reference, request in
            if case .zsre = reference { return request.caseID }
            return nil
        }
    }

    /// Results of the first `count` requests that are not left out (CounterFact ones first, then
    /// zsRE ones), and (with `skipTooLong`) the records found too long for the model.
    func evaluate(_ model: TransformerModel, tokenizer: Tokenizer, upTo count: Int, leaving known: LeftOut,
                  skipTooLong: Bool, events: @escaping EditEventHandler) throws -> (results: [RecordResults], leftOut: LeftOut) {
        var counterFactIndices: [Int] = [], zsreIndices: [Int] = []
        var counterFactRecords: [CounterFactRecord] = [], zsreCases: [ZsRECase] = []
        for (reference, request) in zip(order.prefix(count), requests) where !known.contains(reference) {
            switch reference {
            case .counterFact(let i):
                counterFactIndices.append(i)
                counterFactRecords.append(counterFact[i])
            case .zsre(let i):
                zsreIndices.append(i)
                zsreCases.append(zsre[i].evaluationCase(caseID: request.caseID, tokenizer: tokenizer))
            }
        }
        var results: [RecordResults] = []
        var leftOut = known
        if !counterFactRecords.isEmpty {
            let evaluator = CounterFactEvaluator(model: model, tokenizer: tokenizer)
            let (evaluated, skipped) = try evaluator.evaluate(counterFactRecords, skipTooLong: skipTooLong, events: events)
            results += evaluated.map { .counterFact($0) }
            leftOut.counterFact.formUnion(LeftOut.indices(of: skipped, among: zip(counterFactIndices, counterFactRecords.map(\.caseID))))
        }
        if !zsreCases.isEmpty {
            let evaluator = ZsREEvaluator(model: model, tokenizer: tokenizer)
            let (evaluated, skipped) = try evaluator.evaluate(zsreCases, skipTooLong: skipTooLong, events: events)
            results += evaluated.map { .zsre($0) }
            leftOut.zsre.formUnion(LeftOut.indices(of: skipped, among: zip(zsreIndices, zsreCases.map(\.caseID))))
        }
        return (results, leftOut)
    }

    /// Means ×100 of the records of the first `count` requests that are not left out, per dataset
    /// (in a mixed run the zsRE keys get a `zsre_` prefix: CounterFact has accuracy metrics of the
    /// same names).
    func summary(_ results: [RecordResults], upTo count: Int, leaving leftOut: LeftOut) -> [String: Double] {
        let kept = order.prefix(count).filter { !leftOut.contains($0) }
        let counterFactCount = kept.filter { if case .counterFact = $0 { return true }; return false }.count
        let zsreCount = kept.count - counterFactCount
        let counterFact = results.compactMap { if case .counterFact(let r) = $0 { return r }; return nil }.prefix(counterFactCount)
        let zsre = results.compactMap { if case .zsre(let r) = $0 { return r }; return nil }.prefix(zsreCount)
        var metrics: [(key: String, value: MetricStatistic)] = []
        if !counterFact.isEmpty { metrics += EvaluationReport.counterFactMetrics(Array(counterFact)) }
        if !zsre.isEmpty {
            let prefix = configuration.dataset == .mixed ? "zsre_" : ""
            metrics += EvaluationReport.zsREMetrics(Array(zsre)).map { (prefix + $0.key, $0.value) }
        }
        return Dictionary(uniqueKeysWithValues: metrics.map { ($0.key, $0.value.mean) })
    }

    /// The last point's metrics plus, for CounterFact, fluency and consistency from generations.
    /// - Parameter generationLeftOut: gets the `case_id`s whose generation does not fit the model
    ///   (only with `--skip-too-long`; otherwise that fails the run).
    func finalMetrics(_ model: TransformerModel, tokenizer: Tokenizer, results: [RecordResults], leaving leftOut: LeftOut,
                      generationLeftOut: inout [Int], events: @escaping EditEventHandler) throws -> [String: Double] {
        var metrics = summary(results, upTo: requests.count, leaving: leftOut)
        guard configuration.dataset != .zsre, configuration.generation else { return metrics }
        let edited = results.filter { if case .counterFact = $0 { return true }; return false }.count
        let kept = counterFact.indices.filter { !leftOut.counterFact.contains($0) }.map { counterFact[$0] }
        let records = Array(kept.prefix(min(configuration.generationRecords, edited)))
        let generation = CounterFactGeneration(settings: GenerationSettings(seed: configuration.generationSeed),
                                               reference: ReferenceCorpus(records: counterFact))
        events(.stage("generation metrics on \(records.count) records"))
        let evaluator = CounterFactEvaluator(model: model, tokenizer: tokenizer, generation: generation)
        let (generated, skipped) = try evaluator.evaluate(records, skipTooLong: configuration.skipTooLong, events: events)
        generationLeftOut += skipped
        let statistics = EvaluationReport.counterFactMetrics(generated)
        for key in [CounterFactMetric.fluency.rawValue, CounterFactMetric.consistency.rawValue] {
            if let value = statistics.first(where: { $0.key == key })?.value.mean { metrics[key] = value }
        }
        return metrics
    }
}
