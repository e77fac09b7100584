import ArgumentParser
import Foundation
import Transformer

extension AlphaEditBench {
    /// `edit compare`: a finished `edit run` report rated against official times that came after it.
    ///
    /// The official run in parts (Benchmarks/official/README.md) has parts that need alphaedit's
    /// projectors and targets, so they run after alphaedit; this puts their times in its report.
    struct EditCompareCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compare",
            abstract: "Rate a finished `edit run` report against the official implementation's stage times.",
            discussion: """
                Rewrites the comparison of an `edit run` JSON (its stages' official_seconds and \
                speedup_over_official, the total's, the "official" block and the official-speedup goals) \
                from --official, as `edit run --official` would have written it; --deltas and --targets, \
                with their references, replace results.deltas' errors and results.targets. Nothing else \
                changes; run.compared_with records the command.
                """)

        @Option(name: .long, help: ArgumentHelp("A JSON report written by `edit run`.", valueName: "file")) var report: String
        @Option(name: .long, help: ArgumentHelp("The official implementation's stage times (as for `edit run --official`).", valueName: "file"))
        var official: String
        @Option(name: .long, help: ArgumentHelp("Where to write the rated report (atomically; may be --report).", valueName: "file"))
        var output: String
        @Option(name: .long, help: ArgumentHelp("The run's deltas (its --save-deltas file), to compare with --reference-deltas.", valueName: "file"))
        var deltas: String?
        @Option(name: .long, help: ArgumentHelp("Deltas to compare the run's with (alphaedit-deltas.safetensors names; official_edit_bench.py --save-deltas writes them).", valueName: "file"))
        var referenceDeltas: String?

        @Option(name: .long, help: ArgumentHelp("The run's targets (its --save-targets file), to compare with --reference-targets.", valueName: "file"))
        var targets: String?
        @Option(name: .long, help: ArgumentHelp("Targets to compare the run's with (z.<case_id>; official_edit_bench.py --stages targets --save-targets writes them).", valueName: "file"))
        var referenceTargets: String?

        func validate() throws {
            if (deltas == nil) != (referenceDeltas == nil) { throw ValidationError("--deltas and --reference-deltas go together") }
            if (targets == nil) != (referenceTargets == nil) { throw ValidationError("--targets and --reference-targets go together") }
        }

        func run() throws {
            let reportURL = URL(fileURLWithPath: report)
            let data: Data
            do { data = try Data(contentsOf: reportURL) } catch {
                throw EditBenchError.invalid("\(report): cannot be read (\(error.localizedDescription))")
            }
            guard case .object(var root)? = try? JSONDecoder().decode(JSONValue.self, from: data),
                  case .object(var results)? = root["results"], case .object(var stages)? = results["stages"],
                  case .object(var total)? = results["total"], let totalSeconds = total["seconds"]?.numberValue,
                  case .array(let goalValues)? = results["goals"] else {
                throw EditBenchError.invalid("\(report): not an `edit run` report (no results.stages, results.total.seconds or results.goals)")
            }
            var seconds: [String: Double] = [:]
            for name in editStageNames {
                guard case .object(let stage)? = stages[name], let value = stage["seconds"]?.numberValue else {
                    throw EditBenchError.invalid("\(report): results.stages.\(name).seconds is missing")
                }
                seconds[name] = value
            }
            let times = try OfficialTimes.load(URL(fileURLWithPath: official))
            let comparison = OfficialComparison(official: times, seconds: seconds, totalSeconds: totalSeconds)

            for name in editStageNames {
                guard case .object(var stage)? = stages[name] else { continue }
                stage["official_seconds"] = times.stages[name].map(JSONValue.number) ?? .null
                stage["speedup_over_official"] = comparison.speedups[name].map(JSONValue.number) ?? .null
                stages[name] = .object(stage)
            }
            total["official_seconds"] = comparison.officialTotal.map(JSONValue.number) ?? .null
            total["speedup_over_official"] = comparison.endToEndSpeedup.map(JSONValue.number) ?? .null
            results["stages"] = .object(stages)
            results["total"] = .object(total)
            results["official"] = try Self.json(comparison)
            // The official-speedup goals replaced in place; the others (statistics rate, memory) kept.
            let replacements = try OfficialComparison.goals(comparison).map { try Self.json($0) }
            let replaced = Set(OfficialComparison.goals(nil).map(\.name))
            results["goals"] = .array(goalValues.filter { goal in
                guard case .object(let g) = goal, case .string(let name)? = g["name"] else { return true }
                return !replaced.contains(name)
            } + replacements)
            if let deltas, let referenceDeltas {
                results["deltas"] = try Self.compareDeltas(results["deltas"], deltas: deltas, reference: referenceDeltas)
            }
            if let targets, let referenceTargets {
                let comparison = try EditTargetFiles.compare(URL(fileURLWithPath: targets), reference: URL(fileURLWithPath: referenceTargets))
                results["targets"] = try Self.json(comparison)
                print(comparison.summary)
            }
            root["results"] = .object(results)
            if case .object(var run)? = root["run"] {
                run["compared_with"] = .string(CommandLine.arguments.joined(separator: " "))
                root["run"] = .object(run)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let url = URL(fileURLWithPath: output)
            try encoder.encode(JSONValue.object(root)).write(to: url, options: .atomic)
            for goal in OfficialComparison.goals(comparison) {
                print("goal \(goal.name) ≥ \(goal.goal): \(goal.value.map { formatted($0, 3) } ?? "-")"
                      + (goal.met.map { $0 ? " (met)" : " (not met)" } ?? " (not measured)"))
            }
            print("wrote \(url.path)")
        }

        /// results.deltas with each tensor's relative_error_to_reference from the two files.
        private static func compareDeltas(_ entries: JSONValue?, deltas: String, reference: String) throws -> JSONValue {
            guard case .array(let list)? = entries else { throw EditBenchError.invalid("the report has no results.deltas") }
            let ours = try SafetensorsFile(url: URL(fileURLWithPath: deltas))
            let theirs = try SafetensorsFile(url: URL(fileURLWithPath: reference))
            return .array(try list.map { entry in
                guard case .object(var e) = entry, case .string(let name)? = e["tensor"] else { return entry }
                let a = try comparisonFloats(ours, name, count: try ours.info(name).shape.reduce(1, *), path: deltas)
                let b = try comparisonFloats(theirs, name, count: a.count, path: reference)
                let relative = relativeDifference(a, b)
                e["relative_error_to_reference"] = .number(relative)
                print("Δ \(name): relative error to the reference \(String(format: "%.3g", relative))")
                return .object(e)
            })
        }

        /// A Codable value as the report writes it (snake_case keys).
        private static func json<T: Encodable>(_ value: T) throws -> JSONValue {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            return try JSONDecoder().decode(JSONValue.self, from: encoder.encode(value))
        }
    }
}
