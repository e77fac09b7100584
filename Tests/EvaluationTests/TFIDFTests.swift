import Foundation
import Testing
@testable import Evaluation

@Suite struct TFIDFTests {
    static let corpus = ["the cat sat", "the dog sat", "the cat ran a lot"]

    @Test func analyzerMatchesScikitLearn() {
        // scikit-learn 1.9: ['the', 'cat', 'the', 'cat_x', 'ran', 'le', 'on', '2024', 'x1'].
        #expect(TFIDFVectorizer.analyze("The CAT, the cat_x ran; Le\u{301}on 2024 x1 \u{e9}") ==
            ["the", "cat", "the", "cat_x", "ran", "le", "on", "2024", "x1"])
    }

    @Test func smoothIDFByHand() {
        let v = TFIDFVectorizer(fitting: Self.corpus)
        #expect(v.vocabulary == ["cat": 0, "dog": 1, "lot": 2, "ran": 3, "sat": 4, "the": 5])
        // ln((1 + 3) / (1 + df)) + 1
        let expected = [log(4.0 / 3) + 1, log(2.0) + 1, log(2.0) + 1, log(2.0) + 1, log(4.0 / 3) + 1, 1]
        for (a, b) in zip(v.idf, expected) { #expect(abs(a - b) < 1e-12) }
    }

    @Test func cosineByHand() {
        let v = TFIDFVectorizer(fitting: Self.corpus)
        let idfCat = log(4.0 / 3) + 1, idfDog = log(2.0) + 1
        // "the cat" = (the 1, cat idfCat), "the dog" = (the 1, dog idfDog): only "the" is shared.
        let expected = 1 / (1 + idfCat * idfCat).squareRoot() / (1 + idfDog * idfDog).squareRoot()
        #expect(abs(v.cosineSimilarity("the cat", "the dog") - expected) < 1e-12)
        #expect(abs(expected - 0.3119172480155738) < 1e-12)  // scikit-learn 1.9
        // Counts are raw term frequencies; the vectors are unit length.
        let u = v.transform("cat cat the zebra")
        #expect(u.map(\.column) == [0, 5])
        #expect(abs(TFIDFVectorizer.norm(u) - 1) < 1e-12)
        #expect(abs(u[0].weight / u[1].weight - 2 * idfCat) < 1e-12)
        #expect(abs(v.cosineSimilarity("Sat. The cat!", "the cat sat") - 1) < 1e-12)
        // No shared term: 0; no known term at all: 0 (the official code would give NaN).
        #expect(v.cosineSimilarity("dog", "lot") == 0)
        #expect(v.cosineSimilarity("zebra", "the cat") == 0)
    }

    @Test func referenceCorpusGroupsByRelationAndNewObject() {
        let records = Samples.counterFact
        let corpus = ReferenceCorpus(records: records)
        let texts = corpus.consistencyTexts(for: records[0])
        // Record 0's attribute prompts (speakers of English, its new object) come first.
        #expect(texts.first == "J.\u{a0}R.\u{a0}R. Tolkien is a native speaker of English")
        #expect(texts.count >= 10)
        #expect(texts.allSatisfy { $0.hasSuffix(" English") })
        #expect(Set(texts).count == texts.count)
        let score = corpus.referenceScore(generated: ["Danielle Darrieux speaks English. She was born in London."], for: records[0])
        #expect(score > 0 && score < 1)
    }
}
