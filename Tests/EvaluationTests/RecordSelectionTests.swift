import Testing
@testable import Evaluation

@Suite struct RecordSelectionTests {
    @Test func parsesCountsAndRanges() throws {
        #expect(RecordSelection(parsing: "5") == RecordSelection(start: 0, end: 5))
        #expect(RecordSelection(parsing: "10:20") == RecordSelection(start: 10, end: 20))
        #expect(RecordSelection(parsing: "10:") == RecordSelection(start: 10, end: nil))
        #expect(RecordSelection(parsing: ":3") == RecordSelection(start: 0, end: 3))
        for bad in ["", "a", "-1", "5:2", "1:2:3", "x:4"] { #expect(RecordSelection(parsing: bad) == nil, "\(bad)") }
    }

    @Test func rangesAreCheckedAgainstTheFile() throws {
        #expect(try RecordSelection(parsing: "10:")!.range(count: 12, path: "f") == 10..<12)
        #expect(try RecordSelection.all.range(count: 3, path: "f") == 0..<3)
        #expect(throws: DatasetError.selectionOutOfRange(path: "f", selection: "0:13", count: 12)) {
            try RecordSelection(parsing: "13")!.range(count: 12, path: "f")
        }
        #expect(throws: DatasetError.self) { try RecordSelection(parsing: "12:")!.range(count: 12, path: "f") }
        // An empty selection says so, rather than calling 0:0 outside the file.
        do {
            _ = try RecordSelection(parsing: "0")!.range(count: 12, path: "f")
            Issue.record("--records 0 was accepted")
        } catch {
            #expect("\(error)" == "f: --records 0:0 selects no record (give N ≥ 1 or START:END with END > START; the file has 12 records)")
        }
    }
}
