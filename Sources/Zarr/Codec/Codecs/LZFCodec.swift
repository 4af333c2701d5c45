import CLZF
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `lzf`: h5py's LZF compression (HDF5 filter 32000) with h5py's framing: a chunk is one bare
/// LZF stream (liblzf's `lzf_compress`), with no header and no recorded size.
///
/// It exists so that chunks of `.h5ad` datasets written with `compression="lzf"` decode on
/// this engine's codec threads; the HDF5 store names it in the v2 metadata it presents (v2 id
/// `lzf`, v3 name `lzf`). No other Zarr implementation reads it: do not write it to stores
/// meant for others.
///
/// The stream does not record its decoded size: decoding uses the size the chain knows for
/// chunks of fixed-size elements (exactly, refusing anything else), and otherwise grows its
/// buffer on `E2BIG`, as h5py's filter does, but never beyond the chain's limit. An empty
/// input is the encoding of no bytes (liblzf has no stream for them).
public struct LZFCodec: BytesToBytesCodec, V2Codec {
    /// The v3 name, `lzf` (not a registered v3 codec: only this engine reads it).
    public static let v3Name = "lzf"
    /// The v2 id, `lzf` (not a numcodecs codec: only this engine reads it).
    public static let v2ID: String? = "lzf"
    /// A bytes→bytes codec.
    public static let kind = CodecKind.bytesToBytes

    /// The largest input encoded: liblzf counts in `unsigned int`, and the output buffer
    /// (`encodeBound`) must be countable too. HDF5 chunks are below 4 GiB.
    static let maxInputSize = 0xF000_0000
    /// The largest stream or output decoded (liblzf's `unsigned int`).
    static let maxLength = Int(UInt32.max)

    /// The output buffer given to `lzf_compress` for `n` bytes: more than LZF's worst case
    /// (one control byte per 32 literals, `n + n / 32 + 1`).
    static func encodeBound(_ n: Int) -> Int { n + n / 16 + 64 }

    /// An LZF codec (it has no parameters).
    public init() {}
    /// Reads the v3 configuration; LZF has no parameters, and members are ignored.
    public init(v3Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {}
    /// Reads `{"id": "lzf"}`; other members are ignored.
    public init(v2Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {}

    /// No configuration: written as `{"name": "lzf"}`.
    public var v3Configuration: JSONObject? { nil }
    /// `{"id": "lzf"}`.
    public var v2Configuration: JSONObject { ["id": "lzf"] }

    /// Compresses `bytes` into one LZF stream (nothing for no bytes).
    public func encode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        let n = bytes.count
        guard n > 0 else { return [] }
        guard n <= Self.maxInputSize else {
            throw .codecFailure(codec: Self.v3Name, reason: "input of \(n) bytes exceeds LZF's limit of \(Self.maxInputSize)")
        }
        let bound = Self.encodeBound(n)
        var written: UInt32 = 0
        let out = try LargeBuffer.bytes(bound, what: "lzf output") { buf in
            guard let dst = buf.baseAddress else { return 0 }
            written = bytes.withUnsafeBytes { src in
                guard let s = src.baseAddress else { return 0 }
                return lzf_compress(s, UInt32(n), dst, UInt32(bound))
            }
            return Int(written)
        }
        guard written > 0 else {
            throw .codecFailure(codec: Self.v3Name, reason: "liblzf produced no stream for \(n) bytes in a \(bound)-byte buffer")
        }
        return out
    }

    /// Decompresses one LZF stream, within the default limit.
    public func decode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        try decode(bytes, expectedSize: nil)
    }

    /// Decompresses into exactly `expectedSize` bytes when known (the default limit otherwise).
    public func decode(_ bytes: [UInt8], expectedSize: Int?) throws(ZarrError) -> [UInt8] {
        try decode(bytes, expectedSize: expectedSize, limit: expectedSize ?? DecodeLimits.standard.maxVariableLengthChunkBytes)
    }

    /// Decompresses one LZF stream: into exactly `expectedSize` bytes when that is known (a
    /// stream that decodes to anything else is a typed error), otherwise into a buffer that
    /// grows on `E2BIG` up to `limit` bytes, never beyond.
    public func decode(_ bytes: [UInt8], expectedSize: Int?, limit: Int) throws(ZarrError) -> [UInt8] {
        if bytes.isEmpty {
            guard (expectedSize ?? 0) == 0 else {
                throw .codecFailure(codec: Self.v3Name, reason: "empty stream, expected \(expectedSize ?? 0) bytes")
            }
            return []
        }
        guard bytes.count <= Self.maxLength else {
            throw .codecFailure(codec: Self.v3Name, reason: "stream of \(bytes.count) bytes exceeds LZF's limit of \(Self.maxLength)")
        }
        if let expectedSize {
            guard expectedSize <= limit else {
                throw .codecFailure(codec: Self.v3Name, reason: "expected \(expectedSize) bytes, more than the \(limit) the chunk can hold")
            }
            guard expectedSize <= Self.maxLength else {
                throw .codecFailure(codec: Self.v3Name, reason: "expected \(expectedSize) bytes, beyond LZF's limit of \(Self.maxLength)")
            }
            var result = Self.Result.corrupt
            let out = try LargeBuffer.bytes(Swift.max(expectedSize, 1), what: "lzf output") { buf in
                guard let dst = buf.baseAddress else { return 0 }
                result = Self.decompress(bytes, into: UnsafeMutableRawPointer(dst), capacity: expectedSize)
                if case .decoded(let n) = result, n == expectedSize { return n }
                return 0
            }
            guard case .decoded(let n) = result, n == expectedSize else { throw Self.failure(result, expected: expectedSize) }
            return out
        }
        // Unknown size: start at a few times the stream and double on E2BIG, up to the limit.
        let cap = Swift.min(limit, Self.maxLength)
        var capacity = Swift.min(cap, Swift.max(bytes.count.multipliedReportingOverflow(by: 4).partialValue, 1 << 16))
        while true {
            var result = Self.Result.corrupt
            let out = try LargeBuffer.bytes(Swift.max(capacity, 1), what: "lzf output") { buf in
                guard let dst = buf.baseAddress else { return 0 }
                result = Self.decompress(bytes, into: UnsafeMutableRawPointer(dst), capacity: capacity)
                if case .decoded(let n) = result { return n }
                return 0
            }
            switch result {
            case .decoded(let n):
                // Shed the spare room of a generous guess.
                return capacity - n > n / 2 + 4096 ? Array(out[0..<n]) : out
            case .outputFull where capacity < cap:
                let (doubled, o) = capacity.multipliedReportingOverflow(by: 2)
                capacity = o ? cap : Swift.min(doubled, cap)
            case .outputFull:
                throw .codecFailure(codec: Self.v3Name, reason: "the stream decodes to more than the \(cap) bytes the chunk can hold")
            case .corrupt:
                throw Self.failure(result, expected: nil)
            }
        }
    }

    /// Decodes straight into `destination` when the stream decodes to exactly its size.
    public func decode(_ bytes: [UInt8], into destination: UnsafeMutableRawBufferPointer) throws(ZarrError) -> Bool {
        guard !bytes.isEmpty, bytes.count <= Self.maxLength, destination.count > 0, destination.count <= Self.maxLength,
              let dst = destination.baseAddress else { return false }
        let result = Self.decompress(bytes, into: dst, capacity: destination.count)
        guard case .decoded(let n) = result, n == destination.count else { throw Self.failure(result, expected: destination.count) }
        return true
    }

    /// What one call of `lzf_decompress` gave.
    enum Result {
        /// This many bytes of output.
        case decoded(Int)
        /// The output did not fit (`E2BIG`).
        case outputFull
        /// The stream is invalid (`EINVAL`, or no output without a reason).
        case corrupt
    }

    /// Decompresses the non-empty `bytes` into `dst` of `capacity` bytes (both at most
    /// `maxLength`). liblzf checks every read and write against the buffers' ends.
    static func decompress(_ bytes: [UInt8], into dst: UnsafeMutableRawPointer, capacity: Int) -> Result {
        bytes.withUnsafeBytes { src in
            // liblzf reads a first control byte even from an empty stream: never call it so.
            guard let s = src.baseAddress, src.count > 0 else { return .corrupt }
            errno = 0
            let n = lzf_decompress(s, UInt32(src.count), dst, UInt32(capacity))
            if n > 0 { return .decoded(Int(n)) }
            return errno == E2BIG ? .outputFull : .corrupt
        }
    }

    static func failure(_ result: Result, expected: Int?) -> ZarrError {
        switch result {
        case .corrupt:
            return .codecFailure(codec: v3Name, reason: "corrupt LZF stream")
        case .outputFull:
            return .codecFailure(codec: v3Name, reason: "the stream decodes to more than the \(expected ?? 0) bytes expected")
        case .decoded(let n):
            return .codecFailure(codec: v3Name, reason: "the stream decodes to \(n) bytes, expected \(expected ?? 0)")
        }
    }
}
