import Foundation
import Testing
@testable import Editing
@testable import Transformer

/// Bad input is refused before any work, naming the request or key, with nothing written.
@Suite struct BadInputTests {
    let oracle: OracleFixture
    let work: URL

    init() throws {
        oracle = try OracleFixture("alphaedit-oracle")
        work = FileManager.default.temporaryDirectory.appendingPathComponent("alphaedit-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    var output: URL { work.appendingPathComponent("out") }

    func write(_ text: String, _ name: String) throws -> URL {
        let url = work.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func configuration(requests: String = #"[{"prompt": "{} works for", "subject": "Talia Fairbanks", "target_new": "Sony"}]"#,
                       hparams: URL? = nil) throws -> EditJobConfiguration {
        var c = EditJobConfiguration(modelDirectory: oracle.modelDirectory, hparamsFile: hparams ?? oracle.hparamsURL,
                                     requestsFile: try write(requests, "requests.json"), outputDirectory: output,
                                     statsDirectory: work.appendingPathComponent("stats"))
        c.corpus = oracle.directory.appendingPathComponent("stats_corpus.txt")
        return c
    }

    func hparams(_ change: (inout [String: JSONValue]) -> Void) throws -> URL {
        var object = try JSONValue.parse(Data(contentsOf: oracle.hparamsURL)).objectValue!
        change(&object)
        let url = work.appendingPathComponent("hparams-\(UUID().uuidString.prefix(6)).json")
        try JSONEncoder().encode(JSONValue.object(object)).write(to: url)
        return url
    }

    /// The job refuses at construction or at the start of `run`, and writes nothing.
    func refused(_ c: @autoclosure () throws -> EditJobConfiguration, contains fragments: [String]) throws {
        var message = ""
        do {
            _ = try EditJob(try c()).run()
            Issue.record("the job ran")
        } catch {
            message = "\(error)"
        }
        for fragment in fragments { #expect(message.contains(fragment), "\(message)") }
        #expect(!message.contains("\n"))
        #expect(!FileManager.default.fileExists(atPath: output.path), "output written")
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("stats").path), "statistics written")
    }

    @Test func subjectAbsentFromItsPrompt() throws {
        try refused(try configuration(requests: #"[{"prompt": "Paris is in", "subject": "Rome", "target_new": "Italy"}]"#),
                    contains: ["request 0", "Rome", "does not occur"])
    }

    @Test func twoHolesInAPrompt() throws {
        try refused(try configuration(requests: #"{"requests": [{"prompt": "{} and {}", "subject": "A", "target_new": "B"}]}"#),
                    contains: ["request 0", "exactly one {}"])
    }

    @Test func emptyRequestList() throws {
        try refused(try configuration(requests: "[]"), contains: ["requests.json", "empty"])
    }

    @Test func unknownAndMissingHparamsKeys() throws {
        try refused(try configuration(hparams: try hparams { $0["v_lrr"] = .number(0.5) }), contains: ["unknown key \"v_lrr\""])
        try refused(try configuration(hparams: try hparams { $0["L2"] = nil }), contains: ["key \"L2\" is missing"])
    }

    @Test func layersOutsideTheModel() throws {
        try refused(try configuration(hparams: try hparams { $0["layers"] = .array([.number(1), .number(7)]) }),
                    contains: ["layers", "layer 7", "0…3"])
    }

    @Test func moduleTemplateOfAnotherFamily() throws {
        try refused(try configuration(hparams: try hparams { $0["rewrite_module_tmp"] = .string("model.layers.{}.mlp.down_proj") }),
                    contains: ["rewrite_module_tmp", "transformer.h.{}.mlp.c_proj"])
    }

    @Test func statisticsOfAnotherModel() throws {
        // Cache statistics made for the hf-reference gpt2 (another model) under this model's cache path.
        let c = try configuration()
        let config = try ModelConfig.load(directory: oracle.modelDirectory)
        let job = StatisticsJob(config: config, tokenizer: try oracle.tokenizer(), modelFingerprint: "0123456789abcdef",
                                modelName: "model", hparams: try oracle.hparams(), statsDirectory: c.statsDirectory, corpus: nil)
        let path = job.url(layer: 1)
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        try LayerStatistics(layer: 1, width: 512, provenance: StatisticsProvenance(model: "0123456789abcdef", module: job.module(1), corpus: "x", dtype: "float32"))
            .write(to: path)
        var message = ""
        do { _ = try EditJob(c).run() } catch { message = "\(error)" }
        #expect(message.contains("made for model 0123456789abcdef"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    /// A corpus whose samples are all empty gives statistics of no tokens: refused when the pass
    /// ends (no statistics file is written), and such a file made elsewhere is refused when used.
    @Test func statisticsOfNoTokens() throws {
        var c = try configuration()
        c.corpus = try write("\n\n\n", "empty-samples.txt")
        var message = ""
        do { _ = try EditJob(c).run() } catch { message = "\(error)" }
        #expect(message.contains("the statistics of layer 1 hold no tokens (3 samples of \(c.corpus!.path), each empty"), "\(message)")
        #expect(message.contains("alphaedit stats compute --corpus FILE"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: output.path))

        var cached = try configuration()
        cached.corpus = nil
        let config = try ModelConfig.load(directory: oracle.modelDirectory)
        let fingerprint = try ModelFingerprint.base(of: try Checkpoint(directory: oracle.modelDirectory), config: config)
        let job = StatisticsJob(config: config, tokenizer: try oracle.tokenizer(), modelFingerprint: fingerprint,
                                modelName: "model", hparams: try oracle.hparams(), statsDirectory: cached.statsDirectory, corpus: nil)
        for layer in [1, 2] {
            let path = job.url(layer: layer)
            try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
            try LayerStatistics(layer: layer, width: 512, provenance: StatisticsProvenance(model: fingerprint, module: job.module(layer), corpus: "x", dtype: "float32"))
                .write(to: path)
        }
        message = ""
        do { _ = try EditJob(cached).run() } catch { message = "\(error)" }
        #expect(message.contains("the statistics of layer 1 hold no tokens (0 samples of the corpus with fingerprint x,"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func stateOfOtherLayers() throws {
        let state = EditState(algorithm: .alphaedit, layerStates: [LayerEditState(layer: 2, constraint: .projector(.init(rows: 4, cols: 4, repeating: 0)))],
                              templates: try ContextTemplates(groups: [["{}"]]), modelFingerprint: "x")
        let url = work.appendingPathComponent("state.safetensors")
        try state.write(to: url, hparams: try oracle.hparams())
        var c = try configuration()
        c.stateFile = url
        var message = ""
        do { _ = try EditJob(c).run() } catch { message = "\(error)" }
        #expect(message.contains("state.safetensors") && message.contains("layers [2]"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func nonEmptyOutputDirectory() throws {
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: output.appendingPathComponent("precious.txt"))
        var message = ""
        do { _ = try EditJob(try configuration()) } catch { message = "\(error)" }
        #expect(message.contains("not empty") && message.contains("--overwrite"), "\(message)")
        #expect(try String(contentsOf: output.appendingPathComponent("precious.txt"), encoding: .utf8) == "keep")
    }
}
