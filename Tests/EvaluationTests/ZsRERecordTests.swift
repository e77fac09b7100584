import Foundation
import Testing
import Transformer
@testable import Evaluation

@Suite struct ZsRERecordTests {
    @Test func parsesTheSharedRecords() {
        let records = Samples.zsRE
        #expect(records.count == 5)
        #expect(records[0].subject == "IAAF Combined Events Challenge")
        #expect(records[0].answers == ["1998"])
        #expect(records[0].locAnswer == "The String")
        #expect(records[0].alt == "2006")
        #expect(records[0].promptTemplate == "When was the inception of {}?")
        #expect(records[0].targetNew == "1998")
    }

    @Test func convertsToAnEditRequest() throws {
        let request = try Samples.zsRE[1].editRequest(caseID: 1)
        #expect(request.prompt == "Which family does {} belong to?")
        #expect(request.subject == "Ramalinaceae")
        #expect(request.targetNew == " Lecanorales")
        #expect(request.targetTrue == nil)
        var bad = Samples.zsRE[1]
        bad.subject = "Nowhere"
        #expect(throws: DatasetError.self) { try bad.editRequest(caseID: 1) }
    }

    @Test func validatesWhatTheOfficialLoaderAssumes() {
        func failure(_ json: String) -> String {
            do {
                _ = try ZsRERecord.parse(data: Data(json.utf8), path: "z.json")
                return "no error"
            } catch { return "\(error)" }
        }
        let base = #"{"subject": "A", "src": "Is A?", "answers": ["b"], "rephrase": "A?", "loc": "nq question: q", "loc_ans": "c"}"#
        #expect(failure("[\(base)]") == "no error")
        #expect(failure("[\(base.replacingOccurrences(of: #"["b"]"#, with: "[]"))]") == #"z.json: record 0: "answers" is empty"#)
        #expect(failure("[\(base), \(base.replacingOccurrences(of: "nq question: ", with: ""))]").hasPrefix(#"z.json: record 1: "loc" lacks"#))
        #expect(failure("[\(base.replacingOccurrences(of: #", "loc_ans": "c""#, with: ""))]") == #"z.json: record 0: missing "loc_ans""#)
    }

    @Test func neighbourhoodIsBuiltTokenByTokenWithoutBOS() {
        let tokenizer = CharTokenizer(prependsBOS: false)
        let record = ZsRERecord(subject: "A", src: "Is A?", answers: ["b"], rephrase: "A?", loc: "nq question: q", locAnswer: "cd")
        let c = record.evaluationCase(caseID: 7, tokenizer: tokenizer)
        #expect(c.caseID == 7 && c.prompt == "Is {}?" && c.rewritePrompt == "Is A?" && c.paraphrasePrompts == ["A?"])
        #expect(c.neighborhoodPrompts == [
            ZsREQuery(prompt: "nq question: q?", expected: " "),
            ZsREQuery(prompt: "nq question: q? ", expected: "c"),
            ZsREQuery(prompt: "nq question: q? c", expected: "d"),
        ])
    }

    /// Spec §14 item 15: with a BOS tokenizer the BOS is the first neighbourhood "token" and its decoded
    /// text appears in the later prompts.
    @Test func neighbourhoodKeepsTheBOSQuirk() {
        let tokenizer = CharTokenizer(prependsBOS: true)
        let record = ZsRERecord(subject: "A", src: "Is A?", answers: ["b"], rephrase: "A?", loc: "nq question: q", locAnswer: "c")
        #expect(record.evaluationCase(caseID: 0, tokenizer: tokenizer).neighborhoodPrompts == [
            ZsREQuery(prompt: "nq question: q?", expected: "<s>"),
            ZsREQuery(prompt: "nq question: q?<s>", expected: " "),
            ZsREQuery(prompt: "nq question: q?<s> ", expected: "c"),
        ])
    }

    @Test func llamaTokenizerReproducesTheQuirk() throws {
        let tokenizer = try Tokenizer(directory: FixturePaths.hfReference("llama"))
        #expect(tokenizer.prependsBOS)
        let record = Samples.zsRE[0]
        let c = record.evaluationCase(caseID: 0, tokenizer: tokenizer)
        let answer = tokenizer.tokenIDs(for: " The String")
        #expect(c.neighborhoodPrompts.count == answer.count)
        #expect(c.neighborhoodPrompts[0] == ZsREQuery(prompt: record.loc + "?", expected: "<|begin_of_text|>"))
        #expect(c.neighborhoodPrompts[1].prompt == record.loc + "?<|begin_of_text|>")
        // The decoded BOS re-tokenises into a real BOS inside the prompt.
        #expect(tokenizer.tokenIDs(for: c.neighborhoodPrompts[1].prompt).filter { $0 == tokenizer.bosTokenID }.count == 2)
        // Expected id of the BOS query: tok("<|begin_of_text|>") = [BOS, BOS], column 1.
        #expect(ZsREScoring.expectedID(c.neighborhoodPrompts[0].expected, tokenizer: tokenizer) == tokenizer.bosTokenID)
    }
}
