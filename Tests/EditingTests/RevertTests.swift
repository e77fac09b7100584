import Foundation
import Testing
@testable import Editing
@testable import Transformer

/// `alphaedit revert`: edited checkpoint − deltas = the checkpoint before the edit.
@Suite struct RevertTests {
    static let base = "0123456789abcdef"

    /// A synthetic "edited" checkpoint with one tensor of each float dtype (plus an integer one
    /// that is not edited), and the float32 deltas of the edit.
    struct Synthetic {
        let directory: URL
        let edited: URL
        let deltas: URL
        let originals: [String: [Double]]
        let deltaValues: [String: [Float]]
    }

    static func synthetic(deltaMetadata: [String: String] = [:], extraDelta: (name: String, shape: [Int])? = nil,
                          transposedDelta: String? = nil) throws -> Synthetic {
        let directory = try StatisticsJobTests.temporaryDirectory()
        let edited = directory.appendingPathComponent("edited", isDirectory: true)
        try FileManager.default.createDirectory(at: edited, withIntermediateDirectories: true)
        var originals: [String: [Double]] = [:], deltas: [String: [Float]] = [:]
        var model = SafetensorsWriter(metadata: ["format": "pt", ModelFingerprint.baseModelKey: base, "alphaedit.edits": "3"])
        var deltaFile = SafetensorsWriter(metadata: ["format": "alphaedit-deltas", "version": "1", "edits": "3",
                                                     ModelFingerprint.baseModelKey: base].merging(deltaMetadata) { $1 })
        var generator = SplitMix64(seed: 7)
        let shape = [6, 5]
        for dtype in [DType.F32, .F64, .F16, .BF16] {
            let name = "w.\(dtype.rawValue)"
            let original = (0..<30).map { _ in generator.nextUniform() * 2 - 1 }
            let delta = (0..<30).map { _ in Float(generator.nextUniform() * 0.2 - 0.1) }
            // What `alphaedit edit` stores: the original (as the dtype holds it) plus the delta, rounded to the dtype.
            let stored: [Double]
            switch dtype {
            case .F64:
                stored = original
                try model.add(name: name, dtype: .F64, shape: shape, bytes: zip(stored, delta).map { $0 + Double($1) }.withUnsafeBytes { Array($0) })
            default:
                let asStored = SafetensorsFile.roundTrip(original.map(Float.init), dtype)
                stored = asStored.map(Double.init)
                try model.add(name: name, floats: zip(asStored, delta).map { $0 + $1 }, shape: shape, as: dtype)
            }
            originals[name] = stored
            deltas[name] = delta
            try deltaFile.add(name: name, floats: delta, shape: name == transposedDelta ? shape.reversed() : shape)
        }
        try model.add(name: "steps", int64s: [1, 2, 3], shape: [3])
        if let (name, deltaShape) = extraDelta {
            try deltaFile.add(name: name, floats: [Float](repeating: 0.5, count: deltaShape.reduce(1, *)), shape: deltaShape)
        }
        try model.write(to: edited.appendingPathComponent("model.safetensors"))
        try Data("{}".utf8).write(to: edited.appendingPathComponent("config.json"))
        let deltasURL = edited.appendingPathComponent("alphaedit-deltas.safetensors")
        try deltaFile.write(to: deltasURL)
        return Synthetic(directory: directory, edited: edited, deltas: deltasURL, originals: originals, deltaValues: deltas)
    }

    @Test func everyFloatDTypeComesBack() throws {
        let s = try Self.synthetic()
        let out = s.directory.appendingPathComponent("reverted", isDirectory: true)
        let summary = try RevertJob(modelDirectory: s.edited, deltasFile: s.deltas, outputDirectory: out).run()
        #expect(summary.tensors.map(\.name).sorted() == ["w.BF16", "w.F16", "w.F32", "w.F64"])
        #expect(summary.edits == 3)
        let reverted = try Checkpoint(directory: out)
        #expect(reverted.metadata[ModelFingerprint.baseModelKey] == Self.base)
        #expect(reverted.metadata["alphaedit.edits"] == nil)
        #expect(try reverted.int64s("steps") == [1, 2, 3])
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("config.json").path))
        for (name, original) in s.originals {
            let info = try reverted.info(name)
            #expect(info.shape == [6, 5])
            let values = try reverted.doubles(name)
            let worst = zip(values, original).map { abs($0 - $1) }.max()!
            // One rounding of the edit and one of the revert, in the tensor's dtype.
            let tolerance: Double = switch info.dtype {
            case .F64: 1e-15
            case .F32: 2e-7
            case .F16: 2e-3
            default: 1.6e-2   // BF16: 8 bits of mantissa
            }
            #expect(worst <= tolerance, "\(name): max |reverted − original| = \(worst)")
            #expect(info.dtype.rawValue == String(name.dropFirst(2)))
        }
    }

    @Test func refusesDeltasThatDoNotFit() throws {
        func reason(_ s: Synthetic, deltas: URL? = nil, model: URL? = nil) -> String {
            do {
                _ = try RevertJob(modelDirectory: model ?? s.edited, deltasFile: deltas ?? s.deltas,
                                  outputDirectory: s.directory.appendingPathComponent("out")).run()
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        let plain = try Self.synthetic()
        #expect(reason(plain, deltas: plain.edited.appendingPathComponent("model.safetensors")).contains("not an alphaedit deltas file"))
        #expect(reason(try Self.synthetic(deltaMetadata: [ModelFingerprint.baseModelKey: "ffffffffffffffff"]))
                    .contains("deltas of an edit of model ffffffffffffffff, but --model descends from model \(Self.base)"))
        #expect(reason(try Self.synthetic(deltaMetadata: ["edits": "2"])).contains("after 2 edits, but --model records 3 edits"))
        #expect(reason(try Self.synthetic(extraDelta: ("missing", [2]))).contains("delta of missing, which --model does not have"))
        #expect(reason(try Self.synthetic(extraDelta: ("steps", [3]))).contains("steps is I64"))
        #expect(reason(try Self.synthetic(transposedDelta: "w.F16")).contains("delta of w.F16 has shape [5, 6], the checkpoint's tensor [6, 5]"))
        #expect(reason(plain, deltas: plain.directory.appendingPathComponent("nothing.safetensors")).contains("nothing.safetensors"))
        // The output of a revert is the base model: reverting it again is refused.
        let out = plain.directory.appendingPathComponent("reverted")
        _ = try RevertJob(modelDirectory: plain.edited, deltasFile: plain.deltas, outputDirectory: out).run()
        #expect(reason(plain, model: out).contains("already reverted"))
        // An existing output directory, or the input itself.
        #expect(throws: EditJobError.outputExists(path: out.path)) {
            _ = try RevertJob(modelDirectory: plain.edited, deltasFile: plain.deltas, outputDirectory: out)
        }
        #expect(throws: RevertError.outputIsInput(path: plain.edited.path)) {
            _ = try RevertJob(modelDirectory: plain.edited, deltasFile: plain.deltas, outputDirectory: plain.edited)
        }
    }

    /// A real edit of the oracle model, then its revert: F32 weights within float32 rounding.
    @Test func editThenRevertReturnsTheOriginalWeights() throws {
        let oracle = try OracleFixture("alphaedit-oracle")
        let work = try StatisticsJobTests.temporaryDirectory()
        let requests = work.appendingPathComponent("requests.json")
        try JSONEncoder().encode(JSONValue.array(Array(oracle.json.objectValue!["requests"]!.arrayValue!.prefix(1)))).write(to: requests)
        var configuration = EditJobConfiguration(modelDirectory: oracle.modelDirectory,
                                                 hparamsFile: try StatisticsJobTests.hparams(samples: 100, in: work),
                                                 requestsFile: requests, outputDirectory: work.appendingPathComponent("edited"),
                                                 statsDirectory: work.appendingPathComponent("stats"))
        configuration.corpus = oracle.directory.appendingPathComponent("stats_corpus.txt")
        configuration.contextTemplatesFile = oracle.directory.appendingPathComponent("oracle.json")
        let edited = try EditJob(configuration).run().outputDirectory
        let out = work.appendingPathComponent("reverted")
        let summary = try RevertJob(modelDirectory: edited, deltasFile: edited.appendingPathComponent("alphaedit-deltas.safetensors"),
                                    outputDirectory: out).run()
        #expect(summary.tensors.map(\.name) == oracle.layers.map { "transformer.h.\($0).mlp.c_proj.weight" })
        #expect(summary.tensors.allSatisfy { $0.maxAbsDelta > 1e-3 })
        let original = try Checkpoint(directory: oracle.modelDirectory)
        let reverted = try Checkpoint(directory: out)
        #expect(Set(reverted.tensorNames) == Set(original.tensorNames))
        for name in original.tensorNames {
            let a = try original.floats(name), b = try reverted.floats(name)
            let scale = a.map { abs($0) }.max()!
            let worst = zip(a, b).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-6 * scale, "\(name): max |reverted − original| = \(worst) (max |w| \(scale))")
            if !summary.tensors.contains(where: { $0.name == name }) {
                #expect(try reverted.rawBytes(name) == original.rawBytes(name), "\(name) was not edited and must be copied")
            }
        }
        // The reverted model is the base model again: same statistics, same generation.
        let config = try ModelConfig.load(directory: out)
        #expect(try ModelFingerprint.base(of: reverted, config: config) == ModelFingerprint.compute(original, config: config))
    }
}

extension SafetensorsFile {
    /// `values` as stored in `dtype` and read back as float32.
    static func roundTrip(_ values: [Float], _ dtype: DType) -> [Float] {
        var writer = SafetensorsWriter()
        try! writer.add(name: "x", floats: values, shape: [values.count], as: dtype)
        return try! SafetensorsFile(bytes: writer.serialized(), name: "x").floats("x")
    }
}
