import Foundation
import Testing

/// Swift writes, Python reads, through the CLI: every fixture variant that anndata 0.12.7 and
/// 0.13.4 write is converted by `anndata convert` to Zarr v3 (the defaults: zstd, auto-sharded,
/// consolidated) and to Zarr v2, and every compressor / sharding / consolidation option is
/// converted once; both anndata versions then check every store with the shared checker
/// (eager and lazy pass; consolidated stores with `--require-consolidated`).
@Suite(.timeLimit(.minutes(20))) struct ConvertInteropTests {
    /// One `convert` run: where from, which options, and whether the output is consolidated.
    struct Case: Sendable {
        let id: String
        let source: String
        let variantFile: String
        let options: [String]
        var consolidated: Bool { !options.contains("--no-consolidate") }
    }

    static let variantFiles = ["kitchen_sink.zarr", "kitchen_sink_csr.zarr", "kitchen_sink_csc.zarr", "kitchen_sink_empty.zarr"]

    @Test func everyFixtureConvertedByTheCLIPassesBothAnnDataCheckers() async throws {
        let fixtures = try #require(Paths.fixtureScript, "shared/interop/anndata_fixtures.py not found (set ANNDATA_SHARED_DIR)")
        let tmp = NSTemporaryDirectory() + "anndata-convert-interop-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let pythons = [("A12", Paths.root + "/.venv/bin/python"), ("A13", Paths.root + "/.venv312/bin/python")]

        // Python writes the sources: every variant, with the awkward array and the rec-array.
        let made = try await Subprocess.bounded(pythons.map { name, py in
            { try await Subprocess.run([py, fixtures, "make", "\(tmp)/src-\(name)", "--variant", "all", "--extras"]) }
        })
        for (r, (name, _)) in zip(made, pythons) { try #require(r.status == 0, "\(name) make:\n\(r.output.suffix(3000))") }

        // A `.zarr.zip` source, as anndata users archive stores.
        let archive = "\(tmp)/src-A13/kitchen_sink.zarr.zip"
        let zipped = try await Subprocess.zipStore("\(tmp)/src-A13/kitchen_sink.zarr", to: archive, python: pythons[1].1)
        try #require(zipped.status == 0, "zip: \(zipped.output)")

        var cases: [Case] = []
        for (name, _) in pythons {
            for file in Self.variantFiles {
                let source = "\(tmp)/src-\(name)/\(file)"
                cases.append(Case(id: "\(name)-v3-default", source: source, variantFile: file, options: []))
                cases.append(Case(id: "\(name)-v2", source: source, variantFile: file, options: ["--zarr-format", "2"]))
            }
        }
        let dense = "\(tmp)/src-A13/kitchen_sink.zarr"
        for options in [["--compressor", "blosc"], ["--compressor", "gzip", "--shard", "none"], ["--compressor", "none"],
                        ["--shard", "none", "--no-consolidate"], ["--zarr-format", "2", "--compressor", "blosc"],
                        ["--zarr-format", "2", "--compressor", "gzip"], ["--zarr-format", "2", "--compressor", "none", "--no-consolidate"]] {
            cases.append(Case(id: "A13" + options.joined().replacingOccurrences(of: "--", with: "-"), source: dense,
                              variantFile: "kitchen_sink.zarr", options: options))
        }
        cases.append(Case(id: "A13-zip-v3", source: archive, variantFile: "kitchen_sink.zarr", options: []))

        // Swift converts (two at a time), then validates what it wrote.
        let outputs = cases.map { "\(tmp)/out/\($0.id)/\($0.variantFile)" }
        let converted = try await Subprocess.bounded(zip(cases, outputs).map { c, out in
            { try await Subprocess.run([Paths.cli, "convert", c.source, out] + c.options) }
        })
        for (c, r) in zip(cases, converted) {
            try #require(r.status == 0, "convert \(c.id) \(c.variantFile):\n\(r.output)")
            #expect(!r.output.contains("\r"), "progress must not show when stderr is not a terminal: \(r.output)")
        }
        let validated = try await Subprocess.bounded(outputs.map { out in { try await Subprocess.run([Paths.cli, "validate", out]) } })
        for (c, r) in zip(cases, validated) { #expect(r.status == 0, "validate \(c.id) \(c.variantFile):\n\(r.output)") }

        // Both anndata versions check every store, one interpreter each, side by side.
        let specs = zip(cases, outputs).map { c, out in c.consolidated ? out + "::consolidated" : out }
        let checked = try await Subprocess.bounded(pythons.map { _, py in
            { try await Subprocess.run([py, Paths.root + "/scripts/interop/check_many.py", fixtures] + specs) }
        })
        for ((name, _), r) in zip(pythons, checked) {
            for (c, out) in zip(cases, outputs) {
                let block = Self.block(of: out, in: r.output)
                let summary = block.last { $0.hasPrefix("result ") } ?? "(no result)"
                let mismatches = block.filter { $0.hasPrefix("MISMATCH") }
                #expect(summary.hasSuffix(" 0 failed") || summary.contains(" 0 failed,"),
                        "\(name) check of \(c.id)/\(c.variantFile): \(summary)\n\(mismatches.prefix(15).joined(separator: "\n"))")
                #expect(mismatches.isEmpty)
                print("convert \(c.id) \(c.variantFile) -> \(name) check: \(summary.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "")")
            }
            #expect(r.status == 0, "\(name): \(r.output.split(separator: "\n").last ?? "")")
            #expect(r.output.contains("\(cases.count) passed, 0 failed"), "\(name): \(r.output.suffix(500))")
        }
    }

    /// The lines `check_many.py` printed for `store`.
    static func block(of store: String, in output: String) -> [String] {
        var lines: [String] = [], inside = false
        for line in output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("== ") { inside = line == "== \(store)"; continue }
            if inside { lines.append(line) }
        }
        return lines
    }
}
