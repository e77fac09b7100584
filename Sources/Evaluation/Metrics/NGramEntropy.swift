import Foundation

/// The fluency metric of `eval_utils_counterfact.py` (`n_gram_entropy`, `compute_n_gram_entropy`).
public enum NGramEntropy {
    /// The n-gram orders and weights of the official code: `ns = [2, 3]`, `weights = [2/3, 4/3]`.
    public static let orders = [2, 3]
    public static let weights = [2.0 / 3.0, 4.0 / 3.0]

    /// Entropy in bits of the empirical distribution of the n-grams of `tokens`
    /// (`nltk.FreqDist(nltk.ngrams(tokens, n))`); 0 when there are fewer than n tokens.
    /// - Complexity: O(len(tokens)·n).
    public static func entropy(tokens: [String], n: Int) -> Double {
        guard tokens.count >= n else { return 0 }
        // Counts in order of first occurrence (as `FreqDist.items()`), so the sum does not depend on hashing.
        var index: [ArraySlice<String>: Int] = [:]
        var counts: [Int] = []
        for start in 0...(tokens.count - n) {
            let gram = tokens[start..<(start + n)]
            if let k = index[gram] { counts[k] += 1 } else {
                index[gram] = counts.count
                counts.append(1)
            }
        }
        let total = Double(tokens.count - n + 1)
        return counts.reduce(0) { sum, count in
            let p = Double(count) / total
            return sum - p * Foundation.log(p) / Foundation.log(2)
        }
    }

    /// One text's score: the arithmetic mean of `(2/3)·H2` and `(4/3)·H3` over its word tokens
    /// (`WordTokenizer`, an approximation of `nltk.word_tokenize`).
    public static func textEntropy(_ text: String) -> Double {
        textEntropy(tokens: WordTokenizer.tokenize(text))
    }

    /// One text's score from its tokens.
    public static func textEntropy(tokens: [String]) -> Double {
        let weighted = zip(orders, weights).map { entropy(tokens: tokens, n: $0) * $1 }
        return weighted.reduce(0, +) / Double(weighted.count)
    }

    /// The record's `ngram_entropy`: the mean of `textEntropy` over its generated texts (NaN for none).
    public static func meanEntropy(_ texts: [String]) -> Double {
        texts.isEmpty ? .nan : texts.map { textEntropy($0) }.reduce(0, +) / Double(texts.count)
    }
}
