import Zarr

/// A matrix-like element: `X`, a layer, or an `obsp`/`varp` entry.
public enum Matrix: Sendable, Equatable {
    /// A dense array (numeric or bool).
    case dense(NDArray)
    /// A CSR or CSC matrix.
    case sparse(SparseMatrix)

    /// The shape.
    public var shape: [Int] {
        switch self {
        case .dense(let a): return a.shape
        case .sparse(let s): return s.shape
        }
    }

    /// The value type.
    public var dataType: DataType {
        switch self {
        case .dense(let a): return a.dataType
        case .sparse(let s): return s.data.dataType
        }
    }

    /// The element this matrix is stored as.
    public var element: Element {
        switch self {
        case .dense(let a): return .array(a)
        case .sparse(let s): return .sparse(s)
        }
    }

    /// The matrix an element read from `path` represents.
    public init(_ element: Element, path: String) throws(AnnDataError) {
        switch element {
        case .array(let a): self = .dense(a)
        case .sparse(let s): self = .sparse(s)
        default:
            throw .invalidElement(path: path, reason: "expected a dense or sparse matrix, found \(element.encodingType)")
        }
    }

    /// The dense values (converting a sparse matrix).
    public func toDense() throws(AnnDataError) -> NDArray {
        switch self {
        case .dense(let a): return a
        case .sparse(let s): return try s.toDense()
        }
    }
}
