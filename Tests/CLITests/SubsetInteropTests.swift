import Foundation
import Testing
import ZarrRemote

/// `anndata subset` checked by Python: the kitchen-sink fixtures of anndata 0.12.7 and 0.13.4
/// (Zarr v3, v3 sharded and v2; dense, CSR, CSC and 0-cell variants) are subset by the CLI with
/// queries, names files (shuffled, CRLF, repeated names), both together on one axis, empty
/// selections and backquoted columns, from a directory, a `.zarr.zip`, HTTP and S3 (and to S3);
/// `scripts/interop/check_subset.py` then compares every output, under both anndata versions,
/// with `adata[obs_sel, var_sel].copy()` computed in Python (values, dtypes, encodings,
/// categories, trimmed colors, consolidated metadata). The bad inputs of the contract fail with
/// a message, an exit status in 1...127, and nothing written.
@Suite(.timeLimit(.minutes(20))) struct SubsetInteropTests {
    /// One `subset` run: the source the CLI reads, the local store the checker reads as SRC, the
    /// selection options (given to both), the output options (CLI only).
    struct Case: Sendable {
        let id: String
        let source: String
        let checkSource: String
        let selection: [String]
        var output: [String] = []
        var consolidated: Bool { !output.contains("--no-consolidate") }
    }

    static let pythons = [("A12", Paths.root + "/.venv/bin/python"), ("A13", Paths.root + "/.venv312/bin/python")]
    static var checker: String { Paths.root + "/scripts/interop/check_subset.py" }
    static let variantFiles = ["kitchen_sink.zarr", "kitchen_sink_csr.zarr", "kitchen_sink_csc.zarr", "kitchen_sink_empty.zarr"]
    /// About half of the 40 cells (22): a categorical `in` (dropping the category `B cell`, so
    /// its color is trimmed) and a numeric comparison.
    static let halfQuery = "cat_unordered in ['T cell', 'NK', 'Mono'] and int64 > -800"
    /// Genes in a shuffled order (a names file of 6 of the 25 genes).
    static let shuffledGenes = ["gene_024", "gene_003", "gene_017", "gene_000", "gene_011", "gene_008"]

    static func scratch(_ name: String) throws -> String {
        let tmp = NSTemporaryDirectory() + "anndata-subset-\(name)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        return tmp
    }

    static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Runs the CLI on every case (two at a time) and then the checker on every output, once
    /// per anndata version, in one interpreter each; expects every output to pass both.
    static func runAndCheck(_ cases: [Case], outputs: [String], environment: [String: String] = [:], in tmp: String) async throws {
        let ran = try await Subprocess.bounded(zip(cases, outputs).map { c, out in
            { try await Subprocess.run([Paths.cli, "subset", c.source, out] + c.selection + c.output, environment: environment) }
        })
        var checked: [(Case, String)] = []
        for (c, (r, out)) in zip(cases, zip(ran, outputs)) {
            #expect(r.status == 0, "subset \(c.id):\n\(r.output)")
            #expect(!r.output.contains("\r"), "progress must not show when stderr is not a terminal: \(r.output)")
            if r.status == 0 { checked.append((c, out)) }
        }
        let validated = try await Subprocess.bounded(checked.map { _, out in
            { try await Subprocess.run([Paths.cli, "validate", out]) }
        })
        for ((c, _), r) in zip(checked, validated) { #expect(r.status == 0, "validate \(c.id):\n\(r.output)") }

        let jobs = checked.map { c, out in [c.checkSource, out] + c.selection + (c.consolidated ? ["--require-consolidated"] : []) }
        let jobFile = tmp + "/check-jobs.json"
        try JSONSerialization.data(withJSONObject: jobs).write(to: URL(fileURLWithPath: jobFile))
        let results = try await Subprocess.bounded(pythons.map { _, py in
            { try await Subprocess.run([py, checker, "--batch", jobFile], timeout: .seconds(1100)) }
        })
        for ((name, _), r) in zip(pythons, results) {
            for (c, out) in checked {
                let block = Self.block(of: out, in: r.output)
                let summary = block.last { $0.hasPrefix("result ") } ?? "(no result)"
                let failures = block.filter { !$0.hasPrefix("result ") }
                #expect(summary.hasSuffix(" 0 failed"), "\(name) check of \(c.id): \(summary)\n\(failures.prefix(15).joined(separator: "\n"))")
                print("subset \(c.id) -> \(name) check: \(summary.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "")")
            }
            // (the per-store lines above say what failed; these only sum up)
            let total = r.output.split(separator: "\n").last.map(String.init) ?? ""
            let allPassed = r.status == 0 && total == "\(checked.count) passed, 0 failed"
            #expect(allPassed, "\(name): exit status \(r.status), \(total)")
        }
    }

    /// The lines the checker's `--batch` printed for `store`.
    static func block(of store: String, in output: String) -> [String] {
        var lines: [String] = [], inside = false
        for line in output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("== ") { inside = line == "== \(store)"; continue }
            if inside { lines.append(line) }
        }
        return lines
    }

    @Test func subsetsOfEveryFixturePassBothAnnDataCheckers() async throws {
        let fixtures = try #require(Paths.fixtureScript, "shared/interop/anndata_fixtures.py not found (set ANNDATA_SHARED_DIR)")
        let tmp = try Self.scratch("local")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let py12 = Self.pythons[0].1, py13 = Self.pythons[1].1

        // Python writes the sources: 0.12.7 Zarr v3; 0.13.4 Zarr v2; 0.13.4 Zarr v3 with small
        // explicit shards (several shards, inner chunks and empty inner chunks per array). The
        // awkward array and the rec-array (`--extras`) are left out of the 0.13.4 v3 set: zarr
        // 3.1 (under anndata 0.12.7) cannot read the `struct` data type zarr 3.4 writes.
        let sets: [(name: String, python: String, options: [String])] = [
            ("A12-v3", py12, ["--extras"]), ("A13-v2", py13, ["--format", "2", "--extras"]), ("A13-v3-shard", py13, ["--shard"]),
        ]
        let made = try await Subprocess.bounded(sets.map { s in
            { try await Subprocess.run([s.python, fixtures, "make", "\(tmp)/\(s.name)", "--variant", "all"] + s.options) }
        })
        for (r, s) in zip(made, sets) { try #require(r.status == 0, "\(s.name) make:\n\(r.output.suffix(3000))") }

        // Names files: genes shuffled (LF); cells out of order with CRLF line ends; a cell twice
        // (anndata keeps both rows: `adata[["a", "a"]]` is allowed when the index is unique).
        let genes = tmp + "/genes.txt", cells = tmp + "/cells.txt", repeated = tmp + "/repeated.txt"
        try Self.write(Self.shuffledGenes.joined(separator: "\n") + "\n", to: genes)
        try Self.write(["cell_031", "cell_002", "cell_017", "cell_010", "cell_039", "cell_004", "cell_022"].joined(separator: "\r\n") + "\r\n", to: cells)
        try Self.write("cell_005\ncell_001\ncell_005\ncell_039", to: repeated)

        // A `.zarr.zip` source (stored entries, as anndata users archive stores).
        let zipSource = "\(tmp)/A13-v3-shard/kitchen_sink_csr.zarr"
        let archive = zipSource + ".zip"
        let zipped = try await Subprocess.zipStore(zipSource, to: archive, python: py13)
        try #require(zipped.status == 0, "zip: \(zipped.output)")

        var cases: [Case] = []
        func source(_ set: String, _ file: String) -> String { "\(tmp)/\(set)/\(file)" }
        // Every fixture: half the cells by query, six genes by a shuffled names file.
        for s in sets {
            for file in Self.variantFiles {
                let src = source(s.name, file)
                cases.append(Case(id: "\(s.name)/\(file)/half+genes", source: src, checkSource: src,
                                  selection: ["--obs-query", Self.halfQuery, "--var-names", genes]))
            }
        }
        // Names and a query on the same axis: the named rows, in the file's order, that pass.
        var src = source("A12-v3", "kitchen_sink_csr.zarr")
        cases.append(Case(id: "A12-v3/csr/cells-file+query", source: src, checkSource: src,
                          selection: ["--obs-names", cells, "--obs-query", "int64 > -800 and cat_ordered >= 'mid'"]))
        src = source("A13-v3-shard", "kitchen_sink_csc.zarr")
        cases.append(Case(id: "A13-v3-shard/csc/genes-file+query", source: src, checkSource: src,
                          selection: ["--var-names", genes, "--var-query", "highly_variable == false or means > 20"]))
        // Empty selections: 0 cells (a 0 x 25 store), 0 genes (a 40 x 0 store).
        src = source("A13-v2", "kitchen_sink.zarr")
        cases.append(Case(id: "A13-v2/dense/zero-cells", source: src, checkSource: src, selection: ["--obs-query", "int64 > 100000"]))
        src = source("A12-v3", "kitchen_sink_csc.zarr")
        cases.append(Case(id: "A12-v3/csc/zero-genes", source: src, checkSource: src, selection: ["--var-query", "means < -1"]))
        // Backquoted columns (and `index`) on both axes; missing values fail every comparison.
        src = source("A12-v3", "kitchen_sink.zarr")
        cases.append(Case(id: "A12-v3/dense/backquotes", source: src, checkSource: src, selection: [
            "--obs-query", "`nullable_int64` >= 0 or `index` == 'cell_007' or not `nullable_bool` == true",
            "--var-query", "`feature_type` == 'Gene Expression' and `nullable_int` != 3",
        ]))
        // Missing values (nullable strings, ints and bools, NaN floats, categorical code -1) with
        // `!=`, `not in`, `not`; ordered categoricals by category order, unordered by value.
        src = source("A13-v2", "kitchen_sink_csr.zarr")
        cases.append(Case(id: "A13-v2/csr/missing-values-and-categoricals", source: src, checkSource: src, selection: [
            "--obs-query", "(nullable_string not in ['n002-ü', 'n004-ü'] and cat_ordered <= 'mid') or (float32 > -2.5 and float32 <= 7.25 and cat_int != 20)",
            "--var-query", "dispersion >= 0 or nullable_int in [3, 6, 9]",
        ]))
        src = source("A12-v3", "kitchen_sink_csc.zarr")
        cases.append(Case(id: "A12-v3/csc/index-not-unordered-order", source: src, checkSource: src, selection: [
            "--obs-query", "index in ['cell_001', 'cell_039', 'cell_017'] or not (bool == true or nullable_bool == false) or cat_unordered < 'Mono'",
        ]))
        // A repeated name.
        src = source("A13-v3-shard", "kitchen_sink.zarr")
        cases.append(Case(id: "A13-v3-shard/dense/repeated-name", source: src, checkSource: src, selection: ["--obs-names", repeated]))
        // Output options: Zarr v2; v3 without sharding or consolidated metadata.
        src = source("A12-v3", "kitchen_sink_csr.zarr")
        cases.append(Case(id: "A12-v3/csr/half-to-v2", source: src, checkSource: src,
                          selection: ["--obs-query", Self.halfQuery], output: ["--zarr-format", "2"]))
        src = source("A13-v3-shard", "kitchen_sink.zarr")
        cases.append(Case(id: "A13-v3-shard/dense/half-unsharded-unconsolidated", source: src, checkSource: src,
                          selection: ["--obs-query", Self.halfQuery, "--var-names", genes], output: ["--shard", "none", "--no-consolidate"]))
        // A `.zarr.zip` source.
        cases.append(Case(id: "A13-v3-shard/csr.zarr.zip/half+genes", source: archive, checkSource: archive,
                          selection: ["--obs-query", Self.halfQuery, "--var-names", genes]))

        // Many chunks (and shards) per array: 3,000 x 400, names files of 700 cells and 150
        // genes in random order, from anndata 0.13.4 Zarr v3 (explicit shards) and 0.12.7 Zarr v2.
        // And colors as anndata trims them in every case: a var categorical's colors, colors of
        // the wrong length (deleted), a single color string (kept as a 1-element array), and a
        // nested `<column>_colors` (untouched).
        let colors = tmp + "/colors/kitchen_sink_csr.zarr"
        var fixtureJobs: [@Sendable () async throws -> (status: Int32, output: String)] = [(py13, 3), (py12, 2)].map { py, format in
            { try await Subprocess.run([py, "-c", Self.multiChunkScript, "\(tmp)/many-v\(format)", String(format)]) }
        }
        fixtureJobs.append { try await Subprocess.run([py13, "-c", """
            import sys, os, warnings
            warnings.simplefilter("ignore")
            sys.path.insert(0, os.path.dirname(sys.argv[1]))
            import numpy as np, anndata_fixtures as fx
            a = fx.build_kitchen_sink("csr")
            a.uns["cat_ordered_colors"] = np.array(["#000001", "#000002"], dtype=object)
            a.uns["feature_type_colors"] = np.array(["#0000aa", "#0000bb"], dtype=object)
            a.uns["cat_int_colors"] = "#abcdef"
            a.uns["nested"]["cat_unordered_colors"] = ["#000003", "#000004"]
            fx.write_store(a, fx.Path(sys.argv[2]), zarr_format=3)
            """, fixtures, colors]) }
        // Categories no cell uses even before the selection (and their color): anndata drops
        // them in every subset, `adata[:, genes]` and `adata[:, :]` included, in obs and in the
        // data frames of obsm.
        let unused = tmp + "/unused/unused.zarr"
        fixtureJobs.append { try await Subprocess.run([py12, "-c", """
            import sys, warnings
            warnings.simplefilter("ignore")
            import numpy as np, pandas as pd, anndata as ad
            cats = lambda: pd.Categorical(["x", "x", "y", "x"], categories=["x", "y", "z"])
            a = ad.AnnData(X=np.arange(8, dtype=np.float32).reshape(4, 2),
                           obs=pd.DataFrame({"c": cats()}, index=["a", "b", "c", "d"]), var=pd.DataFrame(index=["g0", "g1"]))
            a.obsm["df"] = pd.DataFrame({"l": cats(), "n": np.arange(4)}, index=a.obs_names)
            a.uns["c_colors"] = np.array(["#000001", "#000002", "#000003"], dtype=object)
            a.write_zarr(sys.argv[1])
            """, unused]) }
        let many = try await Subprocess.bounded(fixtureJobs)
        for r in many { try #require(r.status == 0, "fixture:\n\(r.output.suffix(3000))") }
        let g0 = tmp + "/unused/g0.txt"
        try Self.write("g0\n", to: g0)
        cases.append(Case(id: "unused/genes-only", source: unused, checkSource: unused, selection: ["--var-names", g0]))
        cases.append(Case(id: "unused/no-selection", source: unused, checkSource: unused, selection: []))
        cases.append(Case(id: "colors/csr/both-axes", source: colors, checkSource: colors,
                          selection: ["--obs-query", Self.halfQuery, "--var-query", "feature_type == 'Gene Expression'"]))
        for format in [3, 2] {
            let dir = "\(tmp)/many-v\(format)", src = dir + "/many.zarr"
            cases.append(Case(id: "many-v\(format)/cells-file+gene-query", source: src, checkSource: src,
                              selection: ["--obs-names", dir + "/cells.txt", "--var-query", "hv == true and kind != 'b'"]))
            cases.append(Case(id: "many-v\(format)/cell-query+genes-file", source: src, checkSource: src,
                              selection: ["--obs-query", "cell_type in ['T', 'NK'] and (score > 0.3 or batch != 2)", "--var-names", dir + "/genes.txt"]))
        }

        let outputs = cases.indices.map { "\(tmp)/out/\($0)/subset.zarr" }
        try await Self.runAndCheck(cases, outputs: outputs, in: tmp)
    }

    /// Writes DIR/many.zarr (3,000 x 400: CSR X, dense and CSC layers, obsm, obsp, varm,
    /// categoricals with colors, NaN and nullable columns) in Zarr format FORMAT with small
    /// chunks (97 rows, 1,000 sparse entries; in v3, shards of 4 chunks), and DIR/cells.txt and
    /// DIR/genes.txt (700 cells, 150 genes, random order). Arguments: DIR FORMAT.
    static let multiChunkScript = """
        import os, sys, random, warnings
        warnings.simplefilter("ignore")
        import numpy as np, pandas as pd, anndata as ad, scipy.sparse as sp, zarr
        out, fmt = sys.argv[1], int(sys.argv[2])
        os.makedirs(out, exist_ok=True)
        rng = np.random.default_rng(7)
        n, m = 3000, 400
        X = sp.random(n, m, density=0.05, format="csr", dtype=np.float32, random_state=1)
        X.data = np.round(X.data * 8) / 4 + 0.25
        obs = pd.DataFrame({
            "cell_type": pd.Categorical(rng.choice(["T", "B", "NK", "Mono", "DC"], n)),
            "n_genes": rng.integers(0, 5000, n),
            "score": np.where(rng.random(n) < 0.1, np.nan, rng.random(n)),
            "batch": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 4, n)), dtype="Int64"),
        }, index=pd.Index(np.array([f"c{i:06d}" for i in range(n)], dtype=object)))
        var = pd.DataFrame({"hv": rng.random(m) < 0.3, "kind": pd.Categorical(rng.choice(["a", "b"], m))},
                           index=pd.Index(np.array([f"g{j:05d}" for j in range(m)], dtype=object)))
        a = ad.AnnData(X=X, obs=obs, var=var)
        a.layers["dense"] = rng.integers(0, 50, (n, m)).astype(np.int32)
        a.layers["csc"] = sp.csc_matrix(X) * 2
        a.obsm["pca"] = rng.random((n, 10))
        a.obsp["conn"] = sp.random(n, n, density=0.002, format="csr", random_state=3)
        a.varm["load"] = rng.random((m, 4))
        a.uns["cell_type_colors"] = np.array(["#111111", "#222222", "#333333", "#444444", "#555555"], dtype=object)
        with ad.settings.override(zarr_write_format=fmt):
            g = zarr.open_group(os.path.join(out, "many.zarr"), mode="w", zarr_format=fmt)
            g.attrs.update({"encoding-type": "anndata", "encoding-version": "0.1.0"})
            def small_chunks(func, group, key, elem, *, dataset_kwargs, iospec):
                if iospec.encoding_type == "array" and getattr(elem, "ndim", 0) >= 1:
                    chunks = (97,) + tuple(elem.shape[1:])
                    extra = {"chunks": chunks} if fmt == 2 else {"chunks": chunks, "shards": (388,) + tuple(elem.shape[1:])}
                    dataset_kwargs = {**dataset_kwargs, **extra}
                elif iospec.encoding_type in {"csr_matrix", "csc_matrix"}:
                    extra = {"chunks": (1000,)} if fmt == 2 else {"chunks": (1000,), "shards": (4000,)}
                    dataset_kwargs = {**dataset_kwargs, **extra}
                func(group, key, elem, dataset_kwargs=dataset_kwargs)
            ad.experimental.write_dispatched(g, "/", a, callback=small_chunks)
            zarr.consolidate_metadata(g.store)
        r = random.Random(3)
        with open(os.path.join(out, "cells.txt"), "w") as f:
            f.write("\\n".join(f"c{i:06d}" for i in r.sample(range(n), 700)) + "\\n")
        with open(os.path.join(out, "genes.txt"), "w") as f:
            f.write("\\n".join(f"g{j:05d}" for j in r.sample(range(m), 150)) + "\\n")
        """

    @Test func subsetsFromHTTPAndS3AndToS3PassBothAnnDataCheckers() async throws {
        let fixtures = try #require(Paths.fixtureScript, "shared/interop/anndata_fixtures.py not found (set ANNDATA_SHARED_DIR)")
        let tmp = try Self.scratch("remote")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let serve = tmp + "/serve", state = tmp + "/servers"
        try FileManager.default.createDirectory(atPath: serve, withIntermediateDirectories: true)
        let script = Paths.root + "/scripts/remote-servers"
        defer { Shell.runToExit(["/bin/bash", script, "stop-all", state]) }

        // The source: anndata 0.13.4's CSR kitchen sink (consolidated: HTTP cannot list keys).
        var r = try await Subprocess.run([Self.pythons[1].1, fixtures, "make", serve, "--variant", "csr"])
        try #require(r.status == 0, "make:\n\(r.output.suffix(3000))")
        let local = serve + "/kitchen_sink_csr.zarr"
        let genes = tmp + "/genes.txt"
        try Self.write(Self.shuffledGenes.joined(separator: "\r\n"), to: genes)

        r = try await Subprocess.run(["/bin/bash", script, "start", "nginx", state, serve])
        try #require(r.status == 0, "cannot start nginx: \(r.output)")
        let nginxPort = try #require(r.output.split(separator: "\n").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) })
        r = try await Subprocess.run(["/bin/bash", script, "start", "s3", state, AnnDataS3Tests.accessKey, AnnDataS3Tests.secretKey])
        try #require(r.status == 0, "cannot start SeaweedFS: \(r.output)")
        let s3Port = try #require(r.output.split(separator: "\n").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) })
        let endpoint = "http://127.0.0.1:\(s3Port)"
        let env = [
            "AWS_ACCESS_KEY_ID": AnnDataS3Tests.accessKey, "AWS_SECRET_ACCESS_KEY": AnnDataS3Tests.secretKey,
            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
        ]
        let bucket = "subset-\(UInt32.random(in: 0...UInt32.max))"
        let admin = try S3Store(configuration: S3Configuration(
            bucket: bucket, region: "us-east-1", accessKeyID: AnnDataS3Tests.accessKey,
            secretAccessKey: AnnDataS3Tests.secretKey, endpoint: URL(string: endpoint), addressingStyle: .path))
        try await admin.createBucket()
        // The same bytes on S3 as in the directory the checker reads.
        let files = try FileManager.default.subpathsOfDirectory(atPath: local).filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: local + "/" + $0, isDirectory: &isDir) && !isDir.boolValue
        }
        for f in files { try await admin.set("ks/" + f, Array(try Data(contentsOf: URL(fileURLWithPath: local + "/" + f)))) }

        let cases = [
            Case(id: "http/half+genes", source: "http://127.0.0.1:\(nginxPort)/kitchen_sink_csr.zarr", checkSource: local,
                 selection: ["--obs-query", Self.halfQuery, "--var-names", genes]),
            Case(id: "s3/queries-both-axes", source: "s3://\(bucket)/ks", checkSource: local,
                 selection: ["--obs-query", "cat_ordered in ['low', 'high'] or uint8 < 50", "--var-query", "n_cells >= 10"]),
            Case(id: "local-to-s3/half", source: local, checkSource: local, selection: ["--obs-query", Self.halfQuery]),
        ]
        let outputs = [tmp + "/out/http.zarr", tmp + "/out/s3.zarr", "s3://\(bucket)/out.zarr"]
        let ran = try await Subprocess.bounded(zip(cases, outputs).map { c, out in
            { try await Subprocess.run([Paths.cli, "subset", c.source, out] + c.selection + c.output, environment: env) }
        })
        for (c, r) in zip(cases, ran) { try #require(r.status == 0, "subset \(c.id):\n\(r.output)") }
        // The S3 output, copied byte for byte to a directory for the checker.
        let fromS3 = tmp + "/out/from-s3.zarr"
        let keys = try await admin.list(prefix: "out.zarr/")
        #expect(!keys.isEmpty, "nothing written to s3://\(bucket)/out.zarr")
        for key in keys {
            let path = fromS3 + "/" + key.dropFirst("out.zarr/".count)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(try #require(try await admin.get(key))).write(to: URL(fileURLWithPath: path))
        }
        // The checks only (the subsets ran above): local copies, so the runner is not needed again.
        let checkCases = cases
        let checkOutputs = [outputs[0], outputs[1], fromS3]
        let jobs = zip(checkCases, checkOutputs).map { c, out in [c.checkSource, out] + c.selection + ["--require-consolidated"] }
        let jobFile = tmp + "/check-jobs.json"
        try JSONSerialization.data(withJSONObject: jobs).write(to: URL(fileURLWithPath: jobFile))
        let results = try await Subprocess.bounded(Self.pythons.map { _, py in
            { try await Subprocess.run([py, Self.checker, "--batch", jobFile], timeout: .seconds(1100)) }
        })
        for ((name, _), r) in zip(Self.pythons, results) {
            for (c, out) in zip(checkCases, checkOutputs) {
                let block = Self.block(of: out, in: r.output)
                let summary = block.last { $0.hasPrefix("result ") } ?? "(no result)"
                #expect(summary.hasSuffix(" 0 failed"), "\(name) check of \(c.id): \(summary)\n\(block.prefix(15).joined(separator: "\n"))")
            }
            let total = r.output.split(separator: "\n").last.map(String.init) ?? ""
            let allPassed = r.status == 0 && total == "\(checkCases.count) passed, 0 failed"
            #expect(allPassed, "\(name): exit status \(r.status), \(total)\n\(r.output.suffix(1500))")
        }
    }

    @Test func badInputIsRefusedWithAMessageAndNothingIsWritten() async throws {
        let fixtures = try #require(Paths.fixtureScript, "shared/interop/anndata_fixtures.py not found (set ANNDATA_SHARED_DIR)")
        let tmp = try Self.scratch("errors")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        // The kitchen sink, and a store whose obs_names repeat ('dup_cell' twice): anndata
        // refuses to select rows by name there (pandas cannot reindex a non-unique index).
        let dupIndex = tmp + "/dup-index.zarr"
        let made = try await Subprocess.bounded([
            { @Sendable in try await Subprocess.run([Self.pythons[0].1, fixtures, "make", tmp + "/py"]) },
            { @Sendable in try await Subprocess.run([Self.pythons[1].1, "-c", """
                import sys, warnings, numpy as np, pandas as pd, anndata as ad
                warnings.simplefilter("ignore")
                obs = pd.DataFrame({"k": np.arange(4)}, index=["cell_x", "dup_cell", "dup_cell", "cell_y"])
                ad.AnnData(X=np.ones((4, 3), dtype=np.float32), obs=obs, var=pd.DataFrame(index=["g1", "g2", "g3"])).write_zarr(sys.argv[1])
                """, dupIndex]) },
        ])
        for r in made { try #require(r.status == 0, "fixtures:\n\(r.output.suffix(3000))") }
        let src = tmp + "/py/kitchen_sink.zarr"

        let unknownCells = tmp + "/unknown-cells.txt", unknownGenes = tmp + "/unknown-genes.txt"
        try Self.write((["cell_001"] + (1...7).map { "no_such_cell_\($0)" } + ["cell_002"]).joined(separator: "\n") + "\n", to: unknownCells)
        try Self.write("gene_001\nnot_a_gene\n", to: unknownGenes)
        let uniqueNames = tmp + "/unique-names.txt"
        try Self.write("cell_y\ncell_x\n", to: uniqueNames)

        /// (what, source, extra arguments, fragments the message must contain)
        let cases: [(String, String, [String], [String])] = [
            ("unknown cell names", src, ["--obs-names", unknownCells], ["no_such_cell_1", "7"]),
            ("names on a non-unique obs index", dupIndex, ["--obs-names", uniqueNames], ["dup_cell"]),
            ("unknown gene name", src, ["--var-names", unknownGenes], ["not_a_gene"]),
            ("unknown obs column", src, ["--obs-query", "no_such_column == 1"], ["no_such_column"]),
            ("unknown var column", src, ["--var-query", "`no such gene column` > 0"], ["no such gene column"]),
            ("number column vs string", src, ["--obs-query", "int64 == 'abc'"], ["int64"]),
            ("string column vs number", src, ["--obs-query", "str_object > 3"], ["str_object"]),
            ("categorical of strings vs number", src, ["--obs-query", "cat_unordered in [1, 2]"], ["cat_unordered"]),
            ("malformed: doubled 'and'", src, ["--obs-query", "int64 > 5 and and bool == true"], ["position", "14"]),
            ("malformed: unclosed parenthesis", src, ["--obs-query", "(int64 > 5 or bool == true"], ["position", "26"]),
            ("malformed: unterminated string", src, ["--var-query", "gene_ids == 'ENSG"], ["position", "12"]),
        ]
        let before = try Self.listing(src)
        var jobs: [@Sendable () async throws -> (Int32, String)] = []
        for (i, (_, source, args, _)) in cases.enumerated() {
            let dst = "\(tmp)/err-\(i)/out.zarr"
            try FileManager.default.createDirectory(atPath: "\(tmp)/err-\(i)", withIntermediateDirectories: true)
            jobs.append { let r = try await Subprocess.run([Paths.cli, "subset", source, dst] + args); return (r.status, r.output) }
        }
        // DST the same store as SRC (also spelled differently, through a symbolic link, and with
        // --overwrite, which must never replace the source), or inside it (directly, deeper).
        let link = tmp + "/py/link-to-kitchen_sink.zarr"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: src)
        let sameOrInside: [(String, String, [String])] = [
            ("DST same as SRC", src, []), ("DST same as SRC, spelled differently", tmp + "/py/./kitchen_sink.zarr/", []),
            ("DST same as SRC with --overwrite", src, ["--overwrite"]), ("DST a link to SRC with --overwrite", link, ["--overwrite"]),
            ("DST inside SRC", src + "/sub.zarr", []), ("DST deep inside SRC", src + "/obs/new/out.zarr", []),
            ("DST an element of SRC with --overwrite", src + "/obs", ["--overwrite"]),
        ]
        let existed = sameOrInside.map { FileManager.default.fileExists(atPath: $0.1) }
        for (_, dst, extra) in sameOrInside {
            jobs.append { let r = try await Subprocess.run([Paths.cli, "subset", src, dst, "--obs-query", Self.halfQuery] + extra); return (r.status, r.output) }
        }
        let results = try await Subprocess.bounded(jobs)
        for (i, (what, _, _, fragments)) in cases.enumerated() {
            let (status, output) = results[i]
            #expect((1...127).contains(status), "\(what): exit status \(status)\n\(output)")
            for f in fragments { #expect(output.contains(f), "\(what): the message should contain '\(f)':\n\(output)") }
            #expect(!output.contains("Fatal error") && !output.contains("Stack dump"), "\(what): crashed:\n\(output)")
            let left = (try? FileManager.default.contentsOfDirectory(atPath: "\(tmp)/err-\(i)")) ?? []
            #expect(left.isEmpty, "\(what): nothing may be written, found \(left)")
        }
        for (j, (what, dst, _)) in sameOrInside.enumerated() {
            let (status, output) = results[cases.count + j]
            #expect((1...127).contains(status), "\(what): exit status \(status)\n\(output)")
            #expect(output.contains("kitchen_sink.zarr"), "\(what): the message should name the store:\n\(output)")
            if !existed[j] { #expect(!FileManager.default.fileExists(atPath: dst), "\(what): \(dst) was created") }
        }
        #expect(try Self.listing(src) == before, "the source store changed")
    }

    /// Every file under `root` with its size and modification time, sorted.
    static func listing(_ root: String) throws -> [String] {
        let fm = FileManager.default
        return try fm.subpathsOfDirectory(atPath: root).sorted().map { p in
            let a = try fm.attributesOfItem(atPath: root + "/" + p)
            return "\(p) \(a[.size] ?? 0) \((a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
        }
    }
}
