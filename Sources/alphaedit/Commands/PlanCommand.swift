import ArgumentParser
import Cluster
import Editing
import Foundation
import Transformer

/// `alphaedit plan`: the memory model and the shard plan of a distributed job, without running it.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show how a model would be placed on workers: the memory model and the shard plan.",
        discussion: """
        Prints the bytes each block, each edit layer's state (float64 statistics, float32 projector \
        and cache, d0 × d0 each), the activations and the eigendecomposition workspace need, then \
        the plan: replicated when every worker can hold the whole model, otherwise contiguous \
        block ranges balanced by bytes (a worker with a larger budget gets a longer range). A plan \
        that cannot fit is refused with what is missing. Only config.json is read, so a plan can \
        be made for a model that is not on this host.

        Examples:
          alphaedit plan --model Models/knowledge-gpt2 --layers 0,1 --workers 3 --worker-memory 40MiB
          alphaedit plan --model llama-2-70b/config.json --layers 4,5,6,7,8 --memory 160GiB,160GiB,96GiB
          alphaedit plan --model gpt2-medium --layers 4,5,6,7,8 --memory 2GiB,2GiB,2GiB --placement 0-9,10-17,18-23
        """
    )

    @Option(help: ArgumentHelp("A model directory, or its config.json.", valueName: "path"))
    var model: String

    @Option(help: ArgumentHelp("hparams JSON whose \"layers\" are the edit layers.", valueName: "hparams.json"))
    var config: String?

    @Option(help: ArgumentHelp("Edit layers, comma-separated (instead of --config).", valueName: "list"))
    var layers: String?

    @Option(help: ArgumentHelp("Number of workers, each with --worker-memory.", valueName: "n"))
    var workers: Int?

    @Option(name: .customLong("worker-memory"), help: ArgumentHelp("Memory of each of the --workers, e.g. 6GiB (default: this host's available memory).", valueName: "size"))
    var workerMemory: String?

    @Option(help: ArgumentHelp("Each worker's memory, comma-separated, in worker order (instead of --workers).", valueName: "sizes"))
    var memory: String?

    @Option(help: ArgumentHelp("Fix the block ranges, one inclusive range per worker: 0-7,8-15,16-23.", valueName: "ranges"))
    var placement: String?

    @Option(name: .customLong("sequence-length"), help: ArgumentHelp("Tokens per micro-batch sequence in the activation estimate (default: the model's context, at most 1024).", valueName: "n"))
    var sequenceLength: Int?

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if (workers == nil) == (memory == nil) { throw ValidationError("give --workers N (with --worker-memory) or --memory SIZE,SIZE,...") }
        if workerMemory != nil && workers == nil { throw ValidationError("--worker-memory needs --workers") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if (config == nil) == (layers == nil) { throw ValidationError("give the edit layers with --config hparams.json or --layers 4,5,6") }
        if let sequenceLength, sequenceLength < 1 { throw ValidationError("--sequence-length must be at least 1") }
    }

    func run() throws {
        let modelConfig = try loadModelConfig()
        let editLayers = try loadEditLayers(blockCount: modelConfig.layerCount)
        let budgets = try workerBudgets()
        let workload = sequenceLength.map { ActivationWorkload(sequenceLength: $0) }
        let memoryModel = MemoryModel(config: modelConfig, editLayers: editLayers, workload: workload)
        let override = try placement.map { try PlacementOverride(parsing: $0) }
        let plan = try ShardPlanner.plan(model: memoryModel, workers: budgets, override: override)
        if json {
            try JSONOutput.print(PlanReport(plan))
        } else {
            print(plan.description)
        }
    }

    private func loadModelConfig() throws -> ModelConfig {
        let url = URL(fileURLWithPath: model)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory) else {
            throw ValidationError("--model \(model): no such file or directory")
        }
        return isDirectory.boolValue ? try ModelConfig.load(directory: url) : try ModelConfig.load(file: url)
    }

    private func loadEditLayers(blockCount: Int) throws -> [Int] {
        let list: [Int]
        if let layers {
            list = try layers.split(separator: ",").map { part in
                guard let layer = Int(part.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--layers \(layers): '\(part)' is not a layer number")
                }
                return layer
            }
        } else {
            list = try EditHyperParameters.load(file: URL(fileURLWithPath: config!), algorithm: .alphaedit).layers
        }
        for layer in list where !(0..<blockCount).contains(layer) {
            throw ValidationError("edit layer \(layer) is outside the model's blocks 0-\(blockCount - 1)")
        }
        return list
    }

    private func workerBudgets() throws -> [WorkerBudget] {
        if let memory {
            return try memory.split(separator: ",").enumerated().map { index, part in
                WorkerBudget(name: "\(index)", bytes: try ByteCount(parsing: String(part), flag: "--memory").bytes)
            }
        }
        let each = try workerMemory.map { try ByteCount(parsing: $0, flag: "--worker-memory").bytes } ?? HostMemory.available()
        return (0..<workers!).map { WorkerBudget(name: "\($0)", bytes: each) }
    }
}

/// `alphaedit plan --json`.
struct PlanReport: Encodable {
    struct Stage: Encodable {
        let worker: String
        let first_block: Int?
        let last_block: Int?
        let edit_layers: [Int]
        let weights: UInt64
        let edit_state: UInt64
        let activations: UInt64
        let workspace: UInt64
        let total: UInt64
        let budget: UInt64
    }
    let placement: String
    let blocks: Int
    let edit_layers: [Int]
    let block_weight_bytes: UInt64
    let edit_layer_bytes: UInt64
    let eigen_workspace_bytes: UInt64
    let stages: [Stage]

    init(_ plan: ShardPlan) {
        placement = plan.placement.rawValue
        blocks = plan.model.blockCount
        edit_layers = plan.model.editLayers
        block_weight_bytes = plan.model.blockWeightBytes
        edit_layer_bytes = plan.model.editLayerBytes
        eigen_workspace_bytes = plan.model.eigenWorkspaceBytes
        stages = plan.stages.map { stage in
            Stage(worker: stage.budget.name, first_block: stage.blocks.isEmpty ? nil : stage.blocks.lowerBound,
                  last_block: stage.blocks.isEmpty ? nil : stage.blocks.upperBound - 1, edit_layers: stage.editLayers,
                  weights: stage.memory.weights, edit_state: stage.memory.editState, activations: stage.memory.activations,
                  workspace: stage.memory.workspace, total: stage.memory.total, budget: stage.budget.bytes)
        }
    }
}
