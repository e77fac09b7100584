import Foundation

/// The parts of `tokenizer_config.json` (and `special_tokens_map.json`, which has the same token keys)
/// that the tokenizer reads. A special token is written either as a string or as an AddedToken object
/// (`{"content": "<|endoftext|>", "lstrip": false, ...}`); both give its content. Other keys are ignored.
struct TokenizerConfigJSON: Decodable {
    var bosToken: String?
    var eosToken: String?
    var padToken: String?
    var unkToken: String?
    var cleanUpTokenizationSpaces: Bool?

    enum CodingKeys: String, CodingKey {
        case bosToken = "bos_token"
        case eosToken = "eos_token"
        case padToken = "pad_token"
        case unkToken = "unk_token"
        case cleanUpTokenizationSpaces = "clean_up_tokenization_spaces"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        bosToken = try c.decodeIfPresent(SpecialTokenJSON.self, forKey: .bosToken)?.content
        eosToken = try c.decodeIfPresent(SpecialTokenJSON.self, forKey: .eosToken)?.content
        padToken = try c.decodeIfPresent(SpecialTokenJSON.self, forKey: .padToken)?.content
        unkToken = try c.decodeIfPresent(SpecialTokenJSON.self, forKey: .unkToken)?.content
        cleanUpTokenizationSpaces = try c.decodeIfPresent(Bool.self, forKey: .cleanUpTokenizationSpaces)
    }

    init() {}

    /// `self` with every token that `other` sets replaced by `other`'s (transformers lets
    /// special_tokens_map.json override tokenizer_config.json).
    func overridden(by other: TokenizerConfigJSON) -> TokenizerConfigJSON {
        var out = self
        out.bosToken = other.bosToken ?? bosToken
        out.eosToken = other.eosToken ?? eosToken
        out.padToken = other.padToken ?? padToken
        out.unkToken = other.unkToken ?? unkToken
        out.cleanUpTokenizationSpaces = other.cleanUpTokenizationSpaces ?? cleanUpTokenizationSpaces
        return out
    }
}

/// `"<s>"` or `{"content": "<s>", ...}`.
struct SpecialTokenJSON: Decodable {
    var content: String

    private enum CodingKeys: String, CodingKey { case content }

    init(from decoder: any Decoder) throws {
        if let string = try? decoder.singleValueContainer().decode(String.self) {
            content = string
        } else {
            content = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .content)
        }
    }
}
