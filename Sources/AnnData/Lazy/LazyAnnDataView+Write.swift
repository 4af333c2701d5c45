import Zarr

extension LazyAnnDataView {
    /// Writes the selection to `store` as a new AnnData (what `load()` gives, written with
    /// `AnnData.write`'s rules: the destination is replaced only as `options.existingStore`
    /// allows, a local store is written beside the destination and swapped in when complete,
    /// other stores get their root metadata last; consolidated metadata last).
    ///
    /// Memory: the matrices (`X`, layers, `obsm`/`varm` matrices, `obsp`, `varp`, `raw.X`) are
    /// streamed block by block, one block read ahead, and written in whole rows of chunks
    /// (shards), so their peak is set by the chunk/shard shape and the block size, not by the
    /// number of selected rows. Data frames (`obs`, `var`, frames in `obsm`) are written a
    /// column at a time (the peak is one selected column); `uns` and `raw.var` are loaded.
    /// `options.dispatch` is consulted for the loaded elements only; `progress` is called with
    /// each element path as its writing starts.
    public func write(
        to store: any WritableStore, options: WriteOptions = WriteOptions(), registry: EncodingRegistry = .standard,
        progress: (@Sendable (String) -> Void)? = nil
    ) async throws(AnnDataError) {
        try await Self.writeNewStore(store, existing: options.existingStore) { fresh in
            try await self.writeFresh(to: fresh, options: options, registry: registry, progress: progress)
        }
    }

    /// Writes a new AnnData into `store` through `body`, with `AnnData.write`'s destination
    /// rules: a `LocalStore` is written beside the destination and swapped in when complete;
    /// another store is checked against `existing`, cleared, and gets its root metadata last.
    static func writeNewStore(
        _ store: any WritableStore, existing: ExistingStorePolicy, _ body: (any WritableStore) async throws -> Void
    ) async throws(AnnDataError) {
        if let local = store as? LocalStore {
            try await annotating("") {
                try await LocalStoreReplacement.write(root: local.root, existing: existing, metrics: local.metrics, ioPool: local.ioPool) { fresh in
                    try await body(fresh)
                }
            }
            return
        }
        try await annotating("") {
            try existing.check(try await StoreContents.inspect(store), destination: store.storeDescription)
            try await withRootWrittenLast(store) { wrapped in
                try await NodeMetadata.removeNode(wrapped, path: "")
                try await body(wrapped)
            }
        }
    }

    func writeFresh(
        to store: any WritableStore, options: WriteOptions, registry: EncodingRegistry, progress: (@Sendable (String) -> Void)?
    ) async throws(AnnDataError) {
        let w = ElementWriter(store: store, options: options, registry: registry)
        let o = obsPositions, v = varPositions
        func note(_ p: String) { progress?(p) }
        try await w.createGroup("", attributes: w.encodingAttributes("anndata"))
        if let x = base.X { note("X"); try await stream(x, rows: o, columns: v, to: w, at: "X", role: .x) }
        // obs and var, with unused categories removed; the colours follow.
        var uns = OrderedDict<Element>()
        if let g = base.uns, case .dict(let d) = try await g.reader.read(g.path) { uns = d }
        let trimAll = removesUnusedCategories
        note("obs"); try await writeFrame(base.obs, rows: o, to: w, at: "obs", trimming: &uns, removeUnused: trimAll)
        note("var"); try await writeFrame(base.var, rows: v, to: w, at: "var", trimming: &uns, removeUnused: trimAll)
        // obsm/varm frames lose unused categories as anndata's views drop them; raw.varm is kept.
        func annotations(_ group: String, _ elements: OrderedDict<LazyElement>, rows: [Int]?, trim: Bool = true) async throws(AnnDataError) {
            try await w.createGroup(group, attributes: w.encodingAttributes("dict"))
            for (name, e) in elements {
                let p = group + "/" + name
                note(p)
                switch e {
                case .matrix(let m): try await stream(m, rows: rows, columns: nil, to: w, at: p, role: .data)
                case .dataFrame(let d):
                    var none = OrderedDict<Element>()
                    try await writeFrame(d, rows: rows, to: w, at: p, trimming: &none, removeUnused: trim && trimAll)
                case .group, .leaf: try await w.write(try await e.load(rows: rows), at: p)
                }
            }
        }
        func matrices(_ group: String, _ ms: OrderedDict<LazyMatrix>, rows: [Int]?, columns: [Int]?) async throws(AnnDataError) {
            try await w.createGroup(group, attributes: w.encodingAttributes("dict"))
            for (name, m) in ms { note(group + "/" + name); try await stream(m, rows: rows, columns: columns, to: w, at: group + "/" + name, role: .data) }
        }
        try await annotations("obsm", base.obsm, rows: o)
        try await annotations("varm", base.varm, rows: v)
        try await matrices("obsp", base.obsp, rows: o, columns: o)
        try await matrices("varp", base.varp, rows: v, columns: v)
        try await matrices("layers", base.layers, rows: o, columns: v)
        note("uns"); try await w.write(.dict(uns), at: "uns")
        if let r = base.raw {
            note("raw")
            try await w.createGroup("raw", attributes: w.encodingAttributes("raw"))
            if let x = r.X { try await stream(x, rows: o, columns: nil, to: w, at: "raw/X", role: .data) }
            try await w.write(.dataFrame(try await r.var.load()), at: "raw/var")
            try await annotations("raw/varm", r.varm, rows: nil, trim: false)
        } else {
            try await w.write(.null, at: "raw")
        }
        if options.consolidate {
            try await StoreMaintenance.consolidate(store, recorded: w.recorder.all, format: options.zarrFormat)
        }
    }

    /// Writes `frame` at `rows`, a column at a time; with `removeUnused`, categorical columns
    /// lose unused categories and `uns` colours are trimmed to match.
    func writeFrame(
        _ frame: LazyDataFrame, rows: [Int]?, to w: ElementWriter, at path: String, trimming uns: inout OrderedDict<Element>,
        removeUnused: Bool = true
    ) async throws(AnnDataError) {
        if frame.legacy {
            var df = try await frame.load(rows: rows)
            if removeUnused { try AnnData.removeUnusedCategories(&df, uns: &uns, path: path) }
            try await w.write(.dataFrame(df), at: path)
            return
        }
        var attrs = w.encodingAttributes("dataframe")
        attrs["_index"] = .string(frame.indexKey)
        attrs["column-order"] = .array(frame.columnNames.map { .string($0) })
        try await w.createGroup(path, attributes: attrs)
        try await w.write(try await frame.index(rows: rows).element, at: StoreKey.join(path, frame.indexKey))
        for name in frame.columnNames {
            var column = try await frame.column(name, rows: rows)
            if removeUnused, case .categorical(let c) = column {
                let (trimmed, kept) = try c.removingUnusedCategories(path: StoreKey.join(path, name))
                column = .categorical(trimmed)
                AnnData.trimColors(&uns, column: name, kept: kept, categoryCount: c.categories.count)
            }
            try await w.write(column.element, at: StoreKey.join(path, name))
        }
    }

    /// Target size of one block read while streaming (decoded bytes).
    static var blockBytes: Int { 16 << 20 }

    /// Streams `m` at `rows` x `columns` into `path`.
    func stream(_ m: LazyMatrix, rows: [Int]?, columns: [Int]?, to w: ElementWriter, at path: String, role: ArrayRole) async throws(AnnDataError) {
        switch m.layout {
        case .dense(let a): try await streamDense(m, a, rows: rows, columns: columns, to: w, at: path, role: role)
        case .sparse(let format, let data, let indices, let indptr):
            try await streamSparse(m, format, data: data, indices: indices, indptr: indptr, rows: rows, columns: columns, to: w, at: path)
        }
    }

    func streamDense(
        _ m: LazyMatrix, _ a: ZarrArray, rows: [Int]?, columns: [Int]?, to w: ElementWriter, at path: String, role: ArrayRole
    ) async throws(AnnDataError) {
        var shape = m.shape
        let outRows = rows ?? Array(0..<shape[0])
        shape[0] = outRows.count
        if let columns { shape[1] = columns.count }
        let meta = try Self.streamingWriter(w, shape: shape, itemSize: a.dataType.itemSize ?? 8)
            .arrayMetadata(path, dataType: a.dataType, shape: shape, attributes: w.encodingAttributes("array"), role: role)
        let conc = w.options.concurrency
        try await annotating(path) {
            let out = try await ZarrArray.create(w.store, path: path, metadata: meta)
            var slabs = try SlabWriter(out, options: conc)
            let rowBytes = max(1, shape.dropFirst().reduce(a.dataType.itemSize ?? 8, *))
            let perBlock = max(slabs.slabRows, (Self.blockBytes / rowBytes) / slabs.slabRows * slabs.slabRows)
            let blocks = stride(from: 0, to: outRows.count, by: perBlock).map { $0..<min($0 + perBlock, outRows.count) }
            try await Self.pipelined(blocks.count, read: { i in
                try await m.select(rows: Array(outRows[blocks[i]]), columns: columns).denseValues(path: path)
            }, consume: { (block: NDArray) in try await slabs.append(block) })
            try await slabs.finish()
        }
        w.recorder.record(path, .array(meta))
    }

    func streamSparse(
        _ m: LazyMatrix, _ format: SparseMatrix.Format, data: ZarrArray, indices: ZarrArray, indptr: ZarrArray, rows: [Int]?,
        columns: [Int]?, to w: ElementWriter, at path: String
    ) async throws(AnnDataError) {
        let (majorSel, minorSel) = format == .csr ? (rows, columns) : (columns, rows)
        let majorExtent = format == .csr ? m.shape[0] : m.shape[1], minorExtent = format == .csr ? m.shape[1] : m.shape[0]
        let majors = majorSel ?? Array(0..<majorExtent)
        var map: MinorAxisMap?
        if let minorSel { map = try MinorAxisMap(minorSel, extent: minorExtent, path: path) }
        let minorCount = map?.outputCount ?? minorExtent
        // Pass 1 over indptr: blocks of majors holding about `blockBytes` of entries, and the
        // number of entries (exact without a minor selection, an upper bound with one).
        let entryBytes = (data.dataType.itemSize ?? 8) + (indices.dataType.itemSize ?? 8)
        let perBlockEntries = max(1, Self.blockBytes / entryBytes)
        var blocks: [Range<Int>] = []
        var upper = 0
        var start = 0, inBlock = 0
        for group in stride(from: 0, to: majors.count, by: 1 << 16) {
            let end = min(group + (1 << 16), majors.count)
            let spans = try await m.majorSpans(Array(majors[group..<end]), indptr: indptr, nnz: data.shape[0])
            for (k, s) in spans.enumerated() {
                if inBlock > 0 && inBlock + s.count > perBlockEntries {
                    blocks.append(start..<(group + k)); start = group + k; inBlock = 0
                }
                inBlock += s.count
                upper += s.count
            }
        }
        if start < majors.count { blocks.append(start..<majors.count) }
        let outShape = format == .csr ? [majors.count, minorCount] : [minorCount, majors.count]
        var attrs = w.encodingAttributes(format.encodingType)
        attrs["shape"] = .integers(outShape)
        try await w.createGroup(path, attributes: attrs)
        let indptrType: DataType = upper > Int(Int32.max) ? .int64 : indptr.dataType
        let dataMeta = try Self.streamingWriter(w, shape: [upper], itemSize: data.dataType.itemSize ?? 8)
            .arrayMetadata(path + "/data", dataType: data.dataType, shape: [upper], attributes: [:], role: .data)
        let indicesMeta = try Self.streamingWriter(w, shape: [upper], itemSize: indices.dataType.itemSize ?? 8)
            .arrayMetadata(path + "/indices", dataType: indices.dataType, shape: [upper], attributes: [:], role: .data)
        let indptrMeta = try Self.streamingWriter(w, shape: [majors.count + 1], itemSize: indptrType.itemSize ?? 8)
            .arrayMetadata(path + "/indptr", dataType: indptrType, shape: [majors.count + 1], attributes: [:], role: .data)
        let conc = w.options.concurrency
        let total: Int = try await annotating(path) {
            var dataOut = try SlabWriter(try await ZarrArray.create(w.store, path: path + "/data", metadata: dataMeta), options: conc)
            var indicesOut = try SlabWriter(try await ZarrArray.create(w.store, path: path + "/indices", metadata: indicesMeta), options: conc)
            var indptrOut = try SlabWriter(try await ZarrArray.create(w.store, path: path + "/indptr", metadata: indptrMeta), options: conc)
            try await indptrOut.append(try IntegerView.array([0], like: indptrType))
            var offset = 0
            let blockList = blocks, minorMap = map
            try await Self.pipelined(blockList.count, read: { i in
                let part = Array(majors[blockList[i]])
                let spans = try await m.majorSpans(part, indptr: indptr, nnz: data.shape[0])
                return try await m.sparsePart(format, spans: spans, majorCount: part.count, minorExtent: minorExtent, minor: minorMap,
                                              data: data, indices: indices, indptrType: .int64)
            }, consume: { (part: SparseMatrix) in
                try await dataOut.append(part.data)
                try await indicesOut.append(part.indices)
                let ptr = IntegerView.ints(part.indptr).dropFirst().map { $0 + offset }
                try await indptrOut.append(try IntegerView.array(ptr, like: indptrType))
                offset += part.nnz
            })
            try await dataOut.finish(); try await indicesOut.finish(); try await indptrOut.finish()
            return offset
        }
        // With a minor selection fewer entries may remain: the arrays end where the entries do.
        try await Self.finishSparse(w, at: path, data: dataMeta, indices: indicesMeta, indptr: indptrMeta, entries: total)
    }

    /// Records the three arrays of a sparse matrix streamed with `data`/`indices` sized for an
    /// upper bound of entries, shrinking them to the `entries` written (every chunk written
    /// lies inside the new shape; none exists beyond it).
    static func finishSparse(
        _ w: ElementWriter, at path: String, data: ArrayMetadata, indices: ArrayMetadata, indptr: ArrayMetadata, entries: Int
    ) async throws(AnnDataError) {
        var finalData = data, finalIndices = indices
        finalData.shape = [entries]; finalIndices.shape = [entries]
        if data.shape != [entries] {
            let d = finalData, i = finalIndices
            try await annotating(path) {
                try await NodeMetadata.write(.array(d), to: w.store, path: path + "/data")
                try await NodeMetadata.write(.array(i), to: w.store, path: path + "/indices")
            }
        }
        w.recorder.record(path + "/data", .array(finalData))
        w.recorder.record(path + "/indices", .array(finalIndices))
        w.recorder.record(path + "/indptr", .array(indptr))
    }

    /// `w` with the shard shape a streamed array of `shape` gets under `.auto` sharding: inner
    /// chunks as `.auto` guesses them, shards of at most `options.streamingShardBytes` (or the
    /// `.auto` target, when smaller) that span every axis but the first, so that one row of
    /// shards is one shard. Other sharding settings are kept.
    static func streamingWriter(_ w: ElementWriter, shape: [Int], itemSize: Int) -> ElementWriter {
        guard w.format == .v3, case .auto(let target) = w.options.sharding, let first = shape.first else { return w }
        let budget = max(1, min(target, w.options.streamingShardBytes))
        let (inner, _) = ChunkGuess.autoShard(shape: shape, itemSize: itemSize, targetBytes: budget)
        guard inner.count == shape.count, inner.allSatisfy({ $0 > 0 }) else { return w }
        // Trailing axes whole (rounded up to whole inner chunks), rows as many as fit.
        let trailing = zip(shape.dropFirst(), inner.dropFirst()).map { n, c in max(1, (n + c - 1) / c) * c }
        let rowBytes = max(1, trailing.reduce(itemSize, *))
        let innerRows = inner[0]
        let rows = max(innerRows, min((first + innerRows - 1) / innerRows * innerRows, budget / rowBytes / innerRows * innerRows))
        var out = w
        out.overrides = w.overrides.merged(with: ArrayOverrides(chunks: inner, shards: [rows] + trailing))
        return out
    }

    /// Reads items `0..<count` with `read`, one read ahead of `consume`, which takes them in
    /// order. A failure cancels the read in flight.
    static func pipelined<T: Sendable>(
        _ count: Int, read: @escaping @Sendable (Int) async throws -> T, consume: (T) async throws -> Void
    ) async throws {
        guard count > 0 else { return }
        var next: Task<T, any Error>? = Task { try await read(0) }
        defer { next?.cancel() }
        for i in 0..<count {
            guard let current = next else { break }
            let value = try await withTaskCancellationHandler { try await current.value } onCancel: { current.cancel() }
            next = i + 1 < count ? Task { try await read(i + 1) } : nil
            try await consume(value)
        }
    }
}

extension LazyAnnData {
    /// Copies the whole AnnData to `store`, streamed as `LazyAnnDataView.write(to:)` streams a
    /// selection (matrices block by block, frames a column at a time), keeping every element as
    /// it is (no category is removed). The destination rules are `AnnData.write`'s.
    public func write(
        to store: any WritableStore, options: WriteOptions = WriteOptions(), registry: EncodingRegistry = .standard,
        progress: (@Sendable (String) -> Void)? = nil
    ) async throws(AnnDataError) {
        var all = view
        all.removesUnusedCategories = false
        try await all.write(to: store, options: options, registry: registry, progress: progress)
    }

    /// Copies the whole AnnData to an `.h5ad` file at `path`, streamed, keeping every element
    /// as it is (see `LazyAnnDataView.write(h5ad:)`).
    public func write(
        h5ad path: String, options: WriteOptions = WriteOptions(), registry: EncodingRegistry = .standard,
        progress: (@Sendable (String) -> Void)? = nil
    ) async throws(AnnDataError) {
        var all = view
        all.removesUnusedCategories = false
        try await all.write(h5ad: path, options: options, registry: registry, progress: progress)
    }
}
