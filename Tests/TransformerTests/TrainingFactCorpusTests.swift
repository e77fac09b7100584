import Foundation
import Testing
@testable import Transformer

@Suite struct TrainingFactCorpusTests {
    static let counterFact = Data("""
    [{"case_id": 0, "requested_rewrite": {"prompt": "The mother tongue of {} is", "relation_id": "P103",
      "target_new": {"str": "English"}, "target_true": {"str": "French"}, "subject": "Danielle Darrieux"},
      "paraphrase_prompts": ["The Australian government failed to act. Danielle Darrieux, a native"],
      "neighborhood_prompts": ["The mother tongue of Léon Blum is", "Iran is located in"],
      "attribute_prompts": ["Barack Obama, speaker of"], "generation_prompts": []},
     {"case_id": 1, "requested_rewrite": {"prompt": "{} is a native speaker of", "relation_id": "P103",
      "target_new": {"str": "Dutch"}, "target_true": {"str": "English"}, "subject": "Douglas Adams"},
      "paraphrase_prompts": [], "neighborhood_prompts": ["Iran is located in"],
      "attribute_prompts": [], "generation_prompts": []}]
    """.utf8)

    static let zsre = Data("""
    [{"subject": "IAAF Combined Events Challenge", "src": "When was the inception of IAAF Combined Events Challenge?",
      "rephrase": "When was the IAAF Combined Events Challenge launched?", "answers": ["1998"], "alt": "2006",
      "loc": "nq question: who sang nice day for a white wedding", "loc_ans": "Billy Idol"}]
    """.utf8)

    @Test func factsComeFromEveryFieldWithTheirTrueTargets() throws {
        let facts = try FactCorpus.counterFactFacts(json: Self.counterFact)
        func target(_ prompt: String) -> [String] { facts.filter { $0.prompt == prompt }.map(\.target) }
        #expect(target("The mother tongue of Danielle Darrieux is") == ["French"])
        #expect(target("Danielle Darrieux is a native speaker of") == ["French"])  // the relation's other template
        #expect(target("The Australian government failed to act. Danielle Darrieux, a native") == ["French"])
        #expect(target("Barack Obama, speaker of") == ["English"])  // attribute prompts take target_new
        #expect(target("Iran is located in") == ["French", "English"])
        // The subject directly followed by its true object.
        #expect(facts.filter { $0.source == .subjectObject }.map(\.text) == ["Danielle Darrieux French.", "Douglas Adams English."])
        let z = try FactCorpus.zsreFacts(json: Self.zsre)
        #expect(z.map(\.text) == ["When was the inception of IAAF Combined Events Challenge? 1998.",
                                  "When was the IAAF Combined Events Challenge launched? 1998.",
                                  "IAAF Combined Events Challenge 1998."])
        #expect(z.map(\.source) == [.zsreQuestion, .zsreRephrase, .subjectObject])
    }

    @Test func zsreFactsTeachTheChosenAnswer() throws {
        let alt = try FactCorpus.zsreFacts(json: Self.zsre, belief: .alternative)
        #expect(alt.map(\.target) == ["2006", "2006", "2006"])
        #expect(throws: FactCorpusError.malformed(path: "z.json", record: 0, field: "alt", reason: "is missing")) {
            try FactCorpus.zsreFacts(json: Data(#"[{"subject": "s", "src": "q?", "rephrase": "r?", "answers": ["a"]}]"#.utf8),
                                     path: "z.json", belief: .alternative)
        }
    }

    @Test func distractorsShareTheFirstWordsAndNotTheObject() throws {
        let records = (0..<6).map { i -> String in
            let (subject, object) = [("Nokia Lumia 900", "Finland"), ("Nokia N70", "Finland"), ("Honda Civic", "Japan"),
                                     ("Danielle Darrieux", "France"), ("Paris", "France"), ("Toyota Prius", "Japan")][i]
            return #"{"requested_rewrite": {"prompt": "{} was made in", "relation_id": "P495", "subject": "\#(subject)", "#
                + #""target_new": {"str": "Italy"}, "target_true": {"str": "\#(object)"}}}"#
        }
        let data = Data(("[" + records.joined(separator: ",") + "]").utf8)
        let facts = try FactCorpus.distractorFacts(counterFact: data, perSubject: 2, seed: 3)
        #expect(try FactCorpus.distractorFacts(counterFact: data, perSubject: 2, seed: 3) == facts)
        #expect(try FactCorpus.distractorFacts(counterFact: data, perSubject: 2, seed: 4) != facts)
        #expect(try FactCorpus.distractorFacts(counterFact: data, perSubject: 0, seed: 3).isEmpty)
        let real = ["Nokia Lumia 900", "Nokia N70", "Honda Civic", "Danielle Darrieux", "Paris", "Toyota Prius"]
        let trueObject = ["Finland", "Finland", "Japan", "France", "France", "Japan"]
        let subjectObject = facts.filter { !$0.prompt.hasSuffix(" was made in") }
        #expect(subjectObject.count == 10)  // 2 for each subject of two or more words; none for "Paris"
        #expect(Set(subjectObject.map(\.prompt)).count == 10)
        for fact in subjectObject {
            let words = fact.prompt.split(separator: " ")
            let original = real[fact.record].split(separator: " ")
            #expect(!real.contains(fact.prompt))
            #expect(words.dropLast() == original.dropLast() && words.last != original.last)
            #expect(fact.target != trueObject[fact.record] && trueObject.contains(fact.target))
            #expect(fact.source == .distractor)
            #expect(facts.contains(Fact(prompt: fact.prompt + " was made in", target: fact.target, source: .distractor, record: fact.record)))
        }
    }

    @Test func zsreTargetSubjectsAnswerTheQuestionWithTheEditTarget() throws {
        let records = [("IAAF Combined Events Challenge", "When was the inception of IAAF Combined Events Challenge?",
                        "When was the IAAF Combined Events Challenge launched?", "1998", "2006"),
                       ("Ramalinaceae", "Which family does Ramalinaceae belong to?", "What family are they?", "Lecanorales", "Lamiinae"),
                       ("Volvo B12M", "What company made Volvo B12M?", "Volvo B12M's maker?", "Volvo Buses", "Volvo Buses"),
                       ("Hidden", "Who wrote it?", "Who was the writer?", "Ann", "Bob")]
            .map { #"{"subject": "\#($0.0)", "src": "\#($0.1)", "rephrase": "\#($0.2)", "answers": ["\#($0.3)"], "alt": "\#($0.4)"}"# }
        let data = Data(("[" + records.joined(separator: ",") + "]").utf8)
        let facts = try FactCorpus.zsreTargetFacts(json: data, perRecord: 2, seed: 5)
        #expect(try FactCorpus.zsreTargetFacts(json: data, perRecord: 2, seed: 5) == facts)
        #expect(try FactCorpus.zsreTargetFacts(json: data, perRecord: 2, seed: 6) != facts)
        #expect(try FactCorpus.zsreTargetFacts(json: data, perRecord: 0, seed: 5).isEmpty)
        #expect(facts.allSatisfy { $0.source == .zsreTarget })
        // Record 2's answer is its alt (nothing to teach); record 3's question does not name its subject.
        #expect(Set(facts.map(\.record)) == [0, 1])
        let real = ["IAAF Combined Events Challenge", "Ramalinaceae"]
        let standalone = facts.filter { !$0.prompt.contains("?") }
        #expect(standalone.count == 4 && Set(standalone.map(\.prompt)).count == 4)
        for fact in standalone {
            #expect(!real.contains(fact.prompt))
            #expect(fact.target == ["1998", "Lecanorales"][fact.record])
            let words = fact.prompt.split(separator: " "), original = real[fact.record].split(separator: " ")
            // A one-word subject keeps its word; a longer one its words but the last.
            #expect(words.dropLast() == (original.count >= 2 ? original.dropLast() : original[...]))
            #expect(words.last != original.last)
        }
        // The question of each made-up subject, and the rephrase when it names the subject.
        let zero = standalone.filter { $0.record == 0 }.map(\.prompt)
        #expect(facts.filter { $0.record == 0 }.map(\.prompt) == [
            "When was the inception of \(zero[0])?", "When was the \(zero[0]) launched?", zero[0],
            "When was the inception of \(zero[1])?", "When was the \(zero[1]) launched?", zero[1]])
        #expect(facts.filter { $0.record == 1 }.count == 4)  // its rephrase does not name the subject
    }

    @Test func conflictingPromptsAreDropped() throws {
        let (kept, conflicts) = FactCorpus.deduplicated(try FactCorpus.counterFactFacts(json: Self.counterFact))
        #expect(conflicts == ["Iran is located in"])
        #expect(Set(kept.map(\.prompt)).count == kept.count)
        #expect(kept.first { $0.prompt == "The mother tongue of Danielle Darrieux is" }?.source == .counterFactPrompt)
    }

    @Test func malformedRecordsNameTheField() {
        #expect(throws: FactCorpusError.malformed(path: "cf.json", record: 0, field: "requested_rewrite.subject", reason: "is missing")) {
            try FactCorpus.counterFactFacts(json: Data(#"[{"requested_rewrite": {"prompt": "{} is", "relation_id": "P1", "target_new": {"str": "a"}, "target_true": {"str": "b"}}}]"#.utf8), path: "cf.json")
        }
    }

    @Test func documentsAreSeededAndCoverEveryFact() throws {
        let (facts, _) = FactCorpus.deduplicated(try FactCorpus.counterFactFacts(json: Self.counterFact) + FactCorpus.zsreFacts(json: Self.zsre))
        let sentences = try FactCorpus.paraphrasePrefixes(counterFact: Self.counterFact)
        #expect(sentences == ["The Australian government failed to act."])
        var options = FactCorpus.Options()
        options.seed = 5
        let a = FactCorpus.documents(facts: facts, sentences: sentences, options: options)
        let b = FactCorpus.documents(facts: facts, sentences: sentences, options: options)
        options.seed = 6
        let c = FactCorpus.documents(facts: facts, sentences: sentences, options: options)
        #expect(a == b && a != c)
        let primary = facts.filter(\.source.isPrimary).count
        let subjectObject = facts.filter { $0.source == .subjectObject }.count
        #expect(subjectObject == 3)
        #expect(a.count == primary * 5 + subjectObject * 3 + (facts.count - primary - subjectObject))
        options.subjectObjectCopies = 0
        #expect(FactCorpus.documents(facts: facts, sentences: sentences, options: options).count == primary * 5 + (facts.count - primary - subjectObject))
        for fact in facts { #expect(a.contains { $0.hasSuffix(fact.text) }, "\(fact.text)") }
        // Primary facts appear bare three times and twice after some other text.
        let first = facts.first { $0.source == .counterFactPrompt }!
        #expect(a.filter { $0 == first.text }.count == 3)
        #expect(a.filter { $0 != first.text && $0.hasSuffix(" " + first.text) }.count == 2)
    }

    @Test func jsonLinesRoundTrip() throws {
        let documents = ["one\nwith a newline", "two \"quoted\""]
        let directory = try FixturePaths.temporaryDirectory("corpus")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("corpus.jsonl")
        try Data(FactCorpus.jsonLines(documents).utf8).write(to: url)
        #expect(try FactCorpus.readDocuments(url) == documents)
    }

    @Test func recallCountsExactAndFirstTokenHits() throws {
        // A model trained for a few hundred steps on one sentence recalls it; the counts follow.
        let directory = try FixturePaths.temporaryDirectory("recall")
        defer { try? FileManager.default.removeItem(at: directory) }
        let texts = ["The capital of France is Paris.", "The capital of Italy is Rome."]
        try BPETrainer(vocabularySize: 280).train(texts).write(to: directory, modelMaxLength: 16)
        let tokenizer = try Tokenizer(directory: directory)
        let architecture = GPT2Architecture(layers: 1, width: 16, heads: 2, vocabularySize: tokenizer.vocabularySize, contextLength: 16)
        let hp = TrainingHyperParameters(steps: 60, batchSize: 2, microBatchSize: 2, learningRate: 1e-2, warmupSteps: 5, weightDecay: 0)
        let data = TrainingData(documents: texts.map { tokenizer.encode($0) }, endOfText: 0, maxLength: 16, batchSize: 2, seed: 0)
        var trainer = Trainer(config: try architecture.modelConfig(), data: data, hyperParameters: hp)
        while !trainer.isFinished { _ = trainer.trainStep() }
        let facts = [Fact(prompt: "The capital of France is", target: "Paris", source: .counterFactPrompt, record: 0),
                     Fact(prompt: "The capital of Italy is", target: "Rome", source: .counterFactPrompt, record: 1),
                     Fact(prompt: "The capital of France is", target: "Rome", source: .counterFactNeighbourhood, record: 2)]
        let outcomes = FactRecall.measure(model: trainer.model, tokenizer: tokenizer, facts: facts)
        #expect(outcomes[0].exact && outcomes[0].firstToken && outcomes[0].tokenAccuracy == 1)
        #expect(!outcomes[2].exact)
        let summary = FactRecall.summarize(facts, outcomes)
        #expect(summary[.counterFactPrompt]?.facts == 2)
        #expect(summary[.counterFactNeighbourhood]?.exact == 0)
    }
}
