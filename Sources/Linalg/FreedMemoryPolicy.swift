import Foundation
#if canImport(Glibc)
internal import Glibc
#endif

// What the C allocator does with large freed blocks.
//
// glibc serves every block above its mmap threshold (at most 32 MB) with a fresh mmap and
// returns it to the kernel on free. A forward pass, a statistics pass or a training step
// allocates its activations, tape and logits anew (hundreds of MB to GB), so each pass takes
// page faults and has the kernel zero those pages again: 5–9 % of the statistics pass in
// profiles, and more of the forward and backward passes in this VM (Benchmarks/README.md).
// Keeping freed memory in the heap lets the next pass reuse it. The peak resident size is the
// same (the memory held is what the largest pass needed); what changes is that the process does
// not shrink between passes.

/// Whether the process keeps freed memory for reuse or hands it back to the kernel.
public enum FreedMemoryPolicy: String, Sendable, CaseIterable {
    /// No mmap for large blocks, no trimming of the heap (glibc `M_MMAP_MAX` 0, `M_TRIM_THRESHOLD` −1).
    case retain
    /// The C library's default.
    case release

    /// The environment variable that chooses the policy of the `alphaedit` processes.
    public static let environmentVariable = "ALPHAEDIT_FREED_MEMORY"

    /// The policy the environment asks for: `ALPHAEDIT_FREED_MEMORY=retain|release`, else `retain`,
    /// unless `GLIBC_TUNABLES` sets malloc options (the user's own tuning wins).
    /// - Throws: `FreedMemoryPolicyError` naming the variable for any other value.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> FreedMemoryPolicy {
        if let text = environment[environmentVariable] {
            guard let policy = FreedMemoryPolicy(rawValue: text.lowercased()) else {
                throw FreedMemoryPolicyError(variable: environmentVariable, value: text)
            }
            return policy
        }
        if let tunables = environment["GLIBC_TUNABLES"], tunables.contains("glibc.malloc.") { return .release }
        return .retain
    }

    /// Applies the policy to this process; returns what is in effect, for reports.
    /// Call it before the large allocations (at start-up).
    @discardableResult
    public func apply() -> String {
        guard self == .retain else { return "C library default" }
        #if canImport(Glibc)
        // Glibc's module map leaves out <malloc.h>, so `mallopt` is looked up by name; the option
        // numbers are malloc.h's.
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        let (trimThreshold, mmapMax): (Int32, Int32) = (-1, -4)
        guard let symbol = dlsym(nil, "mallopt") else { return "C library default (mallopt not found)" }
        let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
        let ok = mallopt(mmapMax, 0) == 1 && mallopt(trimThreshold, -1) == 1
        return ok ? "glibc, freed memory retained (M_MMAP_MAX=0, M_TRIM_THRESHOLD=-1)" : "C library default (mallopt refused)"
        #else
        return "C library default (retaining freed memory needs glibc)"
        #endif
    }
}

/// An `ALPHAEDIT_FREED_MEMORY` value that is neither `retain` nor `release`.
public struct FreedMemoryPolicyError: Error, CustomStringConvertible, Equatable {
    public let variable: String
    public let value: String

    public var description: String {
        "\(variable)=\(value): expected \"retain\" (keep freed memory for the next pass, the default) or \"release\" (return it to the system)"
    }
}
