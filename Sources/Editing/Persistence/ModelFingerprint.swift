import Foundation
import Transformer

/// A cheap identity of a checkpoint: FNV-1a over config.json's model fields, every tensor's name,
/// dtype and shape, and up to 64 KiB sampled from each tensor's bytes (start, middle, end).
///
/// A checkpoint written by `alphaedit edit` records the fingerprint of the model it was edited
/// from (metadata `alphaedit.base_model`), so statistics and state made for the base model stay
/// valid for its edited descendants.
public enum ModelFingerprint {
    public static let baseModelKey = "alphaedit.base_model"

    /// The fingerprint of the unedited model a checkpoint descends from.
    public static func base(of checkpoint: Checkpoint, config: ModelConfig) throws -> String {
        if let recorded = checkpoint.metadata[baseModelKey] { return recorded }
        return try compute(checkpoint, config: config)
    }

    public static func compute(_ checkpoint: Checkpoint, config: ModelConfig) throws -> String {
        var h = Fingerprint.hash(Array("\(config.modelType.rawValue) \(config.layerCount) \(config.hiddenSize) \(config.intermediateSize) \(config.vocabularySize)".utf8))
        for name in checkpoint.tensorNames.sorted() {
            let info = try checkpoint.info(name)
            h = Fingerprint.hash(Array("\(name) \(info.dtype.rawValue) \(info.shape)".utf8), seed: h)
            try checkpoint.withRawBytes(name) { bytes in
                let sample = 8192
                if bytes.count <= 3 * sample {
                    h = Fingerprint.hash(bytes, seed: h)
                } else {
                    h = Fingerprint.hash(bytes[0..<sample], seed: h)
                    let middle = bytes.count / 2
                    h = Fingerprint.hash(bytes[middle..<(middle + sample)], seed: h)
                    h = Fingerprint.hash(bytes[(bytes.count - sample)..<bytes.count], seed: h)
                }
            }
        }
        return String(format: "%016llx", h)
    }
}
