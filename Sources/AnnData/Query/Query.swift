/// A column reference in a query: the data frame's index, or a column by name.
///
/// The parser produces `.named(name)` for every column, `index` included; at evaluation
/// `.named("index")` means the index unless the frame has a column named `index`, while
/// `.index` always means the index.
public enum QueryColumn: Sendable, Hashable {
    /// The index (row labels) of the frame.
    case index
    /// The column of this name (or the index for `"index"` when no column has that name).
    case named(String)
}

/// A comparison of a column's value with a literal.
public enum ComparisonOperator: String, Sendable, Hashable, CaseIterable {
    /// `==`
    case equal = "=="
    /// `!=`
    case notEqual = "!="
    /// `<`
    case less = "<"
    /// `<=`
    case lessOrEqual = "<="
    /// `>`
    case greater = ">"
    /// `>=`
    case greaterOrEqual = ">="
}

/// A literal of a query.
///
/// Integers are exact 64-bit signed values: a column of 64-bit integers (`Int64` or `UInt64`,
/// beyond 2^53 too) compares exactly with them. The parser refuses integer literals outside the
/// `Int64` range (write a decimal such as `1.8e19` to compare approximately). A number with a
/// decimal point or an exponent, and `nan` / `inf`, are `.double`.
///
/// Bools count as the numbers 0 and 1, as in Python: a bool column compares with `0`, `1` or
/// `1.0`, and a number column with `true` / `false`. A NaN literal is unequal to itself here too
/// (`==` follows `Double`), and every comparison with it but `!=` is false.
public enum QueryValue: Sendable, Hashable {
    /// An integer.
    case integer(Int64)
    /// A floating-point number.
    case double(Double)
    /// `true` or `false`.
    case bool(Bool)
    /// A string.
    case string(String)
}

/// A predicate on the rows of a data frame (obs or var): comparisons of columns (or the index)
/// with literals, membership and null tests, combined with `and`, `or` and `not`.
///
/// Every test of a row whose value is missing (masked in a nullable column, code -1 in a
/// categorical, NaN in a float column, a missing index label) is false, `!=` and `not in`
/// included; only `isNull` is true there. `not` negates the result of what it encloses, so
/// `.not(.isIn(c, l))` is true on a missing value while `.notIn(c, l)` is false.
///
/// `Query(parsing:)` reads the CLI's expression language; `description` writes it back.
public indirect enum Query: Sendable, Hashable {
    /// `COL OP VALUE`.
    case compare(QueryColumn, ComparisonOperator, QueryValue)
    /// `COL in [V1, V2, ...]`: the value equals one of the literals.
    case isIn(QueryColumn, [QueryValue])
    /// `COL not in [V1, V2, ...]`: the value is present and equals none of the literals (false on
    /// a missing value, unlike `.not(.isIn(...))`).
    case notIn(QueryColumn, [QueryValue])
    /// `COL is null`: the value is missing.
    case isNull(QueryColumn)
    /// Both hold.
    case and(Query, Query)
    /// Either holds.
    case or(Query, Query)
    /// The enclosed query does not hold.
    case not(Query)
}

/// A data frame that a query reads its columns from. `DataFrame` conforms; a lazy frame
/// conforms by reading only the columns asked for.
public protocol QueryFrame: Sendable {
    /// The number of rows.
    var rowCount: Int { get }
    /// The names of the columns (not the index), in order.
    var columnNames: [String] { get }
    /// One whole column (a lazy frame reads only that column from its store).
    func queryColumn(_ name: String) async throws(AnnDataError) -> Column
    /// The index column (strings or nullable strings).
    func queryIndex() async throws(AnnDataError) -> Column
}

/// A malformed query expression: what is wrong, and where.
public struct QueryParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// The 0-based offset in the text, in `Character`s (what a reader counts), where the
    /// problem is; the text's length when the expression ends too early.
    public var position: Int

    /// An error at `position` of the text.
    public init(message: String, position: Int) {
        self.message = message
        self.position = position
    }

    /// `at position N: message`.
    public var description: String { "at position \(position): \(message)" }
}

extension Query {
    /// The columns the query reads, in order of first appearance, without repeats.
    public var referencedColumns: [QueryColumn] {
        var seen = Set<QueryColumn>()
        var out: [QueryColumn] = []
        // An explicit stack (right pushed first) keeps left-to-right order without recursion.
        var stack: [Query] = [self]
        while let q = stack.popLast() {
            switch q {
            case .compare(let c, _, _), .isIn(let c, _), .notIn(let c, _), .isNull(let c):
                if seen.insert(c).inserted { out.append(c) }
            case .and(let l, let r), .or(let l, let r):
                stack.append(r)
                stack.append(l)
            case .not(let q):
                stack.append(q)
            }
        }
        return out
    }
}

extension QueryColumn: CustomStringConvertible {
    /// The column as the expression language writes it: a bare name where the grammar reads
    /// it back as this name, else the name in backquotes; `.index` is `index`.
    public var description: String {
        switch self {
        case .index: return "index"
        case .named(let n): return QueryLexer.isBareName(n) ? n : "`\(n)`"
        }
    }
}

extension QueryValue: CustomStringConvertible {
    /// The literal as the expression language writes it (strings in double quotes, with `\`
    /// escapes; doubles in their shortest round-tripping form, `nan`, `inf`, `-inf`).
    public var description: String {
        switch self {
        case .integer(let i): return String(i)
        case .double(let d):
            if d.isNaN { return "nan" }
            if d.isInfinite { return d < 0 ? "-inf" : "inf" }
            return d.description
        case .bool(let b): return b ? "true" : "false"
        case .string(let s):
            var out = "\""
            for c in s.unicodeScalars {
                switch c {
                case "\\": out += "\\\\"
                case "\"": out += "\\\""
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                default: out.unicodeScalars.append(c)
                }
            }
            return out + "\""
        }
    }
}

extension Query: CustomStringConvertible {
    /// The query in the expression language, with parentheses only where the precedence
    /// (`not` > `and` > `or`, chains grouped from the left) needs them; `Query(parsing:)` reads
    /// it back as an equal query (`.index` reads back as `.named("index")`).
    public var description: String {
        var out = ""
        Query.write(self, minimum: 1, to: &out)
        return out
    }

    /// 1 = or, 2 = and, 3 = not, 4 = a single condition.
    private var precedence: Int {
        switch self {
        case .or: return 1
        case .and: return 2
        case .not(.isNull): return 4
        case .not: return 3
        default: return 4
        }
    }

    private static func write(_ q: Query, minimum: Int, to out: inout String) {
        let wrap = q.precedence < minimum
        if wrap { out += "(" }
        switch q {
        case .compare(let c, let op, let v): out += "\(c) \(op.rawValue) \(v)"
        case .isIn(let c, let vs): out += "\(c) in [\(vs.map(\.description).joined(separator: ", "))]"
        case .notIn(let c, let vs): out += "\(c) not in [\(vs.map(\.description).joined(separator: ", "))]"
        case .isNull(let c): out += "\(c) is null"
        case .not(.isNull(let c)): out += "\(c) is not null"
        case .and(let l, let r):
            write(l, minimum: 2, to: &out); out += " and "; write(r, minimum: 3, to: &out)
        case .or(let l, let r):
            write(l, minimum: 1, to: &out); out += " or "; write(r, minimum: 2, to: &out)
        case .not(let e):
            out += "not "; write(e, minimum: 3, to: &out)
        }
        if wrap { out += ")" }
    }
}
