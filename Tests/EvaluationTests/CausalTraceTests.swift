import Foundation
import Testing
import Transformer
@testable import Evaluation

/// Causal tracing: invariants that hold for any model, batching that does not change a number, and
/// agreement with an independent NumPy trace.
@Suite(.serialized) struct CausalTraceTests {
    static let prompt = TracePrompt(prompt: "The mother tongue of Danielle Darrieux is", subject: "Danielle Darrieux", target: "French")

    static func tracer(_ folder: String, samples: Int = 3, window: Int = 2, rowsPerPass: Int = 4096) throws -> CausalTracer {
        let url = FixturePaths.hfReference(folder)
        var options = CausalTraceOptions()
        options.samples = samples
        options.window = window
        options.rowsPerPass = rowsPerPass
        return try CausalTracer(model: try TransformerModel.load(directory: url), tokenizer: try Tokenizer(directory: url),
                                options: options, subjects: [prompt.subject])
    }

    /// Relative agreement (probabilities of untrained fixture models are small).
    static func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-4) -> Bool {
        abs(a - b) <= tolerance * abs(b) + 1e-9
    }

    @Test func subjectTokensAreTheTokensOverlappingTheSubject() {
        let pieces: [[UInt8]] = ["The", " mother", " of", " Dan", "ielle", " D", "arr", "ieux", " is"].map { Array($0.utf8) }
        #expect(TokenizedTracePrompt.tokenRange(of: Array("Danielle Darrieux".utf8), in: pieces) == 3..<8)
        #expect(TokenizedTracePrompt.tokenRange(of: Array("ielle".utf8), in: pieces) == 4..<5)
        #expect(TokenizedTracePrompt.tokenRange(of: Array("Paris".utf8), in: pieces) == nil)
    }

    @Test func aSubjectOutsideThePromptIsAnErrorNamingBoth() throws {
        let tracer = try Self.tracer("gpt2")
        let bad = TracePrompt(prompt: "The capital of France is", subject: "Germany", target: "Paris", caseID: 7)
        #expect(throws: TraceError.subjectNotFound(subject: "Germany", prompt: "The capital of France is", caseID: 7)) {
            _ = try tracer.trace(bad)
        }
    }

    @Test(arguments: ["gpt2", "gptj", "llama"])
    func restoringEverythingGivesCleanAndNothingGivesCorrupted(folder: String) throws {
        let tracer = try Self.tracer(folder)
        let run = try TraceRun(tracer: tracer, prompt: Self.prompt)
        let T = run.tokenized.ids.count, layers = tracer.model.config.layerCount
        #expect(run.tokenized.subjectTokens.lowerBound > 0, "the subject is not at the start of the prompt")
        #expect(abs(run.cleanProbability - run.corruptedProbability) > 1e-7, "the noise changes the output")
        let allTokens = Array(0..<T)
        var sets: [[RestoredState]] = [[]]
        sets.append(allTokens.map { RestoredState(.embeddings, token: $0) })
        for l in 0..<layers { sets.append(allTokens.map { RestoredState(.blockOutput(l), token: $0) }) }
        // The last token's final state alone decides the output.
        sets.append([RestoredState(.blockOutput(layers - 1), token: T - 1)])
        // Tokens before the subject never see the noise: restoring them changes nothing.
        sets.append((0..<run.tokenized.subjectTokens.lowerBound).flatMap { t in
            (0..<layers).flatMap { l in [RestoredState(.mlpOutput(l), token: t), RestoredState(.attentionOutput(l), token: t)] }
        })
        let p = run.probabilities(restoring: sets)
        #expect(Self.close(p[0], run.corruptedProbability), "nothing restored: \(p[0]) vs corrupted \(run.corruptedProbability)")
        for i in 1..<(sets.count - 1) {
            #expect(Self.close(p[i], run.cleanProbability), "set \(i): \(p[i]) vs clean \(run.cleanProbability)")
        }
        #expect(Self.close(p[sets.count - 1], run.corruptedProbability))
    }

    @Test func theTraceTableIsTheSameInAnyBatchingAndEndsAtTheCleanProbability() throws {
        let wide = try Self.tracer("gpt2").trace(Self.prompt)
        let narrow = try Self.tracer("gpt2", rowsPerPass: 1).trace(Self.prompt)
        let layers = wide.restored[.hidden]![0].count, T = wide.tokens.count
        for kind in TraceKind.allCases {
            for t in 0..<T {
                for l in 0..<layers {
                    #expect(Self.close(wide.restored[kind]![t][l], narrow.restored[kind]![t][l]), "\(kind) token \(t) layer \(l)")
                }
            }
        }
        #expect(Self.close(wide.restored[.hidden]![T - 1][layers - 1], wide.cleanProbability))
        // Before the subject, no restoration matters.
        for kind in TraceKind.allCases {
            for l in 0..<layers { #expect(Self.close(wide.restored[kind]![0][l], wide.corruptedProbability)) }
        }
    }

    @Test func averagesByCategoryAndSuggestsTheStrongestMLPWindow() {
        func trace(tokens: Int, subject: Range<Int>, mlp: [[Double]], corrupted: Double) -> PromptTrace {
            PromptTrace(prompt: Self.prompt, tokens: (0..<tokens).map { "t\($0)" }, subjectStart: subject.lowerBound,
                        subjectEnd: subject.upperBound, targetToken: 1, predictedToken: 1, cleanProbability: 1,
                        corruptedProbability: corrupted, restored: [.mlp: mlp])
        }
        // 3 layers. Prompt A: tokens 0 1 [2 3 4] 5 6; prompt B: [0] 1 2.
        let a = trace(tokens: 7, subject: 2..<5, mlp: (0..<7).map { t in t == 4 ? [0.2, 0.9, 0.6] : [0.1, 0.1, 0.1] }, corrupted: 0.1)
        let b = trace(tokens: 3, subject: 0..<1, mlp: (0..<3).map { t in t == 0 ? [0.5, 0.7, 0.3] : [0.3, 0.3, 0.3] }, corrupted: 0.3)
        let average = TraceAverage([a, b], layerCount: 3)
        #expect(average.counts == [2, 1, 2, 2, 0, 2])
        let last = average.effects(.mlp, at: .lastSubject)!
        #expect(zip(last, [0.15, 0.6, 0.25]).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(average.effects(.mlp, at: .further) == nil)
        let suggestion = LayerSuggestion(effects: last, count: 2)!
        #expect(suggestion.layers == [1, 2] && suggestion.peak == 1)
        #expect(LayerSuggestion.defaultCount(layerCount: 48) == 5 && LayerSuggestion.defaultCount(layerCount: 12) == 2)
        // The report keeps only predicted prompts unless told otherwise.
        var wrong = b
        wrong.predictedToken = 2
        let report = TraceReport(model: "m", layerCount: 3, options: CausalTraceOptions(), noise: 0.1, traces: [a, wrong],
                                 includeWrong: false, suggestCount: 2)
        #expect(report.traces.count == 1 && report.skippedCount == 1)
        #expect(report.markdown().contains("\"layers\": [1, 2]"))
        #expect(report.heatmap().render().hasPrefix("<svg"))
    }

    static let numpy: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import numpy"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    @Test(.enabled(if: CausalTraceTests.numpy, "needs python3 with NumPy (apt install python3-numpy)"))
    func matchesAnIndependentNumPyTrace() throws {
        let tracer = try Self.tracer("gpt2", samples: 3, window: 3)
        let trace = try tracer.trace(Self.prompt)
        let run = try TraceRun(tracer: tracer, prompt: Self.prompt)
        let script = FixturePaths.root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/trace-reference.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, FixturePaths.hfReference("gpt2").path,
                             "--ids", run.tokenized.ids.map(String.init).joined(separator: ","),
                             "--subject", "\(trace.subjectStart):\(trace.subjectEnd)", "--target", String(trace.targetToken),
                             "--noise", String(tracer.noise), "--samples", "3", "--seed", "1", "--window", "3"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "trace-reference.py failed")
        struct Reference: Decodable {
            let clean: Double, corrupted: Double
            let restored: [String: [[Double]]]
        }
        let reference = try JSONDecoder().decode(Reference.self, from: data)
        #expect(Self.close(trace.cleanProbability, reference.clean))
        #expect(Self.close(trace.corruptedProbability, reference.corrupted))
        for kind in TraceKind.allCases {
            let ours = trace.restored[kind]!, theirs = reference.restored[kind.rawValue]!
            #expect(ours.count == theirs.count)
            for (t, row) in ours.enumerated() {
                for (l, value) in row.enumerated() {
                    #expect(Self.close(value, theirs[t][l]), "\(kind) token \(t) layer \(l): \(value) vs \(theirs[t][l])")
                }
            }
        }
    }
}
