import Foundation
import Testing
@testable import Evaluation

@Suite struct CounterFactRecordTests {
    @Test func parsesTheSharedRecords() throws {
        let records = Samples.counterFact
        #expect(records.map(\.caseID) == [0, 14, 52, 69])
        let first = records[0]
        #expect(first.pararelIndex == 2796)
        #expect(first.requestedRewrite.prompt == "The mother tongue of {} is")
        #expect(first.requestedRewrite.relationID == "P103")
        #expect(first.requestedRewrite.targetNew == .init(str: "English", id: "Q1860"))
        #expect(first.requestedRewrite.targetTrue == .init(str: "French", id: "Q150"))
        #expect(first.rewritePrompt == "The mother tongue of Danielle Darrieux is")
        #expect(first.paraphrasePrompts.count == 2 && first.neighborhoodPrompts.count == 10)
        #expect(first.attributePrompts.count == 10 && first.generationPrompts.count == 10)
        #expect(first.neighborhoodPrompts[0] == "The mother tongue of L\u{e9}on Blum is")
    }

    @Test func convertsToAnEditRequestWithLeadingSpaces() {
        let request = Samples.counterFact[0].editRequest
        #expect(request.caseID == 0)
        #expect(request.prompt == "The mother tongue of {} is")
        #expect(request.subject == "Danielle Darrieux")
        #expect(request.targetNew == " English")
        #expect(request.targetTrue == " French")
    }

    @Test func roundTripsThroughJSON() throws {
        let records = Samples.counterFact
        let data = try JSONEncoder().encode(records)
        #expect(try CounterFactRecord.parse(data: data) == records)
    }

    @Test func optionalListsDefaultToEmpty() throws {
        let json = #"[{"case_id": 3, "requested_rewrite": {"prompt": "{} plays", "subject": "A", "target_new": {"str": "x"}, "target_true": {"str": "y"}}, "paraphrase_prompts": [], "neighborhood_prompts": []}]"#
        let record = try #require(try CounterFactRecord.parse(data: Data(json.utf8)).first)
        #expect(record.attributePrompts.isEmpty && record.generationPrompts.isEmpty)
        #expect(record.requestedRewrite.targetNew.id == nil && record.pararelIndex == nil)
    }

    @Test func errorsNameTheFileAndTheRecord() {
        func failure(_ json: String) -> String {
            do {
                _ = try CounterFactRecord.parse(data: Data(json.utf8), path: "cf.json")
                return "no error"
            } catch { return "\(error)" }
        }
        let good = #"{"case_id": 5, "requested_rewrite": {"prompt": "{} is", "subject": "A", "target_new": {"str": "x"}, "target_true": {"str": "y"}}, "paraphrase_prompts": [], "neighborhood_prompts": []}"#
        let missing = #"{"case_id": 14, "requested_rewrite": {"prompt": "{} is", "subject": "A", "target_new": {"str": "x"}}, "paraphrase_prompts": [], "neighborhood_prompts": []}"#
        #expect(failure("[\(good), \(missing)]") == #"cf.json: record 1 (case_id 14): missing "requested_rewrite.target_true""#)
        let wrongType = #"{"case_id": 7, "requested_rewrite": {"prompt": "{} is", "subject": "A", "target_new": {"str": "x"}, "target_true": {"str": "y"}}, "paraphrase_prompts": "p", "neighborhood_prompts": []}"#
        #expect(failure("[\(wrongType)]") == #"cf.json: record 0 (case_id 7): "paraphrase_prompts" is not a list"#)
        let twoHoles = good.replacingOccurrences(of: #""{} is""#, with: #""{} is {}""#)
        #expect(failure("[\(twoHoles)]").hasPrefix("cf.json: record 0 (case_id 5): requested_rewrite.prompt \"{} is {}\" must contain exactly one {}"))
        #expect(failure("[1]").hasPrefix("cf.json: record 0: "))
        #expect(failure(#"{"a": 1}"#) == "cf.json: expected a JSON list of records at the top level")
        #expect(failure("[]") == "cf.json: the file holds no records")
        #expect(failure("[{").hasPrefix("cf.json: not JSON: "))
    }

    @Test func unreadableFileIsNamed() {
        #expect(throws: DatasetError.self) { try CounterFactRecord.load(file: URL(fileURLWithPath: "/nonexistent/cf.json")) }
    }
}
