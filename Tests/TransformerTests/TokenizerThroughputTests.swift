import Foundation
import Testing
import Transformer

/// Encoding speed on ~1 MB of text (printed; debug builds are several times slower than release).
@Suite struct TokenizerThroughputTests {
    /// ~`bytes` of deterministic English-like text: a Zipf-like draw from 20,000 made-up words, with
    /// punctuation, numbers, contractions, newlines and some non-ASCII words.
    static func sampleText(bytes: Int) -> String {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {  // SplitMix64
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
        let syllables = ["the", "an", "ka", "lo", "ri", "ven", "sto", "mar", "is", "of", "ing", "tion", "er",
                         "ba", "ker", "fa", "ir", "ton", "ed", "un", "der", "hill", "pa", "ris", "ca", "pi", "tal"]
        let extras = ["naïve", "café", "東京", "🙂", "Zürich", "don't", "I'm", "they'll", "São", "Ωmega"]
        var words: [String] = []
        for _ in 0..<20_000 {
            let count = 1 + Int(uniform() * 3.5)
            words.append((0..<count).map { _ in syllables[Int(next() % UInt64(syllables.count))] }.joined())
        }
        var text = ""
        text.reserveCapacity(bytes + 64)
        var sentenceStart = true
        while text.utf8.count < bytes {
            let r = uniform()
            var word: String
            if r < 0.02 {
                word = extras[Int(next() % UInt64(extras.count))]
            } else if r < 0.04 {
                word = String(next() % 100_000)
            } else {
                word = words[Int(pow(uniform(), 3) * Double(words.count))]
            }
            if sentenceStart { word = word.prefix(1).uppercased() + word.dropFirst() }
            text += sentenceStart ? word : " " + word
            sentenceStart = false
            let p = uniform()
            if p < 0.06 {
                text += "."
                sentenceStart = true
                text += uniform() < 0.1 ? "\n\n" : " "
            } else if p < 0.1 {
                text += ","
            }
        }
        return text
    }

    @Test func encodesAMegabyte() throws {
        let text = Self.sampleText(bytes: 1 << 20)
        for folder in ["gpt2", "llama"] {
            let tokenizer = try Tokenizer(directory: FixturePaths.hfReference(folder))
            let clock = ContinuousClock()
            var ids: [Int] = []
            let cold = clock.measure { ids = tokenizer.encode(text, addSpecialTokens: false) }
            var warmIDs: [Int] = []
            let warm = clock.measure { warmIDs = tokenizer.encode(text, addSpecialTokens: false) }
            #expect(warmIDs == ids)
            #expect(tokenizer.decode(ids) == text)
            func rate(_ d: Duration) -> String {
                let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
                return String(format: "%.2f s, %.0f tokens/s, %.1f MB/s", seconds,
                              Double(ids.count) / seconds, Double(text.utf8.count) / seconds / 1e6)
            }
            print("tokenizer throughput (\(folder), \(text.utf8.count) bytes, \(ids.count) tokens): "
                + "cold cache \(rate(cold)); warm cache \(rate(warm))")
        }
    }
}
