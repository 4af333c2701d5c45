/// A small XML reader for the documents S3 answers with (listings, multipart replies, errors):
/// elements, text, entities and CDATA; attributes, comments, processing instructions and
/// namespace prefixes are skipped. Malformed input gives `nil`, never a crash.
struct S3XML: Sendable, Equatable {
    /// The element name without a namespace prefix.
    var name: String
    /// The child elements in order.
    var children: [S3XML] = []
    /// The text directly inside the element, entities decoded.
    var text: String = ""

    /// The first child named `name`.
    func child(_ name: String) -> S3XML? { children.first { $0.name == name } }
    /// Every child named `name`.
    func all(_ name: String) -> [S3XML] { children.filter { $0.name == name } }
    /// The text of the first child named `name`.
    func value(_ name: String) -> String? { child(name)?.text }

    /// The root element of `bytes`, or `nil` if it is not well-formed enough to read.
    static func parse(_ bytes: [UInt8]) -> S3XML? {
        var p = Parser(bytes: bytes)
        return p.document()
    }

    /// `s` with `&`, `<`, `>`, `"` and `'` escaped, for element text.
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }

    private struct Parser {
        let bytes: [UInt8]
        var i = 0
        var depth = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func starts(_ s: String) -> Bool {
            let u = Array(s.utf8)
            return i + u.count <= bytes.count && Array(bytes[i..<(i + u.count)]) == u
        }

        mutating func skip(past s: String) -> Bool {
            let u = Array(s.utf8)
            while i + u.count <= bytes.count {
                if bytes[i] == u[0] && Array(bytes[i..<(i + u.count)]) == u { i += u.count; return true }
                i += 1
            }
            return false
        }

        /// Skips the prolog, comments and whitespace before the root element.
        mutating func document() -> S3XML? {
            while i < bytes.count {
                if starts("<?") { guard skip(past: "?>") else { return nil }; continue }
                if starts("<!--") { guard skip(past: "-->") else { return nil }; continue }
                if starts("<!") { guard skip(past: ">") else { return nil }; continue }
                if bytes[i] == UInt8(ascii: "<") { return element() }
                i += 1
            }
            return nil
        }

        mutating func name() -> String? {
            let start = i
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: " ") || b == UInt8(ascii: ">") || b == UInt8(ascii: "/") || b == 9 || b == 10 || b == 13 { break }
                i += 1
            }
            guard i > start else { return nil }
            let full = String(decoding: bytes[start..<i], as: UTF8.self)
            if let colon = full.lastIndex(of: ":") { return String(full[full.index(after: colon)...]) }
            return full
        }

        /// Parses an element starting at `<`.
        mutating func element() -> S3XML? {
            depth += 1
            defer { depth -= 1 }
            guard depth < 64, i < bytes.count, bytes[i] == UInt8(ascii: "<") else { return nil }
            i += 1
            guard let n = name() else { return nil }
            // Attributes: skip to the end of the tag, minding quotes.
            var quote: UInt8 = 0
            var selfClosing = false
            while i < bytes.count {
                let b = bytes[i]
                if quote != 0 {
                    if b == quote { quote = 0 }
                } else if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                    quote = b
                } else if b == UInt8(ascii: ">") {
                    selfClosing = i > 0 && bytes[i - 1] == UInt8(ascii: "/")
                    break
                }
                i += 1
            }
            guard i < bytes.count else { return nil }
            i += 1
            var node = S3XML(name: n)
            if selfClosing { return node }
            var text: [UInt8] = []
            while i < bytes.count {
                if starts("</") {
                    guard skip(past: ">") else { return nil }
                    node.text = Self.decodeEntities(text)
                    return node
                }
                if starts("<![CDATA[") {
                    i += 9
                    let start = i
                    guard skip(past: "]]>") else { return nil }
                    text.append(contentsOf: Self.escapeAmp(bytes[start..<(i - 3)]))
                    continue
                }
                if starts("<!--") { guard skip(past: "-->") else { return nil }; continue }
                if starts("<?") { guard skip(past: "?>") else { return nil }; continue }
                if bytes[i] == UInt8(ascii: "<") {
                    guard let child = element() else { return nil }
                    node.children.append(child)
                    continue
                }
                text.append(bytes[i])
                i += 1
            }
            return nil
        }

        /// CDATA text, escaped so that entity decoding leaves it as it was.
        static func escapeAmp(_ s: ArraySlice<UInt8>) -> [UInt8] {
            var out: [UInt8] = []
            for b in s {
                if b == UInt8(ascii: "&") { out.append(contentsOf: Array("&amp;".utf8)) } else { out.append(b) }
            }
            return out
        }

        static func decodeEntities(_ raw: [UInt8]) -> String {
            let s = String(decoding: raw, as: UTF8.self)
            guard s.contains("&") else { return s }
            var out = ""
            var rest = Substring(s)
            while let amp = rest.firstIndex(of: "&") {
                out += rest[..<amp]
                let after = rest[rest.index(after: amp)...]
                guard let semi = after.firstIndex(of: ";"), after.distance(from: after.startIndex, to: semi) <= 10 else {
                    out += "&"
                    rest = after
                    continue
                }
                let entity = after[..<semi]
                var decoded: String?
                switch entity {
                case "amp": decoded = "&"
                case "lt": decoded = "<"
                case "gt": decoded = ">"
                case "quot": decoded = "\""
                case "apos": decoded = "'"
                default:
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                        decoded = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                    } else if entity.hasPrefix("#") {
                        decoded = UInt32(entity.dropFirst()).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                    }
                }
                if let decoded {
                    out += decoded
                    rest = after[after.index(after: semi)...]
                } else {
                    out += "&"
                    rest = after
                }
            }
            out += rest
            return out
        }
    }
}
