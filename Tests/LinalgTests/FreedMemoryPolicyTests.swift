import Testing
@testable import Linalg

@Suite("Freed memory policy")
struct FreedMemoryPolicyTests {
    @Test func retainIsTheDefaultAndTheUsersTuningWins() throws {
        #expect(try FreedMemoryPolicy.fromEnvironment([:]) == .retain)
        #expect(try FreedMemoryPolicy.fromEnvironment(["ALPHAEDIT_FREED_MEMORY": "release"]) == .release)
        #expect(try FreedMemoryPolicy.fromEnvironment(["ALPHAEDIT_FREED_MEMORY": "Retain"]) == .retain)
        #expect(try FreedMemoryPolicy.fromEnvironment(["GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"]) == .release)
        #expect(try FreedMemoryPolicy.fromEnvironment(["GLIBC_TUNABLES": "glibc.rtld.nns=4"]) == .retain)
        // An explicit choice beats the tunables.
        #expect(try FreedMemoryPolicy.fromEnvironment(["ALPHAEDIT_FREED_MEMORY": "retain",
                                                       "GLIBC_TUNABLES": "glibc.malloc.mmap_max=0"]) == .retain)
    }

    @Test func anUnknownValueNamesTheVariable() {
        #expect(throws: FreedMemoryPolicyError(variable: "ALPHAEDIT_FREED_MEMORY", value: "keep")) {
            try FreedMemoryPolicy.fromEnvironment(["ALPHAEDIT_FREED_MEMORY": "keep"])
        }
        let message = FreedMemoryPolicyError(variable: "ALPHAEDIT_FREED_MEMORY", value: "keep").description
        #expect(message.contains("ALPHAEDIT_FREED_MEMORY=keep") && message.contains("release"))
    }

    @Test func releaseLeavesTheAllocatorAlone() {
        #expect(FreedMemoryPolicy.release.apply() == "C library default")
    }
}
