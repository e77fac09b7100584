import Foundation
import Linalg
@testable import Transformer

/// One official-code oracle (`Tests/Fixtures/alphaedit-oracle*/`): tensors and oracle.json.
struct OracleFixture {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures", isDirectory: true)

    static let names = ["alphaedit-oracle", "alphaedit-oracle-llama"]

    let name: String
    let directory: URL
    let tensors: SafetensorsFile
    let json: JSONValue

    init(_ name: String) throws {
        self.name = name
        directory = Self.root.appendingPathComponent(name, isDirectory: true)
        tensors = try SafetensorsFile(url: directory.appendingPathComponent("oracle.safetensors"))
        json = try JSONValue.parse(Data(contentsOf: directory.appendingPathComponent("oracle.json")))
    }

    var modelDirectory: URL { directory.appendingPathComponent("model", isDirectory: true) }
    var hparamsURL: URL { directory.appendingPathComponent("hparams.json") }
    var layers: [Int] { json.objectValue!["hparams"]!.objectValue!["layers"]!.arrayValue!.map { $0.intValue! } }

    /// A 2-D float32 tensor (`[rows, cols]`).
    func matrix(_ name: String) throws -> Matrix<Float> {
        let shape = try tensors.info(name).shape
        return Matrix(rows: shape[0], cols: shape.count > 1 ? shape[1] : 1, elements: try tensors.floats(name))
    }

    func doubleMatrix(_ name: String) throws -> Matrix<Double> {
        let shape = try tensors.info(name).shape
        return Matrix(rows: shape[0], cols: shape.count > 1 ? shape[1] : 1, elements: try tensors.doubles(name))
    }

    /// A symmetric matrix stored as its packed upper triangle (`*.triu`).
    func symmetric(_ name: String) throws -> Matrix<Float> {
        let packed = try tensors.floats(name)
        let n = Int((Double(8 * packed.count + 1).squareRoot() - 1) / 2)
        return Matrix(symmetricFromPackedUpper: packed, n: n)
    }

    /// The null-space dimension the official code found for a layer.
    func nullSpaceDimension(layer: Int) -> Int {
        json.objectValue!["projector"]!.objectValue![String(layer)]!.objectValue!["null_space_dim"]!.intValue!
    }

    /// MEMIT's λ (`mom2_update_weight`) of the oracle's MEMIT run.
    var memitUpdateWeight: Double {
        json.objectValue!["memit"]!.objectValue!["hparams"]!.objectValue!["mom2_update_weight"]!.numberValue!
    }

    /// Σ over batches < b of keys_post·keys_postᵀ: the cache the solve of batch b sees.
    func cache(beforeBatch b: Int, layer: Int) throws -> Matrix<Float> {
        var cache: Matrix<Float>? = nil
        for previous in 0..<b {
            let keys = try matrix("b\(previous).L\(layer).keys_post")
            let gram = matmul(keys, keys, transposeB: true)
            cache = cache.map { $0 + gram } ?? gram
        }
        let width = try tensors.info("b0.L\(layer).keys").shape[0]
        return cache ?? Matrix(rows: width, cols: width, repeating: 0)
    }
}

import Editing

extension OracleFixture {
    func hparams(_ algorithm: EditAlgorithm = .alphaedit) throws -> EditHyperParameters {
        try EditHyperParameters.load(file: hparamsURL, algorithm: algorithm)
    }

    func requests() throws -> [EditRequest] {
        let data = try JSONEncoder().encode(json.objectValue!["requests"]!)
        return try EditRequest.parse(data: data, path: "oracle.json")
    }

    func templates() throws -> ContextTemplates {
        let groups = json.objectValue!["context_templates"]!.arrayValue!.map { $0.arrayValue!.map { $0.stringValue! } }
        return try ContextTemplates(groups: groups)
    }

    func model() throws -> TransformerModel { try TransformerModel.load(directory: modelDirectory) }
    func tokenizer() throws -> Tokenizer { try Tokenizer(directory: modelDirectory) }

    /// The model as the official run had it before batch b: the original weights plus the
    /// official deltas of the earlier batches.
    func model(beforeBatch b: Int) throws -> TransformerModel {
        var model = try model()
        for previous in 0..<b {
            for layer in layers { BatchEditor.add(try matrix("b\(previous).L\(layer).delta"), toLayer: layer, of: &model) }
        }
        return model
    }

    /// Column c of a `[rows, N]` matrix.
    func column(_ m: Matrix<Float>, _ c: Int) -> [Float] { (0..<m.rows).map { m.elements[$0 * m.cols + c] } }
}

/// ‖a − b‖ / ‖b‖ for vectors.
func relativeError(_ a: [Float], _ b: [Float]) -> Double {
    var difference = 0.0, norm = 0.0
    for (x, y) in zip(a, b) {
        difference += Double(x - y) * Double(x - y)
        norm += Double(y) * Double(y)
    }
    return (difference / norm).squareRoot()
}
