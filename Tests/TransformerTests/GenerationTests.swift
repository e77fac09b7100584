import Foundation
import Testing
@testable import Transformer

@Suite struct GenerationTests {
    @Test(arguments: FixturePaths.hfFoldersWithGreedyAndGradient)
    func greedyIdsMatchTransformers(folder: String) throws {
        let fixture = try ReferenceFixture(folder)
        for case let greedy as [String: Any] in fixture.json["greedy"] as! [Any] {
            let prompt = greedy["prompt_ids"] as! [Int]
            let expected = greedy["new_ids"] as! [Int]
            let ours = fixture.model.generate(prompts: [prompt], maxNewTokens: expected.count)
            #expect(ours == [expected], "\(folder): \(greedy["prompt"]!)")
        }
    }

    @Test func batchedLeftPaddedGenerationEqualsOneByOne() throws {
        let fixture = try ReferenceFixture("llama")
        let prompts = (fixture.json["greedy"] as! [[String: Any]]).map { $0["prompt_ids"] as! [Int] }
        let together = fixture.model.generate(prompts: prompts, maxNewTokens: 8)
        let alone = prompts.map { fixture.model.generate(prompts: [$0], maxNewTokens: 8)[0] }
        #expect(together == alone)
    }

    @Test func topKSamplingIsSeeded() throws {
        let fixture = try ReferenceFixture("gpt2")
        let prompt = [288, 396, 286]
        let a = fixture.model.generate(prompts: [prompt], maxNewTokens: 10, sampling: .topK(5), seed: 7)
        let b = fixture.model.generate(prompts: [prompt], maxNewTokens: 10, sampling: .topK(5), seed: 7)
        let c = fixture.model.generate(prompts: [prompt], maxNewTokens: 10, sampling: .topK(5), seed: 8)
        #expect(a == b)
        #expect(a != c)
        #expect(fixture.model.generate(prompts: [prompt], maxNewTokens: 10, sampling: .topK(1), seed: 3)
                == fixture.model.generate(prompts: [prompt], maxNewTokens: 10))
    }
}
