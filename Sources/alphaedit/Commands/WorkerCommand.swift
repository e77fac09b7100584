import ArgumentParser
import Cluster
import Foundation

/// `alphaedit worker`: serve a coordinator's jobs.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Serve the stages of a distributed job (statistics chunks, projectors, targets, layer solves).",
        discussion: """
        A job command (stats, project, edit, experiment) is its own coordinator. Two ways to run it \
        distributed:

          Local: `alphaedit edit … --workers 2` spawns two `alphaedit worker` processes itself \
        (over ipc in a private temporary directory) and ends them when the job is over. You never \
        start this command yourself in that mode.

          Anywhere: start the job with `--listen tcp://0.0.0.0:5555 --min-workers 2`, then on each \
        host `alphaedit worker --connect tcp://COORDINATOR-HOST:5555`. Every worker must see the \
        model, hparams and corpus files at the same paths as the coordinator (a shared file system).

        Every worker holds the whole model (replicated placement). The worker registers, loads what \
        the coordinator's plan names, serves work until the coordinator says SHUTDOWN, and exits. \
        Workers also talk to each other: each binds a peer socket (see --peer-endpoint) where the \
        others send it the statistics of the edit layers it owns; it adds them in chunk order, \
        computes those layers' projectors and solves their updates. \
        Over tcp, connections use ZeroMQ CURVE: make a key pair per process with `alphaedit keys \
        generate`, list the workers' public keys in an authorised-keys file, and give the \
        coordinator `--key coordinator.key --authorized-keys workers.txt` and each worker `--key \
        worker-N.key --coordinator-key coordinator.pub --authorized-keys workers.txt` (the file \
        also guards the workers' peer sockets). Plain text over tcp needs --insecure on both sides. \
        Heartbeats go both ways every second; a worker whose coordinator is silent for 3 of them \
        exits (or reconnects, with --reconnects). The job's result does not depend on the number \
        of workers: same bytes as one process.
        """
    )

    @Option(help: ArgumentHelp("The coordinator's endpoint: tcp://host:port or ipc://path.", valueName: "endpoint"))
    var connect: String

    @Option(help: ArgumentHelp("A name for this worker in the coordinator's log (default: the host name).", valueName: "name"))
    var name: String?

    @Option(help: ArgumentHelp("BLAS and runtime threads of this worker (default: all cores).", valueName: "t"))
    var threads: Int?

    @Option(name: .customLong("peer-endpoint"), help: ArgumentHelp("Where fellow workers reach this one (they send it the statistics of the layers it owns): tcp://ADDRESS:PORT or ipc://path. Default: the address of the interface that reaches the coordinator, any free port (tcp), or a socket next to the coordinator's (ipc).", valueName: "endpoint"))
    var peerEndpoint: String?

    @Option(name: .customLong("max-memory"), help: ArgumentHelp("Memory this worker may use, in bytes or with a unit (6GiB, 512MiB, 2TB); the coordinator plans the placement with it. Default: the host's available memory (MemAvailable, or a cgroup limit).", valueName: "size"))
    var maxMemory: String?

    @Option(help: ArgumentHelp("Seconds between heartbeats to the coordinator (and fellow workers), sent from the links' own threads.", valueName: "s"))
    var heartbeat: Double = 1

    @Option(help: ArgumentHelp("Heartbeats the coordinator may miss before this worker gives up on it (or reconnects).", valueName: "n"))
    var liveness: Int = 3

    @OptionGroup var curve: CurveOptions

    @Option(name: .customLong("coordinator-key"), help: ArgumentHelp("The coordinator's CURVE public key: the 40-character Z85 key or its .pub file. Needed with --key.", valueName: "key"))
    var coordinatorKey: String?

    @Option(help: ArgumentHelp("Times to reconnect (with exponential backoff) after the coordinator fell silent.", valueName: "n"))
    var reconnects: Int = 0

    @Option(name: .customLong("registration-wait"), help: ArgumentHelp("Seconds to wait for the coordinator's answer to the registration.", valueName: "s"))
    var registrationWait: Int = 60

    @Flag(name: .shortAndLong, help: "No log lines on standard error.")
    var quiet = false

    func validate() throws {
        do { try Endpoint.validate(connect) } catch { throw ValidationError("--connect \(connect): \(error)") }
        if let peerEndpoint {
            do { try Endpoint.validate(peerEndpoint) } catch { throw ValidationError("--peer-endpoint \(peerEndpoint): \(error)") }
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if reconnects < 0 { throw ValidationError("--reconnects must be 0 or more") }
        if registrationWait < 1 { throw ValidationError("--registration-wait must be at least 1") }
        if (curve.key == nil) != (coordinatorKey == nil) { throw ValidationError("--key and --coordinator-key go together") }
        if let maxMemory { _ = try ByteCount(parsing: maxMemory, flag: "--max-memory") }
        if !(heartbeat >= 0.01 && heartbeat <= 3600) { throw ValidationError("--heartbeat must be between 0.01 and 3600 seconds") }
        if liveness < 1 { throw ValidationError("--liveness must be at least 1") }
    }

    func run() throws {
        let label = name ?? ProcessInfo.processInfo.hostName
        let quiet = self.quiet
        var options = Worker.Options(endpoint: connect, name: label, threads: threads)
        options.reconnects = reconnects
        options.peerEndpoint = peerEndpoint
        options.registrationTimeout = .seconds(registrationWait)
        options.heartbeat = .milliseconds(Int((heartbeat * 1000).rounded()))
        options.liveness = liveness
        options.security = try curve.security(coordinatorKey: coordinatorKey)
        options.insecure = curve.insecure
        options.maxMemory = try maxMemory.map { try ByteCount(parsing: $0, flag: "--max-memory").bytes }
        let clusterLog = ClusterLog(role: "worker", name: label, quiet: quiet)
        options.joined = { job, index in
            clusterLog.set("job", String(job.prefix(8)))
            clusterLog.set("index", String(index))
        }
        let worker = try Worker(options: options, log: clusterLog.line)
        try worker.run()
    }
}
