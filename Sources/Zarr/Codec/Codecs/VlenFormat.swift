/// The shared format of `vlen-utf8` and `vlen-bytes`: a u32 LE element count, then per element
/// (C order) a u32 LE byte length and the bytes. numcodecs' v2 filters use the same bytes.
enum VlenFormat {
    /// The bytes of a chunk of variable-length elements.
    static func encode(_ chunk: NDArray, codec: String) throws(ZarrError) -> [UInt8] {
        guard case .variable(let items) = chunk.storage else {
            throw .codecFailure(codec: codec, reason: "\(chunk.dataType) is not a variable-length type")
        }
        var out: [UInt8] = []
        out.reserveCapacity(4 + items.reduce(0) { $0 + 4 + $1.count })
        func u32(_ v: Int) { let x = UInt32(truncatingIfNeeded: v); out.append(contentsOf: [UInt8(x & 255), UInt8(x >> 8 & 255), UInt8(x >> 16 & 255), UInt8(x >> 24)]) }
        u32(items.count)
        for item in items { u32(item.count); out.append(contentsOf: item) }
        return out
    }

    /// The elements of a chunk of `spec`; every length is checked against the input, and
    /// UTF-8 is validated when asked.
    static func decode(_ bytes: [UInt8], spec: ChunkSpec, codec: String, validateUTF8: Bool) throws(ZarrError) -> NDArray {
        func u32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        guard bytes.count >= 4 else { throw .codecFailure(codec: codec, reason: "missing the element count") }
        let n = u32(0)
        guard n == spec.count else { throw .codecFailure(codec: codec, reason: "\(n) elements, expected \(spec.count)") }
        // Every element takes at least its 4-byte length: a count the input cannot hold is
        // refused before the element list is allocated.
        guard n <= (bytes.count - 4) / 4 else {
            throw .codecFailure(codec: codec, reason: "\(n) elements cannot fit in \(bytes.count) bytes")
        }
        try LargeBuffer.checkAllocatable(n * MemoryLayout<[UInt8]>.stride, what: "\(n) \(codec) elements")
        var items: [[UInt8]] = []
        items.reserveCapacity(n)
        var p = 4
        for _ in 0..<n {
            guard p + 4 <= bytes.count else { throw .codecFailure(codec: codec, reason: "truncated") }
            let len = u32(p)
            p += 4
            guard len <= bytes.count - p else { throw .codecFailure(codec: codec, reason: "truncated") }
            let item = Array(bytes[p..<p + len])
            if validateUTF8, String(validating: item, as: UTF8.self) == nil {
                throw .codecFailure(codec: codec, reason: "invalid UTF-8")
            }
            items.append(item)
            p += len
        }
        guard p == bytes.count else { throw .codecFailure(codec: codec, reason: "\(bytes.count - p) bytes after the last element") }
        return try NDArray(dataType: spec.dataType, shape: spec.shape, storage: .variable(items))
    }
}
