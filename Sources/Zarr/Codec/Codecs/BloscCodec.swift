import CBlosc

/// `blosc` (v3 core codec; numcodecs id `blosc`): a blosc1 container (c-blosc 1.x).
///
/// Encoding uses the configuration; decoding reads everything it needs (sizes, shuffle,
/// compressor) from the 16-byte header, which is checked before libblosc sees the buffer.
/// Compressors missing from this libblosc build (snappy, typically) fail with
/// `unsupportedCodec` only when they are actually needed.
public struct BloscCodec: BytesToBytesCodec, V2Codec {
    /// The v3 name, `blosc`.
    public static let v3Name = "blosc"
    /// The numcodecs id, `blosc`.
    public static let v2ID: String? = "blosc"
    /// A bytes→bytes codec.
    public static let kind = CodecKind.bytesToBytes

    /// The compressor names the format knows.
    public static let compressorNames = ["blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"]

    /// The shuffle applied before compressing.
    public enum Shuffle: Int, Sendable, Hashable {
        /// numcodecs' AUTOSHUFFLE (-1): bit shuffle for 1-byte elements, byte shuffle otherwise.
        case auto = -1
        /// No shuffle (`"noshuffle"`, 0).
        case noShuffle = 0
        /// Byte shuffle (`"shuffle"`, 1).
        case byteShuffle = 1
        /// Bit shuffle (`"bitshuffle"`, 2).
        case bitShuffle = 2

        /// The v3 spelling; `auto` has none and is resolved against `typesize`.
        func v3Name(typesize: Int) -> String {
            switch resolved(typesize: typesize) {
            case .noShuffle: return "noshuffle"
            case .bitShuffle: return "bitshuffle"
            default: return "shuffle"
            }
        }

        /// `auto` turned into what numcodecs would apply for elements of `typesize` bytes.
        func resolved(typesize: Int) -> Shuffle {
            self == .auto ? (typesize == 1 ? .bitShuffle : .byteShuffle) : self
        }
    }

    /// The compressor: `lz4`, `lz4hc`, `blosclz`, `zstd`, `zlib` or `snappy`.
    public var cname: String
    /// The compression level, 0...9 (0 stores the data as is).
    public var clevel: Int
    /// The shuffle.
    public var shuffle: Shuffle
    /// The element size in bytes that the shuffle works on.
    public var typesize: Int
    /// The block size in bytes; 0 lets blosc choose.
    public var blocksize: Int
    /// Whether this libblosc build has `cname` (checked when the codec is made).
    public let isCompressorAvailable: Bool

    /// A blosc codec. Throws if a parameter is out of range or `cname` is unknown (a known
    /// compressor missing from this build throws only when encoding).
    public init(cname: String = "lz4", clevel: Int = 5, shuffle: Shuffle = .byteShuffle,
                typesize: Int = 1, blocksize: Int = 0) throws(ZarrError) {
        guard Self.compressorNames.contains(cname) else {
            throw .invalidCodecConfiguration(codec: Self.v3Name, reason: "unknown cname '\(cname)'")
        }
        guard (0...9).contains(clevel) else {
            throw .invalidCodecConfiguration(codec: Self.v3Name, reason: "clevel \(clevel) outside 0...9")
        }
        guard typesize >= 1, typesize <= Int(Int32.max) else {
            throw .invalidCodecConfiguration(codec: Self.v3Name, reason: "typesize \(typesize) must be at least 1")
        }
        guard blocksize >= 0, blocksize <= Int(Int32.max) else {
            throw .invalidCodecConfiguration(codec: Self.v3Name, reason: "blocksize \(blocksize) out of range")
        }
        self.cname = cname
        self.clevel = clevel
        self.shuffle = shuffle
        self.typesize = typesize
        self.blocksize = blocksize
        self.isCompressorAvailable = blosc_compname_to_compcode(cname) >= 0
    }

    /// Reads `{"cname", "clevel", "shuffle": "noshuffle"|"shuffle"|"bitshuffle", "typesize",
    /// "blocksize"}`. A missing typesize means the element size of `spec`; a missing shuffle
    /// means bit shuffle for 1-byte elements and byte shuffle otherwise, as in zarr-python.
    public init(v3Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        try self.init(configuration: try Configuration(v3: c), spec: spec)
    }

    /// A blosc codec of a typed configuration for chunks of `spec` (a missing typesize means
    /// the element size of `spec`); a parameter out of range is a typed error.
    public init(configuration c: Configuration, spec: ChunkSpec) throws(ZarrError) {
        try self.init(cname: c.cname, clevel: c.clevel, shuffle: c.shuffle, typesize: c.typesize ?? (spec.dataType.itemSize ?? 1),
                      blocksize: c.blocksize)
    }

    /// The typed configuration (typesize always set).
    public var configuration: Configuration {
        Configuration(cname: cname, clevel: clevel, shuffle: shuffle.resolved(typesize: typesize), typesize: typesize, blocksize: blocksize)
    }

    /// The typed v3 configuration of `blosc`.
    public struct Configuration: Sendable, Hashable {
        /// The compressor name.
        public var cname: String
        /// The compression level, 0...9.
        public var clevel: Int
        /// The shuffle (`auto`: what zarr-python applies when the member is missing).
        public var shuffle: Shuffle
        /// The element size the shuffle works on; `nil` means the chunk's element size.
        public var typesize: Int?
        /// The block size in bytes; 0 lets blosc choose.
        public var blocksize: Int
        /// A configuration.
        public init(cname: String = "zstd", clevel: Int = 5, shuffle: Shuffle = .byteShuffle, typesize: Int? = nil, blocksize: Int = 0) {
            self.cname = cname; self.clevel = clevel; self.shuffle = shuffle; self.typesize = typesize; self.blocksize = blocksize
        }
        /// Reads `{"cname", "clevel", "shuffle": "noshuffle"|"shuffle"|"bitshuffle", "typesize",
        /// "blocksize"}`; a missing shuffle is `auto`.
        init(v3 c: JSONObject) throws(ZarrError) {
            let name = BloscCodec.v3Name
            cname = try c.string("cname", codec: name) ?? "zstd"
            clevel = try c.int("clevel", codec: name) ?? 5
            switch try c.string("shuffle", codec: name) {
            case nil: shuffle = .auto  // as zarr-python: bit shuffle for 1-byte elements, else byte shuffle
            case "noshuffle": shuffle = .noShuffle
            case "shuffle": shuffle = .byteShuffle
            case "bitshuffle": shuffle = .bitShuffle
            case let s?: throw .invalidCodecConfiguration(codec: name, reason: "unknown shuffle '\(s)'")
            }
            typesize = try c.int("typesize", codec: name)
            blocksize = try c.int("blocksize", codec: name) ?? 0
        }
        /// `{"typesize", "cname", "clevel", "shuffle", "blocksize"}`, as zarr-python writes it;
        /// an unknown typesize and an `auto` shuffle are left out (what their absence means).
        var v3JSON: JSONObject {
            var o = JSONObject()
            if let typesize { o["typesize"] = .integer(typesize) }
            o["cname"] = .string(cname)
            o["clevel"] = .integer(clevel)
            if shuffle != .auto { o["shuffle"] = .string(shuffle.v3Name(typesize: typesize ?? 1)) }
            o["blocksize"] = .integer(blocksize)
            return o
        }
    }

    /// Reads numcodecs' `{"id": "blosc", "cname", "clevel", "shuffle": 0|1|2|-1, "blocksize"}`;
    /// the typesize is the element size of `spec`.
    public init(v2Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        let name = Self.v3Name
        let cname = try c.string("cname", codec: name) ?? "lz4"
        let clevel = try c.int("clevel", codec: name) ?? 5
        let code = try c.int("shuffle", codec: name) ?? 1
        guard let shuffle = Shuffle(rawValue: code) else {
            throw .invalidCodecConfiguration(codec: name, reason: "shuffle \(code) is not -1, 0, 1 or 2")
        }
        let blocksize = try c.int("blocksize", codec: name) ?? 0
        let typesize = Swift.max(spec.dataType.itemSize ?? 1, 1)
        try self.init(cname: cname, clevel: clevel, shuffle: shuffle, typesize: typesize, blocksize: blocksize)
    }

    /// `{"typesize", "cname", "clevel", "shuffle", "blocksize"}`; typesize is always written,
    /// as zarr-python does.
    public var v3Configuration: JSONObject? { configuration.v3JSON }

    /// `{"id": "blosc", "cname", "clevel", "shuffle", "blocksize"}` with the numeric shuffle.
    public var v2Configuration: JSONObject {
        [
            "id": "blosc",
            "cname": .string(cname),
            "clevel": .integer(clevel),
            "shuffle": .integer(shuffle.rawValue),
            "blocksize": .integer(blocksize),
        ]
    }

    /// Compresses `bytes` with blosc's thread-safe context API, one internal thread.
    public func encode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        guard isCompressorAvailable else {
            throw .unsupportedCodec("blosc compressor '\(cname)' (not in this libblosc build)")
        }
        guard bytes.count <= Self.maxBufferSize else {
            throw .codecFailure(codec: Self.v3Name, reason: "input of \(bytes.count) bytes exceeds blosc's limit of \(Self.maxBufferSize)")
        }
        let destSize = bytes.count + Int(BLOSC_MAX_OVERHEAD)
        let doshuffle = Int32(shuffle.resolved(typesize: typesize).rawValue)
        var written: Int32 = 0
        let out = try LargeBuffer.bytes(destSize, what: "blosc output") { buf in
            written = cname.withCString { comp in
                Self.withInput(bytes) { src, n in
                    blosc_compress_ctx(Int32(clevel), doshuffle, typesize, n, src, buf.baseAddress, destSize,
                                       comp, blocksize, 1)
                }
            }
            return written > 0 ? Int(written) : 0
        }
        guard written > 0 else {
            throw .codecFailure(codec: Self.v3Name, reason: "compression failed (blosc error \(written))")
        }
        return out
    }

    /// The largest buffer blosc handles (`BLOSC_MAX_BUFFERSIZE`, just under 2 GiB).
    static let maxBufferSize = Int(Int32.max) - Int(BLOSC_MAX_OVERHEAD)

    /// Checks the header against the buffer and returns the decoded size.
    static func validatedSize(_ bytes: [UInt8]) throws(ZarrError) -> Int {
        let name = v3Name
        let header = Int(BLOSC_MIN_HEADER_LENGTH)
        guard bytes.count >= header else {
            throw .codecFailure(codec: name, reason: "\(bytes.count) bytes is shorter than the 16-byte blosc header")
        }
        func u32(_ i: Int) -> Int {
            Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24
        }
        let version = bytes[0], flags = bytes[2]
        let nbytes = u32(4), blocksize = u32(8), cbytes = u32(12)
        guard version >= 1, version <= UInt8(BLOSC_VERSION_FORMAT) else {
            throw .codecFailure(codec: name, reason: "unsupported blosc format version \(version)")
        }
        guard cbytes == bytes.count else {
            throw .codecFailure(codec: name, reason: "the header says \(cbytes) compressed bytes, the buffer holds \(bytes.count)")
        }
        guard nbytes <= maxBufferSize else {
            throw .codecFailure(codec: name, reason: "the header claims \(nbytes) decoded bytes, more than blosc allows")
        }
        if flags & UInt8(BLOSC_MEMCPYED) != 0 {
            guard cbytes == nbytes + header else {
                throw .codecFailure(codec: name, reason: "a stored (memcpyed) buffer of \(nbytes) bytes needs \(nbytes + header) bytes, not \(cbytes)")
            }
        } else if nbytes > 0 {
            guard blocksize > 0 else { throw .codecFailure(codec: name, reason: "the header has a zero blocksize") }
            let blocks = nbytes / blocksize + (nbytes % blocksize == 0 ? 0 : 1)
            guard header + 4 * blocks <= cbytes else {
                throw .codecFailure(codec: name, reason: "\(blocks) blocks do not fit in \(cbytes) bytes")
            }
            let compressors = [0: "blosclz", 1: "lz4", 2: "snappy", 3: "zlib", 4: "zstd"]
            guard let comp = compressors[Int(flags >> 5)] else {
                throw .codecFailure(codec: name, reason: "unknown compressor code \(flags >> 5) in the header")
            }
            guard blosc_compname_to_compcode(comp) >= 0 else {
                throw .unsupportedCodec("blosc compressor '\(comp)' (not in this libblosc build)")
            }
        }
        var validated = 0
        let ok = bytes.withUnsafeBytes { blosc_cbuffer_validate($0.baseAddress, $0.count, &validated) }
        guard ok == 0, validated == nbytes else {
            throw .codecFailure(codec: name, reason: "libblosc rejects the header")
        }
        return nbytes
    }

    /// Decompresses into `dst` (exactly `nbytes` bytes); throws unless all of it was produced.
    static func decompress(_ bytes: [UInt8], into dst: UnsafeMutableRawPointer, nbytes: Int) throws(ZarrError) {
        let r = bytes.withUnsafeBytes { blosc_decompress_ctx($0.baseAddress, dst, nbytes, 1) }
        guard Int(r) == nbytes else {
            throw .codecFailure(codec: v3Name, reason: r < 0 ? "corrupt data (blosc error \(r))" : "decoded \(r) bytes, expected \(nbytes)")
        }
    }

    /// Decompresses a blosc buffer; sizes, shuffle and compressor come from its header.
    public func decode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        try decode(bytes, expectedSize: nil)
    }

    /// Decompresses a blosc buffer whose decoded size must be `expectedSize` when known (at
    /// most the default limit otherwise).
    public func decode(_ bytes: [UInt8], expectedSize: Int?) throws(ZarrError) -> [UInt8] {
        try decode(bytes, expectedSize: expectedSize, limit: expectedSize ?? DecodeLimits.standard.maxVariableLengthChunkBytes)
    }

    /// Decompresses a blosc buffer into at most `limit` bytes; a header that claims more is a
    /// typed error before anything is allocated.
    public func decode(_ bytes: [UInt8], expectedSize: Int?, limit: Int) throws(ZarrError) -> [UInt8] {
        let nbytes = try Self.validatedSize(bytes)
        if nbytes > limit {
            throw .codecFailure(codec: Self.v3Name, reason: "the header claims \(nbytes) bytes, the chunk holds at most \(limit)")
        }
        if nbytes == 0 { return [] }
        return try LargeBuffer.bytes(nbytes, what: "blosc output") { (buf) throws(ZarrError) -> Int in
            guard let dst = buf.baseAddress else { throw .codecFailure(codec: Self.v3Name, reason: "out of memory") }
            try Self.decompress(bytes, into: UnsafeMutableRawPointer(dst), nbytes: nbytes)
            return nbytes
        }
    }

    /// Decodes straight into `destination` when the header's decoded size equals its size.
    public func decode(_ bytes: [UInt8], into destination: UnsafeMutableRawBufferPointer) throws(ZarrError) -> Bool {
        let nbytes = try Self.validatedSize(bytes)
        guard nbytes == destination.count, nbytes > 0, let dst = destination.baseAddress else { return false }
        try Self.decompress(bytes, into: dst, nbytes: nbytes)
        return true
    }

    /// Calls `body` with a pointer that is never nil, even for an empty array.
    static func withInput<R>(_ bytes: [UInt8], _ body: (UnsafeRawPointer, Int) -> R) -> R {
        bytes.withUnsafeBytes { buf in
            if let p = buf.baseAddress, buf.count > 0 { return body(p, buf.count) }
            var zero: UInt8 = 0
            return withUnsafePointer(to: &zero) { body(UnsafeRawPointer($0), 0) }
        }
    }
}
