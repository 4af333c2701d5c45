extension JSONValue {
    /// The document as UTF-8 bytes. `indent` > 0 pretty-prints, as zarr-python does.
    public func serialized(indent: Int = 2) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(to: &out, indent: indent, level: 0)
        return out
    }

    /// The document as a compact or pretty-printed string.
    public func serializedString(indent: Int = 0) -> String {
        String(decoding: serialized(indent: indent), as: UTF8.self)
    }

    private func newline(_ out: inout [UInt8], _ indent: Int, _ level: Int) {
        guard indent > 0 else { return }
        out.append(0x0A)
        out.append(contentsOf: repeatElement(0x20, count: indent * level))
    }

    func write(to out: inout [UInt8], indent: Int, level: Int) {
        switch self {
        case .null: out.append(contentsOf: Array("null".utf8))
        case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .int(let v): out.append(contentsOf: Array(String(v).utf8))
        case .uint(let v): out.append(contentsOf: Array(String(v).utf8))
        case .double(let d): out.append(contentsOf: Array(JSONValue.format(d).utf8))
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let a):
            if a.isEmpty { out.append(contentsOf: [0x5B, 0x5D]); return }
            out.append(0x5B)
            for (n, v) in a.enumerated() {
                if n > 0 { out.append(0x2C) }
                newline(&out, indent, level + 1)
                v.write(to: &out, indent: indent, level: level + 1)
            }
            newline(&out, indent, level)
            out.append(0x5D)
        case .object(let o):
            if o.isEmpty { out.append(contentsOf: [0x7B, 0x7D]); return }
            out.append(0x7B)
            for (n, m) in o.members.enumerated() {
                if n > 0 { out.append(0x2C) }
                newline(&out, indent, level + 1)
                JSONValue.writeString(m.key, to: &out)
                out.append(0x3A); if indent > 0 { out.append(0x20) }
                m.value.write(to: &out, indent: indent, level: level + 1)
            }
            newline(&out, indent, level)
            out.append(0x7D)
        }
    }

    /// Formats a double the way Python's `json` does: shortest round-trip digits, a `.0` on
    /// integral values, and the bare `NaN` / `Infinity` / `-Infinity` tokens.
    static func format(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return d.description  // Swift prints the shortest round-trip form, "-0.0" included.
    }

    static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(0x22)
        for c in s.utf8 {
            switch c {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 15)]])
            default: out.append(c)
            }
        }
        out.append(0x22)
    }
}

extension JSONValue {
    /// The nesting the parser accepts: a value at this depth or deeper (the document itself is
    /// depth 0, a member of it depth 1) makes `parse` fail with "nesting too deep".
    public static let maxNestingDepth = JSONParser.maxDepth

    /// The depth of the deepest value in this document (0 for a scalar or an empty
    /// container), counted as the parser counts it. Computed without recursion, so any value
    /// built in code can be measured.
    public var nestingDepth: Int {
        var deepest = 0
        var stack: [(JSONValue, Int)] = [(self, 0)]
        while let (v, d) = stack.popLast() {
            deepest = Swift.max(deepest, d)
            switch v {
            case .array(let a): for x in a { if x.isContainer { stack.append((x, d + 1)) } else { deepest = Swift.max(deepest, d + 1) } }
            case .object(let o): for m in o.members { if m.value.isContainer { stack.append((m.value, d + 1)) } else { deepest = Swift.max(deepest, d + 1) } }
            default: break
            }
        }
        return deepest
    }

    var isContainer: Bool {
        switch self {
        case .array, .object: return true
        default: return false
        }
    }

    /// The serialized document, or a typed error naming `path` when it nests deeper than
    /// `maxNestingDepth` minus `extraDepth` (the levels a document containing this one adds,
    /// as consolidated metadata does): nothing is written that the parser would refuse.
    public func serializedForWriting(path: String, extraDepth: Int = 0, indent: Int = 2) throws(ZarrError) -> [UInt8] {
        try checkNesting(path: path, extraDepth: extraDepth)
        return serialized(indent: indent)
    }

    /// Throws a typed error naming `path` when this document, placed `extraDepth` levels
    /// deep in another, nests deeper than the parser accepts.
    public func checkNesting(path: String, extraDepth: Int = 0) throws(ZarrError) {
        let depth = nestingDepth
        guard depth + extraDepth < Self.maxNestingDepth else {
            let placed = extraDepth > 0 ? " (\(extraDepth) more inside the consolidated metadata)" : ""
            throw .invalidMetadata(
                path: path,
                reason: "the metadata nests \(depth) levels deep\(placed); a reader accepts fewer than \(Self.maxNestingDepth)")
        }
    }
}
