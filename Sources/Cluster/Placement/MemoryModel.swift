import Transformer

/// The activations a stage keeps while a micro-batch passes through it.
public struct ActivationWorkload: Sendable, Equatable {
    /// Tokens per sequence (the statistics pass's sample length).
    public var sequenceLength: Int
    /// Sequences per micro-batch.
    public var sequencesPerMicroBatch: Int

    public init(sequenceLength: Int, sequencesPerMicroBatch: Int = 1) {
        self.sequenceLength = max(1, sequenceLength)
        self.sequencesPerMicroBatch = max(1, sequencesPerMicroBatch)
    }

    /// One sequence of up to 1024 tokens (fewer when the model's context is shorter).
    public static func standard(for config: ModelConfig) -> ActivationWorkload {
        ActivationWorkload(sequenceLength: min(config.maxPositions, 1024))
    }

    public var tokens: Int { sequenceLength * sequencesPerMicroBatch }
}

/// What one process needs to hold blocks of a model and own edit layers, by category.
public struct StageMemory: Sendable, Equatable {
    /// Float32 weights of the blocks, plus the embeddings on the first stage and the final norm
    /// and LM head on the last.
    public var weights: UInt64
    /// Per owned edit layer: the float64 statistics accumulator, the float32 projector and the
    /// float32 cache of earlier edits' keys, each d0 × d0.
    public var editState: UInt64
    /// Saved activations of a micro-batch (for the backward pass of the target optimisation),
    /// the buffers in flight between stages, and the logits on the last stage.
    public var activations: UInt64
    /// Transient: the float64 eigendecomposition behind a projector (the largest phase), on
    /// stages that own an edit layer.
    public var workspace: UInt64

    public var total: UInt64 { weights + editState + activations + workspace }
}

/// The memory model behind a shard plan: bytes per block, per owned edit layer, of activations
/// and of workspace, from a model's config and a job's edit layers. Every number is an estimate
/// of what this runtime allocates (weights in float32 whatever the checkpoint's dtype), so a
/// plan that fits leaves headroom only for the process itself.
public struct MemoryModel: Sendable, Equatable {
    public let config: ModelConfig
    /// Edit layers, ascending, each in 0..<blockCount.
    public let editLayers: [Int]
    public let workload: ActivationWorkload

    public init(config: ModelConfig, editLayers: [Int], workload: ActivationWorkload? = nil) {
        self.config = config
        self.editLayers = Array(Set(editLayers)).sorted()
        self.workload = workload ?? .standard(for: config)
    }

    static let floatBytes: UInt64 = 4

    public var blockCount: Int { config.layerCount }

    /// Float32 weights of one decoder block.
    public var blockWeightBytes: UInt64 { UInt64(config.blockParameterCount) * Self.floatBytes }

    /// Float32 token embedding and position table, held by the stage with block 0.
    public var embeddingBytes: UInt64 { UInt64(config.embeddingParameterCount) * Self.floatBytes }

    /// Float32 final norm and LM head, held by the stage with the last block; with tied
    /// embeddings that stage also needs the token embedding table (unless it holds block 0).
    public func headBytes(holdsEmbedding: Bool) -> UInt64 {
        let tiedCopy = config.tiesWordEmbeddings && !holdsEmbedding ? config.vocabularySize * config.hiddenSize : 0
        return UInt64(config.headParameterCount + tiedCopy) * Self.floatBytes
    }

    /// d0 × d0 × (8 accumulator + 4 projector + 4 cache) bytes for one owned edit layer.
    public var editLayerBytes: UInt64 {
        let d0 = UInt64(config.intermediateSize)
        return d0 * d0 * (8 + 4 + 4)
    }

    /// The projector's float64 eigendecomposition: the normalised matrix, LAPACK's copy of it,
    /// dsyevd's work array of about 2 d0² doubles, then the eigenvectors and the projector:
    /// at most about 5 d0² doubles live at once.
    public var eigenWorkspaceBytes: UInt64 {
        let d0 = UInt64(config.intermediateSize)
        return 5 * d0 * d0 * 8
    }

    /// Saved float32 activations per block and micro-batch: per token the norms' inputs and the
    /// attention's q, k, v and output (about 8 d), the MLP's up (and gate) and activated values,
    /// and one row of attention probabilities per head.
    public var activationBytesPerBlock: UInt64 {
        let d = UInt64(config.hiddenSize), d0 = UInt64(config.intermediateSize)
        let mlpWidths: UInt64 = config.modelType == .gpt2 || config.modelType == .gptj ? 2 : 3
        let perToken = 8 * d + mlpWidths * d0 + UInt64(config.headCount * workload.sequenceLength)
        return UInt64(workload.tokens) * perToken * Self.floatBytes
    }

    /// Two hidden-state micro-batches in flight (one arriving, one leaving) per stage.
    /// (A statistics pass holds no tape: the passes its first stage may have in flight, one per
    /// stage of at most 3 sequences each, see `WorkerSession.statisticsWindow`, live in the
    /// activations' budget, which the statistics do not use.)
    public var transferBytes: UInt64 { 2 * UInt64(workload.tokens * config.hiddenSize) * Self.floatBytes }

    /// Logits and their gradient for a micro-batch, on the last stage.
    public var logitsBytes: UInt64 { 2 * UInt64(workload.tokens * config.vocabularySize) * Self.floatBytes }

    /// The edit layers inside `blocks`.
    public func editLayers(in blocks: Range<Int>) -> [Int] { editLayers.filter(blocks.contains) }

    /// The memory of a stage that holds `blocks` and owns the edit layers among them.
    public func stage(blocks: Range<Int>) -> StageMemory {
        stage(blocks: blocks, ownedEditLayers: editLayers(in: blocks).count)
    }

    /// The memory of a replica that holds the whole model and owns `ownedEditLayers` of the
    /// job's edit layers (replicated placement: owners take turns, so ⌈E / N⌉ at most).
    public func replica(ownedEditLayers: Int) -> StageMemory {
        stage(blocks: 0..<blockCount, ownedEditLayers: ownedEditLayers)
    }

    func stage(blocks: Range<Int>, ownedEditLayers: Int) -> StageMemory {
        guard !blocks.isEmpty else { return StageMemory(weights: 0, editState: 0, activations: 0, workspace: 0) }
        let first = blocks.lowerBound == 0, last = blocks.upperBound == blockCount
        var weights = UInt64(blocks.count) * blockWeightBytes
        if first { weights += embeddingBytes }
        if last { weights += headBytes(holdsEmbedding: first) }
        var activations = UInt64(blocks.count) * activationBytesPerBlock + transferBytes
        if last { activations += logitsBytes }
        return StageMemory(weights: weights, editState: UInt64(ownedEditLayers) * editLayerBytes,
                           activations: activations, workspace: ownedEditLayers > 0 ? eigenWorkspaceBytes : 0)
    }
}
