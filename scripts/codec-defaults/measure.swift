// Candidate default codecs on AnnData arrays: ratio, encode and decode speed, one thread,
// through the same system libzstd / libblosc calls as ZstdCodec and BloscCodec.
// Build: swiftc -O -I Sources/CZstd -I Sources/CBlosc scripts/codec-defaults/measure.swift -o /tmp/measure
// Run:   /tmp/measure DIR RUNS   (DIR holds NAME_<i8|i32|i64|f32|f64>.bin little-endian arrays)
import CBlosc
import CZstd
import Foundation

struct Candidate {
    let name: String
    let encode: ([UInt8], Int) -> [UInt8]  // bytes, typesize
    let decode: ([UInt8], Int) -> [UInt8]  // encoded, decoded size
}

func zstd(_ level: Int32) -> Candidate {
    Candidate(name: "zstd(\(level))", encode: { src, _ in
        let ctx = ZSTD_createCCtx()
        defer { ZSTD_freeCCtx(ctx) }
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 0)
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_contentSizeFlag, 1)
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(src.count))
        let n = out.withUnsafeMutableBytes { d in src.withUnsafeBytes { s in ZSTD_compress2(ctx, d.baseAddress, d.count, s.baseAddress, s.count) } }
        precondition(ZSTD_isError(n) == 0)
        out.removeSubrange(n...)
        return out
    }, decode: { src, size in
        var out = [UInt8](repeating: 0, count: size)
        let n = out.withUnsafeMutableBytes { d in src.withUnsafeBytes { s in ZSTD_decompress(d.baseAddress, d.count, s.baseAddress, s.count) } }
        precondition(n == size)
        return out
    })
}

func blosc(_ cname: String, _ clevel: Int32, _ shuffle: Int32) -> Candidate {
    let s = shuffle == 2 ? "bit" : shuffle == 1 ? "byte" : "no"
    return Candidate(name: "blosc(\(cname),\(s),\(clevel))", encode: { src, typesize in
        var out = [UInt8](repeating: 0, count: src.count + 16)
        let n = out.withUnsafeMutableBytes { d in src.withUnsafeBytes { s in
            blosc_compress_ctx(clevel, shuffle, typesize, s.count, s.baseAddress, d.baseAddress, d.count, cname, 0, 1) } }
        precondition(n > 0)
        out.removeSubrange(Int(n)...)
        return out
    }, decode: { src, size in
        var out = [UInt8](repeating: 0, count: size)
        let n = out.withUnsafeMutableBytes { d in src.withUnsafeBytes { s in blosc_decompress_ctx(s.baseAddress, d.baseAddress, d.count, 1) } }
        precondition(Int(n) == size)
        return out
    })
}

let candidates: [Candidate] = [zstd(0), zstd(1), zstd(-1)]
    + [1, 2, 3].map { blosc("zstd", $0, 1) } + [1, 2, 3].map { blosc("zstd", $0, 2) } + [blosc("lz4", 5, 1), blosc("lz4", 5, 2)]

func median(_ x: [Double]) -> Double { let s = x.sorted(); return s[s.count / 2] }

let args = CommandLine.arguments
let dir = args.count > 1 ? args[1] : "/tmp/codecbench"
let runs = args.count > 2 ? Int(args[2]) ?? 5 : 5
let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".bin") }.sorted()
print("array\tchunk_elems\tcodec\tratio\tencode_MBps\tdecode_MBps")
for f in files {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + f)))
    let typesize = f.contains("i8") ? 1 : f.contains("i64") || f.contains("f64") ? 8 : 4
    let elems = bytes.count / typesize
    let chunkSizes = elems > 200_000 ? [155_099, 32_768] : [elems]
    for chunk in chunkSizes {
        let chunks = stride(from: 0, to: bytes.count, by: chunk * typesize).map { Array(bytes[$0..<min($0 + chunk * typesize, bytes.count)]) }
        for c in candidates {
            var enc: [Double] = [], dec: [Double] = []
            var encoded: [[UInt8]] = []
            for _ in 0..<runs {
                let t0 = DispatchTime.now().uptimeNanoseconds
                encoded = chunks.map { c.encode($0, typesize) }
                let t1 = DispatchTime.now().uptimeNanoseconds
                for (e, raw) in zip(encoded, chunks) { _ = c.decode(e, raw.count) }
                let t2 = DispatchTime.now().uptimeNanoseconds
                enc.append(Double(t1 - t0)); dec.append(Double(t2 - t1))
            }
            for (e, raw) in zip(encoded, chunks) { precondition(c.decode(e, raw.count) == raw) }
            let total = encoded.reduce(0) { $0 + $1.count }
            let mb = Double(bytes.count) / 1e6
            print("\(f.dropLast(4))\t\(chunk)\t\(c.name)\t\(String(format: "%.2f", Double(bytes.count) / Double(total)))\t"
                + "\(String(format: "%.0f", mb / (median(enc) / 1e9)))\t\(String(format: "%.0f", mb / (median(dec) / 1e9)))")
        }
    }
}
