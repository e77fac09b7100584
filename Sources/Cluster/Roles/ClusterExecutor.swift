import Editing
import Foundation
import Linalg
import Transformer

/// Runs a job's stages on the coordinator's workers. The placement comes from the workers'
/// memory (``ShardPlanner``). Under replicated placement every worker holds the whole model and
/// the split is fixed by the data, never by timing:
/// - statistics: chunk c of the pass goes to worker c mod N; the chunks' sums are added in chunk
///   order (so the bytes equal one process's);
/// - projector and solve of edit layer position p on its owner, worker p mod N, which also keeps
///   that layer's sequential state;
/// - targets: the batch's requests in N contiguous ranges, gathered in request order;
/// - each Δ_l is applied on every replica (the coordinator's too) before the next layer's keys.
///
/// Under layer-sharded placement worker i holds the contiguous blocks of stage i and owns the
/// edit layers among them: statistics chunks flow through the pipeline from the stage holding
/// block 0, each stage collecting and reducing its own layers; projectors and solves run on the
/// owners, which apply Δ to the blocks they hold; the coordinator runs the target optimisation
/// and the key passes through the pipeline (``PipelineModel``) and keeps only the edit layers'
/// blocks, for the output.
public final class ClusterExecutor: EditExecutor, @unchecked Sendable {
    public let coordinator: Coordinator
    public private(set) var modelDirectory: URL
    public private(set) var hparamsJSON: String
    let log: @Sendable (String) -> Void
    /// Layers whose statistics were last reduced on a worker in this job: layer → (worker, tokens).
    var reducedOn: [Int: (worker: Int, tokens: Int)] = [:]
    private var fingerprintCache: (URL, String)?
    /// The model and layers whose placement was last checked, and the plan.
    private var placementChecked: String?
    private(set) var shardPlan: ShardPlan?
    /// `--placement`: the block ranges to hold instead of the planner's.
    public var placementOverride: PlacementOverride?
    /// Whether the workers hold a PLAN of the bound model (a pipeline pass needs one).
    private var planned = false
    /// The layer-sharded job's pipeline, made when its model is loaded.
    private(set) var pipeline: PipelineModel?
    /// The edit session in progress, if any.
    weak var session: ClusterEditStages?

    public init(coordinator: Coordinator, modelDirectory: URL, hparamsFile: URL, log: @escaping @Sendable (String) -> Void) throws {
        self.coordinator = coordinator
        self.modelDirectory = modelDirectory.standardizedFileURL
        self.hparamsJSON = String(decoding: try Data(contentsOf: hparamsFile), as: UTF8.self)
        self.log = log
    }

    /// Names the job's model and hparams to the workers' next PLAN.
    public func bind(modelDirectory: URL, hparamsFile: URL) throws {
        self.modelDirectory = modelDirectory.standardizedFileURL
        self.hparamsJSON = String(decoding: try Data(contentsOf: hparamsFile), as: UTF8.self)
        reducedOn = [:]
        planned = false
        pipeline = nil
    }

    /// The workers still in the job (a lost one's work goes to the others).
    var workerCount: Int { coordinator.active.count }

    /// The index of the k-th worker still in the job.
    func worker(_ k: Int) -> Int { coordinator.active[k] }

    /// Takes a lost worker out of the job and forgets what depended on it (its plan, the layers
    /// it reduced); the caller redoes its phase. False when no worker is left.
    func recover(_ lost: WorkerLost) -> Bool {
        coordinator.declareLost(lost.index, reason: lost.reason)
        planned = false
        placementChecked = nil
        reducedOn = reducedOn.filter { $0.value.worker != lost.index }
        return workerCount > 0
    }

    /// Runs `body`, again on the workers left each time one is lost.
    func surviving<T>(_ what: String, _ body: () throws -> T) throws -> T {
        while true {
            do { return try body() } catch let lost as WorkerLost {
                guard recover(lost) else { throw lost.asClusterError }
                log("redoing \(what) on the \(workerCount) worker\(workerCount == 1 ? "" : "s") left")
            }
        }
    }

    var isSharded: Bool { shardPlan?.placement == .layerSharded }

    /// Each worker's blocks under layer-sharded placement, by worker index (empty otherwise).
    var stageRanges: [Range<Int>] {
        guard let shardPlan, isSharded else { return [] }
        var ranges = [Range<Int>](repeating: 0..<0, count: coordinator.workers.count)
        for stage in shardPlan.stages where stage.worker < workerCount { ranges[worker(stage.worker)] = stage.blocks }
        return ranges
    }

    /// The owner of position `p` of `layers`: the worker holding the layer's block (layer-sharded)
    /// or worker p mod N (replicated).
    func owner(ofPosition p: Int, in layers: [Int]) -> Int {
        if isSharded, let w = stageRanges.firstIndex(where: { $0.contains(layers[p]) }) { return w }
        return worker(p % workerCount)
    }

    /// Sends a PLAN of the bound model if the workers hold none (a pipeline pass before the job's
    /// first statistics or edit plan).
    func ensurePlanned(algorithm: EditAlgorithm, layers: [Int]) throws {
        if !planned { try surviving("the plan") { try plan(algorithm: algorithm, layers: layers) } }
    }

    /// Sends a PLAN to every worker and waits until all have loaded it.
    func plan(algorithm: EditAlgorithm, layers: [Int], corpus: Corpus? = nil, sampleCount: Int = 0, chunkSamples: Int = 0,
              templates: ContextTemplates? = nil) throws {
        let templatesJSON = try templates.map { String(decoding: try JSONEncoder().encode($0.groups), as: UTF8.self) } ?? ""
        var plan = Plan(modelDirectory: modelDirectory.path, hparamsJSON: hparamsJSON, algorithm: algorithm.rawValue,
                        corpusPath: corpus?.url.standardizedFileURL.path ?? "", sampleCount: UInt64(sampleCount),
                        chunkSamples: UInt64(chunkSamples), layers: layers.map { UInt32($0) },
                        owners: [], contextTemplatesJSON: templatesJSON,
                        threads: 0, requestsJSON: "", peerEndpoints: coordinator.workers.map(\.peerEndpoint),
                        peerPublicKeys: coordinator.workers.map(\.curvePublicKey))
        try checkPlacement(layers: layers)
        plan.owners = layers.indices.map { UInt32(owner(ofPosition: $0, in: layers)) }
        plan.stageFirst = stageRanges.map { UInt32($0.lowerBound) }
        plan.stageEnd = stageRanges.map { UInt32($0.upperBound) }
        coordinator.broadcast(.plan(plan))
        planned = true
        let expected = try modelFingerprint()
        var ready = Set<Int>()
        while ready.count < workerCount {
            ready.insert(try coordinator.next("READY") { worker, message in
                guard case .ready(let loaded) = message.body else { return nil }
                // Every worker must have loaded the coordinator's model (same files at the same path).
                guard loaded.modelFingerprint == expected else {
                    throw ClusterError.workFailed(worker: "\(coordinator.workers[worker])",
                                                  reason: "it loaded a different model from \(modelDirectory.path) (fingerprint \(loaded.modelFingerprint), the coordinator's is \(expected)); every worker must see the same files at the same paths")
                }
                return worker
            })
        }
    }

    /// The shard plan for the workers' memory and the model's edit layers (printed once per
    /// model): a plan that does not fit stops the job before any work. The placement is decided
    /// by the job's edit layers; a statistics pass over some of them keeps it.
    func checkPlacement(layers: [Int]) throws {
        let key = "\(modelDirectory.path)"
        guard placementChecked != key else { return }
        // Every edit layer of the hparams (a statistics pass may compute only some of them), read
        // without the per-algorithm key checks, which the job made when it loaded the file.
        let hparamsLayers = (try? JSONValue.parse(Data(hparamsJSON.utf8)))?.objectValue?["layers"]?.arrayValue?
            .compactMap(\.intValue) ?? layers
        let model = MemoryModel(config: try ModelConfig.load(directory: modelDirectory), editLayers: hparamsLayers)
        let budgets = coordinator.active.map { WorkerBudget(name: "\($0)", bytes: coordinator.workers[$0].memoryBytes) }
        let shardPlan = try ShardPlanner.plan(model: model, workers: budgets, override: placementOverride)
        self.shardPlan = shardPlan
        for line in shardPlan.description.split(separator: "\n") { log(String(line)) }
        coordinator.jobDirectory?.write("plan.txt", text: shardPlan.description + "\n")
        coordinator.status.setPlacement("\(shardPlan.placement.rawValue) over \(shardPlan.stages.count) workers",
                                        shards: Dictionary(uniqueKeysWithValues: shardPlan.stages.map { stage in
            (worker(stage.worker), "blocks \(stage.blocks.blockList)" + (stage.editLayers.isEmpty ? "" : ", owns edit layers \(stage.editLayers.map(String.init).joined(separator: ", "))"))
        }))
        placementChecked = key
    }

    /// The fingerprint of the job's model, as a worker computes it on PLAN.
    private func modelFingerprint() throws -> String {
        if let (directory, fingerprint) = fingerprintCache, directory == modelDirectory { return fingerprint }
        let fingerprint = try ModelFingerprint.base(of: try Checkpoint(directory: modelDirectory),
                                                    config: try ModelConfig.load(directory: modelDirectory))
        fingerprintCache = (modelDirectory, fingerprint)
        return fingerprint
    }

    // MARK: EditExecutor

    /// The whole model under replicated placement; under layer-sharded placement only the
    /// blocks of the edit layers (what the output is written from) and the pipeline.
    public func loadModel(config: ModelConfig, checkpoint: Checkpoint, directory: URL, editLayers: [Int],
                          algorithm: EditAlgorithm) throws -> (weights: TransformerModel, passes: any LanguageModel) {
        try checkPlacement(layers: editLayers)
        guard isSharded, !editLayers.isEmpty else {
            let model = try TransformerModel.load(config: config, checkpoint: checkpoint, directoryName: directory.path)
            return (model, model)
        }
        // The coordinator runs no block: it holds the edit layers' down projections only.
        let weights = try ModelStage.load(config: config, checkpoint: checkpoint, downProjectionsOf: editLayers,
                                          directoryName: directory.path).model
        return (weights, makePipeline(config: config, algorithm: algorithm, layers: editLayers))
    }

    private func makePipeline(config: ModelConfig, algorithm: EditAlgorithm, layers: [Int]) -> PipelineModel {
        let pipeline = PipelineModel(config: config, coordinator: coordinator, stages: { [unowned self] in self.stageRanges },
                                     ensurePlanned: { [unowned self] in try self.ensurePlanned(algorithm: algorithm, layers: layers) },
                                     recover: { [unowned self] lost in try self.recoverPipeline(lost, algorithm: algorithm, layers: layers) })
        self.pipeline = pipeline
        return pipeline
    }

    /// A worker lost during a pipeline pass outside an edit batch (template sampling, scoring):
    /// the survivors are planned again and given the edit layers' weights as the coordinator
    /// holds them, and the pass is run again. Inside a batch the batch is redone instead (false).
    func recoverPipeline(_ lost: WorkerLost, algorithm: EditAlgorithm, layers: [Int]) throws -> Bool {
        if session?.batchInProgress == true { return false }
        guard recover(lost) else { throw lost.asClusterError }
        log("running the pass again on the \(workerCount) worker\(workerCount == 1 ? "" : "s") left")
        try surviving("the plan") {
            try plan(algorithm: algorithm, layers: layers)
            try session?.restoreWeights()
        }
        return true
    }

    public func statisticsStages(layers: [Int], corpus: Corpus, tokenizer: Tokenizer,
                                 model: () throws -> TransformerModel) throws -> any StatisticsStages {
        ClusterStatisticsStages(executor: self, corpus: corpus)
    }

    /// A lost worker's projectors are computed again on the workers left.
    public func projectors(_ stats: [LayerStatistics], threshold: Double) throws -> [NullSpaceProjector] {
        try surviving("the projectors") { try projectorsOnce(stats, threshold: threshold) }
    }

    private func projectorsOnce(_ stats: [LayerStatistics], threshold: Double) throws -> [NullSpaceProjector] {
        for (p, layerStats) in stats.enumerated() {
            // A layer reduced on a worker in this job is projected there, from what it holds.
            if let reduced = reducedOn[layerStats.layer], reduced.tokens == layerStats.count {
                coordinator.send(.projectorWork(ProjectorWork(layer: UInt32(layerStats.layer), threshold: threshold, useReduced: true,
                                                              tokenCount: UInt64(reduced.tokens))), to: reduced.worker)
            } else {
                coordinator.send(.projectorWork(ProjectorWork(layer: UInt32(layerStats.layer), threshold: threshold)),
                                 tensors: [WireTensor(name: "second_moment", matrix: try layerStats.secondMoment)], to: owner(ofPosition: p, in: stats.map(\.layer)))
            }
        }
        coordinator.beginPhase("projectors of layers \(stats.map { String($0.layer) }.joined(separator: ", "))", total: stats.count)
        var results: [Int: NullSpaceProjector] = [:]
        while results.count < stats.count {
            let projector = try coordinator.next("PROJECTOR_RESULT") { _, message -> NullSpaceProjector? in
                guard case .projectorResult(let result) = message.body else { return nil }
                guard let width = stats.first(where: { $0.layer == Int(result.layer) })?.width else {
                    throw ClusterError.badPayload("PROJECTOR_RESULT of layer \(result.layer), which is not an edit layer of this job")
                }
                let eigenvalues = try message.tensor("eigenvalues").doubles()
                guard eigenvalues.count == width else {
                    throw ClusterError.badPayload("PROJECTOR_RESULT of layer \(result.layer) carries \(eigenvalues.count) eigenvalues, expected \(width)")
                }
                return NullSpaceProjector(layer: Int(result.layer), threshold: threshold,
                                          matrix: try message.floatMatrix("projector", rows: width, cols: width),
                                          nullSpaceDimension: Int(result.nullSpaceDimension),
                                          eigenvalues: eigenvalues)
            }
            results[projector.layer] = projector
            coordinator.status.advance()
        }
        return try stats.map { layerStats in
            guard let projector = results[layerStats.layer] else {
                throw ClusterError.badPayload("no PROJECTOR_RESULT for layer \(layerStats.layer)")
            }
            return projector
        }
    }

    public func editStages(model: TransformerModel, tokenizer: Tokenizer, hparams: EditHyperParameters, algorithm: EditAlgorithm,
                           templates: ContextTemplates, events: @escaping EditEventHandler) throws -> any EditStages {
        try checkPlacement(layers: hparams.layers)
        let local = LocalStages(model: model, tokenizer: tokenizer, hparams: hparams, templates: templates, events: events)
        let pipeline = isSharded ? (self.pipeline ?? makePipeline(config: model.config, algorithm: algorithm, layers: hparams.layers)) : nil
        let stages = ClusterEditStages(executor: self, local: local, layers: hparams.layers, algorithm: algorithm, pipeline: pipeline)
        session = stages
        return stages
    }
}

/// The statistics pass on the workers: chunk c on worker c mod N; each worker sends its chunk's
/// sums of layer position p straight to p's owner, which adds them in chunk order and reports
/// its totals here at every checkpoint boundary and at the end. The coordinator only tallies
/// progress and writes what the owners report.
final class ClusterStatisticsStages: StatisticsStages {
    let executor: ClusterExecutor
    let corpus: Corpus

    init(executor: ClusterExecutor, corpus: Corpus) {
        self.executor = executor
        self.corpus = corpus
    }

    /// A lost worker's chunks are redone on the workers left, from the last boundary at which
    /// every layer's totals were reported (`checkpointEvery`; without boundaries, from the start
    /// of the pass); chunks are added in order whoever computes them, so the bytes do not change.
    func reduce(_ plan: StatisticsPlan, chunks: Range<Int>, into totals: inout [LayerStatistics], checkpointEvery: Int,
                checkpoint: (Int, [LayerStatistics]) throws -> Void, progress: (Int, Int) -> Void) throws {
        var resume = (chunk: chunks.lowerBound, totals: totals)
        while true {
            do {
                var current = resume.totals
                try reduceOnce(plan, chunks: resume.chunk..<chunks.upperBound, into: &current, checkpointEvery: checkpointEvery,
                               resume: &resume, checkpoint: checkpoint, progress: progress)
                totals = current
                return
            } catch let lost as WorkerLost {
                guard executor.recover(lost) else { throw lost.asClusterError }
                executor.log("redoing statistics chunks \(resume.chunk)..<\(chunks.upperBound) on the \(executor.workerCount) worker(s) left")
            }
        }
    }

    private func reduceOnce(_ plan: StatisticsPlan, chunks: Range<Int>, into totals: inout [LayerStatistics], checkpointEvery: Int,
                            resume: inout (chunk: Int, totals: [LayerStatistics]),
                            checkpoint: (Int, [LayerStatistics]) throws -> Void, progress: (Int, Int) -> Void) throws {
        guard !chunks.isEmpty else { return }
        let n = executor.workerCount
        try executor.plan(algorithm: .alphaedit, layers: plan.layers, corpus: corpus, sampleCount: plan.order.count,
                          chunkSamples: plan.chunkSamples)
        let every = checkpointEvery > 0 && checkpointEvery <= Int(UInt32.max) ? checkpointEvery : 0
        for k in 0..<n {
            let w = executor.worker(k)
            // Layer-sharded: every chunk enters the pipeline at the stage holding block 0.
            let mine = executor.isSharded
                ? (executor.stageRanges[w].contains(0) ? chunks.map { UInt32($0) } : [])
                : chunks.filter { ($0 - chunks.lowerBound) % n == k }.map { UInt32($0) }
            // The owner of a layer starts from its current totals (a resumed pass).
            var initial: [StatisticsReduced] = []
            var tensors: [WireTensor] = []
            for (p, layerTotals) in totals.enumerated() where executor.owner(ofPosition: p, in: plan.layers) == w && (layerTotals.count > 0 || layerTotals.samples > 0) {
                initial.append(StatisticsReduced(layer: UInt32(layerTotals.layer), tokenCount: UInt64(layerTotals.count),
                                                 sampleCount: UInt64(layerTotals.samples), chunks: UInt32(chunks.lowerBound)))
                tensors.append(WireTensor(name: "initial.\(layerTotals.layer)", matrix: layerTotals.sum))
            }
            executor.coordinator.send(.statisticsWork(StatisticsWork(chunkIndices: mine, firstChunk: UInt32(chunks.lowerBound),
                                                                     endChunk: UInt32(chunks.upperBound), checkpointEvery: UInt32(every),
                                                                     initial: initial)),
                                      tensors: tensors, to: w)
        }
        executor.coordinator.beginPhase("statistics of layers \(plan.layers.map(String.init).joined(separator: ", ")) (chunks)", total: chunks.count)
        // Boundaries at which every layer's totals are reported, in order.
        var boundaries = every > 0 ? Array(stride(from: (chunks.lowerBound / every + 1) * every, to: min(chunks.upperBound, plan.chunkCount), by: every)) : []
        boundaries.append(chunks.upperBound)
        var reported: [Int: [Int: LayerStatistics]] = [:]
        var samplesDone = 0, tokensDone = 0
        var next = 0
        while next < boundaries.count {
            enum Event { case chunk(samples: Int, tokens: Int), totals(boundary: Int, LayerStatistics) }
            let event = try executor.coordinator.next("STATISTICS_REDUCED") { _, message -> Event? in
                switch message.body {
                case .chunkDone(let done):
                    return .chunk(samples: Int(done.sampleCount), tokens: Int(done.tokenCount))
                case .statisticsReduced(let reduced):
                    let layer = Int(reduced.layer), boundary = Int(reduced.chunks)
                    guard let position = plan.layers.firstIndex(of: layer), boundaries.contains(boundary) else {
                        throw ClusterError.badPayload("STATISTICS_REDUCED of layer \(layer) up to chunk \(boundary) does not fit the pass")
                    }
                    let width = totals[position].width
                    let sum = try message.doubleMatrix("sum", rows: width, cols: width)
                    return .totals(boundary: boundary, LayerStatistics(layer: layer, count: Int(reduced.tokenCount), samples: Int(reduced.sampleCount),
                                                                       sum: sum, provenance: totals[position].provenance))
                default:
                    return nil
                }
            }
            switch event {
            case .chunk(let samples, let tokens):
                executor.coordinator.status.advance()
                samplesDone += samples
                tokensDone += tokens
                progress(samplesDone, tokensDone)
            case .totals(let boundary, let stats):
                reported[boundary, default: [:]][stats.layer] = stats
            }
            while next < boundaries.count, let complete = reported[boundaries[next]], complete.count == plan.layers.count {
                let boundary = boundaries[next]
                let reduced = plan.layers.map { complete[$0]! }
                reported[boundary] = nil
                next += 1
                if next < boundaries.count {
                    try checkpoint(boundary, reduced)
                    resume = (boundary, reduced)
                } else {
                    totals = reduced
                    for (p, layer) in plan.layers.enumerated() {
                        executor.reducedOn[layer] = (executor.owner(ofPosition: p, in: plan.layers), reduced[p].count)
                    }
                }
            }
        }
    }
}

/// One edit session's stages on the workers, with the coordinator's own copy kept in step (a
/// replica, or under layer-sharded placement the edit layers' blocks, with `pipeline` running
/// the passes).
final class ClusterEditStages: EditStages {
    let executor: ClusterExecutor
    let local: LocalStages
    let layers: [Int]
    let algorithm: EditAlgorithm
    let pipeline: PipelineModel?

    init(executor: ClusterExecutor, local: LocalStages, layers: [Int], algorithm: EditAlgorithm, pipeline: PipelineModel?) {
        self.executor = executor
        self.local = local
        self.layers = layers
        self.algorithm = algorithm
        self.pipeline = pipeline
    }

    var model: TransformerModel { local.model }
    var passes: any LanguageModel { pipeline ?? local.model }
    /// The edit layers' weights as the batch in progress found them (to redo it after a loss).
    private var batchStart: [Int: Matrix<Float>] = [:]
    /// Between a batch's targets and its end.
    private(set) var batchInProgress = false

    /// A worker lost during a batch: it is taken out, the coordinator's copy goes back to the
    /// batch's start, the workers left are planned again (under layer-sharded placement they
    /// load the blocks the new plan gives them) and given the layers' states and the edit
    /// layers' weights as of the batch's start; the session then redoes the batch.
    func recover(from error: Error, state: EditState) throws -> Bool {
        guard let lost = error as? WorkerLost else { return false }
        guard executor.recover(lost) else { throw lost.asClusterError }
        executor.log("redoing batch \(state.editCount > 0 ? "after \(state.editCount) edits" : "1") on the \(executor.workerCount) worker(s) left")
        for (layer, weight) in batchStart { local.setDownWeight(weight, layer: layer) }
        try executor.surviving("the plan") { try load(state) }
        return true
    }

    /// Sends each edit layer's current weight to the workers holding its block (APPLY_DELTA
    /// with `restore`; acknowledgements of the abandoned batch's deltas are not counted).
    func restoreWeights() throws {
        var waiting = 0
        for layer in layers {
            let weight = WireTensor(name: "weight", matrix: local.model.weights.blocks[layer].mlp.down.weight)
            let holders = executor.isSharded ? [executor.owner(ofPosition: layers.firstIndex(of: layer)!, in: layers)] : coordinator.active
            for w in holders {
                coordinator.send(.applyDelta(ApplyDelta(batch: 0, layer: UInt32(layer), restore: true)), tensors: [weight], to: w)
                waiting += 1
            }
        }
        while waiting > 0 {
            try coordinator.next("DELTA_APPLIED") { _, message -> Bool? in
                guard case .deltaApplied(let ack) = message.body, ack.restore else { return nil }
                return true
            }
            waiting -= 1
        }
    }
    var coordinator: Coordinator { executor.coordinator }

    /// Plans the session with the state's context templates (a continued job's come from its
    /// state file), then gives each owner its layer's state.
    func load(_ state: EditState) throws {
        try local.load(state)
        try executor.plan(algorithm: algorithm, layers: layers, templates: state.templates)
        for (p, layerState) in state.layerStates.enumerated() {
            let constraint: WireTensor
            switch layerState.constraint {
            case .projector(let matrix): constraint = WireTensor(name: "constraint", matrix: matrix)
            case .secondMoment(let matrix): constraint = WireTensor(name: "constraint", matrix: matrix)
            }
            coordinator.send(.layerState(LayerState(layer: UInt32(layerState.layer), position: UInt32(p), algorithm: state.algorithm.rawValue)),
                             tensors: [constraint, WireTensor(name: "cache", matrix: layerState.cache)], to: executor.owner(ofPosition: p, in: layers))
        }
        // Edits made before this session (a journal's, a redone batch's): the workers loaded the
        // model's files, so they get the edit layers' weights as the coordinator holds them.
        if state.editCount > 0 { try restoreWeights() }
    }

    func targets(_ requests: [EditRequest], batch: Int, progress: @escaping @Sendable (Int) -> Void) throws -> [TargetResult] {
        batchStart = Dictionary(uniqueKeysWithValues: layers.map { ($0, local.model.weights.blocks[$0].mlp.down.weight) })
        batchInProgress = true
        if let pipeline {
            // Layer-sharded: the optimisation runs here, its passes through the pipeline.
            coordinator.beginPhase("targets of batch \(batch) (requests, through the pipeline)", total: requests.count)
            var done = 0
            return try LocalStages.targets(requests, model: pipeline, tokenizer: local.tokenizer, hparams: local.hparams,
                                           templates: local.templates, maxGroup: local.targetGroupSize) { count in
                for _ in done..<count { coordinator.status.advance() }
                done = count
                progress(count)
            }
        }
        // Whole groups of requests optimised together, so that every z is the one a single
        // process computes, whatever the number of workers.
        let n = executor.workerCount
        let groups = try local.targetGroups(requests)
        var ranges: [Int: Range<Int>] = [:]
        for k in 0..<n {
            let w = executor.worker(k)
            let mine = groups[(k * groups.count / n)..<((k + 1) * groups.count / n)]
            guard let first = mine.first, let last = mine.last else { continue }
            let range = first.lowerBound..<last.upperBound
            ranges[w] = range
            coordinator.send(.targetsWork(TargetsWork(batch: UInt32(batch), requestIndices: range.map { UInt32($0) })),
                             tensors: [try WireTensor(name: "requests", json: Array(requests[range]))], to: w)
        }
        coordinator.beginPhase("targets of batch \(batch) (requests)", total: requests.count)
        var results = [TargetResult?](repeating: nil, count: requests.count)
        var done = 0
        while done < requests.count {
            let received = try coordinator.next("TARGETS_RESULT") { worker, message -> [(Int, TargetResult)]? in
                guard case .targetsResult(let result) = message.body, result.batch == batch else { return nil }
                return try result.summaries.map { summary in
                    let i = Int(summary.requestIndex)
                    guard ranges[worker]?.contains(i) == true else {
                        throw ClusterError.badPayload("TARGETS_RESULT for request \(i), which was not given to worker \(worker)")
                    }
                    return (i, TargetResult(target: try message.tensor("target.\(i)").floats(), initial: try message.tensor("initial.\(i)").floats(),
                                            losses: summary.losses, probabilityBefore: summary.probabilityBefore,
                                            probabilityAfter: summary.probabilityAfter, initialGradient: summary.initialGradient))
                }
            }
            for (i, result) in received where results[i] == nil {
                results[i] = result
                done += 1
                coordinator.status.advance()
            }
            progress(done)
        }
        return results.map { $0! }
    }

    func updateLayer(_ i: Int, layerCount: Int, requests: [EditRequest], targets: Matrix<Float>, state: LayerEditState,
                     batch: Int) throws -> LayerUpdate {
        FaultPoint.hit("coordinator.solve")
        coordinator.beginPhase("solve of layer \(state.layer), batch \(batch)", total: 1)
        // The shapes a worker's answer must have: keys [d0, N], outputs and residuals [d1, N], Δ [d0, d1].
        let d0 = state.constraint.width, d1 = targets.rows, n = requests.count
        if let pipeline {
            // Layer-sharded: keys and current outputs through the pipeline, the solve on the owner,
            // which applies Δ to the block it holds.
            let (keys, current) = try LocalStages.keysAndOutputs(model: pipeline, tokenizer: local.tokenizer, hparams: local.hparams,
                                                                 templates: local.templates, events: local.events, layer: state.layer,
                                                                 requests: requests)
            coordinator.send(.layerUpdateWork(LayerUpdateWork(batch: UInt32(batch), layer: UInt32(state.layer), position: UInt32(i),
                                                              requestIndices: requests.indices.map { UInt32($0) })),
                             tensors: [WireTensor(name: "targets", matrix: targets), try WireTensor(name: "requests", json: requests),
                                       WireTensor(name: "keys", matrix: keys), WireTensor(name: "current_outputs", matrix: current)],
                             to: executor.owner(ofPosition: i, in: layers))
            return try coordinator.next("LAYER_UPDATE_RESULT") { _, message -> LayerUpdate? in
                guard case .layerUpdateResult(let result) = message.body, result.batch == batch, result.layer == state.layer else { return nil }
                return LayerUpdate(layer: state.layer, keys: keys, currentOutputs: current,
                                   residuals: try message.floatMatrix("residuals", rows: d1, cols: n),
                                   delta: try message.floatMatrix("delta", rows: d0, cols: d1))
            }
        }
        coordinator.send(.layerUpdateWork(LayerUpdateWork(batch: UInt32(batch), layer: UInt32(state.layer), position: UInt32(i),
                                                          requestIndices: requests.indices.map { UInt32($0) })),
                         tensors: [WireTensor(name: "targets", matrix: targets), try WireTensor(name: "requests", json: requests)],
                         to: executor.owner(ofPosition: i, in: layers))
        return try coordinator.next("LAYER_UPDATE_RESULT") { _, message -> LayerUpdate? in
            guard case .layerUpdateResult(let result) = message.body, result.batch == batch, result.layer == state.layer else { return nil }
            return LayerUpdate(layer: state.layer, keys: try message.floatMatrix("keys", rows: d0, cols: n),
                               currentOutputs: try message.floatMatrix("current_outputs", rows: d1, cols: n),
                               residuals: try message.floatMatrix("residuals", rows: d1, cols: n),
                               delta: try message.floatMatrix("delta", rows: d0, cols: d1))
        }
    }

    func apply(_ update: LayerUpdate, batch: Int) throws {
        if pipeline != nil {
            // The owner applied Δ with its solve; the coordinator's copy follows.
            try local.apply(update, batch: batch)
            return
        }
        coordinator.broadcast(.applyDelta(ApplyDelta(batch: UInt32(batch), layer: UInt32(update.layer))),
                              tensors: [WireTensor(name: "delta", matrix: update.delta)])
        try local.apply(update, batch: batch)
        var applied = Set<Int>()
        while applied.count < executor.workerCount {
            applied.insert(try coordinator.next("DELTA_APPLIED") { worker, message in
                guard case .deltaApplied(let ack) = message.body, ack.batch == batch, ack.layer == update.layer else { return nil }
                return worker
            })
        }
    }

    func endBatch(_ updates: [LayerUpdate], batch: Int, editCount: Int) throws {
        coordinator.broadcast(.batchEnd(BatchEnd(batch: UInt32(batch), editCount: UInt64(editCount))))
        batchInProgress = false
    }
}
