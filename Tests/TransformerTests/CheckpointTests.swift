import Foundation
import Testing
import Transformer

/// Model directories: single file or index + shards, the index checks, and the writer that
/// saves an edited checkpoint in its input's dtype and sharding.
@Suite struct CheckpointTests {
    static let shardNames = (1 ... 3).map { "model-0000\($0)-of-00003.safetensors" }

    /// A scratch copy of a fixture folder's safetensors files (and index).
    static func copyOfFixture(_ folder: String) throws -> URL {
        let copy = try FixturePaths.temporaryDirectory("checkpoint-\(folder)")
        let source = FixturePaths.hfReference(folder)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path)
        where name.hasPrefix("model") || name == "config.json" {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: copy.appendingPathComponent(name))
        }
        return copy
    }

    static func listing(_ directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    static func checkpointError(_ url: URL, sourceLocation: SourceLocation = #_sourceLocation) -> CheckpointError? {
        let error = #expect(throws: CheckpointError.self, sourceLocation: sourceLocation) { try Checkpoint(directory: url) }
        #expect(error.map { !$0.description.contains("\n") } ?? true, sourceLocation: sourceLocation)
        return error
    }

    // MARK: Opening

    @Test func opensADirectoryAFileOrAnIndex() throws {
        let llama = FixturePaths.hfReference("llama")
        let sharded = FixturePaths.hfReference("llama-sharded")
        let fromDirectory = try Checkpoint(directory: llama)
        let fromFile = try Checkpoint(directory: llama.appendingPathComponent("model.safetensors"))
        let fromIndex = try Checkpoint(directory: sharded.appendingPathComponent("model.safetensors.index.json"))
        #expect(!fromDirectory.isSharded && !fromFile.isSharded && fromIndex.isSharded)
        #expect(fromDirectory.tensorNames == fromFile.tensorNames)
        #expect(Set(fromIndex.tensorNames) == Set(fromDirectory.tensorNames))
        #expect(fromIndex.contains("lm_head.weight") && !fromIndex.contains("lm_head.bias"))
        #expect(fromIndex.shardAssignment["model.norm.weight"] == "model-00003-of-00003.safetensors")
        #expect(Set(fromDirectory.shardAssignment.values) == ["model.safetensors"])
        #expect(try fromIndex.withFloats("model.norm.weight") { Array($0) } == fromDirectory.floats("model.norm.weight"))
        #expect(try fromIndex.file(containing: "lm_head.weight").url?.lastPathComponent == Self.shardNames[0])
    }

    @Test func missingOrEmptyDirectory() throws {
        let empty = try FixturePaths.temporaryDirectory("checkpoint-empty")
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(Self.checkpointError(empty) == .noCheckpoint(directory: empty.path))
        let missing = empty.appendingPathComponent("absent")
        #expect(Self.checkpointError(missing) == .notFound(path: missing.path))
    }

    @Test func tensorNotFoundNamesTheCheckpoint() throws {
        let checkpoint = try Checkpoint(directory: FixturePaths.hfReference("llama-sharded"))
        let error = #expect(throws: CheckpointError.self) { try checkpoint.floats("model.layers.9.mlp.up_proj.weight") }
        let index = FixturePaths.hfReference("llama-sharded").appendingPathComponent("model.safetensors.index.json").path
        #expect(error == .tensorNotFound(checkpoint: index, tensor: "model.layers.9.mlp.up_proj.weight", available: 21))
    }

    /// A checkpoint is immutable and Sendable: many tasks can read it at once.
    @Test func concurrentReadsAgree() async throws {
        let checkpoint = try Checkpoint(directory: FixturePaths.hfReference("llama-sharded"))
        let expected = try checkpoint.tensorNames.map { try checkpoint.rawBytes($0) }
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for task in 0 ..< 8 {
                group.addTask {
                    var bad = 0
                    for (i, name) in checkpoint.tensorNames.enumerated() where (i + task) % 2 == 0 {
                        let bytes = (try? checkpoint.rawBytes(name)) ?? []
                        let sum = (try? checkpoint.withFloats(name) { $0.reduce(0, +) }) ?? .nan
                        if bytes != expected[i] || sum.isNaN { bad += 1 }
                    }
                    return bad
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }

    // MARK: Index validation

    @Test func missingShardNamesTheIndexAndTheShard() throws {
        let copy = try Self.copyOfFixture("llama-sharded")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.removeItem(at: copy.appendingPathComponent(Self.shardNames[1]))
        let index = copy.appendingPathComponent("model.safetensors.index.json")
        let error = Self.checkpointError(copy)
        #expect(error == .missingShard(file: index.path, shard: Self.shardNames[1], tensorCount: 11))
        #expect(error?.description == "\(index.path): shard \"\(Self.shardNames[1])\" (holding 11 tensors) does not exist; the download is incomplete")
    }

    @Test func indexMappingATensorToTheWrongShard() throws {
        let copy = try Self.copyOfFixture("llama-sharded")
        defer { try? FileManager.default.removeItem(at: copy) }
        let index = copy.appendingPathComponent("model.safetensors.index.json")
        let text = try String(contentsOf: index, encoding: .utf8).replacingOccurrences(
            of: "\"model.norm.weight\": \"model-00003-of-00003", with: "\"model.norm.weight\": \"model-00001-of-00003")
        try text.write(to: index, atomically: true, encoding: .utf8)
        #expect(Self.checkpointError(copy) ==
                .tensorMissingFromShard(file: index.path, tensor: "model.norm.weight", shard: Self.shardNames[0]))
    }

    @Test func tensorInTwoShards() throws {
        let copy = try Self.copyOfFixture("llama-sharded")
        defer { try? FileManager.default.removeItem(at: copy) }
        // Rewrite shard 3 with an extra copy of lm_head.weight, which shard 1 holds.
        let first = try SafetensorsFile(url: copy.appendingPathComponent(Self.shardNames[0]))
        let third = copy.appendingPathComponent(Self.shardNames[2])
        let original = try SafetensorsFile(url: third)
        var writer = SafetensorsWriter(metadata: original.metadata)
        for name in original.tensorNames { try writer.add(copying: name, from: original) }
        try writer.add(copying: "lm_head.weight", from: first)
        try writer.write(to: third)
        #expect(Self.checkpointError(copy) ==
                .tensorInTwoShards(tensor: "lm_head.weight", first: first.name, second: third.path))
    }

    @Test func malformedIndexes() throws {
        let copy = try Self.copyOfFixture("llama-sharded")
        defer { try? FileManager.default.removeItem(at: copy) }
        let index = copy.appendingPathComponent("model.safetensors.index.json")
        let shard = Self.shardNames[0]
        let cases: [(String, (CheckpointError) -> Bool)] = [
            ("{\"weight_map\": ", { if case .indexNotJSON = $0 { return true }; return false }),
            ("[1]", { $0 == .invalidIndex(file: index.path, reason: "found [1]") }),
            ("{\"metadata\": {}}", { $0 == .invalidIndex(file: index.path, reason: "no \"weight_map\" key") }),
            ("{\"weight_map\": {\"a\": 1}}", { $0 == .invalidIndex(file: index.path, reason: "tensor \"a\" maps to 1") }),
            ("{\"weight_map\": {\"a\": \"../\(shard)\"}}", { $0 == .invalidShardName(file: index.path, shard: "../\(shard)") }),
            ("{\"weight_map\": {\"lm_head.weight\": \"\(shard)\", \"lm_head.weight\": \"\(Self.shardNames[1])\"}}",
             { $0 == .tensorListedTwice(file: index.path, tensor: "lm_head.weight", first: shard, second: Self.shardNames[1]) }),
            ("{\"weight_map\": {}, \"weight_map\": {}}", { $0 == .invalidIndex(file: index.path, reason: "\"weight_map\" appears twice") }),
        ]
        for (text, matches) in cases {
            try text.write(to: index, atomically: true, encoding: .utf8)
            if let error = Self.checkpointError(copy), !matches(error) { Issue.record("\(text): unexpected \(error)") }
        }
    }

    @Test func corruptShardIsASafetensorsErrorNamingTheShard() throws {
        let copy = try Self.copyOfFixture("llama-sharded")
        defer { try? FileManager.default.removeItem(at: copy) }
        let third = copy.appendingPathComponent(Self.shardNames[2])
        let bytes = try Data(contentsOf: third)
        try bytes.prefix(bytes.count - 1).write(to: third)
        let error = #expect(throws: SafetensorsError.self) { try Checkpoint(directory: copy) }
        guard case .offsetsBeyondData(let file, "model.norm.weight", _, _) = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(file == third.path)
    }

    // MARK: Writing

    @Test func editedShardedCheckpointKeepsItsShardingAndUntouchedBytes() throws {
        let source = try Checkpoint(directory: FixturePaths.hfReference("llama-sharded"))
        let edited = "model.layers.1.mlp.down_proj.weight"
        var writer = try CheckpointWriter(copying: source)
        let info = try source.info(edited)
        let newValues = (0 ..< info.elementCount).map { Float($0) * 0.001 }
        try writer.replace(name: edited, floats: newValues)

        let output = try FixturePaths.temporaryDirectory("checkpoint-edit")
        defer { try? FileManager.default.removeItem(at: output) }
        try writer.write(to: output)
        #expect(try Self.listing(output) == Self.shardNames + ["model.safetensors.index.json"])
        let result = try Checkpoint(directory: output)
        #expect(result.shardAssignment == source.shardAssignment)
        #expect(try result.floats(edited) == newValues)
        #expect(try result.info(edited).dtype == .F32 && result.info(edited).shape == info.shape)
        // Shards without the edited tensor, and the index, are byte-identical to the input.
        for name in [Self.shardNames[0], Self.shardNames[2], "model.safetensors.index.json"] {
            #expect(try Data(contentsOf: output.appendingPathComponent(name)) ==
                    Data(contentsOf: FixturePaths.hfReference("llama-sharded").appendingPathComponent(name)), "\(name)")
        }
        for name in source.tensorNames where name != edited {
            #expect(try result.rawBytes(name) == source.rawBytes(name))
        }
    }

    @Test func editedBF16CheckpointStaysBF16() throws {
        let source = try Checkpoint(directory: FixturePaths.hfReference("gpt2-bf16"))
        let edited = "transformer.h.1.mlp.c_proj.weight"
        var writer = try CheckpointWriter(copying: source)
        let values = try source.floats(edited).map { $0 + 0.001 }
        try writer.replace(name: edited, floats: values)
        #expect(throws: CheckpointError.replacingUnknownTensor(tensor: "lm_head.weight")) {
            try writer.replace(name: "lm_head.weight", floats: [])
        }
        #expect(throws: SafetensorsError.self) { try writer.replace(name: edited, floats: [1, 2]) }

        let output = try FixturePaths.temporaryDirectory("checkpoint-bf16")
        defer { try? FileManager.default.removeItem(at: output) }
        let written = try writer.write(to: output)
        #expect(written.map(\.lastPathComponent) == ["model.safetensors"])
        let result = try Checkpoint(directory: output)
        #expect(!result.isSharded && result.metadata == ["format": "pt"])
        #expect(try result.info(edited).dtype == .BF16)
        let expected = values.map { HalfFloat.float(fromBF16: HalfFloat.bf16Bits(from: $0)) }
        #expect(try result.floats(edited) == expected)
    }

    @Test func editingInPlaceKeepsOpenReadersValid() throws {
        let copy = try Self.copyOfFixture("gpt2")
        defer { try? FileManager.default.removeItem(at: copy) }
        let before = try Checkpoint(directory: copy)
        let name = "transformer.ln_f.weight"
        let old = try before.floats(name)
        var writer = try CheckpointWriter(copying: before)
        try writer.replace(name: name, floats: old.map { -$0 })
        try writer.write(to: copy)
        #expect(try Self.listing(copy) == ["config.json", "model.safetensors"])
        #expect(try before.floats(name) == old)   // the old mapping outlives the rename
        let after = try Checkpoint(directory: copy)
        #expect(try after.floats(name) == old.map { -$0 })
        #expect(try after.rawBytes("transformer.wte.weight") == before.rawBytes("transformer.wte.weight"))
    }

    @Test func switchingLayoutRemovesStaleWeightFilesOnly() throws {
        let copy = try Self.copyOfFixture("llama")
        defer { try? FileManager.default.removeItem(at: copy) }
        let source = try Checkpoint(directory: copy)
        var sharded = CheckpointWriter(maxShardBytes: 300_000)
        for name in source.tensorNames { try sharded.add(copying: name, from: source.file(containing: name)) }
        try sharded.write(to: copy)
        #expect(try Self.listing(copy) == ["config.json"] + Self.shardNames + ["model.safetensors.index.json"])
        let reopened = try Checkpoint(directory: copy)
        #expect(reopened.isSharded)

        var single = try CheckpointWriter(copying: reopened)
        single.shardAssignment = nil
        single.maxShardBytes = nil
        try single.write(to: copy)
        #expect(try Self.listing(copy) == ["config.json", "model.safetensors"])
        let final = try Checkpoint(directory: copy)
        for name in source.tensorNames { #expect(try final.rawBytes(name) == source.rawBytes(name)) }
    }

    @Test func shardPlans() throws {
        var writer = CheckpointWriter(maxShardBytes: 100)
        try writer.add(name: "a", floats: Array(repeating: 0, count: 10), shape: [10])   // 40 bytes
        try writer.add(name: "b", floats: Array(repeating: 0, count: 50), shape: [50])   // 200 bytes: alone
        try writer.add(name: "c", floats: Array(repeating: 0, count: 10), shape: [10])
        try writer.add(name: "d", floats: Array(repeating: 0, count: 10), shape: [10])
        let (shards, writesIndex) = try writer.plan()
        #expect(writesIndex)
        #expect(shards.map(\.tensorNames) == [["b"], ["a", "c"], ["d"]])   // huggingface_hub's order
        #expect(shards.map(\.fileName) == (1 ... 3).map { "model-0000\($0)-of-00003.safetensors" })
        #expect(shards.map(\.byteCount) == [200, 80, 40])

        writer.maxShardBytes = 1_000
        #expect(try writer.plan().shards.map(\.fileName) == ["model.safetensors"])
        #expect(try !writer.plan().writesIndex)
        writer.maxShardBytes = 0
        #expect(throws: CheckpointError.invalidShardSize(0)) { try writer.plan() }
        writer.shardAssignment = ["a": "x.safetensors", "b": "x.safetensors", "c": "y.safetensors"]
        #expect(throws: CheckpointError.unassignedTensor(tensor: "d")) { try writer.plan() }
        writer.shardAssignment?["d"] = "../y.safetensors"
        #expect(throws: CheckpointError.invalidShardName(file: "shardAssignment", shard: "../y.safetensors")) { try writer.plan() }
    }

    @Test func writingIntoAMissingDirectoryLeavesNothing() throws {
        let parent = try FixturePaths.temporaryDirectory("checkpoint-missing")
        defer { try? FileManager.default.removeItem(at: parent) }
        var writer = CheckpointWriter(maxShardBytes: 8)
        try writer.add(name: "a", floats: [1, 2], shape: [2])
        try writer.add(name: "b", floats: [3, 4], shape: [2])
        let missing = parent.appendingPathComponent("out")
        #expect(throws: CheckpointError.outputDirectoryMissing(directory: missing.path)) { try writer.write(to: missing) }
        #expect(try Self.listing(parent) == [])
        try FileManager.default.createDirectory(at: missing, withIntermediateDirectories: false)
        try writer.write(to: missing)
        #expect(try Self.listing(missing) == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"])
        #expect(try Checkpoint(directory: missing).floats("b") == [3, 4])
    }
}
