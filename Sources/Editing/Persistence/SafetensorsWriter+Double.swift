import Foundation
import Linalg
import Transformer

extension SafetensorsWriter {
    /// Adds a float64 tensor.
    mutating func add(name: String, doubles: [Double], shape: [Int]) throws {
        let bytes = doubles.withUnsafeBytes { Array($0) }
        try add(name: name, dtype: .F64, shape: shape, bytes: bytes)
    }

    mutating func add(name: String, matrix: Matrix<Double>) throws {
        try add(name: name, doubles: matrix.elements, shape: [matrix.rows, matrix.cols])
    }

    mutating func add(name: String, matrix: Matrix<Float>) throws {
        try add(name: name, floats: matrix.elements, shape: [matrix.rows, matrix.cols])
    }
}

extension SafetensorsFile {
    /// A 2-D tensor as a float32 matrix.
    func floatMatrix(_ name: String) throws -> Matrix<Float> {
        let shape = try info(name).shape
        guard shape.count == 2 else { throw StatisticsError.malformed(path: self.name, reason: "tensor \"\(name.escapingLineBreaks)\" is not 2-D (\(shape))") }
        return Matrix(rows: shape[0], cols: shape[1], elements: try floats(name))
    }

    func doubleMatrix(_ name: String) throws -> Matrix<Double> {
        let shape = try info(name).shape
        guard shape.count == 2 else { throw StatisticsError.malformed(path: self.name, reason: "tensor \"\(name.escapingLineBreaks)\" is not 2-D (\(shape))") }
        return Matrix(rows: shape[0], cols: shape[1], elements: try doubles(name))
    }

    func requireMetadata(_ key: String) throws -> String {
        guard let value = metadata[key] else {
            throw StatisticsError.malformed(path: name, reason: "metadata \"\(key)\" is missing; was this file written by alphaedit?")
        }
        return value
    }
}
