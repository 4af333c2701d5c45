import Zarr

/// A pandas categorical: integer codes into an ordered list of categories (`-1` = missing).
public struct Categorical: Sendable, Equatable {
    /// The codes (1-D, signed integer; `-1` marks a missing value).
    public var codes: NDArray
    /// The categories: a string array or a numeric array (1-D). Their order is significant.
    public var categories: NDArray
    /// Whether the categories are ordered.
    public var ordered: Bool

    /// A categorical, checked with `validate(path:)`.
    public init(codes: NDArray, categories: NDArray, ordered: Bool = false) throws(AnnDataError) {
        self.codes = codes
        self.categories = categories
        self.ordered = ordered
        try validate(path: "")
    }

    init(unchecked codes: NDArray, categories: NDArray, ordered: Bool) {
        self.codes = codes; self.categories = categories; self.ordered = ordered
    }

    /// A categorical of strings from codes (`Int8` codes when there are fewer than 128
    /// categories, as pandas chooses, else `Int16`/`Int32`).
    public init(codes: [Int], categories: [String], ordered: Bool = false) throws(AnnDataError) {
        do {
            let cats = try NDArray(strings: categories, shape: [categories.count])
            try self.init(codes: try Categorical.packCodes(codes, categoryCount: categories.count), categories: cats, ordered: ordered)
        } catch let e as AnnDataError { throw e } catch { throw .invalidElement(path: "", reason: "\(error)") }
    }

    /// Codes in the narrowest signed type pandas would use for `categoryCount` categories;
    /// throws when a code is outside `-1..<categoryCount` (it would not fit, or be wrong).
    public static func packCodes(_ codes: [Int], categoryCount: Int) throws -> NDArray {
        if let bad = codes.firstIndex(where: { $0 < -1 || $0 >= categoryCount }) {
            throw AnnDataError.invalidElement(
                path: "", reason: "code \(codes[bad]) at position \(bad) is out of range for \(categoryCount) categories")
        }
        if categoryCount < 128 { return try NDArray(codes.map { Int8(truncatingIfNeeded: $0) }, shape: [codes.count]) }
        if categoryCount < 32768 { return try NDArray(codes.map { Int16(truncatingIfNeeded: $0) }, shape: [codes.count]) }
        return try NDArray(codes.map { Int32(truncatingIfNeeded: $0) }, shape: [codes.count])
    }

    /// The number of values.
    public var count: Int { codes.count }

    /// The codes as `Int`.
    public var codeValues: [Int] { IntegerView.ints(codes) }

    /// The problems of this categorical (empty when valid).
    public func problems() -> [String] {
        var out: [String] = []
        switch codes.dataType {
        case .int8, .int16, .int32, .int64: break
        default: return ["codes have type \(codes.dataType), expected a signed integer type"]
        }
        if codes.shape.count != 1 { out.append("codes are not 1-D (shape \(codes.shape))") }
        if categories.shape.count != 1 { out.append("categories are not 1-D (shape \(categories.shape))") }
        let n = categories.count
        if let bad = IntegerView.firstIndex(codes, outside: -1..<n) {
            out.append("code \(IntegerView.value(codes, at: bad)) at position \(bad) is out of range for \(n) categories")
        }
        return out
    }

    /// Throws `invalidElement` naming `path` when `problems()` is not empty.
    public func validate(path: String) throws(AnnDataError) {
        let p = problems()
        if !p.isEmpty { throw .invalidElement(path: path, reason: p.joined(separator: "; ")) }
    }
}
