import Dispatch
import Linalg

/// Splits the element-wise layers (activations, norms, the loss, zero-filling fresh buffers)
/// over as many threads as BLAS uses, so that the work between two GEMMs does not leave all but
/// one core idle.
///
/// The split depends only on the sizes (fixed chunks), never on the thread count, and every
/// reduction adds its chunks' partial results in chunk order: results are the same with one
/// thread or many. With `Linalg.threadCount == 1` (a process that parallelises elsewhere)
/// everything runs on the calling thread.
enum Parallel {
    /// Runs `body` on consecutive chunks of `0..<count`, each `chunk` long (the last shorter),
    /// concurrently when there are at least two chunks and more than one BLAS thread.
    /// - Complexity: one `body` call per chunk; no allocation.
    static func forEachChunk(_ count: Int, chunk: Int, _ body: (_ index: Int, _ range: Range<Int>) -> Void) {
        Linalg.forEachBlock(count, block: chunk, body)
    }

    /// Chunk length, in elements, of the element-wise loops: large enough to amortise a
    /// dispatch (~64 KB of floats), a multiple of the vector width.
    static let elementChunk = 1 << 14

    /// A `rows × cols` matrix of zeros whose pages are first touched by several threads (the
    /// kernel's page clearing of fresh memory is the expensive part of a large allocation).
    static func zeros(rows: Int, cols: Int) -> Matrix<Float> {
        Matrix(rows: rows, cols: cols, elements: zeroArray(rows * cols))
    }

    /// `count` zeros, filled by several threads.
    static func zeroArray(_ count: Int) -> [Float] {
        guard count >= 4 * elementChunk, Linalg.threadCount > 1 else { return [Float](repeating: 0, count: count) }
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            let base = buffer.baseAddress!
            forEachChunk(count, chunk: 1 << 18) { _, range in
                (base + range.lowerBound).initialize(repeating: 0, count: range.count)
            }
            initialized = count
        }
    }
}
