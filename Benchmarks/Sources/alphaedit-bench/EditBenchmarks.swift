// The edit benchmark's run: one batch of AlphaEdit edits on a prepared workload, each stage timed
// separately. It drives the Editing library exactly as `alphaedit edit` does (EditJob.run and
// BatchEditor.apply/updateLayer), calling the pieces in the same order so that keys and solve can
// be timed apart; the edit it makes is the same.

import Editing
import Foundation
import Linalg
import Transformer

/// The stages, in the order they run and are reported.
let editStageNames = ["statistics", "projector", "targets", "keys", "solve"]

struct EditBenchmark {
    let layout: EditWorkloadLayout
    let sgemmSizes: [Int]
    let sgemmRepetitions: Int
    /// StatisticsJob's checkpoint interval (nil: its default, as `alphaedit edit`).
    let checkpointInterval: Int?
    let scratch: URL
    let saveDeltas: URL?
    let referenceDeltas: URL?
    let saveProjectors: URL?
    let referenceProjectors: URL?
    let saveTargets: URL?
    let referenceTargets: URL?

    let hparams: EditHyperParameters
    let requests: [EditRequest]
    let templates: ContextTemplates
    let config: ModelConfig
    let corpus: Corpus

    init(layout: EditWorkloadLayout, sgemmSizes: [Int], sgemmRepetitions: Int, checkpointInterval: Int?, scratch: URL,
         saveDeltas: URL?, referenceDeltas: URL?, saveProjectors: URL? = nil, referenceProjectors: URL? = nil,
         saveTargets: URL? = nil, referenceTargets: URL? = nil) throws {
        self.layout = layout
        self.sgemmSizes = sgemmSizes
        self.sgemmRepetitions = sgemmRepetitions
        self.checkpointInterval = checkpointInterval
        self.scratch = scratch
        self.saveDeltas = saveDeltas
        self.referenceDeltas = referenceDeltas
        self.saveProjectors = saveProjectors
        self.referenceProjectors = referenceProjectors
        self.saveTargets = saveTargets
        self.referenceTargets = referenceTargets
        for file in [layout.model.appendingPathComponent("config.json"), layout.corpus, layout.requests, layout.hparams, layout.contextTemplates]
        where !FileManager.default.fileExists(atPath: file.path) {
            throw EditBenchError.invalid("\(file.path) is missing; write the workload with `alphaedit-bench edit prepare --output \(layout.directory.path)`")
        }
        hparams = try EditHyperParameters.load(file: layout.hparams, algorithm: .alphaedit)
        requests = try EditRequest.load(file: layout.requests)
        templates = try ContextTemplates.load(file: layout.contextTemplates)
        config = try ModelConfig.load(directory: layout.model)
        try ModelLayout.validate(hparams, config: config, path: layout.hparams.path)
        corpus = try Corpus(url: layout.corpus)
    }

    func run(official: OfficialTimes?) throws -> EditResults {
        let progress = EditProgress()
        let runStart = ContinuousClock.now
        var peaks: [Int] = []
        func phasePeak() -> Int? {
            let peak = ProcessMemory.peakResidentBytes
            if let peak { peaks.append(peak) }
            ProcessMemory.resetPeak()
            return peak
        }

        // The yardstick, before the edit.
        var sgemm: [RateResult] = []
        for n in sgemmSizes {
            let timing = timeSGEMM(n: n, repetitions: sgemmRepetitions)
            print("\(timing) (before)")
            sgemm.append(RateResult(n: n, timing: timing, flopCount: "2n³", measured: "before"))
        }

        // Load, as EditJob.run does (checkpoint, tokenizer, fingerprint, weights).
        ProcessMemory.resetPeak()
        let loadCPU = processCPUSeconds()
        let ((checkpoint, tokenizer, fingerprint, loaded), loadSeconds) = try measureSeconds {
            let checkpoint = try Checkpoint(directory: layout.model)
            let tokenizer = try Tokenizer(directory: layout.model)
            let fingerprint = try ModelFingerprint.base(of: checkpoint, config: config)
            let model = try TransformerModel.load(config: config, checkpoint: checkpoint, directoryName: layout.model.path)
            return (checkpoint, tokenizer, fingerprint, model)
        }
        var model = loaded
        let loadCPUSeconds = processCPUSeconds() - loadCPU
        _ = phasePeak()
        progress.line("loaded \(layout.model.path) in \(formatted(loadSeconds, 1)) s: \(config.layerCount) blocks, width \(config.hiddenSize), "
                      + "MLP \(config.intermediateSize), vocabulary \(config.vocabularySize); \(requests.count) requests, "
                      + "edit layers \(hparams.layers), \(min(hparams.mom2SampleCount, corpus.samples.count)) statistics samples")
        for (i, request) in requests.enumerated() where TargetScorer.targetIDs(request.targetNew, tokenizer: tokenizer).isEmpty {
            throw EditBenchError.invalid("\(layout.requests.path): request \(i): target \"\(request.targetNew)\" encodes to no tokens")
        }

        // Scratch stats directory: StatisticsJob and ProjectorJob cache their files there.
        let statsDirectory = scratch.appendingPathComponent("alphaedit-bench-edit-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: statsDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: statsDirectory) }

        // 1. Statistics: one pass over the corpus for every edit layer.
        var statsJob = StatisticsJob(config: config, tokenizer: tokenizer, modelFingerprint: fingerprint,
                                     modelName: layout.model.standardizedFileURL.lastPathComponent, hparams: hparams,
                                     statsDirectory: statsDirectory, corpus: corpus)
        if let checkpointInterval { statsJob.checkpointInterval = checkpointInterval }
        let jobForRun = statsJob
        var statisticsClock = StageClock()
        var stats = try statisticsClock.measure { try jobForRun.run(model: { model }, events: progress.handler) }
        let statisticsPeak = phasePeak()
        let statisticsTokens = stats[0].count, statisticsSamples = stats[0].samples
        progress.line("statistics: \(statisticsTokens) tokens from \(statisticsSamples) samples in \(formatted(statisticsClock.seconds, 1)) s")

        // 2. Projectors.
        var projectorClock = StageClock()
        let projectors = try projectorClock.measure {
            try ProjectorJob(statistics: statsJob, threshold: hparams.nullspaceThreshold ?? 0.02).run(stats: stats, events: progress.handler)
        }
        let projectorPeak = phasePeak()
        progress.line("projectors: \(formatted(projectorClock.seconds, 1)) s; null-space dimensions \(projectors.map(\.nullSpaceDimension))")

        // The sequential state of a first batch, as EditJob.run makes it.
        let state = try EditState.initial(algorithm: .alphaedit, statistics: stats, projectors: projectors,
                                      templates: templates, modelFingerprint: fingerprint)
        stats = []
        let original = hparams.layers.map { model.weights.blocks[$0].mlp.down.weight }

        // 3–5. One batch through the same driver as `alphaedit edit` (EditSession over LocalStages),
        // timed by its began/ended events: targets; per layer, lowest first, the keys (compute_ks
        // and the current outputs), the solve and the weight update; then the caches.
        let phases = PhaseClocks()
        let targetsStart = ContinuousClock.now
        let handler: EditEventHandler = { event in
            switch event {
            case .began(let phase): phases.began(phase)
            case .ended(let phase):
                phases.ended(phase)
                if phase == .targets { phases.targetsPeak = ProcessMemory.peakResidentBytes; ProcessMemory.resetPeak() }
                if case .apply(let layer) = phase {
                    let clocks = phases.snapshot()
                    progress.line("layer \(layer): keys \(formatted(clocks.computeKs.seconds + clocks.current.seconds, 1)) s, solve \(formatted(clocks.system.seconds + clocks.apply.seconds, 1)) s so far")
                }
            case .progress(let done, let total, _):
                let elapsed = (ContinuousClock.now - targetsStart) / .seconds(1)
                let left = elapsed / Double(done) * Double(total - done)
                progress.throttled("targets \(done)/\(total), \(formatted(elapsed / Double(done), 1)) s per request, ~\(formatted(left / 60, 1)) min left",
                                   final: done == total)
            case .stage, .note: break
            }
        }
        let localStages = LocalStages(model: model, tokenizer: tokenizer, hparams: hparams, templates: templates, events: handler)
        var session = try EditSession(stages: localStages, state: state, events: handler)
        let batch = try session.apply(requests)
        model = session.model
        let clocks = phases.snapshot()
        let targetResults = batch.targets
        let targetsClock = clocks.targets
        let targetsPeak = phases.targetsPeak
        if let targetsPeak { peaks.append(targetsPeak) }
        let steps = targetResults.map(\.losses.count)
        progress.line("targets: \(formatted(targetsClock.seconds, 1)) s, \(steps.reduce(0, +)) forward steps")
        let computeKsClock = clocks.computeKs, currentClock = clocks.current
        let systemClock = clocks.system, applyClock = clocks.apply, cacheClock = clocks.caches
        let updatePeak = phasePeak()
        var keysClock = StageClock(), solveClock = StageClock()
        for part in [computeKsClock, currentClock] { keysClock.add(part) }
        for part in [systemClock, applyClock, cacheClock] { solveClock.add(part) }

        // The yardstick again, after the edit.
        for n in sgemmSizes {
            let timing = timeSGEMM(n: n, repetitions: sgemmRepetitions)
            print("\(timing) (after)")
            sgemm.append(RateResult(n: n, timing: timing, flopCount: "2n³", measured: "after"))
        }
        let yardstick = sgemm.map(\.gflops).max()!
        let wallSeconds = (ContinuousClock.now - runStart) / .seconds(1)

        // The deltas, as `alphaedit edit` writes them.
        let deltas = try deltaSummaries(model: model, original: original, checkpoint: checkpoint, fingerprint: fingerprint)
        // The projectors, after every timed stage (their copies would count in a stage's peak).
        let projectorComparison = try referenceProjectors.map { try EditProjectorFiles.compare(projectors, reference: $0) }
        if let saveProjectors { try EditProjectorFiles.save(projectors, to: saveProjectors) }
        let targetComparison = try referenceTargets.map { try EditTargetFiles.compare(targetResults, requests: requests, reference: $0) }
        if let saveTargets { try EditTargetFiles.save(targetResults, requests: requests, to: saveTargets) }

        // FLOPs, counted after the timed stages (tokenising the inputs again).
        let counter = EditFlopCounter(config: config, tokenizer: tokenizer, hparams: hparams, templates: templates, requests: requests)
        let lengths = statisticsSampleLengths(corpus: corpus, order: corpus.sampleOrder(count: statsJob.sampleCount),
                                              tokenizer: tokenizer, config: config)
        if lengths.reduce(0, +) != statisticsTokens {
            progress.line("warning: the FLOP count's corpus tokens (\(lengths.reduce(0, +))) differ from the statistics' count (\(statisticsTokens))")
        }
        let flops = counter.count(statisticsLengths: lengths, nullSpaceDimensions: projectors.map(\.nullSpaceDimension), forwardSteps: steps)

        func stage(_ clock: StageClock, _ flops: Double, peak: Int?, parts: [String: EditPart]? = nil) -> EditStageResult {
            EditStageResult(seconds: clock.seconds, cpuSeconds: clock.cpuSeconds, flops: flops, yardstick: yardstick, peak: peak, parts: parts)
        }
        var stages: [String: EditStageResult] = [
            "statistics": stage(statisticsClock, flops.statistics, peak: statisticsPeak),
            "projector": stage(projectorClock, flops.projector, peak: projectorPeak),
            "targets": stage(targetsClock, flops.targets, peak: targetsPeak),
            "keys": stage(keysClock, flops.keys, peak: nil, parts: [
                "compute_ks": EditPart(computeKsClock, flops: flops.keysComputeKs, yardstick: yardstick),
                "current_outputs": EditPart(currentClock, flops: flops.keysCurrentOutputs, yardstick: yardstick),
            ]),
            "solve": stage(solveClock, flops.solve, peak: nil, parts: [
                "system": EditPart(systemClock, flops: flops.solveSystem, yardstick: yardstick),
                "apply": EditPart(applyClock, flops: nil, yardstick: yardstick),
                "cache_update": EditPart(cacheClock, flops: flops.solveCacheUpdate, yardstick: yardstick),
            ]),
        ]
        var totalClock = StageClock()
        for clock in [statisticsClock, projectorClock, targetsClock, keysClock, solveClock] { totalClock.add(clock) }
        let allPeaks = peaks.max()
        var total = stage(totalClock, flops.total, peak: allPeaks)

        var comparison: OfficialComparison?
        if let official {
            comparison = OfficialComparison(official: official, stages: &stages, total: &total)
        }
        let statisticsFraction = stages["statistics"]!.fractionOfSGEMM
        // Issue 12: statistics at 0.75 × SGEMM; against the official code 5× per stage and in total;
        // peak RSS within 1.2 × (float32 weights + the d0² terms).
        var goals = [EditGoal(name: "statistics_fraction_of_sgemm", goal: 0.75, value: statisticsFraction)]
        goals += OfficialComparison.goals(comparison)
        let memoryBound = EditMemoryBound(weightBytes: model.weights.floatBytes, editLayers: hparams.layers.count,
                                          d0: config.intermediateSize)
        goals.append(EditGoal(name: "peak_rss_over_memory_bound", atMost: 1.2,
                              value: allPeaks.map { Double($0) / Double(memoryBound.bytes) }))

        let manifest = try? JSONDecoder.snakeCase.decode(EditWorkloadManifest.self, from: Data(contentsOf: layout.manifest))
        let summary = EditWorkloadSummary(
            directory: layout.directory.path, modelType: config.modelType.rawValue, layers: config.layerCount,
            width: config.hiddenSize, mlpWidth: config.intermediateSize, heads: config.headCount,
            vocabularySize: config.vocabularySize, positions: config.maxPositions,
            parameters: model.weights.floatBytes / 4, seed: manifest?.seed, editLayers: hparams.layers, zLayer: hparams.zLayer,
            vLossLayer: hparams.vLossLayer, requests: requests.count, statisticsSamples: statisticsSamples,
            statisticsTokens: statisticsTokens, contextTemplates: templates.all.count, vNumGradSteps: hparams.vNumGradSteps,
            nullspaceThreshold: hparams.nullspaceThreshold ?? 0.02, l2: hparams.l2 ?? 10)
        let optimisation = TargetStepSummary(
            forwardSteps: steps, backwardSteps: steps.map { max($0 - 1, 0) },
            earlyStops: zip(targetResults, steps).filter { $0.0.losses.last.map { $0 < 5e-2 } ?? false }.count,
            meanProbabilityBefore: targetResults.map { Double($0.probabilityBefore) }.reduce(0, +) / Double(max(targetResults.count, 1)),
            meanProbabilityAfter: targetResults.map { Double($0.probabilityAfter) }.reduce(0, +) / Double(max(targetResults.count, 1)))
        return EditResults(
            workload: summary, sgemmReference: sgemm, sgemmYardstickGflops: yardstick,
            load: EditPart(seconds: loadSeconds, cpuSeconds: loadCPUSeconds, flops: nil, gflops: nil, fractionOfSGEMM: nil),
            statisticsCheckpointInterval: statsJob.checkpointInterval == Int.max ? nil : statsJob.checkpointInterval,
            nullSpaceDimensions: Dictionary(uniqueKeysWithValues: projectors.map { (String($0.layer), $0.nullSpaceDimension) }),
            targetOptimisation: optimisation, flopCount: flops, stageOrder: editStageNames, stages: stages, total: total,
            wallSecondsIncludingLoadAndSGEMM: wallSeconds, peakResidentBytes: allPeaks,
            updatePeakResidentBytes: updatePeak, official: comparison, goals: goals, deltas: deltas,
            projectors: projectorComparison, targets: targetComparison)
    }

    /// Writes (`--save-deltas`) and compares (`--reference-deltas`) the total delta of every edited
    /// weight, named and shaped as in the checkpoint (the alphaedit-deltas.safetensors format).
    private func deltaSummaries(model: TransformerModel, original: [Matrix<Float>], checkpoint: Checkpoint,
                                fingerprint: String) throws -> [EditDeltaSummary] {
        let reference = try referenceDeltas.map { try SafetensorsFile(url: $0) }
        var writer = SafetensorsWriter(metadata: ["format": "alphaedit-deltas", "version": "1", "algorithm": "alphaedit",
                                                  "edits": String(requests.count), "edits_before": "0",
                                                  ModelFingerprint.baseModelKey: fingerprint, "source": "alphaedit-bench edit run"])
        var summaries: [EditDeltaSummary] = []
        for (i, layer) in hparams.layers.enumerated() {
            let canonical = ModuleNames(config: config).downProjection(layer) + ".weight"
            let name = checkpoint.contains(canonical) ? canonical
                : (checkpoint.tensorNames.first { canonical.hasSuffix($0) } ?? canonical)
            let delta = model.weights.blocks[layer].mlp.down.weight - original[i]
            let shape = try checkpoint.info(name).shape
            try writer.add(name: name, floats: delta.elements, shape: shape)
            let norm = delta.frobeniusNorm
            var relative: Double?
            if let reference {
                let other = try comparisonFloats(reference, name, count: delta.elements.count, path: referenceDeltas!.path)
                relative = relativeDifference(delta.elements, other)
            }
            summaries.append(EditDeltaSummary(layer: layer, tensor: name, frobeniusNorm: Double(norm), relativeErrorToReference: relative))
        }
        if let saveDeltas { try writer.write(to: saveDeltas) }
        return summaries
    }
}

/// The values of `tensor` in a comparison file at `path`, which must hold it with `count` values.
func comparisonFloats(_ file: SafetensorsFile, _ tensor: String, count: Int, path: String) throws -> [Float] {
    guard file.contains(tensor) else { throw EditBenchError.invalid("\(path) holds no tensor \(tensor)") }
    let values = try file.floats(tensor)
    guard values.count == count else {
        throw EditBenchError.invalid("\(path): \(tensor) has \(values.count) values, expected \(count)")
    }
    return values
}

/// ‖a − b‖ / ‖b‖ (Frobenius, in float64) of two equally long arrays.
func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
    var difference = 0.0, size = 0.0
    for (x, y) in zip(a, b) {
        difference += (Double(x) - Double(y)) * (Double(x) - Double(y))
        size += Double(y) * Double(y)
    }
    return difference.squareRoot() / max(size.squareRoot(), 1e-300)
}

// MARK: - Timing

/// Wall and process CPU seconds accumulated over one or more intervals.
struct StageClock {
    var seconds = 0.0
    var cpuSeconds = 0.0

    mutating func measure<T>(_ body: () throws -> T) rethrows -> T {
        let cpu = processCPUSeconds()
        let (value, elapsed) = try measureSeconds(body)
        seconds += elapsed
        cpuSeconds += processCPUSeconds() - cpu
        return value
    }

    mutating func add(_ other: StageClock) {
        seconds += other.seconds
        cpuSeconds += other.cpuSeconds
    }
}

/// Wall and CPU time of the session's phases, from its began/ended events (one phase at a time).
final class PhaseClocks: @unchecked Sendable {
    struct Clocks {
        var targets = StageClock(), computeKs = StageClock(), current = StageClock()
        var system = StageClock(), apply = StageClock(), caches = StageClock()
    }
    private let lock = NSLock()
    private var clocks = Clocks()
    private var open: (wall: ContinuousClock.Instant, cpu: Double)?
    /// Peak resident bytes of the targets phase (read when it ends).
    var targetsPeak: Int? {
        get { lock.withLock { storedTargetsPeak } }
        set { lock.withLock { storedTargetsPeak = newValue } }
    }
    private var storedTargetsPeak: Int?

    func began(_ phase: EditPhase) {
        lock.withLock { open = (ContinuousClock.now, processCPUSeconds()) }
    }

    func ended(_ phase: EditPhase) {
        lock.withLock {
            guard let start = open else { return }
            open = nil
            let seconds = (ContinuousClock.now - start.wall) / .seconds(1), cpu = processCPUSeconds() - start.cpu
            func add(_ clock: inout StageClock) { clock.seconds += seconds; clock.cpuSeconds += cpu }
            switch phase {
            case .targets: add(&clocks.targets)
            case .keys: add(&clocks.computeKs)
            case .currentOutputs: add(&clocks.current)
            case .solve: add(&clocks.system)
            case .apply: add(&clocks.apply)
            case .caches: add(&clocks.caches)
            }
        }
    }

    func snapshot() -> Clocks { lock.withLock { clocks } }
}

/// Progress lines on standard error, with the time since the run began; rate-limited for
/// progress within a stage.
final class EditProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let start = ContinuousClock.now
    private var lastThrottled: ContinuousClock.Instant?
    /// Least time between two throttled lines.
    var interval: Duration = .seconds(10)

    func line(_ text: String) {
        lock.lock(); defer { lock.unlock() }
        write(text)
    }

    /// Prints `text` if `final` or if the last throttled line is at least `interval` old.
    func throttled(_ text: String, final: Bool) {
        lock.lock(); defer { lock.unlock() }
        let now = ContinuousClock.now
        if final || lastThrottled.map({ now - $0 >= interval }) ?? true {
            lastThrottled = now
            write(text)
        }
    }

    var handler: EditEventHandler {
        { [self] event in
            switch event {
            case .stage(let text), .note(let text): line(text)
            case .progress(let done, let total, let detail): throttled("\(done)/\(total) \(detail)", final: done == total)
            case .began, .ended: break
            }
        }
    }

    private func write(_ text: String) {
        fflush(nil)  // all C streams: keeps the report's stdout lines in order with the progress lines
        let elapsed = (ContinuousClock.now - start) / .seconds(1)
        FileHandle.standardError.write(Data("[\(String(format: "%7.1f", elapsed)) s] \(text)\n".utf8))
    }
}

// MARK: - Results

/// One timed part.
struct EditPart: Codable {
    var seconds: Double
    var cpuSeconds: Double
    var flops: Double?
    var gflops: Double?
    var fractionOfSGEMM: Double?

    init(seconds: Double, cpuSeconds: Double, flops: Double?, gflops: Double?, fractionOfSGEMM: Double?) {
        self.seconds = seconds
        self.cpuSeconds = cpuSeconds
        self.flops = flops
        self.gflops = gflops
        self.fractionOfSGEMM = fractionOfSGEMM
    }

    init(_ clock: StageClock, flops: Double?, yardstick: Double) {
        seconds = clock.seconds
        cpuSeconds = clock.cpuSeconds
        self.flops = flops
        gflops = flops.map { $0 / max(clock.seconds, 1e-12) / 1e9 }
        fractionOfSGEMM = gflops.map { $0 / yardstick }
    }
}

/// One stage: its time, counted FLOPs and rate, and the official time when given.
struct EditStageResult: Codable {
    var seconds: Double
    /// Process CPU seconds (all threads) during the stage: ≈ threads × seconds when the cores
    /// were the process's.
    var cpuSeconds: Double
    var flops: Double
    var gflops: Double
    /// gflops / the run's best SGEMM rate.
    var fractionOfSGEMM: Double
    /// VmHWM during the stage (keys and solve interleave: see `update_peak_resident_bytes`).
    var peakResidentBytes: Int?
    var parts: [String: EditPart]?
    var officialSeconds: Double?
    /// official seconds / alphaedit seconds: > 1 means alphaedit is faster.
    var speedupOverOfficial: Double?

    init(seconds: Double, cpuSeconds: Double, flops: Double, yardstick: Double, peak: Int?, parts: [String: EditPart]?) {
        self.seconds = seconds
        self.cpuSeconds = cpuSeconds
        self.flops = flops
        gflops = flops / max(seconds, 1e-12) / 1e9
        fractionOfSGEMM = gflops / yardstick
        peakResidentBytes = peak
        self.parts = parts
    }
}

struct EditWorkloadSummary: Codable {
    var directory: String
    var modelType: String
    var layers: Int
    var width: Int
    var mlpWidth: Int
    var heads: Int
    var vocabularySize: Int
    var positions: Int
    var parameters: Int
    var seed: UInt64?
    var editLayers: [Int]
    var zLayer: Int
    var vLossLayer: Int
    var requests: Int
    var statisticsSamples: Int
    var statisticsTokens: Int
    var contextTemplates: Int
    var vNumGradSteps: Int
    var nullspaceThreshold: Double
    var l2: Double
}

/// How the target optimisation went (its work depends on the steps taken).
struct TargetStepSummary: Codable {
    /// Forward steps (losses recorded) per request, in request order.
    var forwardSteps: [Int]
    /// Backward steps (Adam updates) per request: one fewer than the forward steps.
    var backwardSteps: [Int]
    /// Requests that stopped at loss < 0.05 before the step budget.
    var earlyStops: Int
    var meanProbabilityBefore: Double
    var meanProbabilityAfter: Double
}

struct EditDeltaSummary: Codable {
    var layer: Int
    var tensor: String
    var frobeniusNorm: Double
    /// ‖Δ − Δ_ref‖ / ‖Δ_ref‖ against `--reference-deltas`.
    var relativeErrorToReference: Double?
}

struct EditGoal: Codable {
    var name: String
    var goal: Double
    var direction: Direction

    enum Direction: String, Codable {
        case atLeast = "at_least", atMost = "at_most"
    }
    var value: Double?
    var met: Bool?

    init(name: String, goal: Double, value: Double?) {
        self.name = name
        self.goal = goal
        direction = .atLeast
        self.value = value
        met = value.map { $0 >= goal }
    }

    init(name: String, atMost goal: Double, value: Double?) {
        self.name = name
        self.goal = goal
        direction = .atMost
        self.value = value
        met = value.map { $0 <= goal }
    }
}

/// The memory an edit job needs, against which its peak RSS is rated: the float32 weights plus,
/// per edit layer, the d0 × d0 terms that live at once: the float64 second moment, the float32
/// projector and the float32 cache of earlier keys (`cache_c`), 16·d0² bytes.
struct EditMemoryBound {
    var weightBytes: Int
    var editLayers: Int
    var d0: Int

    var bytes: Int { weightBytes + editLayers * 16 * d0 * d0 }
}

/// The edit suite's numbers.
struct EditResults: Codable {
    var workload: EditWorkloadSummary
    /// SGEMM n×n measured before and after the edit.
    var sgemmReference: [RateResult]
    /// The best SGEMM rate above: the denominator of every fraction.
    var sgemmYardstickGflops: Double
    /// Reading the checkpoint and tokenizer (not a stage).
    var load: EditPart
    /// Samples between the statistics pass's checkpoints (nil: none).
    var statisticsCheckpointInterval: Int?
    /// r per edit layer.
    var nullSpaceDimensions: [String: Int]
    var targetOptimisation: TargetStepSummary
    var flopCount: EditFlopCount
    var stageOrder: [String]
    var stages: [String: EditStageResult]
    /// The five stages together: end-to-end edit time (loading excluded).
    var total: EditStageResult
    var wallSecondsIncludingLoadAndSGEMM: Double
    /// The largest VmHWM of the run's phases.
    var peakResidentBytes: Int?
    /// VmHWM over the layer updates (keys and solve).
    var updatePeakResidentBytes: Int?
    var official: OfficialComparison?
    var goals: [EditGoal]
    var deltas: [EditDeltaSummary]
    /// alphaedit's projectors against `--reference-projectors`.
    var projectors: [EditProjectorSummary]?
    /// alphaedit's targets against `--reference-targets`.
    var targets: EditTargetComparison?
}

// MARK: - The official implementation's times

/// The official script's JSON: `{"stages": {"statistics": s, "projector": s, "targets": s,
/// "keys": s, "solve": s}, "total_seconds": s, …}`. Extra keys are kept or ignored; a stage may
/// also be an object with a `seconds` number.
struct OfficialTimes {
    var file: String
    var stages: [String: Double]
    var totalSeconds: Double?

    static func load(_ url: URL) throws -> OfficialTimes {
        let path = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw EditBenchError.invalid("\(path): cannot be read (\(error.localizedDescription))")
        }
        guard let object = (try? JSONValue.parse(data))?.objectValue else {
            throw EditBenchError.invalid("\(path): not a JSON object")
        }
        guard let stagesValue = object["stages"] else { throw EditBenchError.invalid("\(path): no key \"stages\"") }
        guard let stagesObject = stagesValue.objectValue else {
            throw EditBenchError.invalid("\(path): \"stages\" must be an object of stage name → seconds")
        }
        var stages: [String: Double] = [:]
        for (key, value) in stagesObject {
            if let seconds = value.numberValue ?? value.objectValue?["seconds"]?.numberValue {
                stages[key] = seconds
            } else if editStageNames.contains(key) {
                throw EditBenchError.invalid("\(path): \"stages\".\"\(key)\" must be a number of seconds (or an object with \"seconds\")")
            }
        }
        for name in editStageNames where stages[name] == nil {
            FileHandle.standardError.write(Data("warning: \(path): no \"stages\".\"\(name)\"; its ratio is left out\n".utf8))
        }
        var total: Double?
        if let value = object["total_seconds"] {
            guard let seconds = value.numberValue else { throw EditBenchError.invalid("\(path): \"total_seconds\" must be a number") }
            total = seconds
        }
        return OfficialTimes(file: path, stages: stages, totalSeconds: total)
    }
}

/// The official times against this run's.
struct OfficialComparison: Codable {
    var file: String
    /// Every stage the file gave, in seconds (including any beyond the five).
    var stages: [String: Double]
    var totalSeconds: Double?
    /// official / alphaedit per stage.
    var speedups: [String: Double]
    /// Sum of the official five stages / sum of alphaedit's.
    var stageSumSpeedup: Double?
    /// The headline: official `total_seconds` (else the sum of its five stages) / alphaedit's
    /// five-stage total.
    var endToEndSpeedup: Double?

    /// The comparison of `official` with alphaedit's stage seconds and five-stage total.
    init(official: OfficialTimes, seconds: [String: Double], totalSeconds alphaeditTotal: Double) {
        file = official.file
        stages = official.stages
        totalSeconds = official.totalSeconds
        var speedups: [String: Double] = [:]
        for name in editStageNames {
            guard let officialSeconds = official.stages[name], let ours = seconds[name] else { continue }
            speedups[name] = officialSeconds / ours
        }
        self.speedups = speedups
        stageSumSpeedup = nil
        endToEndSpeedup = nil
        stageSumSpeedup = officialStageSum.map { $0 / alphaeditTotal }
        endToEndSpeedup = officialTotal.map { $0 / alphaeditTotal }
    }

    /// The official five stages' sum, when the file has all five.
    var officialStageSum: Double? {
        editStageNames.allSatisfy { stages[$0] != nil } ? editStageNames.reduce(0) { $0 + stages[$1]! } : nil
    }

    /// The official time the total is compared with: `total_seconds`, else the five stages' sum.
    var officialTotal: Double? { totalSeconds ?? officialStageSum }

    /// Compares, and marks each stage and the total with its official time and ratio.
    init(official: OfficialTimes, stages: inout [String: EditStageResult], total: inout EditStageResult) {
        self.init(official: official, seconds: stages.mapValues(\.seconds), totalSeconds: total.seconds)
        for (name, speedup) in speedups {
            stages[name]?.officialSeconds = official.stages[name]
            stages[name]?.speedupOverOfficial = speedup
        }
        if let end = officialTotal {
            total.officialSeconds = end
            total.speedupOverOfficial = endToEndSpeedup
        }
    }

    /// The goals of issue 12 that a comparison measures, 5× per stage and end to end (unmeasured
    /// without one).
    static func goals(_ comparison: OfficialComparison?) -> [EditGoal] {
        editStageNames.map { EditGoal(name: "\($0)_speedup_over_official", goal: 5, value: comparison?.speedups[$0]) }
            + [EditGoal(name: "end_to_end_speedup_over_official", goal: 5, value: comparison?.endToEndSpeedup)]
    }
}

// MARK: - Table

enum EditTable {
    static func print(_ r: EditResults) {
        let hasOfficial = r.official != nil
        var header = ["stage", "seconds", "CPU s", "GFLOP", "GFLOP/s", "× SGEMM"]
        if hasOfficial { header += ["official s", "official/alphaedit"] }
        var rows: [[String]] = [header]
        func row(_ name: String, _ s: EditStageResult) -> [String] {
            var cells = [name, formatted(s.seconds, 2), formatted(s.cpuSeconds, 1), formatted(s.flops / 1e9, 1),
                         formatted(s.gflops, 1), formatted(s.fractionOfSGEMM, 3)]
            if hasOfficial {
                cells += [s.officialSeconds.map { formatted($0, 2) } ?? "-", s.speedupOverOfficial.map { formatted($0, 2) + "×" } ?? "-"]
            }
            return cells
        }
        for name in r.stageOrder { rows.append(row(name, r.stages[name]!)) }
        rows.append(row("total", r.total))
        let widths = (0..<header.count).map { c in rows.map { $0[c].count }.max()! }
        Swift.print("")
        for (i, cells) in rows.enumerated() {
            Swift.print(cells.enumerated().map { c, cell in
                c == 0 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[c] - cell.count) + cell
            }.joined(separator: "  "))
            if i == 0 || i == rows.count - 2 { Swift.print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        for (stage, names) in [("keys", ["compute_ks", "current_outputs"]), ("solve", ["system", "apply", "cache_update"])] {
            guard let parts = r.stages[stage]?.parts else { continue }
            Swift.print("\(stage) parts: " + names.compactMap { name in
                parts[name].map { "\(name) \(formatted($0.seconds, 2)) s" + ($0.gflops.map { " (\(formatted($0, 1)) GFLOP/s)" } ?? "") }
            }.joined(separator: ", "))
        }
        let steps = r.targetOptimisation.forwardSteps
        Swift.print("SGEMM yardstick \(formatted(r.sgemmYardstickGflops, 1)) GFLOP/s; load \(formatted(r.load.seconds, 2)) s; "
                    + "statistics \(r.workload.statisticsTokens) tokens; target forward steps \(steps.reduce(0, +)) "
                    + "(\(steps.min() ?? 0)–\(steps.max() ?? 0) per request, \(r.targetOptimisation.earlyStops) early stops); "
                    + "null space \(r.workload.editLayers.compactMap { r.nullSpaceDimensions[String($0)] })")
        Swift.print("peak RSS \(r.peakResidentBytes.map { formatted(Double($0) / 1e9, 2) + " GB" } ?? "-")")
        for goal in r.goals {
            Swift.print("goal \(goal.name) \(goal.direction == .atMost ? "≤" : "≥") \(goal.goal): \(goal.value.map { formatted($0, 3) } ?? "-")"
                        + (goal.met.map { $0 ? " (met)" : " (not met)" } ?? " (not measured)"))
        }
        for delta in r.deltas {
            Swift.print("Δ \(delta.tensor): ‖Δ‖ = \(String(format: "%.6g", delta.frobeniusNorm))"
                        + (delta.relativeErrorToReference.map { ", relative error to the reference \(String(format: "%.3g", $0))" } ?? ""))
        }
        for p in r.projectors ?? [] {
            Swift.print("P layer \(p.layer): r \(p.nullSpaceDimension) (reference trace \(p.referenceTrace)), "
                        + "relative error to the reference \(String(format: "%.3g", p.relativeErrorToReference)), "
                        + "largest element difference \(String(format: "%.3g", p.maxAbsoluteDifference))")
        }
        if let t = r.targets { Swift.print(t.summary) }
    }
}

extension JSONDecoder {
    static var snakeCase: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}
