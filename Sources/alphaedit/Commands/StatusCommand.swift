import ArgumentParser
import Cluster
import Foundation

/// `alphaedit status`: what a running distributed job is doing.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a running distributed job: its phase and progress, the placement, each worker's shard and throughput.",
        discussion: """
        Connects to the coordinator (the endpoint its --listen bound) and asks; the coordinator \
        answers at once, even in the middle of a long computation. With CURVE the key given here \
        must be in the coordinator's authorised keys (a worker's key, or one added for operators).

        Examples:
          alphaedit status --connect tcp://coordinator:5555 --key keys/operator.key --coordinator-key keys/coordinator.pub
          alphaedit status --connect tcp://127.0.0.1:5555 --insecure --json
        """
    )

    @Option(help: ArgumentHelp("The coordinator's endpoint: tcp://host:port or ipc://path.", valueName: "endpoint"))
    var connect: String

    @Option(help: ArgumentHelp("This client's CURVE key file (its public key must be authorised on the coordinator).", valueName: "file"))
    var key: String?

    @Option(name: .customLong("coordinator-key"), help: ArgumentHelp("The coordinator's CURVE public key or its .pub file.", valueName: "key"))
    var coordinatorKey: String?

    @Flag(help: "Plain text over tcp (a coordinator started with --insecure).")
    var insecure = false

    @Option(help: ArgumentHelp("Seconds to wait for the answer.", valueName: "s"))
    var timeout: Double = 5

    @Flag(help: "Print the report as one JSON object.")
    var json = false

    func validate() throws {
        do { try Endpoint.validate(connect) } catch { throw ValidationError("--connect \(connect): \(error)") }
        if (key == nil) != (coordinatorKey == nil) { throw ValidationError("--key and --coordinator-key go together") }
        if key != nil && insecure { throw ValidationError("--insecure and --key exclude each other") }
        if !(timeout > 0) { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        var security: ClusterSecurity?
        if let key, let coordinatorKey {
            security = ClusterSecurity(keys: try CurveKeyPair.load(file: key), authorized: AuthorizedKeys(keys: [:], source: "(none)"),
                                       coordinatorKey: try CurveKey.load(coordinatorKey, flag: "--coordinator-key"))
        }
        let report = try StatusClient.query(endpoint: connect, security: security, insecure: insecure,
                                            timeout: .milliseconds(Int(timeout * 1000)))
        if json {
            try JSONOutput.print(report)
            return
        }
        print(Self.describe(report))
    }

    static func describe(_ r: StatusReport) -> String {
        var lines = ["job \(r.jobID): \(r.state), \(Self.duration(r.jobSeconds)) so far"]
        if !r.placement.isEmpty { lines.append("placement: \(r.placement)") }
        if !r.phase.isEmpty {
            let progress = r.phaseTotal > 0
                ? String(format: "%llu/%llu (%.0f%%)", r.phaseDone, r.phaseTotal, 100 * Double(r.phaseDone) / Double(r.phaseTotal))
                : "\(r.phaseDone) done"
            let rate = r.phaseSeconds > 0 && r.phaseDone > 0 ? String(format: ", %.2f/s", Double(r.phaseDone) / r.phaseSeconds) : ""
            lines.append("phase: \(r.phase): \(progress) in \(Self.duration(r.phaseSeconds))\(rate)")
        }
        let header = ["worker", "host", "pid", "shard", "results", "compute", "last result"]
        var rows = [header]
        for w in r.workers {
            rows.append(["\(w.index)", w.host, "\(w.pid)", w.shard.isEmpty ? "-" : w.shard, "\(w.piecesDone)",
                         Self.duration(w.computeSeconds), String(format: "%.1f s ago", w.secondsSinceSeen)])
        }
        let widths = header.indices.map { c in rows.map { $0[c].count }.max()! }
        for row in rows {
            lines.append("  " + row.enumerated().map { c, cell in cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
        return lines.joined(separator: "\n")
    }

    static func duration(_ seconds: Double) -> String {
        seconds < 60 ? String(format: "%.1f s", seconds) : String(format: "%d min %02d s", Int(seconds) / 60, Int(seconds) % 60)
    }
}
