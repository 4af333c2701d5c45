extension NDArray {
    /// The packed form used by values files (`anndata zarr read/write`): C order; fixed-size
    /// elements as held in memory (little-endian numbers, bool one byte, `U<n>` UTF-32LE, `S<n>`
    /// zero padded); variable-length elements as a u32 LE byte length followed by the bytes.
    public func packedBytes() -> [UInt8] {
        switch storage {
        case .fixed(let b): return b
        case .variable(let items):
            var out: [UInt8] = []
            out.reserveCapacity(items.reduce(0) { $0 + 4 + $1.count })
            for item in items {
                let n = UInt32(truncatingIfNeeded: item.count)
                out.append(contentsOf: [UInt8(n & 255), UInt8(n >> 8 & 255), UInt8(n >> 16 & 255), UInt8(n >> 24)])
                out.append(contentsOf: item)
            }
            return out
        }
    }

    /// Reads the packed form for `dataType` and `shape`; throws if the bytes do not fit.
    public init(packed bytes: [UInt8], dataType: DataType, shape: [Int]) throws(ZarrError) {
        let n = try Self.elementCount(shape)
        if let size = dataType.itemSize {
            let (total, overflow) = n.multipliedReportingOverflow(by: size)
            guard !overflow, bytes.count == total else {
                throw .valueMismatch("\(bytes.count) bytes; \(n) elements of \(dataType) need " + (overflow ? "more than can be counted" : "\(total)"))
            }
            if dataType == .bool, bytes.contains(where: { $0 > 1 }) { throw .valueMismatch("bool values must be 0 or 1") }
            try self.init(dataType: dataType, shape: shape, storage: .fixed(bytes))
            return
        }
        // Each element takes at least its 4-byte length.
        guard n <= bytes.count / 4 else { throw .valueMismatch("\(bytes.count) bytes cannot hold \(n) packed elements") }
        var items: [[UInt8]] = []
        items.reserveCapacity(n)
        var p = 0
        while p < bytes.count {
            guard p + 4 <= bytes.count else { throw .valueMismatch("the packed values end inside a length") }
            let len = Int(bytes[p]) | Int(bytes[p + 1]) << 8 | Int(bytes[p + 2]) << 16 | Int(bytes[p + 3]) << 24
            p += 4
            guard len <= bytes.count - p else { throw .valueMismatch("the packed values end inside an element") }
            let item = Array(bytes[p..<p + len])
            if dataType == .string, String(validating: item, as: UTF8.self) == nil {
                throw .valueMismatch("element \(items.count) is not valid UTF-8")
            }
            items.append(item)
            p += len
        }
        guard items.count == n else { throw .valueMismatch("\(items.count) packed elements; \(n) expected") }
        try self.init(dataType: dataType, shape: shape, storage: .variable(items))
    }
}
