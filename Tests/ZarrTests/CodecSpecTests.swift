import Foundation
import Testing
@testable import Zarr

/// Typed codec specifications: builders write what the hand-built JSON used to say, parsed
/// entries are typed and written back byte for byte, and entries without a typed configuration
/// keep today's behaviour (skipped when optional, the same error otherwise).
@Suite struct CodecSpecTests {
    static let bytesLE: JSONValue = ["name": "bytes", "configuration": ["endian": "little"]]
    static let zstd0: JSONValue = ["name": "zstd", "configuration": ["level": 0, "checksum": false]]

    func text(_ v: JSONValue) -> String { String(decoding: v.serialized(), as: UTF8.self) }
    func text(_ specs: [CodecSpec]) -> String { text(specs.json) }

    /// The chains that ArrayMetadata, ElementWriter and the bench wrote by hand before.
    @Test func buildersWriteWhatTheHandBuiltJSONSaid() throws {
        #expect(text(CodecSpec.defaultChain(for: .float32)) == text([Self.bytesLE, Self.zstd0]))
        #expect(text(CodecSpec.defaultChain(for: .int64)) == text([Self.bytesLE, Self.zstd0]))
        #expect(text(CodecSpec.defaultChain(for: .int8)) == text([["name": "bytes"], Self.zstd0]))
        #expect(text(CodecSpec.defaultChain(for: .bool)) == text([["name": "bytes"], Self.zstd0]))
        #expect(text(CodecSpec.defaultChain(for: .string)) == text([["name": "vlen-utf8", "configuration": [:]], Self.zstd0]))
        #expect(text(CodecSpec.defaultChain(for: .bytes)) == text([["name": "vlen-bytes", "configuration": [:]], Self.zstd0]))
        #expect(text(CodecSpec.defaultChain(for: .complex64, compressor: nil)) == text([Self.bytesLE]))
        #expect(text(CodecSpec.defaultChain(for: .structured([.init(name: "a", type: .int32)]))) == text([["name": "bytes"], Self.zstd0]))
        #expect(text(ArrayMetadata.defaultCodecs(for: .float64)) == text(CodecSpec.defaultChain(for: .float64)))
        let sharding = CodecSpec.sharding(chunkShape: [4, 2], codecs: CodecSpec.defaultChain(for: .float32))
        let hand: JSONValue = ["name": "sharding_indexed", "configuration": [
            "chunk_shape": [4, 2], "codecs": [Self.bytesLE, Self.zstd0],
            "index_codecs": [Self.bytesLE, ["name": "crc32c"]], "index_location": "end"]]
        #expect(text(sharding.json) == text(hand))
        #expect(text(CodecSpec.blosc(cname: "lz4", clevel: 5, shuffle: .byteShuffle, typesize: 4).json) == text(["name": "blosc", "configuration": [
            "typesize": 4, "cname": "lz4", "clevel": 5, "shuffle": "shuffle", "blocksize": 0]]))
        #expect(text(CodecSpec.gzip(level: 3).json) == text(["name": "gzip", "configuration": ["level": 3]]))
        #expect(text(CodecSpec.zstd(level: 3, checksum: true).json) == text(["name": "zstd", "configuration": ["level": 3, "checksum": true]]))
        #expect(text(CodecSpec.crc32c.json) == text(["name": "crc32c"]))
        #expect(text(CodecSpec.transpose(order: [1, 0]).json) == text(["name": "transpose", "configuration": ["order": [1, 0]]]))
        #expect(text(CodecSpec.zlib(level: 4).json) == text(["name": "numcodecs.zlib", "configuration": ["level": 4]]))
        #expect(text(CodecSpec.lz4().json) == text(["name": "numcodecs.lz4", "configuration": ["acceleration": 1]]))
        #expect(text(CodecSpec.bz2(level: 9).json) == text(["name": "numcodecs.bz2", "configuration": ["level": 9]]))
        // A codec's own entry, typed.
        let spec = ChunkSpec(shape: [8], dataType: .int32, fillValue: .zero(for: .int32))
        #expect(try ShardingCodec(shardSpec: spec, innerChunkShape: [2]).codecSpec
                == .sharding(chunkShape: [2], codecs: CodecSpec.defaultChain(for: .int32)))
        #expect(try ShardingCodec(shardSpec: spec, innerChunkShape: [2]).configuration.codecs == CodecSpec.defaultChain(for: .int32))
    }

    /// Every spelling is typed and written back unchanged; equality ignores the spelling.
    @Test(arguments: [
        #"{"name":"zstd","configuration":{"checksum":false,"level":0}}"#,
        #"{"name":"zstd","configuration":{"level":5}}"#,
        #"{"name":"zstd"}"#,
        #""crc32c""#,
        #"{"name":"crc32c","configuration":{}}"#,
        #"{"name":"bytes"}"#,
        #"{"name":"bytes","configuration":{"endian":"big"}}"#,
        #"{"name":"bytes","configuration":{"endian":"little","future":1}}"#,
        #"{"configuration":{"endian":"little"},"name":"bytes"}"#,
        #"{"name":"vlen-utf8"}"#,
        #"{"name":"blosc","configuration":{"cname":"zstd","clevel":3,"shuffle":"bitshuffle","typesize":4,"blocksize":0}}"#,
        #"{"name":"blosc","configuration":{"cname":"lz4"}}"#,
        #"{"name":"gzip","configuration":{"level":1}}"#,
        #"{"name":"transpose","configuration":{"order":[1,0]}}"#,
        #"{"name":"numcodecs.zlib","configuration":{"level":1}}"#,
        #"{"name":"numcodecs.blosc","configuration":{"cname":"zstd","clevel":1,"shuffle":2}}"#,
        #""zlib""#,
        #"{"name":"lz4","configuration":{"acceleration":1}}"#,
        #"{"name":"sharding_indexed","configuration":{"chunk_shape":[2],"codecs":[{"name":"bytes","configuration":{"endian":"little"}},"bz2"],"index_codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}]}}"#,
    ])
    func parsedEntriesAreTypedAndWrittenBackUnchanged(_ entry: String) throws {
        let json = try JSONValue.parse(Array(entry.utf8))
        let spec = CodecSpec(json: json)
        if case .other = spec.configuration { Issue.record("\(entry) was not typed") }
        #expect(spec.json == json)
        #expect(text(spec.json) == text(json))
        // The canonical form of the typed value reads back to the same typed value.
        let canonical = CodecSpec(spec.configuration)
        #expect(CodecSpec(json: canonical.json) == spec, "\(text(canonical.json))")
    }

    @Test func typedValuesCarryTheConfiguration() throws {
        let parse = { (s: String) throws -> CodecSpec in CodecSpec(json: try JSONValue.parse(Array(s.utf8))) }
        #expect(try parse(#"{"name":"zstd","configuration":{"checksum":true,"level":7}}"#) == .zstd(level: 7, checksum: true))
        #expect(try parse(#"{"name":"zstd"}"#) == .zstd(level: 0, checksum: false))
        #expect(try parse(#"{"name":"bytes"}"#) == .bytes(endian: nil))
        #expect(try parse(#"{"name":"blosc","configuration":{"cname":"lz4"}}"#).configuration
                == .blosc(BloscCodec.Configuration(cname: "lz4", clevel: 5, shuffle: .auto, typesize: nil, blocksize: 0)))
        let s = try parse(#"{"name":"sharding_indexed","configuration":{"chunk_shape":[2,3],"codecs":[{"name":"bytes"}],"index_codecs":[{"name":"bytes","configuration":{"endian":"little"}}],"index_location":"start"}}"#)
        guard case .sharding(let c) = s.configuration else { Issue.record("not sharding"); return }
        #expect(c.chunkShape == [2, 3])
        #expect(c.codecs == [.bytes(endian: nil)])
        #expect(c.indexCodecs == [.bytes(endian: .little)])
        #expect(c.indexLocation == .start)
        #expect(try parse(#""lz4""#).configuration == .numcodecs(NumcodecsConfiguration(id: "lz4", bareName: true)))
    }

    /// Unknown names, malformed configurations: `.other`, kept verbatim; the chain skips an
    /// optional unknown codec and refuses the rest with the error it always gave.
    @Test func entriesWithoutATypedConfigurationKeepTodaysBehaviour() throws {
        let spec = ChunkSpec(shape: [4], dataType: .int32, fillValue: .zero(for: .int32))
        let optional: JSONValue = ["name": "x-unknown", "configuration": ["a": 1], "must_understand": false]
        let o = CodecSpec(json: optional)
        guard case .other = o.configuration else { Issue.record("typed an unknown codec"); return }
        #expect(o.json == optional)
        let chain = try CodecChain(v3: [.bytes(), o, .crc32c], spec: spec)
        #expect(chain.bytesToBytes.count == 1)
        func message(_ entries: [CodecSpec]) -> String {
            do { _ = try CodecChain(v3: entries, spec: spec); return "no error" } catch { return "\(error)" }
        }
        #expect(message([.bytes(), ["name": "x-unknown"]]).contains("x-unknown"))
        let badLevel: CodecSpec = ["name": "zstd", "configuration": ["level": "high"]]
        guard case .other = badLevel.configuration else { Issue.record("typed a malformed zstd"); return }
        #expect(message([.bytes(), badLevel]) == "\(ZarrError.invalidCodecConfiguration(codec: "zstd", reason: "'level' must be an integer"))")
        #expect(message([.bytes(), .zstd(level: 99)]).contains("level 99 outside"))
        #expect(message([.bytes(endian: nil)]).contains("'endian' is required"))
        #expect(message([.bytes(), .numcodecs(id: "nope")]).contains("numcodecs.nope"))
        #expect(message([.bytes(), ["name": "numcodecs.nope", "must_understand": false]]).contains("numcodecs.nope"))
        #expect(message([.sharding(chunkShape: [3], codecs: [.bytes()])]).contains("does not divide"))
    }

    /// The bare-name rewrite works on typed values, nested in sharding, and keeps the rest of
    /// the spelling.
    @Test func bareNumcodecsNamesAreRewrittenOnTypedValues() throws {
        let doc = #"[{"name":"sharding_indexed","configuration":{"index_location":"end","chunk_shape":[2],"codecs":[{"name":"bytes","configuration":{"endian":"little"}},"zlib"],"index_codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}]}},{"name":"lz4","configuration":{"acceleration":2}}]"#
        let specs = (try JSONValue.parse(Array(doc.utf8))).array?.map(CodecSpec.init(json:)) ?? []
        let out = CodecRegistry.writtenV3Names(specs)
        let expected = doc.replacingOccurrences(of: "\"zlib\"", with: "\"numcodecs.zlib\"").replacingOccurrences(of: "\"lz4\"", with: "\"numcodecs.lz4\"")
        #expect(text(out) == text(try JSONValue.parse(Array(expected.utf8))))
        guard case .sharding(let c) = out[0].configuration, case .numcodecs(let z) = c.codecs[1].configuration,
              case .numcodecs(let l) = out[1].configuration else { Issue.record("typed values lost"); return }
        #expect(!z.bareName && z.id == "zlib")
        #expect(!l.bareName && l.parameters["acceleration"] == 2)
    }

    /// ArrayMetadata keeps the parsed spelling: parse → typed → serialise gives the same codecs.
    @Test func metadataCodecsRoundTripByteForByte() throws {
        let doc = #"{"zarr_format":3,"node_type":"array","shape":[4],"data_type":"int32","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[4]}},"chunk_key_encoding":{"name":"default"},"fill_value":0,"codecs":[{"configuration":{"endian":"little"},"name":"bytes"},{"name":"x","must_understand":false},{"name":"zstd","configuration":{"level":1}}],"attributes":{}}"#
        let json = try JSONValue.parse(Array(doc.utf8))
        let m = try ArrayMetadata.parseV3(json, path: "a")
        #expect(m.codecs.count == 3)
        #expect(text(m.v3Document()["codecs"] ?? .null) == text(json["codecs"] ?? .null))
        #expect(try m.makeChain().bytesToBytes.count == 1)
    }
}

/// Every `codecs` entry of `metadata`, with those of sharding chains, depth first.
func allCodecSpecs(_ specs: [CodecSpec]) -> [CodecSpec] {
    specs.flatMap { s -> [CodecSpec] in
        if case .sharding(let c) = s.configuration { return [s] + allCodecSpecs(c.codecs) + allCodecSpecs(c.indexCodecs) }
        return [s]
    }
}

/// Checks every v3 array document under `root`: its codecs are typed (known names never fall
/// back to `.other`) and written back byte for byte. Returns the number of documents.
func checkTypedCodecRoundTrip(under root: String) throws -> Int {
    var count = 0
    guard let walker = FileManager.default.enumerator(atPath: root) else { return 0 }
    let known: Set<String> = ["bytes", "transpose", "vlen-utf8", "vlen-bytes", "sharding_indexed", "zstd", "crc32c", "gzip", "blosc", "zlib", "lz4", "bz2"]
    for case let rel as String in walker where rel.hasSuffix("zarr.json") {
        let path = root + "/" + rel
        let json = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        guard json["node_type"]?.string == "array", let codecs = json["codecs"] else { continue }
        guard let m = try? ArrayMetadata.parseV3(json, path: rel) else { continue }  // refused documents are other tests' business
        count += 1
        #expect(m.v3Document()["codecs"]?.serialized() == codecs.serialized(), "\(rel)")
        for s in allCodecSpecs(m.codecs) {
            if case .other(let j) = s.configuration {
                let name = j.string ?? j["name"]?.string ?? ""
                #expect(!known.contains(name) && !name.hasPrefix("numcodecs."), "\(rel): \(String(decoding: j.serialized(indent: 0), as: UTF8.self)) was not typed")
            }
            #expect(CodecSpec(json: CodecSpec(s.configuration).json) == s, "\(rel): canonical form of \(s.name)")
        }
    }
    return count
}
