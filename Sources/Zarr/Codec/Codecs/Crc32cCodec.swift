/// `crc32c` (v3 core codec; numcodecs id `crc32c`, written by zarr-python as
/// `numcodecs.crc32c`): appends the CRC-32C (Castagnoli) of the data, 4 bytes little-endian,
/// and checks it when decoding. numcodecs' `CRC32C` has the same format with its default
/// `location: "end"`; a checksum at the start is refused.
public struct Crc32cCodec: BytesToBytesCodec, V2Codec {
    /// The v3 name, `crc32c`.
    public static let v3Name = "crc32c"
    /// The numcodecs id, `crc32c`.
    public static let v2ID: String? = "crc32c"
    /// A bytes→bytes codec.
    public static let kind = CodecKind.bytesToBytes

    /// A crc32c codec.
    public init() {}
    /// The v3 codec has no configuration.
    public init(v3Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {}
    /// Reads `{"id": "crc32c", "location"?: "end"}`.
    public init(v2Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        let location = try c.string("location", codec: Self.v3Name) ?? "end"
        guard location == "end" else {
            throw .unsupportedCodec("numcodecs crc32c with the checksum at the \(location) (only 'end' has the v3 format)")
        }
    }
    /// No configuration: written as the bare object `{"name": "crc32c"}`.
    public var v3Configuration: JSONObject? { nil }
    /// `{"id": "crc32c"}`.
    public var v2Configuration: JSONObject { ["id": "crc32c"] }

    /// Four bytes more than the input.
    public func encodedSize(_ n: Int) -> Int? { n + 4 }

    /// Appends the checksum.
    public func encode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        var out = bytes
        let c = CRC32C.checksum(bytes)
        out.append(contentsOf: [UInt8(c & 255), UInt8(c >> 8 & 255), UInt8(c >> 16 & 255), UInt8(c >> 24)])
        return out
    }

    /// Checks and removes the checksum.
    public func decode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        guard bytes.count >= 4 else { throw .codecFailure(codec: "crc32c", reason: "shorter than the checksum") }
        let n = bytes.count - 4
        let stored = UInt32(bytes[n]) | UInt32(bytes[n + 1]) << 8 | UInt32(bytes[n + 2]) << 16 | UInt32(bytes[n + 3]) << 24
        let actual = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        guard stored == actual else {
            throw .codecFailure(codec: "crc32c", reason: "checksum mismatch (stored \(stored), computed \(actual))")
        }
        return Array(bytes[0..<n])
    }

    /// Checks and removes the checksum: the output is smaller than the input, which is
    /// already in memory, so no limit applies.
    public func decode(_ bytes: [UInt8], expectedSize: Int?, limit: Int) throws(ZarrError) -> [UInt8] {
        try decode(bytes)
    }
}

/// CRC-32C with slicing-by-8 tables.
enum CRC32C {
    static let tables: [[UInt32]] = {
        var t = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[0][i] = c
        }
        for i in 0..<256 {
            for k in 1..<8 { t[k][i] = (t[k - 1][i] >> 8) ^ t[0][Int(t[k - 1][i] & 255)] }
        }
        return t
    }()

    static func checksum(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { checksum($0) } }

    static func checksum(_ p: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        let t = tables
        var i = 0
        let n = p.count
        t[0].withUnsafeBufferPointer { t0 in
        t[1].withUnsafeBufferPointer { t1 in
        t[2].withUnsafeBufferPointer { t2 in
        t[3].withUnsafeBufferPointer { t3 in
        t[4].withUnsafeBufferPointer { t4 in
        t[5].withUnsafeBufferPointer { t5 in
        t[6].withUnsafeBufferPointer { t6 in
        t[7].withUnsafeBufferPointer { t7 in
            while i + 8 <= n {
                let lo = p.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian ^ crc
                let hi = p.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self).littleEndian
                crc = t7[Int(lo & 255)] ^ t6[Int(lo >> 8 & 255)] ^ t5[Int(lo >> 16 & 255)] ^ t4[Int(lo >> 24)]
                    ^ t3[Int(hi & 255)] ^ t2[Int(hi >> 8 & 255)] ^ t1[Int(hi >> 16 & 255)] ^ t0[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                crc = (crc >> 8) ^ t0[Int((crc ^ UInt32(p[i])) & 255)]
                i += 1
            }
        }}}}}}}}
        return crc ^ 0xFFFF_FFFF
    }
}

extension Crc32cCodec: PrefixPreservingBytesCodec {
    /// The 4-byte checksum.
    public var suffixLength: Int { 4 }
}
