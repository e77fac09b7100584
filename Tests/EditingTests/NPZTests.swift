import Foundation
import Linalg
import Testing
@testable import Editing
@testable import Transformer

/// The official `.npz` statistics (scripts/make-npz-fixtures.py writes Tests/Fixtures/npz/ with numpy).
@Suite struct NPZTests {
    static let directory = OracleFixture.root.appendingPathComponent("npz", isDirectory: true)
    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    struct Expected: Decodable {
        let count: Int
        let samples: Int
        let sum: [Double]?
    }

    static func expected() throws -> [String: Expected] {
        try JSONDecoder().decode([String: Expected].self, from: Data(contentsOf: url("expected.json")))
    }

    static let provenance = StatisticsProvenance(model: "m", module: "transformer.h.1.mlp.c_proj", corpus: "c", dtype: "float32")

    // MARK: Well-formed files

    @Test(arguments: ["stored_f4.npz", "deflated_f4.npz", "stored_f8.npz", "deflated_f8.npz", "fortran_f8.npz",
                      "bigendian_f8.npz", "version2_f8.npz", "version3_f8.npz", "int32count_nosamples_f8.npz"])
    func decodesWhatNumpyWrote(file: String) throws {
        let expected = try #require(try Self.expected()[file])
        let stats = try LayerStatistics(npz: Self.url(file), layer: 1, provenance: Self.provenance)
        #expect(stats.count == expected.count)
        #expect(stats.samples == expected.samples)
        #expect(stats.width == 8)
        // float32 and float64 values convert to Double exactly, so the match is exact.
        #expect(stats.sum.elements == expected.sum!)
        #expect(stats.layer == 1 && stats.provenance == Self.provenance)
    }

    @Test func headersAndKeys() throws {
        let archive = try NPZArchive(url: Self.url("stored_f4.npz"))
        #expect(Set(archive.keys) == ["mom2.constructor", "mom2.count", "mom2.mom2", "sample_size"])
        let header = try archive.header("mom2.mom2")
        #expect(header.version == 1 && header.descr == "<f4" && !header.fortranOrder && header.shape == [8, 8])
        #expect(header.dataType == .float(size: 4, bigEndian: false) && header.dataByteCount == 256)
        #expect(header.dataOffset % 64 == 0)
        // The constructor is a string: its header parses, its values are not numbers.
        let constructor = try archive.header("mom2.constructor")
        #expect(constructor.descr.hasPrefix("<U") && constructor.dataType == .unsupported && constructor.shape == [])
        #expect(throws: NPZError.unsupportedDType(path: Self.url("stored_f4.npz").path, member: "mom2.constructor", descr: constructor.descr)) {
            _ = try archive.array("mom2.constructor", as: Double.self)
        }
        #expect(try archive.integer("sample_size") == 5)
        #expect(try archive.array("mom2.count", as: Int64.self).elements == [20])
    }

    @Test func pythonLiteralsOfHeaders() throws {
        #expect(try PythonLiteral.parse("(8,)") == .tuple([.int(8)]))
        #expect(try PythonLiteral.parse("(8)") == .int(8))
        #expect(try PythonLiteral.parse("()") == .tuple([]))
        #expect(try PythonLiteral.parse("(3L, 4L)") == .tuple([.int(3), .int(4)]))
        #expect(try PythonLiteral.parse("{\"descr\": '<f8', 'fortran_order': True, 'shape': (2, 3), }")
                == .dict([("descr", .string("<f8")), ("fortran_order", .bool(true)), ("shape", .tuple([.int(2), .int(3)]))]))
        #expect(try PythonLiteral.parse("[('a', '<f4'), ('b', '<i8')]") == .list([.tuple([.string("a"), .string("<f4")]), .tuple([.string("b"), .string("<i8")])]))
        #expect(throws: PythonLiteral.SyntaxError.self) { try PythonLiteral.parse("{'a': (1, 2}") }
        #expect(throws: PythonLiteral.SyntaxError.self) { try PythonLiteral.parse("{'a': 1} x") }
        #expect(NPYDataType(descr: "|u1") == .uint(size: 1, bigEndian: false))
        #expect(NPYDataType(descr: "|f4") == .unsupported)
        #expect(NPYDataType(descr: ">i2") == .int(size: 2, bigEndian: true))
        #expect(NPYDataType(descr: "|O") == .unsupported)
        #expect(NPYDataType(descr: "<c8") == .unsupported)
    }

    @Test func integersOfEveryWidthAndOrder() {
        func decode(_ descr: String, _ bytes: [UInt8]) -> Int64 {
            bytes.withUnsafeBytes { NPYDataType(descr: descr).int64(at: $0.baseAddress!) }
        }
        #expect(decode("<i2", [0xFE, 0xFF]) == -2)
        #expect(decode(">i2", [0xFF, 0xFE]) == -2)
        #expect(decode("<u2", [0xFE, 0xFF]) == 65534)
        #expect(decode("<i4", [0x01, 0x00, 0x00, 0x80]) == Int64(Int32.min) + 1)
        #expect(decode(">i8", [0, 0, 0, 0, 0, 0, 0x01, 0x00]) == 256)
        #expect(decode("|b1", [2]) == 1)
    }

    @Test func fortranOrderOfThreeAxes() {
        // numpy: np.arange(24).reshape(2,3,4) in Fortran order is its transpose's C order.
        var columnMajor = [Double](repeating: 0, count: 24)
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 { columnMajor[i + 2 * (j + 3 * k)] = Double(i * 12 + j * 4 + k) } } }
        let rowMajor = NPYDecoder<Double>.rowMajor(fromColumnMajor: columnMajor, shape: [2, 3, 4])
        #expect(rowMajor == (0..<24).map(Double.init))
    }

    // MARK: Damaged files

    static let faults: [(file: String, check: @Sendable (NPZError) -> Bool)] = [
        ("bad_magic.npz", { if case .malformedMember(_, "mom2.mom2", let r) = $0 { r.contains("magic") } else { false } }),
        ("bad_version.npz", { if case .malformedMember(_, "mom2.mom2", let r) = $0 { r.contains("version 4.0") } else { false } }),
        ("bad_header_keys.npz", { if case .malformedMember(_, "mom2.mom2", let r) = $0 { r.contains("keys") } else { false } }),
        ("bad_header_syntax.npz", { if case .malformedMember(_, "mom2.mom2", let r) = $0 { r.contains("bad .npy header") } else { false } }),
        ("bad_shape.npz", { if case .malformedMember(_, "mom2.mom2", let r) = $0 { r.contains("shape") } else { false } }),
        ("truncated_data.npz", { if case .sizeMismatch(_, "mom2.mom2", [8, 8], "<f4", 256, 244) = $0 { true } else { false } }),
        ("extra_data.npz", { if case .sizeMismatch(_, "mom2.mom2", [8, 8], "<f4", 256, 260) = $0 { true } else { false } }),
        ("truncated_header.npz", { if case .malformedMember(_, "mom2.mom2", let r) = $0 { r.contains("inside its .npy header") } else { false } }),
        ("object_dtype.npz", { if case .unsupportedDType(_, "mom2.mom2", "|O") = $0 { true } else { false } }),
        ("complex_dtype.npz", { if case .unsupportedDType(_, "mom2.mom2", "<c8") = $0 { true } else { false } }),
        ("not_square.npz", { if case .unexpectedValue(_, "mom2.mom2", let r) = $0 { r.contains("[8, 4]") } else { false } }),
        ("string_count.npz", { if case .unsupportedDType(_, "mom2.count", _) = $0 { true } else { false } }),
        ("zero_count.npz", { if case .unexpectedValue(_, "mom2.count", let r) = $0 { r.contains("no tokens") } else { false } }),
        ("nan.npz", { if case .unexpectedValue(_, "mom2.mom2", let r) = $0 { r.contains("nan") } else { false } }),
        ("missing_count.npz", { if case .missingMember(_, "mom2.count", let members) = $0 { members.contains("mom2.mom2") } else { false } }),
        ("crc_mismatch.npz", { if case .corruptMember(_, "mom2.mom2", let r) = $0 { r.contains("CRC-32") } else { false } }),
        ("not_a_zip.npz", { if case .notAnArchive = $0 { true } else { false } }),
        ("truncated_zip.npz", { if case .notAnArchive = $0 { true } else { false } }),
        ("no_such_file.npz", { if case .unreadable(_, "no such file") = $0 { true } else { false } }),
    ]

    @Test(arguments: faults.indices)
    func damagedFilesNameTheFileAndTheMember(index: Int) {
        let (file, check) = Self.faults[index]
        do {
            _ = try LayerStatistics(npz: Self.url(file), layer: 1, provenance: Self.provenance)
            Issue.record("\(file) was accepted")
        } catch let error as NPZError {
            #expect(check(error), "\(file): \(error)")
            let text = error.description
            #expect(text.hasPrefix(Self.url(file).path + ": "), "\(text)")
            #expect(!text.contains("\n"))
            if case .notAnArchive = error {} else if case .unreadable = error {} else {
                #expect(text.contains("\"mom2."), "\(text)")
            }
        } catch {
            Issue.record("\(file): \(type(of: error)) \(error)")
        }
    }

    // MARK: Names and import

    @Test func officialFileNames() {
        let llama = OfficialStatisticsName(fileName: "model.layers.4.mlp.down_proj_float32_mom2_100000.npz")
        #expect(llama == OfficialStatisticsName(module: "model.layers.4.mlp.down_proj", dtype: "float32", sampleCount: 100000))
        #expect(llama?.fileName == "model.layers.4.mlp.down_proj_float32_mom2_100000.npz")
        let tokens = OfficialStatisticsName(fileName: "transformer.h.17.mlp.c_proj_float64_mom2_t1024_500.npz")
        #expect(tokens == OfficialStatisticsName(module: "transformer.h.17.mlp.c_proj", dtype: "float64", batchTokens: 1024, sampleCount: 500))
        #expect(OfficialStatisticsName(fileName: "transformer.h.1.mlp.c_proj_float32_mom2.npz")?.sampleCount == nil)
        #expect(OfficialStatisticsName(fileName: "x_float32_mean-mom2_10.npz")?.stats == "mean-mom2")
        #expect(OfficialStatisticsName(fileName: "stored_f4.npz") == nil)
        #expect(OfficialStatisticsName(fileName: "transformer.h.1.mlp.c_proj_float32_mom2_2000.npy") == nil)
        #expect(OfficialStatisticsName(fileName: "_float32_mom2_2000.npz") == nil)
        #expect(OfficialStatisticsName(fileName: "layer_int8_mom2_2000.npz") == nil)
    }

    /// The oracle's layer-1 covariance × the token count, saved by numpy under the official name,
    /// imports as the oracle's moment and gives the official null-space dimension.
    @Test func importedOracleStatisticsGiveTheOracleMoment() throws {
        let oracle = try OracleFixture("alphaedit-oracle")
        let stats = try temporaryDirectory()
        let source = Self.directory.appendingPathComponent("oracle/transformer.h.1.mlp.c_proj_float32_mom2_2000.npz")
        let importer = try NPZStatisticsImport(modelDirectory: oracle.modelDirectory, hparams: try oracle.hparams(),
                                               hparamsPath: oracle.hparamsURL.path, statsDirectory: stats)
        let imported = try importer.run(files: [source])
        let expected = try #require(try Self.expected()["oracle"])
        #expect(imported.count == 1)
        let record = imported[0]
        #expect(record.layer == 1 && record.isEditLayer && record.count == expected.count && record.samples == 2000 && record.width == 512)
        #expect(record.destination.path == stats.path + "/model/stats_corpus_stats/transformer.h.1.mlp.c_proj_float32_mom2_2000.safetensors")
        let (read, metadata) = try LayerStatistics.read(from: record.destination)
        #expect(metadata["imported_from"] == source.lastPathComponent)
        #expect(read.provenance.model == importer.statistics.modelFingerprint)
        #expect(read.provenance.corpus.hasPrefix("stats_corpus@npz:"))
        let reference = Matrix<Double>(try oracle.symmetric("cov.L1.triu"))
        let error = try read.secondMoment.relativeError(to: reference)
        #expect(error < 1e-6, "relative error \(error)")
        let projector = try NullSpaceProjector(layer: 1, secondMoment: read.secondMoment, threshold: 0.02)
        #expect(projector.nullSpaceDimension == oracle.nullSpaceDimension(layer: 1))
        // The edit job finds it (layer 2 is still missing, and no corpus is given).
        let job = importer.statistics
        #expect(job.url(layer: 1) == record.destination)
        #expect(throws: EditJobError.missingStatistics(layer: 2, path: job.url(layer: 2).path)) { try job.validate() }
        // A second import is refused unless overwriting.
        #expect(throws: NPZError.self) { _ = try importer.run(files: [source]) }
        #expect(try importer.run(files: [source], overwrite: true).count == 1)
    }

    @Test func importRefusesFilesThatDoNotFit() throws {
        let oracle = try OracleFixture("alphaedit-oracle")
        let work = try temporaryDirectory()
        let importer = try NPZStatisticsImport(modelDirectory: oracle.modelDirectory, hparams: try oracle.hparams(),
                                               hparamsPath: oracle.hparamsURL.path, statsDirectory: work.appendingPathComponent("stats"))
        func copy(_ name: String, as newName: String) throws -> URL {
            let url = work.appendingPathComponent(newName)
            try? FileManager.default.removeItem(at: url)
            try FileManager.default.copyItem(at: Self.url(name), to: url)
            return url
        }
        func reason(_ files: [URL]) -> String {
            do { _ = try importer.run(files: files); return "accepted" } catch { return "\(error)" }
        }
        #expect(reason([try copy("stored_f4.npz", as: "stored_f4.npz")]).contains("does not follow the official"))
        #expect(reason([try copy("stored_f4.npz", as: "model.layers.1.mlp.down_proj_float32_mom2_2000.npz")]).contains("not a rewrite module of this model (transformer.h.{}.mlp.c_proj, layers 0…3)"))
        #expect(reason([try copy("stored_f4.npz", as: "transformer.h.1.mlp.c_proj_float64_mom2_2000.npz")]).contains("mom2_dtype is float32"))
        #expect(reason([try copy("stored_f4.npz", as: "transformer.h.1.mlp.c_proj_float32_mom2_100000.npz")]).contains("mom2_n_samples is 2000"))
        let small = try copy("stored_f4.npz", as: "transformer.h.2.mlp.c_proj_float32_mom2_2000.npz")
        #expect(reason([small]).contains("holds 8×8 statistics, but this model's MLP keys are 512 wide"))
        let twice = try copy("stored_f4.npz", as: "transformer.h.2.mlp.c_proj_float32_mom2.npz")
        #expect(reason([small, twice]).contains("is of layer 2, like"))
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("stats/model/stats_corpus_stats/transformer.h.2.mlp.c_proj_float32_mom2_2000.safetensors").path))
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("alphaedit-npz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
