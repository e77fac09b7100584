import Foundation

/// Named points where a test can have the process killed (SIGKILL, as a crash or `kill -9`
/// would) or stopped (SIGSTOP, as a hung host), to check what a fault at that instant leaves
/// behind. `ALPHAEDIT_FAULT=<point>[@<worker>][#<hit>][:stop]` in the environment arms one point:
/// only in the worker of that index (`@1`), only at its n-th hit (`#2`, default the first),
/// stopping instead of killing (`:stop`). Without it every point is a no-op.
public enum FaultPoint {
    struct Armed {
        var point: String
        var worker: Int?
        var hit = 1
        var stop = false

        init?(_ text: String?) {
            guard var text, !text.isEmpty else { return nil }
            if text.hasSuffix(":stop") {
                stop = true
                text.removeLast(":stop".count)
            }
            if let hash = text.lastIndex(of: "#") {
                guard let n = Int(text[text.index(after: hash)...]), n >= 1 else { return nil }
                hit = n
                text = String(text[..<hash])
            }
            if let at = text.lastIndex(of: "@") {
                guard let w = Int(text[text.index(after: at)...]), w >= 0 else { return nil }
                worker = w
                text = String(text[..<at])
            }
            point = text
        }
    }

    private static let armed = Armed(ProcessInfo.processInfo.environment["ALPHAEDIT_FAULT"])
    private static let lock = NSLock()
    nonisolated(unsafe) private static var hits = 0

    /// Kills (or stops) this process here if `ALPHAEDIT_FAULT` names `name` (and `worker`, and
    /// this is the armed hit).
    public static func hit(_ name: String, worker: Int? = nil) {
        guard let armed, armed.point == name, armed.worker == nil || armed.worker == worker else { return }
        let count = lock.withLock { () -> Int in
            hits += 1
            return hits
        }
        guard count == armed.hit else { return }
        kill(getpid(), armed.stop ? SIGSTOP : SIGKILL)
    }
}
