import Foundation

/// The safetensors weights of a model directory, one file or several shards, read as one set.
///
/// Opened from a directory holding `model.safetensors` (preferred when both exist, as
/// transformers does) or `model.safetensors.index.json` plus the shards its `weight_map` names.
/// Every shard is memory-mapped and fully validated when opened, and the index is checked
/// against the shards: each named shard exists, each shard holds the tensors the index maps to
/// it, and no tensor is in two shards. A tensor present in a shard but absent from the index is
/// still readable (transformers loads whole shards, so such a tensor would be loaded there too).
///
/// Errors about the set are `CheckpointError`s naming the index; errors inside one file are
/// `SafetensorsError`s naming that shard.
public struct Checkpoint: Sendable {
    /// The model directory.
    public let directory: URL
    /// The index file, or nil for a single `model.safetensors`.
    public let indexURL: URL?
    /// The safetensors files, in shard-name order.
    public let files: [SafetensorsFile]
    /// Every tensor name: by shard, then by position in the shard.
    public let tensorNames: [String]
    /// Tensor name → position in `files`.
    private let location: [String: Int]

    /// Opens the checkpoint of a model directory. Also accepts the path of a `.safetensors`
    /// file (read alone) or of an `*.index.json` file (read with its shards).
    /// - Throws: `CheckpointError` (no checkpoint, bad index, missing shard, inconsistent shards)
    ///   or `SafetensorsError` for a shard that is not a valid safetensors file.
    public init(directory url: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CheckpointError.notFound(path: url.path)
        }
        if !isDirectory.boolValue {
            if url.lastPathComponent.hasSuffix(".index.json") {
                try self.init(index: url)
            } else {
                let file = try SafetensorsFile(url: url)
                self.init(directory: url.deletingLastPathComponent(), indexURL: nil, files: [file])
            }
            return
        }
        let single = url.appendingPathComponent(CheckpointIndex.singleFileName)
        let index = url.appendingPathComponent(CheckpointIndex.fileName)
        if FileManager.default.fileExists(atPath: single.path) {
            self.init(directory: url, indexURL: nil, files: [try SafetensorsFile(url: single)])
        } else if FileManager.default.fileExists(atPath: index.path) {
            try self.init(index: index)
        } else {
            throw CheckpointError.noCheckpoint(directory: url.path)
        }
    }

    private init(index url: URL) throws {
        let index = try CheckpointIndex(url: url)
        let directory = url.deletingLastPathComponent()
        var files: [SafetensorsFile] = []
        for shard in index.shardNames {
            let shardURL = directory.appendingPathComponent(shard)
            guard FileManager.default.fileExists(atPath: shardURL.path) else {
                let count = index.weightMap.values.filter { $0 == shard }.count
                throw CheckpointError.missingShard(file: url.path, shard: shard, tensorCount: count)
            }
            files.append(try SafetensorsFile(url: shardURL))
        }
        let positions = Dictionary(uniqueKeysWithValues: index.shardNames.enumerated().map { ($1, $0) })
        for tensor in index.weightMap.keys.sorted(by: SafetensorsJSON.codePointLess) {
            let shard = index.weightMap[tensor]!
            if !files[positions[shard]!].contains(tensor) {
                throw CheckpointError.tensorMissingFromShard(file: url.path, tensor: tensor, shard: shard)
            }
        }
        self.init(directory: directory, indexURL: url, files: files)
        try checkUnique()
    }

    private init(directory: URL, indexURL: URL?, files: [SafetensorsFile]) {
        self.directory = directory
        self.indexURL = indexURL
        self.files = files
        var names: [String] = []
        var location: [String: Int] = [:]
        for (position, file) in files.enumerated() {
            for name in file.tensorNames where location[name] == nil {
                location[name] = position
                names.append(name)
            }
        }
        self.tensorNames = names
        self.location = location
    }

    private func checkUnique() throws {
        for (position, file) in files.enumerated() {
            for name in file.tensorNames where location[name] != position {
                throw CheckpointError.tensorInTwoShards(tensor: name, first: files[location[name]!].name, second: file.name)
            }
        }
    }

    // MARK: Inspecting

    /// True if the checkpoint has an index (even with a single shard).
    public var isSharded: Bool { indexURL != nil }

    /// The `__metadata__` of the first file (transformers writes `["format": "pt"]` in every shard).
    public var metadata: [String: String] { files.first?.metadata ?? [:] }

    /// Every tensor's header entry, in `tensorNames` order.
    public var tensors: [TensorInfo] { tensorNames.map { try! info($0) } }

    public func contains(_ tensor: String) -> Bool { location[tensor] != nil }

    /// The file holding `tensor`.
    /// - Throws: `CheckpointError.tensorNotFound`.
    public func file(containing tensor: String) throws -> SafetensorsFile {
        guard let position = location[tensor] else {
            throw CheckpointError.tensorNotFound(
                checkpoint: (indexURL ?? files.first?.url ?? directory).path, tensor: tensor, available: tensorNames.count)
        }
        return files[position]
    }

    /// The shard file name holding each tensor (for a single file, all map to its name).
    public var shardAssignment: [String: String] {
        location.mapValues { files[$0].url?.lastPathComponent ?? files[$0].name }
    }

    // MARK: Reading (see the SafetensorsFile methods of the same names)

    public func info(_ tensor: String) throws -> TensorInfo {
        try file(containing: tensor).info(tensor)
    }

    /// Tensor bytes read from every file of the checkpoint so far.
    public var bytesRead: Int { files.reduce(0) { $0 + $1.bytesRead } }

    public func floats(_ tensor: String) throws -> [Float] {
        try file(containing: tensor).floats(tensor)
    }

    public func floats(_ tensor: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        try file(containing: tensor).floats(tensor, into: destination)
    }

    public func doubles(_ tensor: String) throws -> [Double] {
        try file(containing: tensor).doubles(tensor)
    }

    public func int64s(_ tensor: String) throws -> [Int64] {
        try file(containing: tensor).int64s(tensor)
    }

    public func int32s(_ tensor: String) throws -> [Int32] {
        try file(containing: tensor).int32s(tensor)
    }

    public func rawBytes(_ tensor: String) throws -> [UInt8] {
        try file(containing: tensor).rawBytes(tensor)
    }

    public func withFloats<R>(_ tensor: String, _ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        try file(containing: tensor).withFloats(tensor, body)
    }

    public func withRawBytes<R>(_ tensor: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try file(containing: tensor).withRawBytes(tensor, body)
    }
}
