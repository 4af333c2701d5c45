import AnnData
import Foundation
import Testing
import Zarr

/// Swift writes, Python reads: Python fixtures are converted with the Swift API (and the
/// Swift-built reference is written directly), then `anndata_fixtures.py check` must pass with
/// both anndata versions.
@Suite("Swift writes, Python reads")
struct InteropWriteTests {
    /// Where the AnnData comes from, how Swift writes it, and which Pythons check it.
    struct Config: Sendable, CustomTestStringConvertible {
        let name: String
        /// `nil`: Swift's own reference; else the Python fixture to convert.
        let source: (python: Python, arguments: [String])?
        let variant: Variant
        let extras: Bool
        let options: @Sendable () -> WriteOptions
        let checkers: [(Python, Bool)]  // interpreter, with the lazy pass
        var testDescription: String { name }
    }

    static let configs: [Config] = [
        Config(name: "A12 fixture -> Swift v3 (zstd)", source: (.a12, ["--variant", "all", "--extras"]), variant: .dense, extras: true,
               options: { WriteOptions() }, checkers: [(.a12, true), (.a13, true)]),
        Config(name: "A12 fixture -> Swift v2 (blosc)", source: (.a12, ["--variant", "all", "--extras"]), variant: .dense, extras: true,
               options: { WriteOptions(zarrFormat: .v2, compressor: .blosc) }, checkers: [(.a12, true), (.a13, false)]),
        Config(name: "A13 csr fixture -> Swift v3 auto-shard", source: (.a13, ["--variant", "all", "--extras"]), variant: .csr, extras: true,
               options: { WriteOptions(sharding: .auto) }, checkers: [(.a12, false), (.a13, true)]),
        Config(name: "A12 csc fixture -> Swift v3 gzip", source: (.a12, ["--variant", "all", "--extras"]), variant: .csc, extras: true,
               options: { WriteOptions(compressor: .gzip) }, checkers: [(.a13, false)]),
        Config(name: "A13 empty fixture -> Swift v2 uncompressed", source: (.a13, ["--variant", "all", "--extras"]), variant: .empty, extras: true,
               options: { WriteOptions(zarrFormat: .v2, compressor: .none) }, checkers: [(.a12, false)]),
        Config(name: "Swift reference -> v3 explicit shards", source: nil, variant: .dense, extras: false,
               options: { WriteOptions(dispatch: explicitShards) }, checkers: [(.a12, false)]),
    ]

    /// The fixture tool's `--shard` layout, through the dispatch callback.
    static let explicitShards: WriteCallback = { _, type, element in
        switch type {
        case "array", "string-array":
            let rank = element.shape?.count ?? 0
            if rank == 0 { return .write }
            let c = rank == 1 ? 16 : rank == 2 ? 8 : 4
            return .writeWith(ArrayOverrides(chunks: Array(repeating: c, count: rank), shards: Array(repeating: 2 * c, count: rank)))
        case "csr_matrix", "csc_matrix":
            return .writeWith(ArrayOverrides(chunks: [16], shards: [64]))
        default:
            return .write
        }
    }

    @Test(arguments: configs)
    func pythonReadsSwiftStores(_ config: Config) async throws {
        let adata: AnnData
        if let (python, args) = config.source {
            let dir = try await Fixtures.shared.directory(python, args)
            adata = try await AnnData.read(from: LocalStore(root: dir.appendingPathComponent(config.variant.fileName).path))
        } else {
            adata = Reference.kitchenSink(config.variant, extras: config.extras)
        }
        let out = Fixtures.shared.scratch("write").appendingPathComponent(config.variant.fileName)
        let store = LocalStore(root: out.path)
        try await adata.write(to: store, options: config.options())

        // Swift reads its own store back: exactly what it wrote (strict: same encodings and
        // dtypes), and the same data as the reference.
        let back = try await AnnData.read(from: store)
        let problems = Compare.anndata(back, adata)
            + Compare.anndata(back, Reference.kitchenSink(config.variant, extras: config.extras), strict: false)
        #expect(problems.isEmpty, "\(problems.prefix(10).joined(separator: "\n"))")
        #expect(await validate(store).isEmpty)

        for (python, lazy) in config.checkers {
            let r = try await python.check(out, lazy: lazy)
            let failures = r.output.split(separator: "\n").filter { $0.hasPrefix("MISMATCH") }.prefix(15).joined(separator: "\n")
            #expect(r.ok, "\(python) check: \(r.summary)\n\(failures)")
            print("check \(config.name) with \(python)\(lazy ? "" : " (no lazy)"): \(r.summary)")
        }
    }
}
