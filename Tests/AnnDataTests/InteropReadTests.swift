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

    /// Every v3 array document anndata wrote (zstd, blosc, gzip, sharded): its codecs parse to
    /// typed values (no known codec left as `.other`) and serialise back byte for byte.
    @Test func codecListsAreTypedAndWrittenBackUnchanged() async throws {
        let runs: [(Python, [String])] = [
            (.a13, ["--extras"]), (.a13, ["--shard", "--extras"]), (.a13, ["--compressor", "blosc"]),
            (.a13, ["--compressor", "gzip", "--no-consolidate"]), (.a12, ["--extras"]),
        ]
        func flat(_ specs: [CodecSpec]) -> [CodecSpec] {
            specs.flatMap { s -> [CodecSpec] in
                if case .sharding(let c) = s.configuration { return [s] + flat(c.codecs) + flat(c.indexCodecs) }
                return [s]
            }
        }
        var n = 0
        for (python, options) in runs {
            let dir = try await Fixtures.shared.directory(python, ["--variant", "all"] + options)
            guard let walker = FileManager.default.enumerator(atPath: dir.path) else { continue }
            for case let rel as String in walker where rel.hasSuffix("zarr.json") {
                let json = try JSONValue.parse(Array(try Data(contentsOf: dir.appendingPathComponent(rel))))
                guard json["node_type"]?.string == "array", let codecs = json["codecs"] else { continue }
                let m = try ArrayMetadata.parseV3(json, path: rel)
                n += 1
                #expect(m.v3Document()["codecs"]?.serialized() == codecs.serialized(), "\(rel)")
                for s in flat(m.codecs) {
                    if case .other = s.configuration { Issue.record("\(rel): \(s.name) was not typed") }
                    #expect(CodecSpec(json: CodecSpec(s.configuration).json) == s, "\(rel): \(s.name)")
                }
            }
        }
        #expect(n >= 100, "\(n) documents")
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
