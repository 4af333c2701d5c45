/// How a chunk's grid index becomes a store key (v3 `chunk_key_encoding`; v2's dimension
/// separator).
public struct ChunkKeyEncoding: Sendable, Hashable {
    /// The encoding name.
    public enum Kind: String, Sendable, Hashable {
        /// `c/1/0` (or `c.1.0`); a 0-d array uses `c`.
        case `default`
        /// `1.0` (or `1/0`); a 0-d array uses `0`.
        case v2
    }
    /// The encoding.
    public var kind: Kind
    /// The separator, `/` or `.`.
    public var separator: String
    /// Whether the separator was written explicitly (tensorstore omits the default).
    public var explicitConfiguration: Bool

    /// An encoding; the separator defaults to `/` for `default` and `.` for `v2`.
    public init(_ kind: Kind, separator: String? = nil) {
        self.kind = kind
        self.separator = separator ?? (kind == .default ? "/" : ".")
        self.explicitConfiguration = true
    }

    /// The store key of chunk `index`, relative to the array's prefix.
    public func key(_ index: [Int]) -> String {
        switch kind {
        case .default:
            if index.isEmpty { return "c" }
            return "c" + separator + index.map(String.init).joined(separator: separator)
        case .v2:
            if index.isEmpty { return "0" }
            return index.map(String.init).joined(separator: separator)
        }
    }

    /// Parses a v3 `chunk_key_encoding` member.
    public static func fromV3(_ json: JSONValue) throws(ZarrError) -> ChunkKeyEncoding {
        let name: String
        var config = JSONObject()
        switch json {
        case .string(let s): name = s
        case .object(let o):
            guard let n = o["name"]?.string else { throw .invalidMetadata(path: "", reason: "chunk_key_encoding without a name") }
            if o["must_understand"]?.bool == false {
                throw .invalidMetadata(path: "", reason: "chunk_key_encoding cannot be must_understand: false")
            }
            name = n
            if let c = o["configuration"] {
                guard let co = c.object else { throw .invalidMetadata(path: "", reason: "chunk_key_encoding configuration is not an object") }
                config = co
            }
        default: throw .invalidMetadata(path: "", reason: "invalid chunk_key_encoding")
        }
        guard let kind = Kind(rawValue: name) else { throw .invalidMetadata(path: "", reason: "unknown chunk_key_encoding '\(name)'") }
        var e = ChunkKeyEncoding(kind)
        e.explicitConfiguration = config["separator"] != nil
        if let sep = config["separator"] {
            guard let s = sep.string, s == "/" || s == "." else {
                throw .invalidMetadata(path: "", reason: "chunk_key_encoding separator must be '/' or '.'")
            }
            e.separator = s
        }
        return e
    }

    /// The v3 `chunk_key_encoding` member.
    public var v3JSON: JSONValue {
        ["name": .string(kind.rawValue), "configuration": ["separator": .string(separator)]]
    }
}
