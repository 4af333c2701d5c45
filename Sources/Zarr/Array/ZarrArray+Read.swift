#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension ZarrArray {
    /// Reads `region` (the whole array when `nil`). Only the chunks the region touches are
    /// fetched; for sharded arrays, only the shard indexes and the inner chunks it touches.
    /// Missing chunks read as the fill value.
    public func read(_ region: [Range<Int>]? = nil, options: ConcurrencyOptions = .automatic) async throws -> NDArray {
        let region = region ?? fullRegion
        try checkRegion(region)
        return try await read(region.map(DimensionSelection.range), options: options)
    }

    /// Reads an orthogonal selection: one `DimensionSelection` per dimension (ranges, index
    /// arrays in any order with repeats, masks, lists of ranges); the result has, on each axis,
    /// the selected indices in the order given.
    ///
    /// Cost: each chunk the selection touches is fetched and decoded at most once per call,
    /// whatever the order or repeats of the indices; from a sharded array only the indexes and
    /// the inner chunks touched are read (the chain decides, see `CodecChain.pieces`). Chunks
    /// are fetched a batch ahead of decoding, so encoded bytes in memory stay within two
    /// batches; decoding runs on `options.codecThreads` threads, straight into the result
    /// where a whole chunk lands contiguously. Missing chunks read as the fill value.
    public func read(_ selection: [DimensionSelection], options: ConcurrencyOptions = .automatic) async throws -> NDArray {
        try await read(selection, recycling: nil, options: options)
    }

    /// Reads an orthogonal selection (see `read(_:options:)`) into a buffer taken from
    /// `recycler` when it holds one big enough (fixed-size elements): no fresh pages, so no
    /// page faults. Give the result's storage back with `BufferRecycler.recycle(_:)` once it is
    /// no longer used. A new buffer made for a recycled read gets an eighth more capacity, so
    /// that the next read of about the same size fits in it.
    public func read(
        _ selection: [DimensionSelection], recycling recycler: BufferRecycler?, options: ConcurrencyOptions = .automatic
    ) async throws -> NDArray {
        var plan = try SelectionPlan(array: self, selection: selection)
        var out = try NDArray.uninitialized(dataType: dataType, shape: plan.shape, hugePages: options.hugePages, recycling: recycler)
        plan.locateChunks(metadata.chunkShape)
        let scratch = ScratchBuffers(count: options.codecThreads)
        switch out.storage {
        case .fixed(var buffer):
            out.storage = .fixed([])
            try await readPlan(plan, options: options) { jobs in
                try buffer.withUnsafeMutableBytes { dst in
                    guard let base = dst.baseAddress else { return }
                    try decodeFixed(jobs, into: base, shape: plan.shape, threads: options.codecThreads, scratch: scratch)
                }
            }
            out.storage = .fixed(buffer)
        case .variable(var values):
            out.storage = .variable([])
            try await readPlan(plan, options: options) { jobs in
                try decodeVariable(jobs, into: &values, shape: plan.shape, threads: options.codecThreads)
            }
            out.storage = .variable(values)
        }
        if case .fixed(let b) = out.storage {
            let failure: ZarrError? = b.withUnsafeBytes { raw in
                do throws(ZarrError) { try checkCodePoints(raw, plan: plan) } catch { return error }
                return nil
            }
            if let failure { throw failure }
        }
        return out
    }

    /// Reads an orthogonal selection (see `read(_:options:)`) into `destination`, which must
    /// hold exactly the selection's elements in C order: the caller owns the memory (a buffer
    /// handed to another library, or one reused across reads). Arrays of fixed-size elements
    /// only.
    public func read(
        _ selection: [DimensionSelection], into destination: UnsafeMutableRawBufferPointer, options: ConcurrencyOptions = .automatic
    ) async throws {
        guard let size = dataType.itemSize, !dataType.isVariableLength else {
            throw ZarrError.unsupportedOperation("reading \(dataType) values into a caller's buffer at '\(path)' (variable-length elements)")
        }
        var plan = try SelectionPlan(array: self, selection: selection)
        let count = try LargeBuffer.checkedCount(plan.shape, what: "a selection of '\(path)'")
        guard destination.count == (try LargeBuffer.checkedBytes(count: count, itemSize: size, what: "a selection of '\(path)'")) else {
            throw ZarrError.valueMismatch("a buffer of \(destination.count) bytes for \(count) elements of \(size) bytes at '\(path)'")
        }
        plan.locateChunks(metadata.chunkShape)
        guard let base = destination.baseAddress else { return }
        let target = UncheckedBox(base)
        let scratch = ScratchBuffers(count: options.codecThreads)
        try await readPlan(plan, options: options) { jobs in
            try decodeFixed(jobs, into: target.value, shape: plan.shape, threads: options.codecThreads, scratch: scratch)
        }
        try checkCodePoints(UnsafeRawBufferPointer(destination), plan: plan)
    }

    /// The shape of the smallest part of the array that decodes on its own: the inner chunk
    /// shape of a sharded array (innermost, when nested), else the chunk shape. Callers that
    /// align their reads to it decode nothing twice.
    public var readGranule: [Int] { chain.readGranule }

    /// One piece to decode: its bytes and chain, and where its selected elements go.
    struct PieceJob: Sendable {
        /// The store key of the chunk that holds the piece.
        var key: String
        /// The encoded piece.
        var piece: EncodedPiece
        /// Per dimension, the selected runs inside the piece (sources relative to its origin).
        var runs: [[DimensionPlan.Run]]
    }

    /// Fetches the plan's chunks a batch ahead of `decode`, which gets each batch's pieces in
    /// order. The fetches are child tasks: cancelling the read, or an error, stops them.
    func readPlan(_ plan: SelectionPlan, options: ConcurrencyOptions, decode: ([PieceJob]) throws -> Void) async throws {
        let total = plan.chunkCount
        if total == 0 { return }
        let batch = Swift.max(4 * options.codecThreads, 16)
        let batches = (total + batch - 1) / batch
        let recycling = store as? any BufferRecyclingStore
        try await withThrowingTaskGroup(of: [PieceJob].self) { group in
            group.addTask { try await self.fetch(plan, 0..<Swift.min(batch, total), options: options) }
            var done = 0
            while let jobs = try await group.next() {
                done += 1
                if done < batches {
                    let range = (done * batch)..<Swift.min((done + 1) * batch, total)
                    group.addTask { try await self.fetch(plan, range, options: options) }
                }
                try decode(jobs)
                // Decoded: the encoded bytes can hold a later read's.
                recycling?.recycle(jobs.compactMap(\.piece.bytes))
            }
        }
    }

    /// Asks the chain for the pieces of chunks `numbers` of the plan.
    func fetch(_ plan: SelectionPlan, _ numbers: Range<Int>, options: ConcurrencyOptions) async throws -> [PieceJob] {
        let store = self.store, chain = self.chain, limits = decodeLimits
        let rank = shape.count
        let nested = try await Parallel.map(Array(numbers), limit: options.ioRequests) { n -> [PieceJob] in
            let (chunk, runs) = plan.chunk(n)
            let key = self.chunkKey(chunk)
            let subset = ChunkSubset(runs: runs.map(DimensionPlan.coveredRanges))
            let pieces: [EncodedPiece]
            do {
                pieces = try await chain.pieces(
                    for: subset, from: StoreValueSource(store: store, key: key, ioRequests: options.ioRequests),
                    ioRequests: options.ioRequests, limits: limits)
            } catch let error as ZarrError {
                if case .codecFailure(_, let reason) = error { throw ZarrError.corruptChunk(key: key, reason: reason) }
                throw error
            }
            return pieces.compactMap { p in
                let local = (0..<rank).map { d in DimensionPlan.clip(runs[d], origin: p.origin[d], extent: p.shape[d]) }
                if local.contains(where: \.isEmpty) { return nil }
                return PieceJob(key: key, piece: p, runs: local)
            }
        }
        return nested.flatMap { $0 }
    }

    /// Decodes fixed-size pieces into `dst` (a C-order buffer of `shape`) on up to `threads`
    /// threads: straight into place when a whole piece lands contiguously, else into the
    /// worker's reused buffer and copied out run by run.
    func decodeFixed(
        _ jobs: [PieceJob], into dst: UnsafeMutableRawPointer, shape: [Int], threads: Int, scratch: ScratchBuffers
    ) throws(ZarrError) {
        let size = dataType.itemSize ?? 1
        let element = metadata.fillValue.elementBytes(for: dataType)
        let limits = decodeLimits
        let outStrides = Self.strides(shape)
        let target = UncheckedBox(dst)
        try Parallel.forEach(jobs.count, threads: threads) { (worker: Int, i: Int) throws(ZarrError) in
            let job = jobs[i]
            let base = target.value
            let pieceShape = job.piece.shape
            let chain = job.piece.chain
            guard let bytes = job.piece.bytes else {
                Self.forEachRun(job.runs, srcStrides: Self.strides(pieceShape), dstStrides: outStrides) { _, d, n in
                    Self.fill(base + d * size, count: n, element: element)
                }
                return
            }
            do throws(ZarrError) {
                if chain.decodesInPlace, let start = Self.wholePieceOrigin(job.runs, pieceShape: pieceShape),
                   RegionCopy.isContiguous(shape: shape, origin: start, extent: pieceShape)
                {
                    let off = RegionCopy.offset(of: start, shape: shape, itemSize: size)
                    let span = UnsafeMutableRawBufferPointer(start: base + off, count: pieceShape.reduce(1, *) * size)
                    if try chain.decode(bytes, into: span) { return }
                }
                let srcStrides = Self.strides(pieceShape)
                if chain.decodesInPlace {
                    let pieceBytes = try LargeBuffer.checkedBytes(
                        count: try LargeBuffer.checkedCount(pieceShape, what: "a chunk"), itemSize: size, what: "a chunk")
                    let buf = try scratch.buffer(worker, bytes: pieceBytes)
                    if try chain.decode(bytes, into: buf), let s = buf.baseAddress {
                        Self.forEachRun(job.runs, srcStrides: srcStrides, dstStrides: outStrides) { from, to, n in
                            (base + to * size).copyMemory(from: s + from * size, byteCount: n * size)
                        }
                        return
                    }
                }
                let piece = try chain.decode(bytes, limits: limits)
                piece.bytes.withUnsafeBytes { src in
                    guard let s = src.baseAddress else { return }
                    Self.forEachRun(job.runs, srcStrides: srcStrides, dstStrides: outStrides) { from, to, n in
                        (base + to * size).copyMemory(from: s + from * size, byteCount: n * size)
                    }
                }
            } catch {
                throw error.inChunk(job.key)
            }
        }
    }

    /// Decodes variable-length pieces in parallel, then places their selected elements.
    func decodeVariable(_ jobs: [PieceJob], into values: inout [[UInt8]], shape: [Int], threads: Int) throws(ZarrError) {
        let limits = decodeLimits
        let slots = UncheckedBox(UnsafeMutableBufferPointer<NDArray?>.allocate(capacity: jobs.count))
        slots.value.initialize(repeating: nil)
        defer { slots.value.deinitialize(); slots.value.deallocate() }
        try Parallel.forEach(jobs.count, threads: threads) { (i) throws(ZarrError) in
            guard let bytes = jobs[i].piece.bytes else { return }
            do throws(ZarrError) {
                slots.value[i] = try jobs[i].piece.chain.decode(bytes, limits: limits)
            } catch {
                throw error.inChunk(jobs[i].key)
            }
        }
        let outStrides = Self.strides(shape)
        let fill = metadata.fillValue.elementBytes(for: dataType)
        for (i, job) in jobs.enumerated() {
            let decoded: [[UInt8]]?
            if let piece = slots.value[i], case .variable(let v) = piece.storage { decoded = v } else { decoded = nil }
            Self.forEachRun(job.runs, srcStrides: Self.strides(job.piece.shape), dstStrides: outStrides) { from, to, n in
                for k in 0..<n { values[to + k] = decoded.map { $0[from + k] } ?? fill }
            }
        }
    }

    /// The output origin of a piece whose every element is selected in order (one run per
    /// dimension covering the piece), else `nil`.
    static func wholePieceOrigin(_ runs: [[DimensionPlan.Run]], pieceShape: [Int]) -> [Int]? {
        var origin: [Int] = []
        origin.reserveCapacity(runs.count)
        for (d, dim) in runs.enumerated() {
            guard dim.count == 1, dim[0].source == 0, dim[0].length == pieceShape[d] else { return nil }
            origin.append(dim[0].output)
        }
        return origin
    }

    /// Element strides of a C-order array of `shape`.
    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var n = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            s[d] = n
            n *= shape[d]
        }
        return s
    }

    /// Calls `body(source element, destination element, count)` for every contiguous span of
    /// the outer product of `runs` (the last dimension's runs are the spans).
    static func forEachRun(
        _ runs: [[DimensionPlan.Run]], srcStrides: [Int], dstStrides: [Int], _ body: (Int, Int, Int) -> Void
    ) {
        let rank = runs.count
        if rank == 0 { body(0, 0, 1); return }
        func visit(_ d: Int, _ src: Int, _ dst: Int) {
            if d == rank - 1 {
                for r in runs[d] { body(src + r.source, dst + r.output, r.length) }
                return
            }
            for r in runs[d] {
                for k in 0..<r.length {
                    visit(d + 1, src + (r.source + k) * srcStrides[d], dst + (r.output + k) * dstStrides[d])
                }
            }
        }
        visit(0, 0, 0)
    }

    /// Writes `count` copies of `element` at `p`.
    static func fill(_ p: UnsafeMutableRawPointer, count: Int, element: [UInt8]) {
        let size = element.count
        guard count > 0, size > 0 else { return }
        if element.allSatisfy({ $0 == 0 }) {
            p.initializeMemory(as: UInt8.self, repeating: 0, count: count * size)
            return
        }
        element.withUnsafeBytes { e in
            guard let eb = e.baseAddress else { return }
            p.copyMemory(from: eb, byteCount: size)
        }
        var done = size
        let total = count * size
        while done < total {
            let n = Swift.min(done, total - done)
            (p + done).copyMemory(from: p, byteCount: n)
            done += n
        }
    }

    /// For `U<n>` (UTF-32) arrays: every code unit must be a Unicode scalar value (not a
    /// surrogate, at most U+10FFFF) or the zero padding. Anything else is a typed error naming
    /// the chunk that holds it, never a silent U+FFFD later.
    func checkCodePoints(_ raw: UnsafeRawBufferPointer, plan: SelectionPlan) throws(ZarrError) {
        guard case .fixedUTF32(let length) = dataType, length > 0 else { return }
        var bad: Int?
        let units = raw.count / 4
        for u in 0..<units {
            let v = raw.loadUnaligned(fromByteOffset: 4 * u, as: UInt32.self).littleEndian
            if v > 0x10FFFF || (0xD800...0xDFFF).contains(v) { bad = u; break }
        }
        guard let unit = bad else { return }
        // The element's position in the result, then in the array, then its chunk.
        var rest = unit / length
        var index = [Int](repeating: 0, count: plan.shape.count)
        for d in stride(from: plan.shape.count - 1, through: 0, by: -1) {
            let n = Swift.max(plan.shape[d], 1)
            index[d] = plan.dimensions[d].source(ofOutput: rest % n) ?? 0
            rest /= n
        }
        let chunk = zip(index, metadata.chunkShape).map { $0 / $1 }
        let v = raw.loadUnaligned(fromByteOffset: 4 * unit, as: UInt32.self).littleEndian
        let hex = String(v, radix: 16, uppercase: true)
        throw ZarrError.corruptChunk(
            key: chunkKey(chunk),
            reason: "element \(index) of \(dataType.name) array '\(path)' holds 0x\(hex), not a Unicode scalar value")
    }
}

/// A selection resolved against an array's chunk grid: per dimension, the chunks it touches
/// and the runs inside each; the chunks are numbered in C order of their product.
struct SelectionPlan: Sendable {
    /// One chunk row/column of one dimension and the runs inside it.
    struct Block: Sendable {
        var index: Int
        var runs: [DimensionPlan.Run]
    }

    /// The resolved selection of each dimension.
    let dimensions: [DimensionPlan]
    /// The result's shape.
    let shape: [Int]
    /// Per dimension, the chunks touched, ascending (empty until `locateChunks`).
    private(set) var blocks: [[Block]] = []

    /// Resolves `selection` for `array`; a selection of the wrong rank or outside the array
    /// is a typed error naming the array. The chunks are located by `locateChunks`, once the
    /// caller has the memory for the result (their number grows with it).
    init(array: ZarrArray, selection: [DimensionSelection]) throws(ZarrError) {
        guard selection.count == array.shape.count else {
            throw .invalidSelection("\(selection.count) selections for an array of rank \(array.shape.count) at '\(array.path)'")
        }
        var dims: [DimensionPlan] = []
        for (d, s) in selection.enumerated() {
            dims.append(try DimensionPlan(s, extent: array.shape[d], dimension: d, path: array.path))
        }
        dimensions = dims
        shape = dims.map(\.count)
    }

    /// Finds the chunks of `chunkShape` that the selection touches. Cost: linear in the
    /// selected runs and the chunks they cross on each axis.
    mutating func locateChunks(_ chunkShape: [Int]) {
        blocks = dimensions.enumerated().map { d, plan in plan.byBlock(chunkShape[d]).map { Block(index: $0.block, runs: $0.runs) } }
    }

    /// The number of chunks touched.
    var chunkCount: Int {
        var n = 1
        for b in blocks {
            let (p, o) = n.multipliedReportingOverflow(by: b.count)
            n = o ? .max : p
        }
        return n
    }

    /// Chunk number `n` (C order): its grid index and, per dimension, the runs inside it.
    func chunk(_ n: Int) -> (index: [Int], runs: [[DimensionPlan.Run]]) {
        var rest = n
        var index = [Int](repeating: 0, count: blocks.count)
        var runs = [[DimensionPlan.Run]](repeating: [], count: blocks.count)
        for d in stride(from: blocks.count - 1, through: 0, by: -1) {
            let b = blocks[d][rest % blocks[d].count]
            rest /= blocks[d].count
            index[d] = b.index
            runs[d] = b.runs
        }
        return (index, runs)
    }
}

extension NDArray {
    /// An array whose fixed-size bytes are not yet written (every byte is written by the read
    /// before it is returned); variable-length arrays start empty. `hugePages`: see
    /// `ConcurrencyOptions.hugePages`.
    /// Throws instead of trapping when the size overflows or exceeds what can be allocated.
    static func uninitialized(
        dataType: DataType, shape: [Int], hugePages: Bool = false, recycling recycler: BufferRecycler? = nil
    ) throws(ZarrError) -> NDArray {
        let n = try LargeBuffer.checkedCount(shape, what: "an array")
        if let size = dataType.itemSize {
            let total = try LargeBuffer.checkedBytes(count: n, itemSize: size, what: "an array of shape \(shape)")
            if let recycler {
                if let reused = recycler.reused(total) {
                    return NDArray(unchecked: dataType, shape: shape, storage: .fixed(reused))
                }
                let (roomy, overflow) = total.addingReportingOverflow(total / 8)
                let capacity = overflow ? total : roomy
                try LargeBuffer.checkAllocatable(capacity, what: "an array of shape \(shape)")
                try LargeBuffer.probe(capacity, what: "an array of shape \(shape)")
                let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
                    if hugePages { LargeBuffer.adviseHugePages(UnsafeMutableRawBufferPointer(buffer)) }
                    initialized = total
                }
                return NDArray(unchecked: dataType, shape: shape, storage: .fixed(bytes))
            }
            let bytes = try LargeBuffer.bytes(total, what: "an array of shape \(shape)") { buffer in
                if hugePages { LargeBuffer.adviseHugePages(UnsafeMutableRawBufferPointer(buffer)) }
                return total
            }
            return NDArray(unchecked: dataType, shape: shape, storage: .fixed(bytes))
        }
        _ = try LargeBuffer.checkedBytes(count: n, itemSize: MemoryLayout<[UInt8]>.stride, what: "an array of shape \(shape)")
        return NDArray(unchecked: dataType, shape: shape, storage: .variable([[UInt8]](repeating: [], count: n)))
    }

    init(unchecked dataType: DataType, shape: [Int], storage: Storage) {
        self.dataType = dataType
        self.shape = shape
        self.storage = storage
    }
}

extension ZarrError {
    /// The error of decoding the chunk at `key`: `corruptChunk` with this error's reason,
    /// except memory that cannot be had, which says so.
    func inChunk(_ key: String) -> ZarrError {
        if case .outOfMemory(let w, let b, let a) = self { return .outOfMemory(what: "\(w) for chunk '\(key)'", bytes: b, available: a) }
        return .corruptChunk(key: key, reason: reasonText)
    }

    /// The reason part of a codec error, for wrapping into `corruptChunk`.
    var reasonText: String {
        switch self {
        case .codecFailure(let c, let r): return "\(c): \(r)"
        case .corruptChunk(_, let r): return r
        default: return description
        }
    }
}

/// One reusable decode buffer per worker, for the duration of one read.
final class ScratchBuffers: @unchecked Sendable {
    // Each worker touches only its own slot of this fixed table, so no lock is needed.
    private let slots: UnsafeMutableBufferPointer<UnsafeMutableRawBufferPointer>

    init(count: Int) {
        slots = .allocate(capacity: max(count, 1))
        slots.initialize(repeating: UnsafeMutableRawBufferPointer(start: nil, count: 0))
    }

    /// Worker `worker`'s buffer, exactly `bytes` long (grown when needed); memory that
    /// cannot be had is a typed error.
    func buffer(_ worker: Int, bytes: Int) throws(ZarrError) -> UnsafeMutableRawBufferPointer {
        let w = worker % slots.count
        if slots[w].count < bytes {
            free(slots[w].baseAddress)
            slots[w] = UnsafeMutableRawBufferPointer(start: nil, count: 0)
            slots[w] = try LargeBuffer.allocateRaw(bytes, alignment: 64, what: "a chunk buffer")
        }
        return UnsafeMutableRawBufferPointer(rebasing: slots[w][0..<bytes])
    }

    deinit {
        for b in slots { free(b.baseAddress) }
        slots.deallocate()
    }
}
