#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `shuffle` (numcodecs id `shuffle`; in v3 metadata it appears as `numcodecs.shuffle`): the
/// byte shuffle of numcodecs' `Shuffle` filter and of HDF5's shuffle filter (H5Z_FILTER_SHUFFLE,
/// which h5py's `shuffle=True` writes). For `n = count / elementsize` elements, byte `j` of
/// element `i` moves to position `j * n + i`: all first bytes, then all second bytes, and so on.
/// The `count % elementsize` trailing bytes stay unchanged at the end, as HDF5 leaves them
/// (numcodecs refuses such buffers). An element size of 1 or less is the identity.
///
/// The size never changes, so a compressor after it still knows the chunk's decoded size.
/// Element sizes 2, 4 and 8 have their own loops, which the compiler vectorises.
public struct ShuffleCodec: BytesToBytesCodec, V2Codec {
    /// The v3 name, `shuffle` (not a registered v3 codec; written as `numcodecs.shuffle`).
    public static let v3Name = "shuffle"
    /// The numcodecs id, `shuffle`.
    public static let v2ID: String? = "shuffle"
    /// A bytes→bytes codec (in v2 metadata, a filter).
    public static let kind = CodecKind.bytesToBytes
    /// Written as `numcodecs.shuffle` in v3 metadata, as zarr-python writes numcodecs filters.
    public var v3WrittenName: String { "numcodecs.shuffle" }

    /// The size in bytes of one element; 1 or less leaves the bytes as they are.
    public var elementSize: Int

    /// A shuffle of elements of `elementSize` bytes (numcodecs' default is 4).
    public init(elementSize: Int = 4) {
        self.elementSize = elementSize
    }

    /// Reads `{"elementsize": n}`; a missing value means 4, as in numcodecs.
    public init(v3Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        elementSize = try c.int("elementsize", codec: "numcodecs.shuffle") ?? 4
    }

    /// Reads `{"id": "shuffle", "elementsize": n}`.
    public init(v2Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        try self.init(v3Configuration: c, spec: spec)
    }

    /// `{"elementsize": n}`.
    public var v3Configuration: JSONObject? { ["elementsize": .integer(elementSize)] }
    /// `{"id": "shuffle", "elementsize": n}`.
    public var v2Configuration: JSONObject { ["id": "shuffle", "elementsize": .integer(elementSize)] }

    /// The same size as the input.
    public func encodedSize(_ n: Int) -> Int? { n }

    /// Shuffles the bytes.
    public func encode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        try transform(bytes, unshuffle: false)
    }

    /// Puts the bytes of each element back together.
    public func decode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        try transform(bytes, unshuffle: true)
    }

    /// Unshuffles; the output has the input's size, and the input is already in memory, so
    /// no allocation beyond it is at stake. Output beyond `limit` is refused.
    public func decode(_ bytes: [UInt8], expectedSize: Int?, limit: Int) throws(ZarrError) -> [UInt8] {
        guard bytes.count <= limit else {
            throw .codecFailure(codec: v3WrittenName, reason: "decoded \(bytes.count) bytes, more than the \(limit) the chunk can hold")
        }
        return try decode(bytes)
    }

    /// Unshuffles straight into `destination` when it has the input's size.
    public func decode(_ bytes: [UInt8], into destination: UnsafeMutableRawBufferPointer) throws(ZarrError) -> Bool {
        guard bytes.count == destination.count, let dst = destination.baseAddress, !bytes.isEmpty else { return false }
        bytes.withUnsafeBytes { src in
            if let s = src.baseAddress { Self.unshuffle(s, into: dst, count: src.count, elementSize: elementSize) }
        }
        return true
    }

    func transform(_ bytes: [UInt8], unshuffle: Bool) throws(ZarrError) -> [UInt8] {
        if elementSize <= 1 || bytes.count / elementSize < 2 { return bytes }  // nothing moves
        let n = bytes.count
        let size = elementSize
        return try LargeBuffer.bytes(n, what: "shuffle output") { out in
            guard let dst = out.baseAddress else { return 0 }
            bytes.withUnsafeBytes { src in
                guard let s = src.baseAddress else { return }
                if unshuffle {
                    Self.unshuffle(s, into: UnsafeMutableRawPointer(dst), count: n, elementSize: size)
                } else {
                    Self.shuffle(s, into: UnsafeMutableRawPointer(dst), count: n, elementSize: size)
                }
            }
            return n
        }
    }

    // MARK: Kernels

    /// Shuffles `count` bytes of elements of `elementSize` bytes from `src` into `dst` (which
    /// must not overlap): `dst[j * n + i] = src[i * elementSize + j]`, the trailing
    /// `count % elementSize` bytes copied unchanged.
    public static func shuffle(_ src: UnsafeRawPointer, into dst: UnsafeMutableRawPointer, count: Int, elementSize: Int) {
        guard count > 0 else { return }
        let n = elementSize > 1 ? count / elementSize : 0
        guard n > 1 else {  // one element or none: nothing moves
            memcpy(dst, src, count)
            return
        }
        let s = src.assumingMemoryBound(to: UInt8.self)
        let d = dst.assumingMemoryBound(to: UInt8.self)
        switch elementSize {
        case 2:
            let d0 = d, d1 = d + n
            for i in 0..<n {
                d0[i] = s[2 &* i]; d1[i] = s[2 &* i &+ 1]
            }
        case 4:
            let d0 = d, d1 = d + n, d2 = d + 2 * n, d3 = d + 3 * n
            for i in 0..<n {
                let b = 4 &* i
                d0[i] = s[b]; d1[i] = s[b &+ 1]; d2[i] = s[b &+ 2]; d3[i] = s[b &+ 3]
            }
        case 8:
            let d0 = d, d1 = d + n, d2 = d + 2 * n, d3 = d + 3 * n
            let d4 = d + 4 * n, d5 = d + 5 * n, d6 = d + 6 * n, d7 = d + 7 * n
            for i in 0..<n {
                let b = 8 &* i
                d0[i] = s[b]; d1[i] = s[b &+ 1]; d2[i] = s[b &+ 2]; d3[i] = s[b &+ 3]
                d4[i] = s[b &+ 4]; d5[i] = s[b &+ 5]; d6[i] = s[b &+ 6]; d7[i] = s[b &+ 7]
            }
        default:
            for j in 0..<elementSize {
                let dj = d + j * n
                let sj = s + j
                for i in 0..<n { dj[i] = sj[i &* elementSize] }
            }
        }
        let done = n * elementSize
        if done < count { memcpy(dst + done, src + done, count - done) }
    }

    /// The inverse of `shuffle`: `dst[i * elementSize + j] = src[j * n + i]`, the trailing
    /// `count % elementSize` bytes copied unchanged. `src` and `dst` must not overlap.
    public static func unshuffle(_ src: UnsafeRawPointer, into dst: UnsafeMutableRawPointer, count: Int, elementSize: Int) {
        guard count > 0 else { return }
        let n = elementSize > 1 ? count / elementSize : 0
        guard n > 1 else {  // one element or none: nothing moves
            memcpy(dst, src, count)
            return
        }
        let s = src.assumingMemoryBound(to: UInt8.self)
        let d = dst.assumingMemoryBound(to: UInt8.self)
        switch elementSize {
        case 2:
            let s0 = s, s1 = s + n
            for i in 0..<n {
                d[2 &* i] = s0[i]; d[2 &* i &+ 1] = s1[i]
            }
        case 4:
            let s0 = s, s1 = s + n, s2 = s + 2 * n, s3 = s + 3 * n
            for i in 0..<n {
                let b = 4 &* i
                d[b] = s0[i]; d[b &+ 1] = s1[i]; d[b &+ 2] = s2[i]; d[b &+ 3] = s3[i]
            }
        case 8:
            let s0 = s, s1 = s + n, s2 = s + 2 * n, s3 = s + 3 * n
            let s4 = s + 4 * n, s5 = s + 5 * n, s6 = s + 6 * n, s7 = s + 7 * n
            for i in 0..<n {
                let b = 8 &* i
                d[b] = s0[i]; d[b &+ 1] = s1[i]; d[b &+ 2] = s2[i]; d[b &+ 3] = s3[i]
                d[b &+ 4] = s4[i]; d[b &+ 5] = s5[i]; d[b &+ 6] = s6[i]; d[b &+ 7] = s7[i]
            }
        default:
            for j in 0..<elementSize {
                let sj = s + j * n
                let dj = d + j
                for i in 0..<n { dj[i &* elementSize] = sj[i] }
            }
        }
        let done = n * elementSize
        if done < count { memcpy(dst + done, src + done, count - done) }
    }
}
