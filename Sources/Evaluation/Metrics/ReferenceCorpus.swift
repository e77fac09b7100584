import Foundation

/// The reference texts of the consistency metric, built from CounterFact records themselves.
///
/// **An approximation.** The official metric compares the generated text with Wikipedia snippets
/// (`attribute_snippets.json`: for each relation and object, texts about subjects that have that
/// object) under a TF-IDF vectoriser whose vocabulary and idf (`tfidf_vocab.json`, `idf.npy`) were fit
/// on all those snippets. None of these files is available here. alphaedit builds the same structure
/// from the dataset file:
/// * a *snippet* for (relation, object) is a CounterFact prompt about a subject that truly has that
///   object, completed with the object: every `attribute_prompts` entry + `" " + target_new.str`
///   (attribute prompts are about subjects whose true object is the record's new object), every
///   `neighborhood_prompts` entry + `" " + target_true.str`, and the rewrite prompt +
///   `" " + target_true.str`; duplicates are dropped, first occurrence kept;
/// * the vectoriser is fit (scikit-learn defaults) on all distinct snippets of the whole file;
/// * a record's consistency texts are the snippets of (its relation, its `target_new` id).
/// Scores are therefore comparable between runs of alphaedit on the same file, not with published
/// numbers.
public struct ReferenceCorpus: Sendable {
    /// (relation id, object id): objects are keyed by Wikidata id, or by their string without one.
    public struct Key: Hashable, Sendable {
        public var relation: String
        public var object: String

        public init(relation: String, object: String) {
            self.relation = relation
            self.object = object
        }
    }

    /// Reference texts per key, in first-seen order.
    public let snippets: [Key: [String]]
    public let vectorizer: TFIDFVectorizer

    /// The one-line statement of the approximation, for reports.
    public static let note = """
        consistency is approximate: TF-IDF (scikit-learn defaults) fit on reference texts built from the \
        dataset file's own prompts (attribute/neighbourhood/rewrite prompts completed with their true \
        objects), not on the official Wikipedia attribute snippets, tfidf_vocab.json and idf.npy
        """

    /// Builds the snippets and fits the vectoriser on every record of the file.
    /// - Complexity: O(total prompt text).
    public init(records: [CounterFactRecord]) {
        var snippets: [Key: [String]] = [:]
        var seen: [Key: Set<String>] = [:]
        var documents: [String] = []
        var allSeen = Set<String>()
        func add(_ text: String, _ key: Key) {
            if seen[key, default: []].insert(text).inserted { snippets[key, default: []].append(text) }
            if allSeen.insert(text).inserted { documents.append(text) }
        }
        for record in records {
            let r = record.requestedRewrite
            let newKey = Self.key(r.relationID, r.targetNew), trueKey = Self.key(r.relationID, r.targetTrue)
            for prompt in record.attributePrompts { add(prompt + " " + r.targetNew.str, newKey) }
            for prompt in record.neighborhoodPrompts { add(prompt + " " + r.targetTrue.str, trueKey) }
            add(record.rewritePrompt + " " + r.targetTrue.str, trueKey)
        }
        self.snippets = snippets
        vectorizer = TFIDFVectorizer(fitting: documents)
    }

    static func key(_ relation: String?, _ target: CounterFactRecord.Target) -> Key {
        Key(relation: relation ?? "", object: target.id ?? target.str)
    }

    /// `consistency_texts` of a record: the snippets of (its relation, its new object).
    public func consistencyTexts(for record: CounterFactRecord) -> [String] {
        snippets[Self.key(record.requestedRewrite.relationID, record.requestedRewrite.targetNew)] ?? []
    }

    /// `reference_score`: the cosine similarity of `" ".join(generated)` and `" ".join(consistency texts)`.
    public func referenceScore(generated: [String], for record: CounterFactRecord) -> Double {
        vectorizer.cosineSimilarity(generated.joined(separator: " "), consistencyTexts(for: record).joined(separator: " "))
    }
}
