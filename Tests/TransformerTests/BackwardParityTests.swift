import Foundation
import Linalg
import Testing
@testable import Transformer

/// Gradients against transformers' autograd: the added-vector gradient for every model, and
/// every parameter gradient of GPT-2's training loss.
@Suite struct BackwardParityTests {
    @Test(arguments: FixturePaths.hfFoldersWithGreedyAndGradient)
    func addedVectorGradient(folder: String) throws {
        let fixture = try ReferenceFixture(folder)
        let grad = fixture.json["grad"] as! [String: Any]
        let ids = try fixture.ints("grad.input_ids")
        let position = grad["delta_position"] as! Int
        let layer = grad["mlp_layer"] as! Int
        let batch = TokenBatch([ids])
        // Loss: mean NLL of the 3 target tokens, predicted at positions P−1, P, P+1.
        var targets = [Int?](repeating: nil, count: ids.count)
        for i in 0..<3 { targets[position + i] = ids[position + i + 1] }
        let (result, tape) = fixture.model.forward(batch, keepTape: true)
        let (loss, dLogits) = CrossEntropy.meanNLL(logits: result.logits!, targets: targets)
        let expectedLoss = try fixture.tensors.floats("grad.loss")[0]
        #expect(abs(loss - expectedLoss) / abs(expectedLoss) < 1e-5, "\(folder): loss \(loss) vs \(expectedLoss)")

        let backward = fixture.model.backward(tape!, dLogits: dLogits, blockOutputs: [layer])
        let ours = Matrix(rows: 1, cols: fixture.model.config.hiddenSize,
                          elements: backward.blockOutputGradients[layer]!.row(position))
        let reference = try fixture.matrix("grad.d_loss_d_delta")
        let error = relativeMaxError(ours, reference, rows: [true])
        #expect(error < 1e-4, "\(folder): d loss / d delta relative error \(error)")
    }

    @Test func gpt2ParameterGradients() throws {
        let fixture = try ReferenceFixture("gpt2")
        let shape = try fixture.tensors.info("train.input_ids").shape
        let labels = try fixture.ints("train.labels")
        let batch = TokenBatch(batchSize: shape[0], length: shape[1], ids: try fixture.ints("train.input_ids"),
                               mask: try fixture.ints("train.attention_mask").map { $0 == 1 })
        // HF shifts internally: row t predicts label t+1 of the same sequence.
        var targets = [Int?](repeating: nil, count: batch.tokenCount)
        for b in 0..<batch.batchSize {
            for t in 0..<(batch.length - 1) where labels[batch.row(b, t + 1)] >= 0 {
                targets[batch.row(b, t)] = labels[batch.row(b, t + 1)]
            }
        }
        let (result, tape) = fixture.model.forward(batch, keepTape: true)
        let (loss, dLogits) = CrossEntropy.meanNLL(logits: result.logits!, targets: targets)
        let expectedLoss = try fixture.tensors.floats("train.loss")[0]
        #expect(abs(loss - expectedLoss) / expectedLoss < 1e-5, "loss \(loss) vs \(expectedLoss)")

        let gradients = fixture.model.backward(tape!, dLogits: dLogits, parameterGradients: true).parameterGradients!
        var checked = 0
        for binding in fixture.model.bindings {
            let name = "train.grad.\(binding.name)"
            guard fixture.tensors.contains(name) else { continue }
            let reference = try fixture.matrix(name)
            let ours = gradients[keyPath: binding.path]
            let error = relativeMaxError(Matrix(rows: reference.rows, cols: reference.cols, elements: ours.elements),
                                         reference, rows: [Bool](repeating: true, count: reference.rows))
            #expect(error < 1e-3, "\(binding.name): relative error \(error)")
            checked += 1
        }
        #expect(checked == fixture.model.bindings.count, "every GPT-2 parameter has a reference gradient")
    }
}
