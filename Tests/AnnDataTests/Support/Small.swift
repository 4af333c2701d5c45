import AnnData
import Zarr

/// A small AnnData for unit tests: 4 obs x 3 vars, dense float32 X, a categorical, a CSR layer.
enum Small {
    static func make(nObsIndex: Int = 4) throws -> AnnData {
        let obs = try DataFrame(index: (0..<nObsIndex).map { "c\($0)" }, indexName: "cell", columns: [
            "group": .categorical(try Categorical(codes: Array((0..<nObsIndex).map { $0 % 3 }), categories: ["a", "b", "c"])),
            "n": .array(try NDArray((0..<nObsIndex).map { Int32($0) }, shape: [nObsIndex])),
        ])
        let vars = try DataFrame(index: ["g0", "g1", "g2"])
        let X = try NDArray((0..<12).map { Float($0) }, shape: [4, 3])
        let csr = try SparseMatrix(format: .csr, shape: [4, 3], data: try NDArray([1.0, 2.0, 3.0], shape: [3]),
                                   indices: try NDArray([Int32(0), 2, 1], shape: [3]), indptr: try NDArray([Int32(0), 1, 2, 2, 3], shape: [5]))
        return try AnnData(X: .dense(X), obs: obs, var: vars, layers: ["sparse": .sparse(csr)], uns: ["k": .scalar(Int64(1))])
    }
}

/// Store helpers of the bad-input suites.
protocol SmallStoreChecks {}

extension SmallStoreChecks {
    /// A memory store holding `Small.make()` written in `format`.
    func written(_ format: ZarrFormat = .v3) async throws -> MemoryStore {
        let store = MemoryStore()
        try await Small.make().write(to: store, options: WriteOptions(zarrFormat: format))
        return store
    }

    /// The error reading `store` as an AnnData gives, or `nil` when it reads.
    func readError(_ store: any ReadableStore) async -> AnnDataError? {
        do {
            _ = try await AnnData.read(from: store)
            return nil
        } catch {
            return error
        }
    }
}
