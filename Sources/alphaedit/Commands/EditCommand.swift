import ArgumentParser
import Editing
import Foundation
import Transformer

/// `alphaedit edit`: write facts into a model.
struct EditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit",
        abstract: "Apply edit requests to a model with AlphaEdit (or MEMIT) and write the edited checkpoint.",
        discussion: """
        Statistics of the edit layers come from --stats-dir (computed from --corpus and cached there \
        when missing; the official .npz files can be imported with `alphaedit stats import`). \
        Requests are edited in sequential batches of --batch-size.

        The output directory holds a Hugging Face checkpoint (config.json, safetensors in the input's \
        dtype and sharding, tokenizer files), alphaedit-deltas.safetensors (the total float32 delta of \
        each edited weight), alphaedit-state.safetensors (projectors and key caches: pass it to --state \
        to continue editing) and edits.jsonl (per request: batch, probabilities before and after).

        Example:
          alphaedit edit --model Tests/Fixtures/alphaedit-oracle/model \\
            --config Tests/Fixtures/alphaedit-oracle/hparams.json \\
            --requests requests.json --corpus Tests/Fixtures/alphaedit-oracle/stats_corpus.txt \\
            --output-dir out/edited
        """
    )

    @OptionGroup var model: ModelOptions
    @OptionGroup(title: "Distributed") var cluster: ClusterOptions

    @Option(name: .long, help: ArgumentHelp("Hyper-parameters: an official hparams/AlphaEdit/*.json (or configs/*.json) file.", valueName: "hparams.json"))
    var config: String

    @Option(name: .long, help: ArgumentHelp("Edit requests: a JSON list (or {\"requests\": [...]}) of CounterFact, ZsRE or {prompt, subject, target_new} records.", valueName: "requests.json"))
    var requests: String

    @Option(name: .customLong("output-dir"), help: ArgumentHelp("Where to write the edited model (must not exist, or be empty).", valueName: "dir"))
    var outputDir: String

    @Option(help: ArgumentHelp("Text standing in for the hparams' mom2_dataset when statistics must be computed: one sample per line, or .jsonl with a \"text\" field.", valueName: "file"))
    var corpus: String?

    @Option(name: .customLong("stats-dir"), help: ArgumentHelp("Statistics cache, laid out like the official data/stats.", valueName: "dir"))
    var statsDir = "data/stats"

    @Option(help: ArgumentHelp("Continue sequential editing from a previous output's alphaedit-state.safetensors.", valueName: "file"))
    var state: String?

    @Option(name: .customLong("batch-size"), help: "Requests per sequential batch (default: all in one batch).")
    var batchSize: Int?

    @Option(name: .customLong("context-templates"), help: ArgumentHelp("A JSON list of lists of templates with one {} (the oracle.json format), instead of sampling them.", valueName: "file"))
    var contextTemplates: String?

    @Option(name: .customLong("template-seed"), help: "Seed for sampling the context templates.")
    var templateSeed: UInt64 = 0

    @Option(help: "alphaedit or memit.")
    var algorithm: EditAlgorithm = .alphaedit

    @Flag(help: "Replace a non-empty output directory.")
    var overwrite = false

    @Flag(help: ArgumentHelp("Go on from the journal in --job-dir: the batches it records as finished are not done again, and the output is the same bytes as an uninterrupted run. (With --job-dir, a job records itself there after each batch.)"))
    var resume = false

    @Flag(help: "Print a JSON summary on standard output.")
    var json = false

    @Flag(name: .shortAndLong, help: "No progress on standard error.")
    var quiet = false

    func validate() throws {
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if resume && cluster.jobDir == nil { throw ValidationError("--resume needs --job-dir (the directory of the job to go on with)") }
    }

    func run() throws {
        var configuration = EditJobConfiguration(
            modelDirectory: model.modelURL, hparamsFile: URL(fileURLWithPath: config),
            requestsFile: URL(fileURLWithPath: requests), outputDirectory: URL(fileURLWithPath: outputDir, isDirectory: true),
            statsDirectory: URL(fileURLWithPath: statsDir, isDirectory: true))
        configuration.algorithm = algorithm
        configuration.corpus = corpus.map { URL(fileURLWithPath: $0) }
        configuration.stateFile = state.map { URL(fileURLWithPath: $0) }
        configuration.batchSize = batchSize
        configuration.contextTemplatesFile = contextTemplates.map { URL(fileURLWithPath: $0) }
        configuration.templateSeed = templateSeed
        configuration.overwrite = overwrite
        configuration.journal = cluster.jobDir.map { URL(fileURLWithPath: $0, isDirectory: true).appendingPathComponent("journal") }
        configuration.resume = resume
        let job = try EditJob(configuration)
        let reporter = ProgressReporter(quiet: quiet)
        let summary = try cluster.withExecutor(modelDirectory: model.modelURL, hparamsFile: URL(fileURLWithPath: config), quiet: quiet) {
            try job.run(executor: $0, events: reporter.handler)
        }
        if json {
            struct Output: Encodable { let output_dir: String; let batches: Int; let edits: [EditRecord] }
            try JSONOutput.print(Output(output_dir: summary.outputDirectory.path, batches: summary.batches, edits: summary.records))
            return
        }
        print("Edited \(summary.records.count) facts in \(summary.batches) batch\(summary.batches == 1 ? "" : "es") → \(summary.outputDirectory.path)")
        print("")
        for record in summary.records.prefix(20) {
            let before = record.before["target_new"]!.probability, after = record.after["target_new"]!.probability
            let prompt = record.prompt.replacingOccurrences(of: "{}", with: record.subject)
            print(String(format: "  %@ →%@   p %.3g → %.3g", prompt, record.targetNew, before, after))
        }
        if summary.records.count > 20 { print("  … \(summary.records.count - 20) more in edits.jsonl") }
    }
}

extension EditAlgorithm: ExpressibleByArgument {}
