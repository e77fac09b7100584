// The edit benchmark's workload directory: a randomly initialised GPT-2 checkpoint in Hugging Face
// format, the statistics corpus, the CounterFact requests, the hparams and the context templates.
// Both implementations (alphaedit and the official PyTorch code) read the same directory.

import Editing
import Foundation
import Linalg
import Transformer

/// The files of a workload directory.
struct EditWorkloadLayout {
    let directory: URL

    /// A Hugging Face GPT-2 folder: config.json, generation_config.json, model.safetensors and the
    /// tokenizer files.
    var model: URL { directory.appendingPathComponent("model", isDirectory: true) }
    /// One statistics sample per line.
    var corpus: URL { directory.appendingPathComponent("corpus.txt") }
    /// A JSON list of CounterFact records, unchanged.
    var requests: URL { directory.appendingPathComponent("requests.json") }
    /// An official-format AlphaEdit hparams file.
    var hparams: URL { directory.appendingPathComponent("hparams.json") }
    /// A JSON list of lists of templates (the oracle format).
    var contextTemplates: URL { directory.appendingPathComponent("context_templates.json") }
    /// How the workload was made (`EditWorkloadManifest`).
    var manifest: URL { directory.appendingPathComponent("workload.json") }
}

/// `workload.json`: the parameters a workload was prepared with. Informational; neither
/// implementation needs it to run.
struct EditWorkloadManifest: Codable {
    var format = "alphaedit-bench edit workload, version 1"
    var layers: Int
    var width: Int
    var heads: Int
    var vocabularySize: Int
    var positions: Int
    var parameters: Int
    var seed: UInt64
    var initialisation = "N(0, 0.02²) for every matrix (wte, wpe, c_attn, c_fc), c_proj weights N(0, (0.02/√(2·n_layer))²), biases 0, layer-norm weights 1 (TransformerModel.randomlyInitialized, SplitMix64 + Box-Muller)"
    var samples: Int
    var requests: Int
    var editLayers: [Int]
    var vLossLayer: Int
    var templateSeed: UInt64
    var templateSampling: String
    var sourceModel: String
    var sourceCorpus: String
    var sourceRequests: String
    var corpusNote = "the first `samples` texts of the source corpus.jsonl (field text), one per line; line breaks inside a text (\\r\\n, \\r, \\n, \\u{0B}, \\u{0C}, \\u{85}, \\u{2028}, \\u{2029}) replaced by one space each"
    var preparedAt: String
}

/// What `alphaedit-bench edit prepare` writes, and how.
struct EditWorkloadPreparation {
    var layers: Int
    var width: Int
    var heads: Int
    var vocabularySize: Int
    var positions: Int
    var seed: UInt64
    var samples: Int
    var requests: Int
    /// nil: [4…8] when the model has at least 10 blocks, else [1…max(1, n/2)] (or [0] for one block).
    var editLayers: [Int]?
    var templateSeed: UInt64
    var sourceModel: URL
    var counterfact: URL

    /// The edit layers actually used.
    var resolvedEditLayers: [Int] {
        if let editLayers { return editLayers }
        if layers >= 10 { return [4, 5, 6, 7, 8] }
        if layers == 1 { return [0] }
        return Array(1...max(1, layers / 2))
    }

    /// Checks the shape and the edit layers before anything is written.
    func validate() throws -> String? {
        let architecture = self.architecture(endOfTextID: 0)
        if let problem = architecture.problem { return problem }
        let edit = resolvedEditLayers
        if edit.isEmpty || edit != edit.sorted() || Set(edit).count != edit.count || edit.first! < 0 || edit.last! >= layers {
            return "edit layers \(edit) must be distinct, ascending and inside the model's \(layers) blocks"
        }
        if samples < 1 || requests < 1 { return "--samples and --requests must be at least 1" }
        return nil
    }

    func architecture(endOfTextID: Int) -> GPT2Architecture {
        GPT2Architecture(layers: layers, width: width, heads: heads, vocabularySize: vocabularySize,
                         contextLength: positions, endOfTextID: endOfTextID)
    }

    /// Writes the workload into a temporary sibling of `destination`, then renames it into place.
    func write(to destination: URL, overwrite: Bool, log: (String) -> Void) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: destination.path, isDirectory: &isDirectory) {
            guard overwrite, isDirectory.boolValue else {
                throw EditBenchError.invalid("\(destination.path) exists; pass --overwrite to replace it (directories only)")
            }
        }
        let parent = destination.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let staging = parent.appendingPathComponent(".\(destination.lastPathComponent).partial-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        do {
            try writeContents(into: EditWorkloadLayout(directory: staging), log: log)
            if fm.fileExists(atPath: destination.path) { try fm.removeItem(at: destination) }
            try fm.moveItem(at: staging, to: destination)
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
    }

    private func writeContents(into layout: EditWorkloadLayout, log: (String) -> Void) throws {
        let fm = FileManager.default

        // Tokenizer first: its end-of-text id goes into config.json, its vocabulary bounds the model's.
        try fm.createDirectory(at: layout.model, withIntermediateDirectories: true)
        var copied: [String] = []
        for name in Self.tokenizerFiles {
            let source = sourceModel.appendingPathComponent(name)
            guard fm.fileExists(atPath: source.path) else { continue }
            try fm.copyItem(at: source, to: layout.model.appendingPathComponent(name))
            copied.append(name)
        }
        guard copied.contains("tokenizer.json") else {
            throw EditBenchError.invalid("\(sourceModel.path) holds no tokenizer.json to copy")
        }
        let tokenizer = try Tokenizer(directory: layout.model)
        guard tokenizer.vocabularySize <= vocabularySize else {
            throw EditBenchError.invalid("the tokenizer of \(sourceModel.path) has \(tokenizer.vocabularySize) tokens, more than --vocab \(vocabularySize)")
        }
        let endOfText = tokenizer.eosTokenID ?? 0
        log("tokenizer: \(copied.joined(separator: ", ")) from \(sourceModel.path) (\(tokenizer.vocabularySize) tokens, end of text \(endOfText))")

        // The model.
        let architecture = self.architecture(endOfTextID: endOfText)
        let config = try architecture.modelConfig()
        let (model, initSeconds) = measureSeconds { TransformerModel.randomlyInitialized(config: config, seed: seed) }
        let (_, writeSeconds) = try measureSeconds { try model.writeHuggingFaceGPT2(architecture: architecture, to: layout.model) }
        log("model: GPT-2, \(layers) blocks, width \(width), \(heads) heads, vocabulary \(vocabularySize), \(positions) positions: "
            + "\(architecture.parameterCount) parameters (\(formatted(Double(4 * architecture.parameterCount) / 1e9)) GB float32); "
            + "initialised in \(formatted(initSeconds, 1)) s (seed \(seed)), written in \(formatted(writeSeconds, 1)) s")

        // Statistics corpus.
        let corpusSource = sourceModel.appendingPathComponent("corpus.jsonl")
        let corpus = try Corpus(url: corpusSource)
        guard corpus.samples.count >= samples else {
            throw EditBenchError.invalid("\(corpusSource.path) holds \(corpus.samples.count) texts, fewer than --samples \(samples)")
        }
        let lines = corpus.samples.prefix(samples).map(Self.oneLine)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: layout.corpus, options: .atomic)
        log("corpus: the first \(samples) of \(corpus.samples.count) texts of \(corpusSource.path)")

        // Requests: the first records of the CounterFact file, byte for byte.
        let recordsText = try Self.firstRecords(of: counterfact, count: requests)
        let requestsText = "[\n" + recordsText.joined(separator: ",\n") + "\n]\n"
        let parsed = try EditRequest.parse(data: Data(requestsText.utf8), path: layout.requests.path)
        guard parsed.count == requests else {
            throw EditBenchError.invalid("\(counterfact.path): read \(parsed.count) requests, expected \(requests)")
        }
        for (i, request) in parsed.enumerated() where TargetScorer.targetIDs(request.targetNew, tokenizer: tokenizer).isEmpty {
            throw EditBenchError.invalid("\(counterfact.path): request \(i): target \"\(request.targetNew)\" encodes to no tokens")
        }
        try Data(requestsText.utf8).write(to: layout.requests, options: .atomic)
        log("requests: the first \(requests) records of \(counterfact.path)")

        // Hyper-parameters: the official gpt2-xl.json with this model's layers and corpus.
        let edit = resolvedEditLayers
        let hparamsText = Self.hparamsJSON(editLayers: edit, vLossLayer: layers - 1, samples: samples)
        let hparams = try EditHyperParameters.parse(data: Data(hparamsText.utf8), path: layout.hparams.path, algorithm: .alphaedit)
        try ModelLayout.validate(hparams, config: config, path: layout.hparams.path)
        try Data(hparamsText.utf8).write(to: layout.hparams, options: .atomic)
        log("hparams: official gpt2-xl.json values, layers \(edit), v_loss_layer \(layers - 1), mom2_n_samples \(samples)")

        // Context templates, sampled by alphaedit's sampler with the official settings. Token ids
        // the tokenizer cannot spell (ids ≥ its vocabulary, when the model's is larger) decode to
        // nothing, so the model's unembedding is restricted to the tokenizer's ids: top-5 sampling
        // from the model's distribution over the tokens that have text.
        let samplingModel: TransformerModel
        var sampling = "ContextTemplates.sample (official settings: seeds The, Therefore, Because, I, You; 10 tokens in total; top-5), seed \(templateSeed)"
        if vocabularySize > tokenizer.vocabularySize {
            let restricted = GPT2Architecture(layers: layers, width: width, heads: heads, vocabularySize: tokenizer.vocabularySize,
                                              contextLength: positions, endOfTextID: endOfText)
            var weights = model.weights
            let d = width
            weights.tokenEmbedding = Matrix(rows: tokenizer.vocabularySize, cols: d,
                                            elements: Array(model.weights.tokenEmbedding.elements.prefix(tokenizer.vocabularySize * d)))
            samplingModel = TransformerModel(config: try restricted.modelConfig(), weights: weights, bindings: model.bindings)
            sampling += "; logits restricted to the tokenizer's \(tokenizer.vocabularySize) ids (the model's other ids have no text)"
        } else {
            samplingModel = model
        }
        let templates = try ContextTemplates.sample(model: samplingModel, tokenizer: tokenizer, seed: templateSeed)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
        try encoder.encode(templates.groups).write(to: layout.contextTemplates, options: .atomic)
        log("context templates: \(templates.all.map { "\"\($0)\"" }.joined(separator: ", "))")

        let manifest = EditWorkloadManifest(
            layers: layers, width: width, heads: heads, vocabularySize: vocabularySize, positions: positions,
            parameters: architecture.parameterCount, seed: seed, samples: samples, requests: requests, editLayers: edit,
            vLossLayer: layers - 1, templateSeed: templateSeed, templateSampling: sampling,
            sourceModel: sourceModel.path, sourceCorpus: corpusSource.path, sourceRequests: counterfact.path,
            preparedAt: ISO8601DateFormatter().string(from: Date()))
        let manifestEncoder = JSONEncoder()
        manifestEncoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        manifestEncoder.keyEncodingStrategy = .convertToSnakeCase
        try manifestEncoder.encode(manifest).write(to: layout.manifest, options: .atomic)
    }

    /// The tokenizer files copied from the source model, when present.
    static let tokenizerFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
                                 "merges.txt", "added_tokens.json"]

    /// A text on one line: every line break (what Python's `str.splitlines` splits on, and `\r\n`
    /// as one) becomes one space.
    static func oneLine(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A where previousWasCR:
                previousWasCR = false
                continue                                   // \r\n: one space, already written
            case 0x0A, 0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
                out.unicodeScalars.append(" ")
                previousWasCR = false
            case 0x0D:
                out.unicodeScalars.append(" ")
                previousWasCR = true
            default:
                out.unicodeScalars.append(scalar)
                previousWasCR = false
            }
        }
        return out
    }

    /// The text of the first `count` elements of a top-level JSON list, each exactly as written.
    static func firstRecords(of file: URL, count: Int) throws -> [String] {
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw EditBenchError.invalid("\(file.path): cannot be read (\(error.localizedDescription))")
        }
        let bytes = [UInt8](data)
        var i = 0
        func skipSpace() { while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 } }
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "[") else {
            throw EditBenchError.invalid("\(file.path): not a JSON list of records")
        }
        i += 1
        var records: [String] = []
        while records.count < count {
            skipSpace()
            guard i < bytes.count, bytes[i] != UInt8(ascii: "]") else { break }
            let start = i
            var depth = 0, inString = false, escaped = false
            scan: while i < bytes.count {
                let b = bytes[i]
                if inString {
                    if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                } else {
                    switch b {
                    case UInt8(ascii: "\""): inString = true
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth < 0 { break scan }           // the list's closing bracket
                    case UInt8(ascii: ","): if depth == 0 { break scan }
                    default: break
                    }
                }
                i += 1
            }
            var end = i
            while end > start, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[end - 1]) { end -= 1 }
            guard end > start, depth <= 0, !inString else { throw EditBenchError.invalid("\(file.path): malformed JSON list") }
            records.append(String(decoding: bytes[start..<end], as: UTF8.self))
            if i < bytes.count, bytes[i] == UInt8(ascii: ",") { i += 1 }
        }
        guard records.count == count else {
            throw EditBenchError.invalid("\(file.path) holds \(records.count) records, fewer than --requests \(count)")
        }
        return records
    }

    /// The official `hparams/AlphaEdit/gpt2-xl.json` with the workload's layers and corpus.
    static func hparamsJSON(editLayers: [Int], vLossLayer: Int, samples: Int) -> String {
        let fields: [(String, String)] = [
            ("model_name", "\"gpt2-medium-random\""),
            ("layers", "[" + editLayers.map(String.init).joined(separator: ", ") + "]"),
            ("clamp_norm_factor", "0.75"),
            ("layer_selection", "\"all\""),
            ("fact_token", "\"subject_last\""),
            ("v_num_grad_steps", "20"),
            ("v_lr", "0.5"),
            ("v_loss_layer", "\(vLossLayer)"),
            ("v_weight_decay", "0.5"),
            ("kl_factor", "0.0625"),
            ("mom2_adjustment", "true"),
            ("mom2_update_weight", "20000"),
            ("rewrite_module_tmp", "\"transformer.h.{}.mlp.c_proj\""),
            ("layer_module_tmp", "\"transformer.h.{}\""),
            ("mlp_module_tmp", "\"transformer.h.{}.mlp\""),
            ("attn_module_tmp", "\"transformer.h.{}.attn\""),
            ("ln_f_module", "\"transformer.ln_f\""),
            ("lm_head_module", "\"lm_head\""),
            ("mom2_dataset", "\"bench_corpus\""),
            ("mom2_n_samples", "\(samples)"),
            ("mom2_dtype", "\"float32\""),
            ("nullspace_threshold", "0.02"),
            ("L2", "10"),
        ]
        return "{\n" + fields.map { "    \"\($0.0)\": \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }
}

/// A benchmark input that cannot be used, naming the file or flag.
enum EditBenchError: Error, CustomStringConvertible {
    case invalid(String)

    var description: String {
        switch self {
        case .invalid(let reason): return reason
        }
    }
}
