import Foundation

/// A TF-IDF vectoriser with scikit-learn's `TfidfVectorizer` defaults: lower-case, tokens are the
/// matches of `(?u)\b\w\w+\b`, raw term counts, smooth idf `ln((1 + n) / (1 + df)) + 1`, rows scaled
/// to unit L2 norm. Terms outside the vocabulary are ignored, as with a fixed `vocabulary`.
public struct TFIDFVectorizer: Sendable, Equatable {
    /// Term → column.
    public let vocabulary: [String: Int]
    /// Per column.
    public let idf: [Double]

    /// A vectoriser with a given vocabulary and idf (how the official code loads `tfidf_vocab.json`
    /// and `idf.npy`).
    public init(vocabulary: [String: Int], idf: [Double]) {
        precondition(vocabulary.values.allSatisfy { $0 >= 0 && $0 < idf.count }, "vocabulary column outside idf")
        self.vocabulary = vocabulary
        self.idf = idf
    }

    /// `TfidfVectorizer().fit(documents)`: the vocabulary is every term of the documents (columns in
    /// sorted order, as scikit-learn numbers them), `df` counts the documents containing a term.
    /// - Complexity: O(total text length + V log V).
    public init(fitting documents: [String]) {
        var documentFrequency: [String: Int] = [:]
        for document in documents {
            for term in Set(Self.analyze(document)) { documentFrequency[term, default: 0] += 1 }
        }
        let terms = documentFrequency.keys.sorted()
        let n = Double(documents.count)
        var vocabulary: [String: Int] = [:]
        var idf: [Double] = []
        for (column, term) in terms.enumerated() {
            vocabulary[term] = column
            idf.append(Foundation.log((1 + n) / (1 + Double(documentFrequency[term]!))) + 1)
        }
        self.init(vocabulary: vocabulary, idf: idf)
    }

    /// scikit-learn's analyzer: `text.lower()`, then maximal runs of at least two word characters.
    /// A word character is what Python's `\w` matches in a `str` pattern: a letter or number
    /// (Unicode categories L*, N*) or `_`; combining marks are not word characters. Checked against
    /// scikit-learn 1.9 on 400 mixed-script strings: identical except that Python lower-cases a
    /// word-final Σ to ς (Swift gives σ).
    public static func analyze(_ text: String) -> [String] {
        var terms: [String] = []
        var current = String.UnicodeScalarView()
        func flush() {
            if current.count >= 2 { terms.append(String(current)) }
            current = String.UnicodeScalarView()
        }
        for scalar in text.lowercased().unicodeScalars {
            if isWordCharacter(scalar) { current.append(scalar) } else { flush() }
        }
        flush()
        return terms
    }

    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "_" { return true }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    /// The L2-normalised TF-IDF vector of `text`: (column, weight) pairs in column order, only the
    /// non-zero ones; empty when no term of the text is in the vocabulary. Sums run in column order,
    /// so results do not depend on hashing.
    public func transform(_ text: String) -> [(column: Int, weight: Double)] {
        var counts: [Int: Double] = [:]
        for term in Self.analyze(text) {
            if let column = vocabulary[term] { counts[column, default: 0] += 1 }
        }
        var vector = counts.keys.sorted().map { (column: $0, weight: counts[$0]! * idf[$0]) }
        let norm = Self.norm(vector)
        if norm > 0 { vector = vector.map { (column: $0.column, weight: $0.weight / norm) } }
        return vector
    }

    /// `tfidf_similarity`: `dot(a, b) / ‖a‖ / ‖b‖` of the two texts' vectors.
    /// Returns 0 when either vector is zero (the official code divides 0 by 0 and gets NaN).
    public func cosineSimilarity(_ a: String, _ b: String) -> Double {
        let u = transform(a), v = transform(b)
        let nu = Self.norm(u), nv = Self.norm(v)
        guard nu > 0, nv > 0 else { return 0 }
        var dot = 0.0, j = 0
        for (column, weight) in u {
            while j < v.count && v[j].column < column { j += 1 }
            if j < v.count && v[j].column == column { dot += weight * v[j].weight }
        }
        return dot / nu / nv
    }

    static func norm(_ v: [(column: Int, weight: Double)]) -> Double {
        v.reduce(0) { $0 + $1.weight * $1.weight }.squareRoot()
    }
}
