import Zarr

extension Column {
    /// The columns of consecutive blocks of rows stacked into one, as pandas' `concat` stacks
    /// them after anndata's `unify_dtypes` (what `anndata.concat` gives for obs):
    ///
    /// - categoricals: unordered ones get the union of the categories in natural order
    ///   (natsort) — or the first block's categories in their order when they already hold
    ///   every block's (pandas then keeps the order) — codes remapped; ordered ones must share
    ///   their categories;
    /// - numbers: numpy's promoted type; bools stay bools;
    /// - strings, nullable integers, bools and strings: their kind, values promoted.
    ///
    /// A `nil` part is a block (of `counts[i]` rows) without this column (an outer join): its
    /// rows are missing values, which turn integers into float64 (NaN), bools into nullable bools,
    /// nullable strings stay nullable, plain strings get "nan" (what anndata writes for a
    /// Python string column with NaN) and categoricals code -1. Kinds pandas would only
    /// merge into Python objects are refused (an `.unsupported` error naming `path`).
    static func stacking(_ parts: [Column?], counts: [Int], path: String) throws(AnnDataError) -> Column {
        let present = parts.compactMap { $0 }
        let missing = zip(parts, counts).contains { $0 == nil && $1 > 0 }
        guard let first = present.first else { throw .invalidElement(path: path, reason: "no block has this column") }
        func refuse(_ why: String) -> AnnDataError {
            .unsupported(path: path, reason: "cannot concatenate this column: \(why)")
        }
        func maskOf(_ each: (Column) -> [Bool]) -> [Bool] {
            zip(parts, counts).flatMap { p, n in p.map(each) ?? [Bool](repeating: true, count: n) }
        }
        func stackValues(_ arrays: [NDArray?], type: DataType, fill: FillValue) throws(AnnDataError) -> NDArray {
            let filled = try annotatingSync(path) { () throws -> [NDArray] in
                try zip(arrays, counts).map { a, n in
                    try a?.converted(to: type) ?? NDArray(repeating: fill, dataType: type, shape: [n])
                }
            }
            return try annotatingSync(path) { try NDArray.concatenating(filled, dataType: type, trailingShape: []) }
        }
        switch first {
        case .categorical:
            let cats = try present.map { c throws(AnnDataError) -> Categorical in
                guard case .categorical(let x) = c else { throw refuse("categorical in some stores, not in others") }
                return x
            }
            return .categorical(try Categorical.stacking(parts.map { p in
                if case .categorical(let c) = p { return c } else { return nil }
            }, all: cats, counts: counts, path: path))
        case .array:
            let arrays = try present.map { c throws(AnnDataError) -> NDArray in
                guard case .array(let a) = c else { throw refuse("numbers in some stores, another kind in others") }
                return a
            }
            let types = arrays.map(\.dataType)
            if types.contains(.bool) {
                guard types.allSatisfy({ $0 == .bool }) else { throw refuse("bools in some stores, numbers in others (pandas makes objects)") }
                let values = try stackValues(parts.map { if case .array(let a) = $0 { return a } else { return nil } }, type: .bool, fill: .zero(for: .bool))
                if !missing { return .array(values) }
                return .nullableBoolean(try NullableArray(values: values, mask: maskOf { Array(repeating: false, count: $0.count) }))
            }
            guard var type = NumericPromotion.common(types) else { throw refuse("values of \(Set(types.map(\.description)).sorted()) do not combine") }
            if missing && !type.isFloatingPoint { type = .float64 }  // pandas keeps float32, ints become float64
            return .array(try stackValues(parts.map { if case .array(let a) = $0 { return a } else { return nil } }, type: type, fill: NumericPromotion.missing(type)))
        case .strings, .nullableStrings:
            var values: [String] = [], mask: [Bool] = []
            var na: String?
            for (p, n) in zip(parts, counts) {
                switch p {
                case .strings(let s)?: values += s; mask += Array(repeating: false, count: s.count)
                case .nullableStrings(let s)?: values += s.values; mask += s.mask; na = na ?? s.naValue
                case nil: values += Array(repeating: "", count: n); mask += Array(repeating: true, count: n)
                default: throw refuse("strings in some stores, another kind in others")
                }
            }
            if present.contains(where: { if case .nullableStrings = $0 { return true } else { return false } }) {
                return .nullableStrings(try NullableStrings(values: values, mask: mask, naValue: na))
            }
            // Python strings with missing values (pandas objects with NaN): anndata writes them
            // as a string array holding "nan".
            return .strings(zip(values, mask).map { $1 ? "nan" : $0 })
        case .nullableInteger, .nullableBoolean:
            let isBool: Bool
            if case .nullableBoolean = first { isBool = true } else { isBool = false }
            var arrays: [NDArray?] = []
            for p in parts {
                switch (p, isBool) {
                case (.nullableInteger(let n)?, false), (.nullableBoolean(let n)?, true): arrays.append(n.values)
                case (.array(let a)?, _) where isBool == (a.dataType == .bool) && (isBool || a.dataType.isInteger):
                    arrays.append(a)
                case (nil, _): arrays.append(nil)
                default: throw refuse("nullable \(isBool ? "bools" : "integers") in some stores, another kind in others")
                }
            }
            guard let type = NumericPromotion.common(arrays.compactMap { $0?.dataType }) else { throw refuse("value types do not combine") }
            let values = try stackValues(arrays, type: type, fill: .zero(for: type))
            let mask = maskOf { c in
                switch c {
                case .nullableInteger(let n), .nullableBoolean(let n): return n.mask
                default: return Array(repeating: false, count: c.count)
                }
            }
            let n = try NullableArray(values: values, mask: mask)
            return isBool ? .nullableBoolean(n) : .nullableInteger(n)
        }
    }
}

extension Categorical {
    /// Categoricals of consecutive blocks stacked (see `Column.stacking`); `parts[i] == nil`
    /// gives `counts[i]` missing values.
    static func stacking(_ parts: [Categorical?], all: [Categorical], counts: [Int], path: String) throws(AnnDataError) -> Categorical {
        guard let first = all.first else { throw .invalidElement(path: path, reason: "no categorical to stack") }
        let categories: NDArray
        let ordered = all.contains { $0.ordered }
        if ordered {
            guard all.allSatisfy({ $0.ordered && $0.categories == first.categories }) else {
                throw .unsupported(path: path, reason: "ordered categoricals with different categories cannot be concatenated (pandas makes objects)")
            }
            categories = first.categories
        } else if all.allSatisfy({ Set($0.categories.elementKeys).isSubset(of: Set(first.categories.elementKeys)) })
                    && all.allSatisfy({ $0.categories.dataType == first.categories.dataType }) {
            // Every block's categories are among the first's: pandas' `astype` to the union
            // (equal as an unordered dtype) keeps the first block's order.
            categories = first.categories
        } else if first.categories.dataType == .string || !(first.categories.dataType.isInteger || first.categories.dataType.isFloatingPoint) {
            var seen = Set<String>()
            var union: [String] = []
            for c in all {
                let names = try annotatingSync(path) { try c.categories.strings() }
                for n in names where seen.insert(n).inserted { union.append(n) }
            }
            let sorted = NaturalOrder.natsorted(union.sorted(by: NaturalOrder.codePointLess))
            categories = try annotatingSync(path) { try NDArray(strings: sorted, shape: [sorted.count]) }
        } else {
            guard let type = NumericPromotion.common(all.map(\.categories.dataType)) else {
                throw .unsupported(path: path, reason: "categories of types \(all.map(\.categories.dataType)) do not combine")
            }
            let converted = try annotatingSync(path) { () throws -> NDArray in
                try NDArray.concatenating(try all.map { try $0.categories.converted(to: type) }, dataType: type, trailingShape: [])
            }
            // The distinct values in numeric order, each taken at its first occurrence.
            var firstAt: [Double: Int] = [:]
            for (i, v) in try annotatingSync(path, { try converted.doubles() }).enumerated() where firstAt[v] == nil { firstAt[v] = i }
            let picks = firstAt.sorted { $0.key < $1.key }.map(\.value)
            categories = try annotatingSync(path) { try converted.taking(picks) }
        }
        // Remap each block's codes into the merged categories.
        let keys: [String]
        if categories.dataType.isInteger || categories.dataType.isFloatingPoint {
            keys = try annotatingSync(path) { try categories.doubles().map { String($0) } }
        } else {
            keys = try annotatingSync(path) { try categories.strings() }
        }
        let position = Dictionary(keys.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var codes: [Int] = []
        codes.reserveCapacity(counts.reduce(0, +))
        for (p, n) in zip(parts, counts) {
            guard let p else { codes += Array(repeating: -1, count: n); continue }
            let names: [String]
            if p.categories.dataType.isInteger || p.categories.dataType.isFloatingPoint {
                names = try annotatingSync(path) { try p.categories.doubles().map { String($0) } }
            } else {
                names = try annotatingSync(path) { try p.categories.strings() }
            }
            let map = names.map { position[$0] ?? -1 }
            for c in p.codeValues { codes.append(c >= 0 && c < map.count ? map[c] : -1) }
        }
        let packed = try annotatingSync(path) { try Categorical.packCodes(codes, categoryCount: keys.count) }
        return Categorical(unchecked: packed, categories: categories, ordered: ordered)
    }
}
