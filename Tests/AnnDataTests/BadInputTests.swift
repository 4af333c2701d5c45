import AnnData
import Foundation
import Testing
import Zarr

/// Bad input is refused with an error that names the element path.
@Suite("Bad input")
struct BadInputTests: SmallStoreChecks {
    @Test func indexLengthDisagreesWithXOnConstruction() throws {
        #expect(throws: AnnDataError.shapeMismatch(path: "X", reason: "shape [4, 3] does not match (n_obs, n_vars) = [5, 3]")) {
            var a = try Small.make()
            a.obs = try DataFrame(index: (0..<5).map { "c\($0)" })
            try a.validate()
        }
    }

    @Test(arguments: [ZarrFormat.v3, .v2])
    func indexLengthDisagreesWithXOnRead(_ format: ZarrFormat) async throws {
        let store = try await written(format)
        // A 5-row obs without columns replaces the 4-row one.
        try await writeElement(.dataFrame(try DataFrame(index: (0..<5).map { "c\($0)" })), store: store, path: "obs")
        let e = await readError(store)
        #expect(e?.path == "X", "\(String(describing: e))")
        guard case .shapeMismatch? = e else { Issue.record("expected a shape mismatch, got \(String(describing: e))"); return }
        #expect(await validate(store).contains { $0.hasPrefix("X:") })
    }

    @Test func columnLengthDisagreesWithIndex() async throws {
        let store = try await written()
        try await writeElement(.array(try NDArray([Int32(1), 2], shape: [2])), store: store, path: "obs/n")
        let e = await readError(store)
        #expect(e?.path == "obs/n", "\(String(describing: e))")
    }

    @Test func categoricalCodeOutOfRange() async throws {
        let store = try await written()
        try await writeElement(.array(try NDArray([Int8(0), 1, 7, -1], shape: [4])), store: store, path: "obs/group/codes")
        let e = await readError(store)
        #expect(e?.path == "obs/group", "\(String(describing: e))")
        #expect(e?.description.contains("out of range") == true)
        #expect(await validate(store).contains { $0.hasPrefix("obs/group:") && $0.contains("out of range") })
        #expect(throws: AnnDataError.self) { try Categorical(codes: [0, 3], categories: ["a", "b"]) }
    }

    @Test func unknownEncodingType() async throws {
        let store = try await written()
        try await ZarrGroup.updateAttributes(store, path: "uns") { $0["encoding-type"] = "fancy-dict" }
        try await ConsolidatedMetadata.consolidate(store)
        let e = await readError(store)
        #expect(e == .unknownEncoding(path: "uns", type: "fancy-dict", version: "0.1.0"), "\(String(describing: e))")
        #expect(await validate(store).contains { $0.hasPrefix("uns:") && $0.contains("fancy-dict") })
        // Unknown version of a known type, on an array.
        try await ZarrGroup.updateAttributes(store, path: "uns") { $0["encoding-type"] = "dict" }
        try await ZarrGroup.updateAttributes(store, path: "X") { $0["encoding-version"] = "9.9.9" }
        try await ConsolidatedMetadata.consolidate(store)
        #expect(await readError(store) == .unknownEncoding(path: "X", type: "array", version: "9.9.9"))
    }

    @Test(arguments: [
        ([Int32(0), 2, 1, 2, 3], "not monotone"),
        ([Int32(0), 1, 2, 2, 2], "ends at 2"),
        ([Int32(1), 1, 2, 2, 3], "starts at 1"),
    ])
    func csrIndptrInvalid(_ indptr: [Int32], _ message: String) async throws {
        let store = try await written()
        // The sparse parts carry no encoding attributes; write the array directly.
        let meta = ArrayMetadata(shape: [5], chunkShape: [5], dataType: .int32)
        let array = try await ZarrArray.create(store, path: "layers/sparse/indptr", metadata: meta)
        try await array.write(all: try NDArray(indptr, shape: [5]))
        try await ConsolidatedMetadata.consolidate(store)
        let e = await readError(store)
        #expect(e?.path == "layers/sparse", "\(String(describing: e))")
        #expect(e?.description.contains(message) == true, "\(String(describing: e))")
        #expect(await validate(store).contains { $0.hasPrefix("layers/sparse:") })
        #expect(throws: AnnDataError.self) {
            try SparseMatrix(format: .csr, shape: [4, 3], data: try NDArray([1.0, 2, 3], shape: [3]),
                             indices: try NDArray([Int32(0), 2, 1], shape: [3]), indptr: try NDArray(indptr, shape: [5]))
        }
    }

    @Test func staleConsolidatedMetadataIsRefused() async throws {
        let store = try await written()
        // Change a node without re-consolidating (updateAttributes keeps the old copy).
        try await ZarrGroup.updateAttributes(store, path: "obs/group") { $0["ordered"] = true }
        let e = await readError(store)
        guard case .staleConsolidatedMetadata(let entries)? = e else {
            Issue.record("expected staleConsolidatedMetadata, got \(String(describing: e))")
            return
        }
        #expect(entries.contains { $0.hasPrefix("obs/group") })
        #expect(await validate(store).contains { $0.contains("obs/group") })
        // After re-consolidation the store reads, with the new value.
        try await ConsolidatedMetadata.consolidate(store)
        let a = try await AnnData.read(from: store)
        guard case .categorical(let c)? = a.obs.columns["group"] else { Issue.record("no categorical"); return }
        #expect(c.ordered)
    }

    @Test func orderedMustBeABoolean() async throws {
        let store = try await written()
        try await ZarrGroup.updateAttributes(store, path: "obs/group") { $0["ordered"] = "false" }
        try await ConsolidatedMetadata.consolidate(store)
        let e = await readError(store)
        #expect(e?.path == "obs/group" && e?.description.contains("ordered") == true, "\(String(describing: e))")
    }

    @Test func missingObsIsNamed() async throws {
        let store = try await written()
        try await deleteElement(store: store, path: "obs")
        #expect(await readError(store) == .missingElement(path: "obs"))
        #expect(await validate(store).contains { $0.hasPrefix("obs:") })
    }

    /// Values the public model lets a caller build that cannot be written as they are: an
    /// error naming the element, never a trap or silently truncated data.
    @Test func inconsistentModelValuesAreRefusedOnWrite() async throws {
        // Codes that do not fit the packed type (257 would wrap to 1) or lie outside the categories.
        #expect(throws: AnnDataError.self) { try Categorical(codes: [0, 257], categories: ["a", "b", "c"]) }
        #expect(throws: AnnDataError.self) { try Categorical(codes: [-2], categories: ["a"]) }
        #expect(throws: AnnDataError.self) { try Categorical.packCodes([300], categoryCount: 200) }

        var ints = try NullableArray(values: try NDArray([Int32(1), 2, 3], shape: [3]), mask: [false, true, false])
        ints.mask.append(true)  // the members are public: a mask longer than the values
        var strs = try NullableStrings(values: ["a", "b"], mask: [false, true])
        strs.values.removeLast()
        for (path, element) in [("uns/ints", Element.nullableInteger(ints)), ("uns/strs", .nullableStrings(strs))] {
            let store = try await written()
            await #expect {
                try await writeElement(element, store: store, path: path)
            } throws: { error in
                guard case AnnDataError.shapeMismatch(let p, _) = error else { return false }
                return p == path
            }
            #expect(try await AnnData.read(from: store) == (try Small.make()), "the store is unchanged")
        }

        // A sparse matrix too large to densify is an error, not an overflow trap.
        let huge = try SparseMatrix(format: .csc, shape: [1 << 62, 4], data: try NDArray([Float](), shape: [0]),
                                    indices: try NDArray([Int32](), shape: [0]), indptr: try NDArray([Int32](repeating: 0, count: 5), shape: [5]))
        #expect { _ = try huge.toDense() } throws: { "\($0)".contains("too large") }
    }
}
