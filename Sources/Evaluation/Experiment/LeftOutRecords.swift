/// The records of an experiment that are edited but left out of every method's metrics because a
/// sequence of their evaluation is longer than the model's positions (`--skip-too-long`). Stored as
/// indices into the selected records of each dataset.
struct LeftOut: Equatable, Sendable {
    var counterFact: Set<Int> = []
    var zsre: Set<Int> = []

    var isEmpty: Bool { counterFact.isEmpty && zsre.isEmpty }

    func contains(_ reference: RecordReference) -> Bool {
        switch reference {
        case .counterFact(let i): return counterFact.contains(i)
        case .zsre(let i): return zsre.contains(i)
        }
    }

    /// The indices whose `case_id` an evaluator reported as skipped.
    static func indices(of skipped: [Int], among pairs: some Sequence<(Int, Int)>) -> Set<Int> {
        let wanted = Set(skipped)
        return Set(pairs.filter { wanted.contains($0.1) }.map(\.0))
    }

    /// The report's `left_out`: dataset → sorted `case_id`s.
    func caseIDs(counterFact records: [CounterFactRecord], zsreCaseIDs: [Int]) -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        if !counterFact.isEmpty { out["counterfact"] = counterFact.map { records[$0].caseID }.sorted() }
        if !zsre.isEmpty { out["zsre"] = zsre.map { zsreCaseIDs[$0] }.sorted() }
        return out
    }

    /// One report note per dataset with records left out.
    func notes(counterFact records: [CounterFactRecord], zsreCaseIDs: [Int], of total: Int, limit: Int) -> [String] {
        caseIDs(counterFact: records, zsreCaseIDs: zsreCaseIDs).sorted { $0.key < $1.key }.map { dataset, ids in
            let name = dataset == "zsre" ? "zsRE" : "CounterFact"
            let list = ids.map(String.init).joined(separator: ", ")
            return "\(name) case\(ids.count == 1 ? "" : "s") \(list) (\(ids.count) of \(total) records) "
                + "\(ids.count == 1 ? "is" : "are") edited but left out of every method's metrics: a sequence of "
                + "\(ids.count == 1 ? "its" : "their") evaluation is longer than the model's \(limit) positions (--skip-too-long)."
        }
    }
}
