import ArgumentParser
import Evaluation
import Foundation
import Linalg
import Transformer

/// `alphaedit trace`: causal tracing (ROME, section 2), to see where a model recalls facts and
/// choose the layers to edit.
struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Causal tracing: find the layers whose MLPs recall facts at the subject's last token, and suggest edit layers.",
        discussion: """
        The subject's token embeddings are corrupted with Gaussian noise (ν = --noise × the standard \
        deviation of the subjects' token embeddings; --samples noisy runs), then each clean state is \
        restored in turn: the block output at each (token, layer), and the MLP and attention outputs \
        over a window of --window blocks around each layer. The probability of the true object's \
        first token after each restoration is recorded; the average indirect effect is the restored \
        minus the corrupted probability. The summary names the consecutive layers where restoring the \
        MLP at the last subject token has the largest effect: a value for the hparams' "layers".

        One prompt:
          alphaedit trace --prompt "The mother tongue of Danielle Darrieux is" --subject "Danielle Darrieux" --target French
        A dataset slice, averaged by token position (prompts the model gets wrong are left out, as in ROME):
          alphaedit trace --dataset counterfact --records 0:100 --output-dir out/trace

        Writes trace.json (every number), trace.md (the summary) and trace.svg (heatmaps like ROME's \
        figures; subject tokens starred) under --output-dir.
        """)

    @Option(help: ArgumentHelp("Model directory (default: the shipped Models/knowledge-gpt2).", valueName: "dir"))
    var model: String?

    @Option(help: ArgumentHelp("Trace this prompt (with --subject and --target) instead of a dataset.", valueName: "text"))
    var prompt: String?

    @Option(help: ArgumentHelp("The subject: a substring of --prompt whose tokens are corrupted.", valueName: "text"))
    var subject: String?

    @Option(help: ArgumentHelp("The true object whose first token's probability is traced.", valueName: "text"))
    var target: String?

    @Option(help: "counterfact or zsre (when no --prompt is given; mixed traces both files' records).")
    var dataset: EvaluationDataset = .counterfact

    @Option(help: ArgumentHelp("Dataset file (default: the repository's Data/ copy).", valueName: "file"))
    var data: String?

    @Option(help: ArgumentHelp("Records to trace, START:END.", valueName: "start:end"))
    var records = "0:100"

    @Option(help: "Noisy runs per restoration.")
    var samples = 10

    @Option(help: ArgumentHelp("Noise level as a multiple of the subjects' embedding standard deviation.", valueName: "k"))
    var noise: Float = 3

    @Option(name: .customLong("noise-std"), help: ArgumentHelp("Absolute noise standard deviation (overrides --noise).", valueName: "ν"))
    var noiseStd: Float?

    @Option(help: "Blocks whose MLP or attention outputs are restored together, centred on each layer (clipped to the model).")
    var window = 10

    @Option(help: "Seed of the noise.")
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("Comma-separated kinds to trace: hidden,mlp,attention.", valueName: "kinds"))
    var kinds = "hidden,mlp,attention"

    @Option(help: ArgumentHelp("Number of consecutive edit layers to suggest (default: about a sixth of the blocks, 2 to 5).", valueName: "n"))
    var suggest: Int?

    @Flag(name: .customLong("include-wrong"), help: "Average over every prompt, also those whose true object the model does not predict.")
    var includeWrong = false

    @Option(name: .customLong("output-dir"), help: ArgumentHelp("Where trace.json, trace.md and trace.svg go.", valueName: "dir"))
    var outputDir = "out/trace"

    @Option(help: ArgumentHelp("Threads (default: all cores).", valueName: "t"))
    var threads: Int?

    @Flag(help: "Print trace.json on standard output instead of the summary.")
    var json = false

    @Flag(name: .shortAndLong, help: "No progress on standard error.")
    var quiet = false

    func validate() throws {
        if prompt != nil, subject == nil || target == nil {
            throw ValidationError("--prompt needs --subject (a substring of the prompt) and --target (the true object)")
        }
        if prompt == nil, subject != nil || target != nil { throw ValidationError("--subject and --target go with --prompt") }
        if RecordSelection(parsing: records) == nil { throw ValidationError("--records must be START:END, e.g. 0:100") }
        if samples < 1 { throw ValidationError("--samples must be at least 1") }
        if window < 1 { throw ValidationError("--window must be at least 1") }
        if !(noise > 0) { throw ValidationError("--noise must be positive") }
        if let noiseStd, !(noiseStd > 0) { throw ValidationError("--noise-std must be positive") }
        if let suggest, suggest < 1 { throw ValidationError("--suggest must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        for name in kinds.split(separator: ",") where TraceKind(rawValue: String(name)) == nil {
            throw ValidationError("--kinds: unknown kind \"\(name)\" (hidden, mlp, attention)")
        }
    }

    func prompts() throws -> [TracePrompt] {
        if let prompt, let subject, let target { return [TracePrompt(prompt: prompt, subject: subject, target: target)] }
        let selection = RecordSelection(parsing: records)!
        switch dataset {
        case .counterfact:
            let file = data.map { URL(fileURLWithPath: $0) } ?? Shipped.data(for: dataset)
            let all = try CounterFactRecord.load(file: file)
            return try all[selection.range(count: all.count, path: file.path)].map(TracePrompt.init)
        case .zsre:
            let file = data.map { URL(fileURLWithPath: $0) } ?? Shipped.data(for: dataset)
            let all = try ZsRERecord.load(file: file)
            return try selection.range(count: all.count, path: file.path).map { TracePrompt(all[$0], caseID: $0) }
        case .mixed:
            if data != nil { throw ValidationError("--data names one file; with --dataset mixed the repository's two are used") }
            let counterFact = try CounterFactRecord.load(file: Shipped.counterFact)
            let zsre = try ZsRERecord.load(file: Shipped.zsre)
            return try counterFact[selection.range(count: counterFact.count, path: Shipped.counterFact.path)].map(TracePrompt.init)
                + selection.range(count: zsre.count, path: Shipped.zsre.path).map { TracePrompt(zsre[$0], caseID: $0) }
        }
    }

    func run() throws {
        if let threads { Linalg.setThreadCount(threads) }
        let modelURL = Shipped.modelDirectory(model)
        let reporter = ProgressReporter(quiet: quiet)
        let transformer = try TransformerModel.load(directory: modelURL)
        let tokenizer = try Tokenizer(directory: modelURL, model: transformer.config)
        var options = CausalTraceOptions()
        options.samples = samples
        options.noiseMultiplier = noise
        options.noiseStandardDeviation = noiseStd
        options.window = window
        options.seed = seed
        options.kinds = kinds.split(separator: ",").compactMap { TraceKind(rawValue: String($0)) }
        let prompts = try prompts()
        let tracer = try CausalTracer(model: transformer, tokenizer: tokenizer, options: options, subjects: prompts.map(\.subject))
        reporter.handle(.stage("trace: \(prompts.count) prompt(s), \(transformer.config.layerCount) layers, ν = \(String(format: "%.4g", tracer.noise))"))
        var traces: [PromptTrace] = []
        for (index, prompt) in prompts.enumerated() {
            if prompts.count == 1 {
                traces.append(try tracer.trace(prompt) { done, total in
                    reporter.handle(.progress(done: done, total: total, detail: "layer × kind"))
                })
            } else {
                traces.append(try tracer.trace(prompt))
                let known = traces.filter(\.correct).count
                reporter.handle(.progress(done: index + 1, total: prompts.count, detail: "\(known) predicted right"))
            }
        }
        let report = TraceReport(model: modelURL.lastPathComponent, layerCount: transformer.config.layerCount, options: options,
                                 noise: tracer.noise, traces: traces, includeWrong: includeWrong || prompt != nil,
                                 suggestCount: suggest ?? LayerSuggestion.defaultCount(layerCount: transformer.config.layerCount))
        try report.write(to: URL(fileURLWithPath: outputDir, isDirectory: true))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            FileHandle.standardOutput.write(try encoder.encode(report))
            FileHandle.standardOutput.write(Data("\n".utf8))
        } else {
            print(report.markdown())
            print("Trace: \(outputDir)/trace.md, trace.json, trace.svg")
        }
    }
}
