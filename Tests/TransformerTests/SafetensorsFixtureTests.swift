import Foundation
import Testing
import Transformer

/// Reads every safetensors file of `Tests/Fixtures/hf-reference/` and checks it against the
/// fixtures' README: tensor names, shapes and dtypes, the sharded llama, and the bf16/fp16 casts.
@Suite struct SafetensorsFixtureTests {
    typealias Expected = [String: (dtype: DType, shape: [Int])]

    // MARK: Expected contents, from the README

    /// The `reference.safetensors` tables of the README: `| `name` | [3, 24] | int64 | … |` rows
    /// under `### <model>`.
    static func readmeReferenceTables() throws -> [String: Expected] {
        let readme = try String(
            contentsOf: FixturePaths.root.appendingPathComponent("hf-reference/README.md"), encoding: .utf8)
        var tables: [String: Expected] = [:]
        var section: String?
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("### ") {
                section = String(line.dropFirst(4)).trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let section, line.hasPrefix("| `") else { continue }
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3 else { continue }
            let name = cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            let shape = cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                .split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces))! }
            let dtype: DType = cells[2] == "int64" ? .I64 : cells[2] == "float32" ? .F32 : .BOOL
            #expect(dtype != .BOOL, "README dtype \(cells[2])")
            tables[section, default: [:]][name] = (dtype, shape)
        }
        return tables
    }

    /// The model weights the README's folder table describes (2 layers, hidden 64, vocab 512…).
    static func expectedWeights(_ folder: String) -> Expected {
        var w: [String: [Int]] = [:]
        let (hidden, vocab) = (64, 512)
        switch folder {
        case "gpt2", "gpt2-bf16", "gpt2-fp16":
            // n_positions 128, Conv1D weights stored [in, out], tied lm_head (not stored).
            w["transformer.wte.weight"] = [vocab, hidden]
            w["transformer.wpe.weight"] = [128, hidden]
            for l in 0 ..< 2 {
                let p = "transformer.h.\(l)."
                for norm in ["ln_1", "ln_2"] { w[p + norm + ".weight"] = [hidden]; w[p + norm + ".bias"] = [hidden] }
                w[p + "attn.c_attn.weight"] = [hidden, 3 * hidden]; w[p + "attn.c_attn.bias"] = [3 * hidden]
                w[p + "attn.c_proj.weight"] = [hidden, hidden]; w[p + "attn.c_proj.bias"] = [hidden]
                w[p + "mlp.c_fc.weight"] = [hidden, 4 * hidden]; w[p + "mlp.c_fc.bias"] = [4 * hidden]
                w[p + "mlp.c_proj.weight"] = [4 * hidden, hidden]; w[p + "mlp.c_proj.bias"] = [hidden]
            }
            w["transformer.ln_f.weight"] = [hidden]; w["transformer.ln_f.bias"] = [hidden]
        case "gptj":
            // No position embeddings (rotary), bias-free attention, lm_head with bias, untied.
            w["transformer.wte.weight"] = [vocab, hidden]
            for l in 0 ..< 2 {
                let p = "transformer.h.\(l)."
                w[p + "ln_1.weight"] = [hidden]; w[p + "ln_1.bias"] = [hidden]
                for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] { w[p + "attn.\(proj).weight"] = [hidden, hidden] }
                w[p + "mlp.fc_in.weight"] = [4 * hidden, hidden]; w[p + "mlp.fc_in.bias"] = [4 * hidden]
                w[p + "mlp.fc_out.weight"] = [hidden, 4 * hidden]; w[p + "mlp.fc_out.bias"] = [hidden]
            }
            w["transformer.ln_f.weight"] = [hidden]; w["transformer.ln_f.bias"] = [hidden]
            w["lm_head.weight"] = [vocab, hidden]; w["lm_head.bias"] = [vocab]
        case "llama", "llama-sharded", "qwen2":
            // intermediate 172, 4 heads × 16, 2 KV heads (k/v [32, 64]); qwen2: q/k/v biases, tied.
            let (intermediate, kv) = (172, 2 * 16)
            w["model.embed_tokens.weight"] = [vocab, hidden]
            for l in 0 ..< 2 {
                let p = "model.layers.\(l)."
                w[p + "input_layernorm.weight"] = [hidden]; w[p + "post_attention_layernorm.weight"] = [hidden]
                w[p + "self_attn.q_proj.weight"] = [hidden, hidden]; w[p + "self_attn.o_proj.weight"] = [hidden, hidden]
                w[p + "self_attn.k_proj.weight"] = [kv, hidden]; w[p + "self_attn.v_proj.weight"] = [kv, hidden]
                w[p + "mlp.gate_proj.weight"] = [intermediate, hidden]; w[p + "mlp.up_proj.weight"] = [intermediate, hidden]
                w[p + "mlp.down_proj.weight"] = [hidden, intermediate]
                if folder == "qwen2" {
                    w[p + "self_attn.q_proj.bias"] = [hidden]
                    w[p + "self_attn.k_proj.bias"] = [kv]; w[p + "self_attn.v_proj.bias"] = [kv]
                }
            }
            w["model.norm.weight"] = [hidden]
            if folder != "qwen2" { w["lm_head.weight"] = [vocab, hidden] }
        default:
            Issue.record("unknown folder \(folder)")
        }
        let dtype: DType = folder == "gpt2-bf16" ? .BF16 : folder == "gpt2-fp16" ? .F16 : .F32
        return w.mapValues { (dtype, $0) }
    }

    static func check(_ tensors: [TensorInfo], against expected: Expected, _ label: String) {
        #expect(Set(tensors.map(\.name)) == Set(expected.keys), "\(label): tensor names")
        for tensor in tensors {
            guard let want = expected[tensor.name] else { continue }
            #expect(tensor.dtype == want.dtype && tensor.shape == want.shape,
                    "\(label): \(tensor.name) is \(tensor.dtype) \(tensor.shape), README says \(want.dtype) \(want.shape)")
        }
    }

    // MARK: Tests

    @Test(arguments: FixturePaths.hfModelFolders)
    func modelWeightsMatchTheReadme(folder: String) throws {
        let checkpoint = try Checkpoint(directory: FixturePaths.hfReference(folder))
        #expect(checkpoint.isSharded == (folder == "llama-sharded"))
        #expect(checkpoint.metadata == ["format": "pt"])
        Self.check(checkpoint.tensors, against: Self.expectedWeights(folder), folder)
        for name in checkpoint.tensorNames {
            let values = try checkpoint.floats(name)
            #expect(values.count == (try checkpoint.info(name)).elementCount)
            #expect(values.allSatisfy { $0.isFinite }, "\(folder) \(name) has non-finite weights")
        }
    }

    @Test(arguments: ["gpt2", "gpt2-bf16", "gpt2-fp16", "gptj", "llama", "qwen2"])
    func referenceTensorsMatchTheReadme(folder: String) throws {
        let tables = try Self.readmeReferenceTables()
        #expect(Set(tables.keys) == ["gpt2", "gptj", "llama", "qwen2"])
        var expected: Expected
        if folder.hasPrefix("gpt2-") {
            // README: "the right.* and left.* tensors of gpt2/ (same inputs, same names)".
            expected = tables["gpt2"]!.filter { $0.key.hasPrefix("right.") || $0.key.hasPrefix("left.") }
        } else {
            expected = try #require(tables[folder])
        }
        let file = try SafetensorsFile(url: FixturePaths.hfReference(folder).appendingPathComponent("reference.safetensors"))
        #expect(file.isMemoryMapped)
        #expect(file.metadata.isEmpty)
        Self.check(file.tensors, against: expected, "\(folder)/reference.safetensors")
        for tensor in file.tensors {
            switch tensor.dtype {
            case .I64:
                let values = try file.int64s(tensor.name)
                #expect(values.count == tensor.elementCount)
                if tensor.name.hasSuffix("attention_mask") { #expect(values.allSatisfy { $0 == 0 || $0 == 1 }) }
                if tensor.name.hasSuffix("input_ids") { #expect(values.allSatisfy { 0 ..< 512 ~= $0 }) }
                #expect(try file.int32s(tensor.name).map(Int64.init) == values)
            default:
                let values = try file.floats(tensor.name)
                let zeroCopySum = try file.withFloats(tensor.name) { $0.reduce(0, +) }
                #expect(zeroCopySum.bitPattern == values.reduce(0, +).bitPattern)
            }
        }
        // The file order is the writer's layout order: I64 before F32, then by name.
        #expect(file.tensorNames == file.tensors.sorted {
            $0.dtype == $1.dtype ? Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) : $0.dtype == .I64
        }.map(\.name))
    }

    @Test func shardedLlamaLoadsTheSameFloatsAsTheSingleFile() throws {
        let sharded = try Checkpoint(directory: FixturePaths.hfReference("llama-sharded"))
        let single = try Checkpoint(directory: FixturePaths.hfReference("llama"))
        #expect(sharded.files.count == 3)
        #expect(sharded.files.map { $0.url!.lastPathComponent } == (1 ... 3).map { "model-0000\($0)-of-00003.safetensors" })
        #expect(Set(sharded.tensorNames) == Set(single.tensorNames))
        for name in single.tensorNames {
            #expect(try sharded.info(name).shape == single.info(name).shape)
            let a = try sharded.floats(name), b = try single.floats(name)
            #expect(SafetensorsTestSupport.bits(a) == SafetensorsTestSupport.bits(b), "\(name) differs")
        }
    }

    /// README: gpt2-bf16/fp16 are "the same gpt2 weights cast" with round-to-nearest-even.
    @Test(arguments: [(DType.BF16, "gpt2-bf16"), (DType.F16, "gpt2-fp16")])
    func halfPrecisionGPT2IsTheRoundedFloat32(dtype: DType, folder: String) throws {
        let f32 = try SafetensorsFile(url: FixturePaths.hfReference("gpt2").appendingPathComponent("model.safetensors"))
        let half = try SafetensorsFile(url: FixturePaths.hfReference(folder).appendingPathComponent("model.safetensors"))
        #expect(f32.tensorNames == half.tensorNames)
        var writer = SafetensorsWriter(metadata: half.metadata)
        var maxError: Float = 0
        for name in f32.tensorNames {
            let info = try f32.info(name)
            let weights = try f32.floats(name)
            var one = SafetensorsWriter()
            try one.add(name: name, floats: weights, shape: info.shape, as: dtype)
            let rounded = try SafetensorsFile(bytes: one.serialized(), name: "rounded")
            #expect(try rounded.rawBytes(name) == half.rawBytes(name), "\(folder) \(name): stored bytes differ from RNE rounding")
            let upcast = try half.floats(name)
            #expect(SafetensorsTestSupport.bits(upcast) == SafetensorsTestSupport.bits(try rounded.floats(name)))
            maxError = max(maxError, zip(upcast, weights).map { abs($0 - $1) }.max() ?? 0)
            try writer.add(name: name, floats: weights, shape: info.shape, as: dtype)
        }
        #expect(maxError > 0 && maxError < 1e-2)
        // The whole file, rebuilt from the float32 weights, is byte-identical to the fixture.
        let original = try Data(contentsOf: half.url!)
        #expect(writer.serialized() == [UInt8](original))
    }

    /// Rewriting each fixture file through the writer reproduces it byte for byte (layout order,
    /// header text, padding): the writer writes what the Python library writes.
    @Test func writerReproducesEveryFixtureFileByteForByte() throws {
        var urls: [URL] = []
        for folder in FixturePaths.hfModelFolders {
            let directory = FixturePaths.hfReference(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".safetensors") {
                urls.append(directory.appendingPathComponent(name))
            }
        }
        #expect(urls.count == 7 + 2 + 6)   // 6 model.safetensors + 3 shards, 6 reference files
        for url in urls {
            let file = try SafetensorsFile(url: url)
            var writer = SafetensorsWriter(metadata: file.metadata)
            for name in file.tensorNames { try writer.add(copying: name, from: file) }
            #expect(writer.serialized() == [UInt8](try Data(contentsOf: url)), "\(url.path)")
            #expect(writer.fileByteCount == file.fileSize)
        }
    }

    @Test func checkpointWriterReproducesTheShardedLlama() throws {
        let source = FixturePaths.hfReference("llama-sharded")
        let single = try Checkpoint(directory: FixturePaths.hfReference("llama"))
        var writer = CheckpointWriter(maxShardBytes: 300_000)   // save_pretrained(max_shard_size="300KB")
        for name in single.tensorNames { try writer.add(copying: name, from: single.file(containing: name)) }
        let output = try FixturePaths.temporaryDirectory("safetensors-shards")
        defer { try? FileManager.default.removeItem(at: output) }
        let written = try writer.write(to: output)
        let names = ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                     "model-00003-of-00003.safetensors", "model.safetensors.index.json"]
        #expect(written.map(\.lastPathComponent) == names)
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.path).sorted() == names)
        for name in names {
            let ours = try Data(contentsOf: output.appendingPathComponent(name))
            let theirs = try Data(contentsOf: source.appendingPathComponent(name))
            #expect(ours == theirs, "\(name) differs from the transformers output")
        }
    }
}
