extension NDArray {
    /// The elements at `indices` along `axis` (any order, repeats allowed), every other axis
    /// whole: numpy's `take(indices, axis)`.
    ///
    /// Cost: one pass over the result; each selected slab (the product of the axes after
    /// `axis`) is copied as one contiguous run.
    public func taking(_ indices: [Int], axis: Int = 0) throws(ZarrError) -> NDArray {
        guard axis >= 0, axis < shape.count else {
            throw .invalidSelection("axis \(axis) of an array of rank \(shape.count)")
        }
        let n = shape[axis]
        if let bad = indices.first(where: { $0 < 0 || $0 >= n }) {
            throw .invalidSelection("index \(bad) is outside 0:\(n) on axis \(axis)")
        }
        var outShape = shape
        outShape[axis] = indices.count
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        switch storage {
        case .fixed(let bytes):
            let size = dataType.itemSize ?? 1
            let run = inner * size
            let total = try LargeBuffer.checkedBytes(count: try Self.elementCount(outShape), itemSize: size, what: "a selection of shape \(outShape)")
            let out = try LargeBuffer.bytes(total, what: "a selection of shape \(outShape)") { dst in
                guard let d = dst.baseAddress, total > 0 else { return 0 }
                bytes.withUnsafeBytes { src in
                    guard let s = src.baseAddress else { return }
                    var o = 0
                    for block in 0..<outer {
                        let base = block * n * run
                        for i in indices {
                            UnsafeMutableRawPointer(d + o).copyMemory(from: s + base + i * run, byteCount: run)
                            o += run
                        }
                    }
                }
                return total
            }
            return try NDArray(dataType: dataType, shape: outShape, storage: .fixed(out))
        case .variable(let values):
            var out: [[UInt8]] = []
            out.reserveCapacity(outer * indices.count * inner)
            for block in 0..<outer {
                let base = block * n * inner
                for i in indices { out.append(contentsOf: values[(base + i * inner)..<(base + (i + 1) * inner)]) }
            }
            return try NDArray(dataType: dataType, shape: outShape, storage: .variable(out))
        }
    }

    /// The arrays joined along the first axis (numpy's `concatenate(parts, axis=0)`); every
    /// part must have this type and the same extent on the other axes.
    public static func concatenating(_ parts: [NDArray], dataType: DataType, trailingShape: [Int]) throws(ZarrError) -> NDArray {
        var rows = 0
        for p in parts {
            guard p.dataType == dataType, p.shape.count == trailingShape.count + 1, Array(p.shape.dropFirst()) == trailingShape else {
                throw .valueMismatch("cannot join an array of \(p.dataType) \(p.shape) to arrays of \(dataType) [_, \(trailingShape)]")
            }
            rows += p.shape[0]
        }
        let shape = [rows] + trailingShape
        if dataType.itemSize != nil {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(parts.reduce(0) { $0 + $1.bytes.count })
            for p in parts { bytes.append(contentsOf: p.bytes) }
            return try NDArray(dataType: dataType, shape: shape, storage: .fixed(bytes))
        }
        var values: [[UInt8]] = []
        values.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for p in parts { values.append(contentsOf: p.elements) }
        return try NDArray(dataType: dataType, shape: shape, storage: .variable(values))
    }

    /// Rows `range` of the first axis (a copy).
    public func rows(_ range: Range<Int>) throws(ZarrError) -> NDArray {
        guard let first = shape.first, range.lowerBound >= 0, range.upperBound <= first else {
            throw .invalidSelection("rows \(range) of an array of shape \(shape)")
        }
        let inner = shape.dropFirst().reduce(1, *)
        var outShape = shape
        outShape[0] = range.count
        switch storage {
        case .fixed(let b):
            let size = dataType.itemSize ?? 1
            return try NDArray(dataType: dataType, shape: outShape, storage: .fixed(Array(b[(range.lowerBound * inner * size)..<(range.upperBound * inner * size)])))
        case .variable(let v):
            return try NDArray(dataType: dataType, shape: outShape, storage: .variable(Array(v[(range.lowerBound * inner)..<(range.upperBound * inner)])))
        }
    }
}
