import Foundation
import Testing

/// An edit killed (SIGKILL) at seeded random instants while it writes its output over a previous
/// one: the output's name always holds one whole output, the previous or the new, never a mix or
/// a part, and a later run removes the staging directories the killed ones left.
@Suite(.serialized) struct CrashSafeOutputTests {
    let distributed = DistributedCommandTests()
    static let runs = 20
    static let seed: UInt64 = 20_261_204

    /// Every file under `directory`, by relative path.
    static func snapshot(_ directory: URL) -> [String: Data] {
        var files: [String: Data] = [:]
        let names = (FileManager.default.subpaths(atPath: directory.path) ?? []).sorted()
        for name in names {
            let url = directory.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[name] = try? Data(contentsOf: url)
            }
        }
        return files
    }

    /// The process's state letter from /proc (T: stopped).
    static func state(of pid: pid_t) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(close, offsetBy: 2)...].first
    }

    /// Runs `alphaedit arguments…` stopped (SIGSTOP) where it starts writing its output, then
    /// continues it and kills it `delay` seconds later (nil: lets it finish). Returns the seconds
    /// from the continue to the exit, and whether a signal ended it.
    static func runStoppedAtWriting(_ arguments: [String], killAfter delay: Double?) throws -> (seconds: Double, killed: Bool) {
        let process = Process()
        process.executableURL = CLIRunner.executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["ALPHAEDIT_FAULT": "output.writing:stop"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        defer { if process.isRunning { kill(pid, SIGKILL); process.waitUntilExit() } }
        let deadline = Date().addingTimeInterval(120)
        while state(of: pid) != "T" {
            guard process.isRunning, Date() < deadline else {
                Issue.record("the edit did not reach its output writing (status \(process.isRunning ? -1 : process.terminationStatus))")
                return (0, false)
            }
            usleep(2_000)
        }
        let start = Date()
        kill(pid, SIGCONT)
        if let delay {
            usleep(UInt32(delay * 1_000_000))
            kill(pid, SIGKILL)
        }
        process.waitUntilExit()
        return (Date().timeIntervalSince(start), process.terminationReason == .uncaughtSignal)
    }

    @Test func killsWhileWritingLeaveOneWholeOutput() throws {
        let work = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        // Two request lists whose outputs differ; one statistics directory for every run.
        let requestFiles = try ["Sony", "drums"].enumerated().map { i, target -> URL in
            let url = work.appendingPathComponent("requests-\(i).json")
            try Data(#"[{"case_id": 0, "prompt": "{} works for", "subject": "Talia Fairbanks", "target_new": {"str": "\#(target)"}}]"#.utf8)
                .write(to: url)
            return url
        }
        let out = work.appendingPathComponent("out")
        func arguments(_ requests: Int, into directory: URL) throws -> [String] {
            var arguments = try distributed.editArguments(work, "shared")
            arguments[arguments.firstIndex(of: "--requests")! + 1] = requestFiles[requests].path
            arguments[arguments.firstIndex(of: "--output-dir")! + 1] = directory.path
            return arguments + ["--overwrite"]
        }
        // The two outputs, whole, written without faults.
        var expected: [[String: Data]] = []
        for i in 0..<2 {
            let directory = work.appendingPathComponent("whole-\(i)")
            let run = try CLIRunner.run(try arguments(i, into: directory))
            #expect(run.status == 0, "\(run.stderr)")
            expected.append(Self.snapshot(directory))
        }
        #expect(expected[0] != expected[1] && !expected[0].isEmpty)
        // How long writing takes here: the kills are spread over it.
        let timed = try Self.runStoppedAtWriting(try arguments(0, into: out), killAfter: nil)
        #expect(Self.snapshot(out) == expected[0])
        let span = max(timed.seconds, 0.005) * 1.1

        var current = 0, killedMidWrite = 0
        var rng = Self.seed
        for run in 0..<Self.runs {
            let next = 1 - current
            rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let delay = Double(rng >> 11) / Double(1 << 53) * span
            let result = try Self.runStoppedAtWriting(try arguments(next, into: out), killAfter: delay)
            let now = Self.snapshot(out)
            let whole = now == expected[current] ? current : now == expected[next] ? next : nil
            #expect(whole != nil, "run \(run) (killed \(String(format: "%.1f", delay * 1000)) ms into writing): the output is neither whole output")
            if let whole {
                if result.killed && whole == current { killedMidWrite += 1 }
                current = whole
            }
        }
        // Most kills landed before the new output was in place.
        #expect(killedMidWrite >= Self.runs / 4, "only \(killedMidWrite) of \(Self.runs) kills came before the output was replaced")
        // A run that finishes removes what the killed ones left beside the output.
        let final = try CLIRunner.run(try arguments(1 - current, into: out))
        #expect(final.status == 0, "\(final.stderr)")
        #expect(Self.snapshot(out) == expected[1 - current])
        let left = try FileManager.default.contentsOfDirectory(atPath: work.path).filter { $0.hasPrefix(".out.") }
        #expect(left.isEmpty, "left beside the output: \(left)")
    }
}
