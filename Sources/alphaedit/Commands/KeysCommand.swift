import ArgumentParser
import Cluster
import Foundation
import Transformer

/// `alphaedit keys`: CURVE key pairs for distributed jobs over tcp.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make and show the CURVE keys that authenticate and encrypt a distributed job.",
        discussion: """
        One key pair per process: the coordinator's, and one per worker. The coordinator and every \
        worker admit only the public keys listed in an authorised-keys file (the workers' keys).

        Example (three workers):
          alphaedit keys generate coordinator --directory keys
          alphaedit keys generate worker-0 worker-1 worker-2 --directory keys --authorize keys/authorized_keys
          alphaedit edit … --listen tcp://0.0.0.0:5555 --min-workers 3 \\
            --key keys/coordinator.key --authorized-keys keys/authorized_keys
          alphaedit worker --connect tcp://COORDINATOR:5555 --key keys/worker-0.key \\
            --coordinator-key keys/coordinator.pub --authorized-keys keys/authorized_keys
        """,
        subcommands: [Generate.self, Public.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write NAME.key (secret, mode 0600) and NAME.pub for each name.")

        @Argument(help: ArgumentHelp("Names of the key pairs, e.g. coordinator worker-0 worker-1.", valueName: "name"))
        var names: [String]

        @Option(help: ArgumentHelp("Where to write them (created if missing).", valueName: "dir"))
        var directory: String = "."

        @Option(help: ArgumentHelp("Also append the new public keys, with their names, to this authorised-keys file (created if missing).", valueName: "file"))
        var authorize: String?

        @Flag(help: "Replace key files that exist (default: refuse).")
        var force = false

        func validate() throws {
            for name in names where name.isEmpty || name.contains("/") || name.hasPrefix(".") {
                throw ValidationError("'\(name)' is not a key name: use letters, digits, - and _ (no /)")
            }
            if Set(names).count != names.count { throw ValidationError("a name is given twice") }
        }

        func run() throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let base = URL(fileURLWithPath: directory)
            if !force {
                for name in names {
                    for suffix in [".key", ".pub"] where FileManager.default.fileExists(atPath: base.appendingPathComponent(name + suffix).path) {
                        throw ValidationError("\(base.appendingPathComponent(name + suffix).path) exists; pass --force to replace it")
                    }
                }
            }
            var lines: [String] = []
            for name in names {
                let pair = try CurveKeyPair.generate()
                try pair.write(to: base.appendingPathComponent(name).path)
                print("\(base.appendingPathComponent(name).path).key  \(pair.publicKey)")
                lines.append("\(pair.publicKey) \(name)")
            }
            if let authorize {
                let existing = (try? String(contentsOfFile: authorize, encoding: .utf8)) ?? "# alphaedit authorised keys: one Z85 public key per line, then a name\n"
                let text = existing + (existing.hasSuffix("\n") || existing.isEmpty ? "" : "\n") + lines.joined(separator: "\n") + "\n"
                do { try writeDurably(Array(text.utf8), to: URL(fileURLWithPath: authorize)) } catch {
                    throw ValidationError("\(authorize): \(error)")
                }
                print("\(authorize): \(lines.count) key\(lines.count == 1 ? "" : "s") added")
            }
        }
    }

    struct Public: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the public key of a key file.")

        @Argument(help: ArgumentHelp("A key file (NAME.key) or public key file (NAME.pub).", valueName: "file"))
        var file: String

        func run() throws {
            print(try CurveKey.load(file, flag: "keys public"))
        }
    }
}
