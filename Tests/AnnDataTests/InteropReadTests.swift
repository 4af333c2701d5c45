import AnnData
import Foundation
import Testing
import Zarr

/// Python writes, Swift reads: every fixture variant written by both anndata versions is read
/// with Swift and compared element by element with Swift's own rebuild of the reference.
@Suite("Python writes, Swift reads")
struct InteropReadTests {
    /// A `make` configuration: interpreter, arguments, and which variants it writes.
    struct Config: Sendable, CustomTestStringConvertible {
        let python: Python
        let arguments: [String]
        let variants: [Variant]
        let extras: Bool
        var testDescription: String { "\(python == .a12 ? "A12" : "A13") \(arguments.joined(separator: " "))" }
    }

    /// Every option of the fixture tool with both anndata versions, every variant each time.
    static let configs: [Config] = Python.allCases.flatMap { python in
        [
            ["--extras"], ["--format", "2", "--extras"], ["--shard", "--extras"], ["--auto-shard", "--extras"],
            ["--compressor", "blosc"], ["--compressor", "gzip", "--no-consolidate"], ["--compressor", "none"],
            ["--format", "2", "--compressor", "blosc"], ["--format", "2", "--compressor", "none", "--no-consolidate"],
        ].map { options in
            Config(python: python, arguments: ["--variant", "all"] + options, variants: Variant.allCases, extras: options.contains("--extras"))
        }
    }

    @Test(arguments: configs)
    func readsPythonStores(_ config: Config) async throws {
        let dir = try await Fixtures.shared.directory(config.python, config.arguments)
        for variant in config.variants {
            let store = LocalStore(root: dir.appendingPathComponent(variant.fileName).path)
            let got = try await AnnData.read(from: store)
            let ref = Reference.kitchenSink(variant, extras: config.extras)
            let problems = Compare.anndata(got, ref, strict: false)
            #expect(problems.isEmpty, "\(config.testDescription) \(variant): \(problems.prefix(20).joined(separator: "\n"))")
            #expect(got.nObs == ref.nObs && got.nVars == ref.nVars)
            let issues = await validate(store)
            #expect(issues.isEmpty, "\(variant): \(issues.prefix(10).joined(separator: "\n"))")
        }
    }
}
