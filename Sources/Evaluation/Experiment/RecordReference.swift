/// A record of an experiment's edit sequence: the i-th selected record of one dataset.
enum RecordReference: Equatable, Sendable {
    case counterFact(Int)
    case zsre(Int)

    /// Both lists merged so that each keeps its order and every stretch of the sequence holds
    /// them in proportion: record i of a list of n sits at (i + ½)/n, ties to CounterFact.
    static func interleaved(counterFact m: Int, zsre n: Int) -> [RecordReference] {
        var out: [RecordReference] = []
        out.reserveCapacity(m + n)
        var i = 0, j = 0
        while i < m || j < n {
            // (i + ½)/m ≤ (j + ½)/n  ⇔  (2i + 1)·n ≤ (2j + 1)·m
            if j >= n || (i < m && (2 * i + 1) * n <= (2 * j + 1) * m) {
                out.append(.counterFact(i))
                i += 1
            } else {
                out.append(.zsre(j))
                j += 1
            }
        }
        return out
    }
}
