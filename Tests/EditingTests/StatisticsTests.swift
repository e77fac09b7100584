import Foundation
import Linalg
import Testing
@testable import Editing
@testable import Transformer

@Suite struct StatisticsTests {
    @Test func pythonShuffleOrder() {
        var small = Array(0..<20)
        var random = PythonRandom(seed: 1)
        random.shuffle(&small)
        // python3 -c "import random; x=list(range(20)); random.Random(1).shuffle(x); print(x)"
        #expect(small == [11, 5, 17, 19, 9, 0, 16, 1, 15, 6, 10, 13, 14, 12, 7, 3, 8, 2, 18, 4])
        var large = Array(0..<100_000)
        var random2 = PythonRandom(seed: 1)
        random2.shuffle(&large)
        #expect(Array(large.prefix(10)) == [63229, 7871, 74587, 59445, 71381, 5404, 56721, 41863, 62960, 42424])
    }

    /// An oracle's model, its statistics corpus, and a collector of its edit layers.
    static func statisticsSetUp(_ name: String) throws -> (OracleFixture, TransformerModel, Corpus, StatisticsCollector) {
        let oracle = try OracleFixture(name)
        let model = try oracle.model()
        let corpus = try Corpus(url: oracle.directory.appendingPathComponent("stats_corpus.txt"))
        return (oracle, model, corpus, StatisticsCollector(model: model, tokenizer: try oracle.tokenizer(), layers: oracle.layers))
    }

    @Test(arguments: OracleFixture.names)
    func secondMomentMatchesTheOfficialStatistics(oracle name: String) throws {
        let (oracle, model, corpus, collector) = try Self.statisticsSetUp(name)
        var statistics = oracle.layers.map {
            LayerStatistics(layer: $0, width: model.config.intermediateSize,
                            provenance: StatisticsProvenance(model: "m", module: "x", corpus: corpus.fingerprint, dtype: "float32"))
        }
        let order = corpus.sampleOrder(count: 2000)
        collector.accumulate(corpus: corpus, order: order, range: 0..<order.count, into: &statistics)
        for (i, layer) in oracle.layers.enumerated() {
            #expect(statistics[i].samples == 2000)
            let reference = Matrix<Double>(try oracle.symmetric("cov.L\(layer).triu"))
            let error = try statistics[i].secondMoment.relativeError(to: reference)
            #expect(error < 1e-4, "\(name) layer \(layer): relative error \(error)")
        }
    }

    /// A corpus may be a device or a pipe (`--corpus <(zcat corpus.gz)`): read as a stream.
    @Test func aCorpusCanBeAPipeOrADevice() throws {
        #expect(throws: CorpusError.malformed(path: "/dev/null", line: 0, reason: "holds no samples")) {
            try Corpus(url: URL(fileURLWithPath: "/dev/null"))
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("corpus-fifo-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("corpus.txt")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        // A blocking open(2): it returns once the reader has opened its end, whichever comes
        // first (FileHandle(forWritingAtPath:) could give up before the reader arrived and
        // leave the reader waiting for ever).
        let writer = Thread {
            let fd = open(fifo.path, O_WRONLY)
            guard fd >= 0 else { return }
            let bytes = Array("first sample\nsecond sample\n".utf8)
            _ = bytes.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        writer.start()
        let corpus = try Corpus(url: fifo)
        #expect(corpus.samples == ["first sample", "second sample"])
    }

    /// The local pass (block ranges ending at each edit layer, only real rows captured) adds the
    /// same bits as a cluster stage's (one pass capturing every layer, padding dropped afterwards),
    /// on passes with padding.
    @Test(arguments: OracleFixture.names)
    func theLayerByLayerPassAddsWhatOneCapturingPassAdds(oracle name: String) throws {
        let (oracle, model, corpus, collector) = try Self.statisticsSetUp(name)
        let provenance = StatisticsProvenance(model: "m", module: "x", corpus: "c", dtype: "float32")
        let order = corpus.sampleOrder(count: 300)
        let passes = Array(collector.passes(corpus: corpus, samples: order[0..<300]).suffix(3))
        #expect(passes.contains { Set($0.map(\.count)).count > 1 }, "no pass with padding")
        var layerByLayer = oracle.layers.map { LayerStatistics(layer: $0, width: model.config.intermediateSize, provenance: provenance) }
        var oneCapture = layerByLayer
        for sequences in passes {
            collector.add(sequences, into: &layerByLayer)
            let batch = collector.batch(sequences)
            let points = Set(oracle.layers.map { HookPoint.mlpDownInput($0) })
            let (result, _) = model.forward(batch, hooks: Hooks(capture: points, stopAfterBlock: oracle.layers.max()!))
            StatisticsCollector.accumulate(batch: batch, captured: result.captured, into: &oneCapture, mirror: false)
        }
        for i in oracle.layers.indices {
            #expect(layerByLayer[i].count == oneCapture[i].count && layerByLayer[i].count > 0)
            #expect(layerByLayer[i].sum == oneCapture[i].sum, "\(name) layer \(oracle.layers[i])")
        }
    }

    /// A local pass adds chunks as packed upper triangles, a cluster's as full matrices: the
    /// totals get the same bits, chunk after chunk.
    @Test func packedChunksAddTheBitsOfFullChunks() throws {
        let (oracle, model, corpus, collector) = try Self.statisticsSetUp("alphaedit-oracle")
        let plan = StatisticsPlan(layers: oracle.layers, order: corpus.sampleOrder(count: 120), chunkSamples: 50)
        let provenance = StatisticsProvenance(model: "m", module: "x", corpus: "c", dtype: "float32")
        var full = oracle.layers.map { LayerStatistics(layer: $0, width: model.config.intermediateSize, provenance: provenance) }
        var packed = full
        for c in 0..<plan.chunkCount {
            let chunk = collector.chunk(c, of: plan, corpus: corpus)
            let packedChunk = collector.packedChunk(c, of: plan, corpus: corpus)
            for i in full.indices {
                full[i].add(chunk: chunk[i])
                packed[i].add(packedChunk: packedChunk[i])
                #expect(packed[i] == full[i], "chunk \(c), layer \(full[i].layer)")
            }
        }
        #expect(packed[0].samples == 120 && packed[0].count > 0)
    }

    @Test func shardsMergeToTheWhole() throws {
        let oracle = try OracleFixture("alphaedit-oracle")
        let model = try oracle.model()
        let corpus = try Corpus(url: oracle.directory.appendingPathComponent("stats_corpus.txt"))
        var collector = StatisticsCollector(model: model, tokenizer: try oracle.tokenizer(), layers: [1])
        let provenance = StatisticsProvenance(model: "m", module: "transformer.h.1.mlp.c_proj", corpus: "c", dtype: "float32")
        let order = corpus.sampleOrder(count: 300)
        func shards(window: Int) throws -> (merged: LayerStatistics, whole: LayerStatistics) {
            collector.windowSize = window
            var whole = [LayerStatistics(layer: 1, width: 512, provenance: provenance)]
            var first = whole, second = whole
            collector.accumulate(corpus: corpus, order: order, range: 0..<300, into: &whole)
            collector.accumulate(corpus: corpus, order: order, range: 0..<100, into: &first)
            collector.accumulate(corpus: corpus, order: order, range: 100..<300, into: &second)
            return (try first[0].merged(with: second[0]), whole[0])
        }
        // Windows that end on the shard boundary: the same forward passes, the same sum to float64 rounding.
        let aligned = try shards(window: 100)
        #expect(aligned.merged.count == aligned.whole.count)
        #expect(aligned.merged.samples == 300)
        #expect(aligned.merged.sum.relativeError(to: aligned.whole.sum) < 1e-12)
        // The default window spans the boundary in the whole pass: other batches, float32 rounding only.
        let spanning = try shards(window: StatisticsCollector(model: model, tokenizer: try oracle.tokenizer(), layers: [1]).windowSize)
        #expect(spanning.merged.count == spanning.whole.count)
        #expect(spanning.merged.sum.relativeError(to: spanning.whole.sum) < 1e-6)
    }
}
