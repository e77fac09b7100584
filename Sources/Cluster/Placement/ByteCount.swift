import Foundation

/// A memory size given on the command line: plain bytes (`6442450944`) or a number with a unit
/// (`6GiB`, `6G`, `512MiB`, `1.5TB`). Binary units (`KiB`, `MiB`, `GiB`, `TiB`, and the bare
/// letters `K`, `M`, `G`, `T` as Slurm's `--mem` reads them) count powers of 1024; decimal units
/// (`kB`/`KB`, `MB`, `GB`, `TB`) powers of 1000. Case does not matter; a trailing `B` is optional
/// after a bare letter.
public struct ByteCount: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var bytes: UInt64

    public init(_ bytes: UInt64) { self.bytes = bytes }

    /// Parses `text`; `flag` names the option in the error.
    public init(parsing text: String, flag: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let numberEnd = trimmed.firstIndex { !($0.isNumber || $0 == ".") } ?? trimmed.endIndex
        let number = String(trimmed[..<numberEnd])
        let unit = trimmed[numberEnd...].trimmingCharacters(in: .whitespaces).lowercased()
        guard let value = Double(number), value.isFinite, value >= 0, !number.isEmpty else {
            throw ClusterError.invalidOption(flag: flag, reason: "'\(text)' is not a size; give bytes or a number with a unit, e.g. 6GiB, 512MiB, 2TB")
        }
        let kibi = 1024.0, mebi = kibi * 1024, gibi = mebi * 1024, tebi = gibi * 1024
        let multipliers: [String: Double] = [
            "": 1, "b": 1,
            "k": kibi, "kb": 1e3, "kib": kibi,
            "m": mebi, "mb": 1e6, "mib": mebi,
            "g": gibi, "gb": 1e9, "gib": gibi,
            "t": tebi, "tb": 1e12, "tib": tebi,
        ]
        // "6G" and "6GB" differ: bare letters are binary (Slurm, Kubernetes' "Gi" aside).
        let key = unit == "gi" || unit == "mi" || unit == "ki" || unit == "ti" ? unit + "b" : unit
        guard let multiplier = multipliers[key] else {
            throw ClusterError.invalidOption(flag: flag, reason: "unknown unit '\(unit)' in '\(text)'; use B, KiB, MiB, GiB, TiB (or K, M, G, T), or kB, MB, GB, TB")
        }
        if multiplier == 1, let exact = UInt64(number), exact > 0 {
            self.bytes = exact
            return
        }
        let bytes = (value * multiplier).rounded(.down)
        guard bytes >= 1, bytes < 1.8e19 else {
            throw ClusterError.invalidOption(flag: flag, reason: "'\(text)' is \(bytes < 1 ? "zero" : "too large"); give a positive size such as 6GiB")
        }
        self.bytes = UInt64(bytes)
    }

    public static func < (a: ByteCount, b: ByteCount) -> Bool { a.bytes < b.bytes }

    /// `6.00 GiB`, `512.0 MiB`, `900 B`: three significant digits in the largest binary unit.
    public var description: String { Self.format(Double(bytes)) }

    public static func format(_ bytes: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = bytes, index = 0
        while abs(value) >= 1024, index < units.count - 1 { value /= 1024; index += 1 }
        if index == 0 { return "\(Int(value)) B" }
        let digits = abs(value) >= 100 ? 0 : abs(value) >= 10 ? 1 : 2
        return String(format: "%.\(digits)f %@", value, units[index])
    }
}
