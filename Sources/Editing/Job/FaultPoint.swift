import Foundation

/// Named points where a test can have the process killed (SIGKILL, as a crash or `kill -9`
/// would), to check what a crash at that instant leaves behind. `ALPHAEDIT_FAULT=<point>` in the
/// environment arms one point; without it every point is a no-op (one cached lookup).
public enum FaultPoint {
    private static let armed: String? = ProcessInfo.processInfo.environment["ALPHAEDIT_FAULT"]

    /// Kills this process here if `ALPHAEDIT_FAULT` names `name`.
    public static func hit(_ name: String) {
        guard let armed, armed == name else { return }
        kill(getpid(), SIGKILL)
    }
}
