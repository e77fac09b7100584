import ArgumentParser
import Evaluation
import Foundation
import Transformer

/// `alphaedit eval`: CounterFact and zsRE metrics of a checkpoint.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "CounterFact or zsRE metrics of a model (efficacy, generalization, specificity, fluency, consistency).",
        discussion: """
        The metrics of the official AlphaEdit evaluation (experiments/py/eval_utils_*.py, summarized as \
        experiments/summarize.py does): for each record the mean over its prompts, then mean and population \
        std over records, ×100.

        CounterFact: efficacy/paraphrase/neighborhood scores (NLL comparisons of the new and true objects), \
        their magnitudes (probability differences), teacher-forced accuracies and, unless --no-generation, \
        fluency (n-gram entropy of sampled texts) and consistency (TF-IDF similarity to reference texts; \
        approximate: the reference texts and idf are built from the dataset file, not the official \
        Wikipedia snippets). zsRE: teacher-forced top-1 token accuracies.

        Without --model and --data it evaluates the shipped model on the repository's Data/ copy of \
        --dataset (CounterFact by default).

        Examples:
          alphaedit eval --dataset zsre --records 0:200
          alphaedit eval --model Tests/Fixtures/alphaedit-oracle/model --dataset counterfact \\
            --data /work/shared/data/counterfact-preknown-1093.json --records 0:20
        """
    )

    @Option(help: ArgumentHelp("A Hugging Face model directory (default: the shipped Models/knowledge-gpt2).", valueName: "dir"))
    var model: String?

    @Option(name: .customLong("dataset"), help: "Which dataset the records come from.")
    var datasetChoice: SingleDataset = .counterfact

    var dataset: EvaluationDataset { datasetChoice.dataset }

    @Option(help: ArgumentHelp("The dataset file: a CounterFact JSON list, or a zsRE MEND-format JSON list (default: the repository's Data/ copy of --dataset).", valueName: "file"))
    var data: String?

    @Option(help: ArgumentHelp("Which records: N (the first N) or START:END (positions in the file, END excluded).", valueName: "N|START:END"))
    var records: String?

    @Flag(help: "Print one JSON object on standard output.")
    var json = false

    @Flag(name: .customLong("no-generation"), help: "Skip the CounterFact generation metrics (fluency, consistency).")
    var noGeneration = false

    @Flag(name: .customLong("skip-too-long"), help: "Leave out records with a prompt longer than the model's position table (listed in the output) instead of failing.")
    var skipTooLong = false

    @Option(help: "Seed of the generation sampling.")
    var seed: UInt64 = 0

    @Flag(name: .shortAndLong, help: "No progress on standard error.")
    var quiet = false

    func validate() throws {
        if let records, RecordSelection(parsing: records) == nil {
            throw ValidationError("--records \(records): expected N or START:END with 0 <= START <= END")
        }
        if let model { try ModelOptions.checkDirectory(model) }
        if let data, !FileManager.default.fileExists(atPath: data) { throw ValidationError("--data \(data): no such file") }
    }

    var modelURL: URL { Shipped.modelDirectory(model) }
    var dataURL: URL { data.map { URL(fileURLWithPath: $0) } ?? Shipped.data(for: dataset) }

    func run() throws {
        let selection = records.flatMap(RecordSelection.init(parsing:)) ?? .all
        let reporter = ProgressReporter(quiet: quiet)
        let events = reporter.handler
        let started = Date()
        let (modelURL, dataURL) = (modelURL, dataURL)
        let data = self.data ?? dataURL.path

        events(.stage("loading \(model ?? modelURL.path)"))
        let transformer = try TransformerModel.load(directory: modelURL)
        let tokenizer = try Tokenizer(directory: modelURL, model: transformer.config)

        let metrics: [(key: String, value: MetricStatistic)]
        var score: Double?
        var count = 0
        var skipped: [Int] = []
        let generation = dataset == .counterfact && !noGeneration
        switch dataset {
        case .counterfact:
            let all = try CounterFactRecord.load(file: dataURL)
            let range = try selection.range(count: all.count, path: data)
            var evaluator = CounterFactEvaluator(model: transformer, tokenizer: tokenizer)
            if generation {
                evaluator.generation = CounterFactGeneration(settings: GenerationSettings(seed: seed), reference: ReferenceCorpus(records: all))
            }
            events(.stage("CounterFact records \(range.lowerBound)..<\(range.upperBound)" + (generation ? " (with generation)" : "")))
            let (results, left) = try Self.namingTheWayOut { try evaluator.evaluate(Array(all[range]), skipTooLong: skipTooLong, events: events) }
            skipped = left
            metrics = EvaluationReport.counterFactMetrics(results)
            score = EvaluationReport.counterFactScore(metrics)
            count = results.count
        case .mixed:
            preconditionFailure("--dataset takes counterfact or zsre only")
        case .zsre:
            let all = try ZsRERecord.load(file: dataURL)
            let range = try selection.range(count: all.count, path: data)
            let cases = range.map { all[$0].evaluationCase(caseID: $0, tokenizer: tokenizer) }
            events(.stage("zsRE records \(range.lowerBound)..<\(range.upperBound)"))
            let (results, left) = try Self.namingTheWayOut {
                try ZsREEvaluator(model: transformer, tokenizer: tokenizer).evaluate(cases, skipTooLong: skipTooLong, events: events)
            }
            skipped = left
            metrics = EvaluationReport.zsREMetrics(results)
            count = results.count
        }

        let report = EvaluationReport(
            dataset: dataset, model: model ?? modelURL.path, data: data, selection: selection.description, records: count, skipped: skipped,
            seed: generation ? seed : nil, generation: generation, tokenizerAddsBOS: tokenizer.addsBOS, metrics: metrics,
            score: score, seconds: Date().timeIntervalSince(started),
            notes: EvaluationReport.notes(dataset: dataset, generation: generation))
        if json {
            try JSONOutput.print(report)
        } else {
            print(report.table)
        }
    }

    /// Adds the flag that gets past a record too long for the model to its error.
    static func namingTheWayOut<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as EvaluationError {
            guard case .sequenceTooLong = error else { throw error }
            throw CommandFailure("\(error); pass --skip-too-long to leave such records out (they are listed in the output)")
        }
    }
}

extension EvaluationDataset: ExpressibleByArgument {}

/// The datasets one evaluation reads (`mixed` edits both in one experiment; evaluate each on its own).
enum SingleDataset: String, CaseIterable, ExpressibleByArgument {
    case counterfact, zsre

    var dataset: EvaluationDataset {
        switch self {
        case .counterfact: .counterfact
        case .zsre: .zsre
        }
    }
}
