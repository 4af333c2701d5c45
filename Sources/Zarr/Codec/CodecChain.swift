/// A codec pipeline: array→array codecs, exactly one array→bytes codec, then bytes→bytes codecs.
/// Encoding runs in order, decoding in reverse. Sharding's inner chain is another `CodecChain`.
public struct CodecChain: Sendable {
    /// The array→array codecs, in order.
    public let arrayToArray: [any ArrayToArrayCodec]
    /// The array→bytes codec.
    public let arrayToBytes: any ArrayToBytesCodec
    /// The bytes→bytes codecs, in order.
    public let bytesToBytes: [any BytesToBytesCodec]
    /// The spec of the decoded chunk (what the chain encodes).
    public let spec: ChunkSpec
    /// The spec entering each array→array codec, then the one entering the array→bytes codec.
    let specs: [ChunkSpec]

    /// A chain from its codecs; checks that the specs propagate.
    public init(
        arrayToArray: [any ArrayToArrayCodec] = [], arrayToBytes: any ArrayToBytesCodec,
        bytesToBytes: [any BytesToBytesCodec] = [], spec: ChunkSpec
    ) throws(ZarrError) {
        var specs = [spec]
        var s = spec
        for c in arrayToArray {
            s = try c.encodedSpec(s)
            specs.append(s)
        }
        self.arrayToArray = arrayToArray
        self.arrayToBytes = arrayToBytes
        self.bytesToBytes = bytesToBytes
        self.spec = spec
        self.specs = specs
    }

    /// A chain from a v3 `codecs` list. Entries this engine has no typed configuration for
    /// are built through `registry`.
    public init(v3 codecs: [CodecSpec], spec: ChunkSpec, registry: CodecRegistry = .standard) throws(ZarrError) {
        var a2a: [any ArrayToArrayCodec] = []
        var a2b: (any ArrayToBytesCodec)?
        var b2b: [any BytesToBytesCodec] = []
        var s = spec
        for entry in codecs {
            if entry.isSkippable(registry: registry) {
                continue  // an optional codec we do not know is skipped
            }
            let codec = try entry.makeCodec(spec: s, registry: registry)
            switch codec {
            case let c as any ArrayToArrayCodec:
                guard a2b == nil else { throw .invalidMetadata(path: "", reason: "array→array codec '\(c.v3WrittenName)' after the array→bytes codec") }
                s = try c.encodedSpec(s)
                a2a.append(c)
            case let c as any ArrayToBytesCodec:
                guard a2b == nil else { throw .invalidMetadata(path: "", reason: "more than one array→bytes codec") }
                a2b = c
            case let c as any BytesToBytesCodec:
                guard a2b != nil else { throw .invalidMetadata(path: "", reason: "bytes→bytes codec '\(c.v3WrittenName)' before the array→bytes codec") }
                b2b.append(c)
            default:
                throw .unsupportedCodec(codec.v3WrittenName)
            }
        }
        guard let a2b else { throw .invalidMetadata(path: "", reason: "the codecs have no array→bytes codec") }
        try self.init(arrayToArray: a2a, arrayToBytes: a2b, bytesToBytes: b2b, spec: spec)
    }

    /// The v3 `codecs` list.
    public var v3JSON: [JSONValue] {
        var out: [JSONValue] = arrayToArray.map(\.v3JSON)
        out.append(arrayToBytes.v3JSON)
        out += bytesToBytes.map(\.v3JSON)
        return out
    }

    /// The spec that the array→bytes codec receives.
    public var innerSpec: ChunkSpec { specs[specs.count - 1] }

    /// Encodes a chunk of `spec` to bytes.
    public func encode(_ chunk: NDArray) throws(ZarrError) -> [UInt8] {
        var a = chunk
        for c in arrayToArray { a = try c.encode(a) }
        var b = try arrayToBytes.encode(a, spec: innerSpec)
        for c in bytesToBytes { b = try c.encode(b) }
        return b
    }

    /// Decodes bytes to a chunk of `spec`, within the default `DecodeLimits`.
    public func decode(_ bytes: [UInt8]) throws(ZarrError) -> NDArray {
        try decode(bytes, limits: .standard)
    }

    /// Decodes bytes to a chunk of `spec`. Each bytes→bytes codec is bounded by the size its
    /// output must have (fixed-size elements) or by `limits` (variable-length elements).
    public func decode(_ bytes: [UInt8], limits: DecodeLimits) throws(ZarrError) -> NDArray {
        var b = bytes
        let sizes = decodedSizes
        let bounds = decodedLimits(limits)
        for (i, c) in bytesToBytes.enumerated().reversed() { b = try c.decode(b, expectedSize: sizes[i], limit: bounds[i]) }
        var a = try arrayToBytes.decode(b, spec: innerSpec, limits: limits)
        for (i, c) in arrayToArray.enumerated().reversed() { a = try c.decode(a, spec: specs[i]) }
        return a
    }

    /// For each bytes→bytes codec, the size its decoded output must have when that is fixed:
    /// the array→bytes codec's output size passed through the codecs before it.
    var decodedSizes: [Int?] {
        var out: [Int?] = []
        var n = arrayToBytes.encodedSize(innerSpec)
        for c in bytesToBytes {
            out.append(n)
            n = n.flatMap { c.encodedSize($0) }
        }
        return out
    }

    /// For each bytes→bytes codec, the most its decoded output may hold: the fixed size when
    /// known; where a compressor sits between (its stream's size is not fixed), the chunk's
    /// size plus more than any compressor's worst-case expansion; with variable-length
    /// elements, `limits.maxVariableLengthChunkBytes`.
    func decodedLimits(_ limits: DecodeLimits) -> [Int] {
        let sizes = decodedSizes
        let base = arrayToBytes.encodedSize(innerSpec)
        return sizes.map { exact in
            if let exact { return exact }
            guard let base else { return limits.maxVariableLengthChunkBytes }
            let (slack, o1) = base.addingReportingOverflow(base / 8 + (1 << 20))
            return o1 ? Int.max : Swift.max(slack, limits.maxVariableLengthChunkBytes)
        }
    }

    /// The encoded size of every chunk, if it is fixed (shard index chains).
    public func encodedSize() -> Int? {
        guard var n = arrayToBytes.encodedSize(innerSpec) else { return nil }
        for c in bytesToBytes {
            guard let m = c.encodedSize(n) else { return nil }
            n = m
        }
        return n
    }

    /// Whether `decode(_:into:)` can write straight into a caller's buffer: no array→array
    /// codecs, a `bytes` codec that is the identity, at most one bytes→bytes codec, or a
    /// shuffle before one (HDF5's shuffle then compression: the compressor decodes to a
    /// buffer, the shuffle from it into the caller's).
    public var decodesInPlace: Bool {
        guard arrayToArray.isEmpty, let b = arrayToBytes as? BytesCodec, b.isIdentity(for: spec.dataType) else { return false }
        return bytesToBytes.count <= 1 || (bytesToBytes.count == 2 && Self.shuffle(bytesToBytes[0]) != nil)
    }

    /// `codec` as a shuffle, also when v3 metadata named it `numcodecs.shuffle`.
    static func shuffle(_ codec: any BytesToBytesCodec) -> ShuffleCodec? {
        codec as? ShuffleCodec ?? (codec as? NumcodecsNamed)?.base as? ShuffleCodec
    }

    /// Decodes straight into `destination` (exactly one chunk of fixed-size elements) when
    /// `decodesInPlace`; returns `false` when the caller must use `decode(_:)`.
    public func decode(_ bytes: [UInt8], into destination: UnsafeMutableRawBufferPointer) throws(ZarrError) -> Bool {
        guard decodesInPlace else { return false }
        if bytesToBytes.count == 2, let shuffle = Self.shuffle(bytesToBytes[0]) {
            let c = bytesToBytes[1]
            let shuffled = try c.decode(bytes, expectedSize: destination.count, limit: destination.count)
            guard shuffled.count == destination.count else {
                throw .codecFailure(codec: c.v3WrittenName, reason: "decoded \(shuffled.count) bytes, expected \(destination.count)")
            }
            return try shuffle.decode(shuffled, into: destination)
        }
        if let c = bytesToBytes.first { return try c.decode(bytes, into: destination) }
        guard bytes.count == destination.count else {
            throw .codecFailure(codec: "bytes", reason: "decoded \(bytes.count) bytes, expected \(destination.count)")
        }
        bytes.withUnsafeBytes { destination.copyMemory(from: $0) }
        return true
    }
}
