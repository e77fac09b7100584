import Foundation
import Linalg
import Transformer

/// Everything `alphaedit edit` needs.
public struct EditJobConfiguration: Sendable {
    public var modelDirectory: URL
    public var hparamsFile: URL
    public var requestsFile: URL
    public var outputDirectory: URL
    public var algorithm: EditAlgorithm = .alphaedit
    /// Text standing in for `mom2_dataset` when statistics must be computed.
    public var corpus: URL?
    public var statsDirectory: URL
    /// A previous run's `alphaedit-state.safetensors`, to continue sequential editing.
    public var stateFile: URL?
    /// Requests per batch (nil: all in one batch).
    public var batchSize: Int?
    public var contextTemplatesFile: URL?
    /// Seed of the sampled context templates (when no file is given).
    public var templateSeed: UInt64 = 0
    /// Replace a non-empty output directory.
    public var overwrite = false
    /// Samples per chunk of a statistics pass (``StatisticsJob/chunkSamples``).
    public var chunkSamples = 1000
    /// Where the job records itself after each batch (``EditJournal``); nil: nowhere.
    public var journal: URL?
    /// Go on from the journal's last record instead of starting over.
    public var resume = false

    public init(modelDirectory: URL, hparamsFile: URL, requestsFile: URL, outputDirectory: URL, statsDirectory: URL) {
        self.modelDirectory = modelDirectory
        self.hparamsFile = hparamsFile
        self.requestsFile = requestsFile
        self.outputDirectory = outputDirectory
        self.statsDirectory = statsDirectory
    }
}

/// One line of `edits.jsonl`.
public struct EditRecord: Sendable, Codable {
    public var caseID: Int
    public var batch: Int
    public var prompt: String
    public var subject: String
    public var targetNew: String
    public var targetTrue: String?
    public var before: [String: TargetScore]
    public var after: [String: TargetScore]
    /// The target optimisation: mean probability of the target over the rewriting prompts at its
    /// first and last step, and its first gradient (≲ 1e-7: no signal).
    public var optimisation: TargetOptimisationSummary?

    enum CodingKeys: String, CodingKey {
        case caseID = "case_id", batch, prompt, subject, targetNew = "target_new", targetTrue = "target_true", before, after
        case optimisation = "target_optimisation"
    }
}

/// How compute_z went for one request.
public struct TargetOptimisationSummary: Sendable, Codable {
    public var probabilityBefore: Float
    public var probabilityAfter: Float
    public var initialGradient: Float
    public var steps: Int

    enum CodingKeys: String, CodingKey {
        case probabilityBefore = "probability_before", probabilityAfter = "probability_after"
        case initialGradient = "initial_gradient", steps
    }
}

/// What an edit job produced.
public struct EditJobSummary: Sendable {
    public var outputDirectory: URL
    public var records: [EditRecord]
    public var nullSpaceDimensions: [Int: Int]
    public var batches: Int
}

/// `alphaedit edit`: validate every input, then statistics → projectors → sequential batches →
/// a Hugging Face checkpoint, the deltas, the state and the edit log, written to a temporary
/// directory and renamed into place.
public struct EditJob: Sendable {
    public let configuration: EditJobConfiguration
    let hparams: EditHyperParameters
    let requests: [EditRequest]
    let config: ModelConfig
    let templatesFromFile: ContextTemplates?

    /// Reads and checks the small inputs; nothing heavy is loaded and nothing is written.
    public init(_ configuration: EditJobConfiguration) throws {
        self.configuration = configuration
        hparams = try EditHyperParameters.load(file: configuration.hparamsFile, algorithm: configuration.algorithm)
        requests = try EditRequest.load(file: configuration.requestsFile)
        config = try ModelConfig.load(directory: configuration.modelDirectory)
        try ModelLayout.validate(hparams, config: config, path: configuration.hparamsFile.path)
        templatesFromFile = try configuration.contextTemplatesFile.map { try ContextTemplates.load(file: $0) }
        if let batchSize = configuration.batchSize, batchSize < 1 {
            throw EditJobError.invalidState(path: "--batch-size", reason: "must be at least 1")
        }
        if configuration.chunkSamples < 1 {
            throw EditJobError.invalidState(path: "chunk samples", reason: "must be at least 1")
        }
        try Self.checkOutputDirectory(configuration.outputDirectory, overwrite: configuration.overwrite)
    }

    static func checkOutput(_ url: URL, overwrite: Bool) throws { try checkOutputDirectory(url, overwrite: overwrite) }

    /// Refuses an output path that is a file, or a non-empty directory without `overwrite`.
    public static func checkOutputDirectory(_ url: URL, overwrite: Bool) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? ["?"]
        if !isDirectory.boolValue || (!contents.isEmpty && !overwrite) { throw EditJobError.outputExists(path: url.path) }
    }

    /// - Parameter executor: where the stages run (this process by default; the cluster's coordinator
    ///   passes its own). The result does not depend on it.
    /// Refuses, before any work, a request whose sequences would run past a model with learned
    /// positions (GPT-2): the scored prompt + target, and with `templates`
    /// each rewriting prompt of the target optimisation (template + prompt + target but its last
    /// token) and each key prompt (template + subject). Rotary models run on, as the official code.
    static func checkLengths(_ requests: [EditRequest], templates: ContextTemplates?, tokenizer: Tokenizer,
                             config: ModelConfig) throws {
        guard config.positionEncoding == .learned else { return }
        let positions = config.maxPositions
        for (i, request) in requests.enumerated() {
            let target = TargetScorer.targetIDs(request.targetNew, tokenizer: tokenizer)
            let scored = tokenizer.encode(request.filledPrompt).count + target.count
            if scored > positions {
                throw EditJobError.requestTooLong(request: i, caseID: request.caseID, what: "the prompt with its target",
                                                  tokens: scored, positions: positions)
            }
            guard let templates else { continue }
            let prefix = tokenizer.decode(Array(target.dropLast()))
            for template in templates.all {
                let rewriting = tokenizer.encode(fill(fill(template, with: request.prompt) + prefix, with: request.subject)).count
                let key = tokenizer.encode(fill(template, with: request.subject)).count
                if max(rewriting, key) > positions {
                    throw EditJobError.requestTooLong(request: i, caseID: request.caseID,
                                                      what: "the prompt in the context template \"\(template)\" with its target",
                                                      tokens: max(rewriting, key), positions: positions)
                }
            }
        }
    }

    public func run(executor: any EditExecutor = LocalExecutor(), events: @escaping EditEventHandler = { _ in }) throws -> EditJobSummary {
        let c = configuration
        try executor.bind(modelDirectory: c.modelDirectory, hparamsFile: c.hparamsFile)
        // Everything that can be checked cheaply is checked before the weights are loaded.
        let checkpoint = try Checkpoint(directory: c.modelDirectory)
        let tokenizer = try Tokenizer(directory: c.modelDirectory, model: config)
        let fingerprint = try ModelFingerprint.base(of: checkpoint, config: config)
        for (i, request) in requests.enumerated() where TargetScorer.targetIDs(request.targetNew, tokenizer: tokenizer).isEmpty {
            throw EditJobError.emptyTarget(request: i, target: request.targetNew)
        }
        try Self.checkLengths(requests, templates: templatesFromFile, tokenizer: tokenizer, config: config)
        var continued: EditState? = nil
        var statsJob: StatisticsJob? = nil
        if let stateFile = c.stateFile {
            let state = try EditState.read(from: stateFile, algorithm: c.algorithm, layers: hparams.layers, model: fingerprint)
            if let file = templatesFromFile, file != state.templates {
                throw EditJobError.invalidState(path: stateFile.path, reason: "holds other context templates than --context-templates; leave the flag out to continue with the state's")
            }
            continued = state
        } else {
            var job = StatisticsJob(config: config, tokenizer: tokenizer, modelFingerprint: fingerprint,
                                    modelName: c.modelDirectory.standardizedFileURL.lastPathComponent, hparams: hparams,
                                    statsDirectory: c.statsDirectory, corpus: try c.corpus.map { try Corpus(url: $0) })
            job.chunkSamples = c.chunkSamples
            job.checkpointInterval = c.chunkSamples   // every chunk: a lost worker or a restart redoes only chunks in flight
            try job.validate()
            statsJob = job
        }

        // A journal of this job: the batches it records are not done again.
        let journal = c.journal.map { EditJournal(directory: $0) }
        let inputs = EditJournal.digest([try Data(contentsOf: c.hparamsFile), try Data(contentsOf: c.requestsFile), Data(c.algorithm.rawValue.utf8),
                                         Data("batch \(c.batchSize ?? 0) seed \(c.templateSeed)".utf8),
                                         try c.contextTemplatesFile.map { try Data(contentsOf: $0) } ?? Data(),
                                         try c.stateFile.map { try Data(contentsOf: $0) } ?? Data()])
        let resumed = c.resume ? try journal?.load(model: fingerprint, inputs: inputs, algorithm: c.algorithm, layers: hparams.layers) : nil
        if c.resume && resumed == nil { events(.note("the journal records no finished batch; starting from the beginning")) }

        events(.stage("loading \(c.modelDirectory.lastPathComponent)"))
        let loaded = try executor.loadModel(config: config, checkpoint: checkpoint, directory: c.modelDirectory, editLayers: hparams.layers,
                                            algorithm: c.algorithm)
        var model = loaded.weights
        let original = model.weights

        // Sequential state: continued from a file, or made from the statistics.
        var state: EditState
        var nullSpace: [Int: Int] = [:]
        if let resumed {
            state = resumed.state
            for (layer, weight) in resumed.weights { model.weights.blocks[layer].mlp.down.weight = weight }
            for (layer, dimension) in resumed.record.nullSpace { nullSpace[Int(layer) ?? -1] = dimension }
            events(.note("resuming from \(journal!.directory.path) after \(resumed.record.batchesDone) batches (\(state.editCount) edits)"))
        } else if let continued {
            state = continued
            events(.note("continuing from \(c.stateFile!.path) after \(state.editCount) edits"))
        } else {
            let weights = model
            let templates = try templatesFromFile ?? ContextTemplates.sample(model: loaded.passes, tokenizer: tokenizer, seed: c.templateSeed)
            try Self.checkLengths(requests, templates: templates, tokenizer: tokenizer, config: config)
            let prepared = try EditState.prepare(algorithm: c.algorithm, statistics: statsJob!, model: { weights }, templates: templates,
                                                 executor: executor, events: events)
            state = prepared.state
            for p in prepared.projectors { nullSpace[p.layer] = p.nullSpaceDimension }
        }

        let scorer = { (model: any LanguageModel) throws -> [[String: TargetScore]] in
            let s = TargetScorer(model: model, tokenizer: tokenizer)
            let new = try s.score(requests.map { ($0.filledPrompt, $0.targetNew) })
            let old = try s.score(requests.compactMap { r in r.targetTrue.map { (r.filledPrompt, $0) } })
            var oldIterator = old.makeIterator()
            return zip(requests, new).map { request, score in
                var entry = ["target_new": score]
                if request.targetTrue != nil { entry["target_true"] = oldIterator.next()! }
                return entry
            }
        }
        let before: [[String: TargetScore]]
        if let resumed {
            before = resumed.record.before
        } else {
            events(.stage("scoring the requests before editing"))
            before = try scorer(loaded.passes)
        }

        let batchSize = c.batchSize ?? requests.count
        let batches = stride(from: 0, to: requests.count, by: batchSize).map { Array(requests[$0..<min($0 + batchSize, requests.count)]) }
        let stages = try executor.editStages(model: model, tokenizer: tokenizer, hparams: hparams, algorithm: c.algorithm,
                                             templates: state.templates, events: events)
        var session = try EditSession(stages: stages, state: state, events: events)
        var batchOfRequest: [Int] = resumed?.record.batchOfRequest ?? []
        var optimisation: [TargetOptimisationSummary] = resumed?.record.optimisation ?? []
        for (b, batch) in batches.enumerated() where b >= resumed?.record.batchesDone ?? 0 {
            events(.stage("batch \(b + 1)/\(batches.count): \(batch.count) edits"))
            let result = try session.apply(batch)
            batchOfRequest += Array(repeating: b, count: batch.count)
            optimisation += result.targets.map {
                TargetOptimisationSummary(probabilityBefore: $0.probabilityBefore, probabilityAfter: $0.probabilityAfter,
                                          initialGradient: $0.initialGradient, steps: $0.losses.count)
            }
            if let journal {
                let record = EditJournal.Record(model: fingerprint, inputs: inputs, templates: session.state.templates.groups, before: before,
                                                nullSpace: Dictionary(uniqueKeysWithValues: nullSpace.map { (String($0.key), $0.value) }),
                                                batchesDone: b + 1, batchOfRequest: batchOfRequest, optimisation: optimisation)
                try journal.save(record, state: session.state, hparams: hparams,
                                 weights: Dictionary(uniqueKeysWithValues: hparams.layers.map { ($0, session.model.weights.blocks[$0].mlp.down.weight) }))
            }
            FaultPoint.hit("coordinator.batch-recorded")
        }
        model = session.model
        state = session.state
        events(.stage("scoring the requests after editing"))
        let after = try scorer(session.stages.passes)
        let records = requests.enumerated().map { i, r in
            EditRecord(caseID: r.caseID, batch: batchOfRequest[i], prompt: r.prompt, subject: r.subject, targetNew: r.targetNew,
                       targetTrue: r.targetTrue, before: before[i], after: after[i], optimisation: optimisation[i])
        }
        events(.stage("writing \(c.outputDirectory.path)"))
        try EditOutput(model: model, original: original, checkpoint: checkpoint, sourceDirectory: c.modelDirectory,
                       baseFingerprint: fingerprint, layers: hparams.layers)
            .write(to: c.outputDirectory, state: state, hparams: hparams, records: records, overwrite: c.overwrite)
        return EditJobSummary(outputDirectory: c.outputDirectory, records: records, nullSpaceDimensions: nullSpace, batches: batches.count)
    }
}
