/// A worker as the planner sees it: a name for messages and the bytes it may use.
public struct WorkerBudget: Sendable, Equatable {
    public var name: String
    public var bytes: UInt64

    public init(name: String, bytes: UInt64) {
        self.name = name
        self.bytes = bytes
    }
}

/// How a job's model is spread over its workers.
public enum Placement: String, Sendable, Equatable {
    /// Every worker holds the whole model; corpus chunks and requests are split, edit layers
    /// have owners that take turns.
    case replicated
    /// Worker i holds the contiguous blocks of stage i and owns the edit layers among them.
    case layerSharded = "layer-sharded"
}

/// One worker's share of a plan.
public struct PlannedStage: Sendable, Equatable {
    /// Index of the worker in the budgets given to the planner.
    public var worker: Int
    /// Blocks held (all of them under replicated placement; empty for an idle worker).
    public var blocks: Range<Int>
    /// Edit layers whose statistics, projector and solve this worker owns.
    public var editLayers: [Int]
    public var memory: StageMemory
    public var budget: WorkerBudget

    /// The fraction of its budget the worker's share needs.
    public var load: Double { budget.bytes == 0 ? .infinity : Double(memory.total) / Double(budget.bytes) }
    public var fits: Bool { memory.total <= budget.bytes }
}

/// The placement of a job: which worker holds which blocks and owns which edit layers, with the
/// memory model it was derived from.
public struct ShardPlan: Sendable, Equatable {
    public var placement: Placement
    public var stages: [PlannedStage]
    public var model: MemoryModel

    /// The block ranges of the stages that hold blocks, in pipeline order.
    public var blockRanges: [Range<Int>] { stages.map(\.blocks).filter { !$0.isEmpty } }

    /// The worker that owns edit layer `layer`.
    public func owner(ofEditLayer layer: Int) -> Int? {
        stages.first { $0.editLayers.contains(layer) }?.worker
    }
}
