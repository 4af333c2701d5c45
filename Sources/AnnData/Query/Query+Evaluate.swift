import Zarr

/// Evaluation of a query over the columns of a frame.
///
/// - Missing values (masked entries of nullable columns, code -1 of a categorical, NaN in a
///   float column, a missing label of a nullable index) fail every test (`!=` and `not in`
///   included) and pass only `is null`; `not` negates the result of what it encloses.
/// - Numbers compare exactly: an integer column (`Int8`...`UInt64`, beyond 2^53 too) with an
///   integer literal exactly, and with a decimal by its exact value (`3 < 3.5`, and
///   `2^53 + 1 != 2^53` as a decimal); float columns (`float16`/`32`/`64`) as IEEE doubles. Bools
///   are the numbers 0 and 1 (a bool column compares with `1`, a number column with `true`).
/// - Strings compare by Unicode code point (UTF-8 byte order, as Python compares `str`): `"é"`
///   precomposed and decomposed are different strings.
/// - Categoricals compare by category value: the predicate is evaluated once per category and
///   mapped through the codes. `==` / `in` with a value that is not a category is false
///   everywhere. `<`, `<=`, `>`, `>=` on an ordered categorical compare by position in the
///   category order (as pandas), and the literal must then be one of the categories; on an
///   unordered categorical they compare the category values (pandas would raise; we choose to
///   answer).
/// - Type errors: a number or bool column (or categorical of numbers) compared with a string,
///   a string column (string array, nullable strings, the index, categorical of strings)
///   compared with a number or bool.
extension Query {
    /// The rows where the query holds, one per row of `frame`. Loads each referenced column (or
    /// the index) once and nothing else; unknown columns are refused before anything loads.
    /// `path` (`"obs"`, `"var"`) names the frame in errors.
    public func evaluate(on frame: some QueryFrame, path: String) async throws(AnnDataError) -> [Bool] {
        let referenced = referencedColumns
        let names = frame.columnNames
        // Swift's String equality is canonical equivalence; a name matches its exact spelling
        // first (as Python compares), else the frame's canonically equal spelling.
        var canonical: [String: String] = [:]
        var exact: [[UInt8]: String] = [:]
        for name in names {
            if canonical[name] == nil { canonical[name] = name }
            exact[Array(name.utf8)] = name
        }
        var sources: [QueryColumn: QuerySource] = [:]
        for c in referenced {
            switch c {
            case .index: sources[c] = .index
            case .named(let n):
                if let stored = exact[Array(n.utf8)] ?? canonical[n] {
                    sources[c] = .column(stored)
                } else if n == "index" {
                    sources[c] = .index
                } else {
                    let shown = names.prefix(10).map { "'\($0)'" }.joined(separator: ", ")
                    let list = names.isEmpty ? "the frame has no columns" : "columns: \(shown)\(names.count > 10 ? ", ... (\(names.count) in all)" : "")"
                    throw .invalidElement(path: path, reason: "unknown column '\(n)' in the query (\(list); 'index' names the index)")
                }
            }
        }
        let rowCount = frame.rowCount
        var loaded: [QuerySource: Column] = [:]
        for c in referenced {
            guard let source = sources[c], loaded[source] == nil else { continue }
            let column: Column
            switch source {
            case .index: column = try await frame.queryIndex()
            case .column(let n): column = try await frame.queryColumn(n)
            }
            if column.count != rowCount {
                throw .shapeMismatch(path: source.path(in: path), reason: "\(source.subject) has \(column.count) values for \(rowCount) rows")
            }
            loaded[source] = column
        }
        let evaluator = QueryEvaluator(sources: sources, columns: loaded, rowCount: rowCount, path: path)
        return try evaluator.mask(self)
    }
}

extension DataFrame: QueryFrame {
    /// The names of the columns, in order.
    public var columnNames: [String] { columns.keys }

    /// The column `name`; `invalidElement` when there is none.
    public func queryColumn(_ name: String) async throws(AnnDataError) -> Column {
        guard let c = columns[name] else { throw .invalidElement(path: name, reason: "no column named '\(name)'") }
        return c
    }

    /// The index column.
    public func queryIndex() async throws(AnnDataError) -> Column { index }
}

/// Where a referenced column's values come from.
enum QuerySource: Hashable, Sendable {
    case index
    case column(String)

    /// How messages name it.
    var subject: String {
        switch self {
        case .index: return "the index"
        case .column(let n): return "column '\(n)'"
        }
    }

    func path(in frame: String) -> String {
        switch self {
        case .index: return frame
        case .column(let n): return frame.isEmpty ? n : "\(frame)/\(n)"
        }
    }
}

/// The test one condition applies to each present value of a column.
enum AtomTest {
    case compare(ComparisonOperator, QueryValue)
    /// `in` (`negated == false`) or `not in`.
    case member([QueryValue], negated: Bool)
    case null

    /// The literals the column's type must fit.
    var values: [QueryValue] {
        switch self {
        case .compare(_, let v): return [v]
        case .member(let vs, _): return vs
        case .null: return []
        }
    }

    /// The result on a missing value.
    var onMissing: Bool {
        if case .null = self { return true }
        return false
    }
}

/// The result of comparing two values.
enum QueryOrder {
    case less, equal, greater, unordered

    var flipped: QueryOrder {
        switch self {
        case .less: return .greater
        case .greater: return .less
        default: return self
        }
    }

    @inline(__always)
    static func of<T: Comparable>(_ a: T, _ b: T) -> QueryOrder {
        a < b ? .less : (a == b ? .equal : (a > b ? .greater : .unordered))
    }

    /// `a` against `d` by exact value.
    @inline(__always)
    static func of(_ a: Int64, _ d: Double) -> QueryOrder {
        if d.isNaN { return .unordered }
        if d >= 9_223_372_036_854_775_808.0 { return .less }  // 2^63
        if d < -9_223_372_036_854_775_808.0 { return .greater }
        let t = d.rounded(.down)  // in [-2^63, 2^63): exact as Int64
        let ti = Int64(t)
        if a != ti { return a < ti ? .less : .greater }
        return t == d ? .equal : .less
    }

    /// `a` against `d` by exact value.
    @inline(__always)
    static func of(_ a: UInt64, _ d: Double) -> QueryOrder {
        if d.isNaN { return .unordered }
        if d >= 18_446_744_073_709_551_616.0 { return .less }  // 2^64
        if d < 0 { return .greater }
        let t = d.rounded(.down)
        let ti = UInt64(t)
        if a != ti { return a < ti ? .less : .greater }
        return t == d ? .equal : .less
    }
}

extension ComparisonOperator {
    /// Whether the operator holds for values in the order `o`.
    @inline(__always)
    func holds(_ o: QueryOrder) -> Bool {
        switch self {
        case .equal: return o == .equal
        case .notEqual: return o != .equal
        case .less: return o == .less
        case .lessOrEqual: return o == .less || o == .equal
        case .greater: return o == .greater
        case .greaterOrEqual: return o == .greater || o == .equal
        }
    }

    /// Whether this is `<`, `<=`, `>` or `>=`.
    var isOrdering: Bool { self != .equal && self != .notEqual }
}

/// A numeric literal (bools are 0 and 1).
enum NumericLiteral {
    case int(Int64)
    case double(Double)
}

/// A test on numbers, with the literals converted once for each kind of element.
struct NumericTest {
    enum Kind {
        case compare(ComparisonOperator, NumericLiteral)
        case member(negated: Bool)
        case null
    }
    let kind: Kind
    // Membership candidates that an element of each kind can equal exactly; sets for long lists.
    var ints: [Int64] = [], uints: [UInt64] = [], doubles: [Double] = []
    var intSet: Set<Int64>? = nil, uintSet: Set<UInt64>? = nil, doubleSet: Set<Double>? = nil

    static let linearLimit = 16

    init(_ test: AtomTest, literals: [NumericLiteral]) {
        switch test {
        case .compare(let op, _):
            kind = .compare(op, literals[0])
        case .member(_, let negated):
            kind = .member(negated: negated)
            for l in literals {
                switch l {
                case .int(let v):
                    ints.append(v)
                    if let u = UInt64(exactly: v) { uints.append(u) }
                    if let d = Double(exactly: v) { doubles.append(d) }
                case .double(let d):
                    if let i = Int64(exactly: d) { ints.append(i) }
                    if let u = UInt64(exactly: d) { uints.append(u) }
                    if !d.isNaN { doubles.append(d) }
                }
            }
            if ints.count > Self.linearLimit { intSet = Set(ints) }
            if uints.count > Self.linearLimit { uintSet = Set(uints) }
            if doubles.count > Self.linearLimit { doubleSet = Set(doubles) }
        case .null:
            kind = .null
        }
    }

    @inline(__always)
    func matches(_ x: Int64) -> Bool {
        switch kind {
        case .compare(let op, .int(let v)): return op.holds(QueryOrder.of(x, v))
        case .compare(let op, .double(let d)): return op.holds(QueryOrder.of(x, d))
        case .member(let negated): return (intSet.map { $0.contains(x) } ?? ints.contains(x)) != negated
        case .null: return false
        }
    }

    @inline(__always)
    func matches(_ x: UInt64) -> Bool {
        switch kind {
        case .compare(let op, .int(let v)): return op.holds(v < 0 ? .greater : QueryOrder.of(x, UInt64(v)))
        case .compare(let op, .double(let d)): return op.holds(QueryOrder.of(x, d))
        case .member(let negated): return (uintSet.map { $0.contains(x) } ?? uints.contains(x)) != negated
        case .null: return false
        }
    }

    /// `x` is not NaN (NaN is a missing value).
    @inline(__always)
    func matches(_ x: Double) -> Bool {
        switch kind {
        case .compare(let op, .int(let v)): return op.holds(QueryOrder.of(v, x).flipped)
        case .compare(let op, .double(let d)): return op.holds(QueryOrder.of(x, d))
        case .member(let negated): return (doubleSet.map { $0.contains(x) } ?? doubles.contains(x)) != negated
        case .null: return false
        }
    }
}

/// A test on strings, by Unicode code point (UTF-8 bytes).
struct StringTest {
    enum Kind {
        case compare(ComparisonOperator, [UInt8])
        case member(negated: Bool)
        case null
    }
    let kind: Kind
    var literals: [[UInt8]] = []
    /// For long lists: the literals grouped by Swift string equality (canonical equivalence, a
    /// superset of byte equality), to find candidates by hashing before the exact check.
    var groups: [String: [[UInt8]]]? = nil

    init(_ test: AtomTest, literals strings: [String]) {
        switch test {
        case .compare(let op, _):
            kind = .compare(op, Array(strings[0].utf8))
        case .member(_, let negated):
            kind = .member(negated: negated)
            literals = strings.map { Array($0.utf8) }
            if strings.count > NumericTest.linearLimit {
                var g: [String: [[UInt8]]] = [:]
                for s in strings { g[s, default: []].append(Array(s.utf8)) }
                groups = g
            }
        case .null:
            kind = .null
        }
    }

    @inline(__always)
    static func order(_ a: UnsafeBufferPointer<UInt8>, _ b: [UInt8]) -> QueryOrder {
        b.withUnsafeBufferPointer { b in
            let n = min(a.count, b.count)
            var i = 0
            while i < n {
                let x = a[i], y = b[i]
                if x != y { return x < y ? .less : .greater }
                i += 1
            }
            return a.count == b.count ? .equal : (a.count < b.count ? .less : .greater)
        }
    }

    func matches(_ s: String) -> Bool {
        switch kind {
        case .compare(let op, let lit):
            var s = s
            return s.withUTF8 { op.holds(Self.order($0, lit)) }
        case .member(let negated):
            let candidates: [[UInt8]]
            if let groups {
                guard let g = groups[s] else { return negated }
                candidates = g
            } else {
                candidates = literals
            }
            var s = s
            let found = s.withUTF8 { buf in candidates.contains { Self.order(buf, $0) == .equal } }
            return found != negated
        case .null:
            return false
        }
    }
}

/// Evaluates a query over loaded columns.
struct QueryEvaluator {
    let sources: [QueryColumn: QuerySource]
    let columns: [QuerySource: Column]
    let rowCount: Int
    let path: String

    func mask(_ q: Query) throws(AnnDataError) -> [Bool] {
        switch q {
        case .and, .or:
            // A chain grouped from the left is walked down its left spine without recursion.
            let isAnd: Bool
            if case .and = q { isAnd = true } else { isAnd = false }
            var rights: [Query] = []
            var current = q
            while true {
                if isAnd, case .and(let l, let r) = current {
                    rights.append(r); current = l
                } else if !isAnd, case .or(let l, let r) = current {
                    rights.append(r); current = l
                } else {
                    break
                }
            }
            var m = try mask(current)
            for r in rights.reversed() {
                let rm = try mask(r)
                m.withUnsafeMutableBufferPointer { mb in
                    rm.withUnsafeBufferPointer { rb in
                        if isAnd {
                            for i in 0..<min(mb.count, rb.count) { mb[i] = mb[i] && rb[i] }
                        } else {
                            for i in 0..<min(mb.count, rb.count) { mb[i] = mb[i] || rb[i] }
                        }
                    }
                }
            }
            return m
        case .not(let e):
            var m = try mask(e)
            m.withUnsafeMutableBufferPointer { mb in
                for i in 0..<mb.count { mb[i] = !mb[i] }
            }
            return m
        case .compare(let c, let op, let v): return try atom(c, .compare(op, v))
        case .isIn(let c, let vs): return try atom(c, .member(vs, negated: false))
        case .notIn(let c, let vs): return try atom(c, .member(vs, negated: true))
        case .isNull(let c): return try atom(c, .null)
        }
    }

    func atom(_ c: QueryColumn, _ test: AtomTest) throws(AnnDataError) -> [Bool] {
        guard let source = sources[c], let column = columns[source] else {
            throw .invalidElement(path: path, reason: "the query's column \(c) was not loaded")
        }
        return try mask(column, subject: source.subject, source: source, test)
    }

    func typeError(_ subject: String, _ holds: String, _ value: QueryValue) -> AnnDataError {
        let shown: String
        switch value {
        case .string: shown = "the string \(value)"
        case .bool: shown = "the bool \(value) (quote it to compare with the string \(QueryValue.string(value.description)))"
        case .integer, .double: shown = "the number \(value) (quote it to compare with the string \(QueryValue.string(value.description)))"
        }
        return .invalidElement(path: path, reason: "\(subject) \(holds); the query cannot compare it with \(shown)")
    }

    func numericLiterals(_ test: AtomTest, subject: String, holds: String) throws(AnnDataError) -> [NumericLiteral] {
        var out: [NumericLiteral] = []
        for v in test.values {
            switch v {
            case .integer(let i): out.append(.int(i))
            case .double(let d): out.append(.double(d))
            case .bool(let b): out.append(.int(b ? 1 : 0))
            case .string: throw typeError(subject, holds, v)
            }
        }
        return out
    }

    func stringLiterals(_ test: AtomTest, subject: String, holds: String) throws(AnnDataError) -> [String] {
        var out: [String] = []
        for v in test.values {
            guard case .string(let s) = v else { throw typeError(subject, holds, v) }
            out.append(s)
        }
        return out
    }

    static func isStringType(_ t: DataType) -> Bool {
        switch t {
        case .string, .bytes, .fixedUTF32, .fixedBytes: return true
        default: return false
        }
    }

    static func isNumericType(_ t: DataType) -> Bool {
        switch t {
        case .bool, .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .float16, .float32, .float64: return true
        default: return false
        }
    }

    /// The test on each value of `column`; `missing` marks missing values (of a nullable column).
    func mask(_ column: Column, subject: String, source: QuerySource, _ test: AtomTest) throws(AnnDataError) -> [Bool] {
        switch column {
        case .array(let a): return try arrayMask(a, missing: nil, subject: subject, holdsKind: nil, source: source, test)
        case .nullableInteger(let n), .nullableBoolean(let n):
            return try arrayMask(n.values, missing: n.mask, subject: subject, holdsKind: nil, source: source, test)
        case .strings(let s):
            return try stringMask(s, missing: nil, subject: subject, holds: "holds strings", test)
        case .nullableStrings(let n):
            return try stringMask(n.values, missing: n.mask, subject: subject, holds: "holds strings", test)
        case .categorical(let c):
            return try categoricalMask(c, subject: subject, source: source, test)
        }
    }

    /// `holdsKind` overrides how messages describe the values (for categories).
    func arrayMask(_ a: NDArray, missing: [Bool]?, subject: String, holdsKind: String?, source: QuerySource, _ test: AtomTest) throws(AnnDataError) -> [Bool] {
        guard a.shape.count == 1 else {
            throw .invalidElement(path: source.path(in: path), reason: "\(subject) has shape \(a.shape), not one value per row")
        }
        if Self.isStringType(a.dataType) {
            let strings: [String]
            do { strings = try a.strings() } catch { throw .invalidElement(path: source.path(in: path), reason: "\(subject): \(error.description)") }
            return try stringMask(strings, missing: missing, subject: subject, holds: holdsKind ?? "holds strings", test)
        }
        guard Self.isNumericType(a.dataType), case .fixed(let bytes) = a.storage else {
            throw .unsupported(path: source.path(in: path), reason: "\(subject) holds values of type \(a.dataType), which a query cannot compare")
        }
        let holds = holdsKind ?? (a.dataType == .bool ? "holds bools" : "holds numbers (\(a.dataType))")
        let t = NumericTest(test, literals: try numericLiterals(test, subject: subject, holds: holds))
        let onMissing = test.onMissing
        let n = a.count
        if let missing, missing.count != n {
            throw .shapeMismatch(path: source.path(in: path), reason: "\(subject) has \(n) values and a mask of \(missing.count)")
        }
        var out: [Bool] = bytes.withUnsafeBytes { raw -> [Bool] in
            switch a.dataType {
            case .bool: return Self.scan(raw, n, UInt8.self) { t.matches(Int64($0 != 0 ? 1 : 0)) }
            case .int8: return Self.scan(raw, n, Int8.self) { t.matches(Int64($0)) }
            case .int16: return Self.scan(raw, n, Int16.self) { t.matches(Int64($0)) }
            case .int32: return Self.scan(raw, n, Int32.self) { t.matches(Int64($0)) }
            case .int64: return Self.scan(raw, n, Int64.self) { t.matches($0) }
            case .uint8: return Self.scan(raw, n, UInt8.self) { t.matches(Int64($0)) }
            case .uint16: return Self.scan(raw, n, UInt16.self) { t.matches(Int64($0)) }
            case .uint32: return Self.scan(raw, n, UInt32.self) { t.matches(Int64($0)) }
            case .uint64: return Self.scan(raw, n, UInt64.self) { t.matches($0) }
            case .float16: return Self.scan(raw, n, Float16.self) { $0.isNaN ? onMissing : t.matches(Double($0)) }
            case .float32: return Self.scan(raw, n, Float.self) { $0.isNaN ? onMissing : t.matches(Double($0)) }
            case .float64: return Self.scan(raw, n, Double.self) { $0.isNaN ? onMissing : t.matches($0) }
            default: return []
            }
        }
        if let missing { Self.applyMissing(&out, missing, onMissing) }
        return out
    }

    @inline(__always)
    static func scan<T: BitwiseCopyable>(_ raw: UnsafeRawBufferPointer, _ n: Int, _: T.Type, _ f: (T) -> Bool) -> [Bool] {
        let size = MemoryLayout<T>.size
        let n = min(n, raw.count / size)
        return [Bool](unsafeUninitializedCapacity: n) { buf, count in
            for i in 0..<n { buf[i] = f(raw.loadUnaligned(fromByteOffset: i * size, as: T.self)) }
            count = n
        }
    }

    static func applyMissing(_ out: inout [Bool], _ missing: [Bool], _ value: Bool) {
        out.withUnsafeMutableBufferPointer { ob in
            missing.withUnsafeBufferPointer { mb in
                for i in 0..<min(ob.count, mb.count) where mb[i] { ob[i] = value }
            }
        }
    }

    func stringMask(_ values: [String], missing: [Bool]?, subject: String, holds: String, _ test: AtomTest) throws(AnnDataError) -> [Bool] {
        let t = StringTest(test, literals: try stringLiterals(test, subject: subject, holds: holds))
        if let missing, missing.count != values.count {
            throw .shapeMismatch(path: path, reason: "\(subject) has \(values.count) values and a mask of \(missing.count)")
        }
        var out: [Bool]
        if case .null = t.kind {
            out = [Bool](repeating: false, count: values.count)
        } else {
            out = [Bool](unsafeUninitializedCapacity: values.count) { buf, count in
                values.withUnsafeBufferPointer { vb in
                    for i in 0..<vb.count { buf[i] = t.matches(vb[i]) }
                }
                count = values.count
            }
        }
        if let missing { Self.applyMissing(&out, missing, test.onMissing) }
        return out
    }

    func categoricalMask(_ c: Categorical, subject: String, source: QuerySource, _ test: AtomTest) throws(AnnDataError) -> [Bool] {
        let cats = c.categories
        let isStrings = Self.isStringType(cats.dataType)
        let holds = isStrings
            ? "is a categorical of strings"
            : (cats.dataType == .bool ? "is a categorical of bools" : "is a categorical of numbers (\(cats.dataType))")
        let categories = Column.array(cats)
        let nc = cats.count
        var perCategory: [Bool]
        if case .compare(let op, let v) = test, op.isOrdering, c.ordered {
            // Ordered: by position in the category order; the literal must be a category.
            let equal = try mask(categories, subject: subject, source: source, holdsKind: holds, .compare(.equal, v))
            guard let k = equal.firstIndex(of: true) else {
                let shown = Self.shownCategories(cats)
                throw .invalidElement(path: path, reason: "\(subject) is an ordered categorical; '\(op.rawValue)' compares by the category order and needs one of its categories, and \(v) is not one (categories: \(shown))")
            }
            perCategory = (0..<nc).map { op.holds(QueryOrder.of($0, k)) }
        } else {
            perCategory = try mask(categories, subject: subject, source: source, holdsKind: holds, test)
        }
        // A NaN category (pandas forbids them) counts as missing too: `mask` gave it `false`.
        let onMissing = test.onMissing
        guard case .fixed(let bytes) = c.codes.storage, c.codes.shape.count == 1 else {
            throw .invalidElement(path: source.path(in: path), reason: "\(subject): the categorical codes are not a 1-D integer array")
        }
        switch c.codes.dataType {
        case .int8, .int16, .int32, .int64: break
        default:
            throw .invalidElement(path: source.path(in: path), reason: "\(subject): categorical codes of type \(c.codes.dataType), expected a signed integer type")
        }
        let n = c.codes.count
        var bad: Int? = nil
        let out: [Bool] = perCategory.withUnsafeBufferPointer { pc in
            bytes.withUnsafeBytes { raw -> [Bool] in
                func run<T: BinaryInteger & BitwiseCopyable>(_: T.Type) -> [Bool] {
                    Self.scan(raw, n, T.self) { code in
                        let i = Int(truncatingIfNeeded: code)
                        if i >= 0 && i < pc.count { return pc[i] }
                        if i != -1, bad == nil { bad = i }
                        return onMissing
                    }
                }
                switch c.codes.dataType {
                case .int8: return run(Int8.self)
                case .int16: return run(Int16.self)
                case .int32: return run(Int32.self)
                case .int64: return run(Int64.self)
                default: return []
                }
            }
        }
        if let bad {
            throw .invalidElement(path: source.path(in: path), reason: "\(subject): categorical code \(bad) is out of range for \(nc) categories")
        }
        return out
    }

    /// The categories as `mask` sees them, with messages describing them as `holdsKind`.
    func mask(_ categories: Column, subject: String, source: QuerySource, holdsKind: String, _ test: AtomTest) throws(AnnDataError) -> [Bool] {
        guard case .array(let a) = categories else { return try mask(categories, subject: subject, source: source, test) }
        return try arrayMask(a, missing: nil, subject: subject, holdsKind: holdsKind, source: source, test)
    }

    static func shownCategories(_ cats: NDArray) -> String {
        let shown: [String]
        if isStringType(cats.dataType) {
            shown = ((try? cats.strings()) ?? []).prefix(10).map { QueryValue.string($0).description }
        } else {
            shown = ((try? cats.doubles()) ?? []).prefix(10).map { d in
                if let i = Int64(exactly: d) { return String(i) }
                return d.description
            }
        }
        return shown.joined(separator: ", ") + (cats.count > 10 ? ", ... (\(cats.count) in all)" : "")
    }
}
