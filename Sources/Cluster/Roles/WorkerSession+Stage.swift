import Editing
import Foundation
import Linalg
import Transformer

/// What a stage keeps of a forward pass until its backward pass comes back.
struct StageTape {
    var blocks: BlockRangeTape
    var head: HeadTape?
    /// The block the pass entered the pipeline at: the stage whose blocks start there returns
    /// the input gradient to the coordinator.
    var firstBlock: Int
}

/// A layer-sharded worker's part of pipeline passes (STAGE_PASS): it runs its blocks on what
/// the previous stage sends (or embeds the batch when it holds block 0), passes the activations
/// on, and the stage where a pass ends answers the coordinator. Backward passes run the other
/// way through the tapes the forward pass left. Every piece is the arithmetic of
/// `TransformerModel.forward` and `backward`, so the pipeline's results equal one process's.
extension WorkerSession {
    /// Every worker's blocks under the plan's layer-sharded placement (empty: replicated).
    static func stageBlocks(_ plan: Plan) throws -> [Range<Int>] {
        guard plan.stageFirst.count == plan.stageEnd.count else {
            throw ClusterError.badPayload("PLAN has \(plan.stageFirst.count) stage starts and \(plan.stageEnd.count) stage ends")
        }
        return try zip(plan.stageFirst, plan.stageEnd).map { first, end in
            guard first <= end else { throw ClusterError.badPayload("PLAN stage \(first)..<\(end) is reversed") }
            return Int(first)..<Int(end)
        }
    }

    /// The worker holding block `block`.
    func worker(holding block: Int) throws -> Int {
        guard let w = stageBlocks.firstIndex(where: { $0.contains(block) }) else {
            throw ClusterError.badPayload("no worker of the PLAN holds block \(block)")
        }
        return w
    }

    /// The stage's model as edited so far.
    var stageModel: TransformerModel { stages.model }

    func stagePass(_ piece: StagePass, _ message: Message, out: WorkerOutbox) throws {
        guard let blocks else { throw ClusterError.badPayload("STAGE_PASS to a worker that holds the whole model") }
        let config = original.config
        switch piece.operation {
        case .release:
            tapes[piece.pass] = nil
            generators[piece.pass] = nil
        case .forward:
            try forward(piece, message, blocks: blocks, config: config, out: out)
        case .backward:
            try backward(piece, message, out: out)
        case .generate:
            try generate(piece, message, blocks: blocks, config: config, out: out)
        case .statistics:
            guard pass != nil else {
                early.append(message)   // before this worker's STATISTICS_WORK
                return
            }
            let batch = try PassSpec.decode(piece.specJSON).tokenBatch(config: config)
            try statisticsPiece(chunk: Int(piece.chunk), ends: piece.chunkEnds, samples: Int(piece.chunkSamples),
                                batch: batch.tokenCount == 0 ? nil : batch, hidden: try message.tensor("hidden").floatMatrix(),
                                from: Int(piece.fromBlock), out: out)
        }
    }

    private func forward(_ piece: StagePass, _ message: Message, blocks: Range<Int>, config: ModelConfig, out: WorkerOutbox) throws {
        FaultPoint.hit("worker.forward", worker: workerIndex)
        let spec = try PassSpec.decode(piece.specJSON)
        let batch = try spec.tokenBatch(config: config)
        let stop = piece.stopAfterBlock < 0 ? config.layerCount - 1 : Int(piece.stopAfterBlock)
        let hooks = try spec.hooks(config: config, stopAfterBlock: piece.stopAfterBlock < 0 ? nil : stop)
        let from = Int(piece.fromBlock)
        guard stop < config.layerCount, from <= stop + 1, from >= blocks.lowerBound,
              from < blocks.upperBound || (from == config.layerCount && blocks.upperBound == config.layerCount) else {
            throw ClusterError.badPayload("STAGE_PASS from block \(from) to \(stop) reached the worker holding \(blocks.lowerBound)..<\(blocks.upperBound)")
        }
        let model = stageModel
        var captured = try message.captured(layerCount: config.layerCount)
        var hidden: Matrix<Float>
        if message.hasTensor("hidden") {
            hidden = try message.tensor("hidden").floatMatrix()
            guard hidden.rows == batch.tokenCount, hidden.cols == config.hiddenSize else {
                throw ClusterError.badPayload("STAGE_PASS hidden \(hidden.rows)×\(hidden.cols) does not fit \(batch.tokenCount) tokens of width \(config.hiddenSize)")
            }
        } else {
            guard from == 0, blocks.lowerBound == 0 else { throw ClusterError.badPayload("STAGE_PASS from block \(from) without a hidden state") }
            hidden = model.embed(batch, hooks: hooks, captured: &captured)
        }
        let end = min(blocks.upperBound, stop + 1)
        let tape: BlockRangeTape?
        (hidden, tape) = model.runBlocks(hidden, batch: batch, blocks: from..<max(from, end), hooks: hooks,
                                         keepTape: piece.keepTape, captured: &captured)
        if end < stop + 1 {
            // The pass goes on at the next stage.
            if let tape { tapes[piece.pass] = StageTape(blocks: tape, head: nil, firstBlock: spec.firstBlock) }
            var next = piece
            next.fromBlock = UInt32(end)
            try out.toWorker(try worker(holding: end), .stagePass(next), [WireTensor(name: "hidden", matrix: hidden)] + captured.wireTensors)
            return
        }
        var tensors = captured.wireTensors
        if stop == config.layerCount - 1 {
            let (logits, head) = model.head(hidden, hooks: hooks, keepTape: piece.keepTape, captured: &captured)
            tensors = captured.wireTensors + [WireTensor(name: "logits", matrix: logits)]
            if let tape { tapes[piece.pass] = StageTape(blocks: tape, head: head, firstBlock: spec.firstBlock) }
        }
        out.toCoordinator(.stageResult(StageResult(pass: piece.pass)), tensors)
    }

    private func backward(_ piece: StagePass, _ message: Message, out: WorkerOutbox) throws {
        guard let tape = tapes.removeValue(forKey: piece.pass) else {
            throw ClusterError.badPayload("STAGE_PASS backward of pass \(piece.pass), whose tape this worker does not hold")
        }
        let model = stageModel
        var gradient: Matrix<Float>
        if let head = tape.head {
            gradient = model.backwardHead(head, dLogits: try message.tensor("d_logits").floatMatrix())
        } else {
            gradient = try message.tensor("gradient").floatMatrix()
        }
        gradient = model.backwardBlocks(tape.blocks, gradient: gradient)
        let first = tape.blocks.range.lowerBound
        if first <= tape.firstBlock {
            out.toCoordinator(.stageResult(StageResult(pass: piece.pass)), [WireTensor(name: "gradient", matrix: gradient)])
        } else {
            try out.toWorker(try worker(holding: first - 1), .stagePass(StagePass(pass: piece.pass, operation: .backward)),
                             [WireTensor(name: "gradient", matrix: gradient)])
        }
    }

    private func generate(_ piece: StagePass, _ message: Message, blocks: Range<Int>, config: ModelConfig, out: WorkerOutbox) throws {
        FaultPoint.hit("worker.generate", worker: workerIndex)
        let batch = try PassSpec.decode(piece.specJSON).tokenBatch(config: config)
        if generators[piece.pass] == nil {
            generators[piece.pass] = StageGenerator(config: config, blocks: blocks, batchSize: batch.batchSize, capacity: Int(piece.capacity))
        }
        guard generators[piece.pass]!.fits(batch) else {
            throw ClusterError.badPayload("GENERATE step of \(batch.batchSize)×\(batch.length) tokens does not fit pass \(piece.pass)'s cache")
        }
        var input: Matrix<Float>? = nil
        if message.hasTensor("hidden") {
            input = try message.tensor("hidden").floatMatrix()
            guard input!.rows == batch.tokenCount, input!.cols == config.hiddenSize else {
                throw ClusterError.badPayload("GENERATE hidden \(input!.rows)×\(input!.cols) does not fit \(batch.tokenCount) tokens")
            }
        } else {
            guard blocks.lowerBound == 0 else { throw ClusterError.badPayload("GENERATE without a hidden state at block \(blocks.lowerBound)") }
        }
        let output = generators[piece.pass]!.step(model: stageModel, batch: batch, input: input)
        if blocks.upperBound == config.layerCount {
            out.toCoordinator(.stageResult(StageResult(pass: piece.pass)), [WireTensor(name: "logits", matrix: output)])
        } else {
            var next = piece
            next.fromBlock = UInt32(blocks.upperBound)
            try out.toWorker(try worker(holding: blocks.upperBound), .stagePass(next), [WireTensor(name: "hidden", matrix: output)])
        }
    }

    // MARK: Statistics through the pipeline

    /// Statistics passes the stage holding block 0 may have sent on that the stage ending them
    /// has not yet acknowledged: enough for every stage to be busy, few enough that a slower
    /// stage's inbox holds at most this many activations (`[tokens, d]` each).
    var statisticsWindow: Int { max(2, stageBlocks.count) }

    /// The stage holding block 0 computes the next pass of its queued chunks while the window
    /// allows: the pass is embedded, run through this stage's blocks, its edit layers' keys
    /// accumulated, and sent on while the next pass is computed here (stages overlap).
    func pipelineStep(out: WorkerOutbox) throws {
        guard let current = pass, let corpus, statisticsInFlight < statisticsWindow else { return }
        if feeding == nil {
            guard let c = pass?.queue.first else { return }
            pass!.queue.removeFirst()
            FaultPoint.hit("worker.statistics", worker: workerIndex)
            let samples = current.plan.samples(ofChunk: c)
            var windowed = current.collector
            windowed.windowSize = max(current.collector.windowSize, current.plan.chunkSamples)
            feeding = (c, windowed.passes(corpus: corpus, samples: current.plan.order[samples]), 0, samples.count)
        }
        let (c, passes, next, samples) = feeding!
        let sentOn: Bool
        if passes.isEmpty {
            sentOn = try statisticsPiece(chunk: c, ends: true, samples: samples, batch: nil, hidden: nil, from: 0, out: out)
        } else {
            sentOn = try statisticsPiece(chunk: c, ends: next == passes.count - 1, samples: samples,
                                         batch: current.collector.batch(passes[next]), hidden: nil, from: 0, out: out)
        }
        if sentOn {
            statisticsInFlight += 1
            statisticsInFlightPeak = max(statisticsInFlightPeak, statisticsInFlight)
        }
        feeding = next + 1 >= passes.count ? nil : (c, passes, next + 1, samples)
    }

    /// A statistics pass ended at the stage of the highest edit layer: one more may be sent.
    func statisticsPassEnded() {
        statisticsInFlight = max(0, statisticsInFlight - 1)
    }

    /// Once the first stage has sent every pass of its chunks and all came back: how many were
    /// in flight at most (for the log; nil before that, and after it was taken).
    func takePipelineSummary() -> String? {
        guard blocks != nil, let pass, pass.queue.isEmpty, feeding == nil, statisticsInFlight == 0,
              statisticsInFlightPeak > 0 else { return nil }
        defer { statisticsInFlightPeak = 0 }
        return "statistics pipeline: at most \(statisticsInFlightPeak) passes in flight (window \(statisticsWindow))"
    }

    /// One forward pass of a statistics chunk at this stage: keys of the edit layers held here
    /// accumulated, the hidden state sent on while higher edit layers remain; at the chunk's
    /// last pass the chunk's sums go to the reducer and, at the stage of the highest edit
    /// layer, CHUNK_DONE to the coordinator.
    /// - Returns: whether the piece was sent on to the next stage. A piece that came from a
    ///   previous stage and ends here is acknowledged to the stage holding block 0.
    @discardableResult
    private func statisticsPiece(chunk c: Int, ends: Bool, samples: Int, batch: TokenBatch?, hidden: Matrix<Float>?,
                                 from: Int, out: WorkerOutbox) throws -> Bool {
        guard let blocks, let current = pass else { return false }
        FaultPoint.hit("worker.stage-statistics", worker: workerIndex)
        let config = original.config
        let layers = current.collector.layers
        let highest = current.plan.layers.max() ?? 0
        if chunkInProgress == nil || chunkInProgress!.chunk != c {
            let empty = StatisticsProvenance(model: "", module: "", corpus: "", dtype: "")
            chunkInProgress = (c, layers.map { LayerStatistics(layer: $0, width: config.intermediateSize, provenance: empty) }, 0)
        }
        var sentOn = false
        if let batch {
            let model = stageModel
            var captured: [HookPoint: Matrix<Float>] = [:]
            let hooks = Hooks(capture: Set(layers.map { HookPoint.mlpDownInput($0) }), stopAfterBlock: highest)
            var state = hidden ?? model.embed(batch, hooks: hooks, captured: &captured)
            guard state.rows == batch.tokenCount, state.cols == config.hiddenSize else {
                throw ClusterError.badPayload("STATISTICS hidden \(state.rows)×\(state.cols) does not fit \(batch.tokenCount) tokens")
            }
            let end = min(blocks.upperBound, highest + 1)
            (state, _) = model.runBlocks(state, batch: batch, blocks: from..<max(from, end), hooks: hooks, keepTape: false, captured: &captured)
            if !layers.isEmpty { StatisticsCollector.accumulate(batch: batch, captured: captured, into: &chunkInProgress!.sums, mirror: false) }
            chunkInProgress!.tokens += batch.mask.reduce(0) { $0 + ($1 ? 1 : 0) }
            if end <= highest {
                let spec = PassSpec(batch: batch, firstBlock: 0)
                try out.toWorker(try worker(holding: end),
                                 .stagePass(StagePass(pass: 0, operation: .statistics, fromBlock: UInt32(end), specJSON: try spec.json(),
                                                      chunk: UInt32(c), chunkEnds: ends, chunkSamples: UInt64(samples))),
                                 [WireTensor(name: "hidden", matrix: state)])
                sentOn = true
            }
        } else if highest >= blocks.upperBound {
            // An empty chunk still ends at every stage.
            try out.toWorker(try worker(holding: blocks.upperBound),
                             .stagePass(StagePass(pass: 0, operation: .statistics, fromBlock: UInt32(blocks.upperBound),
                                                  specJSON: try PassSpec(batch: TokenBatch(batchSize: 0, length: 0, ids: [], mask: []), firstBlock: 0).json(),
                                                  chunk: UInt32(c), chunkEnds: true, chunkSamples: UInt64(samples))),
                             [WireTensor(name: "hidden", matrix: Matrix<Float>(rows: 0, cols: config.hiddenSize, repeating: 0))])
            sentOn = true
        }
        if from > 0, !sentOn {
            try out.toWorker(try worker(holding: 0), .stageResult(StageResult(pass: UInt64(c))), [])
        }
        guard ends, let done = chunkInProgress else { return sentOn }
        chunkInProgress = nil
        for var stats in done.sums {
            stats.sum.mirrorUpperTriangle()   // the passes added to the upper triangles only
            stats.samples += samples
            try add(chunk: c, stats, out: out)
        }
        if blocks.contains(highest) {
            out.toCoordinator(.chunkDone(ChunkDone(chunkIndex: UInt32(c), tokenCount: UInt64(done.tokens), sampleCount: UInt64(samples))))
        }
        return sentOn
    }
}

