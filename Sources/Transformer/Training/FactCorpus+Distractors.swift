import Foundation

/// Which ZsRE answer a knowledge corpus teaches.
public enum ZsREBelief: String, Sendable, CaseIterable {
    /// `answers[0]`, the official edit target (`dsets/zsre.py`'s `target_new`).
    case answer
    /// `alt`, EasyEdit's alternative answer: the model believes it, and an edit to `answers[0]`
    /// has to change what the model says (as for a pretrained model, which rarely knows ZsRE's
    /// answers).
    case alternative = "alt"
}

extension FactCorpus {
    /// Facts about made-up subjects that share the first words of real CounterFact subjects.
    ///
    /// Many CounterFact subjects name their object in their first word ("Nokia Lumia 900",
    /// produced by Nokia; "Honda Civic"). A small model trained on such facts answers from that
    /// first token through attention at the final position, and a value written at the
    /// subject's last token, where ROME, MEMIT and AlphaEdit edit, then cannot outvote it. Beside
    /// every subject of two or more words this adds `perSubject` subjects made of its words but
    /// the last, followed by the last word of another subject ("Nokia Lumia Civic"), each with
    /// another object of the same relation, in every prompt template of the relation and as a
    /// subject–object fact. Then no subject's first words tell its object, and the model has to
    /// look the whole subject up where it ends.
    ///
    /// A made-up subject never equals a real one; its object is a `target_true` of another
    /// record of the relation. Deterministic for `seed`.
    /// - Returns: facts of source `.distractor`, whose `record` is the real subject's record.
    public static func distractorFacts(counterFact data: Data, path: String = "counterfact.json",
                                       perSubject: Int, seed: UInt64) throws -> [Fact] {
        guard perSubject > 0 else { return [] }
        let (rewrites, templates) = try rewrites(json: data, path: path)
        var objects: [String: [String]] = [:]    // relation → distinct true objects, first-seen order
        for r in rewrites where !(objects[r.relation]?.contains(r.trueTarget) ?? false) {
            objects[r.relation, default: []].append(r.trueTarget)
        }
        let subjects = rewrites.map { (words: $0.subject.split(separator: " ").map(String.init), relation: $0.relation,
                                       trueTarget: $0.trueTarget) }
        var names = MadeUpSubjects(real: Set(subjects.map { $0.words.joined(separator: " ") }),
                                   endings: subjects.filter { $0.words.count >= 2 }.map { $0.words.last! })
        var generator = SplitMix64(seed: seed ^ 0x6469_7374_7261_6374)  // "distract"
        func pick<T>(_ list: [T]) -> T { list[Int(generator.next() % UInt64(list.count))] }
        var facts: [Fact] = []
        for (record, subject) in subjects.enumerated() where subject.words.count >= 2 {
            let others = objects[subject.relation]!.filter { $0 != subject.trueTarget }
            guard !others.isEmpty else { continue }
            for _ in 0..<perSubject {
                guard let name = names.next(stem: Array(subject.words.dropLast()), lastWord: subject.words.last!,
                                            using: &generator) else { continue }
                let object = pick(others)
                for template in templates[subject.relation]! {
                    facts.append(Fact(prompt: template.replacingOccurrences(of: "{}", with: name), target: object,
                                      source: .distractor, record: record))
                }
                facts.append(Fact(prompt: name, target: object, source: .distractor, record: record))
            }
        }
        return facts
    }
}
