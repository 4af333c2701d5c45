import Synchronization
import Zarr

/// One minibatch of a `MinibatchLoader`.
public struct Minibatch: Sendable {
    /// The global row of each of the batch's rows, in batch order.
    public let rows: [Int]
    /// The rows of X (all columns), in batch order: CSR for a sparse X, dense for a dense X, or
    /// a dense `float32` array of shape `[rows, columns]` in one contiguous buffer when the
    /// loader was asked for dense output (`X.bytes`, ready to hand to a C API).
    public let X: Matrix
    /// The requested obs columns at those rows.
    public let obs: OrderedDict<Column>
    /// The requested per-row matrices (`obsm/...` arrays, `layers/...`) at those rows, in batch
    /// order and in their stored form (dense, or CSR), keyed by element path.
    public let matrices: OrderedDict<Matrix>
}

/// A shuffled (or sequential) epoch of minibatches over a lazy matrix or a collection of stores,
/// as an `AsyncSequence`.
///
/// The epoch follows an `EpochPlan`: blocks of contiguous rows, `preloadBlocks` of them read
/// together as one window (one selection read per array of X: adjacent blocks merge into one
/// range, and the chunks are fetched and decoded in parallel), the window's rows shuffled and
/// cut into batches. Other matrices of the store (`obsm` arrays, layers) can travel with X: each
/// window reads their rows too, side by side with X's. The next window is read while the
/// consumer works on the current one, so at most two windows are in memory (plus the obs
/// columns asked for, loaded once); nothing
/// decoded outlives its window. Ending the iteration early, or cancelling the consuming task,
/// cancels the read in flight.
///
/// Deterministic: the same seed and epoch give the same batches; another epoch another order.
/// Workers (`rank`, `worldSize`) get disjoint shares that together cover the epoch exactly once.
public struct MinibatchLoader: AsyncSequence, Sendable {
    public typealias Element = Minibatch

    /// Where rows come from: one matrix, or a collection of stores.
    public enum Source: Sendable {
        /// One lazy matrix (X, a layer).
        case matrix(LazyMatrix)
        /// The X of a collection, aligned by var_names.
        case collection(AnnDataCollection)

        /// The number of rows.
        public var rowCount: Int {
            switch self {
            case .matrix(let m): return m.rowCount
            case .collection(let c): return c.nObs
            }
        }

        var path: String {
            switch self {
            case .matrix(let m): return m.path
            case .collection: return "X"
            }
        }

        /// Rows (sorted, distinct) with every column; one matrix's big arrays are decoded into
        /// buffers from `recycler`.
        func rows(_ rows: [Int], recycling recycler: BufferRecycler?) async throws(AnnDataError) -> Matrix {
            switch self {
            case .matrix(let m): return try await m.select(rows: rows, columns: nil, recycling: recycler)
            case .collection(let c): return try await c.rows(rows)
            }
        }
    }

    /// Where the rows come from.
    public let source: Source
    /// The plan of this epoch for this worker.
    public let plan: EpochPlan
    /// The obs columns delivered with each batch, loaded whole when the loader is made.
    public let obs: OrderedDict<Column>
    /// Whether X is delivered as dense `float32`.
    public let denseFloat32: Bool
    /// Other matrices read with X for each window and cut into the same batches (element path
    /// -> matrix), for one store.
    public let matrices: OrderedDict<LazyMatrix>

    /// A loader over `matrix` for `epoch`, delivering `obsColumns` (loaded now from `obsFrame`)
    /// with each batch; with `denseFloat32`, X arrives as one dense `float32` buffer per batch.
    /// `matrices` (path -> matrix, each with `matrix`'s rows: `obsm` arrays, layers) are read
    /// with every window and delivered in `Minibatch.matrices`.
    public init(
        _ matrix: LazyMatrix, options: LoaderOptions = LoaderOptions(), epoch: Int = 0,
        obsColumns: [String] = [], from obsFrame: LazyDataFrame? = nil, denseFloat32: Bool = false,
        matrices: OrderedDict<LazyMatrix> = [:]
    ) async throws(AnnDataError) {
        self.source = .matrix(matrix)
        self.plan = try EpochPlan(rowCount: matrix.rowCount, options: options, epoch: epoch)
        self.denseFloat32 = denseFloat32
        for (path, m) in matrices where m.rowCount != matrix.rowCount {
            throw .shapeMismatch(path: path, reason: "\(m.rowCount) rows, \(matrix.path) has \(matrix.rowCount)")
        }
        self.matrices = matrices
        var columns = OrderedDict<Column>()
        if !obsColumns.isEmpty {
            guard let obsFrame else { throw .invalidElement(path: "obs", reason: "obs columns were asked for without an obs frame") }
            guard obsFrame.rowCount == matrix.rowCount else {
                throw .shapeMismatch(path: "obs", reason: "obs has \(obsFrame.rowCount) rows, \(matrix.path) \(matrix.rowCount)")
            }
            for name in obsColumns { columns[name] = try await obsFrame.column(name) }
        }
        self.obs = columns
    }

    /// A loader over the X of a collection (blocks never cross from one store to the next; a
    /// window's blocks are read with one selection per store), delivering `obsColumns` of every
    /// store (each store needs them; numeric columns of one type, or string-valued ones:
    /// strings, categoricals, are joined).
    public init(
        _ collection: AnnDataCollection, options: LoaderOptions = LoaderOptions(), epoch: Int = 0,
        obsColumns: [String] = [], denseFloat32: Bool = false
    ) async throws(AnnDataError) {
        self.source = .collection(collection)
        self.plan = try EpochPlan(segments: collection.members.map(\.nObs), options: options, epoch: epoch)
        self.denseFloat32 = denseFloat32
        self.matrices = [:]
        var columns = OrderedDict<Column>()
        for name in obsColumns {
            var parts: [Column] = []
            for m in collection.members { parts.append(try await m.obs.column(name)) }
            columns[name] = try Self.joined(parts, path: "obs/" + name)
        }
        self.obs = columns
    }

    /// A loader over the X of `adata`, delivering `obsColumns`, the `obsm` arrays named in `obsm`
    /// and the layers named in `layers` with each batch (see `init(_:options:epoch:obsColumns:from:denseFloat32:matrices:)`).
    public init(
        _ adata: LazyAnnData, options: LoaderOptions = LoaderOptions(), epoch: Int = 0, obsColumns: [String] = [],
        obsm: [String] = [], layers: [String] = [], denseFloat32: Bool = false
    ) async throws(AnnDataError) {
        guard let x = adata.X else { throw .missingElement(path: "X") }
        var extra = OrderedDict<LazyMatrix>()
        for name in obsm {
            guard case .matrix(let m)? = adata.obsm[name] else {
                throw adata.obsm[name] == nil ? .missingElement(path: "obsm/" + name)
                    : .unsupported(path: "obsm/" + name, reason: "only arrays and sparse matrices can be delivered with batches")
            }
            extra["obsm/" + name] = m
        }
        for name in layers {
            guard let m = adata.layers[name] else { throw .missingElement(path: "layers/" + name) }
            extra["layers/" + name] = m
        }
        try await self.init(x, options: options, epoch: epoch, obsColumns: obsColumns, from: adata.obs, denseFloat32: denseFloat32,
                            matrices: extra)
    }

    /// Columns of several stores, one after the other.
    static func joined(_ parts: [Column], path: String) throws(AnnDataError) -> Column {
        if parts.count == 1, let only = parts.first { return only }
        let arrays = parts.compactMap { if case .array(let a) = $0 { return a } else { return nil } }
        if arrays.count == parts.count, let first = arrays.first {
            return .array(try annotatingSync(path) {
                try NDArray.concatenating(arrays, dataType: first.dataType, trailingShape: Array(first.shape.dropFirst()))
            })
        }
        var strings: [String] = []
        for p in parts {
            var values = p.stringValues
            if case .categorical(let c) = p, let categories = try? c.categories.strings() {
                values = c.codeValues.map { $0 >= 0 && $0 < categories.count ? categories[$0] : nil }
            }
            guard let values, !values.contains(where: { $0 == nil }) else {
                throw .unsupported(path: path, reason: "stores hold this column in kinds that cannot be joined (numbers of different types, or missing values)")
            }
            strings += values.map { $0 ?? "" }
        }
        return .strings(strings)
    }

    /// Iterates over the epoch.
    public func makeAsyncIterator() -> Iterator { Iterator(loader: self) }

    /// The iterator: the current window's batches, the next window being read. A window's
    /// buffers, once all its batches are cut, are recycled for the window after next, so that
    /// an epoch maps its memory once instead of once per window.
    public struct Iterator: AsyncIteratorProtocol {
        let loader: MinibatchLoader
        var windowIndex = 0
        var batchIndex = 0
        var current: WindowData?
        var currentRows: [Int] = []
        let reads: WindowReads

        init(loader: MinibatchLoader) {
            self.loader = loader
            // One window's big arrays: X's data and indices (or values), and each other matrix's.
            self.reads = WindowReads(recycler: BufferRecycler(limit: 2 * (1 + loader.matrices.count)))
        }

        /// The next batch, `nil` after the last; a failed read throws and ends the epoch.
        public mutating func next() async throws -> Minibatch? {
            let windows = loader.plan.windows
            while true {
                guard windowIndex < windows.count else { return nil }
                if current == nil {
                    do {
                        current = try await reads.take(windowIndex, of: loader)
                    } catch {
                        windowIndex = windows.count
                        reads.cancel()
                        throw error
                    }
                    currentRows = windows[windowIndex].rows
                    // Read the next window while this one is consumed.
                    reads.start(windowIndex + 1, of: loader)
                }
                let window = windows[windowIndex]
                if batchIndex < window.batches.count, let m = current {
                    let positions = window.batches[batchIndex]
                    batchIndex += 1
                    return try loader.batch(m, positions: positions, windowRows: currentRows)
                }
                windowIndex += 1
                batchIndex = 0
                if let done = current {
                    current = nil
                    reads.recycle(done)
                }
            }
        }
    }

    /// One window's rows of X and of the other matrices, in read order.
    struct WindowData: Sendable {
        let X: Matrix
        let matrices: [Matrix]
    }

    /// One window's rows of X and of `matrices`, read side by side into buffers from
    /// `recycler`.
    func readWindow(_ index: Int, recycling recycler: BufferRecycler?) async throws -> WindowData {
        let rows = plan.windows[index].rows
        let extra = Array(matrices.values)
        return try await withThrowingTaskGroup(of: (Int, Matrix).self) { group in
            group.addTask { (-1, try await source.rows(rows, recycling: recycler)) }
            for (i, m) in extra.enumerated() { group.addTask { (i, try await m.select(rows: rows, columns: nil, recycling: recycler)) } }
            var x: Matrix?
            var others = [Matrix?](repeating: nil, count: extra.count)
            for try await (i, m) in group { if i < 0 { x = m } else { others[i] = m } }
            guard let x else { throw CancellationError() }
            return WindowData(X: x, matrices: others.compactMap { $0 })
        }
    }

    /// A batch cut from a window.
    func batch(_ window: WindowData, positions: [Int], windowRows: [Int]) throws -> Minibatch {
        let rows = positions.map { windowRows[$0] }
        var x = try window.X.selecting(rows: positions, columns: nil, path: source.path)
        if denseFloat32 { x = .dense(try Self.denseFloat32(x, path: source.path)) }
        var columns = OrderedDict<Column>()
        for (name, c) in obs { columns[name] = try c.taking(rows, path: "obs/" + name) }
        var extra = OrderedDict<Matrix>()
        for (path, m) in zip(matrices.keys, window.matrices) { extra[path] = try m.selecting(rows: positions, columns: nil, path: path) }
        return Minibatch(rows: rows, X: x, obs: columns, matrices: extra)
    }

    /// A matrix as dense `float32` in C order, in one buffer.
    static func denseFloat32(_ m: Matrix, path: String) throws -> NDArray {
        let shape = m.shape
        let (rows, cols) = (shape[0], shape.count > 1 ? shape[1] : 1)
        var out = [Float](repeating: 0, count: rows * cols)
        switch m {
        case .dense(let a):
            if a.dataType == .float32 { return a }
            let values = try a.doubles()
            for i in values.indices { out[i] = Float(values[i]) }
        case .sparse(let s):
            guard s.format == .csr else { throw AnnDataError.unsupported(path: path, reason: "dense output of a CSC matrix's rows") }
            let data = try s.data.doubles()
            let indices = IntegerView.ints(s.indices)
            let indptr = IntegerView.ints(s.indptr)
            for r in 0..<rows {
                for k in indptr[r]..<indptr[r + 1] { out[r * cols + indices[k]] = Float(data[k]) }
            }
        }
        return try NDArray(out, shape: [rows, cols])
    }
}

/// The window read ahead of the consumer: at most one in flight; cancelled when the iterator
/// goes away. Reads decode into buffers of windows already consumed (`recycle`).
final class WindowReads: Sendable {
    private let pending = Mutex<(index: Int, task: Task<MinibatchLoader.WindowData, any Error>)?>(nil)
    let recycler: BufferRecycler

    init(recycler: BufferRecycler) { self.recycler = recycler }

    /// Gives the big arrays of a consumed window back for the next reads (batches are cut
    /// as copies, so nothing else holds them; if something did, reuse would copy first).
    func recycle(_ window: consuming MinibatchLoader.WindowData) {
        let w = window
        for m in [w.X] + w.matrices {
            switch m {
            case .dense(let a): recycler.recycle(a)
            case .sparse(let s):
                recycler.recycle(s.data)
                recycler.recycle(s.indices)
            }
        }
    }

    /// Starts reading window `index` (if it exists and is not being read).
    func start(_ index: Int, of loader: MinibatchLoader) {
        guard index < loader.plan.windows.count else { return }
        pending.withLock { p in
            if p?.index == index { return }
            p?.task.cancel()
            let recycler = self.recycler
            p = (index, Task { try await loader.readWindow(index, recycling: recycler) })
        }
    }

    /// Window `index`: the read in flight, or a new one.
    func take(_ index: Int, of loader: MinibatchLoader) async throws -> MinibatchLoader.WindowData {
        start(index, of: loader)
        guard let task = pending.withLock({ p -> Task<MinibatchLoader.WindowData, any Error>? in
            defer { p = nil }
            return p?.task
        }) else { throw CancellationError() }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }

    /// Cancels the read in flight.
    func cancel() { pending.withLock { p in p?.task.cancel(); p = nil } }

    deinit { pending.withLock { $0?.task.cancel() } }
}
