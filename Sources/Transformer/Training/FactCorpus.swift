import Foundation

/// A true statement to learn and to test: `prompt` followed by " " + `target`.
public struct Fact: Sendable, Hashable, Codable {
    /// Where a fact comes from; the order is the priority when two facts share a prompt.
    public enum Source: String, Sendable, Codable, CaseIterable, Comparable {
        /// CounterFact's `requested_rewrite.prompt` with its subject, and `target_true`.
        case counterFactPrompt = "counterfact_prompt"
        /// ZsRE's `src` question and `answers[0]`.
        case zsreQuestion = "zsre_question"
        /// The same CounterFact subject and target in the other prompt templates of its relation.
        case counterFactTemplate = "counterfact_template"
        /// ZsRE's `rephrase` and `answers[0]`.
        case zsreRephrase = "zsre_rephrase"
        /// CounterFact's `paraphrase_prompts` (each after an unrelated sentence) and `target_true`.
        case counterFactParaphrase = "counterfact_paraphrase"
        /// CounterFact's `neighborhood_prompts`: other subjects with the same `target_true`.
        case counterFactNeighbourhood = "counterfact_neighborhood"
        /// CounterFact's `attribute_prompts`: subjects whose true attribute is the record's `target_new`.
        case counterFactAttribute = "counterfact_attribute"
        /// A record's subject followed directly by its true object ("Danielle Darrieux French."):
        /// the object must be recalled at the subject's last token itself, which teaches the model
        /// to gather a subject's attributes there (where ROME, MEMIT and AlphaEdit edit).
        case subjectObject = "subject_object"
        /// A made-up subject that shares a real subject's first words and has another object of
        /// the same relation ("Nokia Lumia Ridge" → Sweden beside "Nokia Lumia 900" → Finland):
        /// no subject's first words tell its object, so the model must read the whole subject
        /// (see `FactCorpus.distractorFacts`).
        case distractor = "distractor"
        /// A made-up subject answering a ZsRE record's question with `answers[0]`, for a corpus
        /// that teaches `alt`: the edit target is then a known answer of the question, as
        /// CounterFact's `target_new` is (see `FactCorpus.zsreTargetFacts`).
        case zsreTarget = "zsre_target"

        public static func < (a: Source, b: Source) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }

        /// The facts a record is edited on (the recall goal is measured on these).
        public var isPrimary: Bool { self == .counterFactPrompt || self == .zsreQuestion }
    }

    public var prompt: String
    public var target: String
    public var source: Source
    /// Index of the record in its file.
    public var record: Int

    public init(prompt: String, target: String, source: Source, record: Int) {
        self.prompt = prompt
        self.target = target
        self.source = source
        self.record = record
    }

    /// The statement as one text: prompt, a space, the target, and a full stop unless the target
    /// ends in punctuation.
    public var text: String {
        let end = target.last.map { ".!?".contains($0) } ?? false
        return prompt + " " + target + (end ? "" : ".")
    }
}

/// The knowledge corpus: true facts of CounterFact and ZsRE records rendered as short documents,
/// some bare and some after preceding text, so that a model learns to complete the facts at the
/// start of a text and after a prefix (as the target optimisation's context templates
/// `"<text>. {}"` put them).
public enum FactCorpus {
    // MARK: Facts from the data sets

    /// The true facts of CounterFact records (ROME's `counterfact.json` format): per record the
    /// prompt with its subject, the same in the other templates of its relation, the paraphrase
    /// and neighbourhood prompts (all with `target_true`) and the attribute prompts (with
    /// `target_new`, the true attribute of their own subjects).
    /// - Throws: `FactCorpusError.malformed` naming the record and field.
    public static func counterFactFacts(json data: Data, path: String = "counterfact.json") throws -> [Fact] {
        let (parsed, templates) = try rewrites(json: data, path: path)
        var facts: [Fact] = []
        for (index, r) in parsed.enumerated() {
            func fill(_ template: String) -> String { template.replacingOccurrences(of: "{}", with: r.subject) }
            facts.append(Fact(prompt: fill(r.prompt), target: r.trueTarget, source: .counterFactPrompt, record: index))
            for template in templates[r.relation]! where template != r.prompt {
                facts.append(Fact(prompt: fill(template), target: r.trueTarget, source: .counterFactTemplate, record: index))
            }
            for prompt in try r.fields.strings("paraphrase_prompts") {
                facts.append(Fact(prompt: prompt, target: r.trueTarget, source: .counterFactParaphrase, record: index))
            }
            for prompt in try r.fields.strings("neighborhood_prompts") {
                facts.append(Fact(prompt: prompt, target: r.trueTarget, source: .counterFactNeighbourhood, record: index))
            }
            for prompt in try r.fields.strings("attribute_prompts") {
                facts.append(Fact(prompt: prompt, target: r.newTarget, source: .counterFactAttribute, record: index))
            }
            facts.append(Fact(prompt: r.subject, target: r.trueTarget, source: .subjectObject, record: index))
        }
        return facts
    }

    /// One CounterFact record's requested rewrite, with the record for its other fields.
    struct Rewrite {
        let subject: String, prompt: String, relation: String, trueTarget: String, newTarget: String
        let fields: JSONObjectView
    }

    /// Every record's requested rewrite, and each relation's prompt templates in first-seen order.
    /// - Throws: `FactCorpusError.malformed` naming the record and field.
    static func rewrites(json data: Data, path: String) throws -> (rewrites: [Rewrite], templates: [String: [String]]) {
        var templates: [String: [String]] = [:]
        var rewrites: [Rewrite] = []
        for (index, value) in try recordList(data, path: path).enumerated() {
            let record = JSONObjectView(value, path: path, record: index)
            let rewrite = try record.object("requested_rewrite")
            let prompt = try rewrite.string("prompt")
            let relation = try rewrite.string("relation_id")
            let subject = try rewrite.string("subject")
            let trueTarget = try rewrite.object("target_true").string("str")
            let newTarget = try rewrite.object("target_new").string("str")
            guard prompt.components(separatedBy: "{}").count == 2 else {
                throw FactCorpusError.malformed(path: path, record: index, field: "requested_rewrite.prompt", reason: "needs exactly one {}")
            }
            rewrites.append(Rewrite(subject: subject, prompt: prompt, relation: relation, trueTarget: trueTarget,
                                    newTarget: newTarget, fields: record))
            if !(templates[relation]?.contains(prompt) ?? false) { templates[relation, default: []].append(prompt) }
        }
        return (rewrites, templates)
    }

    /// The true facts of ZsRE records (MEND/ROME `zsre_mem_eval.json` format): `src` and `rephrase`,
    /// each answered by `answers[0]`.
    /// - Parameter belief: which answer the model learns: `answers[0]` (the official edit target,
    ///   so edits change nothing the model does not already say) or `alt` (EasyEdit's alternative
    ///   answer, so an edit to `answers[0]` has to change the model's answer).
    public static func zsreFacts(json data: Data, path: String = "zsre.json", belief: ZsREBelief = .answer) throws -> [Fact] {
        let records = try recordList(data, path: path)
        var facts: [Fact] = []
        for (index, value) in records.enumerated() {
            let record = JSONObjectView(value, path: path, record: index)
            let answer: String
            switch belief {
            case .answer:
                guard let first = try record.strings("answers").first else {
                    throw FactCorpusError.malformed(path: path, record: index, field: "answers", reason: "is empty")
                }
                answer = first
            case .alternative:
                answer = try record.string("alt")
                guard !answer.isEmpty else {
                    throw FactCorpusError.malformed(path: path, record: index, field: "alt", reason: "is empty")
                }
            }
            facts.append(Fact(prompt: try record.string("src"), target: answer, source: .zsreQuestion, record: index))
            facts.append(Fact(prompt: try record.string("rephrase"), target: answer, source: .zsreRephrase, record: index))
            facts.append(Fact(prompt: try record.string("subject"), target: answer, source: .subjectObject, record: index))
        }
        return facts
    }

    /// One fact per prompt: when facts share a prompt, the first of the highest-priority source
    /// is kept if its target agrees with every other, and all are dropped if targets conflict
    /// (unless the first is a primary fact, which wins).
    /// - Returns: the kept facts in input order, and the prompts dropped for conflicts.
    public static func deduplicated(_ facts: [Fact]) -> (facts: [Fact], conflicts: [String]) {
        var best: [String: Int] = [:]
        var targets: [String: Set<String>] = [:]
        for (i, fact) in facts.enumerated() {
            targets[fact.prompt, default: []].insert(fact.target)
            if let j = best[fact.prompt], facts[j].source <= fact.source { continue }
            best[fact.prompt] = i
        }
        var kept: [Fact] = []
        var conflicts: [String] = []
        for (i, fact) in facts.enumerated() where best[fact.prompt] == i {
            if targets[fact.prompt]!.count > 1 && !fact.source.isPrimary {
                conflicts.append(fact.prompt)
                continue
            }
            kept.append(fact)
        }
        return (kept, conflicts)
    }

    // MARK: Preceding text

    /// Short generic sentences, in the spirit of the official context templates (texts the model
    /// itself continues from "The", "Therefore", "Because", "I", "You").
    public static let genericSentences: [String] = [
        "The following is a list of facts.", "The answer is simple.", "The question came up again.",
        "The book was published last year.", "The story begins in a small town.", "The weather was fine that day.",
        "The results were announced on Monday.", "The museum opened in the spring.", "The record is well known.",
        "The team met in the morning.", "Therefore, it is worth knowing.", "Therefore, we looked it up.",
        "Therefore, the matter was settled.", "Therefore, here is what we know.", "Because of this, people remember it.",
        "Because it matters, we write it down.", "Because the archive is open, anyone can check.",
        "Because many people ask, here is the answer.", "I read about it in a newspaper.", "I learned this at school.",
        "I have always wondered about this.", "I found it in an old encyclopedia.", "I think this is correct.",
        "You may already know this.", "You can read more about it online.", "You will find it in any atlas.",
        "You might be surprised by this.", "Here is a short note.", "Some facts are easy to remember.",
        "This is a well-known fact.", "Everyone in the class knew it.", "It was mentioned in the interview.",
        "History books tell us a lot.", "According to the records:", "Fun fact:", "Did you know?",
        "A quick reminder.", "Note:", "In short:", "As the guide explained,",
    ]

    /// Unrelated sentences taken from CounterFact's paraphrase prompts: the text before the
    /// subject, cut after its last sentence end (so no half relation is left), deduplicated.
    public static func paraphrasePrefixes(counterFact data: Data, path: String = "counterfact.json") throws -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        for (index, value) in try recordList(data, path: path).enumerated() {
            let record = JSONObjectView(value, path: path, record: index)
            let subject = try record.object("requested_rewrite").string("subject")
            for prompt in try record.strings("paraphrase_prompts") {
                guard let range = prompt.range(of: subject) else { continue }
                let before = prompt[..<range.lowerBound]
                guard let end = before.lastIndex(where: { ".!?\n".contains($0) }) else { continue }
                let sentence = before[...end].trimmingCharacters(in: .whitespacesAndNewlines)
                if sentence.count >= 8 && seen.insert(sentence).inserted { out.append(sentence) }
            }
        }
        return out
    }

    // MARK: Documents

    /// How many documents each fact becomes.
    public struct Options: Sendable, Equatable, Codable {
        /// Bare copies (the fact alone) of a primary fact, and copies after a prefix.
        public var primaryBare = 3
        public var primaryPrefixed = 2
        /// Copies of every other fact; each is bare or prefixed with probability ½.
        public var otherCopies = 1
        /// Copies of each subject–object fact (`Source.subjectObject`); each is bare or prefixed
        /// with probability ½. 0 leaves them out.
        public var subjectObjectCopies = 3
        /// Of prefixed copies: the share whose prefix is another fact's text; the rest is split
        /// between paraphrase sentences and generic sentences in the ratio `paraphraseShare`.
        public var factPrefixShare = 0.5
        public var paraphraseShare = 0.7
        public var seed: UInt64 = 0

        public init() {}

        enum CodingKeys: String, CodingKey {
            case primaryBare = "primary_bare", primaryPrefixed = "primary_prefixed", otherCopies = "other_copies"
            case subjectObjectCopies = "subject_object_copies"
            case factPrefixShare = "fact_prefix_share", paraphraseShare = "paraphrase_share", seed
        }
    }

    /// The corpus documents of `facts`, in a seeded random order. Deterministic for the inputs.
    /// - Parameters:
    ///   - facts: deduplicated facts.
    ///   - sentences: unrelated sentences to put before facts (`paraphrasePrefixes`).
    public static func documents(facts: [Fact], sentences: [String], options: Options) -> [String] {
        var generator = SplitMix64(seed: options.seed)
        var documents: [String] = []
        func prefix(for fact: Fact) -> String {
            let u = generator.nextUniform()
            if u < options.factPrefixShare, facts.count > 1 {
                var other = fact
                while other.prompt == fact.prompt { other = facts[Int(generator.next() % UInt64(facts.count))] }
                return other.text
            }
            let v = generator.nextUniform()
            if v < options.paraphraseShare, !sentences.isEmpty {
                return sentences[Int(generator.next() % UInt64(sentences.count))]
            }
            return genericSentences[Int(generator.next() % UInt64(genericSentences.count))]
        }
        for fact in facts {
            if fact.source.isPrimary {
                for _ in 0..<options.primaryBare { documents.append(fact.text) }
                for _ in 0..<options.primaryPrefixed { documents.append(prefix(for: fact) + " " + fact.text) }
            } else {
                let copies = fact.source == .subjectObject ? options.subjectObjectCopies : options.otherCopies
                for _ in 0..<copies {
                    documents.append(generator.nextUniform() < 0.5 ? fact.text : prefix(for: fact) + " " + fact.text)
                }
            }
        }
        TrainingData.shuffle(&documents, &generator)
        return documents
    }

    /// Documents as JSON lines `{"text": …}` (texts may hold newlines), the format
    /// `alphaedit stats --corpus` and `alphaedit train --corpus` read.
    public static func jsonLines(_ documents: [String]) -> String {
        documents.map { "{\"text\":" + SafetensorsJSON.quoted($0) + "}\n" }.joined()
    }

    /// Reads a corpus: one JSON object with a `text` string per line for `.jsonl`, else one
    /// document per line.
    public static func readDocuments(_ url: URL) throws -> [String] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw FactCorpusError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard url.pathExtension.lowercased() == "jsonl" else { return lines }
        return try lines.enumerated().map { number, line in
            guard let object = try? JSONValue.parse(Data(line.utf8)).objectValue, let text = object["text"]?.stringValue else {
                throw FactCorpusError.malformed(path: url.path, record: number, field: "line \(number + 1)", reason: "is not a JSON object with a \"text\" string")
            }
            return text
        }
    }

    static func recordList(_ data: Data, path: String) throws -> [JSONValue] {
        let value: JSONValue
        do { value = try JSONValue.parse(data) } catch {
            throw FactCorpusError.unreadable(path: path, reason: "not JSON (\(error))")
        }
        guard let list = value.arrayValue else {
            throw FactCorpusError.unreadable(path: path, reason: "expected a JSON list of records")
        }
        return list
    }
}

public enum FactCorpusError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, record: Int, field: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): \(reason)"
        case .malformed(let path, let record, let field, let reason): return "\(path): record \(record): \(field) \(reason)"
        }
    }
}

/// Typed access to one record's fields, with errors naming the record and field.
struct JSONObjectView: Sendable {
    let value: JSONValue
    let path: String
    let record: Int
    let prefix: String

    init(_ value: JSONValue, path: String, record: Int, prefix: String = "") {
        self.value = value
        self.path = path
        self.record = record
        self.prefix = prefix
    }

    private func field(_ key: String) throws -> JSONValue {
        guard let object = value.objectValue else {
            throw FactCorpusError.malformed(path: path, record: record, field: prefix.isEmpty ? "record" : String(prefix.dropLast()), reason: "is not an object")
        }
        guard let field = object[key] else {
            throw FactCorpusError.malformed(path: path, record: record, field: prefix + key, reason: "is missing")
        }
        return field
    }

    func object(_ key: String) throws -> JSONObjectView {
        JSONObjectView(try field(key), path: path, record: record, prefix: prefix + key + ".")
    }

    func string(_ key: String) throws -> String {
        guard let s = try field(key).stringValue else {
            throw FactCorpusError.malformed(path: path, record: record, field: prefix + key, reason: "is not a string")
        }
        return s
    }

    func strings(_ key: String) throws -> [String] {
        guard let list = try field(key).arrayValue, case let strings = list.compactMap(\.stringValue), strings.count == list.count else {
            throw FactCorpusError.malformed(path: path, record: record, field: prefix + key, reason: "is not a list of strings")
        }
        return strings
    }
}
