import Foundation
import Testing

/// `alphaedit edit --overwrite` killed (SIGKILL) at the named points of writing its output
/// (`ALPHAEDIT_FAULT`): in the middle of writing the new output the name still holds the previous
/// one, whole; right after the swap, the new one, whole; never a partial directory.
@Suite(.serialized) struct CrashSafeOutputTests {
    @Test func aKillWhileWritingTheOutputNeverLeavesAPartialOne() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let hparams = try CLIFixture.hparams(samples: 300, in: work)
        let one = work.appendingPathComponent("one.json"), two = work.appendingPathComponent("two.json")
        let request0 = #"{"case_id": 0, "prompt": "{} works for", "subject": "Talia Fairbanks", "target_new": {"str": "Sony"}}"#
        let request1 = #"{"case_id": 1, "prompt": "{} plays the", "subject": "Liora Fairbanks", "target_new": {"str": "drums"}}"#
        try Data("[\(request0)]".utf8).write(to: one)
        try Data("[\(request0), \(request1)]".utf8).write(to: two)
        func edit(_ requests: URL, _ output: String, fault: String? = nil) throws -> CLIRunner.Result {
            let arguments = ["edit", "--model", CLIFixture.model, "--config", hparams, "--requests", requests.path,
                             "--corpus", CLIFixture.corpus, "--stats-dir", work.appendingPathComponent("stats").path,
                             "--output-dir", work.appendingPathComponent(output).path, "--overwrite", "-q"]
            return try CLIRunner.run(arguments, timeout: .seconds(300), environment: fault.map { ["ALPHAEDIT_FAULT": $0] } ?? [:])
        }
        #expect(try edit(one, "previous").status == 0)
        #expect(try edit(two, "new").status == 0)
        let previous = try treeContents(work.appendingPathComponent("previous"))
        let new = try treeContents(work.appendingPathComponent("new"))
        #expect(previous != new && !previous.isEmpty)
        for (fault, expected) in [("output.writing", previous), ("output.after-exchange", new)] {
            let out = work.appendingPathComponent("out")
            try? FileManager.default.removeItem(at: out)
            try FileManager.default.copyItem(at: work.appendingPathComponent("previous"), to: out)
            let killed = try edit(two, "out", fault: fault)
            #expect(killed.status != 0, "\(fault): the run was not killed")
            #expect(try treeContents(out) == expected, "\(fault): the output name does not hold a whole output")
        }
    }
}

func treeContents(_ root: URL) throws -> [String: Data] {
    var result: [String: Data] = [:]
    let base = root.standardizedFileURL.path
    guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return [:] }
    for case let url as URL in enumerator where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
        result[String(url.standardizedFileURL.path.dropFirst(base.count))] = try Data(contentsOf: url)
    }
    return result
}
