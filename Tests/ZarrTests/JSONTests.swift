import Testing
@testable import Zarr

@Suite struct JSONTests {
    @Test func keepsKeyOrderAndExtremeIntegers() throws {
        let text = #"{"z":1,"a":[18446744073709551615,-9223372036854775808,9007199254740993],"m":{"y":null,"b":true}}"#
        let v = try JSONValue.parse(text)
        #expect(v.object?.keys == ["z", "a", "m"])
        #expect(v["a"]?.array == [.uint(18_446_744_073_709_551_615), .int(Int64.min), .int(9_007_199_254_740_993)])
        #expect(try JSONValue.parse(v.serializedString()) == v)
        #expect(v.serializedString() == text)
    }

    @Test func keepsNegativeZeroAndNonFiniteTokens() throws {
        let v = try JSONValue.parse("[-0.0, NaN, Infinity, -Infinity, 1e-05, 0.1, 2]")
        guard case .double(let z) = v.array?[0] else { Issue.record("not a double"); return }
        #expect(z == 0 && z.sign == .minus)
        #expect(v.serializedString() == "[-0.0,NaN,Infinity,-Infinity,1e-05,0.1,2]")
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let v = try JSONValue.parse(#"["gr\u00fc\u00dfe", "\ud83d\ude00", "a\"b\\c\n"]"#)
        #expect(v.array?.compactMap(\.string) == ["grüße", "😀", "a\"b\\c\n"])
        #expect(try JSONValue.parse(v.serializedString()) == v)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"\\ud800\"", "01x", "[1] 2", "\"abc", "{\"a\":}"])
    func rejectsInvalidDocuments(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func rejectsDeepNesting() {
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
    }
}
