/// Maps codec names (v3) and ids (v2 numcodecs) to codec types. A new codec plugs in here.
public struct CodecRegistry: Sendable {
    /// v3 name → codec type.
    public var v3: [String: any Codec.Type]
    /// v2 id → codec type.
    public var v2: [String: any V2Codec.Type]

    /// A registry of these codec types.
    public init(_ types: [any Codec.Type]) {
        v3 = [:]
        v2 = [:]
        for t in types { register(t) }
    }

    /// Adds a codec type under its v3 name and, if it has one, its v2 id (also reachable in v3
    /// metadata as `numcodecs.<id>`, as zarr-python writes numcodecs compressors).
    public mutating func register(_ t: any Codec.Type) {
        v3[t.v3Name] = t
        if let v2t = t as? any V2Codec.Type, let id = t.v2ID { v2[id] = v2t }
    }

    /// Every codec this package implements.
    public static let standard = CodecRegistry([
        BytesCodec.self, TransposeCodec.self, VlenUTF8Codec.self, VlenBytesCodec.self, ShardingCodec.self,
        ZstdCodec.self, Crc32cCodec.self,
        GzipCodec.self, ZlibCodec.self, BloscCodec.self, LZ4Codec.self, Bz2Codec.self,
        ShuffleCodec.self, LZFCodec.self,
    ])

    /// `codecs` with every bare non-spec name (`zlib`, `lz4`, `bz2`) spelled
    /// `numcodecs.<name>`, also inside sharding's inner and index chains.
    public static func writtenV3Names(_ codecs: [CodecSpec]) -> [CodecSpec] {
        CodecSpec.writtenV3Names(codecs)
    }

    /// The same rewrite on the JSON spelling that a parsed `CodecSpec` keeps.
    static func writtenV3Names(_ codecs: [JSONValue]) -> [JSONValue] {
        let bareNumcodecsNames = CodecSpec.bareNumcodecsNames
        return codecs.map { entry in
            switch entry {
            case .string(let n) where bareNumcodecsNames.contains(n):
                return .string("numcodecs." + n)
            case .object(var o):
                guard let n = o["name"]?.string else { return entry }
                if bareNumcodecsNames.contains(n) { o["name"] = .string("numcodecs." + n) }
                if n == ShardingCodec.v3Name, var c = o["configuration"]?.object {
                    for key in ["codecs", "index_codecs"] {
                        if let inner = c[key]?.array { c[key] = .array(writtenV3Names(inner)) }
                    }
                    o["configuration"] = .object(c)
                }
                return .object(o)
            default:
                return entry
            }
        }
    }

    /// Builds a codec from one v3 `codecs` entry (an object or a bare name).
    func makeV3(_ json: JSONValue, spec: ChunkSpec) throws(ZarrError) -> any Codec {
        let name: String
        var config = JSONObject()
        switch json {
        case .string(let s): name = s
        case .object(let o):
            guard let n = o["name"]?.string else { throw .invalidMetadata(path: "", reason: "codec without a name") }
            name = n
            if let c = o["configuration"], !c.isNull {
                guard let co = c.object else { throw .invalidCodecConfiguration(codec: n, reason: "configuration is not an object") }
                config = co
            }
        default:
            throw .invalidMetadata(path: "", reason: "a codec must be an object or a name")
        }
        if let t = v3[name] { return try t.init(v3Configuration: config, spec: spec) }
        if name.hasPrefix("numcodecs."), let t = v2[String(name.dropFirst("numcodecs.".count))] {
            var c = config
            c["id"] = .string(String(name.dropFirst("numcodecs.".count)))
            let codec = try t.init(v2Configuration: c, spec: spec)
            return NumcodecsNamed(codec)
        }
        throw .unsupportedCodec("'\(name)'")
    }

    /// Builds a codec from a v2 compressor or filter object.
    func makeV2(_ json: JSONValue, spec: ChunkSpec) throws(ZarrError) -> any V2Codec {
        guard let o = json.object, let id = o["id"]?.string else {
            throw .invalidMetadata(path: "", reason: "a v2 compressor/filter needs an 'id'")
        }
        guard let t = v2[id] else { throw .unsupportedCodec("'\(id)' (v2)") }
        return try t.init(v2Configuration: o, spec: spec)
    }
}

/// Marks a v2-style codec that v3 metadata named `numcodecs.<id>`, so that it is written back
/// the same way. It forwards to the codec.
struct NumcodecsNamed {
    let base: any V2Codec
    init(_ base: any V2Codec) { self.base = base }
}

extension NumcodecsNamed {
    /// The v3 metadata entry: `numcodecs.<id>` with the numcodecs configuration minus `id`.
    var v3JSON: JSONValue {
        var c = base.v2Configuration
        c["id"] = nil
        return ["name": .string("numcodecs." + (type(of: base).v2ID ?? "")), "configuration": .object(c)]
    }
}

extension NumcodecsNamed: Codec {
    static var v3Name: String { "numcodecs" }
    static var v2ID: String? { nil }
    static var kind: CodecKind { .bytesToBytes }
    init(v3Configuration: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        throw .unsupportedCodec("numcodecs")
    }
    var v3Configuration: JSONObject? {
        var c = base.v2Configuration
        c["id"] = nil
        return c
    }
    var v3WrittenName: String { "numcodecs." + (type(of: base).v2ID ?? "") }
}

extension NumcodecsNamed: BytesToBytesCodec {
    func encode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        guard let b = base as? any BytesToBytesCodec else { throw .unsupportedCodec(v3WrittenName) }
        return try b.encode(bytes)
    }
    func decode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        guard let b = base as? any BytesToBytesCodec else { throw .unsupportedCodec(v3WrittenName) }
        return try b.decode(bytes)
    }
    func decode(_ bytes: [UInt8], expectedSize: Int?) throws(ZarrError) -> [UInt8] {
        guard let b = base as? any BytesToBytesCodec else { throw .unsupportedCodec(v3WrittenName) }
        return try b.decode(bytes, expectedSize: expectedSize)
    }
    func decode(_ bytes: [UInt8], expectedSize: Int?, limit: Int) throws(ZarrError) -> [UInt8] {
        guard let b = base as? any BytesToBytesCodec else { throw .unsupportedCodec(v3WrittenName) }
        return try b.decode(bytes, expectedSize: expectedSize, limit: limit)
    }
    func encodedSize(_ n: Int) -> Int? { (base as? any BytesToBytesCodec)?.encodedSize(n) }
    func decode(_ bytes: [UInt8], into destination: UnsafeMutableRawBufferPointer) throws(ZarrError) -> Bool {
        guard let b = base as? any BytesToBytesCodec else { return false }
        return try b.decode(bytes, into: destination)
    }
}
