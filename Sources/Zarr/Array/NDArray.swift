/// An in-memory n-dimensional array in C order: the values of a selection, a chunk, or a
/// whole array. Fixed-size elements are packed little-endian bytes; variable-length elements
/// (strings, byte strings) are one byte array each.
public struct NDArray: Sendable, Equatable {
    /// How the elements are held.
    public enum Storage: Sendable, Equatable {
        /// Packed fixed-size elements, little-endian.
        case fixed([UInt8])
        /// One byte string per element (UTF-8 for `.string`).
        case variable([[UInt8]])
    }

    /// The element type.
    public var dataType: DataType
    /// The extent of each dimension; `[]` for a 0-d scalar.
    public var shape: [Int]
    /// The elements.
    public var storage: Storage

    /// The number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// An array from its parts; throws if the storage does not match the shape and type.
    public init(dataType: DataType, shape: [Int], storage: Storage) throws(ZarrError) {
        let n = shape.reduce(1, *)
        switch storage {
        case .fixed(let b):
            guard let size = dataType.itemSize, b.count == n * size else {
                throw .valueMismatch("\(b.count) bytes for \(n) elements of \(dataType)")
            }
        case .variable(let v):
            guard dataType.isVariableLength, v.count == n else {
                throw .valueMismatch("\(v.count) values for \(n) elements of \(dataType)")
            }
        }
        self.dataType = dataType
        self.shape = shape
        self.storage = storage
    }

    /// An array of `shape` where every element is `fill`.
    public init(repeating fill: FillValue, dataType: DataType, shape: [Int]) {
        self.dataType = dataType
        self.shape = shape
        let n = shape.reduce(1, *)
        if let size = dataType.itemSize {
            let e = fill.elementBytes(for: dataType)
            if e.allSatisfy({ $0 == 0 }) || e.count != size {
                storage = .fixed([UInt8](repeating: 0, count: n * size))
            } else {
                var b = [UInt8]()
                b.reserveCapacity(n * size)
                for _ in 0..<n { b.append(contentsOf: e) }
                storage = .fixed(b)
            }
        } else {
            storage = .variable([[UInt8]](repeating: fill.elementBytes(for: dataType), count: n))
        }
    }

    /// The packed bytes of a fixed-size array (empty for variable-length ones).
    public var bytes: [UInt8] {
        if case .fixed(let b) = storage { return b }
        return []
    }

    /// The elements of a variable-length array (empty for fixed-size ones).
    public var elements: [[UInt8]] {
        if case .variable(let v) = storage { return v }
        return []
    }

    /// Whether every element equals `fill`.
    public func isAll(_ fill: FillValue) -> Bool {
        switch storage {
        case .fixed(let b):
            let e = fill.elementBytes(for: dataType)
            guard !e.isEmpty else { return b.isEmpty }
            if e.allSatisfy({ $0 == 0 }) { return b.allSatisfy { $0 == 0 } }
            return b.withUnsafeBytes { raw in
                e.withUnsafeBytes { er in
                    var i = 0
                    while i < raw.count {
                        if memcmpBytes(raw.baseAddress! + i, er.baseAddress!, e.count) != 0 { return false }
                        i += e.count
                    }
                    return true
                }
            }
        case .variable(let v):
            let e = fill.elementBytes(for: dataType)
            return v.allSatisfy { $0 == e }
        }
    }
}

@inline(__always)
func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Int32 {
    for i in 0..<n {
        let x = a.load(fromByteOffset: i, as: UInt8.self), y = b.load(fromByteOffset: i, as: UInt8.self)
        if x != y { return x < y ? -1 : 1 }
    }
    return 0
}
