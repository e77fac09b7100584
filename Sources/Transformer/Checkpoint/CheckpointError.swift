/// A model directory whose safetensors checkpoint cannot be opened or written, or a request
/// the checkpoint cannot satisfy.
///
/// Faults inside one safetensors file are `SafetensorsError`s naming that file; these cases are
/// about the directory, the index (`model.safetensors.index.json`) and the shards as a set.
/// `description` is one line: `<file>: <fault>[; <what to do>]`.
public enum CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The path does not exist.
    case notFound(path: String)
    /// The directory has neither `model.safetensors` nor `model.safetensors.index.json`.
    case noCheckpoint(directory: String)
    /// The index file cannot be read.
    case indexUnreadable(file: String, reason: String)
    /// The index is not valid JSON; `offset` is a byte offset into it.
    case indexNotJSON(file: String, reason: String, offset: Int)
    /// The index is JSON but not `{"weight_map": {tensor: shard file, …}, …}`.
    case invalidIndex(file: String, reason: String)
    /// The index names a shard that is not a plain file name in the same directory.
    case invalidShardName(file: String, shard: String)
    /// The index names a shard file that does not exist.
    case missingShard(file: String, shard: String, tensorCount: Int)
    /// The index maps a tensor to a shard that does not contain it.
    case tensorMissingFromShard(file: String, tensor: String, shard: String)
    /// The index lists the tensor twice (under the same or different shards).
    case tensorListedTwice(file: String, tensor: String, first: String, second: String)
    /// Two shards both contain the tensor.
    case tensorInTwoShards(tensor: String, first: String, second: String)
    /// No tensor of that name in the checkpoint.
    case tensorNotFound(checkpoint: String, tensor: String, available: Int)

    // MARK: Writing
    /// `maxShardBytes` must be positive.
    case invalidShardSize(Int)
    /// `replace` named a tensor that was not added.
    case replacingUnknownTensor(tensor: String)
    /// The explicit shard assignment does not cover the tensor.
    case unassignedTensor(tensor: String)
    /// The output directory does not exist (nothing was written).
    case outputDirectoryMissing(directory: String)

    public var description: String {
        switch self {
        case .notFound(let path):
            return "\(path): no such file or directory"
        case .noCheckpoint(let directory):
            return "\(directory): no model.safetensors or model.safetensors.index.json in this directory (only safetensors checkpoints are supported; convert .bin/.pt weights first)"
        case .indexUnreadable(let file, let reason):
            return "\(file): cannot read the index: \(reason)"
        case .indexNotJSON(let file, let reason, let offset):
            return "\(file): index is not valid JSON: \(reason) (at byte \(offset))"
        case .invalidIndex(let file, let reason):
            return "\(file): index must be {\"weight_map\": {tensor name: shard file name}}: \(reason)"
        case .invalidShardName(let file, let shard):
            return "\(file): shard \(quoted(shard)) is not a plain file name in the index's directory"
        case .missingShard(let file, let shard, let count):
            return "\(file): shard \(quoted(shard)) (holding \(count) tensors) does not exist; the download is incomplete"
        case .tensorMissingFromShard(let file, let tensor, let shard):
            return "\(file): tensor \(quoted(tensor)) is mapped to \(quoted(shard)), which does not contain it"
        case .tensorListedTwice(let file, let tensor, let first, let second):
            return "\(file): tensor \(quoted(tensor)) is listed twice, in \(quoted(first)) and \(quoted(second)); a tensor must be in exactly one shard"
        case .tensorInTwoShards(let tensor, let first, let second):
            return "\(second): tensor \(quoted(tensor)) is also in \(first); a tensor must be in exactly one shard"
        case .tensorNotFound(let checkpoint, let tensor, let available):
            return "\(checkpoint): no tensor named \(quoted(tensor)) (the checkpoint has \(available) tensors; list them with tensorNames)"
        case .invalidShardSize(let size):
            return "maxShardBytes must be positive, got \(size)"
        case .replacingUnknownTensor(let tensor):
            return "tensor \(quoted(tensor)): cannot replace a tensor that was not added"
        case .unassignedTensor(let tensor):
            return "tensor \(quoted(tensor)): no shard assigned in shardAssignment; assign one or set shardAssignment to nil"
        case .outputDirectoryMissing(let directory):
            return "\(directory): output directory does not exist; create it first (nothing was written)"
        }
    }

    private func quoted(_ name: String) -> String { SafetensorsJSON.quoted(name) }
}
