import Foundation
import Linalg
import Transformer

/// The model of a layer-sharded job as the coordinator sees it: every forward pass, backward
/// pass and generation step is sent into the pipeline of workers (STAGE_PASS to the stage
/// holding the pass's first block; activations flow from stage to stage; the stage where the
/// pass ends answers with STAGE_RESULT). The coordinator holds no block.
final class PipelineModel: LanguageModel, @unchecked Sendable {
    let config: ModelConfig
    private let coordinator: Coordinator
    /// Each worker's blocks, by worker index (empty ranges for idle and lost workers).
    private let stageRanges: () -> [Range<Int>]
    /// Called before the first pass: the workers must have a PLAN loaded.
    private let ensurePlanned: () throws -> Void
    /// Called when a worker is lost during a pass: true when the pass can be run again (the
    /// survivors hold the model as it was), false to let the caller redo more (an edit batch).
    private let recover: (WorkerLost) throws -> Bool
    private var nextPass: UInt64 = 1
    /// Passes whose tapes the stages still keep (released when a newer taped pass starts).
    private var openTapes: Set<UInt64> = []

    init(config: ModelConfig, coordinator: Coordinator, stages: @escaping () -> [Range<Int>], ensurePlanned: @escaping () throws -> Void,
         recover: @escaping (WorkerLost) throws -> Bool = { _ in false }) {
        self.config = config
        self.coordinator = coordinator
        self.stageRanges = stages
        self.ensurePlanned = ensurePlanned
        self.recover = recover
    }

    /// Runs `pass`, again after each lost worker the job recovers from here.
    private func again<T>(_ pass: () throws -> T) throws -> T {
        while true {
            do { return try pass() } catch let lost as WorkerLost {
                openTapes = []
                guard try recover(lost) else { throw lost }
            }
        }
    }

    private func worker(holding block: Int) throws -> Int {
        guard let w = stageRanges().firstIndex(where: { $0.contains(block) }) else {
            throw ClusterError.badPayload("no worker holds block \(block)")
        }
        return w
    }

    private func newPass() -> UInt64 {
        defer { nextPass += 1 }
        return nextPass
    }

    /// Waits for the STAGE_RESULT of `pass`.
    private func result(of pass: UInt64, _ what: String) throws -> Message {
        try coordinator.next("STAGE_RESULT of \(what)") { _, message -> Message? in
            guard case .stageResult(let result) = message.body, result.pass == pass else { return nil }
            return message
        }
    }

    private func release(_ passes: Set<UInt64>) {
        for pass in passes.sorted() { coordinator.broadcast(.stagePass(StagePass(pass: pass, operation: .release))) }
    }

    func run(_ batch: TokenBatch, hooks: Hooks, from start: (layer: Int, hidden: Matrix<Float>)?,
             keepTape: Bool) throws -> (result: ForwardResult, tape: ForwardTape?) {
        try runAll([PassInput(batch: batch, hooks: hooks, start: start, keepTape: keepTape)])[0]
    }

    /// Sends every pass into the pipeline, then collects their results: the first stage starts
    /// on the second pass while the next stage runs the first.
    func runAll(_ passes: [PassInput]) throws -> [(result: ForwardResult, tape: ForwardTape?)] {
        try again {
            try ensurePlanned()
            // Tapes the caller left behind are freed before new ones are made.
            if passes.contains(where: \.keepTape) {
                release(openTapes)
                openTapes = []
            }
            let sent = try passes.map { try send($0) }
            return try zip(passes, sent).map { try collect($0, $1) }
        }
    }

    /// STAGE_PASS FORWARD to the stage holding the pass's first block.
    private func send(_ input: PassInput) throws -> StagePass {
        let first = input.start?.layer ?? 0
        let stop = min(input.hooks.stopAfterBlock ?? (config.layerCount - 1), config.layerCount - 1)
        guard first <= config.layerCount else { throw ClusterError.badPayload("a pass from block \(first) of \(config.layerCount)") }
        if let start = input.start, start.hidden.rows != input.batch.tokenCount || start.hidden.cols != config.hiddenSize {
            throw ClusterError.badPayload("a pass resumed with a \(start.hidden.rows)×\(start.hidden.cols) hidden state for \(input.batch.tokenCount) tokens")
        }
        let pass = newPass()
        let spec = PassSpec(batch: input.batch, firstBlock: first, hooks: input.hooks)
        let stopsEarly = stop < config.layerCount - 1
        let piece = StagePass(pass: pass, operation: .forward, fromBlock: UInt32(first), stopAfterBlock: stopsEarly ? Int32(stop) : -1,
                              keepTape: input.keepTape && !stopsEarly, specJSON: try spec.json())
        let tensors = input.start.map { [WireTensor(name: "hidden", matrix: $0.hidden)] } ?? []
        coordinator.send(.stagePass(piece), tensors: tensors, to: try worker(holding: min(first, config.layerCount - 1)))
        if piece.keepTape { openTapes.insert(pass) }
        return piece
    }

    /// The STAGE_RESULT of a pass sent by ``send(_:)``.
    private func collect(_ input: PassInput, _ piece: StagePass) throws -> (result: ForwardResult, tape: ForwardTape?) {
        let message = try result(of: piece.pass, "a forward pass")
        var captured = try message.captured(layerCount: config.layerCount)
        // Only what the hooks asked for (a stage may pass more along).
        captured = captured.filter { input.hooks.capture.contains($0.key) }
        let rows = input.hooks.captureRows?.count ?? input.batch.batchSize * input.batch.length
        for (point, activation) in captured {
            let width = point.isMLPDownInput ? config.intermediateSize : config.hiddenSize
            guard activation.rows == rows, activation.cols == width else {
                throw ClusterError.badPayload("pass \(piece.pass) returned \(point.wireName) as \(activation.rows)×\(activation.cols), not \(rows)×\(width)")
            }
        }
        let logits = message.hasTensor("logits") ? try message.tensor("logits").floatMatrix() : nil
        guard piece.stopAfterBlock >= 0 || logits != nil else {
            throw ClusterError.badPayload("the last stage returned no logits for pass \(piece.pass)")
        }
        let tape = piece.keepTape ? ForwardTape(remote: piece.pass, batch: input.batch) : nil
        return (ForwardResult(logits: logits, captured: captured), tape)
    }

    func inputGradient(_ tape: ForwardTape, dLogits: Matrix<Float>) throws -> Matrix<Float> {
        try inputGradients([(tape, dLogits)])[0]
    }

    /// Sends every backward pass, then collects the gradients (stages overlap as in ``runAll(_:)``).
    func inputGradients(_ items: [(tape: ForwardTape, dLogits: Matrix<Float>)]) throws -> [Matrix<Float>] {
        var passes: [UInt64] = []
        for item in items {
            guard let pass = item.tape.remoteID, openTapes.remove(pass) != nil else {
                throw ClusterError.badPayload("a backward pass through a tape the pipeline does not hold")
            }
            coordinator.send(.stagePass(StagePass(pass: pass, operation: .backward)), tensors: [WireTensor(name: "d_logits", matrix: item.dLogits)],
                             to: try worker(holding: config.layerCount - 1))
            passes.append(pass)
        }
        return try passes.map { try result(of: $0, "a backward pass").tensor("gradient").floatMatrix() }
    }

    func discard(_ tape: ForwardTape) {
        guard let pass = tape.remoteID, openTapes.remove(pass) != nil else { return }
        release([pass])
    }

    /// Two groups in flight once there are two stages or more (see ``LanguageModel/passesInFlight``).
    var passesInFlight: Int { stageRanges().filter { !$0.isEmpty }.count > 1 ? 2 : 1 }

    func continuations(of prompts: [[Int]], maxNewTokens: Int, sampling: Sampling, seed: UInt64) throws -> [[Int]] {
        try again { try continuationsOnce(of: prompts, maxNewTokens: maxNewTokens, sampling: sampling, seed: seed) }
    }

    private func continuationsOnce(of prompts: [[Int]], maxNewTokens: Int, sampling: Sampling, seed: UInt64) throws -> [[Int]] {
        try ensurePlanned()
        guard prompts.allSatisfy({ !$0.isEmpty }) else { throw ClusterError.badPayload("generation from an empty prompt") }
        let batch = TokenBatch(prompts, padding: .left)
        let capacity = batch.length + maxNewTokens
        if config.positionEncoding == .learned, (prompts.map(\.count).max() ?? 0) + maxNewTokens > config.maxPositions {
            throw ClusterError.badPayload("prompt plus \(maxNewTokens) new tokens exceed the model's \(config.maxPositions) positions")
        }
        let pass = newPass()
        defer { release([pass]) }
        let first = try worker(holding: 0)
        return try TransformerModel.generate(batch: batch, maxNewTokens: maxNewTokens, sampling: sampling, seed: seed, stopTokens: []) { step in
            let spec = PassSpec(batch: step, firstBlock: 0)
            coordinator.send(.stagePass(StagePass(pass: pass, operation: .generate, specJSON: try spec.json(), capacity: UInt32(capacity))),
                             to: first)
            return try result(of: pass, "a generation step").tensor("logits").floatMatrix()
        }
    }
}
