import Foundation
import Testing
@testable import Cluster
@testable import Editing

/// The distributed job writes the same bytes as one process: statistics (chunked, reduced in
/// chunk order), projectors (on their owners), several sequential batches (targets split, layers
/// solved on their owners, deltas broadcast) and a continuation from the state file.
@Suite(.serialized) struct SameBytesTests {
    struct Run {
        let output: URL
        let stats: URL
        let continued: URL
    }

    /// `alphaedit edit`'s job on an oracle's 4 requests in batches of 2 (2 batches), statistics over
    /// 300 samples in chunks of 100 (3 chunks: uneven over 2 workers), then 2 of them edited again,
    /// continued from the state.
    func edit(_ oracle: ClusterOracle, in work: URL, algorithm: EditAlgorithm = .alphaedit,
              executor: () throws -> any EditExecutor) throws -> Run {
        let inputs = try oracle.inputs(in: work, requests: 0..<4, samples: 300)
        let more = try oracle.inputs(in: work.appendingPathComponent("more"), requests: 3..<5, samples: 300)
        let run = Run(output: work.appendingPathComponent("out"), stats: work.appendingPathComponent("stats"),
                      continued: work.appendingPathComponent("continued"))
        var c = EditJobConfiguration(modelDirectory: oracle.modelDirectory, hparamsFile: inputs.hparams, requestsFile: inputs.requests,
                                     outputDirectory: run.output, statsDirectory: run.stats)
        c.algorithm = algorithm
        c.corpus = oracle.corpus
        c.batchSize = 2
        c.chunkSamples = 100
        c.contextTemplatesFile = oracle.directory.appendingPathComponent("oracle.json")
        _ = try EditJob(c).run(executor: try executor())

        var next = EditJobConfiguration(modelDirectory: run.output, hparamsFile: inputs.hparams, requestsFile: more.requests,
                                        outputDirectory: run.continued, statsDirectory: run.stats)
        next.algorithm = algorithm
        next.stateFile = run.output.appendingPathComponent("alphaedit-state.safetensors")
        _ = try EditJob(next).run(executor: try executor())
        return run
    }

    static func work(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("alphaedit-same-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url.appendingPathComponent("more"), withIntermediateDirectories: true)
        return url
    }

    func compare(oracle name: String, algorithm: EditAlgorithm = .alphaedit, setups: [(workers: Int, link: TestCluster.Link)],
                 maxChunkBytes: Int? = nil) throws {
        let oracle = ClusterOracle(name)
        let localWork = try Self.work("local")
        defer { try? FileManager.default.removeItem(at: localWork) }
        let local = try edit(oracle, in: localWork, algorithm: algorithm) { LocalExecutor() }
        for (workers, link) in setups {
            let work = try Self.work("\(workers)")
            defer { try? FileManager.default.removeItem(at: work) }
            let cluster = try TestCluster(workers: workers, link: link, maxChunkBytes: maxChunkBytes)
            defer { cluster.stop() }
            let executor = try cluster.executor(oracle)
            let distributed = try edit(oracle, in: work, algorithm: algorithm) { executor }
            let label = "\(name) \(algorithm.rawValue), \(workers) workers over \(link)"
            try expectSameTree(local.stats, distributed.stats, label + " (statistics and projectors)")
            try expectSameTree(local.output, distributed.output, label + " (edited checkpoint, deltas, state, edits.jsonl)")
            try expectSameTree(local.continued, distributed.continued, label + " (continued from the state)")
        }
    }

    @Test func gpt2OracleOneTwoThreeWorkers() throws {
        try compare(oracle: "alphaedit-oracle", setups: [(1, .ipc), (2, .ipc), (3, .ipc)])
    }

    @Test func gpt2OracleMEMITInProcessTransport() throws {
        try compare(oracle: "alphaedit-oracle", algorithm: .memit, setups: [(2, .inProcess)])
    }

    /// Over tcp loopback with CURVE on every socket (coordinator and peer links) and 64 KiB
    /// chunks: every second moment (8 MiB) and projector travels encrypted as ~100 parts under
    /// credit-based flow control, and still gives the same bytes.
    @Test func gpt2OracleOverCurveTCPInSmallChunks() throws {
        try compare(oracle: "alphaedit-oracle", setups: [(2, .tcpCurve)], maxChunkBytes: 64 << 10)
    }

    @Test func llamaOracleTwoWorkers() throws {
        try compare(oracle: "alphaedit-oracle-llama", setups: [(2, .ipc)])
    }
}
