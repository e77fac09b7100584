import Editing
import Foundation
import Linalg
import Transformer

/// What a worker holds for one PLAN: the model (a replica, loaded from the plan's directory and
/// kept across plans of the same model), the hparams, the corpus of a statistics pass and the
/// sequential state of the layers it owns. Every piece of work runs the same Editing code as a
/// single process.
final class WorkerSession {
    let plan: Plan
    let workerIndex: Int
    let modelDirectory: String
    let original: TransformerModel
    let tokenizer: Tokenizer
    let fingerprint: String
    let hparams: EditHyperParameters
    let corpus: Corpus?
    /// Layer-sharded placement: the blocks this worker holds (`original` has no other weights),
    /// and every worker's blocks by index. nil: replicated.
    let blocks: Range<Int>?
    let stageBlocks: [Range<Int>]
    let stages: LocalStages
    /// Pipeline passes in progress here: the tapes of passes to go back through, the KV caches
    /// of generations, and the keys of the statistics chunk that is passing.
    var tapes: [UInt64: StageTape] = [:]
    var generators: [UInt64: StageGenerator] = [:]
    var chunkInProgress: (chunk: Int, sums: [LayerStatistics], tokens: Int)?
    /// At the stage holding block 0: the chunk whose passes are being sent into the pipeline,
    /// and the passes sent on that the last stage has not acknowledged (see `pipelineStep`).
    var feeding: (chunk: Int, passes: [[[Int]]], next: Int, samples: Int)?
    var statisticsInFlight = 0
    /// The most passes in flight at once in this pass (reported at its end, see `pipelineSummary`).
    var statisticsInFlightPeak = 0
    /// Owned layers: position → state, and the keys of the current batch (for its cache update).
    private var owned: [Int: LayerEditState] = [:]
    private var batchKeys: [Int: Matrix<Float>] = [:]
    /// P·C of each owned AlphaEdit layer for the current batch, computed when the batch's
    /// targets arrive (before this worker's share of them), so that the layers' sequential
    /// solves need only O(d0²·N) besides their LU.
    private var projectedCaches: [Int: Matrix<Double>?] = [:]
    /// The statistics pass in progress: chunks still to compute here, and the reduction of the
    /// layers this worker owns.
    var pass: (plan: StatisticsPlan, collector: StatisticsCollector, queue: [Int], reducer: StatisticsReducer)?
    /// Parts from fellow workers that arrived before this worker's STATISTICS_WORK.
    var early: [Message] = []
    /// The last pass's totals of the layers reduced here (a projector can use them without
    /// the coordinator sending them back). Kept across plans of the same model.
    private(set) var retained: [Int: LayerStatistics] = [:]

    init(plan: Plan, workerIndex: Int, reusing previous: WorkerSession?) throws {
        self.plan = plan
        self.workerIndex = workerIndex
        modelDirectory = plan.modelDirectory
        stageBlocks = try Self.stageBlocks(plan)
        blocks = stageBlocks.isEmpty ? nil : (stageBlocks.indices.contains(workerIndex) ? stageBlocks[workerIndex] : 0..<0)
        if let previous, previous.modelDirectory == plan.modelDirectory, previous.blocks == blocks {
            original = previous.original
            tokenizer = previous.tokenizer
            fingerprint = previous.fingerprint
            retained = previous.retained
        } else {
            let url = URL(fileURLWithPath: plan.modelDirectory, isDirectory: true)
            let config = try ModelConfig.load(directory: url)
            let checkpoint = try Checkpoint(directory: url)
            tokenizer = try Tokenizer(directory: url, model: config)
            fingerprint = try ModelFingerprint.base(of: checkpoint, config: config)
            if let blocks {
                guard blocks.upperBound <= config.layerCount else {
                    throw ClusterError.badPayload("PLAN gives this worker blocks \(blocks.lowerBound)..<\(blocks.upperBound) of a \(config.layerCount)-block model")
                }
                // Only the stage's tensors are read (an idle worker reads none).
                original = blocks.isEmpty ? ModelStage.none(config: config).model
                    : try ModelStage.load(config: config, checkpoint: checkpoint, blocks: blocks, directoryName: url.path).model
            } else {
                original = try TransformerModel.load(config: config, checkpoint: checkpoint, directoryName: url.path)
            }
        }
        guard let algorithm = EditAlgorithm(rawValue: plan.algorithm) else {
            throw ClusterError.badPayload("PLAN algorithm \"\(plan.algorithm)\"")
        }
        hparams = try EditHyperParameters.parse(data: Data(plan.hparamsJSON.utf8), path: "PLAN hparams", algorithm: algorithm)
        if plan.corpusPath.isEmpty {
            corpus = nil
        } else if let previous, let same = previous.corpus, same.url.path == plan.corpusPath {
            corpus = same
        } else {
            corpus = try Corpus(url: URL(fileURLWithPath: plan.corpusPath))
        }
        let templates = plan.contextTemplatesJSON.isEmpty
            ? try ContextTemplates(groups: [["{}"]])
            : try ContextTemplates(groups: try JSONDecoder().decode([[String]].self, from: Data(plan.contextTemplatesJSON.utf8)))
        // A fresh session starts from the unedited model (copy-on-write: edited layers are copied).
        stages = LocalStages(model: original, tokenizer: tokenizer, hparams: hparams, templates: templates)
    }

    /// Performs one piece of work from the coordinator; replies go to `out`.
    func perform(_ message: Message, out: WorkerOutbox) throws {
        let started = ContinuousClock.now
        func seconds() -> Double { (ContinuousClock.now - started) / .seconds(1) }
        switch message.body {
        case .statisticsWork(let work): try startStatistics(work, message, out: out)
        case .projectorWork(let work):
            let (body, tensors) = try Self.projector(work, message, retained: retained)
            out.toCoordinator(body, tensors, computeSeconds: seconds())
        case .layerState(let layerState): try install(layerState, message)
        case .stagePass(let piece): try stagePass(piece, message, out: out)
        case .targetsWork(let work):
            let (body, tensors) = try targets(work, message)
            out.toCoordinator(body, tensors, computeSeconds: seconds())
        case .layerUpdateWork(let work):
            let (body, tensors) = try layerUpdate(work, message)
            out.toCoordinator(body, tensors, computeSeconds: seconds())
        case .applyDelta(let apply) where apply.restore:
            // A batch redone after a lost worker: the edit layer's weight as the batch found it.
            let layer = Int(apply.layer)
            let weight = try message.tensor("weight").floatMatrix()
            let current = stages.model.weights.blocks.indices.contains(layer) ? stages.model.weights.blocks[layer].mlp.down.weight : Matrix<Float>(rows: 0, cols: 0)
            guard current.rows == weight.rows, current.cols == weight.cols, current.rows > 0 else {
                throw ClusterError.badPayload("APPLY_DELTA weight of layer \(layer), \(weight.rows)×\(weight.cols), does not fit the \(current.rows)×\(current.cols) weight held here")
            }
            stages.setDownWeight(weight, layer: layer)
            out.toCoordinator(.deltaApplied(DeltaApplied(batch: apply.batch, layer: apply.layer, restore: true)), computeSeconds: seconds())
        case .applyDelta(let apply):
            let layer = Int(apply.layer)
            guard stages.model.weights.blocks.indices.contains(layer) else {
                throw ClusterError.badPayload("APPLY_DELTA of layer \(layer), outside the model's \(stages.model.weights.blocks.count) blocks")
            }
            // Δ is key-major, [d0, d1], whatever the layout of the weight.
            stages.apply(delta: try message.floatMatrix("delta", rows: original.config.intermediateSize, cols: original.config.hiddenSize),
                         layer: layer)
            out.toCoordinator(.deltaApplied(DeltaApplied(batch: apply.batch, layer: apply.layer)), computeSeconds: seconds())
        case .batchEnd:
            for (p, keys) in batchKeys { owned[p]?.remember(keys: keys) }
            batchKeys = [:]
            projectedCaches = [:]
        default:
            throw ClusterError.badPayload("a worker cannot take \(message.body.kindName)")
        }
    }

    // MARK: Statistics

    /// Whether `step` has work it may do now (a pipeline's first stage waits for acknowledgements
    /// when its window is full).
    var hasQueuedWork: Bool {
        guard let pass else { return false }
        if blocks != nil { return (feeding != nil || !pass.queue.isEmpty) && statisticsInFlight < statisticsWindow }
        return !pass.queue.isEmpty
    }

    func cancelQueuedWork() {
        pass?.queue = []
        feeding = nil
    }

    /// The job moved to a new epoch: every pass in progress here is dropped (what this worker
    /// reduced and owns stays until the next plan).
    func abandonWork() {
        pass = nil
        early = []
        chunkInProgress = nil
        feeding = nil
        statisticsInFlight = 0
        tapes = [:]
        generators = [:]
        batchKeys = [:]
    }

    /// The owner of plan layer position `p`.
    private func owner(ofPosition p: Int) -> Int { plan.owners.indices.contains(p) ? Int(plan.owners[p]) : 0 }

    private func startStatistics(_ work: StatisticsWork, _ message: Message, out: WorkerOutbox) throws {
        guard let corpus else { throw ClusterError.badPayload("STATISTICS_WORK without a corpus in the PLAN") }
        let layers = plan.layers.map { Int($0) }
        guard plan.chunkSamples >= 1, !layers.isEmpty else {
            throw ClusterError.badPayload("PLAN of \(layers.count) layers in chunks of \(plan.chunkSamples) samples: a statistics pass needs at least one of each")
        }
        let statisticsPlan = StatisticsPlan(layers: layers, order: corpus.sampleOrder(count: Int(plan.sampleCount)),
                                            chunkSamples: Int(plan.chunkSamples))
        let first = Int(work.firstChunk), end = Int(work.endChunk)
        guard first <= end, end <= statisticsPlan.chunkCount,
              work.chunkIndices.allSatisfy({ Int($0) >= first && Int($0) < end }) else {
            throw ClusterError.badPayload("STATISTICS_WORK chunks \(work.chunkIndices) of [\(first), \(end)) do not fit the \(statisticsPlan.chunkCount) chunks of the pass")
        }
        // The layers this worker owns start from the pass's initial totals (zeros unless resumed).
        let width = original.config.intermediateSize
        let empty = StatisticsProvenance(model: "", module: "", corpus: "", dtype: "")
        var initial: [LayerStatistics] = []
        for (p, layer) in layers.enumerated() where owner(ofPosition: p) == workerIndex {
            if let given = work.initial.first(where: { Int($0.layer) == layer }) {
                let sum = try message.tensor("initial.\(layer)").doubleMatrix()
                guard sum.rows == width, sum.cols == width else { throw ClusterError.badPayload("initial.\(layer) is \(sum.rows)×\(sum.cols), expected \(width)×\(width)") }
                initial.append(LayerStatistics(layer: layer, count: Int(given.tokenCount), samples: Int(given.sampleCount), sum: sum, provenance: empty))
            } else {
                initial.append(LayerStatistics(layer: layer, width: width, provenance: empty))
            }
        }
        let reducer = StatisticsReducer(initial: initial, first: first, end: end, checkpointEvery: Int(work.checkpointEvery),
                                        chunkCount: statisticsPlan.chunkCount)
        let collected = blocks.map { held in layers.filter { held.contains($0) } } ?? layers
        feeding = nil
        statisticsInFlight = 0
        statisticsInFlightPeak = 0
        pass = (statisticsPlan, StatisticsCollector(model: original, tokenizer: tokenizer, layers: collected),
                work.chunkIndices.map { Int($0) }, reducer)
        for layer in reducer.layers { retained[layer] = nil }
        if reducer.isComplete { try report(reducer.layers.map { StatisticsReducer.Report(layer: $0, boundary: end, totals: reducer.totals[$0]!) }, out: out) }
        let waiting = early
        early = []
        for part in waiting {
            if case .stagePass(let piece) = part.body { try stagePass(piece, part, out: out) } else { try take(part: part, out: out) }
        }
    }

    /// Computes the next queued chunk: its sums go to their layers' owners (this worker's own
    /// into its reducer), and CHUNK_DONE to the coordinator.
    func step(out: WorkerOutbox) throws {
        if blocks != nil { return try pipelineStep(out: out) }
        guard pass?.queue.isEmpty == false else { return }
        let c = pass!.queue.removeFirst()
        FaultPoint.hit("worker.statistics", worker: workerIndex)
        let current = (plan: pass!.plan, collector: pass!.collector)   // not the reducer: see add(chunk:)
        let started = ContinuousClock.now
        let sums = current.collector.chunk(c, of: current.plan, corpus: corpus!)
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        for (p, stats) in sums.enumerated() {
            let owner = owner(ofPosition: p)
            if owner == workerIndex {
                try add(chunk: c, stats, out: out)
            } else {
                try out.toWorker(owner, .statisticsPart(StatisticsPart(layer: UInt32(stats.layer), chunkIndex: UInt32(c),
                                                                       tokenCount: UInt64(stats.count), sampleCount: UInt64(stats.samples))),
                                 [WireTensor(name: "sum", matrix: stats.sum)], computeSeconds: seconds / Double(sums.count))
            }
        }
        out.toCoordinator(.chunkDone(ChunkDone(chunkIndex: UInt32(c), tokenCount: UInt64(sums.first?.count ?? 0),
                                               sampleCount: UInt64(current.plan.samples(ofChunk: c).count))),
                          computeSeconds: seconds)
    }

    /// A fellow worker's sums of one chunk of a layer this worker owns.
    func take(part message: Message, out: WorkerOutbox) throws {
        guard case .statisticsPart(let part) = message.body else { return }
        guard pass != nil else {
            early.append(message)
            return
        }
        let width = original.config.intermediateSize
        let sum = try message.doubleMatrix("sum", rows: width, cols: width)
        let empty = StatisticsProvenance(model: "", module: "", corpus: "", dtype: "")
        try add(chunk: Int(part.chunkIndex), LayerStatistics(layer: Int(part.layer), count: Int(part.tokenCount),
                                                             samples: Int(part.sampleCount), sum: sum, provenance: empty), out: out)
    }

    func add(chunk c: Int, _ stats: LayerStatistics, out: WorkerOutbox) throws {
        // In place: a copy of the pass would make each add copy the layer's d0×d0 totals.
        guard let reports = try pass?.reducer.add(chunk: c, stats) else { return }
        try report(reports, out: out)
    }

    /// STATISTICS_REDUCED of each report; the final totals are kept for the projector.
    private func report(_ reports: [StatisticsReducer.Report], out: WorkerOutbox) throws {
        for report in reports {
            out.toCoordinator(.statisticsReduced(StatisticsReduced(layer: UInt32(report.layer), tokenCount: UInt64(report.totals.count),
                                                                   sampleCount: UInt64(report.totals.samples), chunks: UInt32(report.boundary))),
                              [WireTensor(name: "sum", matrix: report.totals.sum)])
            if report.boundary == pass?.reducer.end { retained[report.layer] = report.totals }
        }
    }

    /// The projector of PROJECTOR_WORK, from its tensor or from `retained` statistics.
    static func projector(_ work: ProjectorWork, _ message: Message, retained: [Int: LayerStatistics]) throws -> (MessageBody, [WireTensor]) {
        let c0: Matrix<Double>
        if work.useReduced {
            guard let stats = retained[Int(work.layer)], stats.count == Int(work.tokenCount) else {
                throw ClusterError.badPayload("PROJECTOR_WORK of layer \(work.layer) asks for statistics of \(work.tokenCount) tokens reduced here; this worker holds \(retained[Int(work.layer)].map { "\($0.count) tokens" } ?? "none")")
            }
            c0 = try stats.secondMoment
        } else {
            c0 = try message.tensor("second_moment").doubleMatrix()
            guard c0.rows == c0.cols, c0.rows > 0 else {
                throw ClusterError.badPayload("PROJECTOR_WORK second_moment is \(c0.rows)×\(c0.cols), expected a square matrix")
            }
        }
        let projector = try NullSpaceProjector(layer: Int(work.layer), secondMoment: consume c0, threshold: work.threshold)
        return (.projectorResult(ProjectorResult(layer: work.layer, nullSpaceDimension: UInt32(projector.nullSpaceDimension),
                                                 eigenvaluesNearThreshold: projector.eigenvaluesNearThreshold())),
                [WireTensor(name: "projector", matrix: projector.matrix),
                 WireTensor(name: "eigenvalues", doubles: projector.eigenvalues, shape: [projector.eigenvalues.count])])
    }

    private func install(_ layerState: LayerState, _ message: Message) throws {
        let constraint: LayerConstraint
        let width = original.config.intermediateSize
        switch layerState.algorithm {
        case EditAlgorithm.alphaedit.rawValue: constraint = .projector(try message.floatMatrix("constraint", rows: width, cols: width))
        case EditAlgorithm.memit.rawValue: constraint = .secondMoment(try message.doubleMatrix("constraint", rows: width, cols: width))
        default: throw ClusterError.badPayload("LAYER_STATE algorithm \"\(layerState.algorithm)\"")
        }
        projectedCaches[Int(layerState.position)] = nil
        owned[Int(layerState.position)] = LayerEditState(layer: Int(layerState.layer), constraint: constraint,
                                                         cache: try message.floatMatrix("cache", rows: width, cols: width))
    }

    private func targets(_ work: TargetsWork, _ message: Message) throws -> (MessageBody, [WireTensor]) {
        FaultPoint.hit("worker.targets", worker: workerIndex)
        for (p, state) in owned.sorted(by: { $0.key < $1.key }) where projectedCaches[p] == nil {
            projectedCaches[p] = .some(state.projectedCache)
        }
        let requests = try message.tensor("requests").decodeJSON([EditRequest].self)
        guard requests.count == work.requestIndices.count else {
            throw ClusterError.badPayload("TARGETS_WORK names \(work.requestIndices.count) requests and carries \(requests.count)")
        }
        let results = try stages.targets(requests, batch: Int(work.batch)) { _ in }
        var summaries: [TargetSummary] = []
        var tensors: [WireTensor] = []
        for (index, result) in zip(work.requestIndices, results) {
            summaries.append(TargetSummary(requestIndex: index, probabilityBefore: result.probabilityBefore,
                                           probabilityAfter: result.probabilityAfter, initialGradient: result.initialGradient,
                                           steps: UInt32(result.losses.count), losses: result.losses))
            tensors.append(WireTensor(name: "target.\(index)", floats: result.target, shape: [result.target.count]))
            tensors.append(WireTensor(name: "initial.\(index)", floats: result.initial, shape: [result.initial.count]))
        }
        return (.targetsResult(TargetsResult(batch: work.batch, summaries: summaries)), tensors)
    }

    private func layerUpdate(_ work: LayerUpdateWork, _ message: Message) throws -> (MessageBody, [WireTensor]) {
        FaultPoint.hit("worker.solve", worker: workerIndex)
        let p = Int(work.position)
        guard let state = owned[p], state.layer == Int(work.layer) else {
            throw ClusterError.badPayload("LAYER_UPDATE_WORK for layer \(work.layer) at position \(p), which this worker does not own")
        }
        let requests = try message.tensor("requests").decodeJSON([EditRequest].self)
        let z = try message.floatMatrix("targets", rows: original.config.hiddenSize, cols: requests.count)
        if message.hasTensor("keys") {
            // Layer-sharded: the coordinator ran the keys and current outputs through the pipeline.
            let keys = try message.tensor("keys").floatMatrix(), current = try message.tensor("current_outputs").floatMatrix()
            let width = original.config.intermediateSize, d = original.config.hiddenSize
            guard keys.rows == width, current.rows == d, keys.cols == requests.count, current.cols == requests.count,
                  z.rows == d, z.cols == requests.count else {
                throw ClusterError.badPayload("LAYER_UPDATE_WORK keys \(keys.rows)×\(keys.cols), current outputs \(current.rows)×\(current.cols) and targets \(z.rows)×\(z.cols) do not fit \(requests.count) requests")
            }
            let update = try LocalStages.solve(layer: state.layer, position: p, layerCount: plan.layers.count, keys: keys, current: current,
                                               targets: z, state: state, hparams: hparams, projectedCache: projectedCaches[p])
            stages.apply(delta: update.delta, layer: update.layer)
            batchKeys[p] = update.keys
            return (.layerUpdateResult(LayerUpdateResult(batch: work.batch, layer: work.layer)),
                    [WireTensor(name: "residuals", matrix: update.residuals), WireTensor(name: "delta", matrix: update.delta)])
        }
        guard blocks == nil else {
            throw ClusterError.badPayload("LAYER_UPDATE_WORK without keys: a layer-sharded worker cannot run the whole model")
        }
        let update = try stages.updateLayer(p, layerCount: plan.layers.count, requests: requests, targets: z, state: state,
                                            batch: Int(work.batch), projectedCache: projectedCaches[p])
        batchKeys[p] = update.keys
        return (.layerUpdateResult(LayerUpdateResult(batch: work.batch, layer: work.layer)),
                [WireTensor(name: "keys", matrix: update.keys), WireTensor(name: "current_outputs", matrix: update.currentOutputs),
                 WireTensor(name: "residuals", matrix: update.residuals), WireTensor(name: "delta", matrix: update.delta)])
    }
}
