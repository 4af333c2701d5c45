/// Orders strings as Python compares them (by code point) and as `natsort.natsorted` orders
/// them (runs of digits compare as numbers: "c2" < "c10"), which anndata uses for the merged
/// categories of concatenated categoricals.
enum NaturalOrder {
    /// `a < b` by Unicode code points (Python's `str` order).
    static func codePointLess(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }

    private enum Part: Comparable {
        case text(String)
        case number(Double, digits: String)
        static func < (l: Part, r: Part) -> Bool {
            switch (l, r) {
            case (.text(let a), .text(let b)): return codePointLess(a, b)
            case (.number(let a, _), .number(let b, _)): return a < b
            // natsort puts a leading empty text before a leading number: text and number never
            // meet at one position, except a number against the empty text, which is smaller.
            case (.text, .number): return true
            case (.number, .text): return false
            }
        }
        static func == (l: Part, r: Part) -> Bool {
            switch (l, r) {
            case (.text(let a), .text(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
            case (.number(let a, _), .number(let b, _)): return a == b
            default: return false
            }
        }
    }

    /// natsort's key: text and digit runs alternating, starting with text ("" before a
    /// leading number).
    private static func key(_ s: String) -> [Part] {
        var parts: [Part] = []
        var text = "", digits = ""
        for ch in s.unicodeScalars {
            if ch.properties.numericType == .decimal, ch.value < 128 {
                if digits.isEmpty { parts.append(.text(text)); text = "" }
                digits.unicodeScalars.append(ch)
            } else {
                if !digits.isEmpty { parts.append(.number(Double(digits) ?? .infinity, digits: digits)); digits = "" }
                text.unicodeScalars.append(ch)
            }
        }
        if !digits.isEmpty { parts.append(.number(Double(digits) ?? .infinity, digits: digits)) }
        if !text.isEmpty || parts.isEmpty { parts.append(.text(text)) }
        return parts
    }

    /// `strings` in natsort's order (stable: equal keys keep their order).
    static func natsorted(_ strings: [String]) -> [String] {
        let keyed = strings.enumerated().map { (key: key($1), at: $0, value: $1) }
        return keyed.sorted { a, b in
            if a.key.lexicographicallyPrecedes(b.key) { return true }
            if b.key.lexicographicallyPrecedes(a.key) { return false }
            return a.at < b.at
        }.map(\.value)
    }
}
