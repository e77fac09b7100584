// swift-tools-version:6.1
// libFuzzer harnesses for every parser of alphaedit and the wire protocol. Built only with the
// fuzzer and address sanitizers (see scripts/fuzz.sh and Fuzz/README.md):
//   swift build -c release --package-path Fuzz --build-path Fuzz/.build \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// Each executable target is one harness: a single file with the `@_cdecl("LLVMFuzzerTestOneInput")`
// function libFuzzer calls, and `<Target>_main` (SwiftPM links an executable's `main` to that
// name), which starts libFuzzer through `LLVMFuzzerRunDriver`.
import PackageDescription

let harnesses: [(name: String, dependencies: [Target.Dependency])] = [
    ("FuzzSafetensors", [.product(name: "Transformer", package: "main")]),
    ("FuzzModelConfig", [.product(name: "Transformer", package: "main")]),
    ("FuzzTokenizer", [.product(name: "Transformer", package: "main")]),
    ("FuzzTokenizerEncode", [.product(name: "Transformer", package: "main")]),
    ("FuzzHyperParameters", [.product(name: "Editing", package: "main")]),
    ("FuzzRequests", [.product(name: "Editing", package: "main")]),
    ("FuzzContextTemplates", [.product(name: "Editing", package: "main")]),
    ("FuzzNPZ", [.product(name: "Editing", package: "main")]),
    ("FuzzEditFiles", [.product(name: "Editing", package: "main"), .product(name: "Transformer", package: "main")]),
    ("FuzzEnvelope", [.product(name: "Cluster", package: "main")]),
]

let package = Package(
    name: "AlphaEditFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "main", path: "..")],
    targets: [
        .target(name: "CFuzzDriver", path: "Sources/CFuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzDriver"], path: "Sources/FuzzSupport"),
    ] + harnesses.map { harness in
        .executableTarget(name: harness.name, dependencies: ["FuzzSupport"] + harness.dependencies,
                          path: "Sources/\(harness.name)")
    }
)
