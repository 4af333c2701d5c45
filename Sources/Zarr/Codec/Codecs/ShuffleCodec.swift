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
/// Element sizes 2 and 4 have their own loops, which the compiler vectorises; 8 transposes
/// blocks of 8×8 bytes in registers.
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
                let v = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 &* i, as: UInt16.self))
                d0[i] = UInt8(truncatingIfNeeded: v); d1[i] = UInt8(truncatingIfNeeded: v &>> 8)
            }
        case 4:
            let d0 = d, d1 = d + n, d2 = d + 2 * n, d3 = d + 3 * n
            for i in 0..<n {
                let v = UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 &* i, as: UInt32.self))
                d0[i] = UInt8(truncatingIfNeeded: v); d1[i] = UInt8(truncatingIfNeeded: v &>> 8)
                d2[i] = UInt8(truncatingIfNeeded: v &>> 16); d3[i] = UInt8(truncatingIfNeeded: v &>> 24)
            }
        case 8:
            // Blocks of 8 elements: an 8×8 byte transpose in registers, then the tail.
            var i = 0
            while i &+ 8 <= n {
                let p = src + 8 &* i
                var x = Words8(p, stride: 8)
                x.transpose()
                x.store(to: dst + i, stride: n)
                i &+= 8
            }
            while i < n {
                for j in 0..<8 { d[j &* n &+ i] = s[8 &* i &+ j] }
                i &+= 1
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
                let v = UInt32(s0[i]) | UInt32(s1[i]) &<< 8 | UInt32(s2[i]) &<< 16 | UInt32(s3[i]) &<< 24
                dst.storeBytes(of: v.littleEndian, toByteOffset: 4 &* i, as: UInt32.self)
            }
        case 8:
            // Blocks of 8 elements: an 8×8 byte transpose in registers, then the tail.
            var i = 0
            while i &+ 8 <= n {
                var x = Words8(src + i, stride: n)
                x.transpose()
                x.store(to: dst + 8 &* i, stride: 8)
                i &+= 8
            }
            while i < n {
                for j in 0..<8 { d[8 &* i &+ j] = s[j &* n &+ i] }
                i &+= 1
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

/// Eight 64-bit words read as an 8×8 matrix of bytes (row `r` is word `r`, column `c` its
/// byte `c` in little-endian order), for the shuffle of 8-byte elements.
struct Words8 {
    var w0, w1, w2, w3, w4, w5, w6, w7: UInt64

    /// Loads word `r` from `p + r * stride` (unaligned, little-endian).
    @inline(__always) init(_ p: UnsafeRawPointer, stride: Int) {
        @inline(__always) func load(_ r: Int) -> UInt64 { UInt64(littleEndian: p.loadUnaligned(fromByteOffset: r &* stride, as: UInt64.self)) }
        w0 = load(0); w1 = load(1); w2 = load(2); w3 = load(3)
        w4 = load(4); w5 = load(5); w6 = load(6); w7 = load(7)
    }

    /// Stores word `r` at `p + r * stride` (unaligned, little-endian).
    @inline(__always) func store(to p: UnsafeMutableRawPointer, stride: Int) {
        p.storeBytes(of: w0.littleEndian, toByteOffset: 0, as: UInt64.self)
        p.storeBytes(of: w1.littleEndian, toByteOffset: stride, as: UInt64.self)
        p.storeBytes(of: w2.littleEndian, toByteOffset: 2 &* stride, as: UInt64.self)
        p.storeBytes(of: w3.littleEndian, toByteOffset: 3 &* stride, as: UInt64.self)
        p.storeBytes(of: w4.littleEndian, toByteOffset: 4 &* stride, as: UInt64.self)
        p.storeBytes(of: w5.littleEndian, toByteOffset: 5 &* stride, as: UInt64.self)
        p.storeBytes(of: w6.littleEndian, toByteOffset: 6 &* stride, as: UInt64.self)
        p.storeBytes(of: w7.littleEndian, toByteOffset: 7 &* stride, as: UInt64.self)
    }

    /// Exchanges the bits of `mask << shift` in `a` with those of `mask` in `b`.
    @inline(__always) static func swap(_ a: inout UInt64, _ b: inout UInt64, _ shift: UInt64, _ mask: UInt64) {
        let t = ((a &>> shift) ^ b) & mask
        a ^= t &<< shift
        b ^= t
    }

    /// Transposes the byte matrix: 4×4 blocks, then 2×2 blocks, then single bytes.
    @inline(__always) mutating func transpose() {
        let m32: UInt64 = 0x0000_0000_FFFF_FFFF, m16: UInt64 = 0x0000_FFFF_0000_FFFF, m8: UInt64 = 0x00FF_00FF_00FF_00FF
        Self.swap(&w0, &w4, 32, m32); Self.swap(&w1, &w5, 32, m32); Self.swap(&w2, &w6, 32, m32); Self.swap(&w3, &w7, 32, m32)
        Self.swap(&w0, &w2, 16, m16); Self.swap(&w1, &w3, 16, m16); Self.swap(&w4, &w6, 16, m16); Self.swap(&w5, &w7, 16, m16)
        Self.swap(&w0, &w1, 8, m8); Self.swap(&w2, &w3, 8, m8); Self.swap(&w4, &w5, 8, m8); Self.swap(&w6, &w7, 8, m8)
    }
}
