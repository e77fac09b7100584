import Transformer

/// One teacher-forced zsRE query: after `prompt`, the model's top-1 token should be the first token of
/// `expected` (official `inp_prompts` / `inp_targets`).
public struct ZsREQuery: Sendable, Equatable, Codable {
    public var prompt: String
    public var expected: String

    public init(prompt: String, expected: String) {
        self.prompt = prompt
        self.expected = expected
    }

    enum CodingKeys: String, CodingKey { case prompt, expected = "target" }
}

/// The pieces of `experiments/py/eval_utils_zsre.py` that do not need a model.
public enum ZsREScoring {
    /// The rewrite/paraphrase queries: with `t = tok(" " + target)` (BOS dropped for a BOS tokenizer),
    /// for each prompt and each `i < len(t)`: `prompt + decode(t[:i])` → `decode(t[i])`.
    ///
    /// With a BOS tokenizer and `i > 0` the official code inserts a space, `prompt + " " + decode(t[:i])`,
    /// although the decoded text already starts with one (spec §14 item 15); replicated.
    /// - Returns: queries ordered prompt-major, as the official flattening.
    public static func teacherForcedQueries(prompts: [String], target: String, tokenizer: any EvaluationTokenizer) -> [ZsREQuery] {
        var ids = tokenizer.tokenIDs(for: " " + target)
        if tokenizer.prependsBOS { ids = Array(ids.dropFirst()) }
        var queries: [ZsREQuery] = []
        for prompt in prompts {
            for i in 0..<ids.count {
                let prefix = tokenizer.text(for: Array(ids[..<i]))
                let input = tokenizer.prependsBOS && i > 0 ? prompt + " " + prefix : prompt + prefix
                queries.append(ZsREQuery(prompt: input, expected: tokenizer.text(for: [ids[i]])))
            }
        }
        return queries
    }

    /// The neighbourhood queries of `dsets/zsre.py`: with `a = tok(" " + loc_ans)` (default special
    /// tokens, **not** stripped), for each `i < len(a)`: `loc + "?" + decode(a[:i])` → `decode(a[i])`.
    ///
    /// With a BOS tokenizer the first query expects the BOS itself and the later prompts contain the
    /// decoded BOS text (spec §14 item 15); replicated.
    public static func neighborhoodQueries(loc: String, answer: String, tokenizer: any EvaluationTokenizer) -> [ZsREQuery] {
        let ids = tokenizer.tokenIDs(for: " " + answer)
        return (0..<ids.count).map { i in
            ZsREQuery(prompt: loc + "?" + tokenizer.text(for: Array(ids[..<i])), expected: tokenizer.text(for: [ids[i]]))
        }
    }

    /// The id a query expects: column 0 of `tok(expected, padding=True)["input_ids"]`, column 1 with a
    /// BOS tokenizer ("to skip BOS"); a row too short for the column holds the padding id.
    public static func expectedID(_ expected: String, tokenizer: any EvaluationTokenizer) -> Int {
        let ids = tokenizer.tokenIDs(for: expected)
        let column = tokenizer.prependsBOS ? 1 : 0
        return ids.count > column ? ids[column] : tokenizer.paddingID
    }

    /// Whether the top-1 token at the last real position is `expectedID` (ties: first maximal index).
    public static func isCorrect(lastLogits: ArraySlice<Float>, expectedID: Int) -> Bool {
        TeacherForcing.argmax(lastLogits) == expectedID
    }
}
