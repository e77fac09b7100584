import ArgumentParser
import Cluster

/// `--key FILE --authorized-keys FILE [--coordinator-key KEY] | --insecure`: ZeroMQ CURVE for
/// the coordinator and the workers.
struct CurveOptions: ParsableArguments {
    @Option(help: ArgumentHelp("This process's CURVE key file (from `alphaedit keys generate`). With it every connection is encrypted and authenticated.", valueName: "file"))
    var key: String?

    @Option(name: .customLong("authorized-keys"), help: ArgumentHelp("Public keys allowed to connect to this process's sockets, one Z85 key per line (an optional name after it, # comments). Needed with --key.", valueName: "file"))
    var authorizedKeys: String?

    @Flag(help: "Allow plain text over tcp without keys (a network you trust). ipc never needs keys.")
    var insecure = false

    func validate() throws {
        if (key == nil) != (authorizedKeys == nil) { throw ValidationError("--key and --authorized-keys go together") }
        if key != nil && insecure { throw ValidationError("--insecure and --key exclude each other") }
    }

    /// The security settings, or nil without --key.
    func security(coordinatorKey: String? = nil) throws -> ClusterSecurity? {
        guard let key, let authorizedKeys else { return nil }
        return ClusterSecurity(keys: try CurveKeyPair.load(file: key), authorized: try AuthorizedKeys.load(file: authorizedKeys),
                               coordinatorKey: try coordinatorKey.map { try CurveKey.load($0, flag: "--coordinator-key") })
    }
}
