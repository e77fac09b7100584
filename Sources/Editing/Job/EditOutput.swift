import Foundation
import Linalg
import Transformer

/// The output directory of an edit: checkpoint, deltas, state and log, assembled in a temporary
/// directory beside the destination and renamed into place.
public struct EditOutput: Sendable {
    let model: TransformerModel
    let original: ModelWeights
    let checkpoint: Checkpoint
    let sourceDirectory: URL
    let baseFingerprint: String
    let layers: [Int]

    /// - Parameters:
    ///   - model: the edited model; `original`: its weights before editing.
    ///   - checkpoint, sourceDirectory: the input model (tensors, dtypes, sharding and companion files).
    public init(model: TransformerModel, original: ModelWeights, checkpoint: Checkpoint, sourceDirectory: URL,
                baseFingerprint: String, layers: [Int]) {
        self.model = model
        self.original = original
        self.checkpoint = checkpoint
        self.sourceDirectory = sourceDirectory
        self.baseFingerprint = baseFingerprint
        self.layers = layers
    }

    static let deltasFile = "alphaedit-deltas.safetensors"
    static let stateFile = "alphaedit-state.safetensors"
    static let logFile = "edits.jsonl"
    /// Files copied unchanged from the input model directory when present.
    static let companionFiles = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                                 "special_tokens_map.json", "vocab.json", "merges.txt"]

    /// Writes the directory (temporary directory beside it, then rename).
    public func write(to destination: URL, state: EditState, hparams: EditHyperParameters, records: [EditRecord], overwrite: Bool) throws {
        let fm = FileManager.default
        let parent = destination.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        OutputDirectory.removeAbandonedStaging(of: destination)
        let staging = OutputDirectory.stagingURL(for: destination)
        try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        do {
            try writeContents(into: staging, state: state, hparams: hparams, records: records)
            try OutputDirectory.install(staging: staging, at: destination, overwrite: overwrite)
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
    }

    private func writeContents(into directory: URL, state: EditState, hparams: EditHyperParameters, records: [EditRecord]) throws {
        let fm = FileManager.default
        for name in Self.companionFiles {
            let source = sourceDirectory.appendingPathComponent(name)
            if fm.fileExists(atPath: source.path) { try fm.copyItem(at: source, to: directory.appendingPathComponent(name)) }
        }
        FaultPoint.hit("output.writing")
        // Checkpoint: every tensor copied in its dtype and shard, the edited weights replaced.
        var writer = try CheckpointWriter(copying: checkpoint)
        var metadata = writer.metadata
        metadata[ModelFingerprint.baseModelKey] = baseFingerprint
        metadata["alphaedit.edits"] = String(state.editCount)
        writer.metadata = metadata
        // `edits_before`: edits the input model already carried (a continued run); `alphaedit revert`
        // restores that count on the reverted checkpoint.
        var deltas = SafetensorsWriter(metadata: ["format": "alphaedit-deltas", "version": "1",
                                                  "algorithm": state.algorithm.rawValue, "edits": String(state.editCount),
                                                  "edits_before": String(max(0, state.editCount - records.count)),
                                                  ModelFingerprint.baseModelKey: baseFingerprint])
        for layer in layers {
            let name = bindingName(layer: layer)
            let edited = model.weights.blocks[layer].mlp.down.weight
            let before = original.blocks[layer].mlp.down.weight
            let stored = try checkpoint.info(checkpointName(name))
            try writer.replace(name: checkpointName(name), floats: edited.elements)
            try deltas.add(name: checkpointName(name), floats: (edited - before).elements, shape: stored.shape)
        }
        try writer.write(to: directory)
        try deltas.write(to: directory.appendingPathComponent(Self.deltasFile))
        try state.write(to: directory.appendingPathComponent(Self.stateFile), hparams: hparams)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var log = Data()
        for record in records {
            log.append(try encoder.encode(record))
            log.append(0x0A)
        }
        try log.write(to: directory.appendingPathComponent(Self.logFile))
    }

    /// The canonical name of layer l's down-projection weight.
    func bindingName(layer: Int) -> String {
        ModuleNames(config: model.config).downProjection(layer) + ".weight"
    }

    /// The name the input checkpoint stores it under (GPT-2 files may omit `transformer.`).
    func checkpointName(_ canonical: String) -> String {
        if checkpoint.contains(canonical) { return canonical }
        let type = model.config.modelType
        return checkpoint.tensorNames.first { type.canonicalTensorName($0) == canonical } ?? canonical
    }
}

