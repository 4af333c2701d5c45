import Zarr

/// Any value anndata can store, one case per kind of element. `uns` holds these; so do `obsm`
/// and `varm` (arrays, sparse matrices, data frames, awkward arrays).
public indirect enum Element: Sendable, Equatable {
    /// A dense numeric or bool array of any rank >= 1 (`array`).
    case array(NDArray)
    /// Strings of any rank, as an `NDArray` of `.string` (`string-array`).
    case strings(NDArray)
    /// A CSR or CSC matrix (`csr_matrix` / `csc_matrix`).
    case sparse(SparseMatrix)
    /// A data frame (`dataframe`).
    case dataFrame(DataFrame)
    /// A categorical (`categorical`).
    case categorical(Categorical)
    /// A masked integer array (`nullable-integer`).
    case nullableInteger(NullableArray)
    /// A masked boolean array (`nullable-boolean`).
    case nullableBoolean(NullableArray)
    /// A masked string array (`nullable-string-array`).
    case nullableStrings(NullableStrings)
    /// A nested mapping (`dict`).
    case dict(OrderedDict<Element>)
    /// A 0-d numeric or bool value (`numeric-scalar`).
    case scalar(NDArray)
    /// One string (`string`).
    case string(String)
    /// Python `None` (`null`).
    case null
    /// An awkward array (`awkward-array`).
    case awkward(AwkwardArray)
    /// A numpy structured array (`rec-array`).
    case recArray(NDArray)
    /// A whole AnnData object (`anndata`, the root).
    case anndata(AnnData)
    /// The `raw` attribute (`raw`).
    case raw(Raw)

    /// The `encoding-type` this element is written with.
    public var encodingType: String {
        switch self {
        case .array: return "array"
        case .strings: return "string-array"
        case .sparse(let s): return s.format.encodingType
        case .dataFrame: return "dataframe"
        case .categorical: return "categorical"
        case .nullableInteger: return "nullable-integer"
        case .nullableBoolean: return "nullable-boolean"
        case .nullableStrings: return "nullable-string-array"
        case .dict: return "dict"
        case .scalar: return "numeric-scalar"
        case .string: return "string"
        case .null: return "null"
        case .awkward: return "awkward-array"
        case .recArray: return "rec-array"
        case .anndata: return "anndata"
        case .raw: return "raw"
        }
    }

    /// The length of the first axis, where the element has one (rows of a frame, length of an
    /// array or awkward array); `nil` for scalars, dicts and the like.
    public var firstDimension: Int? {
        switch self {
        case .array(let a), .strings(let a), .recArray(let a): return a.shape.first
        case .sparse(let s): return s.shape.first
        case .dataFrame(let d): return d.rowCount
        case .categorical(let c): return c.count
        case .nullableInteger(let n), .nullableBoolean(let n): return n.count
        case .nullableStrings(let n): return n.count
        case .awkward(let a): return a.length
        case .anndata(let a): return a.nObs
        case .dict, .scalar, .string, .null, .raw: return nil
        }
    }

    /// The full shape of array-like elements (`nil` for the others).
    public var shape: [Int]? {
        switch self {
        case .array(let a), .strings(let a), .recArray(let a), .scalar(let a): return a.shape
        case .sparse(let s): return s.shape
        case .dataFrame(let d): return [d.rowCount, d.columns.count]
        case .categorical(let c): return [c.count]
        case .nullableInteger(let n), .nullableBoolean(let n): return [n.count]
        case .nullableStrings(let n): return [n.count]
        case .awkward(let a): return [a.length]
        case .anndata(let a): return [a.nObs, a.nVars]
        case .string: return []
        case .dict, .null, .raw: return nil
        }
    }

    /// A string array element from Swift strings (1-D).
    public static func strings(_ values: [String]) -> Element {
        // A 1-D string NDArray cannot fail: the count always matches the shape.
        .strings((try? NDArray(strings: values, shape: [values.count])) ?? NDArray(repeating: .variable([]), dataType: .string, shape: [0]))
    }

    /// A numeric scalar from a Swift value.
    public static func scalar<T: ZarrScalar>(_ value: T) -> Element {
        .scalar((try? NDArray([value], shape: [])) ?? NDArray(repeating: .zero(for: T.zarrDataType), dataType: T.zarrDataType, shape: []))
    }
}
