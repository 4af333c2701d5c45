import AnnData
import Synchronization
import Testing
import Zarr

/// Dispatched reading (anndata's `read_dispatched`): a callback sees every element, and may
/// read it, replace it, skip it, or read an encoding the registry does not know.
@Suite struct ReadDispatchTests {
    @Test func callbackSeesEveryElementAndCanSkipOrReplace() async throws {
        let dir = try await Fixtures.shared.directory(.a12, ["--variant", "all", "--extras"])
        let store = LocalStore(root: dir.appendingPathComponent(Variant.dense.fileName).path)
        let seen = Mutex<[String: String]>([:])
        let adata = try await AnnData.read(from: store) { path, encoding, readDefault in
            seen.withLock { $0[path, default: ""] += encoding.type + ";" }
            switch path {
            case "X", "layers/counts", "obs/str_default", "uns/nested", "obsm/ragged": return nil
            case "uns/py_str": return .string("replaced")
            default: return try await readDefault()
            }
        }
        let ref = Reference.kitchenSink(.dense, extras: true)
        #expect(adata.X == nil)
        #expect(adata.layers.keys.sorted() == ref.layers.keys.filter { $0 != "counts" }.sorted())
        #expect(adata.obs.columns.keys == ref.obs.columns.keys.filter { $0 != "str_default" })
        #expect(adata.uns["nested"] == nil && adata.obsm["ragged"] == nil)
        #expect(adata.uns["py_str"] == .string("replaced"))
        // Everything else is exactly what a plain read gives.
        let plain = try await AnnData.read(from: store)
        #expect(adata.obsm["X_pca"] == plain.obsm["X_pca"] && adata.raw == plain.raw && adata.var == plain.var)
        let visits = seen.withLock { $0 }
        #expect(visits[""] == "anndata;")
        #expect(visits["obs"] == "dataframe;" && visits["raw"] == "raw;" && visits["raw/X"] != nil)
        #expect(visits["obsm/X_pca"] == "array;" && visits["obs/cat_ordered"] == "categorical;")
        // Skipped elements are not descended into; every other element is seen exactly once.
        #expect(visits["uns/nested/level1"] == nil)
        #expect(visits.values.allSatisfy { $0.split(separator: ";").count == 1 })
    }

    @Test func skippingARequiredElementIsAnErrorNamingIt() async throws {
        let store = MemoryStore()
        let ref = Reference.kitchenSink(.dense)
        try await ref.write(to: store)
        for required in ["obs", "var", "obs/" + ref.obs.indexKey, "var/" + ref.var.indexKey] {
            await #expect {
                _ = try await AnnData.read(from: store) { path, _, readDefault in path == required ? nil : try await readDefault() }
            } throws: { error in
                "\(error)".contains(required)
            }
        }
    }

    @Test func callbackReadsAnEncodingTheRegistryDoesNotKnow() async throws {
        let store = MemoryStore()
        try await Reference.kitchenSink(.dense).write(to: store, options: WriteOptions(consolidate: false))
        // A third-party element: a group with its own encoding-type and one array.
        var attrs = JSONObject()
        attrs["encoding-type"] = .string("my-spatial-table")
        attrs["encoding-version"] = .string("0.3.0")
        try await ZarrGroup.create(store, path: "uns/spatial", attributes: attrs)
        let a = try await ZarrArray.create(store, path: "uns/spatial/coords", metadata: ArrayMetadata(shape: [3], chunkShape: [3], dataType: .float64))
        try await a.write(try NDArray([1.0, 2.0, 3.0], shape: [3]))

        await #expect(throws: AnnDataError.self) { _ = try await AnnData.read(from: store) }
        let adata = try await AnnData.read(from: store) { path, encoding, readDefault in
            guard encoding.type == "my-spatial-table" else { return try await readDefault() }
            #expect(encoding.version == "0.3.0")
            let coords = try await ZarrArray.open(store, path: path + "/coords").read()
            return .array(coords)
        }
        #expect(adata.uns["spatial"] == .array(try NDArray([1.0, 2.0, 3.0], shape: [3])))
    }
}
