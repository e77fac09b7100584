import Testing
@testable import Evaluation

@Suite struct WordTokenizerTests {
    /// Expected tokens from nltk 3.10 `NLTKWordTokenizer().tokenize` (one sentence each).
    @Test(arguments: [
        ("Good muffins cost $3.88 (roughly 3,36 euros)\nin New York.",
         ["Good", "muffins", "cost", "$", "3.88", "(", "roughly", "3,36", "euros", ")", "in", "New", "York", "."]),
        ("They'll say \"I can't go,\" he said... won't they?",
         ["They", "'ll", "say", "``", "I", "ca", "n't", "go", ",", "''", "he", "said", "...", "wo", "n't", "they", "?"]),
        ("Danielle Darrieux's mother tongue is French",
         ["Danielle", "Darrieux", "'s", "mother", "tongue", "is", "French"]),
        ("gonna cannot wanna go; a@b #1 50% & more: yes, no",
         ["gon", "na", "can", "not", "wan", "na", "go", ";", "a", "@", "b", "#", "1", "50", "%", "&", "more", ":", "yes", ",", "no"]),
    ])
    func sentenceTokensMatchNLTK(text: String, expected: [String]) {
        #expect(WordTokenizer.tokenizeSentence(text) == expected)
    }

    /// Within one "sentence" only the last period is split (nltk gives `Paris.` here); sentence
    /// splitting first separates it, as `word_tokenize` does with Punkt.
    @Test func sentencesSplitOffTheirFinalPeriod() {
        let text = "The capital of France is Paris. It's 'big' -- isn't it?"
        #expect(WordTokenizer.tokenizeSentence(text).contains("Paris."))
        #expect(WordTokenizer.sentences(text) == ["The capital of France is Paris.", "It's 'big' -- isn't it?"])
        #expect(WordTokenizer.tokenize(text) == ["The", "capital", "of", "France", "is", "Paris", ".", "It", "'s", "'", "big", "'",
                                                 "--", "is", "n't", "it", "?"])
    }

    @Test func abbreviationsAndInitialsDoNotEndSentences() {
        #expect(WordTokenizer.sentences("Mr. Smith met J. R. R. Tolkien in the U.S. yesterday. Then he left!") ==
            ["Mr. Smith met J. R. R. Tolkien in the U.S. yesterday.", "Then he left!"])
        #expect(WordTokenizer.sentences("Wait... what? Yes. ") == ["Wait... what?", "Yes."])
        #expect(WordTokenizer.sentences("") == [])
    }
}
