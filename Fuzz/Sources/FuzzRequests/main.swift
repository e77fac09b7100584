/// Edit request lists: CounterFact records, ZsRE (MEND) records and plain
/// `{prompt, subject, target_new}` objects, as a list or `{"requests": [...]}`. Every accepted
/// request has a prompt template with exactly one `{}` and a non-empty subject and target.
import Editing
import Foundation
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let data = Data(fuzzInput(start, count))
    guard let requests = expectTypedError("EditRequest.parse", { $0 is RequestError }, {
        try EditRequest.parse(data: data, path: "fuzz/requests.json")
    }) else { return 0 }
    guard !requests.isEmpty else { fuzzFailure("accepted an empty request list") }
    for request in requests {
        guard request.prompt.components(separatedBy: "{}").count == 2, !request.subject.isEmpty, !request.targetNew.isEmpty else {
            fuzzFailure("accepted the request \(request)")
        }
    }
    return 0
}

/// `main` of this executable (SwiftPM links `main` to `<Target>_main`): libFuzzer's driver.
@_cdecl("FuzzRequests_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzz(UnsafeRawPointer($0), $1) }
}
