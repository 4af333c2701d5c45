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

    static let configs: [Config] = [
        Config(python: .a12, arguments: ["--variant", "all", "--extras"], variants: Variant.allCases, extras: true),
        Config(python: .a13, arguments: ["--variant", "all"], variants: Variant.allCases, extras: false),
        Config(python: .a12, arguments: ["--format", "2", "--extras"], variants: [.dense], extras: true),
        Config(python: .a13, arguments: ["--format", "2", "--variant", "csr"], variants: [.csr], extras: false),
        Config(python: .a13, arguments: ["--shard"], variants: [.dense], extras: false),
        Config(python: .a13, arguments: ["--auto-shard", "--variant", "all"], variants: Variant.allCases, extras: false),
        Config(python: .a12, arguments: ["--compressor", "blosc"], variants: [.dense], extras: false),
        Config(python: .a12, arguments: ["--compressor", "gzip", "--no-consolidate"], variants: [.dense], extras: false),
        Config(python: .a13, arguments: ["--compressor", "none", "--format", "2"], variants: [.dense], extras: false),
    ]

    @Test(arguments: configs)
    func readsPythonStores(_ config: Config) async throws {
        let dir = try await Fixtures.shared.directory(config.python, config.arguments)
        for variant in config.variants {
            let store = LocalStore(root: dir.appendingPathComponent(variant.fileName).path)
            let got = try await AnnData.read(from: store)
            let ref = Reference.kitchenSink(variant, extras: config.extras)
            let problems = Compare.anndata(got, ref)
            #expect(problems.isEmpty, "\(config.testDescription) \(variant): \(problems.prefix(20).joined(separator: "\n"))")
            #expect(got.nObs == ref.nObs && got.nVars == ref.nVars)
            let issues = await validate(store)
            #expect(issues.isEmpty, "\(variant): \(issues.prefix(10).joined(separator: "\n"))")
        }
    }
}
