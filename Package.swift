// swift-tools-version:6.1
import PackageDescription

/// Release builds drop exclusivity checks on the numeric hot paths; debug builds keep every check.
let numericSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "alphaedit",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "alphaedit", targets: ["alphaedit"]),
        .library(name: "Linalg", targets: ["Linalg"]),
        .library(name: "Transformer", targets: ["Transformer"]),
        .library(name: "Editing", targets: ["Editing"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .library(name: "Cluster", targets: ["Cluster"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // MARK: C libraries, wrapped once
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .systemLibrary(
            name: "CZeroMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),
        // protobuf-c code generated from proto/alphaedit.proto by scripts/gen-proto (committed).
        .target(name: "CAlphaEditProto", linkerSettings: [.linkedLibrary("protobuf-c")]),

        // MARK: Libraries
        .target(name: "Linalg", dependencies: ["COpenBLAS"], swiftSettings: numericSettings),
        .target(name: "Transformer", dependencies: ["Linalg"], swiftSettings: numericSettings),
        .target(
            name: "Editing",
            dependencies: ["Transformer", "Linalg", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
            swiftSettings: numericSettings
        ),
        .target(name: "Evaluation", dependencies: ["Transformer", "Editing", "Linalg"], swiftSettings: numericSettings),
        // The distributed mode: messages, transport, coordinator and worker. The only importer of
        // CZeroMQ and CAlphaEditProto.
        .target(name: "Cluster", dependencies: ["CZeroMQ", "CAlphaEditProto", "Editing", "Evaluation", "Transformer", "Linalg",
                                                .product(name: "Logging", package: "swift-log")]),

        // MARK: Command-line tools
        .executableTarget(
            name: "alphaedit",
            dependencies: [
                "Transformer", "Editing", "Evaluation", "Cluster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "alphaedit-bench",
            dependencies: [
                "Linalg", "Transformer", "Editing", "Cluster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/Sources/alphaedit-bench",
            swiftSettings: numericSettings
        ),

        // MARK: Tests
        .testTarget(name: "LinalgTests", dependencies: ["Linalg"]),
        .testTarget(name: "TransformerTests", dependencies: ["Transformer"]),
        .testTarget(name: "EditingTests", dependencies: ["Editing"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation"]),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster"]),
        .testTarget(name: "alphaeditTests", dependencies: ["alphaedit"]),
    ]
)
