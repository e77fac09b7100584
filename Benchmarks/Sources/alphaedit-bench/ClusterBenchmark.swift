// The cluster benchmark's run: the statistics pass, the projectors and one edit batch of a
// prepared edit workload (`alphaedit-bench edit prepare`), with 1 and then 2 single-threaded
// `alphaedit worker` processes on this machine. Each phase's wall time, the bytes the
// coordinator exchanged (and the worker-to-worker statistics parts, counted from the split), and
// the computation the workers reported on their results.

import Cluster
import Editing
import Foundation
import Linalg
import Transformer

/// One phase of one run.
struct ClusterPhase: Codable {
    var seconds: Double
    /// Bytes through the coordinator's socket (both directions, envelopes and tensor frames).
    var coordinatorBytes: Int
    /// Bytes sent worker to worker (statistics parts to their layers' owners): counted from the
    /// split, not measured on the sockets.
    var peerBytes: Int
    var messages: Int
    /// Σ of the computation the workers reported on this phase's results.
    var workerComputeSeconds: Double
    /// The computation on the critical path: parallel work divided by the workers, serial work
    /// (one owner's layer after another) as it is.
    var criticalComputeSeconds: Double
    /// `seconds − criticalComputeSeconds`: communication, waiting and coordination.
    var communicationSeconds: Double
}

struct ClusterRunResult: Codable {
    var workers: Int
    var threadsPerWorker: Int
    var phases: [String: ClusterPhase]
    var nullSpaceDimensions: [Int]
    /// FNV-1a of the edited layers' weights after the batch (equal across runs: same bytes).
    var editedWeightsHash: String
}

struct ClusterResults: Codable {
    var workload: String
    var model: String
    var editLayers: [Int]
    var statisticsSamples: Int
    var statisticsTokens: Int
    var chunkSamples: Int
    var requests: Int
    var sgemmOneThreadGflops: Double
    /// The work of each phase (Benchmarks' EditFlopCounter: statistics, projector, targets, keys, solve).
    var flops: EditFlopCount
    var runs: [ClusterRunResult]
    /// Wall time of 1 worker ÷ wall time of 2, per phase.
    var speedups: [String: Double]
    var sameBytes: Bool
    var goals: [String: Double]
}

struct ClusterBenchmark {
    let layout: EditWorkloadLayout
    let alphaedit: URL
    let samples: Int?
    let requestCount: Int
    let chunkSamples: Int
    let scratch: URL
    let workerCounts: [Int]

    func run() throws -> ClusterResults {
        Linalg.setThreadCount(1)   // the coordinator applies deltas only; the workers compute
        var hparamsObject = try JSONSerialization.jsonObject(with: Data(contentsOf: layout.hparams)) as! [String: Any]
        if let samples { hparamsObject["mom2_n_samples"] = samples }
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let hparamsFile = scratch.appendingPathComponent("hparams.json")
        try JSONSerialization.data(withJSONObject: hparamsObject, options: [.sortedKeys]).write(to: hparamsFile)
        let hparams = try EditHyperParameters.load(file: hparamsFile, algorithm: .alphaedit)
        let requests = Array(try EditRequest.load(file: layout.requests).prefix(requestCount))
        let templates = try ContextTemplates.load(file: layout.contextTemplates)
        let config = try ModelConfig.load(directory: layout.model)
        let checkpoint = try Checkpoint(directory: layout.model)
        let tokenizer = try Tokenizer(directory: layout.model)
        let fingerprint = try ModelFingerprint.base(of: checkpoint, config: config)
        let model = try TransformerModel.load(config: config, checkpoint: checkpoint, directoryName: layout.model.path)
        let corpus = try Corpus(url: layout.corpus)
        let sgemm = timeSGEMM(n: 1024, repetitions: 3).gflops
        print("SGEMM on one thread: \(formatted(sgemm, 1)) GFLOP/s; \(requests.count) requests, layers \(hparams.layers)")

        var runs: [ClusterRunResult] = []
        var tokens = 0, samplesDone = 0
        var steps: [Int] = [], dimensions: [Int] = []
        for n in workerCounts {
            let statsDirectory = scratch.appendingPathComponent("stats-\(n)", isDirectory: true)
            try? FileManager.default.removeItem(at: statsDirectory)
            let directory = try LocalWorkers.makeDirectory()
            let coordinator = try Coordinator(binding: Endpoint.ipc(directory: directory, name: "c"), log: { _ in })
            let workers = try LocalWorkers(count: n, executable: alphaedit, endpoint: coordinator.endpoint, directory: directory, threads: 1,
                                           log: scratch.appendingPathComponent("worker-\(n).log"))
            defer {
                coordinator.shutdown()
                workers.stop()
            }
            try coordinator.waitForWorkers(n, timeout: .seconds(120))
            let executor = try ClusterExecutor(coordinator: coordinator, modelDirectory: layout.model, hparamsFile: hparamsFile, log: { _ in })
            var phases: [String: ClusterPhase] = [:]

            // Statistics.
            var job = StatisticsJob(config: config, tokenizer: tokenizer, modelFingerprint: fingerprint,
                                    modelName: layout.model.lastPathComponent, hparams: hparams, statsDirectory: statsDirectory, corpus: corpus)
            job.chunkSamples = chunkSamples
            job.checkpointInterval = Int.max
            var before = coordinator.traffic
            let (stats, statisticsSeconds) = try measureSeconds { try job.run(model: { model }, executor: executor) }
            var traffic = coordinator.traffic.since(before)
            let chunkCount = (stats[0].samples + chunkSamples - 1) / chunkSamples
            let d0 = stats[0].width
            var peerParts = 0
            for c in 0..<chunkCount { for p in hparams.layers.indices where c % n != p % n { peerParts += 1 } }
            let statsCompute = traffic.computeSeconds(received: ["CHUNK_DONE"])
            phases["statistics"] = phase(statisticsSeconds, traffic, compute: statsCompute, critical: statsCompute / Double(n),
                                         peerBytes: peerParts * d0 * d0 * 8)
            tokens = stats[0].count
            samplesDone = stats[0].samples
            print("\(n) worker(s): statistics \(formatted(statisticsSeconds, 1)) s (\(tokens) tokens, \(chunkCount) chunks)")

            // Projectors, each on the worker that reduced its layer.
            before = coordinator.traffic
            let threshold = hparams.nullspaceThreshold ?? 0.02
            let (projectors, projectorSeconds) = try measureSeconds { try executor.projectors(stats, threshold: threshold) }
            traffic = coordinator.traffic.since(before)
            let projectorCompute = traffic.computeSeconds(received: ["PROJECTOR_RESULT"])
            // Layer p on worker p mod n: the busiest worker's share is the critical path.
            let perWorker = Double((hparams.layers.count + n - 1) / n) / Double(hparams.layers.count)
            phases["projectors"] = phase(projectorSeconds, traffic, compute: projectorCompute, critical: projectorCompute * perWorker, peerBytes: 0)
            print("\(n) worker(s): projectors \(formatted(projectorSeconds, 1)) s")

            // One edit batch: targets split, each layer solved on its owner, deltas broadcast.
            let state = try EditState.initial(algorithm: .alphaedit, statistics: stats, projectors: projectors, templates: templates,
                                          modelFingerprint: fingerprint)
            before = coordinator.traffic
            let stages = try executor.editStages(model: model, tokenizer: tokenizer, hparams: hparams, algorithm: .alphaedit,
                                                 templates: templates, events: { _ in })
            var session = try EditSession(stages: stages, state: state)
            let (batch, batchSeconds) = try measureSeconds { try session.apply(requests) }
            steps = batch.targets.map(\.losses.count)
            dimensions = projectors.map(\.nullSpaceDimension)
            traffic = coordinator.traffic.since(before)
            let targetsCompute = traffic.computeSeconds(received: ["TARGETS_RESULT"])
            let layersCompute = traffic.computeSeconds(received: ["LAYER_UPDATE_RESULT"])
            let applyCompute = traffic.computeSeconds(received: ["DELTA_APPLIED"])
            // Targets run in n ranges at once; layer updates one after another; deltas applied everywhere at once.
            let ranges = (0..<n).map { w in (w + 1) * requests.count / n - w * requests.count / n }
            let critical = targetsCompute * Double(ranges.max() ?? 0) / Double(max(requests.count, 1)) + layersCompute + applyCompute / Double(n)
            phases["edit_batch"] = phase(batchSeconds, traffic, compute: targetsCompute + layersCompute + applyCompute,
                                         critical: critical, peerBytes: 0)
            print("\(n) worker(s): edit batch \(formatted(batchSeconds, 1)) s")

            var hash: UInt64 = 0xcbf29ce484222325
            for layer in hparams.layers {
                for value in session.model.weights.blocks[layer].mlp.down.weight.elements {
                    hash = (hash ^ UInt64(value.bitPattern)) &* 0x100000001b3
                }
            }
            runs.append(ClusterRunResult(workers: n, threadsPerWorker: 1, phases: phases,
                                         nullSpaceDimensions: projectors.map(\.nullSpaceDimension), editedWeightsHash: String(hash, radix: 16)))
        }
        let counter = EditFlopCounter(config: config, tokenizer: tokenizer, hparams: hparams, templates: templates, requests: requests)
        let lengths = statisticsSampleLengths(corpus: corpus, order: corpus.sampleOrder(count: samplesDone), tokenizer: tokenizer, config: config)
        let flops = counter.count(statisticsLengths: lengths, nullSpaceDimensions: dimensions, forwardSteps: steps)
        var speedups: [String: Double] = [:]
        if let one = runs.first(where: { $0.workers == 1 }), let two = runs.first(where: { $0.workers == 2 }) {
            for (name, p) in one.phases { if let q = two.phases[name] { speedups[name] = p.seconds / q.seconds } }
        }
        return ClusterResults(workload: layout.directory.path, model: "\(config.modelType.rawValue), \(config.layerCount) blocks, width \(config.hiddenSize)",
                              editLayers: hparams.layers, statisticsSamples: samplesDone, statisticsTokens: tokens, chunkSamples: chunkSamples,
                              requests: requests.count, sgemmOneThreadGflops: sgemm, flops: flops, runs: runs, speedups: speedups,
                              sameBytes: Set(runs.map(\.editedWeightsHash)).count == 1,
                              goals: ["statistics_speedup_2_workers": 1.8, "edit_batch_speedup_2_workers": 1.6])
    }

    private func phase(_ seconds: Double, _ traffic: Traffic, compute: Double, critical: Double, peerBytes: Int) -> ClusterPhase {
        let kinds = Set(traffic.sent.keys).union(traffic.received.keys).filter { $0 != "HEARTBEAT" }
        let messages = kinds.reduce(0) { $0 + (traffic.sent[$1]?.messages ?? 0) + (traffic.received[$1]?.messages ?? 0) }
        return ClusterPhase(seconds: seconds, coordinatorBytes: traffic.bytes(Array(kinds)), peerBytes: peerBytes, messages: messages,
                            workerComputeSeconds: compute, criticalComputeSeconds: critical, communicationSeconds: seconds - critical)
    }
}
