import Zarr

/// Several AnnData stores seen as one along obs, lazily: the observations of the first, then
/// of the second, ...; the variables aligned by var_names.
///
/// `inner` keeps the genes every store has, in the first store's order; `outer` keeps every gene
/// of any store, in pandas' union order (`Join.aligned`: sorted, unless every store has the same
/// genes in the same order), and a store's missing genes read as zeros in a
/// sparse X and as NaN in a dense floating-point X (what anndata's outer `concat` gives).
/// Opening reads each store's metadata and var index only; rows are read on demand
/// (`rows(_:)`), one selection read per store touched, and `MinibatchLoader` streams shuffled
/// epochs over the whole collection.
public struct AnnDataCollection: Sendable {
    /// How variables are aligned.
    public enum Join: String, Sendable, Hashable {
        /// The genes every store has, in the first store's order.
        case inner
        /// Every gene of any store (sorted, as pandas' `Index.union` sorts, unless every store has
        /// the same genes in the same order).
        case outer
    }

    /// The stores, lazily opened.
    public let members: [LazyAnnData]
    /// The alignment.
    public let join: Join
    /// The collection's var_names.
    public let varNames: [String]
    /// For each member, its var position of each of the collection's variables (`nil`: absent).
    public let columnMaps: [[Int?]]
    /// The first global row of each member, and the total at the end (`members.count + 1`).
    public let rowOffsets: [Int]

    /// The number of observations.
    public var nObs: Int { rowOffsets.last ?? 0 }
    /// The number of variables.
    public var nVars: Int { varNames.count }

    /// A collection of `stores` (each opened lazily) aligned by `join`. Every store needs an X
    /// and unique var_names; an empty list of stores is an error.
    public static func open(
        _ stores: [any ReadableStore], join: Join = .inner, concurrency: ConcurrencyOptions = .automatic
    ) async throws(AnnDataError) -> AnnDataCollection {
        var members: [LazyAnnData] = []
        for s in stores { members.append(try await LazyAnnData.open(s, concurrency: concurrency)) }
        return try await AnnDataCollection(members, join: join)
    }

    /// A collection of opened stores aligned by `join`.
    public init(_ members: [LazyAnnData], join: Join = .inner) async throws(AnnDataError) {
        guard !members.isEmpty else { throw .invalidElement(path: "", reason: "a collection needs at least one store") }
        var names: [[String]] = []
        var offsets = [0]
        for (i, m) in members.enumerated() {
            guard m.X != nil else { throw .invalidElement(path: "X", reason: "store \(i) of the collection has no X") }
            let index = try await m.var.index()
            guard let values = index.stringValues else { throw .invalidElement(path: "var", reason: "store \(i): var_names are not strings") }
            let strings = values.map { $0 ?? "" }
            guard Set(strings).count == strings.count else {
                throw .invalidElement(path: "var", reason: "store \(i): var_names are not unique; they cannot be aligned by name")
            }
            names.append(strings)
            offsets.append(offsets[offsets.count - 1] + m.nObs)
        }
        let out = join.aligned(names)
        self.members = members
        self.join = join
        self.varNames = out
        self.rowOffsets = offsets
        self.columnMaps = names.map { list in
            let position = Dictionary(uniqueKeysWithValues: list.enumerated().map { ($1, $0) })
            return out.map { position[$0] }
        }
    }

    /// The member holding global row `row`, and the row in it.
    public func locate(_ row: Int) -> (member: Int, row: Int) {
        var lo = 0, hi = members.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if rowOffsets[mid] <= row { lo = mid } else { hi = mid - 1 }
        }
        return (lo, row - rowOffsets[lo])
    }

    /// Rows `rows` of X (global rows, sorted ascending, no repeats) with the collection's
    /// variables: one selection read per member touched, stacked in order. CSR when the members'
    /// X are sparse, dense otherwise (members must agree).
    public func rows(_ rows: [Int]) async throws(AnnDataError) -> Matrix {
        if let bad = rows.first(where: { $0 < 0 || $0 >= nObs }) {
            throw .invalidElement(path: "X", reason: "row \(bad) is outside 0..<\(nObs)")
        }
        guard zip(rows, rows.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw .invalidElement(path: "X", reason: "collection rows must be sorted and distinct")
        }
        var parts: [Matrix] = []
        var start = 0
        while start < rows.count {
            let (member, _) = locate(rows[start])
            var end = start
            while end < rows.count && rows[end] < rowOffsets[member + 1] { end += 1 }
            let local = rows[start..<end].map { $0 - rowOffsets[member] }
            parts.append(try await memberRows(member, local))
            start = end
        }
        return try Self.stack(parts, columns: nVars)
    }

    /// One member's rows, with the collection's columns.
    func memberRows(_ member: Int, _ local: [Int]) async throws(AnnDataError) -> Matrix {
        guard let x = members[member].X else { throw .invalidElement(path: "X", reason: "store \(member) has no X") }
        let map = columnMaps[member]
        let present = map.enumerated().compactMap { i, p in p.map { (i, $0) } }
        let selected = try await x.select(rows: local, columns: present.map(\.1))
        if present.count == nVars { return selected }
        // Outer join: widen to every variable.
        let targets = present.map(\.0)
        switch selected {
        case .sparse(let s):
            guard s.format == .csr else { throw .unsupported(path: x.path, reason: "an outer-joined collection needs CSR or dense X") }
            let remapped = IntegerView.ints(s.indices).map { targets[$0] }
            return try annotatingSync(x.path) {
                .sparse(SparseMatrix(unchecked: .csr, shape: [local.count, nVars], data: s.data,
                                     indices: try IntegerView.array(remapped, like: s.indices.dataType), indptr: s.indptr))
            }
        case .dense(let a):
            guard a.dataType.isFloatingPoint, a.dataType == .float32 || a.dataType == .float64 else {
                throw .unsupported(path: x.path, reason: "an outer join fills missing genes with NaN: a dense X of \(a.dataType) cannot hold it")
            }
            let values = try annotatingSync(x.path) { try a.doubles() }
            var out = [Double](repeating: .nan, count: local.count * nVars)
            for r in 0..<local.count {
                for (j, t) in targets.enumerated() { out[r * nVars + t] = values[r * targets.count + j] }
            }
            return try annotatingSync(x.path) {
                a.dataType == .float32 ? .dense(try NDArray(out.map { Float($0) }, shape: [local.count, nVars]))
                    : .dense(try NDArray(out, shape: [local.count, nVars]))
            }
        }
    }

    /// Matrices of `columns` columns stacked vertically (all CSR, or all dense of one type; CSR
    /// parts of different value or index types are widened to float64 / int64).
    static func stack(_ parts: [Matrix], columns: Int) throws(AnnDataError) -> Matrix {
        if parts.count == 1, let only = parts.first { return only }
        let sparse = parts.compactMap { if case .sparse(let s) = $0 { return s } else { return nil } }
        if sparse.count == parts.count {
            let dataTypes = Set(sparse.map(\.data.dataType)), indexTypes = Set(sparse.map(\.indices.dataType))
            return try annotatingSync("X") {
                var data: [UInt8] = [], indices: [UInt8] = []
                var indptr: [Int] = [0]
                let dataType = dataTypes.count == 1 ? sparse[0].data.dataType : .float64
                let indexType = indexTypes.count == 1 ? sparse[0].indices.dataType : .int64
                for s in sparse {
                    data += dataTypes.count == 1 ? s.data.bytes : try NDArray(try s.data.doubles(), shape: s.data.shape).bytes
                    indices += indexTypes.count == 1 ? s.indices.bytes : try IntegerView.array(IntegerView.ints(s.indices), like: .int64).bytes
                    let base = indptr[indptr.count - 1]
                    indptr += IntegerView.ints(s.indptr).dropFirst().map { $0 + base }
                }
                let nnz = indptr[indptr.count - 1]
                return .sparse(SparseMatrix(
                    unchecked: .csr, shape: [indptr.count - 1, columns],
                    data: try NDArray(dataType: dataType, shape: [nnz], storage: .fixed(data)),
                    indices: try NDArray(dataType: indexType, shape: [nnz], storage: .fixed(indices)),
                    indptr: try IntegerView.array(indptr, like: .int64)))
            }
        }
        let dense = parts.compactMap { if case .dense(let a) = $0 { return a } else { return nil } }
        guard dense.count == parts.count, Set(dense.map(\.dataType)).count <= 1 else {
            throw .unsupported(path: "X", reason: "a collection whose stores mix sparse and dense X, or dense X of different types")
        }
        let rows = dense.reduce(0) { $0 + ($1.shape.first ?? 0) }
        return try annotatingSync("X") {
            .dense(try NDArray(dataType: dense[0].dataType, shape: [rows, columns], storage: .fixed(dense.flatMap(\.bytes))))
        }
    }
}
