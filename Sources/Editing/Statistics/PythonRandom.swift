/// Python's `random.Random(seed)` (MT19937, `init_by_array`) for the one thing the official code
/// uses it for: `shuffle` of the corpus indices in `FixedRandomSubsetSampler(seed=1)`, so that
/// alphaedit picks the same `mom2_n_samples` documents as the official statistics pass.
struct PythonRandom {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    /// `random.seed(seed)` for a non-negative integer seed.
    init(seed: UInt64) {
        var key: [UInt32] = []
        var value = seed
        repeat {
            key.append(UInt32(truncatingIfNeeded: value))
            value >>= 32
        } while value > 0
        initializeByArray(key)
    }

    private mutating func initialize(_ s: UInt32) {
        state[0] = s
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
        index = 624
    }

    private mutating func initializeByArray(_ key: [UInt32]) {
        initialize(19_650_218)
        var i = 1, j = 0
        for _ in 0..<max(624, key.count) {
            state[i] = (state[i] ^ ((state[i - 1] ^ (state[i - 1] >> 30)) &* 1_664_525)) &+ key[j] &+ UInt32(j)
            i += 1; j += 1
            if i >= 624 { state[0] = state[623]; i = 1 }
            if j >= key.count { j = 0 }
        }
        for _ in 0..<623 {
            state[i] = (state[i] ^ ((state[i - 1] ^ (state[i - 1] >> 30)) &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= 624 { state[0] = state[623]; i = 1 }
        }
        state[0] = 0x8000_0000
    }

    private mutating func twist() {
        for i in 0..<624 {
            let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7FFF_FFFF)
            state[i] = state[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : 0x9908_B0DF)
        }
        index = 0
    }

    mutating func nextUInt32() -> UInt32 {
        if index >= 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// `getrandbits(k)` for 1 ≤ k ≤ 64.
    mutating func randomBits(_ k: Int) -> UInt64 {
        if k <= 32 { return UInt64(nextUInt32() >> (32 - UInt32(k))) }
        var result: UInt64 = 0
        var remaining = k, shift: UInt64 = 0
        while remaining > 0 {
            var word = UInt64(nextUInt32())
            if remaining < 32 { word >>= UInt64(32 - remaining) }
            result |= word << shift
            shift += 32
            remaining -= 32
        }
        return result
    }

    /// `_randbelow(n)`: rejection sampling with `n.bit_length()` bits.
    mutating func below(_ n: Int) -> Int {
        let k = Int.bitWidth - n.leadingZeroBitCount
        var r = Int(randomBits(k))
        while r >= n { r = Int(randomBits(k)) }
        return r
    }

    /// `random.shuffle(x)`.
    mutating func shuffle<T>(_ x: inout [T]) {
        guard x.count > 1 else { return }
        for i in stride(from: x.count - 1, through: 1, by: -1) {
            let j = below(i + 1)
            x.swapAt(i, j)
        }
    }
}
