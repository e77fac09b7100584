import Foundation

/// `--workers N`: N `alphaedit worker` processes on this host, connected to the coordinator over
/// ipc in a private temporary directory. They are ended by process id when the job is over
/// (after the coordinator's SHUTDOWN, or at once if the job failed), so none outlives the job.
public final class LocalWorkers {
    public let endpoint: String
    public let directory: URL
    private var processes: [Process] = []

    /// A private directory for the ipc socket (mode 0700), removed by ``stop()``. The directories
    /// of coordinators that were killed before they could remove theirs are removed first.
    public static func makeDirectory() throws -> URL {
        let base = socketBase()
        removeStaleDirectories(in: base)
        let url = base.appendingPathComponent("alphaedit-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return url
    }

    /// The temporary folder, or /tmp when the folder's path is too long for the sockets inside
    /// (a long TMPDIR would refuse every job).
    static func socketBase(_ temporary: URL = FileManager.default.temporaryDirectory) -> URL {
        // The longest socket path inside: a worker's peer socket, pid of 7 digits.
        Endpoint.ipcBase(longestName: "alphaedit-4194304-XXXXXXXX/peer-4194304-XXXXXXXX", temporary: temporary)
    }

    /// Removes `alphaedit-<pid>-<suffix>` directories of `temporary` whose process is gone
    /// and which hold nothing but sockets (what ``makeDirectory()`` made for a killed coordinator).
    static func removeStaleDirectories(in temporary: URL) {
        let fileManager = FileManager.default
        for name in (try? fileManager.contentsOfDirectory(atPath: temporary.path)) ?? [] {
            let parts = name.split(separator: "-")
            guard parts.count == 3, parts[0] == "alphaedit", parts[2].count == 8, let pid = Int32(parts[1]), pid > 0,
                  kill(pid, 0) == -1, errno == ESRCH else { continue }
            let directory = temporary.appendingPathComponent(name)
            guard let entries = try? fileManager.contentsOfDirectory(atPath: directory.path),
                  entries.allSatisfy({ $0.hasSuffix(".sock") }) else { continue }
            try? fileManager.removeItem(at: directory)
        }
    }

    /// Starts `count` workers running `executable worker --connect endpoint --threads threads
    /// --max-memory memory`.
    public init(count: Int, executable: URL, endpoint: String, directory: URL, threads: Int?, memory: UInt64? = nil,
                heartbeat: Double? = nil, liveness: Int? = nil, log: URL? = nil) throws {
        self.endpoint = endpoint
        self.directory = directory
        for i in 0..<count {
            let process = Process()
            process.executableURL = executable
            var arguments = ["worker", "--connect", endpoint, "--name", "local-\(i)", "--quiet"]
            if let threads { arguments += ["--threads", String(threads)] }
            if let memory { arguments += ["--max-memory", String(memory)] }
            if let heartbeat { arguments += ["--heartbeat", String(heartbeat)] }
            if let liveness { arguments += ["--liveness", String(liveness)] }
            process.arguments = arguments
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            if let log {
                FileManager.default.createFile(atPath: log.path + ".\(i)", contents: nil)
                process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log.path + ".\(i)"))
            } else {
                process.standardError = FileHandle.standardError
            }
            do { try process.run() } catch {
                stop()
                throw ClusterError.launchFailed("\(executable.path) worker: \(error.localizedDescription)")
            }
            processes.append(process)
        }
    }

    /// Process ids of the workers.
    public var pids: [Int32] { processes.map(\.processIdentifier) }

    /// Waits up to `grace` for the workers to exit by themselves, then ends the rest by pid
    /// (SIGTERM, then SIGKILL), and removes the directory.
    public func stop(grace: Duration = .seconds(5)) {
        let deadline = ContinuousClock.now + grace
        while processes.contains(where: \.isRunning), ContinuousClock.now < deadline { usleep(20_000) }
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let hard = ContinuousClock.now + .seconds(2)
        while processes.contains(where: \.isRunning), ContinuousClock.now < hard { usleep(20_000) }
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for process in processes { process.waitUntilExit() }
        processes = []
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop(grace: .zero) }

    /// This program's executable (for spawning `alphaedit worker`).
    public static var currentExecutable: URL {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: CommandLine.arguments[0])
    }
}
