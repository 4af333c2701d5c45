import Zarr

extension LazyAnnData {
    /// Writes `members` concatenated along obs to `store`: what anndata's
    /// `concat(members, axis="obs", join=, merge="same", label=, keys=, index_unique=)` builds,
    /// written with `AnnData.write`'s destination rules (a local store is written beside the
    /// destination and swapped in when complete; consolidated metadata last).
    ///
    /// - `X` and the layers: rows stacked, genes aligned by `options.join` (a store's missing
    ///   genes are zeros in a sparse result and NaN in a dense one); CSR when any part is sparse.
    /// - `obs`: columns stacked (`Column.stacking`), plus the `label` column; obs names with
    ///   `indexUnique` and the key appended when asked. `obsm`: matrices stacked (inner: the
    ///   fewest columns; outer: the most, NaN-padded) and data frames stacked like `obs`.
    /// - `var`, `varm`, `varp`: merged "same" (kept when every store has them equal after the
    ///   alignment); `obsp` and `uns` are empty (anndata's `pairwise=False`, `uns_merge=None`);
    ///   `raw` is concatenated when every store has one (its var with the index only).
    ///
    /// Everything that would be refused (kinds that do not combine, a store without X among
    /// stores with one, keys that do not match) is refused before anything is written.
    ///
    /// Memory: matrices stream block by block (one block read ahead) into whole rows of chunks
    /// (shards), so their peak is set by the chunk/shard shape and the block size, not by the
    /// number of cells; obs columns are stacked one at a time (one output column in memory);
    /// `var`, `varm` and `varp` of each store are loaded to be compared.
    public static func concat(
        _ members: [LazyAnnData], to store: any WritableStore, options: ConcatOptions = ConcatOptions(),
        writeOptions: WriteOptions = WriteOptions(), registry: EncodingRegistry = .standard,
        progress: (@Sendable (String) -> Void)? = nil
    ) async throws(AnnDataError) {
        let plan = try await ConcatPlan(members, options: options)
        try await LazyAnnDataView.writeNewStore(store, existing: writeOptions.existingStore) { fresh in
            try await plan.write(to: fresh, options: writeOptions, registry: registry, progress: progress)
        }
    }

    /// Writes `members` concatenated along obs (see `concat(_:to:options:writeOptions:registry:progress:)`)
    /// as an `.h5ad` file at `path`, into a temporary file renamed into place when complete.
    public static func concat(
        _ members: [LazyAnnData], h5ad path: String, options: ConcatOptions = ConcatOptions(),
        writeOptions: WriteOptions = WriteOptions(), registry: EncodingRegistry = .standard,
        progress: (@Sendable (String) -> Void)? = nil
    ) async throws(AnnDataError) {
        let plan = try await ConcatPlan(members, options: options)
        let o = try writeOptions.forH5AD()
        try await H5AD.replace(path, existing: writeOptions.existingStore) { store in
            try await plan.write(to: store, options: o, registry: registry, progress: progress)
        }
    }
}

/// A matrix of several stores stacked by rows: for each store its matrix (`nil`: the store
/// lacks it, its rows are missing values) and which output column each of its columns fills
/// (`nil`: all, in place).
struct StackedMatrix: Sendable {
    var parts: [LazyMatrix?]
    var columns: [[(out: Int, source: Int)]?]
    var outColumns: Int
    /// The shape after the first axis (`[]` for 1-D, `[outColumns, ...]` otherwise).
    var trailing: [Int]

    var isSparse: Bool {
        parts.contains { p in if case .sparse? = p?.layout { return true } else { return false } }
    }
}

/// Everything `concat` decides before writing.
struct ConcatPlan: Sendable {
    let members: [LazyAnnData]
    let options: ConcatOptions
    let keys: [String]
    let counts: [Int]
    let varNames: [String]
    /// For each member, its var position of each output variable (`nil`: absent).
    let varMaps: [[Int?]]
    let obsIndexKey: String
    let varIndexName: String?
    let obsColumns: [String]
    let layers: [String]
    let obsm: [String]
    /// raw var names and maps, when every member has a raw X.
    let rawVarNames: [String]?
    let rawVarMaps: [[Int?]]

    var nObs: Int { counts.reduce(0, +) }

    init(_ members: [LazyAnnData], options: ConcatOptions) async throws(AnnDataError) {
        guard !members.isEmpty else { throw .invalidElement(path: "", reason: "concat needs at least one store") }
        let keys = options.keys ?? members.indices.map(String.init)
        guard keys.count == members.count else {
            throw .invalidElement(path: "", reason: "\(keys.count) keys for \(members.count) stores")
        }
        if options.label != nil || options.indexUnique != nil, Set(keys).count != keys.count {
            throw .invalidElement(path: "", reason: "the keys must be distinct: \(keys)")
        }
        self.members = members
        self.options = options
        self.keys = keys
        self.counts = members.map(\.nObs)
        func names(_ frame: LazyDataFrame, _ what: String, _ i: Int) async throws(AnnDataError) -> [String] {
            guard let values = try await frame.index().stringValues else { throw .invalidElement(path: frame.path, reason: "store \(i): \(what) are not strings") }
            var out: [String] = []
            for v in values {
                guard let v else { throw .invalidElement(path: frame.path, reason: "store \(i): \(what) have a missing value") }
                out.append(v)
            }
            guard Set(out).count == out.count else {
                throw .invalidElement(path: frame.path, reason: "store \(i): \(what) are not unique; they cannot be aligned by name")
            }
            return out
        }
        var lists: [[String]] = []
        for (i, m) in members.enumerated() { lists.append(try await names(m.var, "var_names", i)) }
        let aligned = options.join.aligned(lists)
        func maps(_ lists: [[String]], _ out: [String]) -> [[Int?]] {
            lists.map { list in
                let at = Dictionary(uniqueKeysWithValues: list.enumerated().map { ($1, $0) })
                return out.map { at[$0] }
            }
        }
        self.varNames = aligned
        self.varMaps = maps(lists, aligned)
        let obsKeys = Set(members.map(\.obs.indexKey)), varKeys = Set(members.map(\.var.indexKey))
        self.obsIndexKey = obsKeys.count == 1 ? members[0].obs.indexKey : "_index"
        self.varIndexName = varKeys.count == 1 ? members[0].var.indexName : nil
        if members.contains(where: { $0.obs.legacy }) {
            throw .unsupported(path: "obs", reason: "concat reads obs a column at a time: convert stores of anndata < 0.7 first")
        }
        // X: all or none.
        let withX = members.filter { $0.X != nil }.count
        guard withX == 0 || withX == members.count else {
            throw .unsupported(path: "X", reason: "some stores have an X and others not (anndata refuses this too)")
        }
        self.obsColumns = Self.joined(members.map(\.obs.columnNames), options.join)
        self.layers = Self.joined(members.map { Array($0.layers.keys) }, options.join)
        self.obsm = Self.joined(members.map { Array($0.obsm.keys) }, options.join)
        for name in obsm {
            let els = members.map { $0.obsm[name] }
            let frames = els.filter { if case .dataFrame? = $0 { return true } else { return false } }.count
            let matrices = els.filter { if case .matrix? = $0 { return true } else { return false } }.count
            let present = els.compactMap { $0 }.count
            guard frames == present || matrices == present else {
                throw .unsupported(path: "obsm/" + name, reason: "only arrays, sparse matrices and data frames can be concatenated, and not mixed")
            }
            if matrices == present {
                let ranks = Set(els.compactMap { e -> [Int]? in if case .matrix(let m)? = e { return Array(m.shape.dropFirst(2)) } else { return nil } })
                let rank1 = els.contains { if case .matrix(let m)? = $0 { return m.shape.count == 1 } else { return false } }
                if ranks.count > 1 || (rank1 && present < members.count) || (ranks.first?.isEmpty == false && present < members.count) {
                    throw .unsupported(path: "obsm/" + name, reason: "arrays whose trailing shapes differ, or 1-D / 3-D arrays missing in some stores, cannot be concatenated")
                }
            }
        }
        let raws = members.compactMap { $0.raw?.X }
        if raws.count == members.count {
            var rawLists: [[String]] = []
            for (i, m) in members.enumerated() { if let r = m.raw { rawLists.append(try await names(r.var, "raw var_names", i)) } }
            let rawNames = options.join.aligned(rawLists)
            self.rawVarNames = rawNames
            self.rawVarMaps = maps(rawLists, rawNames)
        } else {
            self.rawVarNames = nil
            self.rawVarMaps = []
        }
    }

    /// Keys joined as anndata joins mapping keys: `inner` those in every list (the first's
    /// order), `outer` every key in order of first appearance.
    static func joined(_ lists: [[String]], _ join: AnnDataCollection.Join) -> [String] {
        guard let first = lists.first else { return [] }
        switch join {
        case .inner:
            let sets = lists.dropFirst().map(Set.init)
            return first.filter { k in sets.allSatisfy { $0.contains(k) } }
        case .outer:
            var seen = Set<String>()
            return lists.flatMap { $0 }.filter { seen.insert($0).inserted }
        }
    }

    /// The column lists of a matrix aligned on `maps` (output var positions) for members of
    /// `widths` columns: `nil` where a member's columns are the output's, in place.
    static func aligned(_ maps: [[Int?]], widths: [Int]) -> [[(out: Int, source: Int)]?] {
        zip(maps, widths).map { map, width in
            let pairs = map.enumerated().compactMap { j, p in p.map { (out: j, source: $0) } }
            return width == map.count && pairs.count == map.count && pairs.allSatisfy({ $0.out == $0.source }) ? nil : pairs
        }
    }

    func write(
        to store: any WritableStore, options writeOptions: WriteOptions, registry: EncodingRegistry, progress: (@Sendable (String) -> Void)?
    ) async throws(AnnDataError) {
        let w = ElementWriter(store: store, options: writeOptions, registry: registry)
        func note(_ p: String) { progress?(p) }
        try await w.createGroup("", attributes: w.encodingAttributes("anndata"))
        let xColumns = Self.aligned(varMaps, widths: members.map(\.nVars))
        let obsNames = try await loadObsNames()
        if members.allSatisfy({ $0.X != nil }) {
            note("X")
            let spec = StackedMatrix(parts: members.map(\.X), columns: xColumns, outColumns: varNames.count, trailing: [varNames.count])
            try await writeStacked(spec, to: w, at: "X", role: .x)
        }
        note("obs"); try await writeObs(to: w, obsNames: obsNames)
        note("var"); try await writeVar(to: w)
        try await w.createGroup("obsm", attributes: w.encodingAttributes("dict"))
        for name in obsm {
            let path = "obsm/" + name
            note(path)
            let els = members.map { $0.obsm[name] }
            if els.contains(where: { if case .dataFrame? = $0 { return true } else { return false } }) {
                let frames = els.map { e -> LazyDataFrame? in if case .dataFrame(let d)? = e { return d } else { return nil } }
                let present = frames.compactMap { $0 }
                let columns = Self.joined(present.map(\.columnNames), options.join)
                try await writeFrame(frames, columns: columns, indexKey: Self.common(present.map(\.indexKey)) ?? "_index",
                                     names: obsNames, label: nil, to: w, at: path)
                continue
            }
            let ms = els.map { e -> LazyMatrix? in if case .matrix(let m)? = e { return m } else { return nil } }
            let widths = ms.compactMap { $0?.shape.count ?? 0 >= 2 ? $0?.shape[1] : nil }
            let out = widths.isEmpty ? 0 : (options.join == .inner ? widths.min() ?? 0 : widths.max() ?? 0)
            let shape = ms.compactMap { $0 }.first?.shape ?? []
            let columns: [[(out: Int, source: Int)]?] = ms.map { m in
                guard let m, m.shape.count >= 2, m.shape[1] != out else { return nil }
                return (0..<min(out, m.shape[1])).map { (out: $0, source: $0) }
            }
            let trailing = shape.count >= 2 ? [out] + Array(shape.dropFirst(2)) : []
            try await writeStacked(StackedMatrix(parts: ms, columns: columns, outColumns: out, trailing: trailing), to: w, at: path, role: .data)
        }
        try await writeMerged(to: w)
        try await w.createGroup("obsp", attributes: w.encodingAttributes("dict"))
        try await w.createGroup("layers", attributes: w.encodingAttributes("dict"))
        for name in layers {
            note("layers/" + name)
            let spec = StackedMatrix(parts: members.map { $0.layers[name] }, columns: xColumns, outColumns: varNames.count, trailing: [varNames.count])
            try await writeStacked(spec, to: w, at: "layers/" + name, role: .data)
        }
        note("uns"); try await w.write(.dict([:]), at: "uns")
        if let rawVarNames {
            note("raw")
            try await w.createGroup("raw", attributes: w.encodingAttributes("raw"))
            let spec = StackedMatrix(parts: members.map { $0.raw?.X }, columns: Self.aligned(rawVarMaps, widths: members.map { $0.raw?.var.rowCount ?? 0 }), outColumns: rawVarNames.count,
                                     trailing: [rawVarNames.count])
            try await writeStacked(spec, to: w, at: "raw/X", role: .data)
            let names = Self.common(members.compactMap { $0.raw?.var.indexKey })
            try await w.write(.dataFrame(try DataFrame(index: rawVarNames, indexName: names == "_index" ? nil : names)), at: "raw/var")
            try await w.createGroup("raw/varm", attributes: w.encodingAttributes("dict"))
        } else {
            try await w.write(.null, at: "raw")
        }
        if writeOptions.consolidate {
            try await StoreMaintenance.consolidate(store, recorded: w.recorder.all, format: writeOptions.zarrFormat)
        }
    }

    /// The value when every element of `values` is the same.
    static func common<T: Equatable>(_ values: [T]) -> T? {
        guard let first = values.first, values.allSatisfy({ $0 == first }) else { return nil }
        return first
    }

    // MARK: obs and var

    func writeObs(to w: ElementWriter, obsNames: [String]) async throws(AnnDataError) {
        var label: (String, Column)?
        if let name = options.label {
            let codes = counts.enumerated().flatMap { i, n in Array(repeating: i, count: n) }
            label = (name, .categorical(try Categorical(codes: codes, categories: keys)))
        }
        try await writeFrame(members.map(\.obs), columns: obsColumns, indexKey: obsIndexKey, names: obsNames, label: label, to: w, at: "obs")
    }

    /// The obs names of every store, each with `indexUnique` and its key appended when asked.
    func loadObsNames() async throws(AnnDataError) -> [String] {
        var names: [String] = []
        names.reserveCapacity(nObs)
        for (i, m) in members.enumerated() {
            let part = try await Self.strings(m.obs.index(), path: m.obs.path)
            if let sep = options.indexUnique { names += part.map { $0 + sep + keys[i] } } else { names += part }
        }
        return names
    }

    /// Writes frames stacked by rows: the index `names` (the obs names: anndata gives frames
    /// in obsm the concatenated obs index), then each of `columns` stacked (`Column.stacking`), a column at a time, and
    /// `label` last (or in place of a column of that name).
    func writeFrame(
        _ frames: [LazyDataFrame?], columns: [String], indexKey: String, names: [String], label: (String, Column)?, to w: ElementWriter,
        at path: String
    ) async throws(AnnDataError) {
        var order = columns
        if let label, !order.contains(label.0) { order.append(label.0) }
        var attrs = w.encodingAttributes("dataframe")
        attrs["_index"] = .string(indexKey)
        attrs["column-order"] = .array(order.map { .string($0) })
        try await w.createGroup(path, attributes: attrs)
        try await w.write(.strings(try annotatingSync(path) { try NDArray(strings: names, shape: [names.count]) }), at: StoreKey.join(path, indexKey))
        for name in order {
            if let label, label.0 == name { try await w.write(label.1.element, at: StoreKey.join(path, name)); continue }
            var parts: [Column?] = []
            for f in frames {
                if let f, f.columnNames.contains(name) { parts.append(try await f.column(name)) } else { parts.append(nil) }
            }
            let column = try Column.stacking(parts, counts: counts, path: StoreKey.join(path, name))
            try await w.write(column.element, at: StoreKey.join(path, name))
        }
    }

    static func strings(_ c: Column, path: String) throws(AnnDataError) -> [String] {
        guard let values = c.stringValues else { throw .invalidElement(path: path, reason: "the index is not strings") }
        return try values.map { v throws(AnnDataError) -> String in
            guard let v else { throw .invalidElement(path: path, reason: "the index has a missing value") }
            return v
        }
    }

    /// Each member's positions of the output variables, when it has all of them.
    var fullVarPositions: [[Int]?] {
        varMaps.map { map in map.allSatisfy { $0 != nil } ? map.compactMap { $0 } : nil }
    }

    /// `var` with the columns every store has equal (anndata's `merge="same"`).
    func writeVar(to w: ElementWriter) async throws(AnnDataError) {
        var frames: [DataFrame] = []
        for m in members { frames.append(try await m.var.load()) }
        let positions = fullVarPositions
        var columns = OrderedDict<Column>()
        if positions.allSatisfy({ $0 != nil }) {
            for name in Self.joined(frames.map { Array($0.columns.keys) }, .inner) {
                var reindexed: [Column] = []
                for (f, p) in zip(frames, positions) {
                    guard let c = f.columns[name], let p else { break }
                    reindexed.append(try c.taking(p, path: "var/" + name))
                }
                if reindexed.count == frames.count, reindexed.dropFirst().allSatisfy({ Self.same($0, reindexed[0]) }) {
                    columns[name] = reindexed[0]
                }
            }
        }
        let df = try DataFrame(index: varNames, indexName: varIndexName, columns: columns)
        try await w.write(.dataFrame(df), at: "var")
    }

    /// pandas' `Series.equals` for merge "same": same kind and type, same values (NaN equal to
    /// NaN); unordered categoricals compare by value.
    static func same(_ a: Column, _ b: Column) -> Bool {
        if case .categorical(let x) = a, case .categorical(let y) = b, !x.ordered, !y.ordered, x.categories != y.categories {
            guard x.categories.dataType == y.categories.dataType, x.categories.count == y.categories.count,
                  case let xs = x.categories.elementKeys, case let ys = y.categories.elementKeys, Set(xs) == Set(ys)
            else { return false }
            let xc = x.codeValues, yc = y.codeValues
            return zip(xc, yc).allSatisfy { p, q in (p < 0 && q < 0) || (p >= 0 && q >= 0 && xs[p] == ys[q]) }
        }
        return a == b
    }

    /// The first of `values` when there are `count` of them and all are equal (sparse matrices
    /// compare by values, whatever their format; the first keeps its format, as anndata 0.13's
    /// reindexing does — 0.12 made reindexed ones CSR).
    static func sameValue(_ values: [Element], count: Int, path: String) throws(AnnDataError) -> Element? {
        guard values.count == count, let first = values.first else { return nil }
        func normal(_ e: Element) throws(AnnDataError) -> Element {
            if case .sparse(let s) = e { return .sparse(try s.toCSR(path: path)) }
            return e
        }
        let reference = try normal(first)
        for v in values.dropFirst() where try normal(v) != reference { return nil }
        return first
    }

    /// `varm` and `varp`: the elements every store has equal after alignment.
    func writeMerged(to w: ElementWriter) async throws(AnnDataError) {
        let positions = fullVarPositions.compactMap { $0 }
        let complete = positions.count == members.count
        try await w.createGroup("varm", attributes: w.encodingAttributes("dict"))
        if complete {
            for name in Self.joined(members.map { Array($0.varm.keys) }, .inner) {
                var values: [Element] = []
                for (m, p) in zip(members, positions) {
                    guard let e = m.varm[name] else { break }
                    values.append(try await e.load().takingRows(p, path: "varm/" + name))
                }
                if let kept = try Self.sameValue(values, count: members.count, path: "varm/" + name) {
                    try await w.write(kept, at: "varm/" + name)
                }
            }
        }
        try await w.createGroup("varp", attributes: w.encodingAttributes("dict"))
        if complete {
            for name in Self.joined(members.map { Array($0.varp.keys) }, .inner) {
                var values: [Element] = []
                for (m, p) in zip(members, positions) {
                    guard let e = m.varp[name] else { break }
                    values.append(try await e.select(rows: p, columns: p).element)
                }
                if let kept = try Self.sameValue(values, count: members.count, path: "varp/" + name) {
                    try await w.write(kept, at: "varp/" + name)
                }
            }
        }
    }
}
