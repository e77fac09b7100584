// Linalg benchmarks: the machine's SGEMM rate (the yardstick of the statistics pass), dsyevd
// (the projector's eigendecomposition), and Gram accumulation of float keys into a double
// second moment. Each function warms up, takes the best of `repetitions` timed runs with
// `ContinuousClock`, and checks its result so a fast wrong answer cannot pass as a number.

import Linalg

/// One benchmark result: the best wall time and the rate it implies.
struct LinalgTiming: Sendable, CustomStringConvertible {
    /// What ran, e.g. `"sgemm n=2048"`.
    var name: String
    /// Best wall-clock time of one run, in seconds.
    var seconds: Double
    /// Every timed run, in seconds, in the order they ran (the warm-up excluded).
    var allSeconds: [Double] = []
    /// Nominal floating-point operations of one run (see each function for the count used).
    var flops: Double

    /// GFLOP/s of the best run.
    var gflops: Double { flops / seconds / 1e9 }

    var description: String {
        "\(name): \(linalgFormatted(seconds, digits: 4)) s, \(linalgFormatted(gflops, digits: 1)) GFLOP/s"
    }
}

// MARK: - SGEMM

/// GFLOP/s of C = A·B with n×n `Float` matrices (2n³ flops), best of `repetitions` after one
/// warm-up run.
func measureSGEMM(n: Int, repetitions: Int) -> Double {
    timeSGEMM(n: n, repetitions: repetitions).gflops
}

/// Best time and GFLOP/s of an n×n·n×n SGEMM (2n³ flops) after one warm-up run.
func timeSGEMM(n: Int, repetitions: Int) -> LinalgTiming {
    precondition(n >= 1 && repetitions >= 1, "timeSGEMM: need n >= 1 and repetitions >= 1")
    var rng = LinalgBenchRandom(seed: 1)
    let a = Matrix<Float>(rows: n, cols: n) { _, _ in Float(rng.nextSigned()) }
    let b = Matrix<Float>(rows: n, cols: n) { _, _ in Float(rng.nextSigned()) }
    var c = Matrix<Float>(rows: n, cols: n)
    gemm(a: a, b: b, into: &c)                                   // warm-up: threads, pages
    let (best, all) = linalgTimedRuns(repetitions) { gemm(a: a, b: b, into: &c) }

    // Spot check one element against a Double dot product.
    let (i, j) = (n / 2, n / 3)
    var reference = 0.0
    for p in 0..<n { reference += Double(a[i, p]) * Double(b[p, j]) }
    precondition(abs(Double(c[i, j]) - reference) <= 1e-4 * Double(n).squareRoot() + 1e-3,
                 "timeSGEMM: wrong product (c[\(i), \(j)] = \(c[i, j]), expected \(reference))")
    return LinalgTiming(name: "sgemm n=\(n)", seconds: best, allSeconds: all, flops: 2 * linalgCube(n))
}

// MARK: - DSYEVD

/// GFLOP/s of `symmetricEigen` (LAPACK dsyevd with eigenvectors) on a random symmetric n×n
/// `Double` matrix, best of `repetitions` after a small warm-up.
///
/// Flop count: the conventional 9n³ for the symmetric eigenproblem with eigenvectors (Golub &
/// Van Loan's count for tridiagonal reduction plus symmetric QR with accumulated Q, the figure
/// LAPACK timing reports use). Divide and conquer usually does less work (about (4/3)n³ for the
/// reduction, 2n³ for the back-transformation, plus the merge products), so this is a nominal
/// rate, comparable across machines and libraries, not a count of the flops actually done.
func measureDSYEVD(n: Int, repetitions: Int) -> Double {
    timeDSYEVD(n: n, repetitions: repetitions).gflops
}

/// Best time and GFLOP/s (9n³ flops, see ``measureDSYEVD(n:repetitions:)``) of
/// `symmetricEigen` on a random symmetric n×n matrix. The warm-up runs at min(n, 256), so a
/// 4096 run costs `repetitions` full decompositions, not one more. Each result is checked:
/// ascending eigenvalues and ‖A·v − λ·v‖ small for a few eigenpairs.
func timeDSYEVD(n: Int, repetitions: Int) -> LinalgTiming {
    precondition(n >= 1 && repetitions >= 1, "timeDSYEVD: need n >= 1 and repetitions >= 1")
    let a = linalgRandomSymmetric(n, seed: 2)
    _ = try! symmetricEigen(linalgRandomSymmetric(min(n, 256), seed: 3))   // warm-up

    var result: (values: [Double], vectors: Matrix<Double>)?
    let (best, all) = linalgTimedRuns(repetitions) {
        do {
            result = try symmetricEigen(a)
        } catch {
            fatalError("timeDSYEVD: symmetricEigen failed at n = \(n): \(error)")
        }
    }
    let (values, vectors) = result!
    precondition(zip(values, values.dropFirst()).allSatisfy { $0 <= $1 }, "timeDSYEVD: eigenvalues not ascending")
    let scale = a.frobeniusNorm
    for j in Set([0, n / 2, n - 1]) {
        let v = vectors.column(j)
        let av = matvec(a, v)
        var residual = 0.0
        for i in 0..<n { residual += (av[i] - values[j] * v[i]) * (av[i] - values[j] * v[i]) }
        precondition(residual.squareRoot() <= 1e-10 * scale,
                     "timeDSYEVD: eigenpair \(j) residual \(residual.squareRoot()) too large at n = \(n)")
    }
    return LinalgTiming(name: "dsyevd n=\(n)", seconds: best, allSeconds: all, flops: 9 * linalgCube(n))
}

// MARK: - Gram accumulation (statistics pass)

/// Best time and GFLOP/s of `accumulateGram` of a `tokens × d` `Float` batch into a `d × d`
/// `Double` accumulator, counting tokens·d² flops (the upper triangle of XᵀX is
/// tokens·d(d+1)/2 multiply-adds, i.e. tokens·d(d+1) flops, rounded to tokens·d²). Compare its GFLOP/s with ``measureSGEMM(n:repetitions:)``:
/// the design asks the statistics pass for 75% of the SGEMM rate.
func timeGramAccumulation(tokens: Int, d: Int, repetitions: Int) -> LinalgTiming {
    precondition(tokens >= 1 && d >= 1 && repetitions >= 1, "timeGramAccumulation: need positive sizes")
    var rng = LinalgBenchRandom(seed: 4)
    let x = Matrix<Float>(rows: tokens, cols: d) { _, _ in Float(rng.nextSigned()) }
    var c = Matrix<Double>(rows: d, cols: d)
    accumulateGram(of: x, into: &c)                              // warm-up
    let (best, all) = linalgTimedRuns(repetitions) { accumulateGram(of: x, into: &c) }
    var reference = 0.0
    for t in 0..<tokens { reference += Double(x[t, 0]) * Double(x[t, d - 1]) }
    let runs = Double(repetitions + 1)
    precondition(abs(c[0, d - 1] - runs * reference) <= 1e-4 * runs * Double(tokens),
                 "timeGramAccumulation: wrong accumulation")
    return LinalgTiming(name: "gram f32→f64 tokens=\(tokens) d=\(d)", seconds: best, allSeconds: all,
                        flops: Double(tokens) * Double(d) * Double(d))
}

// MARK: - Helpers

/// The shortest of `repetitions` timed runs of `body` and every run's time, in seconds.
private func linalgTimedRuns(_ repetitions: Int, _ body: () -> Void) -> (best: Double, all: [Double]) {
    let clock = ContinuousClock()
    var all: [Double] = []
    for _ in 0..<repetitions {
        let elapsed = clock.measure(body)
        all.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
    }
    return (all.min() ?? .infinity, all)
}

private func linalgCube(_ n: Int) -> Double {
    Double(n) * Double(n) * Double(n)
}

private func linalgRandomSymmetric(_ n: Int, seed: UInt64) -> Matrix<Double> {
    var rng = LinalgBenchRandom(seed: seed)
    var a = Matrix<Double>(rows: n, cols: n) { _, _ in rng.nextSigned() }
    a.elements.withUnsafeMutableBufferPointer { e in
        for i in 0..<n {
            for j in (i + 1)..<n {
                let mean = (e[i * n + j] + e[j * n + i]) / 2
                e[i * n + j] = mean
                e[j * n + i] = mean
            }
        }
    }
    return a
}

/// `value` with at most `digits` decimals (no Foundation, no libm).
private func linalgFormatted(_ value: Double, digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    guard value.isFinite, abs(value * scale) < 9e15 else { return "\(value)" }
    let scaled = value * scale
    return "\(Double(Int(scaled + (scaled < 0 ? -0.5 : 0.5))) / scale)"
}

/// SplitMix64: a small, seeded, platform-independent generator for benchmark inputs.
private struct LinalgBenchRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    mutating func nextSigned() -> Double {
        Double(next() >> 11) * 0x1.0p-52 - 1
    }
}
