import Foundation
import Linalg
import Transformer
@testable import Evaluation

/// A character-level tokenizer for hand-computed cases: id = Unicode scalar + 10 (ASCII only),
/// BOS = 1 (written `<s>`, recognised in text), EOS = padding = 2 (`</s>`). V = 138.
struct CharTokenizer: EvaluationTokenizer {
    static let bos = 1, eos = 2, vocabulary = 138
    var prependsBOS: Bool
    var paddingID: Int { Self.eos }

    static func id(_ c: Character) -> Int { Int(c.unicodeScalars.first!.value) + 10 }

    func tokenIDs(for text: String) -> [Int] {
        var ids = prependsBOS ? [Self.bos] : []
        var rest = Substring(text)
        while let first = rest.first {
            if rest.hasPrefix("<s>") {
                ids.append(Self.bos)
                rest = rest.dropFirst(3)
            } else {
                ids.append(Self.id(first))
                rest = rest.dropFirst()
            }
        }
        return ids
    }

    func text(for ids: [Int]) -> String {
        ids.map { id in
            switch id {
            case Self.bos: return "<s>"
            case Self.eos: return "</s>"
            default: return String(Character(UnicodeScalar(UInt8(id - 10))))
            }
        }.joined()
    }
}

/// A bigram "model": the logits after token c are `strength` at `next[c]` and 0 elsewhere (all 0 when
/// c has no successor). With `strength = ln(V − 1)` a preferred token has probability 1/2.
struct BigramModel: EvaluatedModel {
    var next: [Int: Int]
    var strength: Float = logf(Float(CharTokenizer.vocabulary - 1))
    var vocabulary = CharTokenizer.vocabulary

    init(_ pairs: [(Character, Character)]) {
        next = Dictionary(pairs.map { (CharTokenizer.id($0.0), CharTokenizer.id($0.1)) }, uniquingKeysWith: { a, _ in a })
    }

    func logits(_ batch: TokenBatch) -> Matrix<Float> {
        var m = Matrix<Float>(rows: batch.tokenCount, cols: vocabulary, repeating: 0)
        for r in 0..<batch.tokenCount {
            if let n = next[batch.ids[r]] { m.elements[r * vocabulary + n] = strength }
        }
        return m
    }

    /// Follows the bigram chain (token 'x' where it ends).
    func sampleContinuations(prompts: [[Int]], maxNewTokens: Int, topK: Int, seed: UInt64) -> [[Int]] {
        prompts.map { prompt in
            var out: [Int] = [], last = prompt.last!
            for _ in 0..<maxNewTokens {
                last = next[last] ?? CharTokenizer.id("x")
                out.append(last)
            }
            return out
        }
    }

    var positionLimit: Int? { nil }
}

/// Fixture folders of this repository.
enum FixturePaths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures", isDirectory: true)

    static func hfReference(_ name: String) -> URL {
        root.appendingPathComponent("hf-reference/\(name)", isDirectory: true)
    }

    static let oracleModel = root.appendingPathComponent("alphaedit-oracle/model", isDirectory: true)
}
