/// One entry of a v3 `codecs` list as a typed value: which codec, with its typed configuration
/// (owned by the codec's file: `ZstdCodec.Configuration`, `ShardingCodec.Configuration`, …).
///
/// JSON appears only when metadata is parsed (`init(json:)`) and written (`json`). An entry
/// parsed from metadata keeps its spelling (bare name or object, key order, members this engine
/// ignores) and is written back byte for byte; an entry made with the builders (`.zstd(level:)`,
/// `.sharding(chunkShape:codecs:)`, …) is written the way this engine has always written it.
/// Equality compares the typed configuration, not the spelling.
///
/// An entry this engine has no typed configuration for — an unknown name (kept when it says
/// `must_understand: false`, refused otherwise) or a known codec whose configuration is
/// malformed — is `.other`: it round-trips unchanged and is built through the `CodecRegistry`
/// when the chain is made, which reports the same errors as it always has.
public struct CodecSpec: Sendable, Hashable {
    /// The codec and its typed configuration.
    public enum Configuration: Sendable, Hashable {
        /// `bytes` (array→bytes).
        case bytes(BytesCodec.Configuration)
        /// `transpose` (array→array).
        case transpose(TransposeCodec.Configuration)
        /// `vlen-utf8` (array→bytes, strings).
        case vlenUTF8
        /// `vlen-bytes` (array→bytes, byte strings).
        case vlenBytes
        /// `sharding_indexed` (array→bytes).
        case sharding(ShardingCodec.Configuration)
        /// `zstd` (bytes→bytes).
        case zstd(ZstdCodec.Configuration)
        /// `crc32c` (bytes→bytes).
        case crc32c
        /// `gzip` (bytes→bytes).
        case gzip(GzipCodec.Configuration)
        /// `blosc` (bytes→bytes).
        case blosc(BloscCodec.Configuration)
        /// A numcodecs codec in v3 metadata: `numcodecs.<id>`, or one of the bare names
        /// `zlib`, `lz4`, `bz2` that older writers use.
        case numcodecs(NumcodecsConfiguration)
        /// An entry with no typed configuration here, kept as written.
        case other(JSONValue)
    }

    /// The codec and its typed configuration.
    public let configuration: Configuration
    /// The entry as parsed from metadata, written back unchanged; `nil` for built specs.
    let written: JSONValue?

    /// A spec of `configuration`, written in this engine's canonical form.
    public init(_ configuration: Configuration) {
        self.configuration = configuration
        self.written = nil
    }

    init(_ configuration: Configuration, written: JSONValue?) {
        self.configuration = configuration
        self.written = written
    }

    /// Equal when the typed configurations are equal (the spelling is not compared).
    public static func == (a: CodecSpec, b: CodecSpec) -> Bool { a.configuration == b.configuration }
    /// Hashes the typed configuration.
    public func hash(into hasher: inout Hasher) { hasher.combine(configuration) }
}

/// A numcodecs codec named in v3 metadata: its numcodecs id and its numcodecs parameters
/// (the numcodecs object without `id`), which the codec's `init(v2Configuration:)` reads.
public struct NumcodecsConfiguration: Sendable, Hashable {
    /// The numcodecs id (`zlib`, `lz4`, `bz2`, `zstd`, `blosc`, …).
    public var id: String
    /// The parameters, in the order they are written (without `id`).
    public var parameters: JSONObject
    /// Whether the entry uses the bare name (`zlib`) instead of `numcodecs.<id>`. Such names
    /// are read, but written as `numcodecs.<id>` (`CodecSpec.writtenV3Names`).
    public var bareName: Bool

    /// A numcodecs entry, written `numcodecs.<id>` unless `bareName`.
    public init(id: String, parameters: JSONObject = [:], bareName: Bool = false) {
        self.id = id; self.parameters = parameters; self.bareName = bareName
    }

    /// The name written in metadata.
    public var name: String { bareName ? id : "numcodecs." + id }
}

// MARK: Builders

extension CodecSpec {
    /// `bytes` with `endian` (`nil`: no configuration, for 1-byte and structured types).
    public static func bytes(endian: BytesCodec.Endian? = .little) -> CodecSpec {
        CodecSpec(.bytes(BytesCodec.Configuration(endian: endian)))
    }
    /// `transpose` by `order`.
    public static func transpose(order: [Int]) -> CodecSpec { CodecSpec(.transpose(TransposeCodec.Configuration(order: order))) }
    /// `vlen-utf8`.
    public static let vlenUTF8 = CodecSpec(.vlenUTF8)
    /// `vlen-bytes`.
    public static let vlenBytes = CodecSpec(.vlenBytes)
    /// `crc32c`.
    public static let crc32c = CodecSpec(.crc32c)
    /// `zstd` at `level` (0: the library default, as zarr-python writes), with or without checksum.
    public static func zstd(level: Int = 0, checksum: Bool = false) -> CodecSpec {
        CodecSpec(.zstd(ZstdCodec.Configuration(level: level, checksum: checksum)))
    }
    /// `gzip` at `level` (zarr-python's default is 5).
    public static func gzip(level: Int = 5) -> CodecSpec { CodecSpec(.gzip(GzipCodec.Configuration(level: level))) }
    /// `blosc`; `typesize` `nil` means the element size of the chunk (written as it is known to
    /// the writer: pass it to write it, as zarr-python does).
    public static func blosc(
        cname: String = "zstd", clevel: Int = 5, shuffle: BloscCodec.Shuffle = .byteShuffle, typesize: Int? = nil, blocksize: Int = 0
    ) -> CodecSpec {
        CodecSpec(.blosc(BloscCodec.Configuration(cname: cname, clevel: clevel, shuffle: shuffle, typesize: typesize, blocksize: blocksize)))
    }
    /// `sharding_indexed` with inner chunks of `chunkShape`, encoded by `codecs`, and an index
    /// encoded by `indexCodecs` at `indexLocation`.
    public static func sharding(
        chunkShape: [Int], codecs: [CodecSpec], indexCodecs: [CodecSpec] = CodecSpec.defaultIndexCodecs,
        indexLocation: ShardingCodec.IndexLocation = .end
    ) -> CodecSpec {
        CodecSpec(.sharding(ShardingCodec.Configuration(chunkShape: chunkShape, codecs: codecs, indexCodecs: indexCodecs, indexLocation: indexLocation)))
    }
    /// A numcodecs codec, `numcodecs.<id>` with the numcodecs `parameters`.
    public static func numcodecs(id: String, parameters: JSONObject = [:]) -> CodecSpec {
        CodecSpec(.numcodecs(NumcodecsConfiguration(id: id, parameters: parameters)))
    }
    /// `numcodecs.zlib` at `level`.
    public static func zlib(level: Int = 1) -> CodecSpec { .numcodecs(id: "zlib", parameters: ["level": .integer(level)]) }
    /// `numcodecs.lz4` with `acceleration`.
    public static func lz4(acceleration: Int = 1) -> CodecSpec { .numcodecs(id: "lz4", parameters: ["acceleration": .integer(acceleration)]) }
    /// `numcodecs.bz2` at `level`.
    public static func bz2(level: Int = 1) -> CodecSpec { .numcodecs(id: "bz2", parameters: ["level": .integer(level)]) }
    /// `numcodecs.shuffle` of elements of `elementSize` bytes (numcodecs' and HDF5's byte shuffle).
    public static func shuffle(elementSize: Int) -> CodecSpec {
        .numcodecs(id: "shuffle", parameters: ["elementsize": .integer(elementSize)])
    }
    /// `lzf`, h5py's LZF compression: only this engine reads it in Zarr metadata (it exists for
    /// `.h5ad` chunks), so it has no typed configuration and is built through the registry.
    public static let lzf = CodecSpec(json: ["name": .string(LZFCodec.v3Name)])

    /// The shard index chain zarr-python writes: little-endian `bytes`, then `crc32c`.
    public static let defaultIndexCodecs: [CodecSpec] = [.bytes(endian: .little), .crc32c]

    /// The array→bytes codec for `type`, as zarr-python writes it: `vlen-utf8` for strings,
    /// `vlen-bytes` for byte strings, `bytes` without configuration for 1-byte and structured
    /// types, little-endian `bytes` otherwise. The one place that makes this choice.
    public static func arrayToBytes(for type: DataType) -> CodecSpec {
        switch type {
        case .string: return .vlenUTF8
        case .bytes: return .vlenBytes
        case .structured: return .bytes(endian: nil)
        default: return .bytes(endian: (type.itemSize ?? 1) > 1 || type.swapUnit > 1 ? .little : nil)
        }
    }

    /// The compressor this engine writes by default: `zstd` level 0 without checksum, as
    /// zarr-python does.
    public static let defaultCompressor: CodecSpec = .zstd(level: 0, checksum: false)

    /// The compressor measured best for `type` on AnnData arrays (`scripts/codec-defaults`):
    /// `blosc(zstd, byte shuffle, clevel 2)` for integers of two bytes or more (sparse
    /// `indices`/`indptr`, categorical codes of many categories) — on the bench data a better
    /// ratio than zstd level 0 (3.5 vs 2.9 for int32 indices, 4.8 vs 4.0 for int64 indptr),
    /// encoding 3–4× and decoding 1.5–2× faster; `zstd` level 0 for everything else, where
    /// nothing won clearly. zarr-python, tensorstore and zarrs read both.
    public static func defaultCompressor(for type: DataType) -> CodecSpec {
        if type.isInteger, let size = type.itemSize, size >= 2 {
            return .blosc(cname: "zstd", clevel: 2, shuffle: .byteShuffle, typesize: size, blocksize: 0)
        }
        return defaultCompressor
    }

    /// The default chain for `type`: its array→bytes codec, then `compressor` (none if `nil`).
    /// The one place that decides what an array of `type` is written with, used by
    /// `ArrayMetadata`, sharding's default inner chain, AnnData and the bench.
    public static func defaultChain(for type: DataType, compressor: CodecSpec? = CodecSpec.defaultCompressor) -> [CodecSpec] {
        var out = [arrayToBytes(for: type)]
        if let compressor { out.append(compressor) }
        return out
    }
}

// MARK: Parsing and writing

extension CodecSpec: ExpressibleByDictionaryLiteral {
    /// A spec from a JSON object literal, read as metadata is (`init(json:)`).
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(json: .object(JSONObject(elements)))
    }
}

extension CodecSpec {
    /// Bare v3 names that zarr-python 2-era or hand-written metadata use for numcodecs
    /// compressors; they are read, but written as `numcodecs.<name>`.
    static let bareNumcodecsNames: Set<String> = ["zlib", "lz4", "bz2"]

    /// Reads one `codecs` entry. Never fails: an entry without a typed configuration here (an
    /// unknown name, a malformed configuration) is `.other`, and making the chain reports it.
    public init(json: JSONValue) {
        self.init((try? Self.typed(json)) ?? .other(json), written: json)
    }

    /// The typed configuration of a `codecs` entry; throws when it has none.
    static func typed(_ json: JSONValue) throws(ZarrError) -> Configuration {
        let name: String
        var c = JSONObject()
        switch json {
        case .string(let s): name = s
        case .object(let o):
            guard let n = o["name"]?.string else { throw .invalidMetadata(path: "", reason: "codec without a name") }
            name = n
            if let v = o["configuration"], !v.isNull {
                guard let co = v.object else { throw .invalidCodecConfiguration(codec: n, reason: "configuration is not an object") }
                c = co
            }
        default:
            throw .invalidMetadata(path: "", reason: "a codec must be an object or a name")
        }
        switch name {
        case BytesCodec.v3Name: return .bytes(try BytesCodec.Configuration(v3: c))
        case TransposeCodec.v3Name: return .transpose(try TransposeCodec.Configuration(v3: c))
        case VlenUTF8Codec.v3Name: return .vlenUTF8
        case VlenBytesCodec.v3Name: return .vlenBytes
        case ShardingCodec.v3Name: return .sharding(try ShardingCodec.Configuration(v3: c))
        case ZstdCodec.v3Name: return .zstd(try ZstdCodec.Configuration(v3: c))
        case Crc32cCodec.v3Name: return .crc32c
        case GzipCodec.v3Name: return .gzip(try GzipCodec.Configuration(v3: c))
        case BloscCodec.v3Name: return .blosc(try BloscCodec.Configuration(v3: c))
        case _ where bareNumcodecsNames.contains(name):
            return .numcodecs(NumcodecsConfiguration(id: name, parameters: c, bareName: true))
        case _ where name.hasPrefix("numcodecs."):
            return .numcodecs(NumcodecsConfiguration(id: String(name.dropFirst("numcodecs.".count)), parameters: c))
        default:
            throw .unsupportedCodec("'\(name)'")
        }
    }

    /// The name written in metadata.
    public var name: String {
        switch configuration {
        case .bytes: return BytesCodec.v3Name
        case .transpose: return TransposeCodec.v3Name
        case .vlenUTF8: return VlenUTF8Codec.v3Name
        case .vlenBytes: return VlenBytesCodec.v3Name
        case .sharding: return ShardingCodec.v3Name
        case .zstd: return ZstdCodec.v3Name
        case .crc32c: return Crc32cCodec.v3Name
        case .gzip: return GzipCodec.v3Name
        case .blosc: return BloscCodec.v3Name
        case .numcodecs(let n): return n.name
        case .other(let j): return j.string ?? j["name"]?.string ?? "?"
        }
    }

    /// The typed configuration as a JSON object, `nil` where the codec writes none.
    var canonicalConfiguration: JSONObject? {
        switch configuration {
        case .bytes(let c): return c.v3JSON
        case .transpose(let c): return c.v3JSON
        case .vlenUTF8, .vlenBytes: return [:]
        case .sharding(let c): return c.v3JSON
        case .zstd(let c): return c.v3JSON
        case .crc32c: return nil
        case .gzip(let c): return c.v3JSON
        case .blosc(let c): return c.v3JSON
        case .numcodecs(let n): return n.parameters
        case .other: return nil
        }
    }

    /// The `codecs` entry: as it was parsed, or this engine's canonical form for built specs.
    public var json: JSONValue {
        if let written { return written }
        if case .other(let j) = configuration { return j }
        var o: JSONObject = ["name": .string(name)]
        if let c = canonicalConfiguration { o["configuration"] = .object(c) }
        return .object(o)
    }

    /// Whether the entry is one this engine does not know and may skip (`must_understand: false`).
    func isSkippable(registry: CodecRegistry) -> Bool {
        guard case .other(let j) = configuration, let o = j.object, o["must_understand"]?.bool == false,
              let n = o["name"]?.string else { return false }
        return registry.v3[n] == nil && !n.hasPrefix("numcodecs.")
    }

    /// Builds the codec for a chunk of `spec`.
    func makeCodec(spec: ChunkSpec, registry: CodecRegistry) throws(ZarrError) -> any Codec {
        switch configuration {
        case .bytes(let c): return try BytesCodec(configuration: c, spec: spec)
        case .transpose(let c): return try TransposeCodec(configuration: c, spec: spec)
        case .vlenUTF8: return VlenUTF8Codec()
        case .vlenBytes: return VlenBytesCodec()
        case .sharding(let c): return try ShardingCodec(configuration: c, spec: spec)
        case .zstd(let c): return try ZstdCodec(configuration: c)
        case .crc32c: return Crc32cCodec()
        case .gzip(let c): return try GzipCodec(configuration: c)
        case .blosc(let c): return try BloscCodec(configuration: c, spec: spec)
        case .numcodecs(let n):
            if n.bareName {
                guard let t = registry.v3[n.id] else { throw .unsupportedCodec("'\(n.id)'") }
                return try t.init(v3Configuration: n.parameters, spec: spec)
            }
            guard let t = registry.v2[n.id] else { throw .unsupportedCodec("'\(n.name)'") }
            var c = n.parameters
            c["id"] = .string(n.id)
            return NumcodecsNamed(try t.init(v2Configuration: c, spec: spec))
        case .other(let j):
            return try registry.makeV3(j, spec: spec)
        }
    }

    /// `codecs` with every bare non-spec name (`zlib`, `lz4`, `bz2`) spelled
    /// `numcodecs.<name>`, also inside sharding's inner and index chains.
    public static func writtenV3Names(_ codecs: [CodecSpec]) -> [CodecSpec] {
        codecs.map { $0.withWrittenV3Names() }
    }

    func withWrittenV3Names() -> CodecSpec {
        let rewritten = written.map { CodecRegistry.writtenV3Names([$0])[0] }
        switch configuration {
        case .numcodecs(var n) where n.bareName:
            n.bareName = false
            return CodecSpec(.numcodecs(n), written: rewritten)
        case .sharding(var c):
            c.codecs = Self.writtenV3Names(c.codecs)
            c.indexCodecs = Self.writtenV3Names(c.indexCodecs)
            return CodecSpec(.sharding(c), written: rewritten)
        default:
            return CodecSpec(configuration, written: rewritten)
        }
    }
}

extension Array where Element == CodecSpec {
    /// The v3 `codecs` list.
    public var json: JSONValue { .array(map(\.json)) }
}

extension Codec {
    /// The codec's `codecs` entry as a typed spec.
    public var codecSpec: CodecSpec { CodecSpec(json: v3JSON) }
}
