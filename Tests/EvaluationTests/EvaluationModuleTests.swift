import Testing
@testable import Evaluation

@Test func evaluationModuleLinks() { #expect(String(describing: EvaluationModule.self) == "EvaluationModule") }
