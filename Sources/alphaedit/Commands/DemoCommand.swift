import ArgumentParser
import Editing
import Evaluation
import Foundation
import Transformer

/// `alphaedit demo`: the embedded default — edit facts of the shipped knowledge model and show it.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Edit 50 CounterFact facts of the shipped knowledge model with AlphaEdit and MEMIT, and show the result.",
        discussion: """
        Runs from the repository root on Models/knowledge-gpt2 (a small GPT-2 trained by alphaedit on \
        the facts of CounterFact and zsRE; 8 blocks, see its MODEL_CARD.md). Edits the first \
        --edits CounterFact records in sequential batches of --batch-size with AlphaEdit and MEMIT \
        (hparams: Models/knowledge-gpt2/alphaedit-hparams.json), then prints greedy completions \
        before and after for --show edited prompts (the new object should appear) and for a \
        neighbouring prompt of each (another subject with the same true object, which should not \
        change), and the metric table (efficacy, generalisation, specificity, fluency, consistency). \
        Writes the AlphaEdit-edited checkpoint (alphaedit-model/) and report.{md,json,svg} under \
        --output-dir.
        """
    )

    @Option(help: "CounterFact records to edit.")
    var edits = 50

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

        let records = Array(try CounterFactRecord.load(file: Shipped.counterFact).prefix(min(show, edits)))
        // Each shown record's prompt (the edit should take effect) and its first neighbourhood
        // prompt (another subject with the same relation: its fact should be kept).
        let texts = records.flatMap { [$0.rewritePrompt, $0.neighborhoodPrompts.first ?? $0.rewritePrompt] }
        let prompts = texts.map { result.tokenizer.encode($0) }
        let endOfText = result.tokenizer.id(forToken: "<|endoftext|>")
        func complete(_ model: TransformerModel) -> [String] {
            // Up to the end-of-text token: what follows it is a new, unrelated document.
            model.generate(prompts: prompts, maxNewTokens: 4).map { ids in
                result.tokenizer.decode(Array(ids.prefix { $0 != endOfText }))
            }
        }
        let before = complete(result.original)
        let alpha = result.edited[.alphaedit].map { complete($0.model) }
        let memit = result.edited[.memit].map { complete($0.model) }
        print("\nCompletions (greedy) before and after editing \(edits) facts: each edited prompt, then a neighbouring fact that should not change\n")
        for (i, record) in records.enumerated() {
            let rewrite = record.requestedRewrite
            for (j, label) in [(2 * i, "edited  "), (2 * i + 1, "neighbour")] {
                let note = j == 2 * i ? "   [true:\(rewrite.targetTrue.str) → new:\(rewrite.targetNew.str)]" : "   [keep:\(rewrite.targetTrue.str)]"
                print("  \(label) \(texts[j])\(note)")
                print("    unedited : …\(before[j])")
                if let alpha { print("    AlphaEdit: …\(alpha[j])") }
                if let memit { print("    MEMIT    : …\(memit[j])") }
            }
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
