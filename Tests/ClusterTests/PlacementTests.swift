import Foundation
import Testing
@testable import Cluster
import Transformer

/// The shard planner: golden partitions for 24-, 32- and 80-block models, optimality against
/// exhaustive search on small models, refusals that say what is missing, `--placement` checks,
/// and size parsing.
struct PlacementTests {
    static let gpt2Medium = """
    {"model_type": "gpt2", "n_layer": 24, "n_embd": 1024, "n_head": 16, "n_positions": 1024,
     "vocab_size": 50257, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"}
    """
    static let llama2_7B = """
    {"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "intermediate_size": 11008,
     "num_attention_heads": 32, "num_key_value_heads": 32, "max_position_embeddings": 4096,
     "vocab_size": 32000, "rms_norm_eps": 1e-5, "hidden_act": "silu", "tie_word_embeddings": false}
    """
    static let llama2_70B = """
    {"model_type": "llama", "num_hidden_layers": 80, "hidden_size": 8192, "intermediate_size": 28672,
     "num_attention_heads": 64, "num_key_value_heads": 8, "max_position_embeddings": 4096,
     "vocab_size": 32000, "rms_norm_eps": 1e-5, "hidden_act": "silu", "tie_word_embeddings": false}
    """

    static func config(_ json: String) throws -> ModelConfig {
        try ModelConfig.parse(data: Data(json.utf8))
    }

    static func workers(_ sizes: [String]) throws -> [WorkerBudget] {
        try sizes.enumerated().map { WorkerBudget(name: "w\($0.offset)", bytes: try ByteCount(parsing: $0.element, flag: "test").bytes) }
    }

    static func ranges(_ plan: ShardPlan) -> String {
        plan.stages.map(\.blocks.blockList).joined(separator: ",")
    }

    // MARK: Golden partitions

    @Test func gpt2Medium24BlocksOnThreeWorkers() throws {
        let model = MemoryModel(config: try Self.config(Self.gpt2Medium), editLayers: [4, 5, 6, 7, 8])
        let plan = try ShardPlanner.plan(model: model, workers: try Self.workers(["3GiB", "3GiB", "3GiB"]))
        #expect(plan.placement == .layerSharded)
        #expect(Self.ranges(plan) == "0-5,6-12,13-23")
        #expect(plan.stages.map(\.editLayers) == [[4, 5], [6, 7, 8], []])
        #expect(plan.stages.allSatisfy { $0.fits })
    }

    @Test func gpt2MediumIsReplicatedWhenEveryWorkerHoldsIt() throws {
        let model = MemoryModel(config: try Self.config(Self.gpt2Medium), editLayers: [4, 5, 6, 7, 8])
        let plan = try ShardPlanner.plan(model: model, workers: try Self.workers(["16GiB", "16GiB", "16GiB"]))
        #expect(plan.placement == .replicated)
        #expect(plan.stages.allSatisfy { $0.blocks == 0..<24 })
        #expect(plan.stages.map(\.editLayers) == [[4, 7], [5, 8], [6]])
        #expect(plan.owner(ofEditLayer: 8) == 1)
    }

    @Test func llama2_7B32BlocksOnFourWorkers() throws {
        let model = MemoryModel(config: try Self.config(Self.llama2_7B), editLayers: [4, 5, 6, 7, 8])
        let plan = try ShardPlanner.plan(model: model, workers: try Self.workers(Array(repeating: "24GiB", count: 4)))
        #expect(plan.placement == .layerSharded)
        #expect(Self.ranges(plan) == "0-5,6-9,10-22,23-31")
        #expect(plan.owner(ofEditLayer: 6) == 1)
    }

    @Test func llama2_70B80BlocksOnEightWorkers() throws {
        let model = MemoryModel(config: try Self.config(Self.llama2_70B), editLayers: [10, 11, 12, 13, 14])
        let plan = try ShardPlanner.plan(model: model, workers: try Self.workers(Array(repeating: "96GiB", count: 8)))
        #expect(Self.ranges(plan) == "0-9,10-11,12-13,14-18,19-34,35-50,51-66,67-79")
        // The stages without edit layers are balanced by bytes: 16 blocks each, the last one less.
        #expect(plan.stages[4...6].map(\.blocks.count) == [16, 16, 16])
    }

    @Test func llama2_70BOnUnequalWorkersGivesTheLargerOnesLongerRanges() throws {
        let model = MemoryModel(config: try Self.config(Self.llama2_70B), editLayers: [10, 11, 12, 13, 14])
        let plan = try ShardPlanner.plan(model: model, workers: try Self.workers(["160GiB", "160GiB", "96GiB", "64GiB"]))
        #expect(Self.ranges(plan) == "0-14,15-52,53-74,75-79")
    }

    // MARK: The memory model

    @Test func memoryModelTerms() throws {
        let config = try Self.config(Self.gpt2Medium)
        let model = MemoryModel(config: config, editLayers: [8, 4, 4])
        #expect(model.editLayers == [4, 8])
        #expect(model.editLayerBytes == 4096 * 4096 * 16)
        #expect(model.eigenWorkspaceBytes == 4096 * 4096 * 40)
        // Every stage of a partition adds up to the whole model's weights, once each.
        let whole = model.stage(blocks: 0..<24).weights
        let split = [0..<7, 7..<15, 15..<24].map { model.stage(blocks: $0).weights }.reduce(0, +)
        #expect(whole == UInt64(config.parameterCount) * 4)
        // Tied embeddings: the last stage needs its own copy of the table unless it holds block 0.
        #expect(split == whole + UInt64(config.vocabularySize * config.hiddenSize) * 4)
        #expect(model.stage(blocks: 0..<3).editState == 0)
        #expect(model.stage(blocks: 3..<5).editState == model.editLayerBytes)
        #expect(model.stage(blocks: 3..<5).workspace == model.eigenWorkspaceBytes)
    }

    // MARK: Optimality

    /// Every way of cutting `blocks` blocks into `workers` contiguous (possibly empty) ranges.
    static func compositions(_ blocks: Int, into workers: Int) -> [[Int]] {
        if workers == 1 { return [[blocks]] }
        return (0...blocks).flatMap { first in compositions(blocks - first, into: workers - 1).map { [first] + $0 } }
    }

    @Test func theBalancedPlanMinimisesTheLargestLoad() throws {
        var random = SplitMix64(seed: 7)
        var outcomes: [String: Int] = [:]
        for trial in 0..<60 {
            let blocks = 2 + Int(random.next() % 8), heads = 2
            let width = 8 * (1 + Int(random.next() % 8)), inner = width * (1 + Int(random.next() % 4))
            let json = """
            {"model_type": "gpt2", "n_layer": \(blocks), "n_embd": \(width), "n_head": \(heads), "n_inner": \(inner),
             "n_positions": \(8 + Int(random.next() % 64)), "vocab_size": \(50 + Int(random.next() % 500))}
            """
            let edits = (0..<blocks).filter { _ in random.next() % 3 == 0 }
            let model = MemoryModel(config: try Self.config(json), editLayers: edits)
            let whole = Double(model.stage(blocks: 0..<blocks).total)
            let workerCount = 1 + Int(random.next() % 4)
            let budgets = (0..<workerCount).map { w in
                WorkerBudget(name: "\(w)", bytes: UInt64(whole * (0.2 + Double(random.next() % 1000) / 1000)))
            }
            let best = Self.compositions(blocks, into: workerCount).map { counts -> Double in
                var start = 0
                return counts.enumerated().map { w, count in
                    defer { start += count }
                    return count == 0 ? 0 : Double(model.stage(blocks: start..<(start + count)).total) / Double(budgets[w].bytes)
                }.max()!
            }.min()!
            let replicatedFits = budgets.indices.allSatisfy { w in
                model.replica(ownedEditLayers: edits.indices.filter { $0 % workerCount == w }.count).total <= budgets[w].bytes
            }
            do {
                let plan = try ShardPlanner.plan(model: model, workers: budgets)
                if replicatedFits {
                    #expect(plan.placement == .replicated, "trial \(trial)")
                    outcomes["replicated", default: 0] += 1
                    continue
                }
                outcomes["sharded", default: 0] += 1
                #expect(plan.placement == .layerSharded)
                let covered = plan.blockRanges.reduce(into: [Int]()) { $0 += Array($1) }
                #expect(covered == Array(0..<blocks), "trial \(trial): ranges \(Self.ranges(plan))")
                let largest = plan.stages.filter { !$0.blocks.isEmpty }.map(\.load).max()!
                #expect(abs(largest - best) < 1e-12, "trial \(trial): planner \(largest), exhaustive \(best)")
                #expect(largest <= 1)
            } catch let error as PlacementError {
                #expect(!replicatedFits && best > 1, "trial \(trial): refused although a plan with load \(best) exists: \(error)")
                outcomes["refused", default: 0] += 1
            }
        }
        // The trials cover every outcome, sharded most.
        #expect(outcomes["sharded", default: 0] >= 20 && outcomes["replicated", default: 0] >= 3 && outcomes["refused", default: 0] >= 3,
                "\(outcomes)")
    }

    // MARK: Refusals

    @Test func aModelThatCannotFitIsRefusedWithWhatIsMissing() throws {
        let model = MemoryModel(config: try Self.config(Self.llama2_70B), editLayers: [10, 11])
        #expect {
            try ShardPlanner.plan(model: model, workers: try Self.workers(["32GiB", "32GiB"]))
        } throws: { error in
            let text = "\(error)"
            return text.contains("block 10 alone needs") && text.contains("the largest worker, w0, has 32.0 GiB")
                && text.contains("missing") && text.contains("--max-memory")
        }
        #expect {
            try ShardPlanner.plan(model: model, workers: try Self.workers(Array(repeating: "64GiB", count: 3)))
        } throws: { error in
            "\(error)".contains("the whole model needs at least") && "\(error)".contains("the 3 workers offer 192 GiB")
                && "\(error)".contains("the best split into contiguous ranges") && "\(error)".contains("worker w0 blocks 0-")
        }
    }

    @Test func aGivenPlacementIsCheckedAgainstTheBudgets() throws {
        let model = MemoryModel(config: try Self.config(Self.gpt2Medium), editLayers: [4, 5, 6, 7, 8])
        let workers = try Self.workers(["3GiB", "3GiB", "3GiB"])
        let plan = try ShardPlanner.plan(model: model, workers: workers, override: try PlacementOverride(parsing: "0-6,7-15,16-23"))
        #expect(Self.ranges(plan) == "0-6,7-15,16-23")
        #expect(plan.placement == .layerSharded)
        #expect {
            try ShardPlanner.plan(model: model, workers: workers, override: try PlacementOverride(parsing: "0-9,10-17,18-23"))
        } throws: { error in
            "\(error)".contains("the placement 0-9,10-17,18-23 does not fit") && "\(error)".contains("worker w0 (blocks 0-9) needs")
        }
    }

    @Test(arguments: [
        ("0-7,8-15", "2 ranges for 3 workers"),
        ("0-7,9-15,16-23", "block 8 is not placed"),
        ("0-7,7-15,16-23", "block 7 is placed twice"),
        ("0-7,8-15,16-24", "the model has 24 blocks (0-23)"),
        ("0-7,8-15,16-20", "blocks 21-23 are not placed"),
        ("0-7,15-8,16-23", "ends before it starts"),
        ("0-7,a-15,16-23", "'a-15' is not a block range"),
        ("0-7,,8-23", "'' is not a block range"),
    ])
    func badPlacementsAreRefused(text: String, reason: String) throws {
        #expect {
            let placement = try PlacementOverride(parsing: text)
            try placement.validate(blockCount: 24, workerCount: 3)
        } throws: { error in
            "\(error)".contains(reason) && "\(error)".contains("--placement '\(text)'")
        }
    }

    // MARK: Sizes

    @Test(arguments: [
        ("6GiB", UInt64(6) << 30), ("6G", UInt64(6) << 30), ("6gi", UInt64(6) << 30), ("6GB", 6_000_000_000),
        ("512MiB", UInt64(512) << 20), ("1.5TiB", UInt64(3) << 39), ("2kB", 2000), ("123456789012", 123_456_789_012),
        (" 40 MiB ", UInt64(40) << 20),
    ])
    func sizesParse(text: String, bytes: UInt64) throws {
        #expect(try ByteCount(parsing: text, flag: "--max-memory").bytes == bytes)
    }

    @Test(arguments: ["", "GiB", "6 parsecs", "-1GiB", "0", "0.0000001KiB", "1e3", "1..5G"])
    func badSizesAreRefused(text: String) {
        #expect {
            try ByteCount(parsing: text, flag: "--max-memory")
        } throws: { error in
            "\(error)".hasPrefix("--max-memory: ")
        }
    }

    @Test func sizesPrint() {
        #expect(ByteCount(900).description == "900 B")
        #expect(ByteCount(UInt64(3) << 30).description == "3.00 GiB")
        #expect(ByteCount(UInt64(160) << 30).description == "160 GiB")
        #expect(ByteCount(UInt64(40) << 20 + 1).description == "40.0 MiB")
    }
}
