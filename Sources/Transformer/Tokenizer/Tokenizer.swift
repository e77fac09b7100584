import Foundation

/// A Hugging Face byte-level BPE tokenizer (`tokenizer.json`), as GPT-2, GPT-J, Llama-3 and Qwen2 use.
///
/// `encode` gives the ids of the Hugging Face call `tok(text)["input_ids"]`, `decode` those of
/// `tok.decode(ids)`. The pipeline, as in the `tokenizers` library:
/// 1. added tokens (`<|endoftext|>`...) are cut out of the text, matched in the raw text or, for
///    `normalized` ones, in the normalized text (`AddedTokenMatcher`);
/// 2. the rest is normalized (`normalizer`: none, or NFC/NFD/NFKC/NFKD);
/// 3. pre-tokenized into words (`PreTokenizer`: the GPT-2 or Llama-3 regex, hand-written);
/// 4. each word's bytes are merged by BPE (`BytePairEncoder`, cached per word);
/// 5. the post-processor adds special tokens (`PostProcessor`: e.g. Llama-3's BOS).
///
/// Supported: `model.type` BPE (merges as `"a b"` or `["a", "b"]`, `ignore_merges`, `unk_token`),
/// pre-tokenizer ByteLevel or Sequence[Split(regex, Isolated)..., ByteLevel], decoder ByteLevel,
/// post-processors ByteLevel, TemplateProcessing and Sequence. Anything else is refused when loading
/// with a `TokenizerError` naming the file and the field.
///
/// Thread-safe: one instance can encode from many threads (the word cache is locked).
public final class Tokenizer: Sendable {
    private let normalizer: Normalizer
    /// Added tokens matched before normalization (`normalized: false`, e.g. special tokens).
    private let rawAddedTokens: AddedTokenMatcher
    /// Added tokens matched in the normalized text (`normalized: true`).
    private let normalizedAddedTokens: AddedTokenMatcher
    private let preTokenizer: PreTokenizer
    private let bpe: BytePairEncoder
    private let postProcessor: PostProcessor

    /// Model vocabulary and added tokens by content (added tokens win, as in `tokenizers`).
    private let idByToken: [String: Int]
    /// Token content by id (nil where no token has the id).
    private let tokenByID: [String?]
    /// What the ByteLevel decoder makes of each id.
    private let bytesByID: [[UInt8]]
    /// Ids of added tokens marked `special`.
    private let specialIDs: Set<Int>

    /// The number of distinct token ids: model vocabulary plus added tokens (Hugging Face's
    /// `len(tokenizer)`, `get_vocab_size(with_added_tokens=True)`).
    public let vocabularySize: Int
    /// The largest token id (of `model.vocab` or `added_tokens`); −1 for an empty vocabulary.
    public var largestID: Int { tokenByID.count - 1 }
    /// The id of tokenizer_config.json's `bos_token`, if it names one.
    public let bosTokenID: Int?
    /// The id of tokenizer_config.json's `eos_token`, if it names one.
    public let eosTokenID: Int?
    /// The id of tokenizer_config.json's `pad_token`, if it names one.
    public let padTokenID: Int?
    /// The id of tokenizer_config.json's `unk_token`, if it names one.
    public let unkTokenID: Int?
    /// Whether `encode(_:addSpecialTokens: true)` starts with `bosTokenID` (the post-processor's template
    /// puts it there, as Llama-3's does; GPT-2's adds nothing).
    public let addsBOS: Bool
    /// tokenizer_config.json's `clean_up_tokenization_spaces` (false when absent), `decode`'s default.
    public let cleansUpTokenizationSpaces: Bool

    /// Assembles a tokenizer from decoded files.
    /// - Parameters:
    ///   - path: tokenizer.json's path, for error messages.
    ///   - configPath: the path of the file that named the special tokens, for error messages.
    /// - Throws: `TokenizerError`.
    init(json: TokenizerJSON, config: TokenizerConfigJSON, path: String, configPath: String) throws {
        // Ids index dense tables and are stored narrower: an absurd id is refused before anything
        // is built from it.
        if let (token, id) = json.model.vocab.filter({ $0.value > Self.maxTokenID }).min(by: { $0.value < $1.value }) {
            throw TokenizerError.invalidField(path: path, field: "model.vocab",
                                              reason: "gives the token \(quoted(token)) the id \(id), above the largest supported id \(Self.maxTokenID)")
        }
        if let index = json.addedTokens.firstIndex(where: { $0.id > Self.maxTokenID }) {
            throw TokenizerError.invalidField(path: path, field: "added_tokens[\(index)].id",
                                              reason: "is \(json.addedTokens[index].id), above the largest supported id \(Self.maxTokenID)")
        }
        do {
            let normalizer = Normalizer(forms: json.normalizer?.forms ?? [])
            self.normalizer = normalizer
            let added = json.addedTokens.map(AddedToken.init)
            rawAddedTokens = AddedTokenMatcher(added.filter { !$0.normalized }.map { ($0, $0.content) })
            normalizedAddedTokens = AddedTokenMatcher(
                added.filter(\.normalized).map { ($0, normalizer.apply($0.content)) })
            preTokenizer = try PreTokenizer(json: json.preTokenizer)
            guard json.decoder != nil else {
                throw TokenizerJSONFault.unsupported([], "decoder", value: "null", supported: "ByteLevel")
            }
            bpe = try BytePairEncoder(
                vocab: json.model.vocab, merges: json.model.merges, unkToken: json.model.unkToken,
                fuseUnk: json.model.fuseUnk, ignoreMerges: json.model.ignoreMerges, path: path)
            postProcessor = PostProcessor(json: json.postProcessor)
        } catch let fault as TokenizerJSONFault {
            throw fault.error(path: path)
        }

        var idByToken = json.model.vocab
        let maxID = max(json.model.vocab.values.max() ?? -1, json.addedTokens.map(\.id).max() ?? -1)
        var tokenByID = [String?](repeating: nil, count: maxID + 1)
        for (token, id) in json.model.vocab {
            tokenByID[id] = token
        }
        var specialIDs = Set<Int>()
        for token in json.addedTokens {
            idByToken[token.content] = token.id
            tokenByID[token.id] = token.content
            if token.special { specialIDs.insert(token.id) }
        }
        // Every special token a template inserts must be a token (a model would be fed its id).
        for (name, ids) in PostProcessorJSON.usedSpecialTokens(json.postProcessor) {
            if let id = ids.first(where: { $0 < 0 || $0 >= tokenByID.count || tokenByID[$0] == nil }) {
                throw TokenizerError.invalidField(path: path, field: "post_processor.special_tokens",
                                                  reason: "gives \(quoted(name)) the id \(id), which names no token of the vocabulary or added_tokens")
            }
        }
        self.idByToken = idByToken
        self.tokenByID = tokenByID
        self.specialIDs = specialIDs
        bytesByID = tokenByID.map { $0.map(ByteLevel.decodedBytes(of:)) ?? [] }
        vocabularySize = tokenByID.reduce(0) { $0 + ($1 == nil ? 0 : 1) }

        func lookUp(_ token: String?, _ field: String) throws -> Int? {
            guard let token else { return nil }
            guard let id = idByToken[token] else {
                throw TokenizerError.unknownToken(path: configPath, field: field, token: token)
            }
            return id
        }
        bosTokenID = try lookUp(config.bosToken, "bos_token")
        eosTokenID = try lookUp(config.eosToken, "eos_token")
        padTokenID = try lookUp(config.padToken, "pad_token")
        unkTokenID = try lookUp(config.unkToken, "unk_token")
        addsBOS = bosTokenID != nil && postProcessor.singlePrefix.first == bosTokenID
        cleansUpTokenizationSpaces = config.cleanUpTokenizationSpaces ?? false
    }

    /// The largest token id accepted (2^21 − 1, eight times the largest published vocabularies):
    /// tables indexed by id are allocated up to the largest id.
    static let maxTokenID = (1 << 21) - 1

    // MARK: encoding

    /// The ids of `text`, as Hugging Face's `tok(text)["input_ids"]`.
    /// - Parameters:
    ///   - addSpecialTokens: apply the post-processor's template (e.g. prepend BOS for Llama-3).
    ///     Special tokens written in the text are recognised either way.
    /// - Complexity: O(n) in the text's length; words seen before cost one cache lookup.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        postProcessor.process(encodeSequence(text), nil, addSpecialTokens: addSpecialTokens)
    }

    /// The ids of the pair `text`, `pair`, as Hugging Face's `tok(text, pair)["input_ids"]`.
    public func encode(_ text: String, pair: String, addSpecialTokens: Bool = true) -> [Int] {
        postProcessor.process(encodeSequence(text), encodeSequence(pair), addSpecialTokens: addSpecialTokens)
    }

    /// The ids of one sequence, before the post-processor.
    private func encodeSequence(_ text: String) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        var text = text
        text.withUTF8 { bytes in
            if rawAddedTokens.isEmpty {
                encodeNormalizing(bytes, into: &ids)
                return
            }
            rawAddedTokens.split(bytes) { segment in
                switch segment {
                case .token(let id):
                    ids.append(id)
                case .text(let start, let end):
                    encodeNormalizing(UnsafeBufferPointer(rebasing: bytes[start..<end]), into: &ids)
                }
            }
        }
        return ids
    }

    private func encodeNormalizing(_ bytes: UnsafeBufferPointer<UInt8>, into ids: inout [Int]) {
        if normalizer.isIdentity {
            encodeNormalized(bytes, into: &ids)
        } else {
            var normalized = normalizer.apply(String(decoding: bytes, as: UTF8.self))
            normalized.withUTF8 { encodeNormalized($0, into: &ids) }
        }
    }

    private func encodeNormalized(_ bytes: UnsafeBufferPointer<UInt8>, into ids: inout [Int]) {
        if normalizedAddedTokens.isEmpty {
            encodeWords(bytes, into: &ids)
            return
        }
        normalizedAddedTokens.split(bytes) { segment in
            switch segment {
            case .token(let id):
                ids.append(id)
            case .text(let start, let end):
                encodeWords(UnsafeBufferPointer(rebasing: bytes[start..<end]), into: &ids)
            }
        }
    }

    private func encodeWords(_ bytes: UnsafeBufferPointer<UInt8>, into ids: inout [Int]) {
        preTokenizer.split(bytes) { word in
            bpe.encode(word, into: &ids)
        }
    }

    // MARK: decoding

    /// The text of `ids`, as Hugging Face's `tok.decode(ids)`: the tokens' bytes concatenated and read
    /// as UTF-8, each invalid sequence replaced by U+FFFD (Rust's `from_utf8_lossy`). Ids without a
    /// token are skipped.
    /// - Parameters:
    ///   - skipSpecialTokens: leave out added tokens marked special.
    ///   - cleanUpTokenizationSpaces: apply transformers' `clean_up_tokenization` (`" ."` -> `"."`,
    ///     `" n't"` -> `"n't"`...); nil = tokenizer_config.json's setting.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false, cleanUpTokenizationSpaces: Bool? = nil) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids where id >= 0 && id < bytesByID.count {
            if skipSpecialTokens && specialIDs.contains(id) { continue }
            bytes.append(contentsOf: bytesByID[id])
        }
        let text = String(decoding: bytes, as: UTF8.self)
        return (cleanUpTokenizationSpaces ?? cleansUpTokenizationSpaces) ? cleanUpTokenization(text) : text
    }

    // MARK: vocabulary

    /// The bytes token `id` stands for (what `decode` emits for it), or none for an unknown id.
    public func bytes(of id: Int) -> [UInt8] {
        id >= 0 && id < bytesByID.count ? bytesByID[id] : []
    }

    /// The id of a token as the vocabulary spells it (byte-level: `"Ġthe"` for `" the"`), or of an added token.
    public func id(forToken token: String) -> Int? {
        idByToken[token]
    }

    /// The token with id `id` as the vocabulary spells it, or nil.
    public func token(forID id: Int) -> String? {
        id >= 0 && id < tokenByID.count ? tokenByID[id] : nil
    }

    /// Whether `id` is an added token marked special (skipped by `decode(skipSpecialTokens: true)`).
    public func isSpecialToken(_ id: Int) -> Bool {
        specialIDs.contains(id)
    }
}

/// transformers' `clean_up_tokenization`: removes the space before punctuation and English contractions,
/// one `str.replace` after the other, as Python does. The patterns are ASCII, so replacing in the UTF-8
/// bytes is the same as replacing in the scalars.
func cleanUpTokenization(_ text: String) -> String {
    let replacements: [([UInt8], [UInt8])] = [
        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
        (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ].map { (Array($0.0.utf8), Array($0.1.utf8)) }
    var bytes = Array(text.utf8)
    for (target, replacement) in replacements {
        var out: [UInt8] = []
        var i = 0
        var copied = 0
        while i + target.count <= bytes.count {
            if bytes[i] == 0x20 && bytes[i..<(i + target.count)].elementsEqual(target) {
                if out.isEmpty { out.reserveCapacity(bytes.count) }
                out.append(contentsOf: bytes[copied..<i])
                out.append(contentsOf: replacement)
                i += target.count
                copied = i
            } else {
                i += 1
            }
        }
        if copied > 0 {
            out.append(contentsOf: bytes[copied...])
            bytes = out
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}
