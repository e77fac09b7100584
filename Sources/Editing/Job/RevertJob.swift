import Foundation
import Transformer

/// `alphaedit revert`: undoes an edit by subtracting the deltas `alphaedit edit` wrote
/// (`alphaedit-deltas.safetensors`: the total float32 delta of each edited weight, named and
/// shaped like the checkpoint's tensor) from the edited checkpoint.
///
/// Every tensor keeps its dtype and shard. F32 weights are restored up to one float32 rounding
/// per element; F64 ones are computed in float64; F16 and BF16 ones are rounded back to their
/// dtype (the edit itself was rounded there, so they come back within that rounding).
///
/// The output directory (checkpoint plus the model's config and tokenizer files) is assembled in
/// a temporary directory beside the destination and renamed into place.
public struct RevertJob: Sendable {
    public let modelDirectory: URL
    public let deltasFile: URL
    public let outputDirectory: URL
    /// Replace a non-empty output directory.
    public var overwrite: Bool

    public struct RevertedTensor: Sendable, Equatable, Codable {
        public var name: String
        public var dtype: String
        public var shape: [Int]
        /// Largest |Δ| subtracted.
        public var maxAbsDelta: Double

        enum CodingKeys: String, CodingKey { case name, dtype, shape, maxAbsDelta = "max_abs_delta" }
    }

    public struct Summary: Sendable {
        public var outputDirectory: URL
        public var tensors: [RevertedTensor]
        /// The edit count the deltas file records (nil when it has none).
        public var edits: Int?
    }

    /// Checks the cheap things (the output directory) without reading the model.
    public init(modelDirectory: URL, deltasFile: URL, outputDirectory: URL, overwrite: Bool = false) throws {
        self.modelDirectory = modelDirectory
        self.deltasFile = deltasFile
        self.outputDirectory = outputDirectory
        self.overwrite = overwrite
        if modelDirectory.standardizedFileURL.path == outputDirectory.standardizedFileURL.path {
            throw RevertError.outputIsInput(path: outputDirectory.path)
        }
        try EditJob.checkOutput(outputDirectory, overwrite: overwrite)
    }

    public func run(events: EditEventHandler = { _ in }) throws -> Summary {
        let checkpoint = try Checkpoint(directory: modelDirectory)
        let deltas = try SafetensorsFile(url: deltasFile)
        let deltasPath = deltasFile.path
        guard deltas.metadata["format"] == "alphaedit-deltas" else {
            throw RevertError.notDeltas(path: deltasPath)
        }
        // The deltas must be of this checkpoint's last edit.
        guard let checkpointBase = checkpoint.metadata[ModelFingerprint.baseModelKey], checkpoint.metadata["alphaedit.edits"] != nil else {
            throw RevertError.notEdited(path: modelDirectory.path)
        }
        let deltasBase = deltas.metadata[ModelFingerprint.baseModelKey]
        if let deltasBase, deltasBase != checkpointBase {
            throw RevertError.wrongModel(path: deltasPath, deltas: deltasBase, model: checkpointBase)
        }
        if let deltaEdits = deltas.metadata["edits"], let modelEdits = checkpoint.metadata["alphaedit.edits"], deltaEdits != modelEdits {
            throw RevertError.wrongEdit(path: deltasPath, deltaEdits: deltaEdits, modelEdits: modelEdits)
        }
        guard !deltas.tensorNames.isEmpty else { throw RevertError.empty(path: deltasPath) }
        // Every delta names a float tensor of the checkpoint with the same shape.
        for name in deltas.tensorNames {
            let delta = try deltas.info(name)
            guard checkpoint.contains(name) else { throw RevertError.unknownTensor(path: deltasPath, tensor: name) }
            let stored = try checkpoint.info(name)
            guard delta.shape == stored.shape else {
                throw RevertError.shapeMismatch(path: deltasPath, tensor: name, delta: delta.shape, stored: stored.shape)
            }
            guard delta.dtype.isFloatingPoint else {
                throw RevertError.unsupportedDType(path: deltasPath, tensor: name, dtype: delta.dtype.rawValue)
            }
            guard [.F32, .F64, .F16, .BF16].contains(stored.dtype) else {
                throw RevertError.unsupportedDType(path: modelDirectory.path, tensor: name, dtype: stored.dtype.rawValue)
            }
        }

        events(.stage("reverting \(deltas.tensorNames.count) tensors of \(modelDirectory.lastPathComponent)"))
        var writer = try CheckpointWriter(copying: checkpoint)
        var metadata = writer.metadata
        // The edit count before the reverted edit, when the deltas record it (an edit continued
        // from a state); otherwise the result is the base model, which cannot be reverted again.
        metadata["alphaedit.edits"] = deltas.metadata["edits_before"].flatMap { Int($0) }.flatMap { $0 > 0 ? String($0) : nil }
        metadata["alphaedit.reverted"] = deltasFile.lastPathComponent + (deltas.metadata["edits"].map { " (\($0) edits)" } ?? "")
        writer.metadata = metadata
        var reverted: [RevertedTensor] = []
        for (i, name) in deltas.tensorNames.enumerated() {
            let stored = try checkpoint.info(name)
            let delta = try deltas.doubles(name)
            let maxDelta = delta.reduce(0) { max($0, abs($1)) }
            if stored.dtype == .F64 {
                let original = try checkpoint.doubles(name)
                let restored = zip(original, delta).map { $0 - $1 }
                writer.remove(name)
                try writer.add(name: name, dtype: .F64, shape: stored.shape, bytes: restored.withUnsafeBytes { Array($0) })
            } else {
                let original = try checkpoint.floats(name)
                let deltaFloats = try deltas.floats(name)
                try writer.replace(name: name, floats: zip(original, deltaFloats).map { $0 - $1 })
            }
            reverted.append(RevertedTensor(name: name, dtype: stored.dtype.rawValue, shape: stored.shape, maxAbsDelta: maxDelta))
            events(.progress(done: i + 1, total: deltas.tensorNames.count, detail: name))
        }

        events(.stage("writing \(outputDirectory.path)"))
        let fm = FileManager.default
        let parent = outputDirectory.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        OutputDirectory.removeAbandonedStaging(of: outputDirectory)
        let staging = OutputDirectory.stagingURL(for: outputDirectory)
        try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        do {
            for file in EditOutput.companionFiles {
                let source = modelDirectory.appendingPathComponent(file)
                if fm.fileExists(atPath: source.path) { try fm.copyItem(at: source, to: staging.appendingPathComponent(file)) }
            }
            try writer.write(to: staging)
            try OutputDirectory.install(staging: staging, at: outputDirectory, overwrite: overwrite)
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
        return Summary(outputDirectory: outputDirectory, tensors: reverted, edits: deltas.metadata["edits"].flatMap { Int($0) })
    }
}

/// A revert refused before anything is written; one line naming the input at fault.
public enum RevertError: Error, CustomStringConvertible, Equatable {
    case notDeltas(path: String)
    case notEdited(path: String)
    case wrongModel(path: String, deltas: String, model: String)
    case wrongEdit(path: String, deltaEdits: String, modelEdits: String)
    case empty(path: String)
    case unknownTensor(path: String, tensor: String)
    case shapeMismatch(path: String, tensor: String, delta: [Int], stored: [Int])
    case unsupportedDType(path: String, tensor: String, dtype: String)
    case outputIsInput(path: String)

    public var description: String {
        switch self {
        case .notDeltas(let path):
            return "\(path): not an alphaedit deltas file (metadata format is not \"alphaedit-deltas\"); pass the alphaedit-deltas.safetensors that `alphaedit edit` wrote"
        case .notEdited(let path):
            return "\(path): not a checkpoint written by `alphaedit edit` (no \(ModelFingerprint.baseModelKey) and alphaedit.edits metadata), or one already reverted; pass the edited model to --model"
        case .wrongModel(let path, let deltas, let model):
            return "\(path): deltas of an edit of model \(deltas), but --model descends from model \(model)"
        case .wrongEdit(let path, let deltaEdits, let modelEdits):
            return "\(path): deltas of a checkpoint after \(deltaEdits) edits, but --model records \(modelEdits) edits; revert with the deltas of the edit that wrote --model"
        case .empty(let path): return "\(path): holds no deltas"
        case .unknownTensor(let path, let tensor): return "\(path): delta of \(tensor), which --model does not have"
        case .shapeMismatch(let path, let tensor, let delta, let stored):
            return "\(path): delta of \(tensor) has shape \(delta), the checkpoint's tensor \(stored)"
        case .unsupportedDType(let path, let tensor, let dtype): return "\(path): \(tensor) is \(dtype), not a float tensor that can be reverted"
        case .outputIsInput(let path): return "\(path): --output-dir must differ from --model"
        }
    }
}
