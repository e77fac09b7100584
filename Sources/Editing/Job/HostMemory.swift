import Foundation

/// The memory this host can give a process, for `--max-memory`'s default.
public enum HostMemory {
    /// `MemAvailable` of /proc/meminfo (what the kernel can hand out without swapping), or the
    /// physical memory where that file is missing. The smaller of that and a cgroup v2 limit
    /// (`/sys/fs/cgroup/memory.max`, as set by Kubernetes and Slurm's cgroup plugin) when one is set.
    public static func available() -> UInt64 {
        var bytes = meminfoAvailable() ?? ProcessInfo.processInfo.physicalMemory
        if let limit = cgroupLimit() { bytes = min(bytes, limit) }
        return bytes
    }

    static func meminfoAvailable() -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = UInt64(fields[1]) { return kib * 1024 }
        }
        return nil
    }

    static func cgroupLimit() -> UInt64? {
        guard let text = try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8) else { return nil }
        return UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines))   // "max" → nil
    }
}
