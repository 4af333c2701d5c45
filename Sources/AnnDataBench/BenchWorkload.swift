import Zarr

/// One benchmark workload of `peers.py`: its name, its variants (the first is the default) and
/// the closure that runs it once.
///
/// A workload's closure does everything that is not timed (loading inputs, computing the
/// check) itself and times exactly what `peers.py` documents, usually with `BenchClock.time`.
struct BenchWorkload: Sendable {
    /// The workload name, as `peers.py` spells it (`dense-read-full`, `ad-read-x`, ...).
    let name: String
    /// The accepted variants; the first is the default.
    let variants: [String]
    /// One line for `anndata-bench list`.
    let summary: String
    /// Runs the workload once.
    let run: @Sendable (BenchContext) async throws -> BenchResult
}

/// Every workload `anndata-bench run` knows. To add a family, give it a `static let all:
/// [BenchWorkload]` and append it here.
enum BenchRegistry {
    static let workloads: [BenchWorkload] = DenseWorkloads.all + AnnDataWorkloads.all + FloorWorkloads.all

    static var names: [String] { workloads.map(\.name) }

    static func workload(named name: String) -> BenchWorkload? {
        workloads.first { $0.name == name }
    }
}

/// What a workload gets: where the data is, the variant, the manifest and selections (already
/// loaded, outside any timer) and the concurrency to use.
struct BenchContext: Sendable {
    /// The data directory (`src/`, `stores/`).
    let data: String
    /// The workload name.
    let workload: String
    /// The variant.
    let variant: String
    /// The directory writes put their output in (created on demand).
    let scratch: String
    /// Whether writes keep their output.
    let keep: Bool
    /// The concurrency for the engine.
    let options: ConcurrencyOptions
    /// `src/manifest.json`.
    let manifest: JSONValue
    /// `src/sel.json`.
    let selections: JSONValue
    /// Where read workloads read their store from instead of `stores/` (an `http(s)://` or
    /// `s3://` URL), and the counters of that store.
    let storeURL: String?
    let metrics: StoreMetrics?

    init(
        data: String, workload: String, variant: String, scratch: String, keep: Bool, options: ConcurrencyOptions,
        storeURL: String? = nil
    ) throws {
        self.storeURL = storeURL
        self.metrics = storeURL == nil ? nil : StoreMetrics()
        self.data = data
        self.workload = workload
        self.variant = variant
        self.scratch = scratch
        self.keep = keep
        self.options = options
        self.manifest = try BenchFiles.readJSON(BenchFiles.join(data, "src/manifest.json"))
        self.selections = try BenchFiles.readJSON(BenchFiles.join(data, "src/sel.json"))
    }

    /// A path under `src/`.
    func source(_ name: String) -> String { BenchFiles.join(data, "src/" + name) }
    /// A path under `stores/`.
    func store(_ name: String) -> String { BenchFiles.join(data, "stores/" + name) }

    /// The store a read workload opens (timed): `--store-url` when given, else the local
    /// store at `path`.
    func readableStore(_ path: String) throws -> any ReadableStore {
        if let storeURL { return try BenchStoreURL.readable(storeURL, metrics: metrics) }
        return LocalStore(root: path)
    }

    /// A member of the manifest, by path (`["dense", "layout", "chunk"]`).
    func manifestValue(_ path: String...) throws -> JSONValue {
        try Self.member(manifest, path, in: "manifest.json")
    }

    /// A member of the selections, by path.
    func selection(_ path: String...) throws -> JSONValue {
        try Self.member(selections, path, in: "sel.json")
    }

    /// An integer list from the manifest or the selections.
    static func ints(_ v: JSONValue, _ what: String) throws -> [Int] {
        guard let a = v.array else { throw BenchError("\(what) is not a list") }
        return try a.map { e in
            guard let i = e.int else { throw BenchError("\(what) holds a non-integer") }
            return i
        }
    }

    /// An integer from the manifest or the selections.
    static func int(_ v: JSONValue, _ what: String) throws -> Int {
        guard let i = v.int else { throw BenchError("\(what) is not an integer") }
        return i
    }

    private static func member(_ root: JSONValue, _ path: [String], in file: String) throws -> JSONValue {
        var v = root
        for (n, k) in path.enumerated() {
            guard let next = v[k] else {
                throw BenchError("\(file) has no \(path[...n].joined(separator: "."))")
            }
            v = next
        }
        return v
    }
}

/// The outcome of one run: what `peers.py` puts in its JSON line.
struct BenchResult: Sendable {
    /// Seconds the timer covered.
    var seconds: Double
    /// Bytes the workload returned or wrote (0: report seconds only).
    var bytes: Int
    /// `{"shape": [...], "sum": ...}` or `{"nnz": ..., "shape": [...], "sum": ...}`.
    var check: JSONObject?
    /// Further members (`disk_bytes` for writes, `store_bytes` for reads, ...).
    var extra: JSONObject = [:]

    /// The JSON line, keyed as `peers.py run` writes it.
    func jsonLine(workload: String, variant: String, options: ConcurrencyOptions) -> String {
        let secs = (seconds * 1e6).rounded() / 1e6
        var o: JSONObject = [
            "workload": .string(workload), "impl": "swift-anndata", "variant": .string(variant),
            "seconds": .double(secs), "bytes": .integer(bytes),
            "gbps": bytes > 0 && secs > 0 ? .double((Double(bytes) / secs / 1e9 * 1e4).rounded() / 1e4) : .null,
        ]
        o.merge(extra)
        if let check { o["check"] = .object(check) }
        if o["cache"] == nil { o["cache"] = "warm" }
        o["threads"] = .integer(options.codecThreads)
        o["io_requests"] = .integer(options.ioRequests)
        return JSONValue.object(o).serializedString()
    }
}

/// `check` objects.
enum BenchCheck {
    /// A dense result.
    static func array(shape: [Int], sum: Double) -> JSONObject {
        ["shape": .integers(shape), "sum": .double(sum)]
    }

    /// A CSR result.
    static func csr(nnz: Int, shape: [Int], sum: Double) -> JSONObject {
        ["nnz": .integer(nnz), "shape": .integers(shape), "sum": .double(sum)]
    }

    /// The float64 sum of packed little-endian float32 values.
    static func sumFloat32(_ bytes: [UInt8]) -> Double {
        bytes.withUnsafeBytes { raw in
            let v = raw.bindMemory(to: Float.self)
            // Four accumulators: the values are counts, so every order gives the same sum.
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            var i = 0
            let n = v.count
            while i + 4 <= n {
                s0 += Double(v[i]); s1 += Double(v[i + 1]); s2 += Double(v[i + 2]); s3 += Double(v[i + 3])
                i += 4
            }
            while i < n { s0 += Double(v[i]); i += 1 }
            return (s0 + s1) + (s2 + s3)
        }
    }

    /// The float64 sum of an array's values (any numeric type).
    static func sum(_ a: NDArray) throws -> Double {
        if a.dataType == .float32 { return sumFloat32(a.bytes) }
        return try a.doubles().reduce(0, +)
    }
}

/// The timer: `ContinuousClock`, in seconds.
enum BenchClock {
    /// Runs `body` and returns its value and the seconds it took.
    static func time<T>(_ body: () async throws -> T) async rethrows -> (T, Double) {
        let clock = ContinuousClock()
        let t0 = clock.now
        let v = try await body()
        return (v, seconds(clock.now - t0))
    }

    static func seconds(_ d: Duration) -> Double {
        let c = d.components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }
}

/// A benchmark failure with a message.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
