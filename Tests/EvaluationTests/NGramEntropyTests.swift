import Foundation
import Testing
@testable import Evaluation

@Suite struct NGramEntropyTests {
    @Test func entropyOfTinyTokenLists() {
        // Bigrams of a b a b: (a,b) twice, (b,a) once.
        let h2 = -(2.0 / 3 * log2(2.0 / 3) + 1.0 / 3 * log2(1.0 / 3))
        #expect(abs(NGramEntropy.entropy(tokens: ["a", "b", "a", "b"], n: 2) - h2) < 1e-12)
        // Trigrams: (a,b,a), (b,a,b): one bit.
        #expect(abs(NGramEntropy.entropy(tokens: ["a", "b", "a", "b"], n: 3) - 1) < 1e-12)
        #expect(NGramEntropy.entropy(tokens: ["x", "x", "x", "x"], n: 2) == 0)
        #expect(NGramEntropy.entropy(tokens: ["x"], n: 2) == 0)
        // Four distinct bigrams: two bits.
        #expect(abs(NGramEntropy.entropy(tokens: ["a", "b", "c", "d", "e"], n: 2) - 2) < 1e-12)
    }

    @Test func textScoreIsTheMeanOfTheWeightedEntropies() {
        let h2 = -(2.0 / 3 * log2(2.0 / 3) + 1.0 / 3 * log2(1.0 / 3))
        let expected = (2.0 / 3 * h2 + 4.0 / 3 * 1) / 2
        #expect(abs(NGramEntropy.textEntropy("a b a b") - expected) < 1e-12)
        // The final period is a token: "a b ." has bigrams (a,b), (b,.) and one trigram.
        #expect(abs(NGramEntropy.textEntropy("a b.") - (2.0 / 3 * 1 + 4.0 / 3 * 0) / 2) < 1e-12)
        #expect(NGramEntropy.textEntropy("hi") == 0)
        #expect(abs(NGramEntropy.meanEntropy(["a b a b", "hi"]) - expected / 2) < 1e-12)
        #expect(NGramEntropy.meanEntropy([]).isNaN)
    }
}
