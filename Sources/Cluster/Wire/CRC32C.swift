/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as iSCSI, ext4 and gRPC use:
/// table-driven, slicing by 8 bytes.
public enum CRC32C {
    /// 8 tables of 256 entries, flat: table t at [256 t, 256 (t + 1)).
    private static let table: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            table[i] = c
        }
        for t in 1..<8 {
            for i in 0..<256 {
                let previous = table[256 * (t - 1) + i]
                table[256 * t + i] = (previous >> 8) ^ table[Int(previous & 0xFF)]
            }
        }
        return table
    }()

    /// The checksum of `bytes`.
    /// - Complexity: O(n).
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in table.withUnsafeBufferPointer { checksum(buffer, $0) } }
    }

    public static func checksum(_ bytes: some Collection<UInt8>) -> UInt32 { checksum(Array(bytes)) }

    private static func checksum(_ b: UnsafeBufferPointer<UInt8>, _ t: UnsafeBufferPointer<UInt32>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        var i = 0
        let n = b.count
        while i + 8 <= n {
            let lo = crc ^ (UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24)
            let hi = UInt32(b[i + 4]) | UInt32(b[i + 5]) << 8 | UInt32(b[i + 6]) << 16 | UInt32(b[i + 7]) << 24
            crc = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)] ^ t[5 * 256 + Int((lo >> 16) & 0xFF)]
                ^ t[4 * 256 + Int(lo >> 24)] ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                ^ t[256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
            i += 8
        }
        while i < n {
            crc = (crc >> 8) ^ t[Int((crc ^ UInt32(b[i])) & 0xFF)]
            i += 1
        }
        return crc ^ 0xFFFF_FFFF
    }
}
