import Foundation
import Testing
import Transformer

/// The tokenizer against Tests/Fixtures/tokenizer-cases/cases.json: ~200 varied strings (unicode,
/// digit runs, contractions, whitespace runs, special tokens written in the text...) encoded and decoded
/// by the Hugging Face `tokenizers` library (scripts/make-tokenizer-cases.py), for the fixture
/// tokenizers, the AlphaEdit oracle ones and variants that exercise the other supported options.
@Suite struct TokenizerCasesTests {
    struct Cases: Decodable {
        struct Entry: Decodable {
            let path: String
            let vocabularySize: Int
            let singlePrefix: [Int]
            let singleSuffix: [Int]
            let singlePrefixText: String
            let singleSuffixText: String
            let cases: [Case]
            let pairs: [Pair]
            let decodes: [Decode]
        }
        struct Case: Decodable {
            let plainIds: [Int]
            let ids: [Int]?
            let decoded: String?
            let decodedIds: String?
            let decodedIdsSkipSpecial: String?
        }
        struct Pair: Decodable {
            let a: String
            let b: String
            let ids: [Int]
            let plainIds: [Int]
        }
        struct Decode: Decodable {
            let ids: [Int]
            let text: String
            let skipSpecialText: String
        }
        let tokenizersVersion: String
        let strings: [String]
        let tokenizers: [Entry]
    }

    static let casesURL = FixturePaths.root.appendingPathComponent("tokenizer-cases/cases.json")

    static func loadCases() throws -> Cases {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Cases.self, from: Data(contentsOf: casesURL))
    }

    /// The tokenizers cases.json covers (paths relative to Tests/Fixtures/).
    static let paths = [
        "hf-reference/tokenizer-gpt2",
        "hf-reference/tokenizer-llama3",
        "alphaedit-oracle/model",
        "alphaedit-oracle-llama/model",
        "tokenizer-cases/gpt2-prefix-space",  // ByteLevel add_prefix_space
        "tokenizer-cases/gpt2-added-tokens",  // lstrip, rstrip, single_word, normalized, non-special
        "tokenizer-cases/gpt2-nfc",  // NFC normalizer + a normalized added token
        "tokenizer-cases/llama3-regex-fallback",  // unknown Split pattern -> NSRegularExpression
        "tokenizer-cases/gpt2-split",  // GPT-2 regex as an explicit Split
        "tokenizer-cases/qwen2-digits",  // Qwen2's single-digit pattern
        "tokenizer-cases/llama3-bos-eos",  // "a b" merges, no ignore_merges, BOS+EOS template
        "tokenizer-cases/gpt2-unk",  // bytes missing from the vocabulary -> fused unk_token
    ]

    @Test func casesCoverTheListedTokenizers() throws {
        let cases = try Self.loadCases()
        #expect(cases.tokenizers.map(\.path) == Self.paths)
        #expect(cases.strings.count >= 200)
        for entry in cases.tokenizers {
            #expect(entry.cases.count == cases.strings.count)
        }
    }

    static func entry(_ path: String) throws -> (Cases, Cases.Entry, Tokenizer) {
        let cases = try loadCases()
        let entry = try #require(cases.tokenizers.first { $0.path == path })
        let tokenizer = try Tokenizer(directory: FixturePaths.root.appendingPathComponent(path))
        return (cases, entry, tokenizer)
    }

    /// `"#12 \"text\": got [...], expected [...]"` for the first few mismatches.
    static func report(_ mismatches: [String]) -> Comment {
        Comment(rawValue: "\(mismatches.count) mismatches:\n" + mismatches.prefix(8).joined(separator: "\n"))
    }

    @Test("encode with and without special tokens", arguments: paths)
    func encode(path: String) throws {
        let (cases, entry, tokenizer) = try Self.entry(path)
        #expect(tokenizer.vocabularySize == entry.vocabularySize)
        var mismatches: [String] = []
        for (index, (text, expected)) in zip(cases.strings, entry.cases).enumerated() {
            let plain = tokenizer.encode(text, addSpecialTokens: false)
            if plain != expected.plainIds {
                mismatches.append("#\(index) \(text.debugDescription) plain: got \(plain), expected \(expected.plainIds)")
            }
            let ids = tokenizer.encode(text)
            let expectedIDs = expected.ids ?? entry.singlePrefix + expected.plainIds + entry.singleSuffix
            if ids != expectedIDs {
                mismatches.append("#\(index) \(text.debugDescription): got \(ids), expected \(expectedIDs)")
            }
        }
        #expect(mismatches.isEmpty, Self.report(mismatches))
    }

    /// The decodes in cases.json are `tokenizers`', i.e. without transformers' clean-up (which the oracle
    /// tokenizers' configs switch on), so these tests ask for none.
    @Test("decode, with and without special tokens", arguments: paths)
    func decode(path: String) throws {
        let (cases, entry, tokenizer) = try Self.entry(path)
        let decode = { (ids: [Int], skip: Bool) in
            tokenizer.decode(ids, skipSpecialTokens: skip, cleanUpTokenizationSpaces: false)
        }
        var mismatches: [String] = []
        for (index, (text, expected)) in zip(cases.strings, entry.cases).enumerated() {
            let decoded = expected.decoded ?? text
            let plain = decode(expected.plainIds, false)
            if plain != decoded {
                mismatches.append("#\(index) plain: got \(plain.debugDescription), expected \(decoded.debugDescription)")
            }
            let ids = expected.ids ?? entry.singlePrefix + expected.plainIds + entry.singleSuffix
            let withSpecial = decode(ids, false)
            let expectedWithSpecial = expected.decodedIds ?? entry.singlePrefixText + decoded + entry.singleSuffixText
            if withSpecial != expectedWithSpecial {
                mismatches.append(
                    "#\(index): got \(withSpecial.debugDescription), expected \(expectedWithSpecial.debugDescription)")
            }
            let skipped = decode(ids, true)
            let expectedSkipped = expected.decodedIdsSkipSpecial ?? decoded
            if skipped != expectedSkipped {
                mismatches.append(
                    "#\(index) skip: got \(skipped.debugDescription), expected \(expectedSkipped.debugDescription)")
            }
        }
        #expect(mismatches.isEmpty, Self.report(mismatches))
    }

    @Test("decode of random id sequences (invalid UTF-8 becomes U+FFFD)", arguments: paths)
    func decodeRandomIDs(path: String) throws {
        let (_, entry, tokenizer) = try Self.entry(path)
        #expect(entry.decodes.count >= 20)
        for expected in entry.decodes {
            let text = tokenizer.decode(expected.ids, cleanUpTokenizationSpaces: false)
            #expect(text == expected.text, "\(expected.ids)")
            let skipped = tokenizer.decode(expected.ids, skipSpecialTokens: true, cleanUpTokenizationSpaces: false)
            #expect(skipped == expected.skipSpecialText, "\(expected.ids)")
        }
    }

    @Test("pairs", arguments: paths)
    func pairs(path: String) throws {
        let (_, entry, tokenizer) = try Self.entry(path)
        for pair in entry.pairs {
            #expect(tokenizer.encode(pair.a, pair: pair.b) == pair.ids, "\(pair.a.debugDescription), \(pair.b.debugDescription)")
            #expect(tokenizer.encode(pair.a, pair: pair.b, addSpecialTokens: false) == pair.plainIds)
        }
    }

    @Test func addedTokenOptionsAndConfigTokenObjects() throws {
        let tokenizer = try Tokenizer(
            directory: FixturePaths.root.appendingPathComponent("tokenizer-cases/gpt2-added-tokens"))
        // pad_token is written as an AddedToken object in this variant's tokenizer_config.json.
        #expect(tokenizer.padTokenID == 512)
        #expect(tokenizer.isSpecialToken(512))
        #expect(!tokenizer.isSpecialToken(514))  // "hello", a non-special added token
        // lstrip swallows the spaces before <mask>; single_word keeps "hello" inside "othello" apart.
        #expect(tokenizer.encode("  <mask>") == [512])
        #expect(!tokenizer.encode("othello").contains(514))
        #expect(tokenizer.encode("hello") == [514])
    }
}

/// The AlphaEdit oracle's requests: target ids are the first token of `" " + target` without special
/// tokens; the Llama-style tokenizer prepends BOS to prompts. Ids from the oracles' oracle.json `pre_edit`.
@Suite struct TokenizerOracleTests {
    struct Request: Sendable, CustomTestStringConvertible {
        let folder: String
        let prompt: String
        let targetNew: String
        let targetNewIDs: [Int]
        let targetTrue: String
        let targetTrueIDs: [Int]
        var testDescription: String { "\(folder): \(prompt)" }
    }

    static let requests = [
        Request(folder: "alphaedit-oracle", prompt: "Talia Fairbanks works for", targetNew: "Sony", targetNewIDs: [740], targetTrue: "Adobe", targetTrueIDs: [642]),
        Request(folder: "alphaedit-oracle", prompt: "Liora Fairbanks plays the", targetNew: "drums", targetNewIDs: [702], targetTrue: "piano", targetTrueIDs: [610]),
        Request(folder: "alphaedit-oracle", prompt: "Jessamy Everhart was born in", targetNew: "Lisbon", targetNewIDs: [867], targetTrue: "Sydney", targetTrueIDs: [710]),
        Request(folder: "alphaedit-oracle", prompt: "Corin Ravenscroft speaks", targetNew: "French", targetNewIDs: [573], targetTrue: "Greek", targetTrueIDs: [731]),
        Request(folder: "alphaedit-oracle", prompt: "The capital of Norhaven is", targetNew: "Tokyo", targetNewIDs: [597], targetTrue: "Moscow", targetTrueIDs: [661]),
        Request(folder: "alphaedit-oracle", prompt: "Quill Underhill works for", targetNew: "Adobe", targetNewIDs: [642], targetTrue: "Siemens", targetTrueIDs: [540]),
        Request(folder: "alphaedit-oracle-llama", prompt: "Alden Kingsley was born in", targetNew: "Boston", targetNewIDs: [677], targetTrue: "Helsinki", targetTrueIDs: [694]),
        Request(folder: "alphaedit-oracle-llama", prompt: "Talia Ashgrove plays the", targetNew: "piano", targetNewIDs: [553], targetTrue: "harp", targetTrueIDs: [572]),
        Request(folder: "alphaedit-oracle-llama", prompt: "Jessamy Ravenscroft speaks", targetNew: "Arabic", targetNewIDs: [598], targetTrue: "Japanese", targetTrueIDs: [526]),
        Request(folder: "alphaedit-oracle-llama", prompt: "Ulric Ravenscroft works for", targetNew: "IBM", targetNewIDs: [655], targetTrue: "Intel", targetTrueIDs: [591]),
        Request(folder: "alphaedit-oracle-llama", prompt: "The capital of Quelmark is", targetNew: "Boston", targetNewIDs: [677], targetTrue: "Stockholm", targetTrueIDs: [700]),
        Request(folder: "alphaedit-oracle-llama", prompt: "Pella Fairbanks was born in", targetNew: "Paris", targetNewIDs: [870], targetTrue: "Budapest", targetTrueIDs: [678]),
    ]

    @Test(arguments: requests)
    func targetIDs(request: Request) throws {
        let tokenizer = try Tokenizer(directory: FixturePaths.root.appendingPathComponent("\(request.folder)/model"))
        #expect(tokenizer.encode(" " + request.targetNew, addSpecialTokens: false) == request.targetNewIDs)
        #expect(tokenizer.encode(" " + request.targetTrue, addSpecialTokens: false) == request.targetTrueIDs)
        let prompt = tokenizer.encode(request.prompt)
        #expect(tokenizer.addsBOS == (request.folder == "alphaedit-oracle-llama"))
        #expect((prompt.first == tokenizer.bosTokenID) == tokenizer.addsBOS)
        #expect(tokenizer.decode(prompt, skipSpecialTokens: true) == request.prompt)
        #expect(tokenizer.vocabularySize == 933)
        // transformers 4.44 wrote clean_up_tokenization_spaces: true into these configs.
        #expect(tokenizer.cleansUpTokenizationSpaces)
    }
}
