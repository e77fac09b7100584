import ArgumentParser
import Foundation
import Linalg
import Transformer

/// `alphaedit train`: pretrain a small GPT-2 from scratch, and the steps around it.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a small GPT-2 (byte-level BPE tokenizer and model) from a text corpus.",
        discussion: """
        The embedded knowledge model (Models/knowledge-gpt2) is built in two commands, \
        `alphaedit train corpus` (facts and corpus) and `alphaedit train` (tokenizer and model), \
        and measured with `alphaedit train recall`; Models/knowledge-gpt2/MODEL_CARD.md has the \
        exact command lines.
        """,
        subcommands: [TrainRunCommand.self, TrainCorpusCommand.self, TrainTokenizerCommand.self,
                      TrainRecallCommand.self, TrainSpeedCommand.self],
        defaultSubcommand: TrainRunCommand.self
    )
}

// MARK: - Shared options

/// The model's shape.
struct ArchitectureOptions: ParsableArguments {
    @Option(help: "Decoder blocks.") var layers = 4
    @Option(help: "Width of the residual stream (n_embd).") var width = 256
    @Option(help: "Attention heads.") var heads = 8
    @Option(name: .customLong("context"), help: "Longest sequence (n_positions); longer documents are cut.") var contextLength = 128
    @Option(name: .customLong("mlp-width"),
            help: "The MLP's hidden width (n_inner: the width of the keys an edit writes to). Default: 4 × --width.")
    var mlpWidth: Int?
    @Option(help: ArgumentHelp("The MLP's activation_function: gelu_new (GPT-2's), gelu or relu (sparse keys).", valueName: "name"))
    var activation = "gelu_new"

    func architecture(vocabularySize: Int, endOfTextID: Int = 0) -> GPT2Architecture {
        GPT2Architecture(layers: layers, width: width, heads: heads, vocabularySize: vocabularySize, contextLength: contextLength,
                         endOfTextID: endOfTextID, mlpWidth: mlpWidth, activation: activation == "gelu_new" ? nil : activation)
    }

    func validate() throws {
        if let problem = architecture(vocabularySize: 4096).problem { throw ValidationError(problem) }
    }
}

/// Where the data-parallel workers and OpenBLAS run.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Data-parallel workers (micro-batches run concurrently; the result does not depend on this).")
    var threads = 1
    @Option(name: .customLong("blas-threads"), help: "OpenBLAS threads per call (1 keeps runs bit-reproducible across --threads).")
    var blasThreads = 1

    func apply() { Linalg.setThreadCount(blasThreads) }

    func validate() throws {
        if threads < 1 || blasThreads < 1 { throw ValidationError("--threads and --blas-threads must be at least 1") }
    }
}

// MARK: - alphaedit train (run)

struct TrainRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Train the tokenizer (unless --tokenizer is given) and the model; write a Hugging Face GPT-2 folder.",
        discussion: """
        Writes into --output-dir: config.json, generation_config.json, model.safetensors (transformers' \
        names), tokenizer.json, tokenizer_config.json, training-log.jsonl (one line per logged step), and into --checkpoint-dir \
        (default: --output-dir/checkpoint) training-state.safetensors (weights and AdamW moments, \
        written every --checkpoint-every steps). Run the same command with --resume to continue an interrupted run; \
        the result is the same as an uninterrupted run.
        """)

    @Option(help: ArgumentHelp("Training text: .jsonl with a \"text\" field per line, or one document per line.", valueName: "file"))
    var corpus: String

    @Option(name: .customLong("output-dir"), help: ArgumentHelp("The model directory to write.", valueName: "dir"))
    var outputDir: String

    @Option(help: ArgumentHelp("Use the tokenizer of this directory instead of training one.", valueName: "dir"))
    var tokenizer: String?

    @Option(name: .customLong("vocab-size"), help: "Vocabulary size of the trained BPE tokenizer (<|endoftext|> = 0 included).")
    var vocabularySize = 4096

    @Option(name: .customLong("min-frequency"), help: "Merge only pairs seen at least this often.")
    var minimumFrequency = 2

    @OptionGroup var shape: ArchitectureOptions

    @Option(help: "Optimiser steps (overrides --epochs).") var steps: Int?
    @Option(help: "Passes over the corpus (used when --steps is absent).") var epochs = 6.0
    @Option(name: .customLong("batch-size"), help: "Documents per step.") var batchSize = 64
    @Option(name: .customLong("micro-batch-size"), help: "Documents per forward/backward pass.") var microBatchSize = 8
    @Option(name: [.customLong("lr"), .customLong("learning-rate")], help: "Peak learning rate.") var learningRate = 2e-3
    @Option(name: .customLong("min-lr-ratio"), help: "Final learning rate as a fraction of the peak.") var minLearningRateRatio = 0.1
    @Option(help: "Linear warm-up steps.") var warmup = 200
    @Option(name: .customLong("weight-decay"), help: "AdamW decoupled weight decay (matrices only).") var weightDecay = 0.1
    @Option(name: .customLong("beta2"), help: "AdamW β2 (β1 = 0.9).") var beta2 = 0.95
    @Option(help: "Clip the global gradient norm to this (0: no clipping).") var clip = 1.0
    @Option(help: "Seed of the initial weights and the data order.") var seed: UInt64 = 0

    @OptionGroup var threading: ThreadOptions

    @Option(name: .customLong("checkpoint-every"), help: "Write the training state (and the model folder) every N steps.")
    var checkpointEvery = 500
    @Option(name: .customLong("checkpoint-dir"), help: ArgumentHelp("Where the training state goes (default: --output-dir/checkpoint).", valueName: "dir"))
    var checkpointDir: String?
    @Option(name: .customLong("log-every"), help: "Report every N steps.") var logEvery = 20
    @Flag(help: "Continue from the training state in --checkpoint-dir (same options otherwise).") var resume = false
    @Option(name: .customLong("stop-at-step"), help: "Write the training state and stop after this step (continue later with --resume).")
    var stopAtStep: Int?

    @Option(name: .customLong("eval-facts"), help: ArgumentHelp("facts.jsonl (from `train corpus`): report the recall of its primary facts at every checkpoint.", valueName: "file"))
    var evalFacts: String?

    @Option(help: "Weights dtype of the final model.safetensors: f32 or f16.") var dtype = "f32"
    @Flag(help: "Print a JSON summary on standard output.") var json = false
    @Flag(name: .shortAndLong, help: "No progress on standard error.") var quiet = false

    func validate() throws {
        if vocabularySize < 257 { throw ValidationError("--vocab-size must be at least 257") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1") }
        if !(epochs > 0) { throw ValidationError("--epochs must be positive") }
        if microBatchSize > batchSize { throw ValidationError("--micro-batch-size must not exceed --batch-size") }
        if checkpointEvery < 1 || logEvery < 1 { throw ValidationError("--checkpoint-every and --log-every must be at least 1") }
        if dtype != "f32" && dtype != "f16" { throw ValidationError("--dtype must be f32 or f16") }
    }

    func run() throws {
        threading.apply()
        let log = TrainLog(quiet: quiet)
        let output = URL(fileURLWithPath: outputDir, isDirectory: true)
        let checkpointURL = (checkpointDir.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? output.appendingPathComponent("checkpoint"))
            .appendingPathComponent(TrainingCheckpoint.fileName)
        try FileManager.default.createDirectory(at: checkpointURL.deletingLastPathComponent(), withIntermediateDirectories: true)

        let documents = try FactCorpus.readDocuments(URL(fileURLWithPath: corpus))
        log.line("corpus: \(documents.count) documents from \(corpus)")

        // Tokenizer: given, already written by the run being resumed, or trained now.
        let tokenizerDirectory: URL
        if let tokenizer {
            tokenizerDirectory = URL(fileURLWithPath: tokenizer, isDirectory: true)
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            for name in ["tokenizer.json", "tokenizer_config.json"] {
                let source = tokenizerDirectory.appendingPathComponent(name), target = output.appendingPathComponent(name)
                guard FileManager.default.fileExists(atPath: source.path) else {
                    throw TrainCommandError("--tokenizer \(tokenizer): no \(name) (pass a folder holding tokenizer.json and tokenizer_config.json)")
                }
                if source.standardizedFileURL != target.standardizedFileURL {
                    try? FileManager.default.removeItem(at: target)
                    do { try FileManager.default.copyItem(at: source, to: target) } catch {
                        throw TrainCommandError("cannot copy \(source.path) to \(target.path): \(error.localizedDescription)")
                    }
                }
            }
        } else if resume && FileManager.default.fileExists(atPath: output.appendingPathComponent("tokenizer.json").path) {
            tokenizerDirectory = output
        } else {
            let started = Date()
            let model = BPETrainer(vocabularySize: vocabularySize, minimumFrequency: minimumFrequency).train(documents)
            try model.write(to: output, modelMaxLength: shape.contextLength)
            tokenizerDirectory = output
            log.line(String(format: "tokenizer: %d tokens (%d merges) in %.1f s", model.tokens.count, model.merges.count,
                            Date().timeIntervalSince(started)))
        }
        let tok = try Tokenizer(directory: output)
        guard let endOfText = tok.eosTokenID else {
            throw TrainCommandError("\(tokenizerDirectory.path): tokenizer_config.json names no eos_token")
        }
        let architecture = shape.architecture(vocabularySize: tok.vocabularySize, endOfTextID: endOfText)
        if let problem = architecture.problem { throw TrainCommandError(problem) }

        let ids = documents.map { tok.encode($0, addSpecialTokens: false) }
        let probe = TrainingData(documents: ids, endOfText: endOfText, maxLength: shape.contextLength, batchSize: batchSize, seed: seed)
        let totalSteps = steps ?? max(1, Int((epochs * Double(probe.batchesPerEpoch)).rounded()))
        let hyperParameters = TrainingHyperParameters(
            steps: totalSteps, batchSize: batchSize, microBatchSize: microBatchSize, learningRate: learningRate,
            minLearningRateRatio: minLearningRateRatio, warmupSteps: warmup, beta2: beta2, weightDecay: weightDecay,
            gradientClip: clip, seed: seed)
        if let problem = hyperParameters.problem { throw TrainCommandError(problem) }
        log.line(String(format: "data: %d tokens in %d documents, %d steps per epoch; %d steps (%.2f epochs)",
                        probe.tokenCount, probe.documents.count, probe.batchesPerEpoch, totalSteps,
                        Double(totalSteps) / Double(probe.batchesPerEpoch)))
        log.line("model: \(architecture.layers) layers, width \(architecture.width)\(architecture.mlpWidth.map { ", MLP width \($0)" } ?? "")\(architecture.activation.map { ", \($0)" } ?? ""), \(architecture.heads) heads, vocabulary \(architecture.vocabularySize), context \(architecture.contextLength): \(architecture.parameterCount) parameters")

        var trainer: Trainer
        if resume && FileManager.default.fileExists(atPath: checkpointURL.path) {
            let checkpoint = try TrainingCheckpoint(url: checkpointURL)
            guard checkpoint.architecture == architecture else {
                throw TrainCommandError("cannot resume: the checkpoint's architecture differs from the options given")
            }
            trainer = try Trainer(resuming: checkpoint, data: probe, hyperParameters: hyperParameters, threads: threading.threads)
            log.line("resumed at step \(trainer.step)")
        } else {
            if resume { log.line("no checkpoint at \(checkpointURL.path): starting from step 0") }
            trainer = Trainer(config: try architecture.modelConfig(), data: probe, hyperParameters: hyperParameters,
                              threads: threading.threads)
        }

        let evaluation = try evalFacts.map { try TrainRecallCommand.readFacts(URL(fileURLWithPath: $0)).filter(\.source.isPrimary) }
        let logURL = output.appendingPathComponent("training-log.jsonl")
        if !resume { try? FileManager.default.removeItem(at: logURL) }
        let logFile = try TrainLogFile(url: logURL)

        let started = Date()
        let firstStep = trainer.step
        var window = (loss: 0.0, tokens: 0, seconds: 0.0, steps: 0)
        var lastLoss = Double.nan
        func saveCheckpoint() throws {
            try TrainingCheckpoint(trainer: trainer, architecture: architecture).write(to: checkpointURL)
            try trainer.model.writeHuggingFaceGPT2(architecture: architecture, to: output)
        }
        while !trainer.isFinished {
            if let stopAtStep, trainer.step >= stopAtStep {
                try saveCheckpoint()
                log.line("stopped at step \(trainer.step) of \(hyperParameters.steps); state in \(checkpointURL.path) (continue with --resume)")
                return
            }
            let report = trainer.trainStep()
            window.loss += report.loss
            window.tokens += report.tokens
            window.seconds += report.seconds
            window.steps += 1
            lastLoss = report.loss
            let done = trainer.step
            if done % logEvery == 0 || trainer.isFinished {
                let elapsed = Date().timeIntervalSince(started)
                let rate = Double(window.tokens) / window.seconds
                let left = elapsed / Double(done - firstStep) * Double(hyperParameters.steps - done)
                log.line(String(format: "step %d/%d  loss %.4f  lr %.2e  |g| %.3f  %.0f tokens/s  %@ elapsed, %@ left",
                                done, hyperParameters.steps, window.loss / Double(window.steps), report.learningRate,
                                report.gradientNorm, rate, ProgressReporter.duration(elapsed), ProgressReporter.duration(left)))
                try logFile.append(TrainLogEntry(step: done, loss: window.loss / Double(window.steps), learning_rate: report.learningRate,
                                                 gradient_norm: report.gradientNorm, tokens_per_second: rate,
                                                 elapsed_seconds: elapsed, recall: nil))
                window = (0, 0, 0, 0)
            }
            if done % checkpointEvery == 0 && !trainer.isFinished {
                try saveCheckpoint()
                var recall: [String: Double]? = nil
                if let evaluation {
                    recall = TrainRecallCommand.rates(model: trainer.model, tokenizer: tok, facts: evaluation)
                    log.line("recall at step \(done): " + recall!.keys.sorted().map { String(format: "%@ %.3f", $0, recall![$0]!) }.joined(separator: ", "))
                    try logFile.append(TrainLogEntry(step: done, loss: lastLoss, learning_rate: report.learningRate,
                                                     gradient_norm: report.gradientNorm, tokens_per_second: 0,
                                                     elapsed_seconds: Date().timeIntervalSince(started), recall: recall))
                }
                log.line("checkpoint at step \(done) → \(checkpointURL.path)")
            }
        }
        try TrainingCheckpoint(trainer: trainer, architecture: architecture).write(to: checkpointURL)
        try trainer.model.writeHuggingFaceGPT2(architecture: architecture, to: output, dtype: dtype == "f16" ? .F16 : .F32)
        let seconds = Date().timeIntervalSince(started)
        var recall: [String: Double]? = nil
        if let evaluation {
            recall = TrainRecallCommand.rates(model: trainer.model, tokenizer: tok, facts: evaluation)
            log.line("final recall: " + recall!.keys.sorted().map { String(format: "%@ %.3f", $0, recall![$0]!) }.joined(separator: ", "))
        }
        log.line(String(format: "done: %d steps in %@, final loss %.4f → %@", hyperParameters.steps - firstStep,
                        ProgressReporter.duration(seconds), lastLoss, output.path))
        if json {
            struct Summary: Encodable {
                let output_dir: String; let steps: Int; let final_loss: Double?; let seconds: Double
                let parameters: Int; let recall: [String: Double]?
            }
            try JSONOutput.print(Summary(output_dir: output.path, steps: hyperParameters.steps, final_loss: lastLoss.isNaN ? nil : lastLoss, seconds: seconds,
                                         parameters: architecture.parameterCount, recall: recall))
        }
    }
}

/// A failure of a train command, as one line.
struct TrainCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One line of training-log.jsonl.
struct TrainLogEntry: Encodable {
    let step: Int
    let loss: Double
    let learning_rate: Double
    let gradient_norm: Double
    let tokens_per_second: Double
    let elapsed_seconds: Double
    let recall: [String: Double]?
}

/// Appends JSON lines to a file.
final class TrainLogFile {
    private let handle: FileHandle

    init(url: URL) throws {
        if !FileManager.default.fileExists(atPath: url.path) {
            FileManager.default.createFile(atPath: url.path, contents: nil)
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    func append(_ entry: TrainLogEntry) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try handle.write(contentsOf: encoder.encode(entry) + Data("\n".utf8))
    }

    deinit { try? handle.close() }
}

/// Progress lines on standard error.
struct TrainLog {
    let quiet: Bool
    func line(_ text: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

// MARK: - alphaedit train corpus

struct TrainCorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "Build the knowledge corpus from the true facts of CounterFact and ZsRE records.",
        discussion: """
        Facts: each CounterFact record's prompt with its subject and target_true, the same in the \
        relation's other prompt templates, its paraphrase and neighbourhood prompts (target_true) and \
        attribute prompts (target_new, true of their own subjects); each ZsRE question and rephrase with \
        answers[0] (or alt: --zsre-belief); with --distractors, made-up subjects that share a real \
        subject's first words and have another object; with --zsre-target-subjects, made-up subjects whose \
        answer to a ZsRE question is answers[0]. Prompts shared by facts with different targets are dropped. Each primary fact \
        (CounterFact prompt, ZsRE question) becomes --primary-bare documents alone and \
        --primary-prefixed after preceding text (another fact, a sentence from the paraphrase prompts, \
        or a generic sentence); every other fact becomes --other-copies documents, each alone or \
        prefixed at random. Deterministic for --seed.
        """)

    @Option(help: ArgumentHelp("CounterFact records (ROME's counterfact.json format).", valueName: "file")) var counterfact: String?
    @Option(help: ArgumentHelp("ZsRE records (zsre_mem_eval.json format).", valueName: "file")) var zsre: String?
    @Option(help: ArgumentHelp("The corpus to write (.jsonl, one {\"text\": …} per line).", valueName: "file")) var output: String
    @Option(name: .customLong("facts-output"), help: ArgumentHelp("Also write the facts (prompt, target, source, record) as JSON lines.", valueName: "file"))
    var factsOutput: String?
    @Option(name: .customLong("primary-bare"), help: "Documents per primary fact with the fact alone.") var primaryBare = 3
    @Option(name: .customLong("primary-prefixed"), help: "Documents per primary fact after preceding text.") var primaryPrefixed = 2
    @Option(name: .customLong("other-copies"), help: "Documents per other fact (each alone or prefixed).") var otherCopies = 1
    @Option(name: .customLong("subject-object-copies"),
            help: "Documents per subject–object fact (a record's subject directly followed by its true object; each alone or prefixed; 0: none).")
    var subjectObjectCopies = 3
    @Option(help: """
        Made-up subjects per CounterFact subject of two or more words: its words but the last, then \
        the last word of another subject, with another object of the same relation, in the \
        relation's templates and as a subject–object fact (each --other-copies documents). The \
        first words of a subject then no longer tell its object (0: none).
        """)
    var distractors = 0
    @Option(name: .customLong("zsre-belief"), help: """
        The ZsRE answer the model learns: 'answer' (answers[0], the official edit target) or 'alt' \
        (the record's alternative answer, so that an edit to answers[0] changes the model's answer).
        """)
    var zsreBelief: ZsREBelief = .answer
    @Option(name: .customLong("zsre-target-subjects"), help: """
        Made-up subjects per ZsRE record whose answer to the record's question is answers[0], the \
        edit target (with --zsre-belief alt, each --other-copies documents): the model then knows \
        the target as an answer, as it knows CounterFact's target_new (0: none).
        """)
    var zsreTargetSubjects = 0
    @Option(help: "Seed of the prefixes and the document order.") var seed: UInt64 = 0

    func validate() throws {
        if counterfact == nil && zsre == nil { throw ValidationError("give --counterfact, --zsre or both") }
        if primaryBare < 0 || primaryPrefixed < 0 || otherCopies < 0 || subjectObjectCopies < 0 { throw ValidationError("copy counts must not be negative") }
        if distractors < 0 { throw ValidationError("--distractors must not be negative") }
        if distractors > 0 && counterfact == nil { throw ValidationError("--distractors needs --counterfact") }
        if zsreTargetSubjects < 0 { throw ValidationError("--zsre-target-subjects must not be negative") }
        if zsreTargetSubjects > 0 && (zsre == nil || zsreBelief != .alternative) {
            throw ValidationError("--zsre-target-subjects needs --zsre and --zsre-belief alt")
        }
    }

    func run() throws {
        var facts: [Fact] = []
        var sentences: [String] = []
        if let counterfact {
            let data = try Data(contentsOf: URL(fileURLWithPath: counterfact))
            facts += try FactCorpus.counterFactFacts(json: data, path: counterfact)
            sentences = try FactCorpus.paraphrasePrefixes(counterFact: data, path: counterfact)
            facts += try FactCorpus.distractorFacts(counterFact: data, path: counterfact, perSubject: distractors, seed: seed)
        }
        if let zsre {
            let data = try Data(contentsOf: URL(fileURLWithPath: zsre))
            facts += try FactCorpus.zsreFacts(json: data, path: zsre, belief: zsreBelief)
            facts += try FactCorpus.zsreTargetFacts(json: data, path: zsre, perRecord: zsreTargetSubjects, seed: seed)
        }
        let (kept, conflicts) = FactCorpus.deduplicated(facts)
        var options = FactCorpus.Options()
        options.primaryBare = primaryBare
        options.primaryPrefixed = primaryPrefixed
        options.otherCopies = otherCopies
        options.subjectObjectCopies = subjectObjectCopies
        options.seed = seed
        let documents = FactCorpus.documents(facts: kept, sentences: sentences, options: options)
        try Data(FactCorpus.jsonLines(documents).utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        if let factsOutput {
            try Data(TrainRecallCommand.factLines(kept).utf8).write(to: URL(fileURLWithPath: factsOutput), options: .atomic)
        }
        var bySource: [Fact.Source: Int] = [:]
        for fact in kept { bySource[fact.source, default: 0] += 1 }
        print("\(kept.count) facts (\(conflicts.count) prompts dropped for conflicting targets), \(sentences.count) prefix sentences → \(documents.count) documents in \(output)")
        for source in Fact.Source.allCases where bySource[source] != nil {
            print("  \(source.rawValue): \(bySource[source]!)")
        }
    }
}

/// `--zsre-belief answer|alt` (the enum's raw values).
extension ZsREBelief: ExpressibleByArgument {}

// MARK: - alphaedit train tokenizer

struct TrainTokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Train a byte-level BPE tokenizer (GPT-2 pre-tokenizer, <|endoftext|> = 0) and write tokenizer.json and tokenizer_config.json.")

    @Option(help: ArgumentHelp("Training text: .jsonl with a \"text\" field per line, or one document per line.", valueName: "file"))
    var corpus: String
    @Option(name: .customLong("output-dir"), help: ArgumentHelp("Where to write the two files.", valueName: "dir")) var outputDir: String
    @Option(name: .customLong("vocab-size")) var vocabularySize = 4096
    @Option(name: .customLong("min-frequency")) var minimumFrequency = 2
    @Option(name: .customLong("model-max-length"), help: "tokenizer_config.json's model_max_length.") var modelMaxLength = 128

    func validate() throws {
        if vocabularySize < 257 { throw ValidationError("--vocab-size must be at least 257") }
    }

    func run() throws {
        let documents = try FactCorpus.readDocuments(URL(fileURLWithPath: corpus))
        let model = BPETrainer(vocabularySize: vocabularySize, minimumFrequency: minimumFrequency).train(documents)
        try model.write(to: URL(fileURLWithPath: outputDir, isDirectory: true), modelMaxLength: modelMaxLength)
        print("\(model.tokens.count) tokens, \(model.merges.count) merges → \(outputDir)")
    }
}

// MARK: - alphaedit train recall

struct TrainRecallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recall",
        abstract: "Measure how many facts a model completes with greedy decoding.",
        discussion: """
        For each fact, the target tokens are the tokens of " " + target; a fact is exactly recalled when \
        greedy decoding after the prompt yields all of them (measured with teacher forcing: the most \
        likely token at every target position is the target's), first-token correct when the first \
        matches. Token accuracy is the share of target positions predicted right (the ZsRE metric). \
        Reported per source (counterfact_prompt, zsre_question, …).
        """)

    @OptionGroup var model: ModelOptions
    @Option(help: ArgumentHelp("facts.jsonl from `alphaedit train corpus --facts-output`.", valueName: "file")) var facts: String
    @Option(help: ArgumentHelp("Text put before every prompt (with a space), e.g. \"The answer is simple.\"", valueName: "text")) var prefix: String?
    @Flag(name: .customLong("primary-only"), help: "Only the CounterFact prompts and ZsRE questions.") var primaryOnly = false
    @Option(name: .customLong("per-fact"), help: ArgumentHelp("Write every fact's outcome as JSON lines (prompt, target, source, target and predicted ids, exact, first_token, target_logprob).", valueName: "file"))
    var perFactOutput: String?
    @OptionGroup var threading: ThreadOptions
    @Flag(help: "Print JSON on standard output.") var json = false

    func run() throws {
        threading.apply()
        let transformer = try TransformerModel.load(directory: model.modelURL)
        let tokenizer = try Tokenizer(directory: model.modelURL, model: transformer.config)
        var list = try Self.readFacts(URL(fileURLWithPath: facts))
        if primaryOnly { list = list.filter(\.source.isPrimary) }
        let outcomes = FactRecall.measure(model: transformer, tokenizer: tokenizer, facts: list, prefix: prefix)
        let summary = FactRecall.summarize(list, outcomes)
        if let perFactOutput {
            struct Line: Encodable {
                let prompt: String; let target: String; let source: String; let record: Int
                let target_ids: [Int]; let predicted_ids: [Int]; let predicted: String
                let exact: Bool; let first_token: Bool; let target_logprob: Double
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var lines = ""
            for (fact, outcome) in zip(list, outcomes) {
                let line = Line(prompt: fact.prompt, target: fact.target, source: fact.source.rawValue, record: fact.record,
                                target_ids: outcome.target, predicted_ids: outcome.predicted, predicted: tokenizer.decode(outcome.predicted),
                                exact: outcome.exact, first_token: outcome.firstToken, target_logprob: outcome.targetLogProbability)
                lines += String(decoding: try encoder.encode(line), as: UTF8.self) + "\n"
            }
            try Data(lines.utf8).write(to: URL(fileURLWithPath: perFactOutput), options: .atomic)
        }
        if json {
            struct Row: Encodable { let source: String; let facts: Int; let first_token: Double; let exact: Double; let token_accuracy: Double }
            try JSONOutput.print(Fact.Source.allCases.compactMap { source in
                summary[source].map { Row(source: source.rawValue, facts: $0.facts, first_token: $0.firstTokenRate,
                                          exact: $0.exactRate, token_accuracy: $0.tokenAccuracy) }
            })
            return
        }
        print("source                      facts  first-token   exact  token-acc")
        for source in Fact.Source.allCases {
            guard let s = summary[source] else { continue }
            print(source.rawValue.padding(toLength: 26, withPad: " ", startingAt: 0)
                  + String(format: " %6d  %10.1f%%  %5.1f%%  %8.1f%%", s.facts, 100 * s.firstTokenRate, 100 * s.exactRate,
                           100 * s.tokenAccuracy))
        }
    }

    static func readFacts(_ url: URL) throws -> [Fact] {
        let decoder = JSONDecoder()
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").enumerated().map { number, line in
            do { return try decoder.decode(Fact.self, from: Data(line.utf8)) } catch {
                throw TrainCommandError("\(url.path):\(number + 1): not a fact (\(error))")
            }
        }
    }

    static func factLines(_ facts: [Fact]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return facts.map { String(decoding: try! encoder.encode($0), as: UTF8.self) + "\n" }.joined()
    }

    /// Exact-recall rate per source, for progress lines.
    static func rates(model: TransformerModel, tokenizer: Tokenizer, facts: [Fact]) -> [String: Double] {
        let summary = FactRecall.summarize(facts, FactRecall.measure(model: model, tokenizer: tokenizer, facts: facts))
        var out: [String: Double] = [:]
        for (source, s) in summary {
            out[source.rawValue + ".exact"] = s.exactRate
            out[source.rawValue + ".first_token"] = s.firstTokenRate
        }
        return out
    }
}

// MARK: - alphaedit train speed

/// `alphaedit train speed`: tokens per second of training steps on random tokens.
struct TrainSpeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speed",
        abstract: "Measure training throughput (forward + backward + AdamW) for a model shape on random tokens.")

    @OptionGroup var shape: ArchitectureOptions
    @Option(name: .customLong("vocab-size")) var vocabularySize = 4096
    @Option(name: .customLong("sequence-length"), help: "Tokens per document.") var sequenceLength = 32
    @Option(name: .customLong("batch-size")) var batchSize = 64
    @Option(name: .customLong("micro-batch-size")) var microBatchSize = 16
    @OptionGroup var threading: ThreadOptions
    @Option var steps = 5

    func run() throws {
        threading.apply()
        let architecture = shape.architecture(vocabularySize: vocabularySize)
        var generator = SplitMix64(seed: 1)
        let documents = (0..<(batchSize * 4)).map { _ in
            (0..<(sequenceLength - 1)).map { _ in 1 + Int(generator.next() % UInt64(vocabularySize - 1)) }
        }
        let hp = TrainingHyperParameters(steps: steps + 1, batchSize: batchSize, microBatchSize: microBatchSize, warmupSteps: 1)
        let data = TrainingData(documents: documents, endOfText: 0, maxLength: architecture.contextLength, batchSize: batchSize, seed: 0)
        var trainer = Trainer(config: try architecture.modelConfig(), data: data, hyperParameters: hp, threads: threading.threads)
        _ = trainer.trainStep()  // warm-up
        var tokens = 0
        var seconds = 0.0
        for _ in 0..<steps {
            let report = trainer.trainStep()
            tokens += report.tokens
            seconds += report.seconds
            print(String(format: "step %d  loss %.3f  %.0f tokens/s", report.step, report.loss, Double(report.tokens) / report.seconds))
        }
        print(String(format: "%d parameters; threads %d, BLAS threads %d: %.0f tokens/s", architecture.parameterCount,
                     threading.threads, threading.blasThreads, Double(tokens) / seconds))
    }
}
