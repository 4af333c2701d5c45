import Foundation
import Testing
@testable import Zarr

/// Interop in both directions with zarr-python 3.1 / 3.4 and tensorstore: the corpus that
/// `scripts/interop/make_corpus.py` writes is read by Swift exactly, and the same arrays written
/// by Swift are read back by `scripts/interop/check_arrays.py` under both Python stacks.
@Suite(.serialized) struct ZarrInteropTests {
    struct Entry: Sendable {
        let json: JSONValue
        var store: String { json["store"]?.string ?? "" }
        var path: String { json["path"]?.string ?? "" }
        var values: String { json["values"]?.string ?? "" }
        var dataType: String { json["data_type"]?.string ?? "" }
        var shape: [Int] { json["shape"]?.array?.compactMap(\.int) ?? [] }
        var optional: Bool { json["optional"]?.bool ?? false }
        var label: String { "\(store)/\(path)" }
    }

    /// Corpus entries that may fail, and why. Every other failure, optional entry or not, is
    /// a test failure. The blosc snappy array is accepted only while libblosc lacks snappy.
    static let knownUnsupported: [String: String] = (try? BloscCodec(cname: "snappy"))?.isCompressorAvailable == true ? [:] : [
        "ts_v3.zarr/blosc_snappy": "this libblosc build has no snappy",
    ]

    static let python311 = packageRoot + "/.venv/bin/python"
    static let python312 = packageRoot + "/.venv312/bin/python"

    /// The corpus, written once per test process by zarr-python 3.1.6 and tensorstore.
    static let corpus = Task<(dir: String, entries: [Entry]), any Error> {
        guard FileManager.default.isExecutableFile(atPath: python311) else {
            throw ZarrError.unsupportedOperation("\(python311) is missing: run scripts/setup")
        }
        let dir = temporaryDirectory("corpus")
        let r = try run(python311, [packageRoot + "/scripts/interop/make_corpus.py", dir])
        guard r.status == 0 else { throw ZarrError.io(key: dir, reason: "make_corpus.py failed:\n\(r.output)") }
        let manifest = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json"))))
        var entries = (manifest.array ?? []).map(Entry.init)
        // zarr-python 3.4 spells some v3 metadata differently (`struct`, numcodecs wrappers):
        // those sections again, written by it, under zarr34/.
        guard FileManager.default.isExecutableFile(atPath: python312) else {
            throw ZarrError.unsupportedOperation("\(python312) is missing: run scripts/setup")
        }
        let r34 = try run(python312, [packageRoot + "/scripts/interop/make_corpus.py", dir + "/zarr34", "--only", "structured,numcodecs_v3"])
        guard r34.status == 0 else { throw ZarrError.io(key: dir, reason: "make_corpus.py (zarr 3.4) failed:\n\(r34.output)") }
        let m34 = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/zarr34/manifest.json"))))
        for e in m34.array ?? [] {
            guard var o = e.object else { continue }
            for key in ["store", "values", "region_values"] {
                if let v = o[key]?.string { o[key] = .string("zarr34/" + v) }
            }
            entries.append(Entry(json: .object(o)))
        }
        return (dir, entries)
    }

    func load(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// Bytes equal, or equal as floats with every NaN equal to every NaN.
    static func sameValues(_ a: [UInt8], _ b: [UInt8], _ type: String) -> Bool {
        if a == b { return true }
        guard a.count == b.count else { return false }
        let width: Int
        switch type {
        case "float16": width = 2
        case "float32", "complex64": width = 4
        case "float64", "complex128": width = 8
        default: return false
        }
        func isNaN(_ x: [UInt8], _ i: Int) -> Bool {
            var bits: UInt64 = 0
            for k in (0..<width).reversed() { bits = bits << 8 | UInt64(x[i + k]) }
            switch width {
            case 2: return Float16(bitPattern: UInt16(bits)).isNaN
            case 4: return Float(bitPattern: UInt32(bits)).isNaN
            default: return Double(bitPattern: bits).isNaN
            }
        }
        var i = 0
        while i < a.count {
            if a[i..<i + width] != b[i..<i + width], !(isNaN(a, i) && isNaN(b, i)) { return false }
            i += width
        }
        return true
    }

    @Test func swiftReadsEveryArrayThatPythonWrote() async throws {
        let (dir, entries) = try await Self.corpus.value
        #expect(entries.count >= 200)
        var read = 0, knownFailures: [String] = []
        for e in entries {
            do {
                let array = try await ZarrArray.open(LocalStore(root: dir + "/" + e.store), path: e.path)
                #expect(array.dataType.name == e.dataType, "\(e.label)")
                #expect(array.shape == e.shape, "\(e.label)")
                #expect(array.metadata.zarrFormat.rawValue == e.json["zarr_format"]?.int, "\(e.label)")
                let values = try await array.read()
                #expect(Self.sameValues(values.packedBytes(), try load(dir + "/" + e.values), e.dataType), "\(e.label)")
                if let region = e.json["region"]?.string, let rv = e.json["region_values"]?.string {
                    let ranges = region.split(separator: ",").map { part -> Range<Int> in
                        let ends = part.split(separator: ":").compactMap { Int($0) }
                        return ends[0]..<ends[1]
                    }
                    let part = try await array.read(ranges)
                    #expect(Self.sameValues(part.packedBytes(), try load(dir + "/" + rv), e.dataType), "\(e.label) region \(region)")
                }
                if let attrs = e.json["attributes"]?.object { #expect(array.attributes == attrs, "\(e.label) attributes") }
                read += 1
            } catch {
                if let reason = Self.knownUnsupported[e.label] { knownFailures.append("\(e.label) (\(reason))") } else { Issue.record("\(e.label): \(error)") }
            }
        }
        print("interop: Swift read \(read) of \(entries.count) arrays written by zarr-python/tensorstore; known unsupported: \(knownFailures)")
        #expect(read + knownFailures.count == entries.count)
        #expect(read >= entries.count - Self.knownUnsupported.count)
    }

    /// Writes every corpus array again with Swift (same metadata, same values) and returns the
    /// output directory and its manifest path.
    func writeWithSwift(_ entries: [Entry], corpus: String) async throws -> (String, String) {
        let out = temporaryDirectory("swift-written")
        var manifest: [JSONValue] = []
        for e in entries {
            let source: ZarrArray
            do {
                source = try await ZarrArray.open(LocalStore(root: corpus + "/" + e.store), path: e.path)
            } catch {
                if Self.knownUnsupported[e.label] != nil { continue }
                throw error
            }
            let store = LocalStore(root: out + "/" + e.store)
            let array = try await ZarrArray.create(store, path: e.path, metadata: source.metadata)
            let values = try NDArray(packed: try load(corpus + "/" + e.values), dataType: source.dataType, shape: source.shape)
            do {
                try await array.write(all: values)
            } catch {
                if Self.knownUnsupported[e.label] != nil { continue }
                throw error
            }
            guard var o = e.json.object else { continue }
            o["values"] = .string(corpus + "/" + e.values)
            o["writer"] = "swift-anndata"
            o["region"] = nil
            o["region_values"] = nil
            manifest.append(.object(o))
        }
        let path = out + "/manifest.json"
        try Data(JSONValue.array(manifest).serialized()).write(to: URL(fileURLWithPath: path))
        return (out, path)
    }

    static func counts(_ output: String) -> (passed: Int, failed: Int)? {
        for line in output.split(separator: "\n").reversed() {
            let words = line.split(separator: " ")
            if words.count >= 4, words[1].hasPrefix("passed"), words[3].hasPrefix("failed"),
                let p = Int(words[0]), let f = Int(words[2])
            {
                return (p, f)
            }
        }
        return nil
    }

    @Test(arguments: [python311, python312])
    func pythonReadsEveryArrayThatSwiftWrote(_ python: String) async throws {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("\(python) is missing: run scripts/setup")
            return
        }
        let (dir, entries) = try await Self.corpus.value
        let (_, manifest) = try await writeWithSwift(entries, corpus: dir)
        let written = (try JSONValue.parse(try load(manifest)).array ?? []).count
        #expect(written + Self.knownUnsupported.count >= entries.count)
        let r = try run(python, [packageRoot + "/scripts/interop/check_arrays.py", manifest])
        let c = Self.counts(r.output)
        let skips = r.output.split(separator: "\n").filter { $0.hasPrefix("skip ") }
        print("interop: \(python) skipped: \(skips)")
        print("interop: \(python) read Swift-written arrays: \(c.map { "\($0.passed) passed, \($0.failed) failed" } ?? "no summary")")
        #expect(r.status == 0, "\(r.output.split(separator: "\n").filter { !$0.hasPrefix("ok") }.joined(separator: "\n"))")
        // Every array Swift wrote is checked; the only accepted skip is an array that only
        // tensorstore reads, under a Python without tensorstore (.venv312).
        #expect(skips.allSatisfy { $0.hasSuffix(": tensorstore not importable") }, "\(skips)")
        #expect((c?.passed ?? 0) + skips.count == written)
        #expect(c?.failed == 0)
    }

    /// Every v3 array document of the corpus (zarr-python 3.1 and 3.4, tensorstore): its codecs
    /// parse to typed values (no known codec left as `.other`) and serialise back byte for byte.
    @Test func everyCorpusCodecListIsTypedAndWrittenBackUnchanged() async throws {
        let (dir, _) = try await Self.corpus.value
        let n = try checkTypedCodecRoundTrip(under: dir)
        print("typed codecs: \(n) v3 array documents round-tripped")
        #expect(n >= 100)
    }

    /// The per-type default compressors (`CodecSpec.defaultCompressor(for:)`: blosc(zstd,
    /// shuffle) for integers) as Swift writes them, plain and sharded, are read exactly by
    /// zarr-python, tensorstore and zarrs.
    @Test func zarrPythonTensorstoreAndZarrsReadTheDefaultCompressors() async throws {
        let dir = temporaryDirectory("defaults")
        let store = try LocalStore(root: dir)
        var names: [String] = []
        for type in [DataType.int16, .int32, .int64, .uint16, .uint32, .uint64, .float32, .float64, .int8] {
            let n = 5000
            let size = type.itemSize ?? 1
            var bytes = [UInt8](repeating: 0, count: n * size)
            for i in 0..<n {  // sorted, sparse-index-like values, little-endian
                var v = UInt64(i * 37 + i / 3)
                if type == .float32 { v = UInt64(Float(i % 17).bitPattern) } else if type == .float64 { v = Double(i % 17).bitPattern }
                for k in 0..<size { bytes[i * size + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) }
            }
            let data = try NDArray(dataType: type, shape: [n], storage: .fixed(bytes))
            for sharded in [false, true] {
                let chain = CodecSpec.defaultChain(for: type, compressor: CodecSpec.defaultCompressor(for: type))
                let codecs: [CodecSpec] = sharded ? [.sharding(chunkShape: [512], codecs: chain)] : chain
                let name = "\(type.name)\(sharded ? "_sharded" : "")"
                let a = try await ZarrArray.create(store, path: name, metadata: ArrayMetadata(
                    shape: [n], chunkShape: sharded ? [2048] : [1024], dataType: type, codecs: codecs))
                try await a.write(all: data)
                try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name + ".bin"))
                names.append(name)
            }
        }
        let written = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/int32/zarr.json"))))
        #expect(written["codecs"]?.array?.last?["name"]?.string == "blosc")
        let script = #"""
        import sys, json, numpy as np, zarr, tensorstore as ts
        root, names = sys.argv[1], sys.argv[2].split(",")
        def expected(n, dt): return np.fromfile(f"{root}/{n}.bin", dtype=np.dtype(dt).newbyteorder("<"))
        bad = []
        for n in names:
            meta = json.load(open(f"{root}/{n}/zarr.json"))
            want = expected(n, meta["data_type"])
            got = {"zarr-python": zarr.open_array(f"{root}/{n}", mode="r")[:]}
            got["tensorstore"] = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": f"{root}/{n}"}}).result().read().result()
            with zarr.config.set({"codec_pipeline.path": "zarrs.ZarrsCodecPipeline"}):
                z = zarr.open_array(f"{root}/{n}", mode="r")
                assert type(z._async_array.codec_pipeline).__name__ == "ZarrsCodecPipeline"
                got["zarrs"] = z[:]
            for reader, v in got.items():
                if not np.array_equal(np.asarray(v), want): bad.append(f"{reader} {n}")
        print("readers ok" if not bad else "MISMATCH " + ", ".join(bad))
        sys.exit(1 if bad else 0)
        """#
        let r = try run(Self.python311, ["-c", script, dir, names.joined(separator: ",")])
        #expect(r.status == 0 && r.output.contains("readers ok"), "\(r.output)")
    }

    @Test func aCorruptedCorpusCopyMakesTheChecksFail() async throws {
        let (dir, entries) = try await Self.corpus.value
        let copy = temporaryDirectory("corrupt")
        let fm = FileManager.default
        // 1. Corrupt the chunks of every zstd / crc32c / gzip array in one store copy: reads must throw.
        let targets = entries.filter { $0.store == "v3_codecs.zarr" && ($0.path.contains("zstd") || $0.path.contains("crc32c") || $0.path.contains("gzip")) }
        #expect(!targets.isEmpty)
        try fm.copyItem(atPath: dir + "/v3_codecs.zarr", toPath: copy + "/v3_codecs.zarr")
        for e in targets {
            let chunkDir = copy + "/v3_codecs.zarr/" + e.path + "/c"
            guard let files = fm.enumerator(atPath: chunkDir)?.allObjects as? [String] else { continue }
            for f in files where !f.hasSuffix("/") {
                let p = chunkDir + "/" + f
                var isDir: ObjCBool = false
                guard fm.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue, var bytes = try? load(p), bytes.count > 8 else { continue }
                bytes[bytes.count / 2] ^= 0x5A
                bytes[bytes.count - 1] ^= 0xFF
                try Data(bytes).write(to: URL(fileURLWithPath: p))
            }
            await #expect(throws: ZarrError.self, "\(e.label)") {
                _ = try await ZarrArray.open(LocalStore(root: copy + "/v3_codecs.zarr"), path: e.path).read()
            }
        }
        // 2. Wrong expected values are noticed by the comparison used above.
        if let e = entries.first(where: { $0.dataType == "int32" }) {
            var expected = try load(dir + "/" + e.values)
            let actual = try await ZarrArray.open(LocalStore(root: dir + "/" + e.store), path: e.path).read().packedBytes()
            #expect(Self.sameValues(actual, expected, e.dataType))
            expected[0] ^= 1
            #expect(!Self.sameValues(actual, expected, e.dataType))
        }
        // 3. A truncated chunk is a typed error.
        if let e = targets.first {
            let chunkDir = copy + "/v3_codecs.zarr/" + e.path
            try fm.removeItem(atPath: chunkDir)
            try fm.copyItem(atPath: dir + "/v3_codecs.zarr/" + e.path, toPath: chunkDir)
            for f in (fm.enumerator(atPath: chunkDir + "/c")?.allObjects as? [String]) ?? [] {
                let p = chunkDir + "/c/" + f
                if let bytes = try? load(p), bytes.count > 4 { try Data(bytes.prefix(bytes.count / 2)).write(to: URL(fileURLWithPath: p)) }
            }
            await #expect(throws: ZarrError.self) {
                _ = try await ZarrArray.open(LocalStore(root: copy + "/v3_codecs.zarr"), path: e.path).read()
            }
        }
    }

    @Test func groupsAttributesAndConsolidatedMetadataMatchWhatPythonWrote() async throws {
        let (dir, _) = try await Self.corpus.value
        let groups = try JSONValue.parse(try load(dir + "/groups.json")).array ?? []
        #expect(!groups.isEmpty)
        for g in groups {
            let storeName = g["store"]?.string ?? "", path = g["path"]?.string ?? ""
            let store = LocalStore(root: dir + "/" + storeName)
            let group = try await ZarrGroup.open(store, path: path)
            #expect(group.metadata.zarrFormat.rawValue == g["zarr_format"]?.int, "\(storeName)/\(path)")
            if let attrs = g["attributes"]?.object { #expect(group.attributes == attrs, "\(storeName)/\(path)") }
            let members = try await group.children().map(\.name).sorted()
            #expect(members == (g["members"]?.array?.compactMap(\.string) ?? []).sorted(), "\(storeName)/\(path)")
            if g["consolidated"]?.bool == true, path.isEmpty {
                let c = try #require(group.consolidated, "\(storeName) has consolidated metadata")
                let actual = try await ConsolidatedMetadata.collect(store, format: group.metadata.zarrFormat)
                #expect(c.staleEntries(comparedWith: actual) == [], "\(storeName)")
            }
        }
    }

    @Test func pythonReadsHierarchiesThatSwiftConsolidated() async throws {
        let dir = temporaryDirectory("consolidated")
        for format in [ZarrFormat.v2, .v3] {
            let store = LocalStore(root: dir + "/s\(format.rawValue)")
            try await ZarrGroup.create(store, format: format, attributes: ["x": 1, "big": .uint(18_446_744_073_709_551_615)])
            try await ZarrGroup.create(store, path: "h/grüße", format: format, attributes: ["y": [1, 2]])
            let a = try await ZarrArray.create(store, path: "h/grüße/a", metadata: ArrayMetadata(
                shape: [5], chunkShape: [2], dataType: .float64, zarrFormat: format,
                v2: V2ArrayOptions(compressor: ["id": "zstd", "level": 1])))
            try await a.write(all: try NDArray([0.5, 1, 2, -0.0, .infinity], shape: [5]))
            try await ConsolidatedMetadata.consolidate(store)
        }
        let script = """
        import sys, zarr, numpy as np
        for fmt in (2, 3):
            g = zarr.open_consolidated(sys.argv[1] + f'/s{fmt}', zarr_format=fmt)
            assert dict(g.attrs) == {'x': 1, 'big': 18446744073709551615}, dict(g.attrs)
            assert dict(g['h/grüße'].attrs) == {'y': [1, 2]}
            v = g['h/grüße/a'][:]
            assert v.tolist() == [0.5, 1, 2, 0.0, np.inf] and np.signbit(v[3]), v
        print('1 passed, 0 failed')
        """
        for python in [Self.python311, Self.python312] {
            let path = dir + "/check.py"
            try Data(script.utf8).write(to: URL(fileURLWithPath: path))
            let r = try run(python, [path, dir])
            #expect(r.status == 0, "\(python): \(r.output)")
        }
    }
}
