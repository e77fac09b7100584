import Linalg
import Testing

@Suite("OpenBLAS threads", .serialized)
struct ThreadsTests {
    @Test func setAndRestoreThreadCount() {
        let original = Linalg.threadCount
        #expect(original >= 1)
        Linalg.setThreadCount(1)
        #expect(Linalg.threadCount == 1)
        // Still computes correctly single-threaded.
        let a: Matrix<Float> = randomMatrix(50, 50, seed: 800)
        #expect(matmul(a, a).relativeError(to: naiveMatmul(a, a)) < 1e-5)
        Linalg.setThreadCount(original)
        #expect(Linalg.threadCount == original)
    }

    @Test func backendDescriptionNamesOpenBLAS() {
        #expect(Linalg.backendDescription.contains("OpenBLAS"))
    }
}
