import Foundation
import Transformer

// MARK: Safetensors load throughput
//
// Writes one F32 safetensors file of `tensorCount` equal tensors (~`bytes` in total), then times
// (1) opening it (mmap + header validation), (2) reading every tensor with `floats(_:)`, a full
// copy into a new array, (3) the same copy with `floats(_:into:)` into one reused buffer (no
// allocation, so no page faults on fresh memory), and (4) reading every tensor with
// `withFloats(_:)`, zero-copy, summing the values so that every page is touched.
//
// The file has just been written, so its pages are in the page cache, and the page cache cannot
// be dropped without root (`/proc/sys/vm/drop_caches`): the rates are WARM-CACHE rates, i.e.
// memory bandwidth and page-mapping cost, not disk throughput. One untimed pass runs first.
// Put `directory` outside the repository (e.g. /tmp); the file is removed afterwards.

/// One measurement of `runSafetensorsLoadBenchmark`. Rates are in bytes per second.
struct SafetensorsLoadResult: Sendable, CustomStringConvertible {
    /// Tensor bytes in the file (the header adds a few hundred bytes).
    var tensorBytes: Int
    var tensorCount: Int
    var writeSeconds: Double
    /// Opening: mmap plus header parse and validation.
    var openSeconds: Double
    /// Every tensor through `floats(_:)` (allocation + copy).
    var copySeconds: Double
    /// Every tensor through `floats(_:into:)` into one reused buffer (copy, no allocation).
    var copyIntoSeconds: Double
    /// Every tensor through `withFloats(_:)` (no copy), summed.
    var zeroCopySeconds: Double
    /// Sum of all values plus spot checks of the copies, so the reads cannot be optimised away.
    var checksum: Double

    var copyBytesPerSecond: Double { Double(tensorBytes) / copySeconds }
    var copyIntoBytesPerSecond: Double { Double(tensorBytes) / copyIntoSeconds }
    var zeroCopyBytesPerSecond: Double { Double(tensorBytes) / zeroCopySeconds }

    var description: String {
        func gb(_ rate: Double) -> String { String(format: "%.2f GB/s", rate / 1e9) }
        return String(format: "safetensors %.2f GB in %d F32 tensors (warm page cache): write %.2f s, open %.2f ms, ",
                      Double(tensorBytes) / 1e9, tensorCount, writeSeconds, openSeconds * 1e3)
            + "floats (new arrays) \(gb(copyBytesPerSecond)), floats(into:) (reused buffer) \(gb(copyIntoBytesPerSecond)), "
            + "withFloats (zero-copy sum) \(gb(zeroCopyBytesPerSecond))"
    }
}

/// Writes a ~`bytes` F32 safetensors file of `tensorCount` tensors into `directory`, measures
/// opening and reading it both ways, and removes the file.
func runSafetensorsLoadBenchmark(bytes: Int, directory: URL, tensorCount: Int = 16) throws -> SafetensorsLoadResult {
    precondition(bytes >= 4 * tensorCount && tensorCount > 0)
    let elementsPerTensor = bytes / 4 / tensorCount
    let url = directory.appendingPathComponent("alphaedit-bench-\(UUID().uuidString).safetensors")
    defer { try? FileManager.default.removeItem(at: url) }

    let clock = ContinuousClock()
    let writeTime = try clock.measure {
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        for t in 0 ..< tensorCount {
            let values = [Float](unsafeUninitializedCapacity: elementsPerTensor) { buffer, count in
                for i in 0 ..< elementsPerTensor { buffer[i] = Float((i &+ t) & 1023) * (1.0 / 1024) }
                count = elementsPerTensor
            }
            let shape = elementsPerTensor % 1024 == 0 ? [elementsPerTensor / 1024, 1024] : [elementsPerTensor]
            try writer.add(name: "layers.\(t).weight", floats: values, shape: shape)
        }
        try writer.write(to: url)
    }

    var file: SafetensorsFile?
    let openTime = try clock.measure { file = try SafetensorsFile(url: url) }
    let names = file!.tensorNames

    _ = try zeroCopySum(file!, names)   // untimed warm-up: fault the mapping's pages in once
    var copyChecksum = 0.0
    let copyTime = try clock.measure {
        for name in names {
            let values = try file!.floats(name)
            copyChecksum += Double(values[0]) + Double(values[values.count - 1])
        }
    }
    var buffer = [Float](repeating: 0, count: elementsPerTensor)
    let copyIntoTime = try clock.measure {
        try buffer.withUnsafeMutableBufferPointer { destination in
            for name in names {
                try file!.floats(name, into: destination)
                copyChecksum += Double(destination[0])
            }
        }
    }
    var checksum = 0.0
    let zeroCopyTime = try clock.measure { checksum = try zeroCopySum(file!, names) }

    return SafetensorsLoadResult(
        tensorBytes: elementsPerTensor * 4 * tensorCount, tensorCount: tensorCount,
        writeSeconds: writeTime.seconds, openSeconds: openTime.seconds,
        copySeconds: copyTime.seconds, copyIntoSeconds: copyIntoTime.seconds, zeroCopySeconds: zeroCopyTime.seconds,
        checksum: checksum + copyChecksum)
}

/// The requested entry point: seconds to open the file and copy every tensor out with
/// `floats(_:)`, and the resulting bytes per second (warm page cache; see the notes above).
func measureSafetensorsLoad(bytes: Int, directory: URL) throws -> (seconds: Double, bytesPerSecond: Double) {
    let result = try runSafetensorsLoadBenchmark(bytes: bytes, directory: directory)
    let seconds = result.openSeconds + result.copySeconds
    return (seconds, Double(result.tensorBytes) / seconds)
}

/// Sums every tensor through the zero-copy accessor, 8 lanes at a time.
private func zeroCopySum(_ file: SafetensorsFile, _ names: [String]) throws -> Double {
    var total = 0.0
    for name in names {
        total += try file.withFloats(name) { values -> Double in
            var lanes = SIMD8<Float>()
            let raw = UnsafeRawBufferPointer(values)
            let vectors = values.count / 8
            for v in 0 ..< vectors {
                lanes += raw.loadUnaligned(fromByteOffset: v * 32, as: SIMD8<Float>.self)
            }
            var sum = Double(lanes.sum())
            for i in vectors * 8 ..< values.count { sum += Double(values[i]) }
            return sum
        }
    }
    return total
}

private extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}
