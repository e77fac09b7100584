import Foundation

/// An approximation of `nltk.word_tokenize` (the tokenizer of the fluency metric).
///
/// `nltk.word_tokenize(text)` splits the text into sentences with the pre-trained Punkt model
/// (`sent_tokenize`, English), then tokenizes each sentence with `NLTKWordTokenizer`. Here:
/// * the word tokenizer is a port of `NLTKWordTokenizer.tokenize` (nltk 3.9 rules: starting quotes,
///   punctuation, brackets, double dashes, ending quotes, MacIntyre contractions, whitespace split),
///   run with ICU regular expressions instead of Python's `re` (their `\w` and `\s` differ on a few
///   non-ASCII characters, e.g. ICU counts combining marks as word characters); on 1,450 strings
///   (dataset prompts and random punctuation-heavy strings) it gave nltk 3.10's tokens exactly;
/// * Punkt is replaced by a rule: a sentence ends after a whitespace-delimited token that ends in
///   `?` or `!`, or in `.` unless the token is a known abbreviation (`Mr.`, `Dr.`, `St.`, `etc.`…), an
///   initial (`J.`), contains an inner period (`U.S.`, `e.g.`), or is an ellipsis followed by a
///   lower-case word; closing quotes/brackets may follow the mark. Punkt's learned abbreviation list
///   and orthographic statistics are not reproduced.
/// The splitting matters only because each sentence's final period becomes a token of its own.
public enum WordTokenizer {
    /// The tokens of `text`, as `nltk.word_tokenize(text)` would give them (approximately).
    /// - Complexity: O(n) regular-expression passes over the text (about 30).
    public static func tokenize(_ text: String) -> [String] {
        sentences(text).flatMap(tokenizeSentence)
    }

    // MARK: Sentences (Punkt stand-in)

    /// Abbreviations that do not end a sentence (lower-case, without the final period).
    static let abbreviations: Set<String> = [
        "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "inc", "ltd", "co", "corp", "no", "vol",
        "gen", "col", "lt", "sgt", "capt", "rev", "mt", "ft", "ave", "jan", "feb", "mar", "apr", "jun", "jul",
        "aug", "sep", "sept", "oct", "nov", "dec", "fig", "approx", "dept", "est", "govt",
    ]

    /// The sentences of `text` (substrings; the whitespace between sentences is dropped).
    public static func sentences(_ text: String) -> [String] {
        let closers: Set<Character> = ["\"", "'", ")", "]", "}", "»", "”", "’"]
        let words = text.split(whereSeparator: \.isWhitespace)
        guard !words.isEmpty else { return [] }
        var sentences: [String] = []
        var start = words[0].startIndex
        for (k, word) in words.enumerated() where k + 1 < words.count {
            var core = Substring(word)
            while let last = core.last, closers.contains(last) { core = core.dropLast() }
            guard let mark = core.last, ".?!".contains(mark) else { continue }
            if mark == "." {
                let stem = core.drop { closers.contains($0) || $0 == "(" || $0 == "[" }
                if stem.hasSuffix("..") {
                    let next = words[k + 1].first { $0.isLetter }
                    if next?.isLowercase ?? true { continue }
                } else {
                    let body = stem.dropLast()
                    if body.isEmpty || body.contains(".") { continue }
                    if body.count == 1, body.first!.isLetter { continue }
                    if abbreviations.contains(body.lowercased()) { continue }
                }
            }
            sentences.append(String(text[start..<word.endIndex]))
            start = words[k + 1].startIndex
        }
        sentences.append(String(text[start..<words.last!.endIndex]))
        return sentences
    }

    // MARK: Words (NLTKWordTokenizer port)

    private struct Rule {
        let regex: NSRegularExpression
        let template: String
        init(_ pattern: String, _ template: String) {
            regex = try! NSRegularExpression(pattern: pattern)
            self.template = template
        }
        func apply(_ text: String) -> String {
            regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: template)
        }
    }

    private static let startingQuotes: [Rule] = [
        Rule("([«“‘„]|[`]+)", " $1 "),
        Rule("^\"", "``"),
        Rule("(``)", " $1 "),
        Rule("([ \\(\\[\\{<])(\"|'{2})", "$1 `` "),
        Rule("(?i)(?<!\\w)(')(?!(?:re|ve|ll|m|t|s|d|n)\\b)(?=\\w)", "$1 "),
    ]

    private static let punctuation: [Rule] = [
        Rule("([^\\.])(\\.)([\\]\\)\\}>\"'»”’ ]*)\\s*$", "$1 $2 $3 "),
        Rule("([:,])([^\\d])", " $1 $2"),
        Rule("([:,])$", " $1 "),
        Rule("\\.{2,}", " $0 "),
        Rule("[;@#\\$%&]", " $0 "),
        Rule("[\\u2012-\\u2015]", " $0 "),
        Rule("([^\\.])(\\.)([\\]\\)\\}>\"']*)\\s*$", "$1 $2$3 "),
        Rule("[?!]", " $0 "),
        Rule("([^'])' ", "$1 ' "),
        Rule("[\\*]", " $0 "),
    ]

    private static let brackets = Rule("[\\]\\[\\(\\)\\{\\}<>]", " $0 ")
    private static let doubleDashes = Rule("--", " -- ")

    private static let endingQuotes: [Rule] = [
        Rule("([»”’])", " $1 "),
        Rule("''", " '' "),
        Rule("\"", " '' "),
        Rule("\\s+", " "),
        Rule("([^' ])('[sS]|'[mM]|'[dD]|') ", "$1 $2 "),
        Rule("([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", "$1 $2 "),
    ]

    private static let contractions: [Rule] = [
        "(?i)\\b(can)(not)\\b", "(?i)\\b(d)('ye)\\b", "(?i)\\b(gim)(me)\\b", "(?i)\\b(gon)(na)\\b",
        "(?i)\\b(got)(ta)\\b", "(?i)\\b(lem)(me)\\b", "(?i)\\b(more)('n)\\b", "(?i)\\b(wan)(na)(?=\\s)",
        "(?i) ('t)(is)\\b", "(?i) ('t)(was)\\b",
    ].map { Rule($0, " $1 $2 ") }

    /// `NLTKWordTokenizer().tokenize(sentence)`.
    public static func tokenizeSentence(_ sentence: String) -> [String] {
        var text = sentence
        for rule in startingQuotes { text = rule.apply(text) }
        for rule in punctuation { text = rule.apply(text) }
        text = brackets.apply(text)
        text = doubleDashes.apply(text)
        text = " " + text + " "
        for rule in endingQuotes { text = rule.apply(text) }
        for rule in contractions { text = rule.apply(text) }
        return text.split(whereSeparator: \.isWhitespace).map(String.init)
    }
}
