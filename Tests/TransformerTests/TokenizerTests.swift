import Foundation
import Testing
import Transformer

/// The tokenizer against the hf-reference fixtures: the ids in each model folder's reference.json
/// (made by transformers), round trips, and the special-token properties.
@Suite struct TokenizerTests {
    /// The token-id parts of hf-reference's reference.json.
    struct Reference: Decodable {
        struct Text: Decodable {
            let text: String
            let ids: [Int]
        }
        struct Greedy: Decodable {
            let prompt: String
            let promptIds: [Int]
        }
        struct Grad: Decodable {
            let prompt: String
            let promptIds: [Int]
            let targetText: String
            let targetIds: [Int]
        }
        let tokenIds: [Text]
        let greedy: [Greedy]?
        let grad: Grad?

        static func load(_ folder: String) throws -> Reference {
            let url = FixturePaths.hfReference(folder).appendingPathComponent("reference.json")
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            return try decoder.decode(Reference.self, from: Data(contentsOf: url))
        }
    }

    /// Every folder with a tokenizer, and the folder whose reference.json has its expected ids.
    /// gpt2-bf16/fp16 have only `token_ids` (greedy and grad come from gpt2), llama-sharded has no
    /// reference.json, the tokenizer-* folders share the tokenizer of gpt2 and llama.
    static let folders = FixturePaths.hfModelFolders + ["tokenizer-gpt2", "tokenizer-llama3"]
    static let referenceFolder = [
        "gpt2-bf16": "gpt2", "gpt2-fp16": "gpt2", "llama-sharded": "llama",
        "tokenizer-gpt2": "gpt2", "tokenizer-llama3": "llama",
    ]
    static let llamaStyle: Set = ["llama", "llama-sharded", "qwen2", "tokenizer-llama3"]

    static func tokenizer(_ folder: String) throws -> Tokenizer {
        try Tokenizer(directory: FixturePaths.hfReference(folder))
    }

    /// The folder's own reference.json where it has the part, else the style sibling's.
    static func references(_ folder: String) throws -> (own: Reference?, sibling: Reference?) {
        let ownURL = FixturePaths.hfReference(folder).appendingPathComponent("reference.json")
        let own = FileManager.default.fileExists(atPath: ownURL.path) ? try Reference.load(folder) : nil
        let sibling = try referenceFolder[folder].map(Reference.load)
        return (own, sibling)
    }

    @Test("token_ids of reference.json (the 3 test strings)", arguments: folders)
    func referenceTokenIDs(folder: String) throws {
        let tokenizer = try Self.tokenizer(folder)
        let (own, sibling) = try Self.references(folder)
        let texts = try #require(own?.tokenIds ?? sibling?.tokenIds)
        #expect(texts.count == 3)
        for text in texts {
            #expect(tokenizer.encode(text.text) == text.ids, "\(folder): \(text.text)")
        }
    }

    @Test("greedy prompt_ids, grad prompt_ids and target_ids (without special tokens)", arguments: folders)
    func referencePromptAndTargetIDs(folder: String) throws {
        let tokenizer = try Self.tokenizer(folder)
        let (own, sibling) = try Self.references(folder)
        let greedy = try #require(own?.greedy ?? sibling?.greedy)
        let grad = try #require(own?.grad ?? sibling?.grad)
        #expect(greedy.count == 2)
        for prompt in greedy {
            #expect(tokenizer.encode(prompt.prompt) == prompt.promptIds, "\(folder): \(prompt.prompt)")
        }
        #expect(tokenizer.encode(grad.prompt) == grad.promptIds)
        // target_ids are the first 3 tokens of the target encoded without special tokens.
        let target = tokenizer.encode(grad.targetText, addSpecialTokens: false)
        #expect(Array(target.prefix(3)) == grad.targetIds)
        #expect(target.count > 3)
    }

    @Test("decode(encode(s)) gives s back", arguments: folders)
    func roundTrip(folder: String) throws {
        let tokenizer = try Self.tokenizer(folder)
        let (own, sibling) = try Self.references(folder)
        let reference = try #require(own?.greedy == nil ? sibling : own)
        var strings = reference.tokenIds.map(\.text) + (reference.greedy ?? []).map(\.prompt)
        if let grad = reference.grad { strings += [grad.prompt, grad.targetText] }
        let prefix = Self.llamaStyle.contains(folder) ? "<|begin_of_text|>" : ""
        for text in strings {
            #expect(tokenizer.decode(tokenizer.encode(text, addSpecialTokens: false)) == text)
            let ids = tokenizer.encode(text)
            #expect(tokenizer.decode(ids, skipSpecialTokens: true) == text)
            #expect(tokenizer.decode(ids) == prefix + text)
        }
    }

    @Test("bos/eos/pad ids, addsBOS and vocabulary size", arguments: folders)
    func specialTokens(folder: String) throws {
        let tokenizer = try Self.tokenizer(folder)
        #expect(tokenizer.vocabularySize == 512)
        #expect(tokenizer.padTokenID == nil)
        if Self.llamaStyle.contains(folder) {
            #expect(tokenizer.bosTokenID == 0)
            #expect(tokenizer.eosTokenID == 1)
            #expect(tokenizer.unkTokenID == nil)
            #expect(tokenizer.addsBOS)
            #expect(tokenizer.encode("").first == 0)
            #expect(tokenizer.id(forToken: "<|begin_of_text|>") == 0)
            #expect(tokenizer.id(forToken: "<|end_of_text|>") == 1)
            #expect(tokenizer.isSpecialToken(1))
        } else {
            #expect(tokenizer.bosTokenID == 0)
            #expect(tokenizer.eosTokenID == 0)
            #expect(tokenizer.unkTokenID == 0)
            #expect(!tokenizer.addsBOS)
            #expect(tokenizer.encode("") == [])
            #expect(tokenizer.id(forToken: "<|endoftext|>") == 0)
        }
        #expect(tokenizer.isSpecialToken(0))
        #expect(!tokenizer.isSpecialToken(100))
    }

    @Test func vocabularyLookups() throws {
        let tokenizer = try Self.tokenizer("gpt2")
        // "Hello world" is [40, 317, 330, 321, 311]: byte-level spellings use Ġ for the space.
        let ids = tokenizer.encode("Hello world")
        let tokens = ids.map { tokenizer.token(forID: $0) }
        #expect(tokens.compactMap { $0 }.joined() == "HelloĠworld")
        for (id, token) in zip(ids, tokens) {
            #expect(tokenizer.id(forToken: try #require(token)) == id)
        }
        #expect(tokenizer.token(forID: -1) == nil)
        #expect(tokenizer.token(forID: 512) == nil)
        #expect(tokenizer.id(forToken: "not a token") == nil)
        // Ids without a token are skipped by decode, as in `tokenizers`.
        #expect(tokenizer.decode([40, 99_999, -3, 317]) == tokenizer.decode([40, 317]))
    }

    @Test func specialTokensInTextAreRecognised() throws {
        let gpt2 = try Self.tokenizer("gpt2")
        let ids = gpt2.encode("a<|endoftext|>b")
        #expect(ids == gpt2.encode("a", addSpecialTokens: false) + [0] + gpt2.encode("b", addSpecialTokens: false))
        #expect(gpt2.decode(ids) == "a<|endoftext|>b")
        #expect(gpt2.decode(ids, skipSpecialTokens: true) == "ab")

        let llama = try Self.tokenizer("llama")
        // The oracle's context templates start with a literal BOS, which re-tokenises into a second one.
        let template = llama.encode("<|begin_of_text|>The capital. Talia works for")
        #expect(Array(template.prefix(2)) == [0, 0])
        #expect(!template.dropFirst(2).contains(0))
    }

    @Test func decodeReplacesInvalidUTF8() throws {
        let tokenizer = try Self.tokenizer("gpt2")
        // 🙂 is 4 bytes, each its own token here: a prefix of them is invalid UTF-8.
        let emoji = tokenizer.encode("🙂", addSpecialTokens: false)
        #expect(emoji.count == 4)
        #expect(tokenizer.decode(emoji) == "🙂")
        #expect(tokenizer.decode(Array(emoji.prefix(3))) == "\u{FFFD}")
        #expect(tokenizer.decode(Array(emoji.suffix(2))) == "\u{FFFD}\u{FFFD}")
        #expect(tokenizer.decode(Array(emoji.prefix(2)) + tokenizer.encode("a", addSpecialTokens: false)) == "\u{FFFD}a")
    }

    @Test func cleanUpTokenizationSpaces() throws {
        let tokenizer = try Self.tokenizer("gpt2")
        #expect(!tokenizer.cleansUpTokenizationSpaces)
        let ids = tokenizer.encode("Yes , it is . I do n't know ! He 's ' here ' .", addSpecialTokens: false)
        #expect(tokenizer.decode(ids) == "Yes , it is . I do n't know ! He 's ' here ' .")
        #expect(tokenizer.decode(ids, cleanUpTokenizationSpaces: true) == "Yes, it is. I don't know! He's'here '.")  // as Python's chained str.replace
    }

    @Test func pairEncoding() throws {
        let gpt2 = try Self.tokenizer("gpt2")
        let a = gpt2.encode("Hello", addSpecialTokens: false)
        let b = gpt2.encode(" world", addSpecialTokens: false)
        #expect(gpt2.encode("Hello", pair: " world") == a + b)
        let llama = try Self.tokenizer("llama")
        let la = llama.encode("Hello", addSpecialTokens: false)
        let lb = llama.encode(" world", addSpecialTokens: false)
        // Llama-3's pair template: BOS A BOS B.
        #expect(llama.encode("Hello", pair: " world") == [0] + la + [0] + lb)
        #expect(llama.encode("Hello", pair: " world", addSpecialTokens: false) == la + lb)
    }

    @Test func concurrentEncodingAgrees() async throws {
        let tokenizer = try Self.tokenizer("llama")
        let texts = (0..<64).map { "Sentence \($0): the café of Ostrava, number \($0 * 37) 🙂\n" }
        let expected = texts.map { tokenizer.encode($0) }
        let results = await withTaskGroup(of: (Int, [Int]).self) { group in
            for (index, text) in texts.enumerated() {
                group.addTask { (index, tokenizer.encode(text)) }
            }
            var out = [[Int]](repeating: [], count: texts.count)
            for await (index, ids) in group { out[index] = ids }
            return out
        }
        #expect(results == expected)
    }
}
