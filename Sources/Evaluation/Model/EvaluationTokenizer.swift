import Transformer

/// What the metrics need from a tokenizer: Hugging Face's `tok(text)["input_ids"]` (default special
/// tokens), `tok.decode(ids)`, whether a BOS is prepended, and the padding id.
///
/// `Tokenizer` conforms; tests use small fakes to compute expected values by hand.
public protocol EvaluationTokenizer: Sendable {
    /// `tok(text)["input_ids"]`: with the default special tokens (Llama-3 prepends BOS).
    func tokenIDs(for text: String) -> [Int]
    /// `tok.decode(ids)` as the official runs called it: special tokens kept, and transformers'
    /// `clean_up_tokenization` applied (`" ."` → `"."`, `" 's"` → `"'s"`…).
    func text(for ids: [Int]) -> String
    /// Whether `tokenIDs(for:)` starts with a BOS token.
    ///
    /// The official evaluation tests `'llama' in model.config._name_or_path.lower()` instead (spec
    /// §14 item 19: a local path without "llama" silently takes the GPT-2 branch). alphaedit asks the
    /// tokenizer, which is what that test stands for: Llama-3's tokenizer prepends BOS, GPT-2's does not.
    var prependsBOS: Bool { get }
    /// The padding id; the official code sets `tok.pad_token = tok.eos_token`.
    var paddingID: Int { get }
}

extension Tokenizer: EvaluationTokenizer {
    public func tokenIDs(for text: String) -> [Int] { encode(text, addSpecialTokens: true) }
    /// Clean-up is always on: it was `decode`'s default in transformers 4.23 (pinned by the official
    /// README, used for GPT-2 XL and GPT-J), and Llama-3's tokenizer_config.json turns it on, so every
    /// official run decoded with it, whatever a local tokenizer_config.json says.
    public func text(for ids: [Int]) -> String { decode(ids, cleanUpTokenizationSpaces: true) }
    public var prependsBOS: Bool { addsBOS }
    public var paddingID: Int { eosTokenID ?? padTokenID ?? 0 }
}
