/// Chooses a placement from the memory model and the workers' budgets.
///
/// - Replicated when every worker can hold the whole model (with its turn of edit layers).
/// - Otherwise layer-sharded: contiguous block ranges, in worker order, that minimise the largest
///   fraction of a worker's budget any stage needs (so equal budgets get ranges balanced by
///   bytes, a larger worker a longer range). Ties go to the earlier workers' longer ranges; a
///   worker left without blocks (more workers than blocks) idles.
/// - `override` (`--placement`) fixes the ranges; it is checked against the budgets like any plan.
///
/// A plan that cannot fit throws `PlacementError.doesNotFit` naming what is missing, before any
/// work starts.
public enum ShardPlanner {
    public static func plan(model: MemoryModel, workers: [WorkerBudget],
                            override: PlacementOverride? = nil) throws -> ShardPlan {
        guard !workers.isEmpty else { throw PlacementError.noWorkers }
        if let override {
            try override.validate(blockCount: model.blockCount, workerCount: workers.count)
            let plan = sharded(model: model, workers: workers, ranges: override.ranges)
            try requireFit(plan, how: "the placement \(override.text)")
            return plan
        }
        let replicated = replicatedPlan(model: model, workers: workers)
        if replicated.stages.allSatisfy(\.fits) { return replicated }
        guard let ranges = balancedRanges(model: model, workers: workers) else {
            throw shortfall(model: model, workers: workers)
        }
        return sharded(model: model, workers: workers, ranges: ranges)
    }

    /// Every worker holds the whole model; edit-layer position p is owned by worker p mod N.
    static func replicatedPlan(model: MemoryModel, workers: [WorkerBudget]) -> ShardPlan {
        let stages = workers.indices.map { w in
            let owned = model.editLayers.enumerated().filter { $0.offset % workers.count == w }.map(\.element)
            return PlannedStage(worker: w, blocks: 0..<model.blockCount, editLayers: owned,
                                memory: model.replica(ownedEditLayers: owned.count), budget: workers[w])
        }
        return ShardPlan(placement: .replicated, stages: stages, model: model)
    }

    static func sharded(model: MemoryModel, workers: [WorkerBudget], ranges: [Range<Int>]) -> ShardPlan {
        let stages = workers.indices.map { w in
            let blocks = w < ranges.count ? ranges[w] : model.blockCount..<model.blockCount
            return PlannedStage(worker: w, blocks: blocks, editLayers: model.editLayers(in: blocks),
                                memory: model.stage(blocks: blocks), budget: workers[w])
        }
        return ShardPlan(placement: .layerSharded, stages: stages, model: model)
    }

    /// The contiguous ranges minimising the largest load, or nil when even the best exceeds a
    /// budget. The optimum is one of the loads cost(a..<b) / budget(w); a binary search over
    /// those candidates with a greedy check (each worker takes the longest range that stays under
    /// the candidate, which is optimal because a stage's bytes grow with its range) finds it.
    /// - Parameter limit: the largest load a candidate may have (1: the budgets; `.infinity`: the
    ///   best split whatever the budgets, for saying what is missing).
    static func balancedRanges(model: MemoryModel, workers: [WorkerBudget], limit: Double = 1) -> [Range<Int>]? {
        let blocks = model.blockCount
        guard blocks > 0 else { return [] }
        var candidates: [Double] = []
        candidates.reserveCapacity(workers.count * blocks * (blocks + 1) / 2)
        for worker in workers where worker.bytes > 0 {
            for a in 0..<blocks {
                for b in (a + 1)...blocks {
                    let load = Double(model.stage(blocks: a..<b).total) / Double(worker.bytes)
                    if load <= limit { candidates.append(load) }
                }
            }
        }
        candidates.sort()
        var low = 0, high = candidates.count - 1
        var best: [Range<Int>]?
        while low <= high {
            let mid = (low + high) / 2
            if let ranges = greedyRanges(model: model, workers: workers, maximumLoad: candidates[mid]) {
                best = ranges
                high = mid - 1
            } else {
                low = mid + 1
            }
        }
        return best
    }

    /// Each worker in turn takes the longest range starting where the previous one ended whose
    /// load stays at most `maximumLoad`; nil if the blocks run past the last worker.
    static func greedyRanges(model: MemoryModel, workers: [WorkerBudget], maximumLoad: Double) -> [Range<Int>]? {
        var ranges: [Range<Int>] = []
        var start = 0
        for worker in workers where start < model.blockCount {
            var end = start
            while end < model.blockCount,
                  Double(model.stage(blocks: start..<(end + 1)).total) / Double(worker.bytes) <= maximumLoad {
                end += 1
            }
            ranges.append(start..<end)
            start = end
        }
        return start == model.blockCount ? ranges : nil
    }

    static func requireFit(_ plan: ShardPlan, how: String) throws {
        let over = plan.stages.filter { !$0.fits }
        guard !over.isEmpty else { return }
        throw PlacementError.doesNotFit(
            summary: "\(how) does not fit:",
            shortfalls: over.map { stage in
                let missing = ByteCount(stage.memory.total - stage.budget.bytes)
                return "worker \(stage.budget.name) (blocks \(stage.blocks.blockList)) needs \(ByteCount(stage.memory.total)), has \(ByteCount(stage.budget.bytes)): \(missing) missing"
            })
    }

    /// What is missing when no layer-sharded plan fits: the heaviest single block against the
    /// largest worker, and the total against the sum of the budgets.
    static func shortfall(model: MemoryModel, workers: [WorkerBudget]) -> PlacementError {
        var lines: [String] = []
        let largest = workers.max { $0.bytes < $1.bytes }!
        let heaviest = (0..<model.blockCount).max { model.stage(blocks: $0..<($0 + 1)).total < model.stage(blocks: $1..<($1 + 1)).total }
        if let heaviest {
            let need = model.stage(blocks: heaviest..<(heaviest + 1)).total
            if need > largest.bytes {
                lines.append("block \(heaviest) alone needs \(ByteCount(need)) (its weights, edit state, activations and workspace); the largest worker, \(largest.name), has \(ByteCount(largest.bytes)): \(ByteCount(need - largest.bytes)) missing")
            }
        }
        if lines.isEmpty, let ranges = balancedRanges(model: model, workers: workers, limit: .infinity) {
            // Every block fits somewhere, but no split does: say where the best split overflows.
            let best = sharded(model: model, workers: workers, ranges: ranges)
            for stage in best.stages where !stage.fits {
                lines.append("the best split into contiguous ranges (each stage keeps its own activations and workspace, the first also the embeddings, the last the head) still gives worker \(stage.budget.name) blocks \(stage.blocks.blockList), which need \(ByteCount(stage.memory.total)); it has \(ByteCount(stage.budget.bytes)): \(ByteCount(stage.memory.total - stage.budget.bytes)) missing")
            }
        }
        let whole = model.stage(blocks: 0..<model.blockCount).total
        let offered = workers.reduce(UInt64(0)) { $0 + $1.bytes }
        lines.append("the whole model needs at least \(ByteCount(whole)) across the workers (more once split: each stage keeps its own activations and workspace); the \(workers.count) worker\(workers.count == 1 ? "" : "s") offer \(ByteCount(offered))")
        lines.append("add workers, give them more memory (--max-memory / --worker-memory), or edit fewer layers")
        return .doesNotFit(summary: "no placement of the \(model.blockCount)-block model fits the workers' memory:", shortfalls: lines)
    }
}

extension Range where Bound == Int {
    /// `0-7` (inclusive, as `--placement` writes it), `5` for one block, `none` when empty.
    public var blockList: String {
        isEmpty ? "none" : count == 1 ? "\(lowerBound)" : "\(lowerBound)-\(upperBound - 1)"
    }
}
