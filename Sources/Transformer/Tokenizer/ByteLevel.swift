import Foundation

/// GPT-2's byte-level alphabet (`bytes_to_unicode`): every byte stands for one printable Unicode
/// scalar, so that a vocabulary of strings can hold arbitrary bytes. Printable Latin-1 bytes
/// (`!`...`~`, `¡`...`¬`, `®`...`ÿ`) stand for themselves; the other 68 bytes (controls, space,
/// DEL, NBSP, soft hyphen...) get U+0100... in byte order, so the space is `Ġ` (U+0120) and `\n` is `Ċ`.
enum ByteLevel {
    /// `scalarOf[b]`: the scalar value that stands for byte `b`.
    static let scalarOf: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if isSelfMapped(UInt8(byte)) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// `byteOf[s]`: the byte that scalar value `s` stands for, or -1; defined for `s < 0x144`.
    static let byteOf: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for byte in 0..<256 {
            table[Int(scalarOf[byte])] = Int16(byte)
        }
        return table
    }()

    private static func isSelfMapped(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// The byte-level spelling of `bytes`, as vocabulary entries write it (`" the"` -> `"Ġthe"`).
    static func token(for bytes: some Sequence<UInt8>) -> String {
        var out = String.UnicodeScalarView()
        for byte in bytes {
            out.append(Unicode.Scalar(scalarOf[Int(byte)])!)
        }
        return String(out)
    }

    /// The bytes a byte-level token stands for, or nil when a scalar of it is not in the alphabet
    /// (added tokens such as `"a b"` or `"東京"` are not byte-level spellings).
    static func bytes(of token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            let value = Int(scalar.value)
            guard value < byteOf.count, byteOf[value] >= 0 else { return nil }
            out.append(UInt8(byteOf[value]))
        }
        return out
    }

    /// What the ByteLevel decoder turns a token into: its bytes when every scalar is in the alphabet,
    /// else the token's own UTF-8 (as the `tokenizers` library does for added tokens like `"a b"`).
    static func decodedBytes(of token: String) -> [UInt8] {
        bytes(of: token) ?? Array(token.utf8)
    }
}
