import Zarr

extension Matrix {
    /// The submatrix at `rows` and `columns` (`nil` = all; any order, repeats allowed), in the
    /// same layout (a dense array of rank > 2 keeps its trailing axes whole).
    public func selecting(rows: [Int]?, columns: [Int]?, path: String = "") throws(AnnDataError) -> Matrix {
        switch self {
        case .sparse(let s): return .sparse(try s.selecting(rows: rows, columns: columns, path: path))
        case .dense(var a):
            if let rows { a = try annotatingSync(path) { try a.taking(rows, axis: 0) } }
            if let columns {
                guard a.shape.count >= 2 else { throw .invalidElement(path: path, reason: "a 1-D array has no columns to select") }
                a = try annotatingSync(path) { try a.taking(columns, axis: 1) }
            }
            return .dense(a)
        }
    }
}

extension Column {
    /// The values at `rows` (any order, repeats allowed). Categories are kept (see
    /// `removingUnusedCategories()`).
    public func taking(_ rows: [Int], path: String = "") throws(AnnDataError) -> Column {
        func take(_ a: NDArray) throws(AnnDataError) -> NDArray { try annotatingSync(path) { try a.taking(rows) } }
        func mask(_ m: [Bool]) -> [Bool] { rows.map { m[$0] } }
        if let bad = rows.first(where: { $0 < 0 || $0 >= count }) {
            throw .invalidElement(path: path, reason: "row \(bad) is outside 0..<\(count)")
        }
        switch self {
        case .array(let a): return .array(try take(a))
        case .strings(let s): return .strings(rows.map { s[$0] })
        case .categorical(let c): return .categorical(Categorical(unchecked: try take(c.codes), categories: c.categories, ordered: c.ordered))
        case .nullableInteger(let n): return .nullableInteger(try NullableArray(values: try take(n.values), mask: mask(n.mask)))
        case .nullableBoolean(let n): return .nullableBoolean(try NullableArray(values: try take(n.values), mask: mask(n.mask)))
        case .nullableStrings(let n):
            return .nullableStrings(try NullableStrings(values: rows.map { n.values[$0] }, mask: mask(n.mask), naValue: n.naValue))
        }
    }
}

extension Categorical {
    /// This categorical without the categories no value uses (pandas'
    /// `remove_unused_categories`: the kept categories keep their order), and which of the
    /// old categories were kept.
    public func removingUnusedCategories(path: String = "") throws(AnnDataError) -> (Categorical, kept: [Int]) {
        let codes = codeValues
        var used = [Bool](repeating: false, count: categories.count)
        for c in codes where c >= 0 && c < used.count { used[c] = true }
        if !used.contains(false) { return (self, Array(0..<categories.count)) }
        let kept = used.indices.filter { used[$0] }
        var newCode = [Int](repeating: -1, count: categories.count)
        for (n, old) in kept.enumerated() { newCode[old] = n }
        let cats = try annotatingSync(path) { try categories.taking(kept) }
        // pandas rebuilds the codes in the narrowest type for the new number of categories.
        let packed = try annotatingSync(path) { try Categorical.packCodes(codes.map { $0 < 0 ? -1 : newCode[$0] }, categoryCount: kept.count) }
        return (Categorical(unchecked: packed, categories: cats, ordered: ordered), kept)
    }
}

extension DataFrame {
    /// The rows at `rows` (any order, repeats allowed), every column.
    public func takingRows(_ rows: [Int], path: String = "") throws(AnnDataError) -> DataFrame {
        var cols = OrderedDict<Column>()
        for (name, c) in columns { cols[name] = try c.taking(rows, path: StoreKey.join(path, name)) }
        return DataFrame(unchecked: try index.taking(rows, path: StoreKey.join(path, indexKey)), indexName: indexName, columns: cols)
    }
}

extension Element {
    /// The element at `rows` of its first axis (any order, repeats allowed), as anndata slices
    /// `obsm`/`varm` values and data-frame columns. Awkward arrays: see
    /// `AwkwardArray.takingRows(_:path:)`; elements without a first axis are refused.
    public func takingRows(_ rows: [Int], path: String = "") throws(AnnDataError) -> Element {
        switch self {
        case .array(let a): return .array(try annotatingSync(path) { try a.taking(rows) })
        case .strings(let a): return .strings(try annotatingSync(path) { try a.taking(rows) })
        case .recArray(let a): return .recArray(try annotatingSync(path) { try a.taking(rows) })
        case .sparse(let s): return .sparse(try s.selecting(rows: rows, columns: nil, path: path))
        case .dataFrame(let d): return .dataFrame(try d.takingRows(rows, path: path))
        case .categorical(let c): return try Column.categorical(c).taking(rows, path: path).element
        case .nullableInteger(let n): return try Column.nullableInteger(n).taking(rows, path: path).element
        case .nullableBoolean(let n): return try Column.nullableBoolean(n).taking(rows, path: path).element
        case .nullableStrings(let n): return try Column.nullableStrings(n).taking(rows, path: path).element
        case .awkward(let a):
            if rows == Array(0..<a.length) { return self }
            return .awkward(try a.takingRows(rows, path: path))
        case .dict, .scalar, .string, .null, .raw, .anndata:
            throw .invalidElement(path: path, reason: "a \(encodingType) has no rows to select")
        }
    }
}
