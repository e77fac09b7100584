internal import CZeroMQ
import Foundation
import Transformer

/// A ZeroMQ CURVE key pair, both keys in Z85 (40 characters each).
///
/// Key files (written by `alphaedit keys generate`) are text:
///
///     # alphaedit CURVE key pair (ZeroMQ Z85). Keep this file secret.
///     public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
///     secret-key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
///
/// and the matching `.pub` file holds only the `public-key` line.
public struct CurveKeyPair: Sendable, Equatable {
    public let publicKey: String
    let secretKey: String

    /// A fresh key pair from libzmq (libsodium's randomness).
    public static func generate() throws -> CurveKeyPair {
        try CurveSupport.require()
        var publicKey = [CChar](repeating: 0, count: 41), secretKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else {
            throw SecurityError.unavailable(reason: "zmq_curve_keypair failed: \(String(cString: zmq_strerror(zmq_errno())))")
        }
        return CurveKeyPair(publicKey: CurveKey.string(publicKey), secretKey: CurveKey.string(secretKey))
    }

    /// The pair of a secret key (the public key is derived from it).
    public init(secretKey: String, file: String) throws {
        try CurveSupport.require()
        guard CurveKey.decode(secretKey) != nil else { throw SecurityError.badKey(file: file, detail: "secret-key is not a 40-character Z85 key") }
        var publicKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicKey, secretKey) == 0 else {
            throw SecurityError.badKey(file: file, detail: "secret-key is not a valid CURVE key")
        }
        self.init(publicKey: CurveKey.string(publicKey), secretKey: secretKey)
    }

    init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// Reads a key file; its public key, when given, must match its secret key.
    public static func load(file: String) throws -> CurveKeyPair {
        let fields = try KeyFile.fields(of: file)
        guard let secret = fields["secret-key"] else {
            throw SecurityError.badKey(file: file, detail: fields["public-key"] != nil
                ? "it holds only a public key; give the key file without .pub (from `alphaedit keys generate`)"
                : "no secret-key line; make one with `alphaedit keys generate`")
        }
        let pair = try CurveKeyPair(secretKey: secret, file: file)
        if let stated = fields["public-key"], stated != pair.publicKey {
            throw SecurityError.badKey(file: file, detail: "public-key does not belong to secret-key")
        }
        return pair
    }

    /// Writes `<path>.key` (secret, mode 0600) and `<path>.pub`, each to a temporary name first.
    public func write(to path: String) throws {
        let header = "# alphaedit CURVE key pair (ZeroMQ Z85). Keep this file secret: it lets its holder act as this peer.\n"
        try KeyFile.write("\(header)public-key = \"\(publicKey)\"\nsecret-key = \"\(secretKey)\"\n", to: path + ".key", mode: 0o600)
        try KeyFile.write("# alphaedit CURVE public key (ZeroMQ Z85): list it in an authorised-keys file\npublic-key = \"\(publicKey)\"\n",
                          to: path + ".pub", mode: 0o644)
    }
}

/// One Z85 public key.
public enum CurveKey {
    /// The 32 bytes of a 40-character Z85 key, or nil.
    static func decode(_ z85: String) -> [UInt8]? {
        guard z85.utf8.count == 40 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&bytes, z85) != nil else { return nil }
        return bytes
    }

    /// Z85 of 32 key bytes.
    static func encode(_ bytes: [UInt8]) -> String {
        var text = [CChar](repeating: 0, count: 41)
        _ = zmq_z85_encode(&text, bytes, bytes.count)
        return string(text)
    }

    /// A NUL-terminated C buffer as a String.
    static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A public key given on the command line: the key itself, or a `.pub`/key file holding it.
    public static func load(_ keyOrFile: String, flag: String) throws -> String {
        if decode(keyOrFile) != nil { return keyOrFile }
        guard FileManager.default.fileExists(atPath: keyOrFile) else {
            throw SecurityError.badKey(file: keyOrFile, detail: "\(flag): neither a 40-character Z85 key nor a key file")
        }
        guard let key = try KeyFile.fields(of: keyOrFile)["public-key"], decode(key) != nil else {
            throw SecurityError.badKey(file: keyOrFile, detail: "\(flag): no valid public-key line")
        }
        return key
    }
}

/// The public keys a server admits: one Z85 key per line, optionally followed by a name
/// (`KEY worker-3`); a line starting with `#` that does not start with a key is a comment (Z85
/// itself uses `#`, so a comment cannot follow a key on its line); blank lines are ignored.
public struct AuthorizedKeys: Sendable, Equatable {
    /// Key → the name given on its line ("" if none).
    public let names: [String: String]
    public let source: String

    public init(keys: [String: String], source: String) {
        self.names = keys
        self.source = source
    }

    public static func load(file: String) throws -> AuthorizedKeys {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw SecurityError.badKey(file: file, detail: "cannot read the authorised-keys file: \(error.localizedDescription)")
        }
        var keys: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let parts = line.split(separator: " ", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            let key = parts[0].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            // Z85 uses '#': a line starting with it is a comment unless it starts with a key.
            if line.hasPrefix("#") && CurveKey.decode(key) == nil { continue }
            guard CurveKey.decode(key) != nil else {
                throw SecurityError.badKey(file: file, detail: "line \(number + 1): '\(parts[0])' is not a 40-character Z85 public key")
            }
            keys[key] = parts.count > 1 ? parts[1] : ""
        }
        guard !keys.isEmpty else { throw SecurityError.badKey(file: file, detail: "no keys: nobody could connect") }
        return AuthorizedKeys(keys: keys, source: file)
    }

    public func admits(_ key: String) -> Bool { names[key] != nil }
}

/// Whether this libzmq can do CURVE.
public enum CurveSupport {
    public static var available: Bool { zmq_has("curve") != 0 }

    public static func require() throws {
        guard available else {
            throw SecurityError.unavailable(reason: "this libzmq was built without CURVE (zmq_has(\"curve\") is false); install a libzmq built with libsodium (Debian's libzmq5 is)")
        }
    }
}

/// `key = "value"` lines of a key file.
enum KeyFile {
    static func fields(of file: String) throws -> [String: String] {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw SecurityError.badKey(file: file, detail: "cannot read it: \(error.localizedDescription)")
        }
        var fields: [String: String] = [:]
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                .trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            fields[name] = value
        }
        return fields
    }

    static func write(_ text: String, to path: String, mode: Int) throws {
        do { try writeDurably(Array(text.utf8), to: URL(fileURLWithPath: path), mode: mode_t(mode)) } catch {
            throw SecurityError.badKey(file: path, detail: "cannot write it (does the directory exist and is it writable?): \(error)")
        }
    }
}

/// Why a key, a key file or CURVE itself cannot be used.
public enum SecurityError: Error, Equatable, CustomStringConvertible {
    case badKey(file: String, detail: String)
    case unavailable(reason: String)
    /// A tcp endpoint without keys.
    case plainTextRefused(endpoint: String, role: String)

    public var description: String {
        switch self {
        case .badKey(let file, let detail): return "\(file): \(detail)"
        case .unavailable(let reason): return "CURVE is unavailable: \(reason)"
        case .plainTextRefused(let endpoint, let role):
            return "\(endpoint) is a tcp endpoint and the \(role) has no CURVE keys: anyone who can reach it could join the job. Give \(role == "coordinator" ? "--key and --authorized-keys" : "--key, --coordinator-key and --authorized-keys") (make keys with `alphaedit keys generate`), or --insecure on a network you trust"
        }
    }
}
