import Zarr

/// One column of a data frame (or its index): a 1-D element of the kinds anndata allows there.
public enum Column: Sendable, Equatable {
    /// Numbers or bools (`array`).
    case array(NDArray)
    /// Strings without missing values (`string-array`).
    case strings([String])
    /// A categorical (`categorical`).
    case categorical(Categorical)
    /// Masked integers (`nullable-integer`).
    case nullableInteger(NullableArray)
    /// Masked bools (`nullable-boolean`).
    case nullableBoolean(NullableArray)
    /// Masked strings (`nullable-string-array`).
    case nullableStrings(NullableStrings)

    /// The number of values.
    public var count: Int {
        switch self {
        case .array(let a): return a.shape.first ?? 0
        case .strings(let s): return s.count
        case .categorical(let c): return c.count
        case .nullableInteger(let n), .nullableBoolean(let n): return n.count
        case .nullableStrings(let n): return n.count
        }
    }

    /// The element this column is stored as.
    public var element: Element {
        switch self {
        case .array(let a): return .array(a)
        case .strings(let s): return .strings(s)
        case .categorical(let c): return .categorical(c)
        case .nullableInteger(let n): return .nullableInteger(n)
        case .nullableBoolean(let n): return .nullableBoolean(n)
        case .nullableStrings(let n): return .nullableStrings(n)
        }
    }

    /// The column an element read from `path` represents; throws unless it is 1-D and of a
    /// column kind.
    public init(_ element: Element, path: String) throws(AnnDataError) {
        switch element {
        case .array(let a) where a.shape.count == 1: self = .array(a)
        case .strings(let a) where a.shape.count == 1:
            do { self = .strings(try a.strings()) } catch { throw .invalidElement(path: path, reason: error.description) }
        case .categorical(let c): self = .categorical(c)
        case .nullableInteger(let n): self = .nullableInteger(n)
        case .nullableBoolean(let n): self = .nullableBoolean(n)
        case .nullableStrings(let n): self = .nullableStrings(n)
        default:
            throw .invalidElement(path: path, reason: "a data frame column must be a 1-D array, string array, categorical or nullable array, not \(element.encodingType) of shape \(element.shape ?? [])")
        }
    }

    /// The values as strings with `nil` for missing ones, for a string or nullable-string
    /// column (the index of a data frame); `nil` for other kinds.
    public var stringValues: [String?]? {
        switch self {
        case .strings(let s): return s
        case .nullableStrings(let n): return n.optionalValues
        default: return nil
        }
    }
}
