import Foundation
import Synchronization
import Testing
import AnnData
import Zarr
@testable import ZarrHDF5

/// `HDF5Store` against h5py (the repository's `.venv/bin/python`): files h5py writes read back
/// equal through the store and `ZarrArray`; what the store writes h5py reads equal; bad input
/// is a typed error; `AnnData.write(h5ad:)` replaces a file atomically.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct HDF5StoreTests {
    // MARK: - Reads

    @Test func numbersReadEqualToH5py() async throws {
        let s = try H5Scratch("numbers")
        defer { s.remove() }
        let out = try s.python("""
        rng = np.random.default_rng(7)
        with h5py.File(D + "/r.h5", "w") as f:
            def put(name, data, **kw):
                d = f.create_dataset(name, data=data, **kw)
                dump(name, d[...])
                return d
            put("contig", rng.standard_normal((1100, 1000)).astype("<f4"))
            put("gzip", rng.standard_normal((300, 70)).astype("<f4"), chunks=(64, 32), compression="gzip")
            put("shuf_gzip", rng.integers(-10**12, 10**12, 1000).astype("<i8"), chunks=(128,), compression="gzip", shuffle=True)
            put("lzf", np.cumsum(rng.standard_normal(2000)), chunks=(300,), compression="lzf")
            put("shuf_lzf", rng.integers(0, 1000, (50, 60)).astype("<i4"), chunks=(16, 16), compression="lzf", shuffle=True)
            d = put("lzf_random", rng.integers(0, 256, 100000, dtype=np.uint8), chunks=(20000,), compression="lzf")
            OUT["lzf_random_mask"] = int(d.id.get_chunk_info(0).filter_mask)
            d = put("shuf_lzf_random", rng.integers(0, 256, 8000 * 8, dtype=np.uint8).view("<f8"), chunks=(1000,), compression="lzf", shuffle=True)
            OUT["shuf_lzf_random_mask"] = int(d.id.get_chunk_info(0).filter_mask)
            put("fletcher", rng.standard_normal(500).astype("<f4"), chunks=(100,), fletcher32=True)
            put("scaleoffset", rng.integers(-5000, 5000, 500).astype("<i4"), chunks=(100,), scaleoffset=0)
            put("be", np.arange(-500, 500, dtype=">i4"))
            put("be_gzip", np.arange(-500, 500, dtype=">i4").reshape(40, 25), chunks=(16, 10), compression="gzip")
            put("f16", rng.standard_normal(333).astype("<f2"), chunks=(100,), compression="gzip")
            put("bool", rng.integers(0, 2, 77).astype(bool))
            put("bool_chunked", rng.integers(0, 2, 77).astype(bool), chunks=(20,), compression="gzip")
            put("u2", np.arange(999, dtype="<u2"))
        """)
        // The incompressible chunks are stored with LZF skipped (mask bit set), so the store's
        // re-encoding path is exercised for plain LZF and for shuffle+LZF.
        #expect(out["lzf_random_mask"] as? Int == 1)
        #expect(out["shuf_lzf_random_mask"] as? Int == 2)

        let store = try await HDF5Store.open(path: s.path("r.h5"))
        let expectedTypes: [String: DataType] = [
            "contig": .float32, "gzip": .float32, "shuf_gzip": .int64, "lzf": .float64, "shuf_lzf": .int32,
            "lzf_random": .uint8, "shuf_lzf_random": .float64, "fletcher": .float32, "scaleoffset": .int32,
            "be": .int32, "be_gzip": .int32, "f16": .float16, "bool": .bool, "bool_chunked": .bool, "u2": .uint16,
        ]
        for (name, type) in expectedTypes.sorted(by: { $0.key < $1.key }) {
            let array = try await ZarrArray.open(store, path: name)
            #expect(array.dataType == type, "\(name)")
            let values = try await array.read()
            #expect(values.bytes == (try s.expected(name)), "\(name) differs from h5py")
        }
        // The mappable pipelines are presented as v2 codecs.
        let gzip = try await ZarrArray.open(store, path: "gzip")
        #expect(gzip.metadata.chunkShape == [64, 32])
        #expect(gzip.metadata.v2.compressor == ["id": "zlib", "level": 4])
        let shuffled = try await ZarrArray.open(store, path: "shuf_lzf")
        #expect(shuffled.metadata.v2.filters == [["id": "shuffle", "elementsize": 4]])
        #expect(shuffled.metadata.v2.compressor == ["id": "lzf"])

        // The contiguous 4.4 MB matrix is cut into virtual chunks of whole rows (two here);
        // row slices inside one and across the boundary read equal.
        let contig = try await ZarrArray.open(store, path: "contig")
        let rowsPerChunk = HDF5Store.contiguousChunkBytes / 4000
        #expect(contig.metadata.chunkShape == [rowsPerChunk, 1000])
        #expect(contig.metadata.grid.gridShape == [2, 1])
        let all = try s.expected("contig")
        for rows in [500..<1100, (rowsPerChunk - 10)..<(rowsPerChunk + 10), 0..<1, 1099..<1100] {
            let part = try await contig.read([rows, 0..<1000])
            #expect(part.bytes == Array(all[(rows.lowerBound * 4000)..<(rows.upperBound * 4000)]), "rows \(rows)")
        }
        let block = try await contig.read([1040..<1060, 990..<1000])
        var expectedBlock: [UInt8] = []
        for r in 1040..<1060 { expectedBlock += all[(r * 4000 + 990 * 4)..<(r * 4000 + 4000)] }
        #expect(block.bytes == expectedBlock)
        try await store.close()
    }

    @Test func stringsScalarsAndEmptyDatasets() async throws {
        let s = try H5Scratch("strings")
        defer { s.remove() }
        _ = try s.python("""
        with h5py.File(D + "/r.h5", "w") as f:
            vs = ["a", "héllo", "", "xyz" * 10, "日本"]
            f.create_dataset("vlen", data=np.array(vs, dtype=object), dtype=h5py.string_dtype())
            f.create_dataset("vlen_chunked", data=np.array(vs * 3, dtype=object), dtype=h5py.string_dtype(), chunks=(4,), compression="gzip")
            f.create_dataset("vlen_2d", data=np.array([["a", "b", "c"], ["d", "", "f"]], dtype=object), dtype=h5py.string_dtype())
            f.create_dataset("fixed", data=np.array([b"ab", b"hello", b"", b"x"], dtype="S5"))
            f["scalar_f"] = 3.5
            f["scalar_i"] = np.int64(-7)
            f["scalar_s"] = "hi there"
            f["scalar_b"] = np.bool_(True)
            f.create_dataset("null_space", data=h5py.Empty("f"))
            f.create_dataset("zero", shape=(0,), dtype="<f4")
            f.create_dataset("zero_chunked", shape=(0, 3), maxshape=(None, 3), chunks=(8, 3), dtype="<i8")
            f.create_dataset("zero_strings", shape=(0,), dtype=h5py.string_dtype())
            # Bytes that are not UTF-8, in strings that claim to be (h5py writes what it is given).
            f.create_dataset("bad_utf8", data=np.array([b"ok", b"\\xff\\xfe", b"a\\xc3"], dtype=object), dtype=h5py.string_dtype("utf-8"))
            f.create_dataset("bad_utf8_fixed", data=np.array([b"ok", b"\\xff\\xfe"], dtype="S2"))
        """)
        let store = try await HDF5Store.open(path: s.path("r.h5"))
        func read(_ name: String) async throws -> NDArray { try await ZarrArray.open(store, path: name).read() }
        let vs = ["a", "héllo", "", String(repeating: "xyz", count: 10), "日本"]
        #expect(try await read("vlen").strings() == vs)
        #expect(try await read("vlen_chunked").strings() == vs + vs + vs)
        let twoD = try await read("vlen_2d")
        #expect(twoD.shape == [2, 3])
        #expect(try twoD.strings() == ["a", "b", "c", "d", "", "f"])
        #expect(try await read("fixed").strings() == ["ab", "hello", "", "x"])

        let scalar = try await ZarrArray.open(store, path: "scalar_f")
        #expect(scalar.shape == [])
        #expect(try await scalar.read().values(as: Double.self) == [3.5])
        #expect(try await read("scalar_i").values(as: Int64.self) == [-7])
        #expect(try await read("scalar_s").strings() == ["hi there"])
        #expect(try await read("scalar_b").values(as: Bool.self) == [true])

        // An empty dataspace opens as a 0-d array with no stored value.
        let null = try await ZarrArray.open(store, path: "null_space")
        #expect(null.shape == [])
        #expect(try await store.get("null_space/0") == nil)
        _ = try await null.read()

        let zero = try await read("zero")
        #expect(zero.shape == [0])
        #expect(zero.count == 0)
        let zeroChunked = try await read("zero_chunked")
        #expect(zeroChunked.shape == [0, 3])
        #expect(try await read("zero_strings").shape == [0])
        // Invalid UTF-8: read (with replacement characters) or a typed error.
        for name in ["bad_utf8", "bad_utf8_fixed"] {
            do {
                let values = try await read(name).strings()
                #expect(values.first == "ok", "\(name)")
            } catch is ZarrError {}
        }
        try await store.close()
    }

    @Test func compoundDatasets() async throws {
        let s = try H5Scratch("compound")
        defer { s.remove() }
        _ = try s.python("""
        with h5py.File(D + "/r.h5", "w") as f:
            rec = np.array([(1, 2.5, True), (-2, -1.0, False), (3, 1e300, True)], dtype=[("a", "<i4"), ("b", "<f8"), ("c", "?")])
            f["rec"] = rec
            dump("rec", rec)
            st = [("a", "<i4"), ("s", h5py.string_dtype()), ("t", h5py.string_dtype())]
            rows = [(1, "x", "long value"), (2, "hello", ""), (3, "日本", "z")]
            f.create_dataset("rec_str", data=np.array(rows, dtype=st))
            dump("rec_str", np.array(rows, dtype=[("a", "<i4"), ("s", "<U5"), ("t", "<U10")]))
        """)
        let store = try await HDF5Store.open(path: s.path("r.h5"))
        let rec = try await ZarrArray.open(store, path: "rec")
        guard case .structured(let fields) = rec.dataType else {
            Issue.record("rec is \(rec.dataType), not a structured type")
            return
        }
        #expect(fields.map(\.name) == ["a", "b", "c"])
        #expect(try await rec.read().bytes == (try s.expected("rec")))

        let recStr = try await ZarrArray.open(store, path: "rec_str")
        guard case .structured(let strFields) = recStr.dataType else {
            Issue.record("rec_str is \(recStr.dataType), not a structured type")
            return
        }
        #expect(strFields.map(\.name) == ["a", "s", "t"])
        #expect(try await recStr.read().bytes == (try s.expected("rec_str")))
        try await store.close()
    }

    @Test func attributesOfEveryKind() async throws {
        let s = try H5Scratch("attrs")
        defer { s.remove() }
        _ = try s.python("""
        with h5py.File(D + "/r.h5", "w") as f:
            g = f.create_group("g")
            d = g.create_dataset("d", data=np.arange(3))
            for o in (g, d):
                o.attrs["str"] = "hello"
                o.attrs["strs"] = ["a", "bé", ""]
                o.attrs["int"] = 3
                o.attrs["float"] = 2.5
                o.attrs["bool"] = True
                o.attrs["ints"] = np.array([1, -2, 3], dtype=np.int64)
                o.attrs["empty"] = []
                o.attrs["ref"] = f["g/d"].ref
                o.attrs["nan"] = np.nan
                o.attrs["bools"] = np.array([True, False])
                o.attrs["fixed"] = np.bytes_("abc")
                o.attrs["null"] = h5py.Empty("f")
                o.attrs["u64"] = np.uint64(2**63 + 5)
            f.attrs["encoding-type"] = "anndata"
        """)
        let store = try await HDF5Store.open(path: s.path("r.h5"))
        for path in ["g", "g/d"] {
            guard let bytes = try await store.get(path + "/.zattrs"), let attrs = try JSONValue.parse(bytes).object else {
                Issue.record("no attributes at \(path)")
                continue
            }
            #expect(attrs["str"] == .string("hello"))
            #expect(attrs["strs"] == .array([.string("a"), .string("bé"), .string("")]))
            #expect(attrs["int"] == .int(3))
            #expect(attrs["float"] == .double(2.5))
            #expect(attrs["bool"] == .bool(true))
            #expect(attrs["ints"] == .array([.int(1), .int(-2), .int(3)]))
            #expect(attrs["empty"] == .array([]))
            #expect(attrs["ref"] == .string("/g/d"))
            #expect(attrs["nan"]?.double?.isNaN == true)
            #expect(attrs["bools"] == .array([.bool(true), .bool(false)]))
            #expect(attrs["fixed"] == .string("abc"))
            #expect(attrs["null"] == .null)
            #expect(attrs["u64"] == .uint(UInt64(1) << 63 + 5))
        }
        let group = try await ZarrGroup.open(store, path: "g")
        #expect(group.attributes["int"] == .int(3))
        let array = try await ZarrArray.open(store, path: "g/d")
        #expect(array.attributes["ref"] == .string("/g/d"))
        #expect(try await ZarrGroup.open(store).attributes["encoding-type"] == .string("anndata"))
        try await store.close()
    }

    @Test func groupsAndListing() async throws {
        let s = try H5Scratch("groups")
        defer { s.remove() }
        _ = try s.python("""
        with h5py.File(D + "/r.h5", "w") as f:
            f.create_dataset("a/b/c", data=np.arange(4))
            f.create_group("a/empty")
            f.create_dataset("top", data=np.arange(2))
            f.create_group("z")
        """)
        let store = try await HDF5Store.open(path: s.path("r.h5"))
        let root = try await store.listDirectory("")
        #expect(Set(root.prefixes) == ["a", "top", "z"])
        #expect(Set(root.keys) == [".zattrs", ".zgroup"])
        let a = try await store.listDirectory("a/")
        #expect(Set(a.prefixes) == ["b", "empty"])
        let c = try await store.listDirectory("a/b/c/")
        #expect(Set(c.keys) == ["a/b/c/.zarray", "a/b/c/.zattrs"])
        #expect(c.prefixes.isEmpty)
        let missing = try await store.listDirectory("nope/")
        #expect(missing.keys.isEmpty && missing.prefixes.isEmpty)
        #expect(try await store.list(prefix: "a/") == [
            "a/.zattrs", "a/.zgroup", "a/b/.zattrs", "a/b/.zgroup", "a/b/c/.zarray", "a/b/c/.zattrs",
            "a/empty/.zattrs", "a/empty/.zgroup",
        ])
        #expect(try await store.exists("a/b/.zgroup"))
        #expect(try await !store.exists("a/b/.zarray"))
        #expect(try await !store.exists("a/nope/.zgroup"))
        #expect(try await store.get("a/b/c/.zgroup") == nil)
        _ = try await ZarrGroup.open(store, path: "a/b")
        #expect(try await ZarrArray.open(store, path: "a/b/c").read().values(as: Int64.self) == [0, 1, 2, 3])
        await #expect(throws: ZarrError.self) { _ = try await ZarrArray.open(store, path: "a/nope") }
        await #expect(throws: ZarrError.self) { _ = try await ZarrArray.open(store, path: "a/b") }
        // Keys with empty or dot components are refused, not resolved.
        await #expect(throws: ZarrError.self) { _ = try await store.get("a/../top/.zarray") }
        await #expect(throws: ZarrError.self) { _ = try await store.get("a//b/.zgroup") }
        // A read-only store refuses writes.
        await #expect(throws: ZarrError.self) { try await store.set("q/.zgroup", Array(#"{"zarr_format":2}"#.utf8)) }
        try await store.close()
        // A closed store refuses every request.
        await #expect(throws: ZarrError.self) { _ = try await store.get("top/.zarray") }
    }

    // MARK: - Writes

    @Test func writesReadBackEqualByH5py() async throws {
        let s = try H5Scratch("writes")
        defer { s.remove() }
        let store = try await HDF5Store.create(path: s.path("w.h5"))
        var written: [String: NDArray] = [:]
        func make(_ name: String, _ metadata: ArrayMetadata, _ values: NDArray) async throws {
            let array = try await ZarrArray.create(store, path: "w/" + name, metadata: metadata)
            try await array.write(all: values)
            written[name] = values
        }
        try await make("none", try v2([1000], [300], "<f4"), try NDArray((0..<1000).map { Float($0) * 0.5 }, shape: [1000]))
        try await make("zlib", try v2([50, 40], [16, 16], "<i4", compressor: #"{"id":"zlib","level":4}"#),
                       try NDArray((0..<2000).map { Int32($0 * 7 - 3000) }, shape: [50, 40]))
        try await make("lzf", try v2([777], [100], "<f8", compressor: #"{"id":"lzf"}"#),
                       try NDArray((0..<777).map { sin(Double($0)) }, shape: [777]))
        try await make("shuffle_zlib", try v2([1000], [256], "<f4", compressor: #"{"id":"zlib","level":4}"#, filters: #"[{"id":"shuffle","elementsize":4}]"#),
                       try NDArray((0..<1000).map { Float($0).squareRoot() }, shape: [1000]))
        try await make("shuffle_lzf", try v2([33, 7], [10, 7], "<i4", compressor: #"{"id":"lzf"}"#, filters: #"[{"id":"shuffle","elementsize":4}]"#),
                       try NDArray((0..<231).map { Int32($0 * $0) }, shape: [33, 7]))
        try await make("bool", try v2([10], [4], "|b1", fill: "false"), try NDArray((0..<10).map { $0 % 3 == 0 }, shape: [10]))
        // Incompressible chunks: LZF cannot shrink them.
        var generator = SystemRandomNumberGenerator()
        try await make("lzf_random", try v2([50_000], [20_000], "|u1", compressor: #"{"id":"lzf"}"#),
                       try NDArray((0..<50_000).map { _ in UInt8.random(in: 0...255, using: &generator) }, shape: [50_000]))
        try await make("shuffle_lzf_random", try v2([3000], [1000], "<u8", compressor: #"{"id":"lzf"}"#, filters: #"[{"id":"shuffle","elementsize":8}]"#),
                       try NDArray((0..<3000).map { _ in UInt64.random(in: 0...UInt64.max, using: &generator) }, shape: [3000]))
        try await make("zlib_random", try v2([30_000], [10_000], "|u1", compressor: #"{"id":"zlib","level":9}"#),
                       try NDArray((0..<30_000).map { _ in UInt8.random(in: 0...255, using: &generator) }, shape: [30_000]))
        // A non-zero fill value: the all-fill chunk is not stored, and h5py must read it as 1.5.
        try await make("fill", try v2([20], [5], "<f4", fill: "1.5"),
                       try NDArray((0..<20).map { (5..<10).contains($0) ? Float(1.5) : Float($0) }, shape: [20]))
        let strings = ["a", "héllo", "", "日本語", "zz"]
        try await make("strings", try v2([5], [2], "|O", filters: #"[{"id":"vlen-utf8"}]"#, fill: "null"),
                       try NDArray(strings: strings, shape: [5]))
        // Resizes: setting .zarray again with another shape.
        try await make("grow", try v2([100], [10], "<i4", compressor: #"{"id":"zlib","level":4}"#), try NDArray((0..<100).map { Int32($0) }, shape: [100]))
        try await store.set("w/grow/.zarray", v2JSON([150], [10], "<i4", compressor: #"{"id":"zlib","level":4}"#))
        let grown = try await ZarrArray.open(store, path: "w/grow")
        #expect(grown.shape == [150])
        try await grown.write(try NDArray((100..<150).map { Int32($0) }, shape: [50]), at: [100])
        try await make("shrink", try v2([100], [10], "<i4"), try NDArray((0..<100).map { Int32($0) }, shape: [100]))
        try await store.set("w/shrink/.zarray", v2JSON([45], [10], "<i4"))
        #expect(try await ZarrArray.open(store, path: "w/shrink").read().values(as: Int32.self) == (0..<45).map { Int32($0) })
        // Attributes of every JSON kind HDF5 holds.
        let group = try await ZarrGroup.open(store, path: "w")
        _ = group
        let attrs: JSONObject = [
            "s": "text", "i": 42, "d": 2.25, "t": true, "f": false, "strs": ["a", "b"], "ints": [1, 2, 3],
            "doubles": [1.5, 2.5], "bools": [true, false], "empty": [], "null": .null, "big": .int(Int64.max),
        ]
        try await store.set("w/.zattrs", JSONValue.object(attrs).serialized())
        // HDF5 lists attributes by name.
        let sortedAttrs = JSONObject(attrs.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        try await store.set("w/none/.zattrs", JSONValue.object(["encoding-type": "array", "encoding-version": "0.2.0"]).serialized())
        // What HDF5 attributes cannot hold, and codecs without an HDF5 filter, are typed errors.
        await #expect(throws: ZarrError.self) {
            try await store.set("w/.zattrs", JSONValue.object(["o": ["k": 1]]).serialized())
        }
        await #expect(throws: ZarrError.self) {
            try await store.set("w/.zattrs", JSONValue.object(["m": [1, "a"]]).serialized())
        }
        // A refused attribute document leaves the attributes as they were.
        #expect(try await ZarrGroup.open(store, path: "w").attributes == sortedAttrs)
        await #expect(throws: ZarrError.self) {
            _ = try await ZarrArray.create(store, path: "w/zstd", metadata: try v2([10], [5], "<f4", compressor: #"{"id":"zstd","level":1}"#))
        }
        await #expect(throws: ZarrError.self) {
            _ = try await ZarrArray.create(store, path: "w/blosc", metadata: try v2([10], [5], "<f4", compressor: #"{"id":"blosc","cname":"lz4","clevel":5,"shuffle":1}"#))
        }
        await #expect(throws: ZarrError.self) {
            _ = try await ZarrArray.create(store, path: "w/delta", metadata: try v2([10], [5], "<f4", filters: #"[{"id":"delta","dtype":"<f4"}]"#))
        }
        await #expect(throws: ZarrError.self) { try await store.set("w/.zmetadata", Array("{}".utf8)) }
        // Big-endian and Fortran-order arrays are not written (HDF5 files are written C order,
        // little-endian); neither is a v3 document.
        await #expect(throws: ZarrError.self) {
            _ = try await ZarrArray.create(store, path: "w/big_endian", metadata: try v2([10], [5], ">i4"))
        }
        await #expect(throws: ZarrError.self) {
            try await store.set("w/fortran/.zarray", Array(#"{"zarr_format":2,"shape":[4,4],"chunks":[2,2],"dtype":"<i4","compressor":null,"filters":null,"fill_value":0,"order":"F"}"#.utf8))
        }
        await #expect(throws: ZarrError.self) { try await store.set("w/v3/zarr.json", Array(#"{"zarr_format":3,"node_type":"group"}"#.utf8)) }
        // A chunk key that is not a chunk of the array.
        await #expect(throws: ZarrError.self) { try await store.set("w/none/99", [0]) }
        await #expect(throws: ZarrError.self) { try await store.set("w/none/a", [0]) }
        // The writable store reads back what it wrote.
        for (name, values) in written where name != "grow" && name != "shrink" {
            #expect(try await ZarrArray.open(store, path: "w/" + name).read() == values, "\(name) in the writable store")
        }
        try await store.close()
        #expect(!FileManager.default.fileExists(atPath: s.path("w/zstd")))

        let out = try s.python("""
        with h5py.File(D + "/w.h5", "r") as f:
            g = f["w"]
            OUT["names"] = sorted(g.keys())
            for name, d in g.items():
                OUT[name] = {"dtype": d.dtype.str, "shape": list(d.shape), "chunks": list(d.chunks or ()),
                             "compression": d.compression, "opts": d.compression_opts, "shuffle": d.shuffle,
                             "fill": d.fillvalue.item() if hasattr(d.fillvalue, "item") else None}
                if h5py.check_string_dtype(d.dtype):
                    OUT[name]["values"] = d.asstr()[...].tolist()
                else:
                    dump(name, d[...])
            def plain(v):
                if isinstance(v, h5py.Empty): return None
                if hasattr(v, "tolist"): return v.tolist()
                return v
            OUT["attrs"] = {k: plain(v) for k, v in g.attrs.items()}
            OUT["attr_types"] = {k: g.attrs.get_id(k).dtype.str for k in g.attrs}
            OUT["none_attrs"] = {k: plain(v) for k, v in g["none"].attrs.items()}
        """)
        #expect(out["names"] as? [String] == [
            "bool", "fill", "grow", "lzf", "lzf_random", "none", "shrink", "shuffle_lzf", "shuffle_lzf_random", "shuffle_zlib", "strings", "zlib",
            "zlib_random",
        ])
        func info(_ name: String) -> [String: Any] { out[name] as? [String: Any] ?? [:] }
        let expectations: [(String, String, [Int], [Int], String?, Int?, Bool)] = [
            ("none", "<f4", [1000], [300], nil, nil, false),
            ("zlib", "<i4", [50, 40], [16, 16], "gzip", 4, false),
            ("lzf", "<f8", [777], [100], "lzf", nil, false),
            ("shuffle_zlib", "<f4", [1000], [256], "gzip", 4, true),
            ("shuffle_lzf", "<i4", [33, 7], [10, 7], "lzf", nil, true),
            ("bool", "|b1", [10], [4], nil, nil, false),
            ("grow", "<i4", [150], [10], "gzip", 4, false),
            ("shrink", "<i4", [45], [10], nil, nil, false),
        ]
        for (name, dtype, shape, chunks, compression, opts, shuffle) in expectations {
            let i = info(name)
            #expect(i["dtype"] as? String == dtype, "\(name) dtype")
            #expect(i["shape"] as? [Int] == shape, "\(name) shape")
            #expect(i["chunks"] as? [Int] == chunks, "\(name) chunks")
            #expect(i["compression"] as? String == compression, "\(name) compression")
            #expect(i["opts"] as? Int == opts, "\(name) compression level")
            #expect(i["shuffle"] as? Bool == shuffle, "\(name) shuffle")
        }
        for (name, values) in written where name != "strings" && name != "grow" && name != "shrink" {
            #expect(values.bytes == (try s.expected(name)), "\(name) values read by h5py")
        }
        #expect(try s.expected("grow") == (try NDArray((0..<150).map { Int32($0) }, shape: [150])).bytes)
        #expect(try s.expected("shrink") == (try NDArray((0..<45).map { Int32($0) }, shape: [45])).bytes)
        #expect(info("fill")["fill"] as? Double == 1.5)
        #expect(info("none")["fill"] as? Double == 0)
        #expect(info("strings")["values"] as? [String] == strings)
        #expect(info("strings")["chunks"] as? [Int] == [2])

        let a = out["attrs"] as? [String: Any] ?? [:]
        #expect(a["s"] as? String == "text")
        #expect(a["i"] as? Int == 42)
        #expect(a["d"] as? Double == 2.25)
        #expect(a["t"] as? Bool == true)
        #expect(a["f"] as? Bool == false)
        #expect(a["strs"] as? [String] == ["a", "b"])
        #expect(a["ints"] as? [Int] == [1, 2, 3])
        #expect(a["doubles"] as? [Double] == [1.5, 2.5])
        #expect(a["bools"] as? [Bool] == [true, false])
        #expect((a["empty"] as? [Any])?.isEmpty == true)
        #expect(a["null"] is NSNull)
        #expect(a["big"] as? Int == Int.max)
        let types = out["attr_types"] as? [String: String] ?? [:]
        #expect(types["t"] == "|b1")
        #expect(types["bools"] == "|b1")
        #expect(types["i"] == "<i8")
        #expect(types["d"] == "<f8")
        #expect(types["doubles"] == "<f8")
        let noneAttrs = out["none_attrs"] as? [String: Any] ?? [:]
        #expect(noneAttrs["encoding-type"] as? String == "array")

        // And the store reads its own file back.
        let back = try await HDF5Store.open(path: s.path("w.h5"))
        #expect(try await ZarrGroup.open(back, path: "w").attributes == sortedAttrs)
        for (name, values) in written where name != "grow" && name != "shrink" {
            #expect(try await ZarrArray.open(back, path: "w/" + name).read() == values, "\(name) reopened")
        }
        try await back.close()
        // create refuses an existing file.
        await #expect(throws: ZarrError.self) { _ = try await HDF5Store.create(path: s.path("w.h5")) }
    }

    @Test func writesOfEveryShapeAndType() async throws {
        let s = try H5Scratch("writetypes")
        defer { s.remove() }
        let store = try await HDF5Store.create(path: s.path("w.h5"))
        var written: [String: NDArray] = [:]
        func make(_ name: String, _ metadata: ArrayMetadata, _ values: NDArray) async throws {
            let array = try await ZarrArray.create(store, path: name, metadata: metadata)
            try await array.write(all: values)
            written[name] = values
        }
        try await make("f16", try v2([100], [30], "<f2", compressor: #"{"id":"zlib","level":1}"#),
                       try NDArray((0..<100).map { Float16(Float($0) / 8) }, shape: [100]))
        try await make("i8", try v2([7, 3], [4, 2], "|i1"), try NDArray((0..<21).map { Int8($0 - 10) }, shape: [7, 3]))
        try await make("u64", try v2([9], [4], "<u8", compressor: #"{"id":"lzf"}"#, filters: #"[{"id":"shuffle","elementsize":8}]"#),
                       try NDArray((0..<9).map { UInt64.max - UInt64($0) }, shape: [9]))
        try await make("cube", try v2([4, 5, 6], [3, 2, 4], "<f8", compressor: #"{"id":"zlib","level":4}"#),
                       try NDArray((0..<120).map { Double($0) * 1.5 }, shape: [4, 5, 6]))
        try await make("scalar", try v2([], [], "<f8"), try NDArray([3.25], shape: []))
        let grid = (0..<12).map { "s\($0)" + String(repeating: "é", count: $0) }
        try await make("strings2d", try v2([3, 4], [2, 3], "|O", filters: #"[{"id":"vlen-utf8"}]"#, fill: "null"),
                       try NDArray(strings: grid, shape: [3, 4]))
        let complexBytes = try NDArray((0..<10).map { Float($0) - 0.5 }, shape: [10]).bytes
        try await make("complex", try v2([5], [2], "<c8"), try NDArray(dataType: .complex64, shape: [5], storage: .fixed(complexBytes)))
        var recBytes: [UInt8] = []
        for i in 0..<6 {
            withUnsafeBytes(of: Int32(i * 3).littleEndian) { recBytes += $0 }
            withUnsafeBytes(of: (Double(i) / 4).bitPattern.littleEndian) { recBytes += $0 }
        }
        try await make("rec", try v2([6], [4], #"[["a", "<i4"], ["b", "<f8"]]"#, fill: "null"),
                       try NDArray(dataType: .structured([StructField(name: "a", type: .int32), StructField(name: "b", type: .float64)]),
                                   shape: [6], storage: .fixed(recBytes)))
        // Deleting a chunk writes fill values over it; deleting a prefix removes the dataset.
        try await make("deleted", try v2([10], [5], "<i4"), try NDArray((1...10).map { Int32($0) }, shape: [10]))
        try await store.delete("deleted/0")
        #expect(try await ZarrArray.open(store, path: "deleted").read().values(as: Int32.self) == [0, 0, 0, 0, 0, 6, 7, 8, 9, 10])
        written["deleted"] = try NDArray([0, 0, 0, 0, 0, 6, 7, 8, 9, 10] as [Int32], shape: [10])
        try await make("gone", try v2([3], [3], "<i4"), try NDArray([1, 2, 3] as [Int32], shape: [3]))
        try await store.deletePrefix("gone")
        written["gone"] = nil
        #expect(try await store.listDirectory("gone/").keys.isEmpty)
        // Creating an array over another replaces it, with another type and shape.
        try await make("replaced", try v2([4], [4], "<i4"), try NDArray([1, 2, 3, 4] as [Int32], shape: [4]))
        try await make("replaced", try v2([2, 2], [1, 2], "<f4"), try NDArray([0.5, 1.5, 2.5, 3.5] as [Float], shape: [2, 2]))
        // A chunk key outside the grid is refused.
        await #expect(throws: ZarrError.self) { try await store.set("i8/9.0", [0]) }
        await #expect(throws: ZarrError.self) { try await store.set("nothing/0", [0]) }
        for (name, values) in written {
            #expect(try await ZarrArray.open(store, path: name).read() == values, "\(name) in the writable store")
        }
        try await store.close()

        let out = try s.python("""
        with h5py.File(D + "/w.h5", "r") as f:
            OUT["names"] = sorted(f.keys())
            for name, d in f.items():
                OUT[name] = {"dtype": d.dtype.str, "shape": list(d.shape)}
                if h5py.check_string_dtype(d.dtype):
                    OUT[name]["values"] = d.asstr()[...].ravel().tolist()
                else:
                    dump(name, d[...])
            OUT["rec_fields"] = list(f["rec"].dtype.names)
        """)
        #expect(out["names"] as? [String] == ["complex", "cube", "deleted", "f16", "i8", "rec", "replaced", "scalar", "strings2d", "u64"])
        func info(_ name: String) -> [String: Any] { out[name] as? [String: Any] ?? [:] }
        let types = ["f16": "<f2", "i8": "|i1", "u64": "<u8", "cube": "<f8", "scalar": "<f8", "complex": "<c8", "replaced": "<f4", "deleted": "<i4"]
        for (name, dtype) in types {
            #expect(info(name)["dtype"] as? String == dtype, "\(name) dtype")
        }
        #expect(info("scalar")["shape"] as? [Int] == [])
        #expect(info("replaced")["shape"] as? [Int] == [2, 2])
        #expect(out["rec_fields"] as? [String] == ["a", "b"])
        for (name, values) in written where name != "strings2d" {
            #expect(values.bytes == (try s.expected(name)), "\(name) values read by h5py")
        }
        #expect(info("strings2d")["values"] as? [String] == grid)
        #expect(info("strings2d")["shape"] as? [Int] == [3, 4])
    }

    /// HDF5's variable-length strings are C strings: a string with a NUL would be cut short
    /// silently, so it is refused (as h5py refuses it), in datasets and attributes.
    @Test func stringsWithNULAreRefused() async throws {
        let s = try H5Scratch("nul")
        defer { s.remove() }
        let store = try await HDF5Store.create(path: s.path("w.h5"))
        let array = try await ZarrArray.create(store, path: "s", metadata: try v2([3], [3], "|O", filters: #"[{"id":"vlen-utf8"}]"#, fill: "null"))
        await #expect(throws: ZarrError.self) { try await array.write(all: try NDArray(strings: ["a", "b\u{0}c", "d"], shape: [3])) }
        try await store.set(".zattrs", JSONValue.object(["k": "ok"]).serialized())
        await #expect(throws: ZarrError.self) { try await store.set(".zattrs", JSONValue.object(["k": "x\u{0}y"]).serialized()) }
        await #expect(throws: ZarrError.self) { try await store.set(".zattrs", JSONValue.object(["k": ["x", "y\u{0}"]]).serialized()) }
        #expect(try await ZarrGroup.open(store).attributes == ["k": "ok"])
        try await store.close()
    }

    /// HDF5 types with no Zarr counterpart are typed errors on open or read; the ones that map
    /// read equal to h5py.
    @Test func unusualTypes() async throws {
        let s = try H5Scratch("types")
        defer { s.remove() }
        _ = try s.python("""
        with h5py.File(D + "/t.h5", "w") as f:
            sub = np.array([((1, 2, 3), 0.5), ((4, 5, 6), -1.5), ((7, 8, 9), 2.0)], dtype=[("a", "<i4", (3,)), ("b", "<f4")])
            f["subarray"] = sub
            dump("subarray", sub)
            f["opaque"] = np.zeros(3, dtype="V8")
            f.create_dataset("refs", data=[f.ref], dtype=h5py.ref_dtype)
            d = f.create_dataset("vlen_ints", shape=(2,), dtype=h5py.vlen_dtype("<i4"))
            d[0] = np.arange(3, dtype="<i4")
            f["longdouble"] = np.zeros(3, dtype=np.longdouble)
            e = f.create_dataset("enum", data=np.array([0, 1, 42, 1], dtype="i1"), dtype=h5py.enum_dtype({"RED": 0, "GREEN": 1, "BLUE": 42}, basetype="i1"))
            dump("enum", np.array([0, 1, 42, 1], dtype="i1"))
            c = np.array([1 + 2j, -3.5 - 0.25j], dtype="<c16")
            f["complex"] = c
            dump("complex", c)
            aligned = np.array([(1, 2.5), (200, -1.0)], dtype=np.dtype([("a", "u1"), ("b", "<f8")], align=True))
            f["aligned"] = aligned
            dump("aligned", np.array([(1, 2.5), (200, -1.0)], dtype=[("a", "u1"), ("b", "<f8")]))
            nested = np.array([((1, 2), 3.0)], dtype=[("p", [("x", "<i4"), ("y", "<i4")]), ("z", "<f8")])
            f["nested"] = nested
            g = f.create_group("odd_attrs")
            g.attrs.create("opaque", np.zeros(2, dtype="V4"))
        """)
        let store = try await HDF5Store.open(path: s.path("t.h5"))
        for name in ["opaque", "refs", "vlen_ints", "longdouble"] {
            await #expect(throws: ZarrError.self, "\(name)") { _ = try await ZarrArray.open(store, path: name).read() }
        }
        // Sub-array members (legacy anndata's obsm) read as sub-array fields.
        for name in ["enum", "complex", "aligned", "subarray"] {
            #expect(try await ZarrArray.open(store, path: name).read().bytes == (try s.expected(name)), "\(name)")
        }
        // A nested compound reads, or is a typed refusal.
        do {
            _ = try await ZarrArray.open(store, path: "nested").read()
        } catch is ZarrError {}
        await #expect(throws: ZarrError.self) { _ = try await store.get("odd_attrs/.zattrs") }
        try await store.close()
    }

    /// Groups made implicitly (as the parents of a dataset created by its `.zarray`) are seen
    /// as groups afterwards, even when the store had looked for them before: their attributes
    /// are written and they are listed.
    @Test func implicitParentsAreGroups() async throws {
        let s = try H5Scratch("parents")
        defer { s.remove() }
        let store = try await HDF5Store.create(path: s.path("w.h5"))
        #expect(try await !store.exists("p/.zgroup"))
        #expect(try await !store.exists("p/q/.zgroup"))
        // Attributes set before the group exists are kept until it does.
        try await store.set("p/q/.zattrs", JSONValue.object(["early": true]).serialized())
        try await store.set("p/q/r/.zarray", v2JSON([3], [3], "<i4"))
        #expect(try await ZarrGroup.open(store, path: "p/q").attributes == ["early": true])
        #expect(try await store.exists("p/.zgroup"))
        #expect(try await store.listDirectory("p/").prefixes == ["q"])
        try await store.set("p/.zattrs", JSONValue.object(["k": "v"]).serialized())
        try await store.set("p/q/.zattrs", JSONValue.object(["n": 1]).serialized())
        try await store.close()
        let back = try await HDF5Store.open(path: s.path("w.h5"))
        #expect(try await ZarrGroup.open(back, path: "p").attributes == ["k": "v"])
        #expect(try await ZarrGroup.open(back, path: "p/q").attributes == ["n": 1])
        try await back.close()
    }

    // MARK: - Bad input

    @Test func filesThatAreNotHDF5() async throws {
        let s = try H5Scratch("nothdf5")
        defer { s.remove() }
        var random = SystemRandomNumberGenerator()
        try s.write("random.h5ad", (0..<10_000).map { _ in UInt8.random(in: 0...255, using: &random) })
        try s.write("zarr.h5ad", Array(#"{"zarr_format": 2}"#.utf8))
        try s.write("empty.h5ad", [])
        // An HDF5 signature followed by garbage.
        try s.write("signature.h5ad", [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a] + [UInt8](repeating: 0xff, count: 4000))
        try FileManager.default.createDirectory(atPath: s.path("dir.h5ad"), withIntermediateDirectories: false)
        try s.write("dir.h5ad/.zgroup", Array(#"{"zarr_format": 2}"#.utf8))
        // A named pipe (nothing writes to it): refused at once, not waited on.
        #expect(mkfifo(s.path("fifo.h5ad"), 0o600) == 0)
        for name in ["random.h5ad", "zarr.h5ad", "empty.h5ad", "signature.h5ad", "dir.h5ad", "missing.h5ad", "fifo.h5ad"] {
            await #expect(throws: ZarrError.self, "\(name)") { _ = try await HDF5Store.open(path: s.path(name)) }
            await #expect(throws: AnnDataError.self, "\(name)") { _ = try await AnnData.read(h5ad: s.path(name)) }
            await #expect(throws: AnnDataError.self, "\(name)") { _ = try await LazyAnnData.open(h5ad: s.path(name)) }
        }
        do {
            _ = try await HDF5Store.open(path: s.path("missing.h5ad"))
        } catch let error as ZarrError {
            #expect("\(error)".contains("missing.h5ad"))
        }
    }

    @Test func truncatedFilesThrow() async throws {
        let s = try H5Scratch("truncated")
        defer { s.remove() }
        _ = try s.python("""
        rng = np.random.default_rng(3)
        with h5py.File(D + "/full.h5ad", "w") as f:
            f.attrs["encoding-type"] = "anndata"
            f.create_dataset("X", data=rng.standard_normal((200, 100)).astype("<f4"))
            f.create_dataset("obs/_index", data=np.array(["c%d" % i for i in range(200)], dtype=object), dtype=h5py.string_dtype())
            f.create_dataset("layers/gz", data=rng.integers(0, 50, (200, 100)).astype("<i4"), chunks=(50, 50), compression="gzip")
            f.create_dataset("layers/lzf", data=rng.standard_normal((200, 100)), chunks=(64, 100), compression="lzf", shuffle=True)
            f.create_dataset("uns/s", data=np.array(["x" * 50] * 100, dtype="S50"))
            f["uns"].attrs["k"] = "v" * 1000
        """)
        // The whole file reads.
        try await readEverything(s.path("full.h5ad"))
        let full = try s.bytes("full.h5ad")
        for cut in [full.count / 2, full.count * 9 / 10, full.count - 1, 4096, 512, 8] {
            try s.write("cut.h5ad", Array(full.prefix(cut)))
            await #expect(throws: ZarrError.self, "cut at \(cut) of \(full.count)") { try await readEverything(s.path("cut.h5ad")) }
            await #expect(throws: AnnDataError.self, "cut at \(cut) of \(full.count)") { _ = try await AnnData.read(h5ad: s.path("cut.h5ad")) }
            await #expect(throws: AnnDataError.self, "cut at \(cut) of \(full.count)") { _ = try await LazyAnnData.open(h5ad: s.path("cut.h5ad")) }
        }
    }

    @Test func wrongRankElementsThroughAnnData() async throws {
        let s = try H5Scratch("rank")
        defer { s.remove() }
        _ = try s.python("""
        import anndata as ad, pandas as pd
        a = ad.AnnData(X=np.ones((3, 2), dtype="f4"), obs=pd.DataFrame(index=["a", "b", "c"]), var=pd.DataFrame(index=["x", "y"]))
        a.write_h5ad(D + "/good.h5ad")
        import shutil
        shutil.copy(D + "/good.h5ad", D + "/index2d.h5ad")
        shutil.copy(D + "/good.h5ad", D + "/x1d.h5ad")
        with h5py.File(D + "/index2d.h5ad", "a") as f:
            attrs = dict(f["obs/_index"].attrs)
            del f["obs/_index"]
            d = f["obs"].create_dataset("_index", data=np.array([["a", "b"], ["c", "d"], ["e", "f"]], dtype=object), dtype=h5py.string_dtype())
            d.attrs.update(attrs)
        with h5py.File(D + "/x1d.h5ad", "a") as f:
            attrs = dict(f["X"].attrs)
            del f["X"]
            f.create_dataset("X", data=np.ones(3, dtype="f4")).attrs.update(attrs)
        """)
        let good = try await AnnData.read(h5ad: s.path("good.h5ad"))
        #expect(good.nObs == 3 && good.nVars == 2)
        await #expect(throws: AnnDataError.self) { _ = try await AnnData.read(h5ad: s.path("index2d.h5ad")) }
        await #expect(throws: AnnDataError.self) { _ = try await AnnData.read(h5ad: s.path("x1d.h5ad")) }
    }

    /// An `.h5ad` whose X claims 2^20 × 2^18 float64 values (2 TiB, never written): reading it
    /// whole is a typed error, not an attempt to allocate it; the lazy open reads one row.
    @Test func hostileXShapeThroughAnnData() async throws {
        let s = try H5Scratch("hostilex")
        defer { s.remove() }
        _ = try s.python("""
        import anndata as ad, pandas as pd
        n, m = 2**20, 2**18
        a = ad.AnnData(obs=pd.DataFrame(index=["c%d" % i for i in range(n)]), var=pd.DataFrame(index=["g%d" % i for i in range(m)]))
        a.write_h5ad(D + "/big.h5ad")
        with h5py.File(D + "/big.h5ad", "a") as f:
            d = f.create_dataset("X", shape=(n, m), chunks=(64, 4096), dtype="<f8", fillvalue=0.5)
            d.attrs["encoding-type"] = "array"
            d.attrs["encoding-version"] = "0.2.0"
        """)
        await #expect(throws: AnnDataError.self) { _ = try await AnnData.read(h5ad: s.path("big.h5ad")) }
        let lazy = try await LazyAnnData.open(h5ad: s.path("big.h5ad"))
        #expect(lazy.nObs == 1 << 20)
        #expect(lazy.nVars == 1 << 18)
    }

    @Test func unknownFiltersAndHostileShapes() async throws {
        let s = try H5Scratch("hostile")
        defer { s.remove() }
        let out = try s.python("""
        with h5py.File(D + "/h.h5", "w") as f:
            # A filter no one has here (32015, zstd), optional so that HDF5 accepts it: chunk 0
            # claims to be filtered by it (garbage bytes), the others were stored with it skipped.
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_chunk((10,))
            dcpl.set_filter(32015, h5py.h5z.FLAG_OPTIONAL)
            did = h5py.h5d.create(f.id, b"unknown", h5py.h5t.STD_I32LE, h5py.h5s.create_simple((100,)), dcpl=dcpl)
            did.write_direct_chunk((0,), b"garbage garbage garbage", 0)
            d = h5py.Dataset(did)
            d[10:100] = np.arange(10, 100, dtype="<i4")
            OUT["masks"] = [int(d.id.get_chunk_info(0).filter_mask), int(d.id.get_chunk_info(1).filter_mask)]
            f.create_dataset("huge", shape=(2**40,), chunks=(2**20,), dtype="<f8", fillvalue=1.5)
            f.create_dataset("huge_contiguous", shape=(2**40,), dtype="<f8")
            f.create_dataset("big_chunk", shape=(2**31,), chunks=(2**28,), dtype="<f8")
            f.create_dataset("many_dims", shape=(2**20, 2**20, 2**20), chunks=(1, 1, 2**20), dtype="<u1")
        with h5py.File(D + "/attrs.h5", "w", libver=("v108", "v110")) as f:
            f.attrs["big"] = np.zeros(2**24 + 1, dtype="u1")
            f.attrs["small"] = "ok"
        """)
        #expect(out["masks"] as? [Int] == [0, 1])
        let store = try await HDF5Store.open(path: s.path("h.h5"))
        let unknown = try await ZarrArray.open(store, path: "unknown")
        // Not mappable: read through the library, which skips the filter where the mask says so
        // and cannot undo it in chunk 0.
        #expect(try await unknown.read([10..<100]).values(as: Int32.self) == (10..<100).map { Int32($0) })
        await #expect(throws: ZarrError.self) { _ = try await unknown.read([0..<10]) }
        await #expect(throws: ZarrError.self) { _ = try await unknown.read() }

        let huge = try await ZarrArray.open(store, path: "huge")
        #expect(huge.shape == [1 << 40])
        #expect(try await huge.read([5..<10]).values(as: Double.self) == [Double](repeating: 1.5, count: 5))
        #expect(try await huge.read([(1 << 40) - 3..<(1 << 40)]).values(as: Double.self) == [Double](repeating: 1.5, count: 3))
        let contiguous = try await ZarrArray.open(store, path: "huge_contiguous")
        #expect(try await contiguous.read([0..<4]).values(as: Double.self) == [0, 0, 0, 0])
        // A 2 GiB chunk never written: fill values for the element asked, or a typed refusal.
        let bigChunk = try await ZarrArray.open(store, path: "big_chunk")
        do {
            #expect(try await bigChunk.read([7..<8]).values(as: Double.self) == [0])
        } catch let error as ZarrError {
            _ = error
        }
        let manyDims = try await ZarrArray.open(store, path: "many_dims")
        #expect(try await manyDims.read([3..<4, 5..<6, 0..<4]).values(as: UInt8.self) == [0, 0, 0, 0])
        try await store.close()

        // 16 Mi + 1 attribute elements: over the store's limit, refused with a typed error.
        let attrs = try await HDF5Store.open(path: s.path("attrs.h5"))
        await #expect(throws: ZarrError.self) { _ = try await attrs.get(".zattrs") }
        await #expect(throws: ZarrError.self) { _ = try await ZarrGroup.open(attrs) }
        try await attrs.close()
    }

    /// Addresses and sizes in the file's layout message and chunk index point past the end of
    /// the file (2^64 - 256, a 2 GiB chunk in a 20 kB file): a typed error, nothing allocated,
    /// no trap converting the address.
    @Test func corruptAddressesAndSizes() async throws {
        let s = try H5Scratch("addresses")
        defer { s.remove() }
        _ = try s.python("""
        import struct
        with h5py.File(D + "/ok.h5", "w") as f:
            c = f.create_dataset("contig", data=np.arange(1000, dtype="<f8"))
            k = f.create_dataset("chunked", data=np.arange(1000, dtype="<i4"), chunks=(250,))
            off, info = c.id.get_offset(), k.id.get_chunk_info(1)
        b = open(D + "/ok.h5", "rb").read()
        def patch(name, old, new):
            assert b.count(old) == 1, name
            open(D + "/" + name, "wb").write(b.replace(old, new))
        huge = 2**64 - 256
        # Contiguous layout message: address, size.
        patch("contig_address.h5", struct.pack("<QQ", off, 8000), struct.pack("<QQ", huge, 8000))
        patch("contig_past_end.h5", struct.pack("<QQ", off, 8000), struct.pack("<QQ", 2**40, 8000))
        # v1 B-tree key of chunk 1: size, filter mask, offsets; and its child address.
        key = struct.pack("<IIQQ", info.size, 0, 250, 0)
        patch("chunk_size.h5", key, struct.pack("<IIQQ", 2**31, 0, 250, 0))
        patch("chunk_address.h5", struct.pack("<Q", info.byte_offset), struct.pack("<Q", huge))
        """)
        let ok = try await HDF5Store.open(path: s.path("ok.h5"))
        #expect(try await ZarrArray.open(ok, path: "contig").read().values(as: Double.self) == (0..<1000).map { Double($0) })
        #expect(try await ZarrArray.open(ok, path: "chunked").read().values(as: Int32.self) == (0..<1000).map { Int32($0) })
        try await ok.close()
        for (file, array) in [("contig_address.h5", "contig"), ("contig_past_end.h5", "contig"), ("chunk_size.h5", "chunked"), ("chunk_address.h5", "chunked")] {
            let store = try await HDF5Store.open(path: s.path(file))
            let a = try await ZarrArray.open(store, path: array)
            await #expect(throws: ZarrError.self, "\(file)") { _ = try await a.read() }
            // The rest of the file still reads.
            if array == "chunked" {
                #expect(try await a.read([0..<250]).values(as: Int32.self) == (0..<250).map { Int32($0) })
            }
            try await store.close()
        }
    }

    /// Every 16-byte block of a small file of numbers (contiguous, gzip, shuffle+LZF chunks),
    /// fixed-length strings and attributes flipped in turn: the store reads it or throws a
    /// typed error, never a trap or crash. Variable-length strings (datasets and attributes) are
    /// left out: libhdf5 1.10 itself overflows a buffer in `H5HG_read` (from `H5Dread` and
    /// `H5Aread`) when a string's descriptor disagrees with its global heap object.
    @Test func corruptBlocksThrowOrRead() async throws {
        let s = try H5Scratch("corrupt")
        defer { s.remove() }
        _ = try s.python("""
        rng = np.random.default_rng(3)
        with h5py.File(D + "/full.h5", "w") as f:
            f.attrs["encoding-type"] = np.bytes_("anndata")
            f.attrs["n"] = np.arange(4)
            f.create_dataset("X", data=rng.standard_normal((20, 10)).astype("<f4"))
            f.create_dataset("layers/gz", data=rng.integers(0, 50, (20, 10)).astype("<i4"), chunks=(5, 5), compression="gzip")
            f.create_dataset("layers/lzf", data=rng.standard_normal((20, 10)), chunks=(6, 10), compression="lzf", shuffle=True)
            f.create_dataset("uns/s", data=np.array([b"abcde"] * 10, dtype="S5"))
            f["uns"].attrs["k"] = np.bytes_("v")
            f["uns"].attrs["f"] = 2.5
        """)
        let full = try s.bytes("full.h5")
        try await readEverything(s.path("full.h5"))
        var failed = 0
        for block in 0..<(full.count / 16) {
            var b = full
            for k in 0..<16 { b[block * 16 + k] ^= 0xA5 }
            try s.write("c.h5", b)
            do {
                try await readEverything(s.path("c.h5"))
            } catch is ZarrError {
                failed += 1
            }
        }
        #expect(failed > 0)
    }

    /// Links: soft links resolve, dangling and external links are absent, and a group that
    /// links back to itself or an ancestor (a hard-link cycle) is a typed error when listed —
    /// not an endless walk.
    @Test func linksAndCycles() async throws {
        let s = try H5Scratch("links")
        defer { s.remove() }
        _ = try s.python("""
        with h5py.File(D + "/other.h5", "w") as f:
            f["x"] = np.arange(3)
        with h5py.File(D + "/l.h5", "w") as f:
            f["a/d"] = np.arange(4)
            f["soft"] = h5py.SoftLink("/a/d")
            f["dangling"] = h5py.SoftLink("/nowhere")
            f["external"] = h5py.ExternalLink("other.h5", "/x")
            f["external_missing"] = h5py.ExternalLink("missing.h5", "/x")
        with h5py.File(D + "/cycle.h5", "w") as f:
            g = f.create_group("uns/g")
            g["d"] = np.arange(2)
            g["self"] = g
            g["up"] = f["uns"]
            g["up2"] = f["uns"]
        import anndata as ad, pandas as pd
        a = ad.AnnData(X=np.ones((2, 2), dtype="f4"), obs=pd.DataFrame(index=["a", "b"]), var=pd.DataFrame(index=["x", "y"]),
                       uns={"d": {"k": 1}})
        a.write_h5ad(D + "/cycle.h5ad")
        with h5py.File(D + "/cycle.h5ad", "a") as f:
            f["uns/d/loop"] = f["uns/d"]
        """)
        let store = try await HDF5Store.open(path: s.path("l.h5"))
        #expect(try await ZarrArray.open(store, path: "soft").read().values(as: Int64.self) == [0, 1, 2, 3])
        #expect(try await store.get("dangling/.zarray") == nil)
        #expect(try await store.get("external_missing/.zarray") == nil)
        _ = try await store.list(prefix: "")
        try await store.close()

        let cycle = try await HDF5Store.open(path: s.path("cycle.h5"))
        #expect(try await ZarrArray.open(cycle, path: "uns/g/d").read().values(as: Int64.self) == [0, 1])
        await #expect(throws: ZarrError.self) { _ = try await cycle.list(prefix: "") }
        await #expect(throws: ZarrError.self) { _ = try await cycle.listDirectory("uns/g/") }
        try await cycle.close()
        await #expect(throws: AnnDataError.self) { _ = try await AnnData.read(h5ad: s.path("cycle.h5ad")) }
    }

    /// Opening and closing a file many times (and dropping stores unclosed) leaves no file
    /// descriptor behind; parallel reads of one store agree with serial ones.
    @Test func noDescriptorLeaksAndParallelReads() async throws {
        let s = try H5Scratch("leaks")
        defer { s.remove() }
        _ = try s.python("""
        rng = np.random.default_rng(5)
        with h5py.File(D + "/r.h5", "w") as f:
            f.attrs["k"] = "v"
            f.create_dataset("a", data=rng.standard_normal((400, 50)), chunks=(37, 50), compression="gzip", shuffle=True)
            f.create_dataset("b", data=rng.integers(0, 9, (400, 50)).astype("<i4"))
            f.create_dataset("s", data=np.array(["x%d" % i for i in range(400)], dtype=object), dtype=h5py.string_dtype(), chunks=(50,))
        """)
        let path = s.path("r.h5")
        // Descriptors of this process open on the file (other tests' files do not count).
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        func descriptors() -> Int {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
            return fds.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0)) == target }.count
        }
        // Warm up (libraries, pools), then count.
        let warm = try await HDF5Store.open(path: path)
        _ = try await ZarrArray.open(warm, path: "a").read()
        try await warm.close()
        let before = descriptors()
        for _ in 0..<60 {
            let store = try await HDF5Store.open(path: path)
            _ = try await ZarrArray.open(store, path: "a").read([0..<40, 0..<50])
            _ = try await store.get(".zattrs")
            try await store.close()
        }
        for _ in 0..<20 {
            let store = try await HDF5Store.open(path: path)
            _ = try await ZarrArray.open(store, path: "s").read([0..<10])
        }
        for _ in 0..<20 {
            _ = try? await HDF5Store.open(path: s.path("missing.h5"))
        }
        // Unclosed stores are closed shortly after they go.
        var after = descriptors()
        for _ in 0..<100 where after > 0 {
            try await Task.sleep(for: .milliseconds(20))
            after = descriptors()
        }
        #expect(before == 0 && after == 0, "\(before) descriptors on the file before, \(after) after")

        let store = try await HDF5Store.open(path: path)
        #expect(descriptors() == 2, "the library's descriptor and the store's, while open")
        let a = try await ZarrArray.open(store, path: "a"), b = try await ZarrArray.open(store, path: "b"), st = try await ZarrArray.open(store, path: "s")
        let wholeA = try await a.read(), wholeB = try await b.read(), wholeS = try await st.read().strings()
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<24 {
                group.addTask {
                    let rows = (i * 13 % 360)..<(i * 13 % 360 + 40)
                    let pa = try await a.read([rows, 0..<50]), pb = try await b.read([rows, 0..<50]), ps = try await st.read([rows]).strings()
                    let ea = try wholeA.rows(rows), eb = try wholeB.rows(rows)
                    return pa == ea && pb == eb && ps == Array(wholeS[rows])
                }
            }
            for try await same in group { #expect(same) }
        }
        try await store.close()
    }

    /// What `AnnData.write(h5ad:)` writes, with each compressor, anndata reads equal, with the
    /// HDF5 filters h5py reports.
    @Test func annDataWrittenReadsInAnndata() async throws {
        let s = try H5Scratch("anndata")
        defer { s.remove() }
        let a = try anndata(rows: 5)
        try await a.write(h5ad: s.path("none.h5ad"))
        try await a.write(h5ad: s.path("gzip.h5ad"), options: WriteOptions(compressor: .gzip(level: 6)))
        try await a.write(h5ad: s.path("lzf.h5ad"), options: WriteOptions(compressor: .lzf))
        let out = try s.python("""
        import anndata as ad
        for name in ["none", "gzip", "lzf"]:
            a = ad.read_h5ad(D + "/" + name + ".h5ad")
            with h5py.File(D + "/" + name + ".h5ad", "r") as f:
                OUT[name] = {"X": np.asarray(a.X).ravel().tolist(), "obs": list(a.obs_names), "var": list(a.var_names),
                             "note": str(a.uns["note"]), "n": int(a.uns["n"]), "compression": f["X"].compression,
                             "level": f["X"].compression_opts, "dtype": f["X"].dtype.str}
        """)
        for (name, compression, level) in [("none", nil, nil), ("gzip", "gzip", 6), ("lzf", "lzf", nil)] as [(String, String?, Int?)] {
            let r = out[name] as? [String: Any] ?? [:]
            #expect(r["X"] as? [Double] == (0..<10).map { Double($0) }, "\(name)")
            #expect(r["obs"] as? [String] == (0..<5).map { "c\($0)" }, "\(name)")
            #expect(r["var"] as? [String] == ["g0", "g1"], "\(name)")
            #expect(r["note"] as? String == "hello", "\(name)")
            #expect(r["n"] as? Int == 7, "\(name)")
            #expect(r["dtype"] as? String == "<f4", "\(name)")
            #expect(r["compression"] as? String == compression, "\(name)")
            #expect(r["level"] as? Int == level, "\(name)")
        }
        let back = try await AnnData.read(h5ad: s.path("lzf.h5ad"))
        #expect(back.X == a.X)
        #expect(back.uns["note"] == .string("hello"))
    }

    /// A boolean enum whose two members were both renamed FALSE in the file: read as int8 or
    /// a typed error, not a trap on the duplicate name.
    @Test func duplicateEnumNames() async throws {
        let s = try H5Scratch("enum")
        defer { s.remove() }
        _ = try s.python("""
        with h5py.File(D + "/ok.h5", "w") as f:
            f["b"] = np.array([True, False, True])
            f.attrs["flag"] = True
        b = open(D + "/ok.h5", "rb").read()
        old = b"TRUE" + b"\\0" * 4
        assert b.count(old) == 2, b.count(old)
        open(D + "/dup.h5", "wb").write(b.replace(old, b"FALSE" + b"\\0" * 3))
        """)
        let store = try await HDF5Store.open(path: s.path("dup.h5"))
        do {
            let values = try await ZarrArray.open(store, path: "b").read()
            #expect(values.bytes == [1, 0, 1])
        } catch is ZarrError {}
        do {
            _ = try await store.get(".zattrs")
        } catch is ZarrError {}
        try await store.close()
    }

    /// Shapes whose element counts overflow 64 bits (2^40 × 2^40, never written), of every
    /// layout and type, and an attribute whose dimensions were patched to 2^40 × 2^40: typed
    /// errors (or fill values for what is read), never an arithmetic trap.
    @Test func overflowingShapes() async throws {
        let s = try H5Scratch("overflow")
        defer { s.remove() }
        _ = try s.python("""
        import struct
        with h5py.File(D + "/o.h5", "w") as f:
            f.create_dataset("chunked", shape=(2**40, 2**40), chunks=(1, 1024), dtype="<f4")
            f.create_dataset("contig", shape=(2**40, 2**40), dtype="<f4")
            f.create_dataset("contig3", shape=(2, 2**40, 2**40), dtype="<f4")
            f.create_dataset("rec", shape=(2**40, 2**40), chunks=(1, 16), dtype=[("a", "<i4"), ("s", h5py.string_dtype())])
            f.create_dataset("str", shape=(2, 2**40, 2**40), dtype=h5py.string_dtype())
            f.create_dataset("strc", shape=(2**40, 2**40), chunks=(1, 16), dtype=h5py.string_dtype())
            f.create_dataset("fixed", shape=(2, 2**40, 2**40), dtype="S3")
            g = f.create_group("g")
            g.attrs["a"] = np.zeros((111, 113), dtype="u1")
        b = open(D + "/o.h5", "rb").read()
        old = struct.pack("<QQ", 111, 113)
        assert b.count(old) == 2, b.count(old)  # dimensions and maximum dimensions
        open(D + "/o.h5", "wb").write(b.replace(old, struct.pack("<QQ", 2**40, 2**40)))
        """)
        let store = try await HDF5Store.open(path: s.path("o.h5"))
        for name in ["chunked", "contig", "contig3", "rec", "str", "strc", "fixed"] {
            do {
                let a = try await ZarrArray.open(store, path: name)
                let region = a.shape.map { _ in 0..<1 }
                _ = try await a.read(region)
            } catch is ZarrError {}
        }
        _ = try await store.list(prefix: "")
        await #expect(throws: ZarrError.self) { _ = try await store.get("g/.zattrs") }
        try await store.close()
    }

    /// An AnnData with no observations (empty X, empty index) and an array store with empty
    /// arrays of numbers and strings write and read back, in Swift and in anndata / h5py.
    @Test func emptyArraysWrite() async throws {
        let s = try H5Scratch("emptywrite")
        defer { s.remove() }
        let empty = try anndata(rows: 0)
        try await empty.write(h5ad: s.path("empty.h5ad"))
        let back = try await AnnData.read(h5ad: s.path("empty.h5ad"))
        #expect(back.nObs == 0 && back.nVars == 2)
        let store = try await HDF5Store.create(path: s.path("w.h5"))
        let numbers = try await ZarrArray.create(store, path: "n", metadata: try v2([0, 3], [4, 3], "<f8", compressor: #"{"id":"zlib","level":4}"#))
        try await numbers.write(all: try NDArray([Double](), shape: [0, 3]))
        let strings = try await ZarrArray.create(store, path: "s", metadata: try v2([0], [4], "|O", filters: #"[{"id":"vlen-utf8"}]"#, fill: "null"))
        try await strings.write(all: try NDArray(strings: [], shape: [0]))
        try await store.close()
        let out = try s.python("""
        import anndata as ad
        a = ad.read_h5ad(D + "/empty.h5ad")
        OUT["shape"] = list(a.shape)
        with h5py.File(D + "/w.h5", "r") as f:
            OUT["n"] = list(f["n"].shape)
            OUT["s"] = list(f["s"].shape)
        """)
        #expect(out["shape"] as? [Int] == [0, 2])
        #expect(out["n"] as? [Int] == [0, 3])
        #expect(out["s"] as? [Int] == [0])
    }

    /// Chunks of a chunked dataset read through the library (strings, compound types) that were
    /// never written are absent (fill values), not read and converted whole: one element of a
    /// 2^27-string chunk takes no time.
    @Test func unwrittenLibraryChunksAreAbsent() async throws {
        let s = try H5Scratch("unwritten")
        defer { s.remove() }
        _ = try s.python("""
        with h5py.File(D + "/u.h5", "w") as f:
            d = f.create_dataset("s", shape=(100,), chunks=(10,), dtype=h5py.string_dtype())
            d[0:10] = ["v%d" % i for i in range(10)]
            r = f.create_dataset("rec", shape=(100,), chunks=(10,), dtype=[("a", "<i4"), ("b", "<i2")])
            r[0:10] = np.array([(i, -i) for i in range(10)], dtype=r.dtype)
            f.create_dataset("big", shape=(2**13, 2**14), chunks=(2**13, 2**14), dtype=h5py.string_dtype())
            # A compound fill value of the file's own: unwritten chunks read as it.
            t = np.dtype([("a", "<i4"), ("b", "<i2")])
            f.create_dataset("rec_fill", shape=(20,), chunks=(10,), dtype=t, fillvalue=np.array((7, -3), dtype=t))
        """)
        let store = try await HDF5Store.open(path: s.path("u.h5"))
        #expect(try await store.get("s/0") != nil)
        #expect(try await store.get("s/5") == nil)
        #expect(try await store.get("rec/0") != nil)
        #expect(try await store.get("rec/5") == nil)
        let strings = try await ZarrArray.open(store, path: "s").read().strings()
        #expect(strings == (0..<10).map { "v\($0)" } + [String](repeating: "", count: 90))
        var recFill: [UInt8] = []
        for _ in 0..<20 { recFill += [7, 0, 0, 0, 0xfd, 0xff] }
        #expect(try await ZarrArray.open(store, path: "rec_fill").read().bytes == recFill)
        let start = ContinuousClock.now
        #expect(try await ZarrArray.open(store, path: "big").read([0..<1, 0..<1]).strings() == [""])
        #expect(ContinuousClock.now - start < .seconds(10))
        try await store.close()
    }

    /// A rich `.h5ad` from anndata (sparse X, categorical, nullable and string columns, obsm,
    /// layers, nested uns) read by `AnnData.read(h5ad:)` and written back with gzip: anndata
    /// reads the copy equal to the original, element by element.
    @Test func richAnnDataRoundTrip() async throws {
        let s = try H5Scratch("rich")
        defer { s.remove() }
        _ = try s.python("""
        import anndata as ad, pandas as pd, scipy.sparse as sp
        rng = np.random.default_rng(11)
        n, m = 40, 15
        X = sp.random(n, m, density=0.3, format="csr", dtype=np.float32, random_state=1)
        obs = pd.DataFrame({
            "cat": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "i": rng.integers(0, 100, n),
            "f": rng.standard_normal(n),
            "b": rng.integers(0, 2, n).astype(bool),
            "s": ["s%d" % i for i in range(n)],
            "ni": pd.array([None if i % 7 == 0 else i for i in range(n)], dtype="Int64"),
        }, index=["c%d" % i for i in range(n)])
        var = pd.DataFrame({"g": ["gene%d" % i for i in range(m)]}, index=["g%d" % i for i in range(m)])
        a = ad.AnnData(X=X, obs=obs, var=var, obsm={"pca": rng.standard_normal((n, 3))},
                       layers={"counts": rng.integers(0, 9, (n, m)).astype(np.int32)},
                       uns={"k": "v", "n": 3, "arr": np.arange(4), "nested": {"x": 1.5, "names": np.array(["p", "q"], dtype=object)}})
        a.write_h5ad(D + "/rich.h5ad", compression="gzip")
        """)
        let a = try await AnnData.read(h5ad: s.path("rich.h5ad"))
        #expect(a.nObs == 40 && a.nVars == 15)
        try await a.write(h5ad: s.path("copy.h5ad"), options: WriteOptions(compressor: .gzip(level: 4)))
        let out = try s.python("""
        import anndata as ad, pandas as pd
        x, y = ad.read_h5ad(D + "/rich.h5ad"), ad.read_h5ad(D + "/copy.h5ad")
        assert type(x.X) is type(y.X), (type(x.X), type(y.X))
        assert (x.X != y.X).nnz == 0
        pd.testing.assert_frame_equal(x.obs, y.obs)
        pd.testing.assert_frame_equal(x.var, y.var)
        assert np.array_equal(x.obsm["pca"], y.obsm["pca"])
        assert np.array_equal(x.layers["counts"], y.layers["counts"]) and y.layers["counts"].dtype == np.int32
        assert y.uns["k"] == "v" and y.uns["n"] == 3 and np.array_equal(y.uns["arr"], np.arange(4))
        assert y.uns["nested"]["x"] == 1.5 and list(y.uns["nested"]["names"]) == ["p", "q"]
        with h5py.File(D + "/copy.h5ad", "r") as f:
            assert f["X/data"].compression == "gzip", f["X/data"].compression
        OUT["equal"] = True
        """)
        #expect(out["equal"] as? Bool == true)
    }

    // MARK: - Atomic replacement

    @Test func h5adWriteReplacesAtomically() async throws {
        let s = try H5Scratch("atomic")
        defer { s.remove() }
        let path = s.path("a.h5ad")
        let first = try anndata(rows: 3)
        try await first.write(h5ad: path)
        let before = try s.bytes("a.h5ad")
        #expect(try s.temporaries().isEmpty)

        // Refused before writing: zstd has no HDF5 filter h5py reads.
        await #expect(throws: AnnDataError.self) {
            try await anndata(rows: 5).write(h5ad: path, options: WriteOptions(compressor: .zstd))
        }
        #expect(try s.bytes("a.h5ad") == before)
        #expect(try s.temporaries().isEmpty)

        // Failing midway: the dispatch callback throws after some elements were written.
        let calls = Mutex(0)
        var failing = WriteOptions()
        failing.dispatch = { path, _, _ in
            let n = calls.withLock { c -> Int in c += 1; return c }
            if n >= 4 { throw InjectedFailure(path: path) }
            return .write
        }
        await #expect(throws: AnnDataError.self) { try await anndata(rows: 5).write(h5ad: path, options: failing) }
        #expect(calls.withLock { $0 } >= 4)
        #expect(try s.bytes("a.h5ad") == before)
        #expect(try s.temporaries().isEmpty)

        // Failing midway on an element HDF5 cannot hold: a string with a NUL character.
        var unholdable = try anndata(rows: 5)
        unholdable.uns["zz_bad"] = .string("a\u{0}b")
        do {
            try await unholdable.write(h5ad: path)
            Issue.record("a string with a NUL was written")
        } catch {
            #expect("\(error)".contains("NUL"), "\(error)")
        }
        #expect(try s.bytes("a.h5ad") == before)
        #expect(try s.temporaries().isEmpty)

        // A successful overwrite replaces the file.
        try await anndata(rows: 6).write(h5ad: path, options: WriteOptions(compressor: .lzf))
        #expect(try s.bytes("a.h5ad") != before)
        #expect(try s.temporaries().isEmpty)
        let back = try await AnnData.read(h5ad: path)
        #expect(back.nObs == 6 && back.nVars == 2)

        // An existing file that is not HDF5 is refused and left alone.
        let other = s.path("notes.h5ad")
        try s.write("notes.h5ad", Array("my notes, not an HDF5 file\n".utf8))
        await #expect(throws: AnnDataError.self) { try await first.write(h5ad: other) }
        #expect(try s.bytes("notes.h5ad") == Array("my notes, not an HDF5 file\n".utf8))
        // So is a directory.
        try FileManager.default.createDirectory(atPath: s.path("dir.h5ad"), withIntermediateDirectories: false)
        await #expect(throws: AnnDataError.self) { try await first.write(h5ad: s.path("dir.h5ad")) }
        #expect(try s.temporaries().isEmpty)
    }
}

// MARK: - Support

private struct InjectedFailure: Error { let path: String }

/// A small AnnData: `rows` × 2 dense float32 X, a string column and an `uns` entry.
private func anndata(rows: Int) throws -> AnnData {
    let X = try NDArray((0..<(rows * 2)).map { Float($0) }, shape: [rows, 2])
    return try AnnData(
        X: .dense(X), obs: try DataFrame(index: (0..<rows).map { "c\($0)" }), var: try DataFrame(index: ["g0", "g1"]),
        uns: ["note": .string("hello"), "n": .scalar(try NDArray([Int64(7)], shape: []))])
}

/// Opens `path`, reads every attribute document and every array whole, and closes it; the
/// first error is thrown.
private func readEverything(_ path: String) async throws {
    let store = try await HDF5Store.open(path: path)
    do {
        for key in try await store.list(prefix: "") {
            if key.hasSuffix(".zattrs") { _ = try await store.get(key) }
            if key.hasSuffix("/.zarray") {
                _ = try await ZarrArray.open(store, path: String(key.dropLast("/.zarray".count))).read()
            }
        }
    } catch {
        try? await store.close()
        throw error
    }
    try await store.close()
}

/// v2 array metadata from its JSON members.
private func v2(_ shape: [Int], _ chunks: [Int], _ dtype: String, compressor: String = "null", filters: String = "null", fill: String = "0") throws -> ArrayMetadata {
    try ArrayMetadata.parseV2(JSONValue.parse(v2JSON(shape, chunks, dtype, compressor: compressor, filters: filters, fill: fill)), path: "a")
}

/// A `.zarray` document.
private func v2JSON(_ shape: [Int], _ chunks: [Int], _ dtype: String, compressor: String = "null", filters: String = "null", fill: String = "0") -> [UInt8] {
    Array("""
    {"zarr_format": 2, "shape": \(shape), "chunks": \(chunks), "dtype": \(dtype.hasPrefix("[") ? dtype : "\"" + dtype + "\""), "compressor": \(compressor),
     "filters": \(filters), "fill_value": \(fill), "order": "C"}
    """.utf8)
}

/// A fresh temporary directory per test, and the h5py side: scripts run by the repository's
/// `.venv/bin/python` (numpy, h5py, anndata) with `D` = the directory, `dump(name, array)`
/// writing an array's little-endian bytes to `D/name.bin`, and `OUT` printed as JSON at the end.
private struct H5Scratch {
    let dir: String

    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    init(_ name: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("hdf5store-\(name)-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { dir + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: dir) }
    func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name)))) }
    func write(_ name: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path(name))) }
    /// The bytes h5py's `dump(name, …)` wrote.
    func expected(_ name: String) throws -> [UInt8] { try bytes(name + ".bin") }
    /// Leftover temporary files of an `.h5ad` write.
    func temporaries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".partial-") }
    }

    /// Runs `body` under the prelude; returns `OUT`.
    func python(_ body: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let interpreter = Self.packageRoot + "/.venv/bin/python"
        try #require(
            FileManager.default.isExecutableFile(atPath: interpreter),
            "interpreter missing at \(interpreter): create .venv with h5py (scripts/setup) to run the HDF5 tests",
            sourceLocation: sourceLocation)
        let script = """
        import sys, os, json, warnings
        warnings.simplefilter("ignore")
        import numpy as np, h5py
        D = sys.argv[1]
        OUT = {}
        def dump(name, a):
            a = np.asarray(a)
            if a.dtype.kind in "iuf":
                a = a.astype(a.dtype.newbyteorder("<"))
            with open(os.path.join(D, name + ".bin"), "wb") as out:
                out.write(np.ascontiguousarray(a).tobytes())

        """ + body + "\nprint(json.dumps(OUT))\n"
        let errFile = path("stderr-\(UUID().uuidString).txt")
        _ = FileManager.default.createFile(atPath: errFile, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errFile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: interpreter)
        process.arguments = ["-c", script, dir]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errFile))
        try process.run()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errors = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
        try #require(process.terminationStatus == 0, "python failed: \(errors)", sourceLocation: sourceLocation)
        let parsed = try JSONSerialization.jsonObject(with: output) as? [String: Any]
        return try #require(parsed, "python printed no JSON object: \(errors)", sourceLocation: sourceLocation)
    }
}

