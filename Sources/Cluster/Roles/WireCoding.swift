import Editing
import Foundation
import Linalg
import Transformer

// Editing's values as named tensors: matrices as F32/F64 `[rows, cols]`, JSON values (requests,
// templates) as U8 tensors of their UTF-8 bytes. Tensors travel as raw frames, never inside
// protobuf fields.

extension WireTensor {
    init(name: String, matrix: Matrix<Float>) {
        self.init(name: name, floats: matrix.elements, shape: [matrix.rows, matrix.cols])
    }

    init(name: String, matrix: Matrix<Double>) {
        self.init(name: name, doubles: matrix.elements, shape: [matrix.rows, matrix.cols])
    }

    init<T: Encodable>(name: String, json value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = [UInt8](try encoder.encode(value))
        self.init(name: name, dtype: .u8, shape: [bytes.count], bytes: bytes)
    }

    func floatMatrix() throws -> Matrix<Float> {
        guard shape.count == 2 else { throw ClusterError.badPayload("tensor \"\(name)\" has shape \(shape), expected a matrix") }
        return Matrix(rows: shape[0], cols: shape[1], elements: try floats())
    }

    func doubleMatrix() throws -> Matrix<Double> {
        guard shape.count == 2 else { throw ClusterError.badPayload("tensor \"\(name)\" has shape \(shape), expected a matrix") }
        return Matrix(rows: shape[0], cols: shape[1], elements: try doubles())
    }

    func decodeJSON<T: Decodable>(_ type: T.Type) throws -> T {
        guard dtype == .u8 else { throw ClusterError.badPayload("tensor \"\(name)\" is \(dtype.rawValue), expected u8 JSON") }
        do { return try JSONDecoder().decode(type, from: Data(bytes)) } catch {
            throw ClusterError.badPayload("tensor \"\(name)\" is not the expected JSON: \(error)")
        }
    }
}

extension Message {
    /// The tensor named `name`.
    func tensor(_ name: String) throws -> WireTensor {
        guard let tensor = tensors.first(where: { $0.name == name }) else {
            throw ClusterError.badPayload("\(body.kindName) carries no tensor \"\(name)\" (has \(tensors.map(\.name)))")
        }
        return tensor
    }

    /// The F32 matrix `name`, which must be `rows`×`cols` (a peer's tensor of another shape is a
    /// `badPayload` naming the message and the tensor, never a shape trap further on).
    func floatMatrix(_ name: String, rows: Int, cols: Int) throws -> Matrix<Float> {
        let matrix = try tensor(name).floatMatrix()
        try checkShape(name, matrix.rows, matrix.cols, rows, cols)
        return matrix
    }

    /// The F64 matrix `name`, which must be `rows`×`cols`.
    func doubleMatrix(_ name: String, rows: Int, cols: Int) throws -> Matrix<Double> {
        let matrix = try tensor(name).doubleMatrix()
        try checkShape(name, matrix.rows, matrix.cols, rows, cols)
        return matrix
    }

    private func checkShape(_ name: String, _ rows: Int, _ cols: Int, _ expectedRows: Int, _ expectedCols: Int) throws {
        guard rows == expectedRows, cols == expectedCols else {
            throw ClusterError.badPayload("\(body.kindName) tensor \"\(name)\" is \(rows)×\(cols), expected \(expectedRows)×\(expectedCols)")
        }
    }
}
