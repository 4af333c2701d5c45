import Zarr

extension AppendPlan {
    /// One array that grows: its metadata before, and after.
    struct Growth: Sendable {
        let path: String
        let before: ArrayMetadata
        var after: ArrayMetadata
    }

    /// The arrays (and sparse groups' `shape` attributes) the append changes, with their
    /// shapes before and after, and the values of the 1-D columns.
    func growths() async throws(AnnDataError) -> (arrays: [Growth], groups: [(path: String, before: [Int], after: [Int])], values: [String: NDArray]) {
        var arrays: [Growth] = []
        var groups: [(path: String, before: [Int], after: [Int])] = []
        var values: [String: NDArray] = [:]
        let added = source.nObs
        func grow(_ meta: ArrayMetadata, _ path: String, by n: Int) {
            var after = meta
            after.shape[0] += n
            arrays.append(Growth(path: path, before: meta, after: after))
        }
        for m in matrices {
            switch (m.target.layout, m.source.layout) {
            case (.dense(let t), _): grow(t.metadata, m.path, by: added)
            case (.sparse(_, let dt, let it, let pt), .sparse(_, let ds, _, _)):
                let nnz = ds.shape[0]
                let total = dt.shape[0] + nnz
                let maxIndex = m.pairwise ? m.target.shape[1] + m.source.shape[1] - 1 : m.target.shape[1] - 1
                for (type, needed, what) in [(pt.dataType, total, "indptr"), (it.dataType, maxIndex, "indices")] {
                    guard (try? IntegerView.array([needed], like: type)) != nil else {
                        throw .unsupported(path: m.path, reason: "cannot append: \(what) of \(type) cannot hold \(needed)")
                    }
                }
                grow(dt.metadata, m.path + "/data", by: nnz)
                grow(it.metadata, m.path + "/indices", by: nnz)
                grow(pt.metadata, m.path + "/indptr", by: added)
                let before = m.target.shape
                let after = m.pairwise ? [before[0] + added, before[1] + m.source.shape[1]] : [before[0] + added, before[1]]
                groups.append((m.path, before, after))
            default: throw .unsupported(path: m.path, reason: "cannot append: unexpected layouts")
            }
        }
        func meta(_ path: String) async throws(AnnDataError) -> ArrayMetadata {
            guard case .array(let a) = try await target.reader.node(path) else { throw .invalidElement(path: path, reason: "expected an array") }
            return a
        }
        for c in columns {
            var parts: [(String, NDArray)] = []
            switch c.values {
            case .array(let a): parts = [(c.path, a)]
            case .strings(let s): parts = [(c.path, try annotatingSync(c.path) { try NDArray(strings: s, shape: [s.count]) })]
            case .categorical(let k): parts = [(c.path + "/codes", k.codes)]
            case .nullableInteger(let n), .nullableBoolean(let n):
                parts = [(c.path + "/values", n.values), (c.path + "/mask", try annotatingSync(c.path) { try NDArray(n.mask, shape: [n.mask.count]) })]
            case .nullableStrings(let n):
                parts = [(c.path + "/values", try annotatingSync(c.path) { try NDArray(strings: n.values, shape: [n.values.count]) }),
                         (c.path + "/mask", try annotatingSync(c.path) { try NDArray(n.mask, shape: [n.mask.count]) })]
            }
            for (path, v) in parts {
                let m = try await meta(path)
                guard m.shape.count == 1, v.dataType == m.dataType || (m.dataType.isVariableLength && v.dataType.isVariableLength) else {
                    throw .unsupported(path: path, reason: "cannot append: values of \(v.dataType) into an array of \(m.dataType) \(m.shape)")
                }
                grow(m, path, by: v.count)
                values[path] = v
            }
        }
        return (arrays, groups, values)
    }

    /// Writes the append: the marker, every array's new rows, the new metadata, the sparse
    /// groups' shapes, the marker's removal and the consolidated metadata.
    func write(to store: any WritableStore & ListableStore, concurrency: ConcurrencyOptions) async throws(AnnDataError) {
        let (arrays, groups, values) = try await growths()
        let hadConsolidated = try await annotating("") { try await ConsolidatedMetadata.read(store, path: "") != nil }
        var recordArrays = JSONObject(), recordGroups = JSONObject()
        for a in arrays { recordArrays[a.path] = .integers(a.before.shape) }
        for g in groups { recordGroups[g.path] = .integers(g.before) }
        let marker: JSONValue = .object(["n_obs": .int(Int64(oldRows)), "adding": .int(Int64(source.nObs)),
                                         "arrays": .object(recordArrays), "groups": .object(recordGroups)])
        try await annotating("") {
            _ = try await ZarrGroup.updateAttributes(store, path: "") { $0[LazyAnnData.appendMarkerKey] = marker }
        }
        let grown = Dictionary(uniqueKeysWithValues: arrays.map { ($0.path, $0) })
        func array(_ path: String) throws(AnnDataError) -> ZarrArray {
            guard let g = grown[path] else { throw .invalidElement(path: path, reason: "not planned") }
            return try annotatingSync(path) { try ZarrArray(store: store, path: path, metadata: g.after) }
        }
        // 1. Data beyond the old shapes (invisible until the metadata says otherwise).
        for (path, v) in values.sorted(by: { $0.key < $1.key }) {
            let a = try array(path), start = grown[path]?.before.shape[0] ?? 0
            try await annotating(path) { try await a.write(v, at: [start], options: concurrency) }
        }
        for m in matrices {
            switch m.source.layout {
            case .dense: try await appendDense(m, into: try array(m.path), concurrency: concurrency)
            case .sparse(_, let data, _, _):
                try await appendCSR(m, data: try array(m.path + "/data"), indices: try array(m.path + "/indices"),
                                    indptr: try array(m.path + "/indptr"), sourceNnz: data.shape[0], concurrency: concurrency)
            }
        }
        // 2. The new shapes, 3. consolidated metadata, 4. the marker's removal (v2 keeps the
        // root attributes in its consolidated copy too: consolidated once more).
        try await annotating("") {
            for a in arrays { try await NodeMetadata.write(.array(a.after), to: store, path: a.path) }
            for g in groups {
                let shape = g.after
                _ = try await ZarrGroup.updateAttributes(store, path: g.path) { $0["shape"] = .integers(shape) }
            }
            if hadConsolidated { try await ConsolidatedMetadata.consolidate(store) }
            _ = try await ZarrGroup.updateAttributes(store, path: "") { $0[LazyAnnData.appendMarkerKey] = nil }
            if hadConsolidated, try await NodeMetadata.read(store, path: "").zarrFormat == .v2 {
                try await ConsolidatedMetadata.consolidate(store)
            }
        }
    }

    func appendDense(_ m: MatrixPart, into out: ZarrArray, concurrency: ConcurrencyOptions) async throws(AnnDataError) {
        let source = m.source, rows = source.rowCount
        let rowBytes = max(1, Array(out.shape.dropFirst()).reduce(out.dataType.itemSize ?? 8, *))
        try await annotating(m.path) {
            var slabs = try SlabWriter(out, options: concurrency, startingAt: oldRows)
            let perBlock = max(slabs.slabRows, (LazyAnnDataView.blockBytes / rowBytes) / slabs.slabRows * slabs.slabRows)
            let blocks = stride(from: 0, to: rows, by: perBlock).map { $0..<min($0 + perBlock, rows) }
            try await LazyAnnDataView.pipelined(blocks.count, read: { i in
                try await source.rows(blocks[i]).denseValues(path: m.path)
            }, consume: { (block: NDArray) in try await slabs.append(block) })
            try await slabs.finish()
        }
    }

    func appendCSR(
        _ m: MatrixPart, data: ZarrArray, indices: ZarrArray, indptr: ZarrArray, sourceNnz: Int, concurrency: ConcurrencyOptions
    ) async throws(AnnDataError) {
        let source = m.source, rows = source.rowCount
        let oldNnz = data.shape[0] - sourceNnz
        let shift = m.pairwise ? m.target.shape[1] : 0
        let entryBytes = (data.dataType.itemSize ?? 8) + (indices.dataType.itemSize ?? 8)
        let perRow = max(1.0, Double(sourceNnz) / Double(max(1, rows)))
        let perBlock = max(1, Int(Double(LazyAnnDataView.blockBytes) / Double(entryBytes) / perRow))
        let blocks = stride(from: 0, to: rows, by: perBlock).map { $0..<min($0 + perBlock, rows) }
        let indexType = indices.dataType, ptrType = indptr.dataType
        try await annotating(m.path) {
            var dataOut = try SlabWriter(data, options: concurrency, startingAt: oldNnz)
            var indicesOut = try SlabWriter(indices, options: concurrency, startingAt: oldNnz)
            var indptrOut = try SlabWriter(indptr, options: concurrency, startingAt: oldRows + 1)
            var offset = oldNnz
            try await LazyAnnDataView.pipelined(blocks.count, read: { i in
                guard case .sparse(let s) = try await source.rows(blocks[i]) else { throw ZarrError.valueMismatch("'\(m.path)': expected CSR rows") }
                return s
            }, consume: { (part: SparseMatrix) in
                try await dataOut.append(part.data)
                let cols = shift == 0 && part.indices.dataType == indexType ? part.indices
                    : try IntegerView.array(IntegerView.ints(part.indices).map { $0 + shift }, like: indexType)
                try await indicesOut.append(cols)
                let ptr = IntegerView.ints(part.indptr).dropFirst().map { $0 + offset }
                try await indptrOut.append(try IntegerView.array(ptr, like: ptrType))
                offset += part.nnz
            })
            try await dataOut.finish(); try await indicesOut.finish(); try await indptrOut.finish()
            guard offset == data.shape[0], indptrOut.written == indptr.shape[0] else {
                throw ZarrError.valueMismatch("'\(m.path)': the source's rows held \(offset - oldNnz) entries, its metadata \(sourceNnz)")
            }
        }
    }

    /// Restores the shapes an interrupted append recorded in the root attributes (see
    /// `LazyAnnData.append`), then removes the record and re-consolidates: the store is then as
    /// it was before that append. Nothing happens without a record.
    static func rollBackInterrupted(_ store: any WritableStore & ListableStore) async throws(AnnDataError) {
        let root = try await annotating("") { try await NodeMetadata.read(store, path: "") }
        guard let record = root.attributes[LazyAnnData.appendMarkerKey]?.object else {
            // A Zarr v2 append interrupted after removing its record but before consolidating
            // again: complete (the data and metadata are whole; only the consolidated copy lags).
            try await annotating("") {
                if let c = try await ConsolidatedMetadata.read(store, path: ""),
                   c.nodes.contains(where: { $0.path == "" && $0.node.attributes[LazyAnnData.appendMarkerKey] != nil }) {
                    try await ConsolidatedMetadata.consolidate(store)
                }
            }
            return
        }
        func shape(_ v: JSONValue?) -> [Int]? {
            guard let list = v?.array else { return nil }
            let ints = list.compactMap(\.int)
            return ints.count == list.count ? ints : nil
        }
        try await annotating("") {
            for (path, old) in record["arrays"]?.object ?? [:] {
                guard let old = shape(old), case .array(var meta) = try await NodeMetadata.read(store, path: path) else { continue }
                guard meta.shape.count == old.count else { continue }
                meta.shape = old
                try await NodeMetadata.write(.array(meta), to: store, path: path)
            }
            for (path, old) in record["groups"]?.object ?? [:] {
                guard let old = shape(old) else { continue }
                _ = try await ZarrGroup.updateAttributes(store, path: path) { $0["shape"] = .integers(old) }
            }
            _ = try await ZarrGroup.updateAttributes(store, path: "") { $0[LazyAnnData.appendMarkerKey] = nil }
            if try await ConsolidatedMetadata.read(store, path: "") != nil { try await ConsolidatedMetadata.consolidate(store) }
        }
    }
}
