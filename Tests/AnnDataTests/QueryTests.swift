import AnnData
import Testing
import Zarr

/// The query layer: the `--obs-query` expression parser (tree, precedence, errors with their
/// positions, round trips) and evaluation over every column kind of a data frame.
@Suite("Queries")
struct QueryTests {
    // MARK: - Fixtures

    static let n = 8

    /// A frame with every column kind, missing values of each kind, and awkward names.
    static func frame() throws -> DataFrame {
        func strings(_ s: [String]) throws -> NDArray { try NDArray(strings: s, shape: [s.count]) }
        let cols: OrderedDict<Column> = [
            "i64": .array(try NDArray([Int64(1), 2, 3, -4, 5, 9_007_199_254_740_992, 9_007_199_254_740_993, .min], shape: [n])),
            "i32": .array(try NDArray([Int32(0), 1, 2, 3, 4, 5, 6, -7], shape: [n])),
            "u8": .array(try NDArray([UInt8(0), 1, 2, 3, 255, 5, 6, 7], shape: [n])),
            "u64": .array(try NDArray([UInt64(0), 1, 9_007_199_254_740_992, 9_007_199_254_740_993, 1 << 63, .max, 5, 6], shape: [n])),
            "f64": .array(try NDArray([0.5, .nan, 1.0, 2.5, -1, .nan, 1e300, -0.0], shape: [n])),
            "f32": .array(try NDArray([Float(0.5), 0.1, .nan, 1, 2, 3, 4, 5], shape: [n])),
            "f16": .array(try NDArray([Float16(0.5), 1, 1.5, .nan, 2, 2.5, 3, 3.5], shape: [n])),
            "flag": .array(try NDArray([true, false, true, false, true, false, true, false], shape: [n])),
            // "B" < "a" and "z" < "é" by code point; the decomposed "e\u{301}" < "f".
            "s": .strings(["a", "b", "B", "\u{E9}", "e\u{301}", "", "z", "a"]),
            "nint": .nullableInteger(try NullableArray(
                values: try NDArray([Int32(1), 2, 3, 0, 5, 0, 3, 8], shape: [n]),
                mask: [false, false, false, true, false, true, false, false])),
            "nbool": .nullableBoolean(try NullableArray(
                values: try NDArray([true, false, false, true, false, true, false, true], shape: [n]),
                mask: [false, false, true, false, false, false, true, false])),
            "nstr": .nullableStrings(try NullableStrings(
                values: ["x", "y", "", "x", "", "z", "y", "x"],
                mask: [false, false, true, false, true, false, false, false])),
            "cat": .categorical(try Categorical(codes: [0, 1, 2, -1, 0, 1, 2, -1], categories: ["a", "b", "c"])),
            // By order low < mid < high; by value "high" < "low" < "mid".
            "ord": .categorical(try Categorical(codes: [0, 1, 2, -1, 2, 1, 0, 0], categories: ["low", "mid", "high"], ordered: true)),
            "icat": .categorical(try Categorical(
                codes: try NDArray([Int8(0), 1, 2, -1, 0, 1, 2, 2], shape: [n]),
                categories: try NDArray([Int64(10), 20, 30], shape: [3]))),
            "nullable-int": .nullableInteger(try NullableArray(
                values: try NDArray([Int8(0), 1, 2, 3, 4, 5, 6, 7], shape: [n]), mask: [true, false, false, false, false, false, false, false])),
            "with space": .strings(["p", "q", "p", "q", "p", "q", "p", "q"]),
            "a.b": .array(try NDArray([Int16(1), 1, 1, 1, 2, 2, 2, 2], shape: [n])),
            "\u{F1}ame": .strings(["n", "n", "n", "n", "m", "m", "m", "m"]),
        ]
        return try DataFrame(index: (0..<n).map { "c\($0)" }, columns: cols)
    }

    /// A frame with a column literally named `index` and a nullable index with a missing label.
    static func frameWithIndexColumn() throws -> DataFrame {
        try DataFrame(
            indexColumn: .nullableStrings(try NullableStrings(values: ["r0", "r1", "", "r3"], mask: [false, false, true, false])),
            columns: ["index": .strings(["x", "r1", "r0", "x"])])
    }

    func rows(_ text: String, _ frame: DataFrame? = nil) async throws -> [Int] {
        let f = try frame ?? Self.frame()
        let m = try await Query(parsing: text).evaluate(on: f, path: "obs")
        #expect(m.count == f.rowCount)
        return m.indices.filter { m[$0] }
    }

    func rows(_ query: Query, _ frame: DataFrame) async throws -> [Int] {
        let m = try await query.evaluate(on: frame, path: "obs")
        return m.indices.filter { m[$0] }
    }

    func evaluationError(_ text: String) async throws -> AnnDataError? {
        let q = try Query(parsing: text)
        let frame = try Self.frame()
        do {
            _ = try await q.evaluate(on: frame, path: "obs")
            return nil
        } catch {
            return error
        }
    }

    func parseError(_ text: String) -> QueryParseError? {
        do {
            _ = try Query(parsing: text)
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Parsing

    @Test func precedenceIsNotThenAndThenOr() throws {
        let a = Query.compare(.named("a"), .equal, .integer(1))
        let b = Query.compare(.named("b"), .equal, .integer(2))
        let c = Query.compare(.named("c"), .equal, .integer(3))
        #expect(try Query(parsing: "a == 1 or b == 2 and not c == 3") == .or(a, .and(b, .not(c))))
        #expect(try Query(parsing: "not a == 1 and b == 2") == .and(.not(a), b))
        #expect(try Query(parsing: "a == 1 and b == 2 or c == 3") == .or(.and(a, b), c))
        #expect(try Query(parsing: "(a == 1 or b == 2) and c == 3") == .and(.or(a, b), c))
        #expect(try Query(parsing: "not (a == 1 or b == 2)") == .not(.or(a, b)))
        #expect(try Query(parsing: "not not a == 1") == .not(.not(a)))
        // Chains group from the left.
        #expect(try Query(parsing: "a == 1 and b == 2 and c == 3") == .and(.and(a, b), c))
        #expect(try Query(parsing: "a == 1 or b == 2 or c == 3") == .or(.or(a, b), c))
        #expect(try Query(parsing: "((a == 1))") == a)
    }

    @Test func conditionsAndValues() throws {
        let x = QueryColumn.named("x")
        #expect(try Query(parsing: "x==1") == .compare(x, .equal, .integer(1)))
        for op in ComparisonOperator.allCases {
            #expect(try Query(parsing: "x \(op.rawValue) -12") == .compare(x, op, .integer(-12)))
        }
        #expect(try Query(parsing: "x == +7") == .compare(x, .equal, .integer(7)))
        #expect(try Query(parsing: "x == 9223372036854775807") == .compare(x, .equal, .integer(.max)))
        #expect(try Query(parsing: "x == -9223372036854775808") == .compare(x, .equal, .integer(.min)))
        #expect(try Query(parsing: "x < 1.5") == .compare(x, .less, .double(1.5)))
        #expect(try Query(parsing: "x < .5") == .compare(x, .less, .double(0.5)))
        #expect(try Query(parsing: "x < 2.") == .compare(x, .less, .double(2)))
        #expect(try Query(parsing: "x < -2e-3") == .compare(x, .less, .double(-0.002)))
        #expect(try Query(parsing: "x < 1E3") == .compare(x, .less, .double(1000)))
        #expect(try Query(parsing: "x < inf") == .compare(x, .less, .double(.infinity)))
        #expect(try Query(parsing: "x > -inf") == .compare(x, .greater, .double(-.infinity)))
        guard case .compare(_, _, .double(let nan)) = try Query(parsing: "x != nan"), nan.isNaN else {
            Issue.record("nan is not a NaN double"); return
        }
        #expect(try Query(parsing: "x == true") == .compare(x, .equal, .bool(true)))
        #expect(try Query(parsing: "x == True") == .compare(x, .equal, .bool(true)))
        #expect(try Query(parsing: "x != false") == .compare(x, .notEqual, .bool(false)))
        #expect(try Query(parsing: "x != False") == .compare(x, .notEqual, .bool(false)))
        #expect(try Query(parsing: #"x == 'it\'s'"#) == .compare(x, .equal, .string("it's")))
        #expect(try Query(parsing: #"x == "say \"hi\"""#) == .compare(x, .equal, .string(#"say "hi""#)))
        #expect(try Query(parsing: #"x == 'a\\b\n\t\r'"#) == .compare(x, .equal, .string("a\\b\n\t\r")))
        #expect(try Query(parsing: #"x == "it's""#) == .compare(x, .equal, .string("it's")))
        #expect(try Query(parsing: "x == ''") == .compare(x, .equal, .string("")))
        #expect(try Query(parsing: "x == 'a and b or (c)'") == .compare(x, .equal, .string("a and b or (c)")))
        #expect(try Query(parsing: "x in []") == .isIn(x, []))
        #expect(try Query(parsing: "x in [1, 'a', 2.5, true,]") == .isIn(x, [.integer(1), .string("a"), .double(2.5), .bool(true)]))
        #expect(try Query(parsing: "x not in ['a']") == .notIn(x, [.string("a")]))
        #expect(try Query(parsing: "x is null") == .isNull(x))
        #expect(try Query(parsing: "x is not null") == .not(.isNull(x)))
    }

    @Test func columnNames() throws {
        #expect(try Query(parsing: "`nullable-int` > 1") == .compare(.named("nullable-int"), .greater, .integer(1)))
        #expect(try Query(parsing: "`with space`=='p'") == .compare(.named("with space"), .equal, .string("p")))
        #expect(try Query(parsing: "`and` == 1") == .compare(.named("and"), .equal, .integer(1)))
        #expect(try Query(parsing: "`1st` == 1") == .compare(.named("1st"), .equal, .integer(1)))
        #expect(try Query(parsing: "a.b == 1") == .compare(.named("a.b"), .equal, .integer(1)))
        #expect(try Query(parsing: "_x9 == 1") == .compare(.named("_x9"), .equal, .integer(1)))
        #expect(try Query(parsing: "ñame == 'n'") == .compare(.named("ñame"), .equal, .string("n")))
        #expect(try Query(parsing: "細胞 == 'n'") == .compare(.named("細胞"), .equal, .string("n")))
        #expect(try Query(parsing: "index == 'c1'") == .compare(.named("index"), .equal, .string("c1")))
        // Words that are keywords only elsewhere are names in a column's place.
        #expect(try Query(parsing: "is == 1 and null == 2 and true == 3") == .and(.and(
            .compare(.named("is"), .equal, .integer(1)), .compare(.named("null"), .equal, .integer(2))),
            .compare(.named("true"), .equal, .integer(3))))
    }

    @Test func textIsReadScalarByScalar() throws {
        // A quote followed by a combining mark still opens and closes a string, and names keep
        // their exact spelling (Swift's `==` on strings would hide a normalisation).
        guard case .compare(_, _, .string(let v)) = try Query(parsing: "s == '\u{301}x' "), case .isIn(.named(let name), _) = try Query(parsing: "n\u{303}ame in []"),
              case .compare(.named(let quoted), _, _) = try Query(parsing: "`\u{301}q` == 1")
        else { Issue.record("not parsed as expected"); return }
        #expect(Array(v.utf8) == Array("\u{301}x".utf8))
        #expect(Array(name.utf8) == Array("n\u{303}ame".utf8))
        #expect(Array(quoted.utf8) == Array("\u{301}q".utf8))
        #expect(QueryColumn.named("n\u{303}ame").description == "n\u{303}ame")
        #expect(QueryColumn.named("\u{301}q").description == "`\u{301}q`")
    }

    @Test func descriptionRoundTrips() throws {
        let texts = [
            "a == 1", "a != -2", "a < 1.5", "a <= 1e-05", "a > inf", "a >= -inf", "a == true", "a == false",
            #"a == "q\"uote\\ and \n""#, "a in []", "a in [1, 2.5, \"x\", true]", "a not in [\"x\"]",
            "a is null", "a is not null", "not a is not null", "not a == 1",
            "a == 1 and b == 2 and c == 3", "a == 1 and (b == 2 and c == 3)", "a == 1 or b == 2 and c == 3",
            "(a == 1 or b == 2) and c == 3", "a == 1 or (b == 2 or c == 3)", "not (a == 1 and b == 2)", "not not a == 1",
            "`nullable-int` > 1", "`with space` == \"p\"", "`and` == 1", "`1st` == 1", "a.b == 1", "ñame == \"n\"",
            "x == 1.0e300", "x == 123456789012345678", "not (a in [1] or not b not in [2])",
        ]
        for text in texts {
            let q = try Query(parsing: text)
            let again = try Query(parsing: q.description)
            #expect(again == q, "\(text) -> \(q.description)")
        }
        // The canonical form: parentheses only where needed, strings in double quotes.
        #expect(try Query(parsing: "((a==1) or (b==2 and (c=='x')))").description == #"a == 1 or b == 2 and c == "x""#)
        #expect(try Query(parsing: "a == 1 and (b == 2 or c == 3)").description == "a == 1 and (b == 2 or c == 3)")
        #expect(try Query(parsing: "`a-b` in [ 1 , 2 ]").description == "`a-b` in [1, 2]")
        #expect(try Query(parsing: "not x is null").description == "x is not null")
        #expect(Query.compare(.index, .equal, .string("c1")).description == #"index == "c1""#)
        #expect(Query.not(.and(.isNull(.named("a")), .isNull(.named("b")))).description == "not (a is null and b is null)")
    }

    @Test func parseErrorsCarryTheirPosition() {
        let cases: [(String, Int, String)] = [
            ("", 0, "the expression is empty"),
            ("x ==", 4, "expected a value after '=='"),
            ("x == 1 and", 10, "expected a condition, found the end of the expression"),
            ("x = 1", 2, "'=' is not an operator"),
            ("x ! 1", 2, "'!' is not an operator"),
            ("x == 'abc", 5, "the string has no closing '"),
            (#"x == "abc"#, 5, "the string has no closing \""),
            (#"x == 'a\q'"#, 7, "unknown escape '\\q'"),
            ("(x == 1", 7, "expected ')' to close the '(' at position 0"),
            ("x == 1)", 6, "')' has no matching '('"),
            ("x in [1, 2", 10, "expected ',' or ']' in the list opened at position 5"),
            ("x in [1 2]", 8, "expected ',' or ']'"),
            ("x in [1,,2]", 8, "expected a value after ','"),
            ("x in 1", 5, "expected '[' after 'in'"),
            ("x not 1", 6, "expected 'in' after 'not'"),
            ("x not in 'a'", 9, "expected '[' after 'not in'"),
            ("and == 1", 0, "keyword 'and'"),
            ("x == 1 and in == 2", 11, "keyword 'in'"),
            ("x == abc", 5, "quote strings: \"abc\""),
            ("x == 1 y == 2", 7, "unexpected 'y' after a complete condition"),
            ("x 1", 2, "expected an operator (==, !=, <, <=, >, >=, in, not in, is null) after the column x"),
            ("x", 1, "expected an operator"),
            ("1 == x", 0, "write the column first"),
            ("'a' == x", 0, "write the column first"),
            ("== 1", 0, "expected a column name, found '=='"),
            ("x == 1.2.3", 5, "malformed number '1.2.3'"),
            ("x == 1e", 5, "the exponent has no digits"),
            ("x == 12abc", 5, "malformed number '12abc'"),
            ("x == 99999999999999999999", 5, "outside the 64-bit signed range"),
            ("x == - 1", 5, "'-' must be followed by a number"),
            ("x == -abc", 5, "'-' must be followed by a number"),
            ("`abc == 1", 0, "no closing '`'"),
            ("`` == 1", 0, "empty column name"),
            ("x == 1 && y == 2", 7, "use 'and' instead of '&'"),
            ("x == 1 | y == 2", 7, "use 'or' instead of '|'"),
            ("~x == 1", 0, "use 'not' instead of '~'"),
            ("x == 1 and ()", 12, "empty parentheses"),
            ("x is 1", 5, "expected 'null' after 'is'"),
            ("x is not 1", 9, "expected 'null' after 'is not'"),
            ("x == $", 5, "unexpected character '$'"),
            ("x == ]", 5, "expected a value after '==' (a number, true, false or a quoted string), found ']'"),
            // Positions count characters: the decomposed é is one.
            ("ñame == 'e\u{301}' and ü", 17, "after the column ü, found the end of the expression"),
            ("`a\u{301}b` == x", 8, "quote strings"),
            ("x == '\u{301}", 5, "the string has no closing '"),
        ]
        for (text, position, message) in cases {
            guard let e = parseError(text) else {
                Issue.record("'\(text)' parsed")
                continue
            }
            #expect(e.position == position, "'\(text)': \(e)")
            #expect(e.message.contains(message), "'\(text)': \(e)")
            #expect(e.description == "at position \(e.position): \(e.message)")
        }
        #expect(parseError("x ==")?.description.hasPrefix("at position 4: expected a value after '=='") == true)
    }

    @Test func nestingIsBounded() throws {
        let term = "x == 1"
        let chain = Array(repeating: term, count: Query.maximumDepth).joined(separator: " or ")
        let q = try Query(parsing: chain)
        #expect(try Query(parsing: q.description) == q)
        #expect(q.referencedColumns == [.named("x")])
        let tooLong = chain + " or " + term
        #expect(parseError(tooLong)?.message.contains("nests more than") == true)
        let parens = String(repeating: "(", count: 5000) + term + String(repeating: ")", count: 5000)
        #expect(parseError(parens)?.message.contains("nests more than") == true)
        let nots = String(repeating: "not ", count: 5000) + term
        #expect(parseError(nots)?.message.contains("nests more than") == true)
        #expect(try Query(parsing: String(repeating: "not ", count: 500) + term) != q)
    }

    @Test func referencedColumnsInOrderWithoutRepeats() throws {
        let q = try Query(parsing: "b == 1 and (a in [1] or not b > 2) and c is null or index == 'x' or a == 2")
        #expect(q.referencedColumns == [.named("b"), .named("a"), .named("c"), .named("index")])
        #expect(Query.and(.isNull(.index), .isNull(.named("index"))).referencedColumns == [.index, .named("index")])
    }

    // MARK: - Evaluation

    @Test func integers() async throws {
        #expect(try await rows("i64 == 3") == [2])
        #expect(try await rows("i64 != 3") == [0, 1, 3, 4, 5, 6, 7])
        #expect(try await rows("i64 < 2") == [0, 3, 7])
        #expect(try await rows("i64 <= 2") == [0, 1, 3, 7])
        #expect(try await rows("i64 > 5") == [5, 6])
        #expect(try await rows("i64 >= 5") == [4, 5, 6])
        #expect(try await rows("i64 in [1, 5, 99]") == [0, 4])
        #expect(try await rows("i64 not in [1, 5, 99]") == [1, 2, 3, 5, 6, 7])
        #expect(try await rows("i64 == -9223372036854775808") == [7])
        // Exact beyond 2^53: a double literal is its exact value.
        #expect(try await rows("i64 == 9007199254740993") == [6])
        #expect(try await rows("i64 == 9007199254740992.0") == [5])
        #expect(try await rows("i64 > 9007199254740992.0") == [6])
        #expect(try await rows("i64 < 2.5") == [0, 1, 3, 7])
        #expect(try await rows("i64 == 2.0") == [1])
        #expect(try await rows("i64 == 2.5") == [])
        #expect(try await rows("i64 in [2.0, 3.5]") == [1])
        #expect(try await rows("i64 < -1e300 or i64 > 1e300") == [])
        #expect(try await rows("i64 != nan") == Array(0..<8))
        #expect(try await rows("i64 == nan or i64 < nan") == [])
        #expect(try await rows("i32 < 0") == [7])
        #expect(try await rows("i32 == true") == [1])
        #expect(try await rows("u8 == 255") == [4])
        #expect(try await rows("u8 > -1") == Array(0..<8))
        #expect(try await rows("u8 < 0") == [])
        #expect(try await rows("u8 >= 254.5") == [4])
        #expect(try await rows("a.b == 2") == [4, 5, 6, 7])
    }

    @Test func unsignedBeyondInt64() async throws {
        #expect(try await rows("u64 > 9223372036854775807") == [4, 5])
        #expect(try await rows("u64 >= 9.223372036854775808e18") == [4, 5])
        #expect(try await rows("u64 > 9.223372036854775808e18") == [5])
        #expect(try await rows("u64 == 1.8446744073709551615e19") == [], "2^64 as a double is above UInt64.max")
        #expect(try await rows("u64 < 1.8446744073709551616e19") == Array(0..<8))
        #expect(try await rows("u64 == 9007199254740993") == [3])
        #expect(try await rows("u64 == 9007199254740992.0") == [2])
        #expect(try await rows("u64 in [-1, 0, 1.0]") == [0, 1])
        #expect(try await rows("u64 >= -5") == Array(0..<8))
        #expect(try await rows("u64 == -1") == [])
        #expect(try await rows("u64 != -1") == Array(0..<8))
        // Membership through a set (more than 16 literals).
        let many = (100..<120).map(String.init).joined(separator: ", ")
        #expect(try await rows("u64 in [\(many), 9007199254740993, 0]") == [0, 3])
        #expect(try await rows("i64 in [\(many), 9007199254740993, 3.0]") == [2, 6])
        #expect(try await rows("i64 not in [\(many), 9007199254740993, 3.0]") == [0, 1, 3, 4, 5, 7])
    }

    @Test func floatsWithNaN() async throws {
        #expect(try await rows("f64 == 0.5") == [0])
        #expect(try await rows("f64 == 1") == [2])
        #expect(try await rows("f64 != 1") == [0, 3, 4, 6, 7], "NaN rows are missing: != is false there")
        #expect(try await rows("not f64 == 1") == [0, 1, 3, 4, 5, 6, 7], "not negates: NaN rows pass")
        #expect(try await rows("f64 not in [1, 2.5]") == [0, 4, 6, 7])
        #expect(try await rows("not f64 in [1, 2.5]") == [0, 1, 4, 5, 6, 7])
        #expect(try await rows("f64 > -inf") == [0, 2, 3, 4, 6, 7])
        #expect(try await rows("f64 is null") == [1, 5])
        #expect(try await rows("f64 is not null") == [0, 2, 3, 4, 6, 7])
        #expect(try await rows("f64 == 0") == [7], "-0.0 == 0")
        #expect(try await rows("f64 == 0.0") == [7])
        #expect(try await rows("f64 in [0, 1e300]") == [6, 7])
        #expect(try await rows("f64 > 9223372036854775807") == [6])
        #expect(try await rows("f64 == nan") == [])
        #expect(try await rows("f64 != nan") == [0, 2, 3, 4, 6, 7])
        #expect(try await rows("f64 == true") == [2])
        // float32 0.1 is not the double 0.1 (as numpy compares).
        #expect(try await rows("f32 == 0.1") == [])
        #expect(try await rows("f32 < 0.11 and f32 > 0.09") == [1])
        #expect(try await rows("f32 >= 3") == [5, 6, 7])
        #expect(try await rows("f32 is null") == [2])
        #expect(try await rows("f16 == 1.5") == [2])
        #expect(try await rows("f16 != 1.5") == [0, 1, 4, 5, 6, 7])
        let many = (100..<120).map(String.init).joined(separator: ", ")
        #expect(try await rows("f64 in [\(many), 2.5, 1]") == [2, 3])
    }

    @Test func bools() async throws {
        #expect(try await rows("flag == true") == [0, 2, 4, 6])
        #expect(try await rows("flag == True") == [0, 2, 4, 6])
        #expect(try await rows("flag != false") == [0, 2, 4, 6])
        #expect(try await rows("flag == 1") == [0, 2, 4, 6])
        #expect(try await rows("flag == 0.0") == [1, 3, 5, 7])
        #expect(try await rows("flag > false") == [0, 2, 4, 6])
        #expect(try await rows("flag in [False]") == [1, 3, 5, 7])
        #expect(try await rows("flag in [2]") == [])
        #expect(try await rows("not flag == true") == [1, 3, 5, 7])
    }

    @Test func stringsByCodePoint() async throws {
        #expect(try await rows("s == 'a'") == [0, 7])
        #expect(try await rows("s != 'a'") == [1, 2, 3, 4, 5, 6])
        #expect(try await rows("s == ''") == [5])
        #expect(try await rows("s < 'a'") == [2, 5], "'B' and '' sort before 'a'")
        #expect(try await rows("s >= 'b'") == [1, 3, 4, 6])
        #expect(try await rows("s > 'z'") == [3], "U+00E9 is above 'z'; the decomposed e + U+0301 is not")
        #expect(try await rows("s < 'f' and s > 'e'") == [4], "the decomposed é starts with 'e'")
        #expect(try await rows("s == '\u{E9}'") == [3], "precomposed and decomposed é are different strings")
        #expect(try await rows("s == 'e\u{301}'") == [4])
        #expect(try await rows("s in ['b', 'z', 'nope']") == [1, 6])
        #expect(try await rows("s not in ['b', 'z', 'nope']") == [0, 2, 3, 4, 5, 7])
        #expect(try await rows("s in []") == [])
        #expect(try await rows("s not in []") == Array(0..<8))
        #expect(try await rows("s is null") == [])
        let many = (0..<20).map { "'w\($0)'" }.joined(separator: ", ")
        #expect(try await rows("s in [\(many), '\u{E9}', 'B']") == [2, 3], "a long list is exact too")
        #expect(try await rows("s in [\(many), 'e\u{301}']") == [4])
        #expect(try await rows("s not in [\(many), '\u{E9}']") == [0, 1, 2, 4, 5, 6, 7])
        #expect(try await rows("`with space` == 'p' and ñame == 'm'") == [4, 6])
    }

    @Test func nullableColumns() async throws {
        // nint: [1, 2, 3, -, 5, -, 3, 8]
        #expect(try await rows("nint == 3") == [2, 6])
        #expect(try await rows("nint != 3") == [0, 1, 4, 7])
        #expect(try await rows("not nint == 3") == [0, 1, 3, 4, 5, 7])
        #expect(try await rows("nint not in [3, 5]") == [0, 1, 7])
        #expect(try await rows("not nint in [3, 5]") == [0, 1, 3, 5, 7])
        #expect(try await rows("nint == 0") == [], "masked values (stored as 0) are missing")
        #expect(try await rows("nint < 100") == [0, 1, 2, 4, 6, 7])
        #expect(try await rows("nint is null") == [3, 5])
        #expect(try await rows("nint is not null") == [0, 1, 2, 4, 6, 7])
        #expect(try await rows("`nullable-int` >= 0") == [1, 2, 3, 4, 5, 6, 7])
        // nbool: [t, f, -, t, f, t, -, t]
        #expect(try await rows("nbool == true") == [0, 3, 5, 7])
        #expect(try await rows("nbool != true") == [1, 4])
        #expect(try await rows("nbool == 0") == [1, 4])
        #expect(try await rows("nbool is null") == [2, 6])
        // nstr: [x, y, -, x, -, z, y, x]
        #expect(try await rows("nstr == 'x'") == [0, 3, 7])
        #expect(try await rows("nstr != 'x'") == [1, 5, 6])
        #expect(try await rows("nstr == ''") == [], "masked values (stored as '') are missing")
        #expect(try await rows("nstr not in ['y']") == [0, 3, 5, 7])
        #expect(try await rows("not (nstr in ['y'])") == [0, 2, 3, 4, 5, 7])
        #expect(try await rows("nstr is null or nint is null") == [2, 3, 4, 5])
    }

    @Test func categoricals() async throws {
        // cat: [a, b, c, -, a, b, c, -]
        #expect(try await rows("cat == 'a'") == [0, 4])
        #expect(try await rows("cat != 'a'") == [1, 2, 5, 6])
        #expect(try await rows("not cat == 'a'") == [1, 2, 3, 5, 6, 7])
        #expect(try await rows("cat == 'zzz'") == [], "a value that is not a category is simply false")
        #expect(try await rows("cat != 'zzz'") == [0, 1, 2, 4, 5, 6])
        #expect(try await rows("cat in ['a', 'c', 'zzz']") == [0, 2, 4, 6])
        #expect(try await rows("cat not in ['a', 'zzz']") == [1, 2, 5, 6])
        #expect(try await rows("cat < 'b'") == [0, 4], "unordered: by category value")
        #expect(try await rows("cat > 'zzz'") == [])
        #expect(try await rows("cat is null") == [3, 7])
        // ord: [low, mid, high, -, high, mid, low, low], ordered low < mid < high
        #expect(try await rows("ord > 'low'") == [1, 2, 4, 5], "by category order, not by value")
        #expect(try await rows("ord <= 'mid'") == [0, 1, 5, 6, 7])
        #expect(try await rows("ord >= 'high'") == [2, 4])
        #expect(try await rows("ord < 'low'") == [])
        #expect(try await rows("ord == 'mid'") == [1, 5])
        #expect(try await rows("ord == 'zzz'") == [])
        #expect(try await rows("ord != 'mid'") == [0, 2, 4, 6, 7])
        #expect(try await rows("not ord > 'low'") == [0, 3, 6, 7])
        // icat: [10, 20, 30, -, 10, 20, 30, 30]
        #expect(try await rows("icat >= 20") == [1, 2, 5, 6, 7])
        #expect(try await rows("icat == 20.0") == [1, 5])
        #expect(try await rows("icat in [10, 30.0, 99]") == [0, 2, 4, 6, 7])
        #expect(try await rows("icat != 10") == [1, 2, 5, 6, 7])
        #expect(try await rows("icat is not null") == [0, 1, 2, 4, 5, 6, 7])
    }

    @Test func orderedCategoricalNeedsACategoryToOrderBy() async throws {
        let e = try await evaluationError("ord > 'zzz'")
        guard case .invalidElement(let path, let reason) = e else { Issue.record("no error: \(String(describing: e))"); return }
        #expect(path == "obs")
        #expect(reason.contains("column 'ord'") && reason.contains("\"zzz\"") && reason.contains("\"low\", \"mid\", \"high\""), "\(reason)")
    }

    @Test func categoricalOfManyRowsMapsCodes() async throws {
        let count = 100_000
        let codes = (0..<count).map { $0 % 5 == 4 ? -1 : $0 % 5 }
        let frame = try DataFrame(
            index: (0..<count).map { "r\($0)" },
            columns: ["ct": .categorical(try Categorical(codes: codes, categories: ["T", "B", "NK", "mono"]))])
        let m = try await Query(parsing: "ct in ['B', 'mono'] or ct is null").evaluate(on: frame, path: "obs")
        #expect(m.count == count)
        #expect(m.indices.allSatisfy { m[$0] == [1, 3, 4].contains($0 % 5) })
    }

    @Test func indexAndAColumnNamedIndex() async throws {
        #expect(try await rows("index == 'c3'") == [3])
        #expect(try await rows("index in ['c1', 'c7', 'zz']") == [1, 7])
        #expect(try await rows("index > 'c5'") == [6, 7])
        let framed = try Self.frameWithIndexColumn()
        // `index` names the column of that name when there is one; `.index` is always the index.
        #expect(try await rows("index == 'x'", framed) == [0, 3])
        #expect(try await rows(.compare(.index, .equal, .string("r1")), framed) == [1])
        // A missing label fails every comparison.
        #expect(try await rows(.compare(.index, .notEqual, .string("r1")), framed) == [0, 3])
        #expect(try await rows(.notIn(.index, [.string("r0")]), framed) == [1, 3])
        #expect(try await rows(.not(.isIn(.index, [.string("r0")])), framed) == [1, 2, 3])
        #expect(try await rows(.isNull(.index), framed) == [2])
        #expect(try await rows(.and(.isNull(.named("index")), .isNull(.index)), framed) == [])
    }

    @Test func typeErrorsNameTheColumnAndTheValue() async throws {
        let cases: [(String, [String])] = [
            ("i64 == 'a'", ["column 'i64'", "numbers (int64)", "the string \"a\""]),
            ("f32 in [1, 'x']", ["column 'f32'", "numbers (float32)", "the string \"x\""]),
            ("nint < '3'", ["column 'nint'", "numbers (int32)", "the string \"3\""]),
            ("flag == 'yes'", ["column 'flag'", "bools", "the string \"yes\""]),
            ("nbool != 'no'", ["column 'nbool'", "bools", "the string \"no\""]),
            ("s == 1", ["column 's'", "strings", "the number 1", "quote it"]),
            ("s in ['a', 2.5]", ["column 's'", "the number 2.5"]),
            ("nstr == true", ["column 'nstr'", "the bool true"]),
            ("index == 3", ["the index", "strings", "the number 3"]),
            ("cat == 1", ["column 'cat'", "categorical of strings", "the number 1"]),
            ("cat in ['a', false]", ["column 'cat'", "the bool false"]),
            ("ord > 3", ["column 'ord'", "categorical of strings", "the number 3"]),
            ("icat == 'a'", ["column 'icat'", "categorical of numbers (int64)", "the string \"a\""]),
            ("u64 not in ['1']", ["column 'u64'", "the string \"1\""]),
        ]
        for (text, parts) in cases {
            let e = try await evaluationError(text)
            guard case .invalidElement(let path, let reason) = e else { Issue.record("'\(text)': \(String(describing: e))"); continue }
            #expect(path == "obs")
            for p in parts { #expect(reason.contains(p), "'\(text)': \(reason)") }
        }
        // `is null` fits every type, and an empty list has no value to mistype.
        #expect(try await rows("s is null or i64 in [] or cat not in []") == [0, 1, 2, 4, 5, 6])
    }

    @Test func unknownColumnIsNamed() async throws {
        let e = try await evaluationError("i64 > 1 and nope == 1")
        guard case .invalidElement(let path, let reason) = e else { Issue.record("\(String(describing: e))"); return }
        #expect(path == "obs")
        #expect(reason.contains("unknown column 'nope'") && reason.contains("'i64'") && reason.contains("19 in all"), "\(reason)")
    }

    @Test func corruptColumnsAreTypedErrors() async throws {
        var frame = try Self.frame()
        guard case .categorical(var c) = frame.columns["cat"] else { Issue.record("no cat"); return }
        c.codes = try NDArray([Int8(0), 1, 2, 7, 0, 1, 2, -1], shape: [Self.n])
        frame.columns["cat"] = .categorical(c)
        await #expect(throws: AnnDataError.invalidElement(path: "obs/cat", reason: "column 'cat': categorical code 7 is out of range for 3 categories")) {
            try await Query(parsing: "cat == 'a'").evaluate(on: frame, path: "obs")
        }
        frame.columns["cx"] = .array(try NDArray(dataType: .complex64, shape: [Self.n], storage: .fixed([UInt8](repeating: 0, count: 64))))
        await #expect(throws: AnnDataError.unsupported(path: "obs/cx", reason: "column 'cx' holds values of type complex64, which a query cannot compare")) {
            try await Query(parsing: "cx == 1").evaluate(on: frame, path: "obs")
        }
        // A frame that hands back a column of the wrong length.
        let short = QueryRecordingFrame(frame: try Self.frame(), log: QueryLoadLog(), rowCountOverride: 9)
        await #expect(throws: AnnDataError.shapeMismatch(path: "obs/i64", reason: "column 'i64' has 8 values for 9 rows")) {
            try await Query(parsing: "i64 == 1").evaluate(on: short, path: "obs")
        }
    }

    @Test func onlyReferencedColumnsLoadEachOnce() async throws {
        let log = QueryLoadLog()
        let frame = QueryRecordingFrame(frame: try Self.frame(), log: log)
        let q = try Query(parsing: "s == 'a' and (i64 > 0 or s != 'b') and index != 'c0' or not i64 in [1] or index == 'c1'")
        let m = try await q.evaluate(on: frame, path: "obs")
        #expect(m == [false, true, true, true, true, true, true, true])
        #expect(await log.loads == ["s", "i64", "<index>"])

        let log2 = QueryLoadLog()
        let q2 = Query.and(.isNull(.index), .compare(.named("index"), .equal, .string("c1")))
        _ = try await q2.evaluate(on: QueryRecordingFrame(frame: try Self.frame(), log: log2), path: "obs")
        #expect(await log2.loads == ["<index>"], "the index and `index` (no such column) are the same, loaded once")

        // A name spelt in another normalisation form loads the frame's spelling of it.
        let log4 = QueryLoadLog()
        let m4 = try await Query(parsing: "n\u{303}ame == 'm'").evaluate(on: QueryRecordingFrame(frame: try Self.frame(), log: log4), path: "obs")
        #expect(m4 == [false, false, false, false, true, true, true, true])
        #expect(await log4.loads.map { Array($0.utf8) } == [Array("\u{F1}ame".utf8)])

        // An unknown column is refused before anything loads.
        let log3 = QueryLoadLog()
        await #expect(throws: AnnDataError.self) {
            try await Query(parsing: "s == 'a' or nope == 1").evaluate(on: QueryRecordingFrame(frame: try Self.frame(), log: log3), path: "var")
        }
        #expect(await log3.loads == [])
    }

    @Test func emptyFrame() async throws {
        let frame = try DataFrame(index: [], columns: ["x": .array(try NDArray([Int64](), shape: [0]))])
        #expect(try await Query(parsing: "x == 1 or not index == 'a'").evaluate(on: frame, path: "obs") == [])
    }
}

/// The names a `QueryRecordingFrame` was asked for, in order (`<index>` for the index).
actor QueryLoadLog {
    var loads: [String] = []
    func record(_ name: String) { loads.append(name) }
}

/// A frame that records which columns a query loads.
struct QueryRecordingFrame: QueryFrame {
    let frame: DataFrame
    let log: QueryLoadLog
    var rowCountOverride: Int? = nil

    var rowCount: Int { rowCountOverride ?? frame.rowCount }
    var columnNames: [String] { frame.columnNames }

    func queryColumn(_ name: String) async throws(AnnDataError) -> Column {
        await log.record(name)
        return try await frame.queryColumn(name)
    }

    func queryIndex() async throws(AnnDataError) -> Column {
        await log.record("<index>")
        return frame.index
    }
}
