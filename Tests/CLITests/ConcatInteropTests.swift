import Foundation
import Testing

/// `anndata concat` checked by Python: kitchen-sink fixtures of anndata 0.12.7 (Zarr v3) and
/// 0.13.4 (Zarr v2), and three stores cut from them with partly overlapping genes (one in
/// reverse order) and cells, one without some obs columns, obsm entries, a layer and raw, are
/// concatenated by the CLI under both joins, with labels, keys and `--index-unique`, from Zarr
/// and `.h5ad` sources, to Zarr v3, v2 and `.h5ad`. `scripts/interop/check_concat.py` then
/// compares every output, under both anndata versions, with Python's own
/// `anndata.concat(..., merge="same")` (values, dtypes, encodings, categories, consolidated
/// metadata). The refusals of the contract exit with 1...127 and write nothing.
@Suite(.timeLimit(.minutes(20))) struct ConcatInteropTests {
    /// One `concat` run: the CLI's sources (the checker's `checkSources` hold the same data as
    /// Zarr), the options both get, and the output options (CLI only).
    struct Case: Sendable {
        let id: String
        let sources: [String]
        var checkSources: [String]? = nil
        var options: [String] = []
        var output: [String] = []
        var h5ad = false
        var consolidated: Bool { !output.contains("--no-consolidate") }
    }

    static let pythons = [("A12", Paths.root + "/.venv/bin/python"), ("A13", Paths.root + "/.venv312/bin/python")]
    static var checker: String { Paths.root + "/scripts/interop/check_concat.py" }

    @Test func concatenationsAndAppendsPassBothAnnDataCheckers() async throws {
        let fixtures = try #require(Paths.fixtureScript, "shared/interop/anndata_fixtures.py not found (set ANNDATA_SHARED_DIR)")
        let tmp = NSTemporaryDirectory() + "anndata-concat-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let py12 = Self.pythons[0].1, py13 = Self.pythons[1].1
        let makeJobs: [[String]] = [
            [py12, fixtures, "make", tmp + "/A12", "--variant", "all"],
            [py13, fixtures, "make", tmp + "/A13", "--variant", "all", "--format", "2"],
            [py12, fixtures, "make", tmp + "/X12", "--extras"],
            [py13, fixtures, "make", tmp + "/S13", "--shard"],
        ]
        let made = try await Subprocess.bounded(makeJobs.map { job in { try await Subprocess.run(job) } })
        for r in made { try #require(r.status == 0, "make:\n\(r.output.suffix(3000))") }
        let partJobs: [[String]] = [
            [py12, Self.checker, "--make", tmp + "/A12/kitchen_sink_csr.zarr", tmp + "/P12"],
            [py13, Self.checker, "--make", tmp + "/A13/kitchen_sink.zarr", tmp + "/P13", "--format", "2"],
            [py12, Self.checker, "--make-append", tmp + "/A12/kitchen_sink_csr.zarr", tmp + "/AP12"],
            [py13, Self.checker, "--make-append", tmp + "/A13/kitchen_sink.zarr", tmp + "/AP13", "--format", "2"],
            [py13, Self.checker, "--make-append", tmp + "/S13/kitchen_sink.zarr", tmp + "/APS13"],
        ]
        let parts = try await Subprocess.bounded(partJobs.map { job in { try await Subprocess.run(job) } })
        for r in parts { try #require(r.status == 0, "parts:\n\(r.output.suffix(3000))") }
        // An .h5ad source, written by the CLI from a fixture (Python's own .h5ad files are read
        // by the h5ad interop tests).
        let h5adSource = tmp + "/ks_csr.h5ad"
        let converted = try await Subprocess.run([Paths.cli, "convert", tmp + "/A12/kitchen_sink_csr.zarr", h5adSource])
        try #require(converted.status == 0, "\(converted.output)")

        func a12(_ f: String) -> String { "\(tmp)/A12/kitchen_sink\(f).zarr" }
        func a13(_ f: String) -> String { "\(tmp)/A13/kitchen_sink\(f).zarr" }
        func p12(_ p: String) -> String { "\(tmp)/P12/part_\(p).zarr" }
        func p13(_ p: String) -> String { "\(tmp)/P13/part_\(p).zarr" }
        let cases: [Case] = [
            Case(id: "same-genes-label-unique", sources: [a12(""), a12("_csr")], options: ["--label", "batch", "--index-unique", "-"]),
            Case(id: "csc-dense-empty-outer-v2", sources: [a12("_csc"), a13(""), a12("_empty")], options: ["--join", "outer"],
                 output: ["--zarr-format", "2"]),
            Case(id: "parts-outer-keys", sources: [p12("a"), p12("b"), p12("c")],
                 options: ["--join", "outer", "--label", "src", "--keys", "a,b,c", "--index-unique", "_"]),
            Case(id: "parts-inner", sources: [p12("a"), p12("b"), p12("c")], options: ["--join", "inner"]),
            Case(id: "dense-parts-outer-unsharded", sources: [p13("b"), p13("a"), p13("c")], options: ["--join", "outer", "--label", "batch"],
                 output: ["--shard", "none", "--no-consolidate"]),
            Case(id: "dense-parts-inner-first-narrow", sources: [p13("c"), p13("a")], options: ["--join", "inner"]),
            Case(id: "h5ad-and-zarr-sources", sources: [h5adSource, a12("")], checkSources: [a12("_csr"), a12("")],
                 options: ["--join", "outer", "--label", "origin"]),
            Case(id: "to-h5ad", sources: [a13("_csr"), a13("")], options: ["--keys", "x,y", "--index-unique", ":", "--label", "k"], h5ad: true),
        ]
        let outputs = cases.map { "\(tmp)/out-\($0.id)" + ($0.h5ad ? ".h5ad" : ".zarr") }
        let ran = try await Subprocess.bounded(zip(cases, outputs).map { c, out in
            { try await Subprocess.run([Paths.cli, "concat"] + c.sources + [out] + c.options + c.output) }
        })
        var checked: [(Case, String)] = []
        for (c, (r, out)) in zip(cases, zip(ran, outputs)) {
            #expect(r.status == 0, "concat \(c.id):\n\(r.output)")
            guard r.status == 0 else { continue }
            // An .h5ad output is checked through its Zarr copy (the converter is checked elsewhere).
            var candidate = out
            if c.h5ad {
                candidate = out + ".zarr"
                let back = try await Subprocess.run([Paths.cli, "convert", out, candidate])
                #expect(back.status == 0, "convert \(c.id): \(back.output)")
            }
            let v = try await Subprocess.run([Paths.cli, "validate", candidate])
            #expect(v.status == 0, "validate \(c.id):\n\(v.output)")
            checked.append((c, candidate))
        }
        var jobs = checked.map { c, out in
            [out] + (c.checkSources ?? c.sources) + c.options + (c.consolidated ? ["--require-consolidated"] : [])
        }
        // Appends: a copy of each destination gets its source appended in place (twice for the
        // sharded one: the second append starts inside a shard the first one filled in part).
        for set in ["AP12", "AP13", "APS13"] {
            let before = "\(tmp)/\(set)/dst.zarr", src = "\(tmp)/\(set)/src.zarr", out = "\(tmp)/\(set)-appended.zarr"
            try FileManager.default.copyItem(atPath: before, toPath: out)
            let r = try await Subprocess.run([Paths.cli, "append", src, out])
            #expect(r.status == 0, "append \(set):\n\(r.output)")
            let v = try await Subprocess.run([Paths.cli, "validate", out])
            #expect(v.status == 0, "validate \(set):\n\(v.output)")
            checked.append((Case(id: "append-" + set, sources: [src]), out))
            jobs.append(["--append", out, before, src, "--require-consolidated"])
        }
        let twice = "\(tmp)/APS13-twice.zarr", once = "\(tmp)/APS13-once.zarr"
        try FileManager.default.copyItem(atPath: "\(tmp)/APS13/dst.zarr", toPath: twice)
        for _ in 0..<2 {
            let r = try await Subprocess.run([Paths.cli, "append", "\(tmp)/APS13/src.zarr", twice])
            #expect(r.status == 0, "append twice:\n\(r.output)")
        }
        // Python's expectation for two appends: the first result, then the source again.
        try FileManager.default.copyItem(atPath: "\(tmp)/APS13/dst.zarr", toPath: once)
        let first = try await Subprocess.run([Paths.cli, "append", "\(tmp)/APS13/src.zarr", once])
        #expect(first.status == 0, "\(first.output)")
        checked.append((Case(id: "append-twice-sharded", sources: []), twice))
        jobs.append(["--append", twice, once, "\(tmp)/APS13/src.zarr", "--require-consolidated"])
        let jobFile = tmp + "/jobs.json"
        try JSONSerialization.data(withJSONObject: jobs).write(to: URL(fileURLWithPath: jobFile))
        let results = try await Subprocess.bounded(Self.pythons.map { _, py in
            { try await Subprocess.run([py, Self.checker, "--batch", jobFile], timeout: .seconds(1100)) }
        })
        for ((name, _), r) in zip(Self.pythons, results) {
            for (c, out) in checked {
                let block = SubsetInteropTests.block(of: out, in: r.output)
                let summary = block.last { $0.hasPrefix("result ") } ?? "(no result)"
                let failures = block.filter { !$0.hasPrefix("result ") }
                #expect(summary.hasSuffix(" 0 failed"), "\(name) check of \(c.id): \(summary)\n\(failures.prefix(15).joined(separator: "\n"))")
                print("concat \(c.id) -> \(name) check: \(summary.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "")")
            }
            let total = r.output.split(separator: "\n").last.map(String.init) ?? ""
            #expect(r.status == 0 && total == "\(checked.count) passed, 0 failed", "\(name): exit status \(r.status), \(total)")
        }

        // Refusals: nothing written, a message, an exit status in 1...127.
        let refused: [(String, [String])] = [
            ("the destination among the sources", [a12(""), a12("_csr"), a12("_csr")]),
            ("keys that do not match the sources", [a12(""), a12("_csr"), tmp + "/bad-keys.zarr", "--keys", "only-one"]),
            ("an awkward array in obsm (outer join)", [tmp + "/X12/kitchen_sink.zarr", a12(""), tmp + "/bad-awkward.zarr", "--join", "outer"]),
            ("one source", [a12(""), tmp + "/bad-one.zarr"]),
            ("a missing source", [a12(""), tmp + "/nope.zarr", tmp + "/bad-missing.zarr"]),
            ("lzf for Zarr", [a12(""), a12("_csr"), tmp + "/bad-lzf.zarr", "--compressor", "lzf"]),
        ]
        for (why, args) in refused {
            let r = try await Subprocess.run([Paths.cli, "concat"] + args)
            #expect((1...127).contains(r.status), "\(why): status \(r.status)\n\(r.output)")
            #expect(!r.output.isEmpty, "\(why): no message")
            let dst = args.filter { !$0.hasPrefix("--") && !["only-one", "lzf", "outer"].contains($0) }.last ?? ""
            if dst.contains("/bad-") { #expect(!FileManager.default.fileExists(atPath: dst), "\(why): \(dst) was written") }
        }
        // Append refusals: nothing changes in the destination.
        let appendTarget = tmp + "/AP12-appended.zarr"
        let listing = try FileManager.default.subpathsOfDirectory(atPath: appendTarget).sorted()
        let appendRefused: [(String, [String])] = [
            ("other genes", [p12("a"), appendTarget]),
            ("a source with another set of layers", [a12("_csr"), appendTarget]),
            ("an .h5ad destination", [p12("a"), tmp + "/x.h5ad"]),
            ("itself", [appendTarget, appendTarget]),
        ]
        for (why, args) in appendRefused {
            let r = try await Subprocess.run([Paths.cli, "append"] + args)
            #expect((1...127).contains(r.status) && !r.output.isEmpty, "append \(why): status \(r.status)\n\(r.output)")
        }
        #expect(try FileManager.default.subpathsOfDirectory(atPath: appendTarget).sorted() == listing, "a refused append changed the destination")
        // The refused source was not touched.
        let intact = try await Subprocess.run([Paths.cli, "validate", a12("_csr")])
        #expect(intact.status == 0, "\(intact.output)")
    }
}
