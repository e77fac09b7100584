import Foundation

extension MemoryModel {
    /// The memory model as printed before a plan: one line per term.
    public var summary: String {
        let d0 = config.intermediateSize
        let layers = editLayers.isEmpty ? "none" : editLayers.map(String.init).joined(separator: ",")
        var lines = ["memory model (\(blockCount) blocks, width \(config.hiddenSize), d0 \(d0), weights held in float32; edit layers \(layers)):"]
        func line(_ label: String, _ bytes: UInt64, _ note: String) {
            lines.append("  " + label.padding(toLength: 26, withPad: " ", startingAt: 0)
                         + ByteCount(bytes).description.leftPadded(10) + "  " + note)
        }
        line("block weights", blockWeightBytes, "each (\(config.blockParameterCount) parameters)")
        line("embeddings", embeddingBytes, "on the stage with block 0")
        line("final norm and head", headBytes(holdsEmbedding: false),
             "on the stage with block \(blockCount - 1)" + (config.tiesWordEmbeddings ? " (a copy of the tied embedding unless it also holds block 0)" : ""))
        line("edit state per edit layer", editLayerBytes, "d0² × (8 statistics + 4 projector + 4 cache) bytes, on its owner")
        line("eigen workspace", eigenWorkspaceBytes, "5 d0² doubles, transient, on a stage that owns an edit layer")
        line("activations per block", activationBytesPerBlock, "a micro-batch of \(workload.tokens) tokens, saved for the backward pass")
        line("in flight", transferBytes, "two micro-batches of hidden states per stage")
        line("logits", logitsBytes, "logits and their gradient, on the last stage")
        return lines.joined(separator: "\n")
    }
}

extension ShardPlan {
    /// The plan as printed: placement, then one row per worker with its memory by category.
    public var table: String {
        var lines = ["plan: \(placement.rawValue) over \(stages.count) worker\(stages.count == 1 ? "" : "s")"]
        let header = ["worker", "blocks", "edit layers", "weights", "edit state", "activations", "workspace", "total", "budget", "use"]
        var rows = [header]
        for stage in stages {
            let m = stage.memory
            rows.append([stage.budget.name, stage.blocks.blockList,
                         stage.editLayers.isEmpty ? "-" : stage.editLayers.map(String.init).joined(separator: ","),
                         ByteCount(m.weights).description, ByteCount(m.editState).description,
                         ByteCount(m.activations).description, ByteCount(m.workspace).description,
                         ByteCount(m.total).description, ByteCount(stage.budget.bytes).description,
                         String(format: "%.0f%%", stage.load * 100)])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max()! }
        for row in rows {
            lines.append("  " + row.enumerated().map { column, cell in
                column < 3 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0) : cell.leftPadded(widths[column])
            }.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }

    /// The memory model and the plan, as `alphaedit plan` and a coordinator print them.
    public var description: String { model.summary + "\n" + table }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
