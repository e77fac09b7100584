/// Context-template files (a JSON list of lists of templates, or `{"context_templates": ...}`).
/// Every accepted template has exactly one `{}`, and the templates survive the JSON round trip the
/// state files use.
import Editing
import Foundation
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let data = Data(fuzzInput(start, count))
    guard let templates = expectTypedError("ContextTemplates.parse", { $0 is ContextTemplateError }, {
        try ContextTemplates.parse(data: data, path: "fuzz/context_templates.json")
    }) else { return 0 }
    for template in templates.all where template.components(separatedBy: "{}").count != 2 {
        fuzzFailure("accepted the template \(template.debugDescription)")
    }
    let encoded = try! JSONEncoder().encode(templates.groups)
    guard let again = try? ContextTemplates.parse(data: encoded), again == templates else {
        fuzzFailure("templates \(templates.groups) do not survive a JSON round trip")
    }
    return 0
}

/// `main` of this executable (SwiftPM links `main` to `<Target>_main`): libFuzzer's driver.
@_cdecl("FuzzContextTemplates_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzz(UnsafeRawPointer($0), $1) }
}
