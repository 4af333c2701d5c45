/// The expression language of `--obs-query` / `--var-query`:
///
///     query      := or
///     or         := and ("or" and)*
///     and        := not ("and" not)*
///     not        := "not" not | "(" query ")" | condition
///     condition  := COLUMN OP VALUE | COLUMN "in" list | COLUMN "not" "in" list
///                 | COLUMN "is" "null" | COLUMN "is" "not" "null"
///     list       := "[" (VALUE ("," VALUE)* ","?)? "]"
///     OP         := "==" | "!=" | "<" | "<=" | ">" | ">="
///
/// - COLUMN: a bare name (a letter or `_`, then letters, digits, `_` and `.`; Unicode letters
///   allowed) or any name in backquotes, taken literally (it cannot hold a backquote). The
///   keywords `and`, `or`, `not`, `in` (case-sensitive) are names only in backquotes.
/// - VALUE: an integer (`-12`, exact, within the `Int64` range), a decimal (`1.5`, `.5`, `2e-3`,
///   `nan`, `inf`, `-inf`), `true` / `false` (or `True` / `False`), or a string in single or
///   double quotes with the escapes `\\`, `\'`, `\"`, `\n`, `\t`, `\r`.
/// - Chains of `and` / `or` group from the left; an expression nests at most
///   `Query.maximumDepth` levels.
extension Query {
    /// The deepest query the parser builds (each `and`, `or`, `not` and parenthesis is a
    /// level): deeper expressions are refused instead of exhausting the stack.
    public static let maximumDepth = 1000

    /// Parses the expression language (see the grammar above); the error names the position
    /// (in `Character`s) of the first problem.
    public init(parsing text: String) throws(QueryParseError) {
        var lexer = QueryLexer(text)
        var parser = QueryParser(tokens: try lexer.tokens())
        self = try parser.parseAll()
    }
}

/// A token of the expression language and where it starts.
struct QueryToken: Sendable {
    enum Kind: Sendable, Equatable {
        /// A bare name (`quoted == false`, possibly a keyword) or a backquoted one.
        case name(String, quoted: Bool)
        case number(QueryValue)
        case string(String)
        case op(ComparisonOperator)
        case leftParen, rightParen, leftBracket, rightBracket, comma
        case end
    }
    var kind: Kind
    var position: Int

    /// How an error message names the token.
    var shown: String {
        switch kind {
        case .name(let n, let quoted): return quoted ? "the column `\(n)`" : "'\(n)'"
        case .number(let v): return "the number \(v)"
        case .string(let s): return "the string \(QueryValue.string(s))"
        case .op(let o): return "'\(o.rawValue)'"
        case .leftParen: return "'('"
        case .rightParen: return "')'"
        case .leftBracket: return "'['"
        case .rightBracket: return "']'"
        case .comma: return "','"
        case .end: return "the end of the expression"
        }
    }

    /// Whether this is the bare keyword `word`.
    func isKeyword(_ word: String) -> Bool {
        if case .name(word, quoted: false) = kind { return true }
        return false
    }
}

/// Splits an expression into tokens.
struct QueryLexer {
    /// The text as Unicode scalars (so that a quote or backquote is one even when a combining
    /// mark follows it), and each scalar's offset in `Character`s (one more for the end).
    let chars: [Unicode.Scalar]
    let offsets: [Int]
    var i = 0

    init(_ text: String) {
        chars = Array(text.unicodeScalars)
        var offsets: [Int] = []
        offsets.reserveCapacity(chars.count + 1)
        var k = 0
        for ch in text {
            for _ in ch.unicodeScalars { offsets.append(k) }
            k += 1
        }
        offsets.append(k)
        self.offsets = offsets
    }

    static let keywords: Set<String> = ["and", "or", "not", "in"]

    static func isNameStart(_ c: Unicode.Scalar) -> Bool { c.properties.isAlphabetic || c == "_" }
    static func isNameContinuation(_ c: Unicode.Scalar) -> Bool {
        if c.properties.isAlphabetic || c == "_" || c == "." || c.properties.numericType != nil { return true }
        switch c.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }
    static func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }

    /// Whether `name` can be written without backquotes and reads back as itself.
    static func isBareName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, isNameStart(first), name.unicodeScalars.allSatisfy(isNameContinuation) else { return false }
        return !keywords.contains(name)
    }

    func peek(_ offset: Int = 0) -> Unicode.Scalar? { i + offset < chars.count ? chars[i + offset] : nil }

    /// An error at the scalar index `position`.
    func error(_ message: String, at position: Int) -> QueryParseError {
        QueryParseError(message: message, position: offsets[min(max(position, 0), offsets.count - 1)])
    }

    mutating func tokens() throws(QueryParseError) -> [QueryToken] {
        var out: [QueryToken] = []
        while true {
            while let c = peek(), c.properties.isWhitespace { i += 1 }
            let start = i
            guard let c = peek() else {
                out.append(QueryToken(kind: .end, position: offsets[chars.count]))
                return out
            }
            func single(_ kind: QueryToken.Kind) -> QueryToken {
                i += 1
                return QueryToken(kind: kind, position: offsets[start])
            }
            switch c {
            case "(": out.append(single(.leftParen))
            case ")": out.append(single(.rightParen))
            case "[": out.append(single(.leftBracket))
            case "]": out.append(single(.rightBracket))
            case ",": out.append(single(.comma))
            case "=", "!", "<", ">":
                let two = peek(1) == "="
                let op: ComparisonOperator?
                switch (c, two) {
                case ("=", true): op = .equal
                case ("!", true): op = .notEqual
                case ("<", true): op = .lessOrEqual
                case (">", true): op = .greaterOrEqual
                case ("<", false): op = .less
                case (">", false): op = .greater
                default: op = nil
                }
                guard let op else {
                    throw error(c == "=" ? "'=' is not an operator; use '==' to compare" : "'!' is not an operator; use '!=' to compare, or 'not' to negate", at: start)
                }
                i += two ? 2 : 1
                out.append(QueryToken(kind: .op(op), position: offsets[start]))
            case "&": throw error("use 'and' instead of '&' to combine conditions", at: start)
            case "|": throw error("use 'or' instead of '|' to combine conditions", at: start)
            case "~": throw error("use 'not' instead of '~' to negate a condition", at: start)
            case "\"", "'": out.append(QueryToken(kind: .string(try string(quote: c)), position: offsets[start]))
            case "`":
                i += 1
                var name = ""
                while let d = peek(), d != "`" { name.unicodeScalars.append(d); i += 1 }
                guard peek() == "`" else { throw error("the backquoted name has no closing '`'", at: start) }
                i += 1
                guard !name.isEmpty else { throw error("empty column name in backquotes", at: start) }
                out.append(QueryToken(kind: .name(name, quoted: true), position: offsets[start]))
            case _ where c == "+" || c == "-" || c == "." || Self.isDigit(c):
                out.append(QueryToken(kind: .number(try number()), position: offsets[start]))
            case _ where Self.isNameStart(c):
                var name = ""
                while let d = peek(), Self.isNameContinuation(d) { name.unicodeScalars.append(d); i += 1 }
                out.append(QueryToken(kind: .name(name, quoted: false), position: offsets[start]))
            default:
                throw error("unexpected character '\(c)'", at: start)
            }
        }
    }

    /// A quoted string from the opening quote on.
    mutating func string(quote: Unicode.Scalar) throws(QueryParseError) -> String {
        let start = i
        i += 1
        var out = ""
        while let c = peek() {
            i += 1
            if c == quote { return out }
            if c == "\\" {
                guard let e = peek() else { break }
                switch e {
                case "\\", "'", "\"": out.unicodeScalars.append(e)
                case "n": out += "\n"
                case "t": out += "\t"
                case "r": out += "\r"
                default:
                    throw error("unknown escape '\\\(e)' in a string (use \\\\, \\', \\\", \\n, \\t or \\r)", at: i - 1)
                }
                i += 1
            } else {
                out.unicodeScalars.append(c)
            }
        }
        throw error("the string has no closing \(quote)", at: start)
    }

    /// A number (with an optional sign), `inf` or `nan` after a sign.
    mutating func number() throws(QueryParseError) -> QueryValue {
        let start = i
        var text = ""
        if let s = peek(), s == "+" || s == "-" {
            text.unicodeScalars.append(s)
            i += 1
        }
        // A signed `inf` / `nan`.
        if let c = peek(), Self.isNameStart(c) {
            var word = ""
            var j = i
            while j < chars.count, Self.isNameContinuation(chars[j]) { word.unicodeScalars.append(chars[j]); j += 1 }
            switch word {
            case "inf", "Inf":
                i = j
                return .double(text == "-" ? -.infinity : .infinity)
            case "nan", "NaN":
                i = j
                return .double(.nan)
            default:
                throw error("'\(text)' must be followed by a number", at: start)
            }
        }
        var digits = 0
        var isInteger = true
        while let c = peek(), Self.isDigit(c) { text.unicodeScalars.append(c); i += 1; digits += 1 }
        if peek() == "." {
            isInteger = false
            text.append("."); i += 1
            while let c = peek(), Self.isDigit(c) { text.unicodeScalars.append(c); i += 1; digits += 1 }
        }
        guard digits > 0 else {
            throw error(text.count == 1 && text != "." ? "'\(text)' must be followed by a number" : "malformed number '\(text)'", at: start)
        }
        if let e = peek(), e == "e" || e == "E" {
            isInteger = false
            text.unicodeScalars.append(e); i += 1
            if let s = peek(), s == "+" || s == "-" { text.unicodeScalars.append(s); i += 1 }
            var expDigits = 0
            while let c = peek(), Self.isDigit(c) { text.unicodeScalars.append(c); i += 1; expDigits += 1 }
            if expDigits == 0 { throw error("malformed number '\(text)': the exponent has no digits", at: start) }
        }
        if let c = peek(), Self.isNameContinuation(c) {
            var rest = text
            while let d = peek(), Self.isNameContinuation(d) { rest.unicodeScalars.append(d); i += 1 }
            throw error("malformed number '\(rest)' (a column name cannot start with a digit unless it is in backquotes)", at: start)
        }
        if isInteger {
            guard let v = Int64(text) else {
                throw error("the integer \(text) is outside the 64-bit signed range; write it as a decimal (e.g. \(text)e0 or \(text).0) to compare approximately", at: start)
            }
            return .integer(v)
        }
        guard let d = Double(text) else { throw error("malformed number '\(text)'", at: start) }
        return .double(d)
    }
}

/// A recursive-descent parser over the tokens.
struct QueryParser {
    let tokens: [QueryToken]
    var k = 0

    init(tokens: [QueryToken]) { self.tokens = tokens }

    var current: QueryToken { tokens[min(k, tokens.count - 1)] }

    func error(_ message: String, at token: QueryToken) -> QueryParseError {
        QueryParseError(message: message, position: token.position)
    }

    mutating func parseAll() throws(QueryParseError) -> Query {
        if case .end = current.kind { throw error("the expression is empty", at: current) }
        let (q, _) = try parseOr(nesting: 0)
        switch current.kind {
        case .end: return q
        case .rightParen: throw error("')' has no matching '('", at: current)
        default: throw error("unexpected \(current.shown) after a complete condition; combine conditions with 'and' or 'or'", at: current)
        }
    }

    /// Checks the depth of a node about to be built, or of a nesting level about to be entered.
    func check(_ depth: Int, at token: QueryToken) throws(QueryParseError) {
        if depth > Query.maximumDepth {
            throw error("the expression nests more than \(Query.maximumDepth) levels deep (use 'in [...]' for long lists of alternatives)", at: token)
        }
    }

    /// Returns the query and its depth (a condition is 1).
    mutating func parseOr(nesting: Int) throws(QueryParseError) -> (Query, Int) {
        var (left, depth) = try parseAnd(nesting: nesting)
        while current.isKeyword("or") {
            let op = current
            k += 1
            let (right, d) = try parseAnd(nesting: nesting)
            depth = max(depth, d) + 1
            try check(depth + nesting, at: op)
            left = .or(left, right)
        }
        return (left, depth)
    }

    mutating func parseAnd(nesting: Int) throws(QueryParseError) -> (Query, Int) {
        var (left, depth) = try parseNot(nesting: nesting)
        while current.isKeyword("and") {
            let op = current
            k += 1
            let (right, d) = try parseNot(nesting: nesting)
            depth = max(depth, d) + 1
            try check(depth + nesting, at: op)
            left = .and(left, right)
        }
        return (left, depth)
    }

    mutating func parseNot(nesting: Int) throws(QueryParseError) -> (Query, Int) {
        let token = current
        if token.isKeyword("not") {
            try check(nesting + 1, at: token)
            k += 1
            let (inner, d) = try parseNot(nesting: nesting + 1)
            return (.not(inner), d + 1)
        }
        if case .leftParen = token.kind {
            try check(nesting + 1, at: token)
            k += 1
            if case .rightParen = current.kind { throw error("empty parentheses: expected a condition", at: current) }
            let (inner, d) = try parseOr(nesting: nesting + 1)
            guard case .rightParen = current.kind else {
                throw error("expected ')' to close the '(' at position \(token.position), found \(current.shown)", at: current)
            }
            k += 1
            return (inner, d)
        }
        return (try parseCondition(), 1)
    }

    mutating func parseCondition() throws(QueryParseError) -> Query {
        let token = current
        let name: String
        switch token.kind {
        case .name(let n, let quoted):
            if !quoted, QueryLexer.keywords.contains(n) {
                throw error("expected a column name, found the keyword '\(n)' (write a column of that name in backquotes: `\(n)`)", at: token)
            }
            name = n
        case .number, .string:
            throw error("expected a column name, found \(token.shown) (write the column first: COLUMN OP VALUE)", at: token)
        case .end:
            throw error("expected a condition, found the end of the expression", at: token)
        default:
            throw error("expected a column name, found \(token.shown)", at: token)
        }
        k += 1
        let column = QueryColumn.named(name)
        let next = current
        switch next.kind {
        case .op(let op):
            k += 1
            return .compare(column, op, try parseValue(after: "'\(op.rawValue)'"))
        case .name("in", quoted: false):
            k += 1
            return .isIn(column, try parseList(after: "'in'"))
        case .name("not", quoted: false):
            k += 1
            guard current.isKeyword("in") else { throw error("expected 'in' after 'not', found \(current.shown)", at: current) }
            k += 1
            return .notIn(column, try parseList(after: "'not in'"))
        case .name("is", quoted: false):
            k += 1
            var negated = false
            if current.isKeyword("not") { negated = true; k += 1 }
            guard current.isKeyword("null") else {
                throw error("expected 'null' after '\(negated ? "is not" : "is")', found \(current.shown)", at: current)
            }
            k += 1
            return negated ? .not(.isNull(column)) : .isNull(column)
        default:
            throw error("expected an operator (==, !=, <, <=, >, >=, in, not in, is null) after the column \(QueryColumn.named(name)), found \(next.shown)", at: next)
        }
    }

    mutating func parseValue(after what: String) throws(QueryParseError) -> QueryValue {
        let token = current
        switch token.kind {
        case .number(let v): k += 1; return v
        case .string(let s): k += 1; return .string(s)
        case .name(let n, quoted: false):
            let value: QueryValue?
            switch n {
            case "true", "True": value = .bool(true)
            case "false", "False": value = .bool(false)
            case "nan", "NaN": value = .double(.nan)
            case "inf", "Inf": value = .double(.infinity)
            default: value = nil
            }
            if let value { k += 1; return value }
            throw error("expected a value after \(what) (a number, true, false or a quoted string), found '\(n)'; quote strings: \(QueryValue.string(n))", at: token)
        default:
            throw error("expected a value after \(what) (a number, true, false or a quoted string), found \(token.shown)", at: token)
        }
    }

    mutating func parseList(after what: String) throws(QueryParseError) -> [QueryValue] {
        let open = current
        guard case .leftBracket = open.kind else { throw error("expected '[' after \(what), found \(open.shown)", at: open) }
        k += 1
        var values: [QueryValue] = []
        while true {
            if case .rightBracket = current.kind { k += 1; return values }
            values.append(try parseValue(after: values.isEmpty ? "'['" : "','"))
            switch current.kind {
            case .comma: k += 1
            case .rightBracket: k += 1; return values
            default:
                throw error("expected ',' or ']' in the list opened at position \(open.position), found \(current.shown)", at: current)
            }
        }
    }
}
