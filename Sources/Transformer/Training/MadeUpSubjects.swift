/// Made-up subjects for a knowledge corpus: a real subject's stem followed by the last word of
/// another subject, never a real subject and never one made before.
///
/// Shared by the CounterFact distractors and the ZsRE target subjects; each draw consumes the
/// caller's generator exactly as the corpus recipe always has (one number per try, at most
/// `tries` tries), so corpora keep their bytes.
struct MadeUpSubjects {
    static let tries = 32

    private let real: Set<String>
    private let endings: [String]
    private var made = Set<String>()

    /// `real`: every real subject; `endings`: the words a made-up subject may end with (not empty).
    init(real: Set<String>, endings: [String]) {
        self.real = real
        self.endings = endings
    }

    /// A new subject `stem + [ending]` whose ending is not `lastWord`, or nil when `tries` draws
    /// found none.
    mutating func next(stem: [String], lastWord: String, using generator: inout SplitMix64) -> String? {
        for _ in 0..<Self.tries {
            let ending = endings[Int(generator.next() % UInt64(endings.count))]
            let candidate = (stem + [ending]).joined(separator: " ")
            if ending != lastWord, !real.contains(candidate), !made.contains(candidate) {
                made.insert(candidate)
                return candidate
            }
        }
        return nil
    }
}
