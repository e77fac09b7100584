import Foundation
import Linalg
@testable import Transformer

/// One `hf-reference` model folder: the model, its reference tensors and reference.json.
struct ReferenceFixture {
    let folder: String
    let model: TransformerModel
    let tensors: SafetensorsFile
    let json: [String: Any]

    /// Folders without their own reference files (llama-sharded) use those of `referenceFolder`.
    static func referenceFolder(for folder: String) -> String {
        folder == "llama-sharded" ? "llama" : folder
    }

    init(_ folder: String) throws {
        self.folder = folder
        model = try TransformerModel.load(directory: FixturePaths.hfReference(folder))
        let reference = FixturePaths.hfReference(Self.referenceFolder(for: folder))
        tensors = try SafetensorsFile(url: reference.appendingPathComponent("reference.safetensors"))
        let data = try Data(contentsOf: reference.appendingPathComponent("reference.json"))
        json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    func ints(_ name: String) throws -> [Int] { try tensors.int64s(name).map { Int($0) } }

    func matrix(_ name: String) throws -> Matrix<Float> {
        let info = try tensors.info(name)
        let values = try tensors.floats(name)
        let cols = info.shape.last ?? 1
        return Matrix(rows: values.count / cols, cols: cols, elements: values)
    }

    /// The right- or left-padded batch of the three test strings.
    func batch(_ side: String) throws -> TokenBatch {
        let shape = try tensors.info("\(side).input_ids").shape
        return TokenBatch(batchSize: shape[0], length: shape[1], ids: try ints("\(side).input_ids"),
                          mask: try ints("\(side).attention_mask").map { $0 == 1 },
                          positions: try ints("\(side).position_ids"))
    }
}

/// max |ours − reference| ÷ max |reference| over the rows where `rows` is true.
func relativeMaxError(_ ours: Matrix<Float>, _ reference: Matrix<Float>, rows: [Bool]) -> Double {
    precondition(ours.rows == reference.rows && ours.cols == reference.cols, "shape \(ours.rows)x\(ours.cols) vs \(reference.rows)x\(reference.cols)")
    var maxError: Double = 0, maxReference: Double = 0
    for r in 0..<ours.rows where rows[r] {
        for c in 0..<ours.cols {
            let i = r * ours.cols + c
            maxError = max(maxError, Double(abs(ours.elements[i] - reference.elements[i])))
            maxReference = max(maxReference, Double(abs(reference.elements[i])))
        }
    }
    return maxReference == 0 ? maxError : maxError / maxReference
}
