import Foundation
import Testing

/// The benchmark harness is its own executable, `anndata-bench`, with the `run`/`list`
/// interface peers.py drives (`ext:anndata-bench`); the shipped `anndata` has no `bench`.
@Suite(.timeLimit(.minutes(2))) struct BenchExecutableTests {
    /// The built harness (the test target depends on it, so it is built first).
    static let binary: String = {
        let candidates = [Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("anndata-bench").path,
                          ZarrVerbTests.root + "/.build/debug/anndata-bench"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[1]
    }()

    @Test func listNamesTheWorkloadsAndTheirVariants() async throws {
        let r = try await Subprocess.run([Self.binary, "list"], timeout: .seconds(60))
        #expect(r.status == 0, "\(r.output)")
        let names = Set(r.output.split(separator: "\n").compactMap { $0.split(separator: "\t").first.map(String.init) })
        for name in ["dense-read-full", "dense-write", "ad-read-x", "zstd-floor"] {
            #expect(names.contains(name), "\(name) missing from: \(r.output)")
        }
    }

    @Test func runRefusesUnknownWorkloadsAndMissingData() async throws {
        var r = try await Subprocess.run([Self.binary, "run", "--data", "/nonexistent", "--workload", "no-such-workload"], timeout: .seconds(60))
        #expect(r.status != 0)
        #expect(r.output.contains("unknown workload 'no-such-workload'"), "\(r.output)")
        r = try await Subprocess.run([Self.binary, "run", "--data", "/nonexistent-bench-data", "--workload", "dense-read-full"], timeout: .seconds(60))
        #expect(r.status != 0)
        #expect(r.output.contains("/nonexistent-bench-data"), "\(r.output)")
    }

    @Test func theShippedCLIHasNoBenchCommand() async throws {
        let r = try await Subprocess.run([ZarrVerbTests.binary, "bench", "list"], timeout: .seconds(60))
        #expect(r.status != 0)
        #expect(!r.output.contains("dense-read-full"), "\(r.output)")
    }
}
