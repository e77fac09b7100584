// alphaedit-bench: the benchmark harness. Numbers go to Benchmarks/results/*.json, never into
// tests. Run release builds only:
//
//   swift run -c release alphaedit-bench foundation
//   swift run -c release alphaedit-bench transformer
//
// This file is `main.swift`, so it holds top-level code and cannot carry `@main`; the last line
// starts the root command instead.

import ArgumentParser

/// The root command: one subcommand per benchmark suite.
struct AlphaEditBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alphaedit-bench",
        abstract: "Benchmarks of alphaedit's numeric foundation and transformer runtime.",
        discussion: """
            Each subcommand prints its measurements and writes a JSON report (command, date, git \
            commit, machine, Swift version, load average, every repetition) to Benchmarks/results/. \
            Build in release mode; a debug build is refused unless --allow-debug is given.
            """,
        version: "1.0.0",
        subcommands: [FoundationCommand.self, TransformerCommand.self, EditCommand.self, ClusterCommand.self, ProjectorCommand.self]
    )
}

AlphaEditBench.main()
