import ArgumentParser
import Editing
import Evaluation
import Foundation
import Transformer

/// `alphaedit experiment`: the paper's sequential-editing protocol.
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Edit T facts in sequential batches with AlphaEdit and MEMIT; metrics as edits accumulate; report.",
        discussion: """
        Records START:END of --data are edited in batches of --batch-size, with each algorithm on a \
        fresh copy of the model; after every --eval-every edits the records edited so far are \
        evaluated (and the unedited model on the same records). Writes report.json, report.md (the \
        paper's table) and report.svg (each metric against the number of edits) under --output-dir. \
        While it runs, progress.json, progress.md and progress.svg there show the curves so far \
        (rewritten after every evaluation point, removed when the report is written).

        Without workers and with a thread for each (--threads, default: every core), AlphaEdit and \
        MEMIT run at the same time, each on its share of the threads; the numbers are the same as \
        one after the other. Records too long for the model stop the run unless --skip-too-long.

        Example (the committed results in docs/results/):
          alphaedit experiment --dataset counterfact --records 0:1000 --batch-size 100 --eval-every 100 \\
            --output-dir docs/results/counterfact-1000
        """
    )

    @Option(help: ArgumentHelp("Model directory (default: the shipped Models/knowledge-gpt2).", valueName: "dir"))
    var model: String?

    @Option(help: ArgumentHelp("hparams JSON (default: the shipped model's alphaedit-hparams.json).", valueName: "hparams.json"))
    var config: String?

    @Option(help: "counterfact, zsre, or mixed (both datasets' records interleaved in one sequential run).")
    var dataset: EvaluationDataset = .counterfact

    @Option(help: ArgumentHelp("Dataset file (default: the repository's Data/ copy; the CounterFact file for mixed).", valueName: "file"))
    var data: String?

    @Option(name: .customLong("zsre-data"), help: ArgumentHelp("The zsRE file of a mixed run (default: the repository's Data/ copy).", valueName: "file"))
    var zsreData: String?

    @Option(help: ArgumentHelp("Records to edit, START:END (default: all).", valueName: "start:end"))
    var records: String?

    @Option(name: .customLong("batch-size"), help: "Edits per sequential batch.")
    var batchSize = 100

    @Option(name: .customLong("eval-every"), help: "Evaluate after every K edits.")
    var evalEvery = 100

    @Option(help: "Comma-separated: alphaedit,memit.")
    var algorithms = "alphaedit,memit"

    @Option(name: .customLong("output-dir"), help: ArgumentHelp("Where the report goes.", valueName: "dir"))
    var outputDir = "out/experiment"

    @Option(name: .customLong("stats-dir"), help: ArgumentHelp("Statistics cache (default: the --model directory's stats/).", valueName: "dir"))
    var statsDir: String?

    @Option(help: ArgumentHelp("Corpus for statistics that are not cached.", valueName: "file"))
    var corpus: String?

    @Option(name: .customLong("context-templates"), help: ArgumentHelp("Fixed context templates (JSON list of lists).", valueName: "file"))
    var contextTemplates: String?

    @Flag(name: .customLong("no-generation"), help: "Skip fluency and consistency (sampled generations).")
    var noGeneration = false

    @Option(name: .customLong("generation-records"), help: "Records whose generation prompts measure fluency and consistency.")
    var generationRecords = 100

    @Flag(name: .customLong("skip-too-long"),
          help: "Edit records with an evaluation prompt longer than the model's positions, but leave them out of every method's metrics (listed in the report) instead of failing.")
    var skipTooLong = false

    @Flag(help: ArgumentHelp("Go on from the journal in --job-dir: the unedited evaluation and the batches it records are not done again, and the report is the one of an uninterrupted run. (With --job-dir, an experiment records itself in journal/ there after each batch.)"))
    var resume = false

    @Option(help: "Seed for context templates and generations.")
    var seed: UInt64 = 0

    @Flag(help: "Print {\"edits\": T, \"methods\": {...}} on standard output.")
    var json = false

    @OptionGroup(title: "Distributed") var cluster: ClusterOptions

    @Flag(name: .shortAndLong, help: "No progress on standard error.")
    var quiet = false

    @Flag(name: .customLong("render-only"),
          help: "Run nothing: rewrite report.md and report.svg from the report.json already in --output-dir (e.g. after an upgrade).")
    var renderOnly = false

    func validate() throws {
        if zsreData != nil && dataset != .mixed { throw ValidationError("--zsre-data goes with --dataset mixed (use --data otherwise)") }
        if resume && cluster.jobDir == nil { throw ValidationError("--resume needs --job-dir (the directory of the experiment to go on with)") }
        if batchSize < 1 || evalEvery < 1 { throw ValidationError("--batch-size and --eval-every must be at least 1") }
        if let records, RecordSelection(parsing: records) == nil { throw ValidationError("--records must be START:END, e.g. 0:100") }
        for name in algorithms.split(separator: ",") where EditAlgorithm(rawValue: String(name)) == nil {
            throw ValidationError("--algorithms: unknown algorithm \"\(name)\" (alphaedit, memit)")
        }
    }

    func makeConfiguration() -> ExperimentConfiguration {
        let modelURL = Shipped.modelDirectory(model)
        var c = ExperimentConfiguration(
            modelDirectory: modelURL,
            hparamsFile: config.map { URL(fileURLWithPath: $0) } ?? modelURL.appendingPathComponent("alphaedit-hparams.json"),
            dataset: dataset,
            dataFile: data.map { URL(fileURLWithPath: $0) } ?? Shipped.data(for: dataset),
            outputDirectory: URL(fileURLWithPath: outputDir, isDirectory: true),
            statsDirectory: statsDir.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? modelURL.appendingPathComponent("stats", isDirectory: true))
        c.zsreFile = dataset == .mixed ? zsreData.map { URL(fileURLWithPath: $0) } ?? Shipped.zsre : nil
        c.selection = records.flatMap(RecordSelection.init(parsing:)) ?? .all
        c.batchSize = batchSize
        c.evaluateEvery = evalEvery
        c.algorithms = algorithms.split(separator: ",").compactMap { EditAlgorithm(rawValue: String($0)) }
        c.corpus = corpus.map { URL(fileURLWithPath: $0) }
        c.contextTemplatesFile = contextTemplates.map { URL(fileURLWithPath: $0) }
        c.templateSeed = seed
        c.generationSeed = seed
        c.generation = !noGeneration
        c.generationRecords = generationRecords
        c.overwrite = true
        c.skipTooLong = skipTooLong
        c.journal = cluster.jobDir.map { URL(fileURLWithPath: $0, isDirectory: true).appendingPathComponent("journal") }
        c.resume = resume
        c.progressReports = true
        return c
    }

    func run() throws {
        let directory = URL(fileURLWithPath: outputDir, isDirectory: true)
        let report: ExperimentReport
        if renderOnly {
            report = try ExperimentReport.read(from: directory.appendingPathComponent("report.json"))
        } else {
            let configuration = makeConfiguration()
            let runner = try ExperimentRunner(configuration)
            let reporter = ProgressReporter(quiet: quiet)
            report = try cluster.withExecutor(modelDirectory: configuration.modelDirectory, hparamsFile: configuration.hparamsFile, quiet: quiet) {
                try runner.run(executor: $0, events: reporter.handler)
            }
        }
        try report.write(to: directory)
        ProgressReport.remove(from: directory)
        if json {
            try JSONOutput.print(report.summary)
        } else {
            print(report.markdown())
            print("Report: \(outputDir)/report.md, report.json, report.svg")
        }
    }
}

