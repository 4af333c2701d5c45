/// `transpose`: permutes the dimensions of a chunk; the encoded shape is
/// `shape[order[i]]` (numpy `transpose(a, order)`). v2 `order: "F"` is a reversing transpose.
public struct TransposeCodec: ArrayToArrayCodec {
    /// The v3 name, `transpose`.
    public static let v3Name = "transpose"
    /// No numcodecs id: a v3-only codec.
    public static let v2ID: String? = nil
    /// An array→array codec.
    public static let kind = CodecKind.arrayToArray

    /// The permutation.
    public var order: [Int]

    /// A transpose by `order`, which must be a permutation of `0..<rank`.
    public init(order: [Int]) throws(ZarrError) {
        guard order.sorted() == Array(0..<order.count) else {
            throw .invalidCodecConfiguration(codec: Self.v3Name, reason: "order \(order) is not a permutation")
        }
        self.order = order
    }

    /// Reads the v3 configuration; an invalid one is a typed error.
    public init(v3Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        try self.init(configuration: try Configuration(v3: c), spec: spec)
    }

    /// A transpose of a typed configuration for chunks of `spec`; an order that is not a
    /// permutation of `spec`'s dimensions is a typed error.
    public init(configuration: Configuration, spec: ChunkSpec) throws(ZarrError) {
        let o = configuration.order
        guard o.count == spec.shape.count else {
            throw .invalidCodecConfiguration(codec: Self.v3Name, reason: "order \(o) does not match rank \(spec.shape.count)")
        }
        try self.init(order: o)
    }

    /// The v3 configuration written to metadata.
    public var v3Configuration: JSONObject? { configuration.v3JSON }

    /// The typed configuration.
    public var configuration: Configuration { Configuration(order: order) }

    /// The typed v3 configuration of `transpose`.
    public struct Configuration: Sendable, Hashable {
        /// The permutation.
        public var order: [Int]
        /// A configuration.
        public init(order: [Int]) { self.order = order }
        /// Reads `{"order": [..]}`.
        init(v3 c: JSONObject) throws(ZarrError) {
            guard let list = c["order"]?.array else {
                throw .invalidCodecConfiguration(codec: TransposeCodec.v3Name, reason: "'order' must be a list of integers")
            }
            var o: [Int] = []
            for v in list {
                guard let i = v.int else { throw .invalidCodecConfiguration(codec: TransposeCodec.v3Name, reason: "'order' must be a list of integers") }
                o.append(i)
            }
            order = o
        }
        /// `{"order": [..]}`.
        var v3JSON: JSONObject { ["order": .integers(order)] }
    }

    /// The spec with its shape permuted by `order`.
    public func encodedSpec(_ spec: ChunkSpec) throws(ZarrError) -> ChunkSpec {
        guard spec.shape.count == order.count else {
            throw .invalidCodecConfiguration(codec: Self.v3Name, reason: "order \(order) does not match rank \(spec.shape.count)")
        }
        var s = spec
        s.shape = order.map { spec.shape[$0] }
        return s
    }

    /// Permutes the axes of a chunk by `order`.
    public func encode(_ chunk: NDArray) throws(ZarrError) -> NDArray { try permute(chunk, by: order) }

    /// Permutes the axes back (the inverse order) to a chunk of `spec`.
    public func decode(_ chunk: NDArray, spec: ChunkSpec) throws(ZarrError) -> NDArray {
        var inverse = [Int](repeating: 0, count: order.count)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return try permute(chunk, by: inverse)
    }

    /// numpy `transpose(a, perm)` into C order.
    func permute(_ a: NDArray, by perm: [Int]) throws(ZarrError) -> NDArray {
        let rank = a.shape.count
        guard perm.count == rank else { throw .codecFailure(codec: Self.v3Name, reason: "rank mismatch") }
        if perm == Array(0..<rank) { return a }
        let outShape = perm.map { a.shape[$0] }
        var srcStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { srcStrides[d] = srcStrides[d + 1] * a.shape[d + 1] }
        let strides = perm.map { srcStrides[$0] }  // source stride for each output dimension
        let n = a.count
        func forEachSource(_ body: (Int, Int) -> Void) {
            if n == 0 { return }
            var idx = [Int](repeating: 0, count: rank)
            var src = 0
            for dst in 0..<n {
                body(dst, src)
                var d = rank - 1
                while d >= 0 {
                    idx[d] += 1
                    src += strides[d]
                    if idx[d] < outShape[d] { break }
                    src -= strides[d] * outShape[d]
                    idx[d] = 0
                    d -= 1
                }
            }
        }
        switch a.storage {
        case .fixed(let b):
            let size = a.dataType.itemSize ?? 1
            var out = [UInt8](repeating: 0, count: b.count)
            b.withUnsafeBytes { sp in
                out.withUnsafeMutableBytes { dp in
                    guard let s = sp.baseAddress, let d = dp.baseAddress else { return }
                    forEachSource { dst, src in (d + dst * size).copyMemory(from: s + src * size, byteCount: size) }
                }
            }
            return try NDArray(dataType: a.dataType, shape: outShape, storage: .fixed(out))
        case .variable(let v):
            var out = [[UInt8]](repeating: [], count: v.count)
            forEachSource { dst, src in out[dst] = v[src] }
            return try NDArray(dataType: a.dataType, shape: outShape, storage: .variable(out))
        }
    }
}
