import Foundation

/// `model.safetensors.index.json`: which shard file holds each tensor of a sharded checkpoint.
///
/// Read: `{"metadata": {...}, "weight_map": {tensor: shard file}}`; only `weight_map` is used.
/// Written as transformers does (`json.dumps(index, indent=2, sort_keys=True) + "\n"`), with
/// `metadata.total_parameters` and `metadata.total_size` (the sum of tensor byte counts).
struct CheckpointIndex: Sendable {
    static let fileName = "model.safetensors.index.json"
    static let singleFileName = "model.safetensors"

    /// Tensor name → shard file name.
    var weightMap: [String: String]

    /// Shard file names, sorted.
    var shardNames: [String] {
        Set(weightMap.values).sorted(by: SafetensorsJSON.codePointLess)
    }

    init(weightMap: [String: String]) {
        self.weightMap = weightMap
    }

    /// Reads and validates the index at `url`.
    init(url: URL) throws(CheckpointError) {
        let file = url.path
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .indexUnreadable(file: file, reason: error.localizedDescription)
        }
        let root: SafetensorsJSON.Value
        do {
            root = try SafetensorsJSON.parse([UInt8](data), allowDuplicateKeys: true)
        } catch {
            throw .indexNotJSON(file: file, reason: error.reason, offset: error.offset)
        }
        guard case .object(let members) = root else {
            throw .invalidIndex(file: file, reason: "found \(root.abbreviated())")
        }
        let weightMaps = members.filter { $0.key == "weight_map" }
        guard let weightMapValue = weightMaps.first?.value else {
            throw .invalidIndex(file: file, reason: "no \"weight_map\" key")
        }
        guard weightMaps.count == 1 else { throw .invalidIndex(file: file, reason: "\"weight_map\" appears twice") }
        guard case .object(let entries) = weightMapValue else {
            throw .invalidIndex(file: file, reason: "\"weight_map\" is \(weightMapValue.abbreviated())")
        }
        var weightMap: [String: String] = [:]
        for entry in entries {
            guard case .string(let shard) = entry.value else {
                throw .invalidIndex(file: file, reason: "tensor \(SafetensorsJSON.quoted(entry.key)) maps to \(entry.value.abbreviated())")
            }
            guard Self.isPlainFileName(shard) else { throw .invalidShardName(file: file, shard: shard) }
            if let first = weightMap[entry.key] {
                throw .tensorListedTwice(file: file, tensor: entry.key, first: first, second: shard)
            }
            weightMap[entry.key] = shard
        }
        self.weightMap = weightMap
    }

    /// A name that stays inside the index's directory: no separators, not `.`/`..`, not empty.
    static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\0")
    }

    /// `model-00001-of-00003.safetensors`, transformers' shard names (1-based).
    static func shardName(_ index: Int, of count: Int) -> String {
        func pad(_ n: Int) -> String {
            let digits = String(n)
            return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
        }
        return "model-\(pad(index))-of-\(pad(count)).safetensors"
    }

    /// True for the file names transformers uses for safetensors weights, which a new save replaces.
    static func isCheckpointFileName(_ name: String) -> Bool {
        if name == singleFileName || name == fileName { return true }
        // model-NNNNN-of-NNNNN.safetensors
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "model", parts[2] == "of", parts[3].hasSuffix(".safetensors") else { return false }
        let last = parts[3].dropLast(".safetensors".count)
        return !parts[1].isEmpty && parts[1].allSatisfy(\.isASCII) && parts[1].allSatisfy(\.isNumber)
            && !last.isEmpty && last.allSatisfy(\.isASCII) && last.allSatisfy(\.isNumber)
    }

    /// The index file's text, byte-identical to transformers' output.
    func serialized(totalParameters: Int, totalSize: Int) -> [UInt8] {
        var text = "{\n  \"metadata\": {\n"
        text += "    \"total_parameters\": \(totalParameters),\n"
        text += "    \"total_size\": \(totalSize)\n"
        text += "  },\n  \"weight_map\": {"
        let names = weightMap.keys.sorted(by: SafetensorsJSON.codePointLess)
        if names.isEmpty {
            text += "}\n}\n"
        } else {
            text += "\n"
            text += names.map { name in
                "    " + SafetensorsJSON.quoted(name, asciiOnly: true) + ": "
                    + SafetensorsJSON.quoted(weightMap[name]!, asciiOnly: true)
            }.joined(separator: ",\n")
            text += "\n  }\n}\n"
        }
        return Array(text.utf8)
    }
}
