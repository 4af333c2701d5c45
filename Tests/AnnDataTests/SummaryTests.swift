import AnnData
import Foundation
import Testing
import Zarr

/// `StoreSummary` (what `anndata info` prints) and legacy / cross-version reading.
@Suite("Store summary and legacy stores")
struct SummaryTests {
    @Test func summaryOfTheKitchenSink() async throws {
        let store = MemoryStore()
        try await Reference.kitchenSink(.csr).write(to: store, options: WriteOptions(compressor: .blosc, sharding: .auto))
        let s = try await StoreSummary.read(store)
        #expect(s.nObs == 40 && s.nVars == 25 && s.zarrFormat == 3)
        #expect(s.X == "float32 csr_matrix")
        #expect(s.obsColumns.first { $0.name == "cat_ordered" }?.type == "categorical[string x 3, ordered]")
        #expect(s.obsColumns.first { $0.name == "nullable_int32" }?.type == "nullable-integer[int32]")
        #expect(s.keys.first { $0.name == "obsm" }?.keys == ["X_pca", "X_umap", "df", "sparse", "tensor_3d"])
        #expect(s.hasRaw && s.consolidated && s.staleEntries.isEmpty)
        #expect(s.shardedCount > 0 && s.shardedCount < s.arrayCount, "scalars and null arrays are not sharded")
        #expect(s.compressors == ["blosc(lz4)"])
        #expect(s.json["n_obs"] == 40)
    }

    @Test func legacyStoreWithoutEncodingAttributes() async throws {
        // anndata < 0.8: no encoding attributes, sparse as h5sparse groups, obs as a group with _index.
        let store = MemoryStore()
        try await ZarrGroup.create(store, path: "", format: .v2)
        func array(_ path: String, _ a: NDArray, _ attrs: JSONObject = [:]) async throws {
            let filters: JSONValue = a.dataType == .string ? [["id": "vlen-utf8"]] : .null
            let m = ArrayMetadata(shape: a.shape, chunkShape: a.shape.map { max($0, 1) }, dataType: a.dataType, attributes: attrs,
                                  zarrFormat: .v2, v2: V2ArrayOptions(filters: filters))
            try await ZarrArray.create(store, path: path, metadata: m).write(all: a)
        }
        try await ZarrGroup.create(store, path: "obs", format: .v2, attributes: ["_index": "_index", "column-order": ["grp"]])
        try await array("obs/_index", try NDArray(strings: ["a", "b"], shape: [2]))
        try await array("obs/grp", try NDArray([Int8(1), 0], shape: [2]), ["categories": "__categories/grp"])
        try await array("obs/__categories/grp", try NDArray(strings: ["x", "y"], shape: [2]))
        try await ZarrGroup.create(store, path: "var", format: .v2, attributes: ["_index": "_index", "column-order": []])
        try await array("var/_index", try NDArray(strings: ["g0", "g1", "g2"], shape: [3]))
        try await ZarrGroup.create(store, path: "X", format: .v2, attributes: ["h5sparse_format": "csr", "h5sparse_shape": [2, 3]])
        try await array("X/data", try NDArray([Float(1), 2], shape: [2]))
        try await array("X/indices", try NDArray([Int32(0), 2], shape: [2]))
        try await array("X/indptr", try NDArray([Int32(0), 1, 2], shape: [3]))
        try await ZarrGroup.create(store, path: "uns", format: .v2)
        try await array("uns/n", try NDArray([Int64(5)], shape: []))
        let a = try await AnnData.read(from: store)
        #expect(a.nObs == 2 && a.nVars == 3)
        guard case .sparse(let x)? = a.X else { Issue.record("X is not sparse"); return }
        #expect(x.format == .csr && x.shape == [2, 3])
        guard case .categorical(let c)? = a.obs.columns["grp"] else { Issue.record("grp is not categorical"); return }
        let cats = try c.categories.strings()
        #expect(c.codeValues == [1, 0] && cats == ["x", "y"])
        #expect(a.uns["n"] == .scalar(Int64(5)))
        #expect(await validate(store).contains { $0.contains("no encoding-type") })
    }

    @Test func pre07StoreWithStructuredFramesAndCategoriesInUns() async throws {
        // anndata < 0.7: obs and var as structured arrays (first field the index), categorical
        // codes as plain integers with their categories in uns["<column>_categories"].
        let store = MemoryStore()
        try await ZarrGroup.create(store, path: "", format: .v2)
        func array(_ path: String, _ a: NDArray) async throws {
            let filters: JSONValue = a.dataType == .string ? [["id": "vlen-utf8"]] : .null
            let m = ArrayMetadata(shape: a.shape, chunkShape: a.shape.map { max($0, 1) }, dataType: a.dataType,
                                  zarrFormat: .v2, v2: V2ArrayOptions(filters: filters))
            try await ZarrArray.create(store, path: path, metadata: m).write(all: a)
        }
        func utf32(_ s: String, _ n: Int) -> [UInt8] {
            var out = s.unicodeScalars.flatMap { withUnsafeBytes(of: $0.value.littleEndian, Array.init) }
            out += [UInt8](repeating: 0, count: 4 * n - out.count)
            return out
        }
        let obsType = DataType.structured([StructField(name: "index", type: .fixedUTF32(length: 2)),
                                           StructField(name: "grp", type: .int8), StructField(name: "other", type: .int8)])
        let obsRows: [[UInt8]] = [utf32("c0", 2) + [1, 5], utf32("c1", 2) + [0, 0]]
        try await array("obs", try NDArray(dataType: obsType, shape: [2], storage: .fixed(obsRows.flatMap { $0 })))
        let varType = DataType.structured([StructField(name: "index", type: .fixedUTF32(length: 2))])
        try await array("var", try NDArray(dataType: varType, shape: [3], storage: .fixed(utf32("g0", 2) + utf32("g1", 2) + utf32("g2", 2))))
        try await array("X", try NDArray([Float](repeating: 1, count: 6), shape: [2, 3]))
        try await ZarrGroup.create(store, path: "uns", format: .v2)
        try await array("uns/grp_categories", try NDArray(strings: ["x", "y"], shape: [2]))
        // Codes up to 5 do not fit two categories: the column stays numeric, the entry stays.
        try await array("uns/other_categories", try NDArray(strings: ["u", "v"], shape: [2]))
        let a = try await AnnData.read(from: store)
        #expect(a.obs.indexValues == ["c0", "c1"] && a.nVars == 3)
        guard case .categorical(let c)? = a.obs.columns["grp"] else { Issue.record("grp is not categorical: \(String(describing: a.obs.columns["grp"]))"); return }
        #expect(c.codeValues == [1, 0])
        #expect(try c.categories.strings() == ["x", "y"])
        guard case .array(let other)? = a.obs.columns["other"] else { Issue.record("other is not numeric"); return }
        #expect(try other.values(as: Int8.self) == [5, 0])
        #expect(a.uns.keys == ["other_categories"])
        // `info` gives the shape and the fields of the structured frames.
        let summary = try await StoreSummary.read(store)
        #expect(summary.nObs == 2 && summary.nVars == 3)
        #expect(summary.obsColumns.map(\.name) == ["index", "grp", "other"])
    }
}
