import ArgumentParser
import Foundation
import Transformer

/// `alphaedit inspect`: what a checkpoint is, from its config.json and safetensors headers.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Describe a checkpoint: model type, layers, widths, dtype, parameter count, tensors.",
        discussion: """
        Reads config.json and the safetensors headers (model.safetensors or the shards named by \
        model.safetensors.index.json); no weights are loaded.

        Example:
          alphaedit inspect --model Tests/Fixtures/hf-reference/gpt2
        """
    )

    @OptionGroup var model: ModelOptions

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(name: .customLong("no-tensors"), help: "Leave out the tensor table.")
    var noTensors = false

    @Option(name: .customLong("load-blocks"), help: ArgumentHelp("Load only blocks A-B (inclusive; `all` for every block) as a layer-sharded worker would, and report the tensor bytes read and the process's peak resident memory.", valueName: "A-B"))
    var loadBlocks: String?

    struct StageRow: Encodable {
        let first_block: Int
        let last_block: Int
        let tensors: Int
        let bytes_read: Int
        let peak_rss_bytes: Int?
    }

    struct TensorRow: Encodable {
        let name: String
        let dtype: String
        let shape: [Int]
    }

    struct Report: Encodable {
        let model_type: String
        let layers: Int
        let hidden_size: Int
        let intermediate_size: Int
        let heads: Int
        let kv_heads: Int
        let head_dim: Int
        let vocab_size: Int
        let max_positions: Int
        let tied_embeddings: Bool
        let dtypes: [String: Int]
        let parameters: Int
        let config_parameters: Int
        let bytes: Int
        let shards: Int
        let tensors: [TensorRow]?
        var stage: StageRow?
    }

    func run() throws {
        let config = try ModelConfig.load(directory: model.modelURL)
        let checkpoint = try Checkpoint(directory: model.modelURL)
        var rows: [TensorRow] = []
        var dtypes: [String: Int] = [:]
        var parameters = 0
        var bytes = 0
        for name in checkpoint.tensorNames {
            let info = try checkpoint.info(name)
            let count = info.shape.reduce(1, *)
            rows.append(TensorRow(name: name, dtype: info.dtype.rawValue, shape: info.shape))
            dtypes[info.dtype.rawValue, default: 0] += count
            parameters += count
            bytes += count * info.dtype.byteSize
        }
        var report = Report(
            model_type: config.modelType.rawValue, layers: config.layerCount, hidden_size: config.hiddenSize,
            intermediate_size: config.intermediateSize, heads: config.headCount,
            kv_heads: config.keyValueHeadCount, head_dim: config.headDimension,
            vocab_size: config.vocabularySize, max_positions: config.maxPositions,
            tied_embeddings: config.tiesWordEmbeddings, dtypes: dtypes, parameters: parameters,
            config_parameters: config.parameterCount, bytes: bytes, shards: checkpoint.files.count,
            tensors: noTensors ? nil : rows)
        if let loadBlocks {
            let blocks: Range<Int>
            if loadBlocks == "all" {
                blocks = 0..<config.layerCount
            } else {
                let parts = loadBlocks.split(separator: "-").map { Int($0) }
                guard (1...2).contains(parts.count), let low = parts.first ?? nil, let high = parts.last ?? nil, low <= high else {
                    throw ValidationError("--load-blocks \(loadBlocks): give A-B (inclusive block numbers) or all")
                }
                blocks = low..<(high + 1)
            }
            let fresh = try Checkpoint(directory: model.modelURL)
            let stage = try ModelStage.load(config: config, checkpoint: fresh, blocks: blocks, directoryName: model.model)
            report.stage = StageRow(first_block: blocks.lowerBound, last_block: blocks.upperBound - 1, tensors: stage.bindings.count,
                                    bytes_read: fresh.bytesRead, peak_rss_bytes: Self.peakResidentBytes())
        }
        if json {
            try JSONOutput.print(report)
        } else {
            printText(report, config: config)
        }
    }

    /// VmHWM of /proc/self/status: the most resident memory this process has had.
    static func peakResidentBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
    }

    private func printText(_ r: Report, config: ModelConfig) {
        print("model        \(model.model)")
        print("type         \(r.model_type)")
        print("layers       \(r.layers)")
        print("hidden       \(r.hidden_size)  (d1, residual stream)")
        print("intermediate \(r.intermediate_size)  (d0, MLP keys)")
        print("heads        \(r.heads) query, \(r.kv_heads) key/value, \(r.head_dim) wide")
        print("vocabulary   \(r.vocab_size)")
        print("positions    \(r.max_positions)")
        print("embeddings   \(r.tied_embeddings ? "tied to the LM head" : "untied")")
        let dtypeList = r.dtypes.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("dtype        \(dtypeList)\(config.declaredDType.map { "  (config: \($0))" } ?? "")")
        print("parameters   \(Self.grouped(r.parameters))  (\(Self.megabytes(r.bytes)) in \(r.shards) file\(r.shards == 1 ? "" : "s"))")
        if let stage = r.stage {
            print("stage        blocks \(stage.first_block)-\(stage.last_block): \(stage.tensors) tensors, \(Self.megabytes(stage.bytes_read)) read"
                  + (stage.peak_rss_bytes.map { ", peak resident memory \(Self.megabytes($0))" } ?? ""))
        }
        guard let tensors = r.tensors else { return }
        print("")
        let width = tensors.map(\.name.count).max() ?? 0
        for t in tensors {
            let shape = "[" + t.shape.map(String.init).joined(separator: ", ") + "]"
            print("  " + t.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + t.dtype.padding(toLength: 5, withPad: " ", startingAt: 0) + " " + shape)
        }
    }

    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(d)
        }
        return out
    }

    static func megabytes(_ bytes: Int) -> String {
        String(format: "%.2f MB", Double(bytes) / 1_000_000)
    }
}
