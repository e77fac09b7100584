import Editing
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Draws `EditEvent`s on standard error: a redrawn bar on a terminal, plain lines otherwise
/// (at most one progress line per `lineInterval` seconds). Silent with `quiet`.
final class ProgressReporter: @unchecked Sendable {
    private let lock = NSLock()
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let quiet: Bool
    private let lineInterval: Double
    private var lastLine = Date.distantPast
    private var stageStart = Date()
    private var barVisible = false

    init(quiet: Bool = false, lineInterval: Double = 2) {
        self.quiet = quiet
        self.lineInterval = lineInterval
    }

    var handler: EditEventHandler { { [self] event in self.handle(event) } }

    func handle(_ event: EditEvent) {
        guard !quiet else { return }
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case .stage(let name):
            endBar()
            stageStart = Date()
            write("==> \(name)\n")
        case .note(let text):
            endBar()
            write("    \(text)\n")
        case .progress(let done, let total, let detail):
            let fraction = total > 0 ? Double(done) / Double(total) : 0
            let elapsed = Date().timeIntervalSince(stageStart)
            let eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0
            let timing = String(format: "%@ elapsed, %@ left", Self.duration(elapsed), Self.duration(eta))
            if isTerminal {
                let width = 30
                let filled = Int(fraction * Double(width))
                let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
                write("\r    \(bar) \(done)/\(total)  \(detail)  \(timing)\u{1B}[K")
                barVisible = true
                if done >= total { endBar() }
            } else if Date().timeIntervalSince(lastLine) >= lineInterval || done >= total {
                lastLine = Date()
                write("    \(done)/\(total) (\(Int(fraction * 100))%)  \(detail)  \(timing)\n")
            }
        case .began, .ended:
            break  // timing marks, for benchmarks
        }
    }

    private func endBar() {
        if barVisible { write("\n") }
        barVisible = false
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
