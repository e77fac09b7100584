import Foundation

/// Writes the safetensors weights of a model directory: one `model.safetensors`, or shards
/// `model-0000i-of-0000n.safetensors` plus `model.safetensors.index.json`, as transformers'
/// `save_pretrained` does (same shard names, same greedy split, same index text).
///
/// To write an edited model in the input's dtypes and sharding: `CheckpointWriter(copying:)`
/// the input checkpoint (every tensor, copied from the mapping only while writing), then
/// `replace(name:floats:)` the edited tensors (converted to their original dtype), then
/// `write(to:)`.
///
/// Writing is atomic per file: every file is first written to a hidden temporary name in the
/// output directory; only when all are written are they renamed into place, shards first and the
/// index last. Old weight files of transformers' naming that the new checkpoint does not use
/// (e.g. `model.safetensors` when the new one is sharded, or a previous `…-of-00005` set) are
/// removed afterwards, as `save_pretrained` does. Other files in the directory are not touched.
public struct CheckpointWriter: Sendable {
    /// Largest shard, in tensor bytes; nil writes a single `model.safetensors`. Tensors are
    /// taken in name order and a new shard is started when the next tensor would exceed the
    /// limit; a tensor larger than the limit gets a shard of its own.
    public var maxShardBytes: Int?
    /// Explicit tensor name → shard file name; when set, it overrides `maxShardBytes` and must
    /// cover every tensor. `init(copying:)` sets it to the source's assignment.
    public var shardAssignment: [String: String]?
    /// The `__metadata__` of every file; transformers writes `["format": "pt"]`.
    public var metadata: [String: String] {
        get { tensors.metadata }
        set { tensors.metadata = newValue }
    }

    private var tensors: SafetensorsWriter

    /// One file of the checkpoint to be written.
    public struct Shard: Sendable, Equatable {
        public let fileName: String
        /// Tensors in the file, by name.
        public let tensorNames: [String]
        /// Tensor bytes in the file (excluding the header).
        public let byteCount: Int
    }

    public init(maxShardBytes: Int? = nil, metadata: [String: String] = ["format": "pt"]) {
        self.maxShardBytes = maxShardBytes
        self.tensors = SafetensorsWriter(metadata: metadata)
    }

    /// A writer holding every tensor of `source` unchanged, with its sharding (for a sharded
    /// source, the same shard files holding the same tensors; otherwise one `model.safetensors`)
    /// and metadata. Nothing is read until `write`.
    public init(copying source: Checkpoint) throws {
        self.init(metadata: source.metadata)
        for name in source.tensorNames {
            try tensors.add(copying: name, from: source.file(containing: name))
        }
        if source.isSharded { shardAssignment = source.shardAssignment }
    }

    /// Names of the tensors, in the order they were added.
    public var tensorNames: [String] { tensors.tensorNames }

    // MARK: Adding and replacing (see the SafetensorsWriter methods of the same names)

    public mutating func add(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) throws {
        try tensors.add(name: name, dtype: dtype, shape: shape, bytes: bytes)
    }

    public mutating func add(name: String, floats: [Float], shape: [Int], as dtype: DType = .F32) throws {
        try tensors.add(name: name, floats: floats, shape: shape, as: dtype)
    }

    public mutating func add(name: String, int64s: [Int64], shape: [Int]) throws {
        try tensors.add(name: name, int64s: int64s, shape: shape)
    }

    public mutating func add(copying tensor: String, from file: SafetensorsFile, as name: String? = nil) throws {
        try tensors.add(copying: tensor, from: file, as: name)
    }

    /// Replaces the values of tensor `name`, keeping its dtype (F32, F64, F16 or BF16; rounded
    /// as in `SafetensorsWriter.add(name:floats:shape:as:)`) and shape.
    /// - Throws: `CheckpointError.replacingUnknownTensor`, `SafetensorsError.dataDoesNotMatchShape`
    ///   if the count differs, or `.unsupportedWriteDType` if the tensor is not F32/F64/F16/BF16.
    public mutating func replace(name: String, floats: [Float]) throws {
        guard let old = tensors.entry(name) else { throw CheckpointError.replacingUnknownTensor(tensor: name) }
        var single = SafetensorsWriter()
        try single.add(name: name, floats: floats, shape: old.shape, as: old.dtype)   // validates first
        tensors.remove(name)
        tensors.append(single.entries[0])
    }

    @discardableResult
    public mutating func remove(_ name: String) -> Bool {
        tensors.remove(name)
    }

    // MARK: Writing

    /// The files `write` would produce, in order, and whether an index is written.
    public func plan() throws -> (shards: [Shard], writesIndex: Bool) {
        let entries = tensors.entries.sorted { SafetensorsJSON.codePointLess($0.name, $1.name) }
        func shard(_ name: String, _ group: [SafetensorsWriter.Entry]) -> Shard {
            Shard(fileName: name, tensorNames: group.map(\.name), byteCount: group.reduce(0) { $0 + $1.byteCount })
        }
        if let assignment = shardAssignment {
            var groups: [String: [SafetensorsWriter.Entry]] = [:]
            for entry in entries {
                guard let file = assignment[entry.name] else { throw CheckpointError.unassignedTensor(tensor: entry.name) }
                guard CheckpointIndex.isPlainFileName(file), file != CheckpointIndex.fileName else {
                    throw CheckpointError.invalidShardName(file: "shardAssignment", shard: file)
                }
                groups[file, default: []].append(entry)
            }
            if groups.isEmpty { groups[CheckpointIndex.singleFileName] = [] }
            let names = groups.keys.sorted(by: SafetensorsJSON.codePointLess)
            let shards = names.map { shard($0, groups[$0]!) }
            return (shards, !(names.count == 1 && names[0] == CheckpointIndex.singleFileName))
        }
        guard let limit = maxShardBytes else {
            return ([shard(CheckpointIndex.singleFileName, entries)], false)
        }
        guard limit > 0 else { throw CheckpointError.invalidShardSize(limit) }
        // huggingface_hub's split_state_dict_into_shards_factory, on name-sorted tensors.
        var groups: [[SafetensorsWriter.Entry]] = []
        var current: [SafetensorsWriter.Entry] = []
        var currentBytes = 0
        for entry in entries {
            if entry.byteCount > limit {
                groups.append([entry])
                continue
            }
            if currentBytes + entry.byteCount > limit {
                groups.append(current)
                current = []
                currentBytes = 0
            }
            current.append(entry)
            currentBytes += entry.byteCount
        }
        if !current.isEmpty || groups.isEmpty { groups.append(current) }
        if groups.count == 1 {
            return ([shard(CheckpointIndex.singleFileName, groups[0])], false)
        }
        let shards = groups.enumerated().map { shard(CheckpointIndex.shardName($0 + 1, of: groups.count), $1) }
        return (shards, true)
    }

    /// Writes the checkpoint into `directory` (which must exist); see the type's notes on atomicity.
    /// - Returns: the files written, shards then index.
    /// - Throws: `CheckpointError.outputDirectoryMissing`, or `SafetensorsError.writeFailed`.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CheckpointError.outputDirectoryMissing(directory: directory.path)
        }
        let (shards, writesIndex) = try plan()
        var pending: [AtomicFile.Pending] = []
        do {
            for shard in shards {
                var writer = SafetensorsWriter(metadata: metadata)
                for name in shard.tensorNames { writer.append(tensors.entry(name)!) }
                pending.append(try AtomicFile.prepare(directory.appendingPathComponent(shard.fileName)) { sink in
                    try writer.write(into: &sink)
                })
            }
            if writesIndex {
                var weightMap: [String: String] = [:]
                for shard in shards { for name in shard.tensorNames { weightMap[name] = shard.fileName } }
                let entries = tensors.entries
                let text = CheckpointIndex(weightMap: weightMap).serialized(
                    totalParameters: entries.reduce(0) { $0 + TensorInfo.elementCount(shape: $1.shape)! },
                    totalSize: entries.reduce(0) { $0 + $1.byteCount })
                pending.append(try AtomicFile.prepare(directory.appendingPathComponent(CheckpointIndex.fileName)) { sink in
                    try sink.write(text)
                })
            }
        } catch {
            for file in pending { file.discard() }
            throw error
        }
        for (i, file) in pending.enumerated() {
            do {
                try file.commit()
            } catch {
                for later in pending[(i + 1)...] { later.discard() }
                throw error
            }
        }
        let written = Set(pending.map { $0.destination.lastPathComponent })
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in existing where CheckpointIndex.isCheckpointFileName(name) && !written.contains(name) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        return pending.map(\.destination)
    }
}
