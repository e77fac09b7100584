// Resident memory of this process, from /proc/self/status (Linux).

import Foundation

enum ProcessMemory {
    /// VmHWM: the peak resident set size in bytes since the process started or since the last
    /// `resetPeak()`; nil when /proc is unavailable.
    static var peakResidentBytes: Int? { statusField("VmHWM") }

    /// VmRSS: the current resident set size in bytes.
    static var residentBytes: Int? { statusField("VmRSS") }

    /// Resets VmHWM to the current RSS (writes 5 to /proc/self/clear_refs, Linux ≥ 4.0), so that
    /// the next reading is the peak of one phase. Returns false when the kernel refused.
    @discardableResult
    static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do {
            try handle.write(contentsOf: Data("5".utf8))
            return true
        } catch {
            return false
        }
    }

    /// A `kB` field of /proc/self/status, in bytes.
    private static func statusField(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let number = line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) }
            return number.map { $0 * 1024 }
        }
        return nil
    }
}
