import Foundation
import Testing
@testable import Transformer

@Suite struct BPETrainerTests {
    static let corpus = [
        "The mother tongue of Danielle Darrieux is French.",
        "The mother tongue of Léon Blum is French.",
        "Toyota Prius is produced by Toyota.",
        "The capital of France is Paris. The capital of Italy is Rome.",
        "What country is Shmavon Shmavonyan from? Armenia.",
        "Numbers like 1998 and 2005 appear too, as do émigrés and 東京.",
    ]

    @Test func idsAreSpecialTokensThenBytesThenMerges() {
        let model = BPETrainer(vocabularySize: 300).train(Self.corpus)
        #expect(model.tokens[0] == "<|endoftext|>")
        #expect(model.tokens[1] == "!")  // the byte-level alphabet in code-point order
        #expect(Set(model.tokens[1...256]).count == 256)
        #expect(model.tokens.count == 300)
        #expect(model.merges.count == 300 - 257)
        for (i, merge) in model.merges.enumerated() {
            #expect(model.tokens.contains(merge.0 + merge.1), "merge \(i)")
        }
    }

    @Test func mergesFollowCountsThenSmallerPair() throws {
        // "aaab": (a,a) occurs twice, (a,b) once → merge "a a"; then [aa, a, b] has (aa,a) and (a,b)
        // once each: the tie goes to the smaller pair of ids, (a, b).
        let model = BPETrainer(vocabularySize: 259, minimumFrequency: 1).train(["aaab"])
        #expect(model.merges.count == 2)
        #expect(model.merges[0] == ("a", "a"))
        #expect(model.merges[1] == ("a", "b"))
        #expect(model.tokens[257] == "aa" && model.tokens[258] == "ab")
        // minimumFrequency stops merging pairs seen fewer times.
        #expect(BPETrainer(vocabularySize: 300, minimumFrequency: 2).train(["aaab"]).merges.count == 1)
    }

    @Test func trainingIsDeterministic() {
        let a = BPETrainer(vocabularySize: 320).train(Self.corpus)
        let b = BPETrainer(vocabularySize: 320).train(Self.corpus.reversed())  // order of texts does not matter
        #expect(a == b)
    }

    @Test func specialTokensInTheTextAreNotLearned() {
        let counts = BPETrainer(vocabularySize: 300).wordCounts(["a<|endoftext|>b"])
        #expect(counts == [Array("a".utf8): 1, Array("b".utf8): 1])
    }

    @Test func writtenTokenizerLoadsAndRoundTrips() throws {
        let directory = try FixturePaths.temporaryDirectory("bpe")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = BPETrainer(vocabularySize: 320).train(Self.corpus)
        try model.write(to: directory, modelMaxLength: 64)
        let tokenizer = try Tokenizer(directory: directory)
        #expect(tokenizer.vocabularySize == model.tokens.count)  // merging stops early on so small a corpus
        #expect(tokenizer.bosTokenID == 0 && tokenizer.eosTokenID == 0 && tokenizer.padTokenID == 0)
        #expect(!tokenizer.addsBOS)
        for text in Self.corpus + ["Unseen words: Zürich, naïve, 42%, <|endoftext|> and\nnew lines."] {
            let ids = tokenizer.encode(text)
            #expect(tokenizer.decode(ids) == text)
        }
        // Training words become few tokens; the special token is one id.
        #expect(tokenizer.encode(" French").count <= 2)
        #expect(tokenizer.encode("<|endoftext|>") == [0])
        // Encoding a training word applies the merges learned for it.
        let word = tokenizer.encode(" mother")
        #expect(word.count == 1, "\(word)")
    }

    @Test func tokenizerJSONIsValidJSON() throws {
        let model = BPETrainer(vocabularySize: 270).train(Self.corpus)
        let parsed = try JSONSerialization.jsonObject(with: Data(model.tokenizerJSON.utf8)) as! [String: Any]
        let bpe = parsed["model"] as! [String: Any]
        #expect((bpe["vocab"] as! [String: Int]).count == 270)
        #expect((bpe["merges"] as! [[String]]).count == model.merges.count)
        _ = try JSONSerialization.jsonObject(with: Data(model.tokenizerConfigJSON(modelMaxLength: 32).utf8))
    }
}
