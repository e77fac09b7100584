import Foundation
import Testing
@testable import Editing
@testable import Transformer

/// The checkpoint `alphaedit edit` writes loads in Hugging Face transformers, with the edit in it.
/// Runs when `python3` can import transformers and torch; skipped with a message otherwise.
@Suite struct TransformersInteropTests {
    static let python: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import transformers, torch"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Scripts/transformers_scores.py")

    struct Score: Decodable { let probability: Double; let missing: [String]; let unexpected: [String] }

    func transformersScores(model: URL, requests: URL) throws -> [Score] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script.path, model.path, requests.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "transformers could not load \(model.path)")
        return try JSONDecoder().decode([Score].self, from: data.split(separator: 0x0A).last.map { Data($0) } ?? data)
    }

    @Test(.enabled(if: TransformersInteropTests.python, "needs python3 with transformers and torch (pip install torch transformers)"),
          arguments: OracleFixture.names)
    func editedCheckpointLoadsInTransformers(oracle name: String) throws {
        let oracle = try OracleFixture(name)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("alphaedit-hf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let requests = work.appendingPathComponent("requests.json")
        try JSONEncoder().encode(JSONValue.array(Array(oracle.json.objectValue!["requests"]!.arrayValue![0..<3]))).write(to: requests)
        // Stronger than the official constants so that the edit moves these confident models.
        var hparams = try JSONValue.parse(Data(contentsOf: oracle.hparamsURL)).objectValue!
        hparams["L2"] = .number(0.01)
        hparams["clamp_norm_factor"] = .number(4)
        let hparamsURL = work.appendingPathComponent("hparams.json")
        try JSONEncoder().encode(JSONValue.object(hparams)).write(to: hparamsURL)
        var configuration = EditJobConfiguration(modelDirectory: oracle.modelDirectory, hparamsFile: hparamsURL, requestsFile: requests,
                                                 outputDirectory: work.appendingPathComponent("out"), statsDirectory: work.appendingPathComponent("stats"))
        configuration.corpus = oracle.directory.appendingPathComponent("stats_corpus.txt")
        configuration.contextTemplatesFile = oracle.directory.appendingPathComponent("oracle.json")
        let summary = try EditJob(configuration).run()

        let before = try transformersScores(model: oracle.modelDirectory, requests: requests)
        let after = try transformersScores(model: configuration.outputDirectory, requests: requests)
        for (i, record) in summary.records.enumerated() {
            #expect(after[i].missing.isEmpty && after[i].unexpected.isEmpty, "\(after[i].missing) \(after[i].unexpected)")
            let ours = Double(record.after["target_new"]!.probability), oursBefore = Double(record.before["target_new"]!.probability)
            // transformers sees the same probabilities as alphaedit, before and after…
            #expect(abs(after[i].probability - ours) <= 1e-3 * ours, "\(name) request \(i): transformers \(after[i].probability), alphaedit \(ours)")
            #expect(abs(before[i].probability - oursBefore) <= 1e-3 * oursBefore)
        }
        // …and the edit is in the weights it loaded (some requests sit where the target
        // optimisation has no gradient and barely move; the largest change shows the edit).
        let changes = zip(before, after).map { abs($1.probability - $0.probability) / $0.probability }
        #expect(changes.max()! > 0.05, "\(name): relative changes \(changes)")
    }
}
