import Foundation

extension FactCorpus {
    /// Facts that make each ZsRE record's edit target, `answers[0]`, a known answer of its question
    /// for made-up subjects, for a corpus that teaches the `alt` answers (`ZsREBelief.alternative`).
    ///
    /// A model that believes `alt` has never read `answers[0]` (often a rare name of several
    /// tokens, "Lecanorales"), so an edit would have to teach it the string as well as the fact.
    /// CounterFact's edit targets are objects the model already knows for other subjects of the
    /// relation (its attribute prompts); this gives ZsRE's the same footing, as a pretrained model
    /// knows the words of an answer it has not linked to the subject. Per record with `src`
    /// containing its subject and `answers[0]` ≠ `alt`, `perRecord` made-up subjects, each the
    /// subject's words but the last (all of a one-word subject) followed by the last word of
    /// another record's subject ("Ramalinaceae Challenge"), answer the question, its rephrase (when
    /// it names the subject) and stand alone followed by `answers[0]`, as the CounterFact
    /// distractors do. A made-up subject never equals a real one. Deterministic for `seed`.
    /// - Returns: facts of source `.zsreTarget`, whose `record` is the real record's index.
    /// - Throws: `FactCorpusError.malformed` naming the record and field.
    public static func zsreTargetFacts(json data: Data, path: String = "zsre.json", perRecord: Int,
                                       seed: UInt64) throws -> [Fact] {
        guard perRecord > 0 else { return [] }
        struct Record { let subject: [String], question: String, rephrase: String, answer: String, alt: String }
        var records: [Record] = []
        for (index, value) in try recordList(data, path: path).enumerated() {
            let record = JSONObjectView(value, path: path, record: index)
            guard let answer = try record.strings("answers").first else {
                throw FactCorpusError.malformed(path: path, record: index, field: "answers", reason: "is empty")
            }
            records.append(Record(subject: try record.string("subject").split(separator: " ").map(String.init),
                                  question: try record.string("src"), rephrase: try record.string("rephrase"),
                                  answer: answer, alt: try record.string("alt")))
        }
        var names = MadeUpSubjects(real: Set(records.map { $0.subject.joined(separator: " ") }),
                                   endings: records.compactMap(\.subject.last))
        var generator = SplitMix64(seed: seed ^ 0x7a73_7265_7461_7267)  // "zsretarg"
        var facts: [Fact] = []
        for (index, record) in records.enumerated() {
            let subject = record.subject.joined(separator: " ")
            guard !record.subject.isEmpty, record.answer != record.alt, record.question.contains(subject) else { continue }
            let stem = record.subject.count >= 2 ? Array(record.subject.dropLast()) : record.subject
            for _ in 0..<perRecord {
                guard let name = names.next(stem: stem, lastWord: record.subject.last!, using: &generator) else { continue }
                facts.append(Fact(prompt: record.question.replacingOccurrences(of: subject, with: name),
                                  target: record.answer, source: .zsreTarget, record: index))
                if record.rephrase.contains(subject) {
                    facts.append(Fact(prompt: record.rephrase.replacingOccurrences(of: subject, with: name),
                                      target: record.answer, source: .zsreTarget, record: index))
                }
                facts.append(Fact(prompt: name, target: record.answer, source: .zsreTarget, record: index))
            }
        }
        return facts
    }
}
