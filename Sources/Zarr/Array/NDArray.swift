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
        let n = try Self.elementCount(shape)
        switch storage {
        case .fixed(let b):
            guard let size = dataType.itemSize, case (let total, false) = n.multipliedReportingOverflow(by: size), b.count == total else {
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

    /// The number of elements of `shape`; a negative extent or a product that overflows is
    /// a typed error.
    public static func elementCount(_ shape: [Int]) throws(ZarrError) -> Int {
        var n = 1
        for s in shape {
            guard s >= 0 else { throw .valueMismatch("negative extent in shape \(shape)") }
            let (p, o) = n.multipliedReportingOverflow(by: s)
            guard !o else { throw .valueMismatch("shape \(shape) has more elements than can be counted") }
            n = p
        }
        return n
    }

    /// An array of `shape` where every element is `fill`, or a typed error when the shape
    /// overflows or its memory cannot be allocated (see `LargeBuffer`).
    public init(filling fill: FillValue, dataType: DataType, shape: [Int]) throws(ZarrError) {
        let n = try Self.elementCount(shape)
        self.dataType = dataType
        self.shape = shape
        if let size = dataType.itemSize {
            let total = try LargeBuffer.checkedBytes(count: n, itemSize: size, what: "an array of shape \(shape)")
            let e = fill.elementBytes(for: dataType)
            if e.allSatisfy({ $0 == 0 }) || e.count != size {
                storage = .fixed(try LargeBuffer.zeros(total, what: "an array of shape \(shape)"))
            } else {
                storage = .fixed(try LargeBuffer.bytes(total, what: "an array of shape \(shape)") { buf in
                    guard let base = buf.baseAddress, total > 0 else { return 0 }
                    e.withUnsafeBufferPointer { eb in
                        guard let ep = eb.baseAddress else { return }
                        for i in 0..<n { (base + i * size).initialize(from: ep, count: size) }
                    }
                    return total
                })
            }
        } else {
            _ = try LargeBuffer.checkedBytes(count: n, itemSize: MemoryLayout<[UInt8]>.stride, what: "an array of shape \(shape)")
            storage = .variable([[UInt8]](repeating: fill.elementBytes(for: dataType), count: n))
        }
    }

    /// An array of `shape` where every element is `fill`. The shape must be one whose memory
    /// can be had (a valid chunk or array shape); `init(filling:dataType:shape:)` checks it.
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
