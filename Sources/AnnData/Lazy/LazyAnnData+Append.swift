import Zarr

extension LazyAnnData {
    /// The root attribute an append in progress leaves until it completes (see
    /// `append(_:to:concurrency:)`).
    public static let appendMarkerKey = "anndata-append-in-progress"

    /// Appends the observations of `source` to the AnnData in `destination`, in place: what
    /// anndata's `concat([destination, source], merge="first", pairwise=True)` builds, keeping
    /// the destination's `var`, `varm`, `varp`, `uns` and raw var.
    ///
    /// The stores must fit one another (checked before anything is written, else an error):
    /// the same var_names in the same order (and raw var_names), the same obs columns, layers,
    /// `obsm` and `obsp` keys, each with the destination's kind and data type (categorical
    /// values among the destination's categories), dense or CSR matrices (sparse `obsp` CSR).
    ///
    /// Only new data is written: arrays grow along obs, new rows fill the last row of chunks
    /// (shards) of each array and then whole new ones; the metadata of every array is rewritten
    /// after all data, and consolidated metadata last. Before any of it, the root attributes
    /// record `appendMarkerKey` with the shapes before: until the append completes, readers see
    /// the store as it was (data beyond the old shapes is not read), `validate` reports the
    /// interrupted append, and running the append again first restores the recorded shapes,
    /// then appends afresh.
    ///
    /// Memory: matrices stream in blocks (one read ahead), obs columns one at a time.
    public static func append(
        _ source: LazyAnnData, to destination: any WritableStore & ListableStore, concurrency: ConcurrencyOptions = .automatic
    ) async throws(AnnDataError) {
        try await AppendPlan.rollBackInterrupted(destination)
        let target = try await LazyAnnData.open(destination, concurrency: concurrency)
        let plan = try await AppendPlan(source: source, target: target)
        try await plan.write(to: destination, concurrency: concurrency)
    }
}

/// What `append` writes, decided (and refused) before writing.
struct AppendPlan: Sendable {
    /// A matrix: rows of `source` after those of `target`.
    struct MatrixPart: Sendable {
        let path: String
        let source: LazyMatrix
        let target: LazyMatrix
        /// `obsp`: rows and columns grow (block diagonal).
        let pairwise: Bool
    }

    /// A 1-D column (an index, a frame column).
    struct ColumnPart: Sendable {
        let path: String
        let values: Column
    }

    let source: LazyAnnData
    let target: LazyAnnData
    let oldRows: Int
    var matrices: [MatrixPart] = []
    var columns: [ColumnPart] = []

    init(source: LazyAnnData, target: LazyAnnData) async throws(AnnDataError) {
        self.source = source
        self.target = target
        self.oldRows = target.nObs
        func refuse(_ path: String, _ why: String) -> AnnDataError { .unsupported(path: path, reason: "cannot append: \(why)") }
        // Variables: the same names, in the same order.
        let tv = try await target.var.index().stringValues, sv = try await source.var.index().stringValues
        guard tv == sv else { throw refuse("var", "the source's var_names differ from the destination's (same names in the same order are needed)") }
        // Matrices.
        func matrix(_ path: String, _ s: LazyMatrix?, _ t: LazyMatrix?, pairwise: Bool = false) throws(AnnDataError) -> MatrixPart? {
            switch (s, t) {
            case (nil, nil): return nil
            case (let s?, let t?):
                switch (s.layout, t.layout) {
                case (.dense(let a), .dense(let b)):
                    guard !pairwise else { throw refuse(path, "a dense obsp matrix would grow on both axes; only CSR obsp can be appended") }
                    guard a.dataType == b.dataType, Array(a.shape.dropFirst()) == Array(b.shape.dropFirst()) else {
                        throw refuse(path, "the source has \(a.dataType) \(a.shape), the destination \(b.dataType) \(b.shape)")
                    }
                case (.sparse(let fs, let ds, let xs, _), .sparse(.csr, let dt, let xt, let pt)):
                    guard fs == .csr else { throw refuse(path, "the source's matrix is CSC; convert it to CSR first") }
                    guard ds.dataType == dt.dataType else { throw refuse(path, "values of \(ds.dataType) into \(dt.dataType)") }
                    guard xs.dataType.isInteger, xt.dataType.isInteger, pt.dataType.isInteger else { throw refuse(path, "indices must be integers") }
                    if !pairwise, s.shape[1] != t.shape[1] { throw refuse(path, "\(s.shape[1]) columns into \(t.shape[1])") }
                case (_, .sparse(.csc, _, _, _)):
                    throw refuse(path, "the destination's matrix is CSC (rows are its minor axis: every column would be rewritten)")
                default:
                    throw refuse(path, "a dense and a sparse matrix")
                }
                return MatrixPart(path: path, source: s, target: t, pairwise: pairwise)
            default:
                throw refuse(path, s == nil ? "the source lacks it" : "the destination lacks it")
            }
        }
        func sameKeys<T>(_ what: String, _ s: OrderedDict<T>, _ t: OrderedDict<T>) throws(AnnDataError) {
            guard Set(s.keys) == Set(t.keys) else {
                throw refuse(what, "the source has \(s.keys.sorted()), the destination \(t.keys.sorted())")
            }
        }
        if let m = try matrix("X", source.X, target.X) { matrices.append(m) }
        try sameKeys("layers", source.layers, target.layers)
        for (name, t) in target.layers { if let m = try matrix("layers/" + name, source.layers[name], t) { matrices.append(m) } }
        try sameKeys("obsp", source.obsp, target.obsp)
        for (name, t) in target.obsp { if let m = try matrix("obsp/" + name, source.obsp[name], t, pairwise: true) { matrices.append(m) } }
        switch (source.raw?.X, target.raw?.X) {
        case (nil, nil): break
        case (let s?, let t?):
            let a = try await target.raw?.var.index().stringValues, b = try await source.raw?.var.index().stringValues
            guard a == b else { throw refuse("raw/var", "the raw var_names differ") }
            if let m = try matrix("raw/X", s, t) { matrices.append(m) }
        default: throw refuse("raw", "one store has raw and the other not")
        }
        // Frames: the index and every column.
        func frame(_ s: LazyDataFrame, _ t: LazyDataFrame) async throws(AnnDataError) -> [ColumnPart] {
            guard !s.legacy, !t.legacy else { throw refuse(t.path, "frames of anndata < 0.7; convert the stores first") }
            guard Set(s.columnNames) == Set(t.columnNames) else {
                throw refuse(t.path, "the source's columns \(s.columnNames.sorted()) differ from the destination's \(t.columnNames.sorted())")
            }
            var out = [ColumnPart(path: StoreKey.join(t.path, t.indexKey), values: try await s.index())]
            for name in t.columnNames {
                let path = StoreKey.join(t.path, name)
                out.append(ColumnPart(path: path, values: try Self.fitting(try await s.column(name), to: try await t.column(name, rows: []), path: path)))
            }
            return out
        }
        columns += try await frame(source.obs, target.obs)
        try sameKeys("obsm", source.obsm, target.obsm)
        for (name, t) in target.obsm {
            switch (source.obsm[name], t) {
            case (.matrix(let s)?, .matrix(let tm)): if let m = try matrix("obsm/" + name, s, tm) { matrices.append(m) }
            case (.dataFrame(let s)?, .dataFrame(let tf)): columns += try await frame(s, tf)
            default: throw refuse("obsm/" + name, "only arrays, CSR matrices and data frames of the same kind can be appended")
            }
        }
    }

    /// The source's `column` in the destination's stored form (`like`, 0 rows): the same
    /// kind and value type; categorical values mapped onto the destination's categories.
    static func fitting(_ column: Column, to like: Column, path: String) throws(AnnDataError) -> Column {
        func refuse(_ why: String) -> AnnDataError { .unsupported(path: path, reason: "cannot append: \(why)") }
        switch (column, like) {
        case (.array(let a), .array(let b)):
            guard a.dataType == b.dataType else { throw refuse("values of \(a.dataType) into \(b.dataType)") }
        case (.strings, .strings), (.nullableStrings, .nullableStrings): break
        case (.strings(let s), .nullableStrings):
            return .nullableStrings(try NullableStrings(values: s, mask: Array(repeating: false, count: s.count)))
        case (.nullableInteger(let a), .nullableInteger(let b)), (.nullableBoolean(let a), .nullableBoolean(let b)):
            guard a.values.dataType == b.values.dataType else { throw refuse("values of \(a.values.dataType) into \(b.values.dataType)") }
        case (.categorical(let c), .categorical(let d)):
            guard c.ordered == d.ordered, c.categories.dataType == d.categories.dataType else {
                throw refuse("categories of another type or order flag")
            }
            let position = Dictionary(d.categories.elementKeys.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            let mine = c.categories.elementKeys
            var map: [Int] = []
            for (i, e) in mine.enumerated() {
                guard let p = position[e] else {
                    let name = (try? c.categories.taking([i]).strings().first) ?? nil
                    throw refuse("category \(name.map { "'\($0)'" } ?? "#\(i)") is not among the destination's (use concat)")
                }
                map.append(p)
            }
            let codes = c.codeValues.map { $0 >= 0 && $0 < map.count ? map[$0] : -1 }
            let packed: NDArray = try annotatingSync(path) {
                var out = try IntegerView.array(codes, like: d.codes.dataType)
                out.shape = [codes.count]
                return out
            }
            return .categorical(Categorical(unchecked: packed, categories: d.categories, ordered: d.ordered))
        default:
            throw refuse("a \(column.element.encodingType) column into a \(like.element.encodingType) one")
        }
        return column
    }
}
