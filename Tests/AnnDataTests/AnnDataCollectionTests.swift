import Foundation
import Testing
import AnnData
import Zarr

/// Collections of stores aligned by var_names, and the loader over them.
@Suite("AnnData collections")
struct AnnDataCollectionTests {
    /// A store of `rows` cells over `genes` (CSR, or dense float32), value = 1000*store + 10*row + gene
    /// position in `genes` + 1 at every third (row, gene) pair, and an obs column "batch".
    static func store(_ id: Int, rows: Int, genes: [String], dense: Bool = false) async throws -> (MemoryStore, [[Float]]) {
        var values = [[Float]](repeating: [Float](repeating: 0, count: genes.count), count: rows)
        for r in 0..<rows { for g in 0..<genes.count where (r + g) % 3 == 0 { values[r][g] = Float(1000 * id + 10 * r + g + 1) } }
        let flat = values.flatMap { $0 }
        let X: Matrix
        if dense {
            X = .dense(try NDArray(flat, shape: [rows, genes.count]))
        } else {
            var data: [Float] = [], indices: [Int32] = [], indptr: [Int64] = [0]
            for r in 0..<rows {
                for g in 0..<genes.count where values[r][g] != 0 { data.append(values[r][g]); indices.append(Int32(g)) }
                indptr.append(Int64(data.count))
            }
            X = .sparse(try SparseMatrix(format: .csr, shape: [rows, genes.count], data: try NDArray(data, shape: [data.count]),
                                         indices: try NDArray(indices, shape: [indices.count]), indptr: try NDArray(indptr, shape: [indptr.count])))
        }
        var obs = try DataFrame(index: (0..<rows).map { "s\(id)c\($0)" })
        obs.columns["batch"] = .strings([String](repeating: "b\(id)", count: rows))
        let adata = try AnnData(X: X, obs: obs, var: try DataFrame(index: genes))
        let s = MemoryStore()
        var options = WriteOptions()
        options.dispatch = { path, _, _ in path == "X" ? .writeWith(ArrayOverrides(chunks: dense ? [7, genes.count] : [16])) : .write }
        try await adata.write(to: s, options: options)
        return (s, values)
    }

    /// The expected dense rows of the collection (missing genes: 0, or NaN with `nan`).
    static func expected(_ parts: [([[Float]], [String])], names: [String], nan: Bool) -> [[Float]] {
        parts.flatMap { values, genes in
            values.map { row in
                names.map { n in genes.firstIndex(of: n).map { row[$0] } ?? (nan ? .nan : 0) }
            }
        }
    }

    static func dense(_ m: Matrix) throws -> [[Float]] {
        let d = try m.toDense()
        let v = try d.values(as: Float.self)
        let cols = d.shape[1]
        return (0..<d.shape[0]).map { Array(v[($0 * cols)..<(($0 + 1) * cols)]) }
    }

    static func same(_ a: [[Float]], _ b: [[Float]]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in x.count == y.count && zip(x, y).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) } }
    }

    @Test func innerAndOuterJoinsReadTheRightRows() async throws {
        let g1 = ["a", "b", "c", "d"], g2 = ["c", "e", "a"], g3 = ["a", "f", "c", "b"]
        for dense in [false, true] {
            let (s1, v1) = try await Self.store(1, rows: 40, genes: g1, dense: dense)
            let (s2, v2) = try await Self.store(2, rows: 25, genes: g2, dense: dense)
            let (s3, v3) = try await Self.store(3, rows: 33, genes: g3, dense: dense)
            let inner = try await AnnDataCollection.open([s1, s2, s3], join: .inner)
            #expect(inner.varNames == ["a", "c"])
            #expect(inner.nObs == 98)
            let outer = try await AnnDataCollection.open([s1, s2, s3], join: .outer)
            #expect(outer.varNames == ["a", "b", "c", "d", "e", "f"])
            let parts = [(v1, g1), (v2, g2), (v3, g3)]
            for (c, nan) in [(inner, false), (outer, dense)] {
                let all = Self.expected(parts, names: c.varNames, nan: nan)
                // Rows across the three stores, and within one.
                for rows in [Array(0..<98), [0, 39, 40, 64, 65, 97], [41, 42, 50], []] {
                    let m = try await c.rows(rows)
                    if rows.isEmpty { #expect(m.shape[0] == 0); continue }
                    #expect(m.shape == [rows.count, c.nVars])
                    if case .sparse = m { #expect(!dense) } else { #expect(dense) }
                    #expect(Self.same(try Self.dense(m), rows.map { all[$0] }), "\(c.join) dense=\(dense) rows \(rows)")
                }
            }
            await #expect(throws: AnnDataError.self) { _ = try await inner.rows([5, 3]) }
            await #expect(throws: AnnDataError.self) { _ = try await inner.rows([98]) }
        }
    }

    @Test func theLoaderCoversACollectionOnceWithLabels() async throws {
        let g1 = ["a", "b", "c"], g2 = ["b", "c", "x"]
        let (s1, v1) = try await Self.store(1, rows: 300, genes: g1)
        let (s2, v2) = try await Self.store(2, rows: 170, genes: g2)
        let c = try await AnnDataCollection.open([s1, s2], join: .outer)
        let all = Self.expected([(v1, g1), (v2, g2)], names: c.varNames, nan: false)
        for (rank, world) in [(0, 1), (0, 2), (1, 2)] {
            let o = LoaderOptions(batchSize: 32, blockRows: 50, preloadBlocks: 3, seed: 3, rank: rank, worldSize: world)
            let loader = try await MinibatchLoader(c, options: o, epoch: 1, obsColumns: ["batch"])
            for w in loader.plan.windows {
                for b in w.blocks { #expect(b.upperBound <= 300 || b.lowerBound >= 300, "block \(b) crosses stores") }
            }
            var seen: [Int] = []
            for try await batch in loader {
                seen += batch.rows
                #expect(Self.same(try Self.dense(batch.X), batch.rows.map { all[$0] }))
                #expect(batch.obs["batch"]?.stringValues == batch.rows.map { $0 < 300 ? "b1" : "b2" })
            }
            if world == 1 { #expect(seen.sorted() == Array(0..<470)) } else { #expect(Set(seen).count == seen.count) }
        }
        await #expect(throws: AnnDataError.self) { _ = try await MinibatchLoader(c, obsColumns: ["nope"]) }
    }

    @Test func badCollections() async throws {
        await #expect(throws: AnnDataError.self) { _ = try await AnnDataCollection.open([]) }
        let (s1, _) = try await Self.store(1, rows: 5, genes: ["a", "a"])
        await #expect(throws: AnnDataError.self) { _ = try await AnnDataCollection.open([s1]) }
        // Sparse and dense stores do not stack.
        let (sp, _) = try await Self.store(1, rows: 5, genes: ["a", "b"])
        let (de, _) = try await Self.store(2, rows: 5, genes: ["a", "b"], dense: true)
        let mixed = try await AnnDataCollection.open([sp, de])
        await #expect(throws: AnnDataError.self) { _ = try await mixed.rows([0, 9]) }
    }
}
