import Foundation
import Testing
@testable import Zarr

/// gzip, zlib, blosc, lz4 and bz2: round trips, interoperability with numcodecs (run through the
/// repository's `.venv/bin/python`), and hostile input.
@Suite struct CompressionCodecTests {

    // MARK: - Data

    /// A small deterministic generator (SplitMix64).
    fileprivate struct SeededRNG: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func random(_ n: Int, seed: UInt64) -> [UInt8] {
        var rng = SeededRNG(seed: seed)
        return (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    /// Slowly varying little-endian integers of `typesize` bytes, plus some noise: compressible,
    /// and better still after a shuffle.
    static func compressible(_ n: Int, typesize: Int = 4, seed: UInt64 = 7) -> [UInt8] {
        var rng = SeededRNG(seed: seed)
        var out = [UInt8]()
        out.reserveCapacity(n)
        var i = 0
        while out.count < n {
            let v = UInt64(i / 5) &+ (UInt64.random(in: 0..<4, using: &rng))
            for b in 0..<typesize where out.count < n { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(b % 8)))) }
            i += 1
        }
        return out
    }

    static func spec(itemsize: Int, bytes: Int) -> ChunkSpec {
        let type: DataType = switch itemsize {
        case 1: .uint8
        case 2: .uint16
        case 4: .uint32
        case 8: .uint64
        default: .raw(bytes: itemsize)
        }
        return ChunkSpec(shape: [bytes / itemsize], dataType: type, fillValue: .none)
    }

    /// Encodes and decodes, through `decode(_:)` and `decode(_:into:)`.
    static func checkRoundTrip(_ codec: some BytesToBytesCodec, _ data: [UInt8],
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
        let encoded = try codec.encode(data)
        let decoded = try codec.decode(encoded)
        #expect(decoded == data, "round trip of \(data.count) bytes with \(codec.v3JSON)", sourceLocation: sourceLocation)
        if !data.isEmpty {
            var target = [UInt8](repeating: 0xAA, count: data.count)
            let direct = try target.withUnsafeMutableBytes { try codec.decode(encoded, into: $0) }
            if direct {
                #expect(target == data, "decode(into:) with \(codec.v3JSON)", sourceLocation: sourceLocation)
            }
        }
    }

    static let sizes = [0, 1, 7, 1000, 65_537]

    // MARK: - numcodecs through Python

    /// The package root, from this file's path (Tests/ZarrTests/<file>).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// encode: each job's data file (viewed as unsigned ints of `itemsize` bytes) is encoded by
    /// the numcodecs codec of `config` (the encodings of each of `parts` concatenated, if
    /// given); prints a JSON list of base64 strings.
    /// decode: each job's `data` file is decoded by numcodecs and compared with `expected`;
    /// prints a JSON list of booleans.
    static let pythonScript = """
    import base64, json, sys
    import numpy as np
    import numcodecs
    from numcodecs.compat import ensure_bytes
    mode, jobs_path = sys.argv[1], sys.argv[2]
    def view(raw, itemsize):
        dtype = {1: "u1", 2: "<u2", 4: "<u4", 8: "<u8"}.get(itemsize, "V%d" % itemsize)
        return np.frombuffer(raw, dtype=dtype)
    out = []
    for job in json.load(open(jobs_path)):
        codec = numcodecs.get_codec(dict(job["config"]))
        if mode == "encode":
            paths = job.get("parts") or [job["data"]]
            enc = b"".join(ensure_bytes(codec.encode(view(open(p, "rb").read(), job.get("itemsize", 1)))) for p in paths)
            out.append(base64.b64encode(enc).decode("ascii"))
        else:
            dec = ensure_bytes(codec.decode(open(job["data"], "rb").read()))
            out.append(dec == open(job["expected"], "rb").read())
    print(json.dumps(out))
    """

    /// A scratch directory that numcodecs and the tests share.
    final class Scratch {
        let url: URL
        var counter = 0
        init() throws {
            url = FileManager.default.temporaryDirectory.appendingPathComponent("CompressionCodecTests-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(at: url) }
        func write(_ bytes: [UInt8]) throws -> String {
            counter += 1
            let file = url.appendingPathComponent("b\(counter).bin")
            try Data(bytes).write(to: file)
            return file.path
        }
    }

    /// Runs the numcodecs script; fails the test with a clear message if the interpreter is missing.
    static func python(_ mode: String, _ jobs: [[String: Any]], scratch: Scratch,
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> [Any] {
        let interpreter = packageRoot.appendingPathComponent(".venv/bin/python")
        try #require(
            FileManager.default.isExecutableFile(atPath: interpreter.path),
            "numcodecs interpreter missing at \(interpreter.path): create .venv with numcodecs (scripts/setup) to run the interop tests",
            sourceLocation: sourceLocation)
        let jobsFile = scratch.url.appendingPathComponent("jobs-\(mode)-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: jobs).write(to: jobsFile)
        let errFile = scratch.url.appendingPathComponent("stderr-\(UUID().uuidString).txt")
        _ = FileManager.default.createFile(atPath: errFile.path, contents: nil)
        let process = Process()
        process.executableURL = interpreter
        process.arguments = ["-c", pythonScript, mode, jobsFile.path]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = try FileHandle(forWritingTo: errFile)
        try process.run()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errors = (try? String(contentsOf: errFile, encoding: .utf8)) ?? ""
        try #require(process.terminationStatus == 0, "numcodecs script failed: \(errors)", sourceLocation: sourceLocation)
        let parsed = try JSONSerialization.jsonObject(with: output) as? [Any]
        let list = try #require(parsed, "numcodecs script printed no JSON list: \(errors)", sourceLocation: sourceLocation)
        try #require(list.count == jobs.count, "numcodecs answered \(list.count) of \(jobs.count) jobs", sourceLocation: sourceLocation)
        return list
    }

    /// The bytes of a base64 string that numcodecs printed.
    static func decodeBase64(_ answer: Any, sourceLocation: SourceLocation = #_sourceLocation) throws -> [UInt8] {
        let text = try #require(answer as? String, "numcodecs printed \(answer), not a string", sourceLocation: sourceLocation)
        let data = try #require(Data(base64Encoded: text), "numcodecs printed invalid base64", sourceLocation: sourceLocation)
        return [UInt8](data)
    }

    /// One interop case: the data, the numcodecs configuration and the Swift codec for it.
    struct InteropCase {
        var data: [UInt8]
        var config: [String: Any]
        var itemsize = 1
        var codec: any BytesToBytesCodec
    }

    /// numcodecs encodes, Swift decodes exactly; Swift encodes, numcodecs decodes exactly.
    static func checkInterop(_ cases: [InteropCase], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let scratch = try Scratch()
        var encodeJobs: [[String: Any]] = []
        for c in cases {
            encodeJobs.append(["config": c.config, "itemsize": c.itemsize, "data": try scratch.write(c.data)])
        }
        let encoded = try python("encode", encodeJobs, scratch: scratch, sourceLocation: sourceLocation)
        var decodeJobs: [[String: Any]] = []
        for (c, e) in zip(cases, encoded) {
            let theirs = try decodeBase64(e, sourceLocation: sourceLocation)
            let decoded = try c.codec.decode(theirs)
            #expect(decoded == c.data, "Swift decoding numcodecs \(c.config) (\(c.data.count) bytes)", sourceLocation: sourceLocation)
            let ours = try c.codec.encode(c.data)
            decodeJobs.append(["config": c.config, "data": try scratch.write(ours), "expected": try scratch.write(c.data)])
        }
        let verdicts = try python("decode", decodeJobs, scratch: scratch, sourceLocation: sourceLocation)
        for (c, v) in zip(cases, verdicts) {
            #expect(v as? Bool == true, "numcodecs decoding Swift's \(c.config) (\(c.data.count) bytes)", sourceLocation: sourceLocation)
        }
    }

    /// Every way of damaging `encoded` must throw a `ZarrError` (and never crash).
    static func checkTruncations(_ codec: some BytesToBytesCodec, _ encoded: [UInt8],
                                 sourceLocation: SourceLocation = #_sourceLocation) {
        for cut in Set([0, 1, 5, encoded.count / 2, encoded.count - 1]) where cut < encoded.count {
            #expect(throws: ZarrError.self, "truncated to \(cut) of \(encoded.count) bytes", sourceLocation: sourceLocation) {
                try codec.decode(Array(encoded[..<cut]))
            }
        }
    }

    static func checkGarbage(_ codec: some BytesToBytesCodec, sourceLocation: SourceLocation = #_sourceLocation) {
        for (i, n) in [1, 3, 16, 100, 5000].enumerated() {
            let junk = random(n, seed: 1000 + UInt64(i))
            #expect(throws: ZarrError.self, "\(n) random bytes", sourceLocation: sourceLocation) {
                try codec.decode(junk)
            }
        }
    }

    // MARK: - gzip

    @Test func gzipRoundTrip() throws {
        for level in [0, 1, 5, 9] {
            let codec = try GzipCodec(level: level)
            for n in Self.sizes {
                try Self.checkRoundTrip(codec, Self.random(n, seed: UInt64(n)))
                try Self.checkRoundTrip(codec, Self.compressible(n))
            }
        }
        let big = Self.compressible(1 << 20)
        let enc = try GzipCodec(level: 1).encode(big)
        #expect(enc.count < big.count / 2)
        #expect(Array(enc[0..<3]) == [0x1F, 0x8B, 0x08])
    }

    @Test func gzipInterop() throws {
        var cases: [InteropCase] = []
        for level in [0, 1, 5, 9] {
            let codec = try GzipCodec(v2Configuration: ["id": "gzip", "level": .integer(level)], spec: Self.spec(itemsize: 1, bytes: 0))
            cases.append(InteropCase(data: Self.compressible(20_000 + level), config: ["id": "gzip", "level": level], codec: codec))
            cases.append(InteropCase(data: Self.random(3000, seed: UInt64(level)), config: ["id": "gzip", "level": level], codec: codec))
        }
        cases.append(InteropCase(data: [], config: ["id": "gzip", "level": 1], codec: try GzipCodec(level: 1)))
        try Self.checkInterop(cases)
    }

    @Test func gzipIgnoresHeaderAndReadsMembers() throws {
        let scratch = try Scratch()
        let a = Self.compressible(10_000, seed: 1), b = Self.random(777, seed: 2)
        let jobs: [[String: Any]] = [
            ["config": ["id": "gzip", "level": 5], "data": try scratch.write(a)],
            ["config": ["id": "gzip", "level": 5], "parts": [try scratch.write(a), try scratch.write(b)]],
        ]
        let answers = try Self.python("encode", jobs, scratch: scratch)
        let single = try Self.decodeBase64(answers[0])
        let multi = try Self.decodeBase64(answers[1])
        let codec = try GzipCodec()
        // numcodecs stamps the wall clock; any mtime, XFL and OS byte must decode the same.
        var restamped = single
        for i in 4..<10 { restamped[i] = 0x5A }
        #expect(try codec.decode(restamped) == a)
        // Several members.
        #expect(try codec.decode(multi) == a + b)
        var target = [UInt8](repeating: 0, count: a.count + b.count)
        let direct = try target.withUnsafeMutableBytes { try codec.decode(multi, into: $0) }
        #expect(!direct || target == a + b)
        // Swift's own members concatenated, and zero padding after the last one.
        let ours = try codec.encode(a) + codec.encode(b) + codec.encode([])
        #expect(try codec.decode(ours) == a + b)
        #expect(try codec.decode(single + [0, 0, 0, 0]) == a)
        // Garbage after a member is an error, as in Python's gzip.
        #expect(throws: ZarrError.self) { try codec.decode(single + [1, 2, 3]) }
    }

    @Test func gzipBadInput() throws {
        let codec = try GzipCodec()
        let encoded = try codec.encode(Self.compressible(10_000))
        Self.checkTruncations(codec, encoded)
        Self.checkGarbage(codec)
        // A corrupted CRC.
        var bad = encoded
        bad[bad.count - 8] ^= 0xFF
        #expect(throws: ZarrError.self) { try codec.decode(bad) }
        // A trailer that lies about the size: the fast path declines, zlib's length check fails.
        var lying = encoded
        lying[lying.count - 1] = 0x7F
        #expect(throws: ZarrError.self) { try codec.decode(lying) }
    }

    // MARK: - zlib

    @Test func zlibRoundTrip() throws {
        for level in [0, 1, 6, 9] {
            let codec = try ZlibCodec(level: level)
            for n in Self.sizes {
                try Self.checkRoundTrip(codec, Self.random(n, seed: UInt64(n) + 11))
                try Self.checkRoundTrip(codec, Self.compressible(n))
            }
        }
        // A very compressible buffer exercises output growth.
        try Self.checkRoundTrip(ZlibCodec(level: 9), [UInt8](repeating: 42, count: 3 << 20))
    }

    @Test func zlibInterop() throws {
        var cases: [InteropCase] = []
        for level in [0, 1, 5, 9] {
            let codec = try ZlibCodec(v2Configuration: ["id": "zlib", "level": .integer(level)], spec: Self.spec(itemsize: 1, bytes: 0))
            cases.append(InteropCase(data: Self.compressible(30_000 + level), config: ["id": "zlib", "level": level], codec: codec))
            cases.append(InteropCase(data: Self.random(2000, seed: UInt64(level) + 5), config: ["id": "zlib", "level": level], codec: codec))
        }
        cases.append(InteropCase(data: [], config: ["id": "zlib", "level": 1], codec: try ZlibCodec()))
        try Self.checkInterop(cases)
    }

    @Test func zlibBadInput() throws {
        let codec = try ZlibCodec()
        let encoded = try codec.encode(Self.compressible(10_000))
        #expect(encoded[0] == 0x78)
        Self.checkTruncations(codec, encoded)
        Self.checkGarbage(codec)
        var bad = encoded
        bad[bad.count - 1] ^= 0xFF  // Adler-32
        #expect(throws: ZarrError.self) { try codec.decode(bad) }
        // A gzip stream is not a zlib stream.
        #expect(throws: ZarrError.self) { try codec.decode(try GzipCodec().encode([1, 2, 3])) }
        // A buffer of the wrong size is declined, not filled.
        var small = [UInt8](repeating: 0, count: 100)
        #expect(try small.withUnsafeMutableBytes { try codec.decode(encoded, into: $0) } == false)
    }

    // MARK: - blosc

    static let bloscShuffles: [BloscCodec.Shuffle] = [.noShuffle, .byteShuffle, .bitShuffle, .auto]

    @Test func bloscRoundTrip() throws {
        var tested: Set<String> = []
        for cname in BloscCodec.compressorNames {
            for shuffle in Self.bloscShuffles {
                for typesize in [1, 4, 8] {
                    for clevel in [0, 5, 9] where clevel == 5 || shuffle == .byteShuffle {
                        let codec = try BloscCodec(cname: cname, clevel: clevel, shuffle: shuffle, typesize: typesize)
                        guard codec.isCompressorAvailable else {
                            #expect(throws: ZarrError.self) { try codec.encode([1, 2, 3]) }
                            continue
                        }
                        tested.insert(cname)
                        try Self.checkRoundTrip(codec, Self.compressible(40_000, typesize: typesize))
                        try Self.checkRoundTrip(codec, Self.random(10_003, seed: UInt64(typesize)))
                        try Self.checkRoundTrip(codec, [])
                        try Self.checkRoundTrip(codec, [9])
                    }
                }
            }
        }
        #expect(tested.isSuperset(of: ["blosclz", "lz4", "lz4hc", "zlib", "zstd"]))
        // An explicit block size, and the header's shuffle flags.
        let codec = try BloscCodec(cname: "lz4", clevel: 5, shuffle: .bitShuffle, typesize: 4, blocksize: 4096)
        let data = Self.compressible(100_000, typesize: 4)
        let encoded = try codec.encode(data)
        #expect(encoded.count < data.count / 2)
        #expect(encoded[2] & 0x04 != 0)
        // blosc adjusts a forced block size (4096 becomes 65536 here), but it is no longer one block.
        let headerBlocksize = Int(encoded[8]) | Int(encoded[9]) << 8 | Int(encoded[10]) << 16 | Int(encoded[11]) << 24
        #expect(headerBlocksize > 0 && headerBlocksize < data.count)
        #expect(try codec.decode(encoded) == data)
    }

    @Test func bloscInterop() throws {
        var cases: [InteropCase] = []
        // numcodecs' bundled c-blosc has no snappy.
        for (i, cname) in ["blosclz", "lz4", "lz4hc", "zlib", "zstd"].enumerated() {
            for shuffle in [0, 1, 2, -1] {
                for itemsize in [1, 4, 8] {
                    let clevel = [1, 5, 9][(i + itemsize) % 3]
                    let config: [String: Any] = ["id": "blosc", "cname": cname, "clevel": clevel, "shuffle": shuffle, "blocksize": 0]
                    let data = Self.compressible(16_000, typesize: itemsize, seed: UInt64(i))
                    let codec = try BloscCodec(
                        v2Configuration: ["id": "blosc", "cname": .string(cname), "clevel": .integer(clevel),
                                          "shuffle": .integer(shuffle), "blocksize": 0],
                        spec: Self.spec(itemsize: itemsize, bytes: data.count))
                    cases.append(InteropCase(data: data, config: config, itemsize: itemsize, codec: codec))
                }
            }
            // Incompressible and stored (clevel 0) buffers come back memcpyed.
            let codec = try BloscCodec(cname: cname, clevel: 0, shuffle: .byteShuffle, typesize: 4)
            cases.append(InteropCase(data: Self.random(4096, seed: 3), config: ["id": "blosc", "cname": cname, "clevel": 0, "shuffle": 1],
                                     itemsize: 4, codec: codec))
            cases.append(InteropCase(data: Self.random(4096, seed: 4), config: ["id": "blosc", "cname": cname, "clevel": 5, "shuffle": 1],
                                     itemsize: 4, codec: try BloscCodec(cname: cname, clevel: 5, typesize: 4)))
        }
        try Self.checkInterop(cases)
    }

    @Test func bloscConfiguration() throws {
        let spec = Self.spec(itemsize: 8, bytes: 800)
        // v3: typesize defaults to the element size and is always written.
        let v3 = try BloscCodec(v3Configuration: ["cname": "zstd", "clevel": 3, "shuffle": "bitshuffle"], spec: spec)
        #expect(v3.typesize == 8 && v3.shuffle == .bitShuffle && v3.cname == "zstd" && v3.clevel == 3 && v3.blocksize == 0)
        #expect(v3.v3Configuration?["typesize"]?.int == 8)
        #expect(v3.v3Configuration?["shuffle"]?.string == "bitshuffle")
        let defaults = try BloscCodec(v3Configuration: ["cname": "lz4"], spec: Self.spec(itemsize: 1, bytes: 10))
        #expect(defaults.typesize == 1 && defaults.v3Configuration?["shuffle"]?.string == "bitshuffle" && defaults.clevel == 5)
        let explicit = try BloscCodec(v3Configuration: ["cname": "lz4", "clevel": 1, "shuffle": "shuffle", "typesize": 2, "blocksize": 0], spec: spec)
        #expect(explicit.typesize == 2)
        // v2: numeric shuffle, typesize from the dtype; AUTOSHUFFLE stays -1 in v2 metadata.
        let v2 = try BloscCodec(v2Configuration: ["id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": -1, "blocksize": 0], spec: spec)
        #expect(v2.typesize == 8 && v2.shuffle == .auto)
        #expect(v2.v2Configuration["shuffle"]?.int == -1)
        #expect(v2.v2Configuration["id"]?.string == "blosc")
        #expect(v2.v3Configuration?["shuffle"]?.string == "shuffle")
        let v2bytes = try BloscCodec(v2Configuration: ["id": "blosc", "shuffle": -1], spec: Self.spec(itemsize: 1, bytes: 10))
        #expect(v2bytes.v3Configuration?["shuffle"]?.string == "bitshuffle")
        let enc = try v2bytes.encode(Self.compressible(10_000, typesize: 1))
        #expect(enc[2] & 0x04 != 0 || enc[2] & 0x02 != 0)
        // Invalid configurations.
        #expect(throws: ZarrError.self) { try BloscCodec(v3Configuration: ["cname": "brotli", "clevel": 1, "shuffle": "noshuffle"], spec: spec) }
        #expect(throws: ZarrError.self) { try BloscCodec(v3Configuration: ["cname": "lz4", "clevel": 10, "shuffle": "noshuffle"], spec: spec) }
        #expect(throws: ZarrError.self) { try BloscCodec(v3Configuration: ["cname": "lz4", "clevel": 1, "shuffle": "sideways"], spec: spec) }
        #expect(throws: ZarrError.self) { try BloscCodec(v3Configuration: ["cname": "lz4", "clevel": 1, "shuffle": "shuffle", "typesize": 0], spec: spec) }
        #expect(throws: ZarrError.self) { try BloscCodec(v2Configuration: ["id": "blosc", "shuffle": 3], spec: spec) }
        #expect(throws: ZarrError.self) { try BloscCodec(v2Configuration: ["id": "blosc", "blocksize": -1], spec: spec) }
    }

    @Test func bloscBadInput() throws {
        let codec = try BloscCodec(cname: "lz4", clevel: 5, shuffle: .byteShuffle, typesize: 4)
        let encoded = try codec.encode(Self.compressible(20_000))
        #expect(encoded[2] & 0x02 == 0)  // really compressed
        Self.checkTruncations(codec, encoded)
        Self.checkGarbage(codec)

        func withHeader(_ bytes: [UInt8], at offset: Int, _ value: UInt32) -> [UInt8] {
            var b = bytes
            for i in 0..<4 { b[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
            return b
        }
        // A header claiming a huge decoded size (nbytes at 4).
        for nbytes: UInt32 in [0xFFFF_FFFF, 0x8000_0000, 0x7FFF_FFF8] {
            #expect(throws: ZarrError.self) { try codec.decode(withHeader(encoded, at: 4, nbytes)) }
            var target = [UInt8](repeating: 0, count: 64)
            #expect(throws: ZarrError.self) { try target.withUnsafeMutableBytes { try codec.decode(withHeader(encoded, at: 4, nbytes), into: $0) } }
        }
        // 1 GiB in blocks of 1 byte cannot fit the block table in this buffer.
        #expect(throws: ZarrError.self) { try codec.decode(withHeader(withHeader(encoded, at: 4, 1 << 30), at: 8, 1)) }
        // A zero block size; a cbytes that disagrees with the buffer (at 12).
        #expect(throws: ZarrError.self) { try codec.decode(withHeader(encoded, at: 8, 0)) }
        #expect(throws: ZarrError.self) { try codec.decode(withHeader(encoded, at: 12, UInt32(encoded.count + 1))) }
        #expect(throws: ZarrError.self) { try codec.decode(encoded + [0]) }
        // A memcpyed flag whose sizes do not add up, a bad version, an unknown compressor code.
        var memcpyed = encoded
        memcpyed[2] |= 0x02
        #expect(throws: ZarrError.self) { try codec.decode(memcpyed) }
        var version = encoded
        version[0] = 0
        #expect(throws: ZarrError.self) { try codec.decode(version) }
        var compressor = encoded
        compressor[2] = (compressor[2] & 0x1F) | (7 << 5)
        #expect(throws: ZarrError.self) { try codec.decode(compressor) }
        // A damaged body must not crash: it throws, or yields some bytes of the stated size.
        for seed in 0..<20 {
            var damaged = encoded
            var rng = SeededRNG(seed: UInt64(seed))
            for _ in 0..<8 { damaged[Int.random(in: 16..<damaged.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            if let out = try? codec.decode(damaged) { #expect(out.count == 20_000) }
        }
        // A destination of another size is declined.
        var other = [UInt8](repeating: 0, count: 19_999)
        #expect(try other.withUnsafeMutableBytes { try codec.decode(encoded, into: $0) } == false)
    }

    // MARK: - lz4

    @Test func lz4RoundTrip() throws {
        for acceleration in [1, 4, 100, 0] {
            let codec = try LZ4Codec(acceleration: acceleration)
            for n in Self.sizes {
                try Self.checkRoundTrip(codec, Self.random(n, seed: UInt64(n) + 3))
                try Self.checkRoundTrip(codec, Self.compressible(n))
            }
        }
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        let encoded = try LZ4Codec().encode(zeros)
        #expect(Array(encoded[0..<4]) == [0, 0, 16, 0])
        #expect(try LZ4Codec().decode(encoded) == zeros)
    }

    @Test func lz4Interop() throws {
        var cases: [InteropCase] = []
        for acceleration in [1, 10] {
            let codec = try LZ4Codec(v2Configuration: ["id": "lz4", "acceleration": .integer(acceleration)], spec: Self.spec(itemsize: 1, bytes: 0))
            let config: [String: Any] = ["id": "lz4", "acceleration": acceleration]
            cases.append(InteropCase(data: Self.compressible(50_000), config: config, codec: codec))
            cases.append(InteropCase(data: Self.random(5000, seed: UInt64(acceleration)), config: config, codec: codec))
            cases.append(InteropCase(data: [UInt8](repeating: 7, count: 300_000), config: config, codec: codec))
        }
        try Self.checkInterop(cases)
    }

    @Test func lz4BadInput() throws {
        let codec = try LZ4Codec()
        let data = Self.compressible(10_000)
        let encoded = try codec.encode(data)
        Self.checkTruncations(codec, encoded)
        Self.checkGarbage(codec)
        func withPrefix(_ size: UInt32) -> [UInt8] {
            var b = encoded
            for i in 0..<4 { b[i] = UInt8(truncatingIfNeeded: size >> (8 * UInt32(i))) }
            return b
        }
        let block = UInt32(encoded.count - 4)
        for lie: UInt32 in [0, 1, 9_999, 10_001, 20_000, 255 * block + 65, 0x8000_0000, 0xFFFF_FFFF] {
            #expect(throws: ZarrError.self, "size prefix \(lie)") { try codec.decode(withPrefix(lie)) }
        }
        // decode(into:) with a prefix that matches the destination but lies about the block.
        var target = [UInt8](repeating: 0, count: 10_001)
        #expect(throws: ZarrError.self) { try target.withUnsafeMutableBytes { try codec.decode(withPrefix(10_001), into: $0) } }
        var small = [UInt8](repeating: 0, count: 10)
        #expect(try small.withUnsafeMutableBytes { try codec.decode(encoded, into: $0) } == false)
    }

    // MARK: - bz2

    @Test func bz2RoundTrip() throws {
        for level in [1, 5, 9] {
            let codec = try Bz2Codec(level: level)
            for n in [0, 1, 1000, 65_537] {
                try Self.checkRoundTrip(codec, Self.random(n, seed: UInt64(n) + 17))
                try Self.checkRoundTrip(codec, Self.compressible(n))
            }
        }
        // Output growth, and several streams back to back.
        let codec = try Bz2Codec()
        try Self.checkRoundTrip(codec, [UInt8](repeating: 1, count: 2 << 20))
        let a = Self.compressible(5000), b = Self.random(300, seed: 9)
        #expect(try codec.decode(codec.encode(a) + codec.encode(b)) == a + b)
    }

    @Test func bz2Interop() throws {
        var cases: [InteropCase] = []
        for level in [1, 9] {
            let codec = try Bz2Codec(v2Configuration: ["id": "bz2", "level": .integer(level)], spec: Self.spec(itemsize: 1, bytes: 0))
            cases.append(InteropCase(data: Self.compressible(40_000), config: ["id": "bz2", "level": level], codec: codec))
            cases.append(InteropCase(data: Self.random(3000, seed: UInt64(level)), config: ["id": "bz2", "level": level], codec: codec))
        }
        try Self.checkInterop(cases)
    }

    @Test func bz2BadInput() throws {
        let codec = try Bz2Codec()
        let encoded = try codec.encode(Self.compressible(10_000))
        Self.checkTruncations(codec, encoded)
        Self.checkGarbage(codec)
        var bad = encoded
        bad[bad.count / 2] ^= 0xFF
        #expect(throws: ZarrError.self) { try codec.decode(bad) }
        #expect(throws: ZarrError.self) { try codec.decode(encoded + [0x42, 0x5A]) }
    }

    // MARK: - Configuration and registry

    @Test func levelValidation() {
        #expect(throws: ZarrError.self) { try GzipCodec(level: 10) }
        #expect(throws: ZarrError.self) { try GzipCodec(level: -1) }
        #expect(throws: ZarrError.self) { try GzipCodec(v3Configuration: ["level": "high"], spec: Self.spec(itemsize: 1, bytes: 0)) }
        #expect(throws: ZarrError.self) { try ZlibCodec(level: 10) }
        #expect(throws: ZarrError.self) { try Bz2Codec(level: 0) }
        #expect(throws: ZarrError.self) { try Bz2Codec(level: 10) }
        #expect(throws: ZarrError.self) { try LZ4Codec(acceleration: Int(Int32.max) + 1) }
        // zlib's -1 ("default") appears in v2 metadata written from Python.
        #expect((try? ZlibCodec(v2Configuration: ["id": "zlib", "level": -1], spec: Self.spec(itemsize: 1, bytes: 0)))?.level == -1)
    }

    @Test func registry() throws {
        let registry = CodecRegistry.standard
        let spec = Self.spec(itemsize: 4, bytes: 400)
        let gzip = try registry.makeV3(["name": "gzip", "configuration": ["level": 3]], spec: spec)
        #expect((gzip as? GzipCodec)?.level == 3)
        #expect(gzip.v3JSON == ["name": "gzip", "configuration": ["level": 3]])
        let blosc = try registry.makeV3(
            ["name": "blosc", "configuration": ["cname": "lz4", "clevel": 5, "shuffle": "shuffle", "typesize": 4, "blocksize": 0]], spec: spec)
        #expect((blosc as? BloscCodec)?.typesize == 4)
        let configs: [(String, [String: JSONValue])] = [
            ("zlib", ["level": 3]), ("lz4", ["acceleration": 1]), ("bz2", ["level": 2]),
            ("blosc", ["cname": "zstd", "clevel": 1, "shuffle": 2, "blocksize": 0]),
        ]
        for (id, config) in configs {
            let v3 = try registry.makeV3(["name": .string("numcodecs." + id), "configuration": .object(JSONObject(config.map { ($0.key, $0.value) }))], spec: spec)
            #expect(v3.v3WrittenName == "numcodecs." + id)
            let b2b = try #require(v3 as? any BytesToBytesCodec)
            let data = Self.compressible(4000)
            #expect(try b2b.decode(b2b.encode(data)) == data)
            var v2json = JSONObject(config.map { ($0.key, $0.value) })
            v2json["id"] = .string(id)
            let v2 = try registry.makeV2(.object(v2json), spec: spec)
            #expect(v2.v2Configuration["id"]?.string == id)
        }
        for id in ["gzip", "zlib", "blosc", "lz4", "bz2"] {
            #expect(registry.v2[id] != nil)
        }
        #expect(registry.v3["gzip"] != nil && registry.v3["blosc"] != nil)
    }
}
