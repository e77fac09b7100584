import Foundation

/// Sampling settings of the generation metrics (`util/generate.py::generate_fast` as the
/// CounterFact evaluation calls it).
public struct GenerationSettings: Sendable, Equatable {
    /// Length of every text in tokens, **prompt included** (`max_out_len = 100`).
    public var maxOutLength: Int
    /// Top-k sampling (`top_k = 5`).
    public var topK: Int
    /// alphaedit's seed (the official run is unseeded). Record `case_id` c samples with
    /// `seed(for: c)`, so a record's texts do not depend on which other records are evaluated.
    public var seed: UInt64

    public init(maxOutLength: Int = 100, topK: Int = 5, seed: UInt64 = 0) {
        self.maxOutLength = maxOutLength
        self.topK = topK
        self.seed = seed
    }

    /// The sampling seed of one record: `seed XOR (caseID · 0x9E3779B97F4A7C15)`.
    public func seed(for caseID: Int) -> UInt64 {
        seed ^ (UInt64(bitPattern: Int64(caseID)) &* 0x9E37_79B9_7F4A_7C15)
    }
}

/// `generate_fast(model, tok, prompts, n_gen_per_prompt=1, max_out_len)`.
public enum FastGeneration {
    /// New tokens per prompt: every text is filled up to `maxOutLength` tokens (prompt included), and
    /// none is generated when the longest prompt already has `maxOutLength` (the official loop
    /// `while input_ids.size(1) < max_out_len` never runs).
    public static func newTokenCounts(promptLengths: [Int], maxOutLength: Int) -> [Int] {
        guard let longest = promptLengths.max(), longest < maxOutLength else { return promptLengths.map { _ in 0 } }
        return promptLengths.map { maxOutLength - $0 }
    }

    /// The official clean-up of a decoded text: NFKD, `"\n\n"` → `" "`, `"<|endoftext|>"` removed
    /// (other special tokens, e.g. Llama-3's decoded BOS, stay in the text as they do officially).
    public static func clean(_ text: String) -> String {
        text.decomposedStringWithCompatibilityMapping
            .replacingOccurrences(of: "\n\n", with: " ")
            .replacingOccurrences(of: "<|endoftext|>", with: "")
    }

    /// Generates one text per prompt: `decode(prompt ids + sampled ids)`, cleaned.
    /// - Parameter caseID: names the record in errors.
    /// - Throws: `EvaluationError.sequenceTooLong` when a text would exceed a learned position table.
    /// - Complexity: one batched sampling run per distinct prompt length, `maxOutLength − length` steps each.
    public static func generate(model: any EvaluatedModel, tokenizer: any EvaluationTokenizer, prompts: [String],
                                settings: GenerationSettings, seed: UInt64, caseID: Int) throws -> [String] {
        guard !prompts.isEmpty else { return [] }
        let ids = prompts.map { tokenizer.tokenIDs(for: $0) }
        for (prompt, sequence) in zip(prompts, ids) where sequence.isEmpty {
            throw EvaluationError.emptyPrompt(caseID: caseID, prompt: prompt)
        }
        let counts = newTokenCounts(promptLengths: ids.map(\.count), maxOutLength: settings.maxOutLength)
        if let limit = model.positionLimit {
            for (k, sequence) in ids.enumerated() where sequence.count + counts[k] > limit {
                throw EvaluationError.sequenceTooLong(caseID: caseID, text: prompts[k], tokens: sequence.count + counts[k], limit: limit)
            }
        }
        // Prompts of one length are sampled together, so no row runs past its own length (and past a
        // learned position table); group g (in order of first appearance) samples with its own seed.
        var continuations = ids.map { _ in [Int]() }
        var groups: [Int: [Int]] = [:], order: [Int] = []
        for (k, sequence) in ids.enumerated() {
            if groups[sequence.count] == nil { order.append(sequence.count) }
            groups[sequence.count, default: []].append(k)
        }
        for (g, length) in order.enumerated() {
            let members = groups[length]!
            let count = counts[members[0]]
            guard count > 0 else { continue }
            let groupSeed = seed ^ (UInt64(g + 1) &* 0xD1B5_4A32_D192_ED03)
            let sampled = model.sampleContinuations(prompts: members.map { ids[$0] }, maxNewTokens: count,
                                                    topK: settings.topK, seed: groupSeed)
            for (member, tokens) in zip(members, sampled) { continuations[member] = Array(tokens.prefix(count)) }
        }
        return ids.indices.map { k in clean(tokenizer.text(for: ids[k] + continuations[k])) }
    }
}
