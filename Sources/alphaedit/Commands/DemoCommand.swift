import ArgumentParser
import Editing
import Evaluation
import Foundation
import Transformer

/// `alphaedit demo`: the embedded default — edit facts of the shipped knowledge model and show it.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Edit 100 CounterFact facts of the shipped knowledge model with AlphaEdit and MEMIT, and show the result.",
        discussion: """
        Runs from the repository root on Models/knowledge-gpt2 (a small GPT-2 trained by alphaedit on \
        the true facts of CounterFact and zsRE). Edits --edits CounterFact records in sequential \
        batches of --batch-size with AlphaEdit and MEMIT, prints completions before and after for a \
        few facts and the metric table, and writes the AlphaEdit-edited checkpoint and the report \
        under --output-dir.
        """
    )

    @Option(help: "CounterFact records to edit.")
    var edits = 100

    @Option(name: .customLong("batch-size"), help: "Edits per sequential batch.")
    var batchSize = 25

    @Option(name: .customLong("output-dir"), help: ArgumentHelp("Where the edited model and the report go.", valueName: "dir"))
    var outputDir = "out/demo"

    @Option(help: "How many facts to show before and after.")
    var show = 5

    @Flag(name: .shortAndLong, help: "No progress on standard error.")
    var quiet = false

    func run() throws {
        let output = URL(fileURLWithPath: outputDir, isDirectory: true)
        var c = ExperimentConfiguration(modelDirectory: Shipped.model, hparamsFile: Shipped.hparams, dataset: .counterfact,
                                        dataFile: Shipped.counterFact, outputDirectory: output, statsDirectory: Shipped.statistics)
        c.selection = RecordSelection(start: 0, end: edits)
        c.batchSize = batchSize
        c.evaluateEvery = batchSize
        c.generationRecords = 20
        c.overwrite = true
        let reporter = ProgressReporter(quiet: quiet)
        let result = try ExperimentRunner(c).runKeepingModels(events: reporter.handler)

        let records = try CounterFactRecord.load(file: Shipped.counterFact).prefix(show)
        print("\nCompletions (greedy) before and after editing \(edits) facts:\n")
        let prompts = records.map { result.tokenizer.encode($0.rewritePrompt) }
        func complete(_ model: TransformerModel) -> [String] {
            model.generate(prompts: prompts, maxNewTokens: 4).map { result.tokenizer.decode($0) }
        }
        let before = complete(result.original)
        let alpha = result.edited[.alphaedit].map { complete($0.model) }
        let memit = result.edited[.memit].map { complete($0.model) }
        for (i, record) in records.enumerated() {
            let rewrite = record.requestedRewrite
            print("  \(record.rewritePrompt)   [true:\(rewrite.targetTrue.str) → new:\(rewrite.targetNew.str)]")
            print("    unedited : …\(before[i])")
            if let alpha { print("    AlphaEdit: …\(alpha[i])") }
            if let memit { print("    MEMIT    : …\(memit[i])") }
        }
        print("")
        print(result.report.markdown())
        try result.report.write(to: output)
        if let (model, state) = result.edited[.alphaedit] {
            let hparams = try EditHyperParameters.load(file: Shipped.hparams, algorithm: .alphaedit)
            try EditOutput(model: model, original: result.original.weights, checkpoint: result.checkpoint,
                           sourceDirectory: Shipped.model, baseFingerprint: result.fingerprint, layers: hparams.layers)
                .write(to: output.appendingPathComponent("alphaedit-model", isDirectory: true), state: state, hparams: hparams,
                       records: [], overwrite: true)
        }
        print("Wrote \(outputDir)/alphaedit-model (edited checkpoint) and \(outputDir)/report.{md,json,svg}")
    }
}
