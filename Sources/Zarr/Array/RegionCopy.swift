/// Copies of rectangular regions between C-ordered buffers, in contiguous runs.
enum RegionCopy {
    /// Copies the box of extent `extent` at `srcOrigin` in a `srcShape` buffer to `dstOrigin`
    /// in a `dstShape` buffer. Elements are `itemSize` bytes.
    static func copy(
        from src: UnsafeRawPointer, srcShape: [Int], srcOrigin: [Int],
        to dst: UnsafeMutableRawPointer, dstShape: [Int], dstOrigin: [Int],
        extent: [Int], itemSize: Int
    ) {
        let rank = extent.count
        if extent.contains(0) { return }
        if rank == 0 { dst.copyMemory(from: src, byteCount: itemSize); return }
        // Collapse trailing dimensions that are whole in both buffers into one contiguous run.
        var runDims = 1
        var run = extent[rank - 1]
        while runDims < rank {
            let d = rank - runDims
            guard extent[d] == srcShape[d], extent[d] == dstShape[d], srcOrigin[d] == 0, dstOrigin[d] == 0 else { break }
            run *= extent[d - 1]
            runDims += 1
        }
        let runBytes = run * itemSize
        var srcStrides = [Int](repeating: itemSize, count: rank)
        var dstStrides = [Int](repeating: itemSize, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) {
            srcStrides[d] = srcStrides[d + 1] * srcShape[d + 1]
            dstStrides[d] = dstStrides[d + 1] * dstShape[d + 1]
        }
        var srcOff = 0, dstOff = 0
        for d in 0..<rank { srcOff += srcOrigin[d] * srcStrides[d]; dstOff += dstOrigin[d] * dstStrides[d] }
        let outer = rank - runDims  // dimensions iterated one by one
        if outer == 0 { (dst + dstOff).copyMemory(from: src + srcOff, byteCount: runBytes); return }
        var idx = [Int](repeating: 0, count: outer)
        while true {
            (dst + dstOff).copyMemory(from: src + srcOff, byteCount: runBytes)
            var d = outer - 1
            while d >= 0 {
                idx[d] += 1
                srcOff += srcStrides[d]
                dstOff += dstStrides[d]
                if idx[d] < extent[d] { break }
                srcOff -= srcStrides[d] * extent[d]
                dstOff -= dstStrides[d] * extent[d]
                idx[d] = 0
                d -= 1
            }
            if d < 0 { return }
        }
    }

    /// The same copy for variable-length elements.
    static func copy(
        from src: [[UInt8]], srcShape: [Int], srcOrigin: [Int],
        to dst: inout [[UInt8]], dstShape: [Int], dstOrigin: [Int], extent: [Int]
    ) {
        let rank = extent.count
        if extent.contains(0) { return }
        if rank == 0 { dst[0] = src[0]; return }
        var srcStrides = [Int](repeating: 1, count: rank)
        var dstStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) {
            srcStrides[d] = srcStrides[d + 1] * srcShape[d + 1]
            dstStrides[d] = dstStrides[d + 1] * dstShape[d + 1]
        }
        var idx = [Int](repeating: 0, count: rank)
        while true {
            var s = 0, t = 0
            for d in 0..<rank { s += (srcOrigin[d] + idx[d]) * srcStrides[d]; t += (dstOrigin[d] + idx[d]) * dstStrides[d] }
            dst[t] = src[s]
            var d = rank - 1
            while d >= 0 {
                idx[d] += 1
                if idx[d] < extent[d] { break }
                idx[d] = 0
                d -= 1
            }
            if d < 0 { return }
        }
    }

    /// Copies a region between two `NDArray`s of the same type, in place: `dst`'s buffer is
    /// taken out of it while the bytes are copied, so it is never copied itself (a `switch` over
    /// both storages would keep a second reference alive and make every call copy the whole
    /// destination: quadratic when a shard is assembled from its inner chunks).
    static func copy(from src: NDArray, srcOrigin: [Int], to dst: inout NDArray, dstOrigin: [Int], extent: [Int]) {
        if case .fixed(let s) = src.storage {
            guard case .fixed(var d) = dst.storage else { return }
            dst.storage = .fixed([])
            let size = src.dataType.itemSize ?? 1
            s.withUnsafeBytes { sp in
                d.withUnsafeMutableBytes { dp in
                    guard let sb = sp.baseAddress, let db = dp.baseAddress else { return }
                    copy(from: sb, srcShape: src.shape, srcOrigin: srcOrigin, to: db, dstShape: dst.shape,
                         dstOrigin: dstOrigin, extent: extent, itemSize: size)
                }
            }
            dst.storage = .fixed(d)
        } else if case .variable(let s) = src.storage {
            guard case .variable(var d) = dst.storage else { return }
            dst.storage = .variable([])
            copy(from: s, srcShape: src.shape, srcOrigin: srcOrigin, to: &d, dstShape: dst.shape, dstOrigin: dstOrigin, extent: extent)
            dst.storage = .variable(d)
        }
    }
}

extension RegionCopy {
    /// Fills the box of extent `extent` at `origin` in a `shape` buffer with `element`, in
    /// place: the first contiguous run is filled (by doubling copies), the others copied from
    /// it, so no memory is allocated however large the box.
    static func fill(_ dst: UnsafeMutableRawPointer, shape: [Int], origin: [Int], extent: [Int], element: [UInt8]) {
        let size = element.count
        guard size > 0, !extent.contains(0) else { return }
        let rank = extent.count
        let zero = element.allSatisfy { $0 == 0 }
        func fillRun(_ p: UnsafeMutableRawPointer, bytes: Int) {
            if zero { p.initializeMemory(as: UInt8.self, repeating: 0, count: bytes); return }
            element.withUnsafeBytes { e in
                guard let eb = e.baseAddress else { return }
                p.copyMemory(from: eb, byteCount: size)
            }
            var done = size
            while done < bytes {
                let n = Swift.min(done, bytes - done)
                (p + done).copyMemory(from: p, byteCount: n)
                done += n
            }
        }
        if rank == 0 { fillRun(dst, bytes: size); return }
        // Collapse trailing dimensions that are whole in the buffer into one contiguous run.
        var runDims = 1
        var run = extent[rank - 1]
        while runDims < rank {
            let d = rank - runDims
            guard extent[d] == shape[d], origin[d] == 0 else { break }
            run *= extent[d - 1]
            runDims += 1
        }
        let runBytes = run * size
        var strides = [Int](repeating: size, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
        var off = 0
        for d in 0..<rank { off += origin[d] * strides[d] }
        let first = dst + off
        fillRun(first, bytes: runBytes)
        let outer = rank - runDims
        if outer == 0 { return }
        var idx = [Int](repeating: 0, count: outer)
        var cur = off
        while true {
            var d = outer - 1
            while d >= 0 {
                idx[d] += 1
                cur += strides[d]
                if idx[d] < extent[d] { break }
                cur -= strides[d] * extent[d]
                idx[d] = 0
                d -= 1
            }
            if d < 0 { return }
            (dst + cur).copyMemory(from: first, byteCount: runBytes)
        }
    }

    /// Whether the box at `origin` of `extent` is one contiguous span of a `shape` buffer.
    static func isContiguous(shape: [Int], origin: [Int], extent: [Int]) -> Bool {
        var d = shape.count - 1
        while d > 0 && extent[d] == shape[d] { d -= 1 }
        // Dimensions before d must have extent 1.
        for k in 0..<max(d, 0) where extent[k] != 1 { return false }
        return true
    }

    /// The byte offset of `origin` in a C-ordered `shape` buffer.
    static func offset(of origin: [Int], shape: [Int], itemSize: Int) -> Int {
        var off = 0
        for d in 0..<shape.count { off = off * shape[d] + origin[d] }
        return off * itemSize
    }
}
