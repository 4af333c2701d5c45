import AnnData
import Foundation
import Zarr

/// The kitchen-sink reference data of `shared/interop/anndata_fixtures.py`, rebuilt in Swift:
/// every value comes from SplitMix64 seeded with FNV-1a-64 of an element key.
struct SplitMix64 {
    var state: UInt64

    init(key: String) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        state = h
    }

    mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func quarter(_ lo: Int, _ hi: Int) -> Double { Double(lo) + Double(below((hi - lo) * 4)) / 4 }
}

enum Variant: String, CaseIterable, Sendable {
    case dense, csr, csc, empty
    var fileName: String { self == .dense ? "kitchen_sink.zarr" : "kitchen_sink_\(rawValue).zarr" }
}

enum Reference {
    static let nVar = 25, nRawVar = 30

    static func col<T: ZarrScalar>(_ key: String, _ n: Int, _ f: (inout SplitMix64, Int) -> T) -> [T] {
        var r = SplitMix64(key: key)
        return (0..<n).map { f(&r, $0) }
    }

    static func matrix<T: ZarrScalar>(_ key: String, _ rows: Int, _ cols: Int, _ f: (inout SplitMix64, Int, Int) -> T) -> NDArray {
        var r = SplitMix64(key: key)
        var out: [T] = []
        out.reserveCapacity(rows * cols)
        for i in 0..<rows { for j in 0..<cols { out.append(f(&r, i, j)) } }
        return nd(out, [rows, cols])
    }

    static func nd<T: ZarrScalar>(_ v: [T], _ shape: [Int]) -> NDArray {
        guard let a = try? NDArray(v, shape: shape) else { preconditionFailure("reference shape") }
        return a
    }

    static func strs(_ v: [String], _ shape: [Int]? = nil) -> NDArray {
        guard let a = try? NDArray(strings: v, shape: shape ?? [v.count]) else { preconditionFailure("reference shape") }
        return a
    }

    /// Dense values of `_sparse_values` as Doubles (row-major).
    static func sparseValues(_ key: String, _ rows: Int, _ cols: Int, _ mod: UInt64, _ lo: Int, _ hi: Int) -> [Double] {
        var r = SplitMix64(key: key)
        var out: [Double] = []
        for _ in 0..<rows {
            for _ in 0..<cols {
                let x = r.next()
                out.append(x % mod != 0 ? 0 : Double(lo) + Double((x >> 8) % UInt64((hi - lo) * 4)) / 4)
            }
        }
        return out
    }

    /// scipy's csr/csc of a dense row-major matrix (zeros dropped, sorted indices).
    static func sparse<T: ZarrScalar>(_ dense: [T], _ rows: Int, _ cols: Int, format: SparseMatrix.Format, int64Index: Bool = false) -> SparseMatrix
    where T: Equatable & ExpressibleByIntegerLiteral {
        var data: [T] = [], indices: [Int] = [], indptr: [Int] = [0]
        let (major, minor) = format == .csr ? (rows, cols) : (cols, rows)
        for a in 0..<major {
            for b in 0..<minor {
                let v = format == .csr ? dense[a * cols + b] : dense[b * cols + a]
                if v != 0 { data.append(v); indices.append(b) }
            }
            indptr.append(data.count)
        }
        let idx = int64Index ? nd(indices.map { Int64($0) }, [indices.count]) : nd(indices.map { Int32($0) }, [indices.count])
        let ptr = int64Index ? nd(indptr.map { Int64($0) }, [indptr.count]) : nd(indptr.map { Int32($0) }, [indptr.count])
        guard let m = try? SparseMatrix(format: format, shape: [rows, cols], data: nd(data, [data.count]), indices: idx, indptr: ptr) else {
            preconditionFailure("reference sparse")
        }
        return m
    }

    static func X(_ n: Int) -> [Float] {
        var r = SplitMix64(key: "X")
        var out: [Float] = []
        for i in 0..<n {
            for j in 0..<nVar {
                let x = r.next()
                out.append(x % 4 != 0 || (i >= 32 && j < 8) ? 0 : Float((x >> 8) % 64 + 1) / 4)
            }
        }
        return out
    }

    static func cat(_ codes: [Int], _ cats: [String], ordered: Bool = false) -> Column {
        guard let c = try? Categorical(codes: codes, categories: cats, ordered: ordered) else { preconditionFailure("reference categorical") }
        return .categorical(c)
    }

    static func masked<T: ZarrScalar>(_ values: [T], _ mask: [Bool], _ zero: T, boolean: Bool = false) -> Column {
        let v = zip(values, mask).map { $1 ? zero : $0 }
        guard let n = try? NullableArray(values: nd(v, [v.count]), mask: mask) else { preconditionFailure("reference nullable") }
        return boolean ? .nullableBoolean(n) : .nullableInteger(n)
    }

    static func frame(_ index: [String], _ name: String?, _ cols: [(String, Column)]) -> DataFrame {
        guard let d = try? DataFrame(index: index, indexName: name, columns: OrderedDict(cols)) else { preconditionFailure("reference frame") }
        return d
    }

    static func obs(_ n: Int) -> DataFrame {
        let greek = ["α", "β", "γ", "δ"]
        var c: [(String, Column)] = []
        c.append(("int64", .array(nd(col("obs/int64", n) { r, _ in Int64(r.below(2001) - 1000) }, [n]))))
        c.append(("int32", .array(nd(col("obs/int32", n) { r, _ in Int32(r.below(201) - 100) }, [n]))))
        c.append(("uint8", .array(nd(col("obs/uint8", n) { r, _ in UInt8(r.below(256)) }, [n]))))
        var f64 = col("obs/float64", n) { r, _ in r.quarter(-100, 100) }
        for i in 0..<n where i % 7 == 3 { f64[i] = .nan }
        c.append(("float64", .array(nd(f64, [n]))))
        c.append(("float32", .array(nd(col("obs/float32", n) { r, _ in Float(r.quarter(-10, 10)) }, [n]))))
        c.append(("bool", .array(nd(col("obs/bool", n) { r, _ in r.below(2) == 1 }, [n]))))
        c.append(("str_object", .strings((0..<n).map { "s\(pad($0, 3))-\(greek[$0 % 4])" })))
        c.append(("str_default", .strings((0..<n).map { "d\(pad($0, 3))" })))
        c.append(("str_pd_string", .strings((0..<n).map { "p\(pad($0, 3))" })))
        c.append(("cat_unordered", cat((0..<n).map { ($0 * 3) % 5 - 1 }, ["B cell", "T cell", "NK", "Mono"])))
        c.append(("cat_ordered", cat((0..<n).map { $0 % 10 == 9 ? -1 : ($0 * 7) % 3 }, ["low", "mid", "high"], ordered: true)))
        guard let catInt = try? Categorical(codes: Categorical.packCodes((0..<n).map { $0 % 8 == 5 ? -1 : $0 % 4 }, categoryCount: 4),
                                            categories: nd([Int64(10), 20, 30, 40], [4])) else { preconditionFailure() }
        c.append(("cat_int", .categorical(catInt)))
        func draws(_ key: String, _ lo: Int, _ span: Int) -> [Int] { col(key, n) { r, _ in Int64(r.below(span) + lo) }.map { Int($0) } }
        c.append(("nullable_int64", masked(draws("obs/nullable_int64", -500, 1000).map { Int64($0) }, (0..<n).map { $0 % 6 == 1 }, 0)))
        c.append(("nullable_int32", masked(draws("obs/nullable_int32", 0, 100).map { Int32($0) }, (0..<n).map { $0 % 5 == 2 }, 0)))
        c.append(("nullable_uint8", masked(draws("obs/nullable_uint8", 0, 256).map { UInt8($0) }, (0..<n).map { $0 % 9 == 4 }, 0)))
        c.append(("nullable_bool", masked(col("obs/nullable_bool", n) { r, _ in r.below(2) == 1 }, (0..<n).map { $0 % 4 == 3 }, false, boolean: true)))
        guard let ns = try? NullableStrings(values: (0..<n).map { $0 % 3 == 0 ? "" : "n\(pad($0, 3))-ü" }, mask: (0..<n).map { $0 % 3 == 0 }, naValue: "NA")
        else { preconditionFailure() }
        c.append(("nullable_string", .nullableStrings(ns)))
        return frame(obsNames(n), "cell_id", c)
    }

    static func obsNames(_ n: Int) -> [String] { (0..<n).map { "cell_\(pad($0, 3))" } }

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    static func vars(_ nv: Int, key: String = "var", withAll: Bool = true) -> DataFrame {
        var c: [(String, Column)] = []
        c.append(("gene_ids", .strings((0..<nv).map { "ENSG\(pad($0, 11))" })))
        c.append(("means", .array(nd(col("\(key)/means", nv) { r, _ in r.quarter(0, 50) }, [nv]))))
        if withAll {
            c.append(("highly_variable", .array(nd(col("\(key)/hv", nv) { r, _ in r.below(3) == 0 }, [nv]))))
            c.append(("n_cells", .array(nd(col("\(key)/n_cells", nv) { r, _ in Int64(r.below(41)) }, [nv]))))
            var disp = col("\(key)/dispersion", nv) { r, _ in Float(r.quarter(-5, 5)) }
            for j in 0..<nv where j % 11 == 10 { disp[j] = .nan }
            c.append(("dispersion", .array(nd(disp, [nv]))))
            c.append(("feature_type", cat((0..<nv).map { $0 % 5 != 0 ? 0 : 1 }, ["Gene Expression", "Antibody Capture"])))
            c.append(("nullable_int", masked((0..<nv).map { Int32($0 * 3) }, (0..<nv).map { $0 % 4 == 0 }, 0)))
        }
        return frame((0..<nv).map { "gene_\(pad($0, 3))" }, "gene_symbol", c)
    }

    static func uns(extras: Bool) -> OrderedDict<Element> {
        var u = OrderedDict<Element>()
        u["py_int"] = .scalar(Int64(42))
        u["py_float"] = .scalar(3.25)
        u["py_bool"] = .scalar(true)
        u["py_str"] = .string("hello, wörld ✓")
        var s = OrderedDict<Element>()
        s["int8"] = .scalar(Int8(-8)); s["int16"] = .scalar(Int16(-1600)); s["int32"] = .scalar(Int32(-320000))
        s["int64"] = .scalar(Int64(-(1 << 40))); s["uint8"] = .scalar(UInt8(200)); s["uint16"] = .scalar(UInt16(60000))
        s["uint32"] = .scalar(UInt32(4_000_000_000)); s["uint64"] = .scalar((UInt64(1) << 63) + 5)
        s["float16"] = .scalar(Float16(1.5)); s["float32"] = .scalar(Float(-0.375)); s["float64"] = .scalar(1e300)
        s["nan64"] = .scalar(Double.nan); s["inf32"] = .scalar(Float.infinity); s["bool"] = .scalar(false)
        s["complex64"] = .scalar(complex64(1.5, -2)); s["complex128"] = .scalar(complex128([(-0.25, 0.125)], []))
        s["str"] = .string("numpy str")
        u["np_scalars"] = .dict(s)
        var a = OrderedDict<Element>()
        func ints<T: ZarrScalar & FixedWidthInteger>(_: T.Type) -> Element { .array(nd([T.min, 0, 1, T.max, 7, T.min + 1], [6])) }
        a["int8"] = ints(Int8.self); a["int16"] = ints(Int16.self); a["int32"] = ints(Int32.self); a["int64"] = ints(Int64.self)
        a["uint8"] = ints(UInt8.self); a["uint16"] = ints(UInt16.self); a["uint32"] = ints(UInt32.self); a["uint64"] = ints(UInt64.self)
        a["float16"] = .array(nd([Float16(0.5), -1.25, .infinity, 0, 2, 65504], [6]))
        a["float32"] = .array(nd([Float(0.5), -1.25, .nan, -.infinity, 2, 3.75], [6]))
        a["float64"] = .array(nd([0.5, -1.25, .nan, .infinity, -0.0, 1e-300], [6]))
        a["bool"] = .array(nd([true, false, false, true, true, false], [6]))
        a["complex128"] = .array(complex128([(1, 2), (-0.0, -0.5), (0, 0)], [3]))  // Python: -0.5j == complex(-0.0, -0.5)
        a["float64_2d"] = .array(matrix("uns/arrays/float64_2d", 3, 4) { r, _, _ in r.quarter(-8, 8) })
        a["int32_2d"] = .array(matrix("uns/arrays/int32_2d", 4, 3) { r, _, _ in Int32(r.below(100)) })
        a["str_unicode"] = .strings(strs(["alpha", "β", "γγ", "", "✓ done"]))
        a["str_object"] = .strings(strs(["x", "yy", "zzz"]))
        a["str_2d"] = .strings(strs(["a", "b", "c", "dd", "ee", "ff"], [2, 3]))
        a["empty_float64"] = .array(nd([Double](), [0]))
        a["from_list"] = .array(nd([Int64(1), 2, 3], [3]))
        u["arrays"] = .dict(a)
        u["empty_dict"] = .dict([:])
        u["nested"] = .dict([
            "level1": .dict(["level2": .dict(["value": .scalar(Int64(7)), "name": .string("deep"), "arr": .array(nd([Int64(0), 1, 2], [3]))])]),
            "sibling": .scalar(2.5),
        ])
        u["df"] = .dataFrame(frame((0..<5).map { "r\($0)" }, nil, [
            ("a", .array(nd((0..<5).map { Int64($0 * 10) }, [5]))),
            ("b", .array(nd([0.5, 1.5, .nan, 3.5, 4.5], [5]))),
            ("c", .strings(["u", "v", "w", "x", "y"])),
            ("d", cat([0, 1, 0, -1, 1], ["yes", "no"])),
        ]))
        u["sparse_csr"] = .sparse(sparse(sparseValues("uns/sparse_csr", 5, 6, 3, -4, 4), 5, 6, format: .csr))
        u["sparse_csc"] = .sparse(sparse(sparseValues("uns/sparse_csc", 6, 5, 3, 1, 9).map { Int32($0) }, 6, 5, format: .csc))
        u["cat_unordered_colors"] = .strings(strs(["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]))
        u["none_value"] = .null
        if extras { u["rec"] = .recArray(recArray()) }
        return u
    }

    static func complex64(_ re: Float, _ im: Float) -> NDArray {
        let bytes = withUnsafeBytes(of: re) { Array($0) } + withUnsafeBytes(of: im) { Array($0) }
        guard let a = try? NDArray(dataType: .complex64, shape: [], storage: .fixed(bytes)) else { preconditionFailure() }
        return a
    }

    static func complex128(_ v: [(Double, Double)], _ shape: [Int]) -> NDArray {
        var bytes: [UInt8] = []
        for (re, im) in v { bytes += withUnsafeBytes(of: re) { Array($0) } + withUnsafeBytes(of: im) { Array($0) } }
        guard let a = try? NDArray(dataType: .complex128, shape: shape, storage: .fixed(bytes)) else { preconditionFailure() }
        return a
    }

    /// `[(1, 2.5, "ab"), (3, -4.0, "cd"), (5, 0.0, "")]` with dtype `[i4, f8, U3]`.
    static func recArray() -> NDArray {
        var bytes: [UInt8] = []
        for (i, f, s) in [(Int32(1), 2.5, "ab"), (3, -4.0, "cd"), (5, 0.0, "")] {
            bytes += withUnsafeBytes(of: i) { Array($0) }
            bytes += withUnsafeBytes(of: f) { Array($0) }
            var units = s.unicodeScalars.map(\.value)
            units += repeatElement(0, count: 3 - units.count)
            for u in units { bytes += withUnsafeBytes(of: u) { Array($0) } }
        }
        let type = DataType.structured([StructField(name: "i", type: .int32), StructField(name: "f", type: .float64),
                                        StructField(name: "s", type: .fixedUTF32(length: 3))])
        guard let a = try? NDArray(dataType: type, shape: [3], storage: .fixed(bytes)) else { preconditionFailure() }
        return a
    }

    static func ragged(_ n: Int) -> AwkwardArray {
        if n == 0 {  // awkward infers an EmptyArray (no buffers) from an empty list
            return AwkwardArray(form: #"{"class": "EmptyArray", "parameters": {}, "form_key": "node0"}"#, length: 0, buffers: [:])
        }
        var offsets: [Int64] = [0], data: [Int64] = []
        for i in 0..<n {
            for k in 0..<(i % 4) { data.append(Int64(i * 10 + k)) }
            offsets.append(Int64(data.count))
        }
        let form = #"{"class": "ListOffsetArray", "offsets": "i64", "content": {"class": "NumpyArray", "primitive": "int64", "inner_shape": [], "parameters": {}, "form_key": "node1"}, "parameters": {}, "form_key": "node0"}"#
        return AwkwardArray(form: form, length: n, buffers: ["node0-offsets": nd(offsets, [offsets.count]), "node1-data": nd(data, [data.count])])
    }

    static func kitchenSink(_ variant: Variant, extras: Bool = false) -> AnnData {
        let n = variant == .empty ? 0 : 40
        let xd = X(n)
        let X: Matrix
        switch variant {
        case .csr: X = .sparse(sparse(xd, n, nVar, format: .csr))
        case .csc: X = .sparse(sparse(xd, n, nVar, format: .csc))
        default: X = .dense(nd(xd, [n, nVar]))
        }
        var layers = OrderedDict<Matrix>()
        layers["counts"] = .dense(matrix("layers/counts", n, nVar) { r, _, _ in Int64(r.below(20)) })
        layers["int32"] = .dense(matrix("layers/int32", n, nVar) { r, _, _ in Int32(r.below(1000) - 500) })
        layers["sparse_csr"] = .sparse(sparse(sparseValues("layers/sparse_csr", n, nVar, 5, -6, 6), n, nVar, format: .csr))
        layers["sparse_csc"] = .sparse(sparse(sparseValues("layers/sparse_csc", n, nVar, 4, 1, 9).map { Float($0) }, n, nVar, format: .csc))
        var obsm = OrderedDict<Element>()
        obsm["X_pca"] = .array(matrix("obsm/X_pca", n, 5) { r, _, _ in r.quarter(-20, 20) })
        obsm["X_umap"] = .array(matrix("obsm/X_umap", n, 2) { r, _, _ in Float(r.quarter(-10, 10)) })
        var t = SplitMix64(key: "obsm/tensor_3d")
        obsm["tensor_3d"] = .array(nd((0..<(n * 6)).map { _ in Int16(t.below(200) - 100) }, [n, 2, 3]))
        obsm["sparse"] = .sparse(sparse(sparseValues("obsm/sparse", n, 10, 3, 1, 5).map { Float($0) }, n, 10, format: .csr))
        obsm["df"] = .dataFrame(frame(obsNames(n), "cell_id", [
            ("score", .array(nd(col("obsm/df/score", n) { r, _ in r.quarter(0, 1) }, [n]))),
            ("count", .array(nd(col("obsm/df/count", n) { r, _ in Int32(r.below(50)) }, [n]))),
            ("label", cat((0..<n).map { $0 % 2 }, ["x", "y"])),
        ]))
        if extras { obsm["ragged"] = .awkward(ragged(n)) }
        var varm = OrderedDict<Element>()
        varm["PCs"] = .array(matrix("varm/PCs", nVar, 5) { r, _, _ in r.quarter(-1, 1) })
        varm["sparse_csc"] = .sparse(sparse(sparseValues("varm/sparse_csc", nVar, 8, 3, -2, 2), nVar, 8, format: .csc))
        var obsp = OrderedDict<Matrix>()
        obsp["distances"] = .sparse(sparse(sparseValues("obsp/distances", n, n, 6, 1, 11), n, n, format: .csr, int64Index: true))
        obsp["connectivities"] = .sparse(sparse(sparseValues("obsp/connectivities", n, n, 6, 0, 1).map { Float($0) }, n, n, format: .csr))
        var varp = OrderedDict<Matrix>()
        varp["dense_corr"] = .dense(matrix("varp/dense_corr", nVar, nVar) { r, _, _ in r.quarter(-1, 1) })
        varp["sparse"] = .sparse(sparse(sparseValues("varp/sparse", nVar, nVar, 4, 1, 3).map { Float($0) }, nVar, nVar, format: .csr))
        var rawVarm = OrderedDict<Element>()
        rawVarm["PCs"] = .array(matrix("raw/varm/PCs", nRawVar, 3) { r, _, _ in r.quarter(-2, 2) })
        let raw = Raw(X: .sparse(sparse(sparseValues("raw/X", n, nRawVar, 3, 1, 17).map { Float($0) }, n, nRawVar, format: .csr)),
                      var: vars(nRawVar, key: "raw/var", withAll: false), varm: rawVarm)
        guard let a = try? AnnData(X: X, obs: obs(n), var: vars(nVar), layers: layers, obsm: obsm, varm: varm, obsp: obsp, varp: varp,
                                   uns: uns(extras: extras), raw: raw) else { preconditionFailure("reference AnnData") }
        return a
    }
}
