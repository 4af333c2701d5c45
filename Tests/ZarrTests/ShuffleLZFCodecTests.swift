import Foundation
import Testing
@testable import Zarr

/// The byte shuffle (numcodecs `shuffle`, HDF5's shuffle filter) and h5py's LZF: round trips,
/// the definition, numcodecs and h5py (through the repository's `.venv/bin/python`), v2
/// metadata naming them, and hostile LZF streams.
@Suite struct ShuffleLZFCodecTests {
    typealias Support = CompressionCodecTests

    /// The shuffle by its definition, one byte at a time.
    static func referenceShuffle(_ data: [UInt8], elementSize: Int) -> [UInt8] {
        guard elementSize > 1 else { return data }
        let n = data.count / elementSize
        var out = data
        for i in 0..<n {
            for j in 0..<elementSize { out[j * n + i] = data[i * elementSize + j] }
        }
        return out
    }

    static let shuffleSizes = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 64, 1000, 4097, 65_537]

    // MARK: - Shuffle

    @Test(arguments: [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 33])
    func shuffleFollowsTheDefinition(_ elementSize: Int) throws {
        let codec = ShuffleCodec(elementSize: elementSize)
        for n in Self.shuffleSizes {
            let data = Support.random(n, seed: UInt64(n * 100 + elementSize))
            let encoded = try codec.encode(data)
            #expect(encoded == Self.referenceShuffle(data, elementSize: elementSize), "\(n) bytes, elementsize \(elementSize)")
            #expect(try codec.decode(encoded) == data, "\(n) bytes, elementsize \(elementSize)")
            #expect(try codec.decode(encoded, expectedSize: n, limit: n) == data)
            if n > 0 {
                var target = [UInt8](repeating: 0xAA, count: n)
                let direct = try target.withUnsafeMutableBytes { try codec.decode(encoded, into: $0) }
                #expect(direct && target == data, "decode(into:) of \(n) bytes, elementsize \(elementSize)")
                var wrong = [UInt8](repeating: 0, count: n + 1)
                #expect(try wrong.withUnsafeMutableBytes { try codec.decode(encoded, into: $0) } == false)
            }
        }
    }

    @Test func shuffleOfKnownBytes() throws {
        // Three 4-byte elements and two trailing bytes, which stay at the end.
        let data: [UInt8] = [1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24, 98, 99]
        let expected: [UInt8] = [1, 11, 21, 2, 12, 22, 3, 13, 23, 4, 14, 24, 98, 99]
        #expect(try ShuffleCodec(elementSize: 4).encode(data) == expected)
        #expect(try ShuffleCodec(elementSize: 4).decode(expected) == data)
        #expect(try ShuffleCodec(elementSize: 1).encode(data) == data)
        // An element size beyond any buffer leaves it unchanged, without looping over it.
        #expect(try ShuffleCodec(elementSize: Int.max).encode(data) == data)
        var target = [UInt8](repeating: 0, count: data.count)
        #expect(try target.withUnsafeMutableBytes { try ShuffleCodec(elementSize: Int.max).decode(data, into: $0) })
        #expect(target == data)
        #expect(try ShuffleCodec(elementSize: 4).decode(expected, expectedSize: nil, limit: data.count) == data)
        #expect(throws: ZarrError.self) { try ShuffleCodec(elementSize: 4).decode(data, expectedSize: nil, limit: data.count - 1) }
    }

    @Test func shuffleMatchesNumcodecs() throws {
        let scratch = try Support.Scratch()
        var jobs: [[String: Any]] = []
        var expected: [[UInt8]] = []
        for es in [1, 2, 3, 4, 8, 16] {
            for elements in [0, 1, 7, 1000, 4099] {
                let data = Support.random(elements * es, seed: UInt64(es * 7 + elements))
                jobs.append(["elementsize": es, "data": try scratch.write(data)])
                expected.append(try ShuffleCodec(elementSize: es).encode(data))
            }
        }
        let answers = try Self.python("shuffle", jobs, scratch: scratch)
        for (job, (answer, ours)) in zip(jobs, zip(answers, expected)) {
            #expect(try Support.decodeBase64(answer) == ours, "numcodecs.Shuffle(\(job["elementsize"] ?? 0))")
        }
    }

    @Test func shuffleConfiguration() throws {
        let spec = Support.spec(itemsize: 4, bytes: 400)
        #expect(try ShuffleCodec(v2Configuration: ["id": "shuffle"], spec: spec).elementSize == 4)
        let eight = try ShuffleCodec(v2Configuration: ["id": "shuffle", "elementsize": 8], spec: spec)
        #expect(eight.elementSize == 8)
        #expect(eight.v2Configuration == ["id": "shuffle", "elementsize": 8])
        #expect(eight.v3JSON == ["name": "numcodecs.shuffle", "configuration": ["elementsize": 8]])
        #expect(throws: ZarrError.self) { try ShuffleCodec(v2Configuration: ["id": "shuffle", "elementsize": "four"], spec: spec) }
        #expect(eight.encodedSize(12345) == 12345)
        // Registered: v2 id and v3 `numcodecs.shuffle`, also through the typed builder.
        let v2 = try CodecRegistry.standard.makeV2(["id": "shuffle", "elementsize": 2], spec: spec)
        #expect((v2 as? ShuffleCodec)?.elementSize == 2)
        let v3 = try CodecRegistry.standard.makeV3(["name": "numcodecs.shuffle", "configuration": ["elementsize": 2]], spec: spec)
        #expect(v3.v3WrittenName == "numcodecs.shuffle")
        #expect(CodecSpec.shuffle(elementSize: 4).json == ["name": "numcodecs.shuffle", "configuration": ["elementsize": 4]])
        let chain = try CodecChain(v3: [.bytes(endian: .little), .shuffle(elementSize: 4), .lzf], spec: spec)
        #expect(chain.v3JSON == [
            ["name": "bytes", "configuration": ["endian": "little"]],
            ["name": "numcodecs.shuffle", "configuration": ["elementsize": 4]], ["name": "lzf"],
        ])
        let values = try NDArray((0..<100).map { UInt32($0 * 1000) }, shape: [100])
        #expect(try chain.decode(chain.encode(values)) == values)
    }

    // MARK: - LZF

    static let lzfSizes = [1, 2, 3, 4, 7, 31, 32, 33, 100, 1000, 8191, 65_537, 1 << 20]

    @Test func lzfRoundTrip() throws {
        let codec = LZFCodec()
        #expect(try codec.encode([]) == [])
        #expect(try codec.decode([]) == [])
        for n in Self.lzfSizes {
            for data in [Support.random(n, seed: UInt64(n)), Support.compressible(n), [UInt8](repeating: 7, count: n)] {
                let encoded = try codec.encode(data)
                #expect(!encoded.isEmpty)
                #expect(try codec.decode(encoded) == data, "\(n) bytes, size unknown")
                #expect(try codec.decode(encoded, expectedSize: n) == data, "\(n) bytes, size known")
                #expect(try codec.decode(encoded, expectedSize: nil, limit: n) == data, "\(n) bytes, limit \(n)")
                var target = [UInt8](repeating: 0xAA, count: n)
                let direct = try target.withUnsafeMutableBytes { try codec.decode(encoded, into: $0) }
                #expect(direct && target == data, "decode(into:) of \(n) bytes")
            }
        }
        // Incompressible data still gives a stream, a little larger than the input.
        let noise = Support.random(1 << 20, seed: 99)
        let encoded = try codec.encode(noise)
        #expect(encoded.count > noise.count && encoded.count <= LZFCodec.encodeBound(noise.count))
        // Compressible data compresses, more so once shuffled.
        let compressible = Support.compressible(1 << 20)
        let direct = try codec.encode(compressible).count
        let shuffled = try codec.encode(ShuffleCodec(elementSize: 4).encode(compressible)).count
        #expect(direct < compressible.count * 9 / 10 && shuffled < direct, "\(direct), shuffled \(shuffled)")
    }

    /// `body` throws `codecFailure` naming `lzf`.
    static func expectLZFFailure(_ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("\(what): no error", sourceLocation: sourceLocation)
        } catch let error as ZarrError {
            guard case .codecFailure(let codec, _) = error, codec == "lzf" else {
                Issue.record("\(what): \(error), not an lzf codec failure", sourceLocation: sourceLocation)
                return
            }
        } catch {
            Issue.record("\(what): \(error) is not a ZarrError", sourceLocation: sourceLocation)
        }
    }

    @Test func lzfHostileInput() throws {
        let codec = LZFCodec()
        let data = Support.compressible(100_000)
        let encoded = try codec.encode(data)
        // A back reference before the start of the output.
        Self.expectLZFFailure("reference before the start") { _ = try codec.decode([0x20, 0x05]) }
        Self.expectLZFFailure("reference before the start, size known") { _ = try codec.decode([0xE0, 0x10, 0x05], expectedSize: 20) }
        // A literal run longer than the stream; a back reference cut off.
        Self.expectLZFFailure("literal run past the end") { _ = try codec.decode([0x1F, 1, 2]) }
        Self.expectLZFFailure("back reference cut off") { _ = try codec.decode([0x00, 9, 0xE0]) }
        // Truncations and a flipped byte, with the size known (as chunks of fixed-size elements are).
        for cut in [1, 2, encoded.count / 3, encoded.count / 2, encoded.count - 1] {
            Self.expectLZFFailure("truncated to \(cut) of \(encoded.count)") {
                _ = try codec.decode(Array(encoded[..<cut]), expectedSize: data.count)
            }
            var target = [UInt8](repeating: 0, count: data.count)
            Self.expectLZFFailure("truncated to \(cut), into a buffer") {
                _ = try target.withUnsafeMutableBytes { try codec.decode(Array(encoded[..<cut]), into: $0) }
            }
        }
        // The wrong size, either way.
        Self.expectLZFFailure("one byte short") { _ = try codec.decode(encoded, expectedSize: data.count - 1) }
        Self.expectLZFFailure("one byte more") { _ = try codec.decode(encoded, expectedSize: data.count + 1) }
        Self.expectLZFFailure("empty stream for 10 bytes") { _ = try codec.decode([], expectedSize: 10) }
        Self.expectLZFFailure("more than the limit") { _ = try codec.decode(encoded, expectedSize: nil, limit: data.count - 1) }
        Self.expectLZFFailure("expected size above the limit") { _ = try codec.decode(encoded, expectedSize: data.count, limit: 10) }
        // Random bytes: an error or output within the limit, never a crash.
        for (i, n) in [1, 2, 3, 16, 100, 5000].enumerated() {
            let junk = Support.random(n, seed: 500 + UInt64(i))
            if let out = try? codec.decode(junk, expectedSize: nil, limit: 1 << 20) { #expect(out.count <= 1 << 20) }
            if let out = try? codec.decode(junk, expectedSize: 64) { #expect(out.count == 64) }
        }
    }

    @Test func lzfGrowsOnlyUpToTheLimit() throws {
        // 16 MiB of zeros is a stream of about 200 kB: with the size unknown the buffer grows
        // from its first guess, and stops at the limit.
        let zeros = [UInt8](repeating: 0, count: 16 << 20)
        let encoded = try LZFCodec().encode(zeros)
        #expect(encoded.count < zeros.count / 50)
        #expect(try LZFCodec().decode(encoded, expectedSize: nil, limit: zeros.count) == zeros)
        #expect(try LZFCodec().decode(encoded, expectedSize: nil, limit: zeros.count + 12345).count == zeros.count)
        Self.expectLZFFailure("limit one short") { _ = try LZFCodec().decode(encoded, expectedSize: nil, limit: zeros.count - 1) }
        Self.expectLZFFailure("limit 1 MiB") { _ = try LZFCodec().decode(encoded, expectedSize: nil, limit: 1 << 20) }
        Self.expectLZFFailure("limit 0") { _ = try LZFCodec().decode(encoded, expectedSize: nil, limit: 0) }
    }

    @Test func lzfConfiguration() throws {
        let spec = Support.spec(itemsize: 4, bytes: 400)
        let v2 = try CodecRegistry.standard.makeV2(["id": "lzf"], spec: spec)
        #expect(v2 is LZFCodec)
        #expect(v2.v2Configuration == ["id": "lzf"])
        let v3 = try CodecRegistry.standard.makeV3(["name": "lzf"], spec: spec)
        #expect(v3.v3JSON == ["name": "lzf"])
        #expect(CodecSpec.lzf.json == ["name": "lzf"])
        #expect(CodecSpec.lzf.name == "lzf")
    }

    // MARK: - v2 metadata

    @Test func v2ArrayWithShuffleAndLZF() async throws {
        let store = MemoryStore()
        let values = try NDArray((0..<6000).map { Float($0 / 7) * 0.5 }, shape: [60, 100])
        // A chunk made here by definition: the shuffled bytes, compressed by liblzf.
        let chunkBytes = Array(values.bytes[0..<(20 * 100 * 4)])
        let reference = try LZFCodec().encode(Self.referenceShuffle(chunkBytes, elementSize: 4))
        let document: JSONValue = [
            "zarr_format": 2, "shape": [60, 100], "chunks": [20, 100], "dtype": "<f4", "fill_value": 0.0, "order": "C",
            "filters": [["id": "shuffle", "elementsize": 4]], "compressor": ["id": "lzf"],
        ]
        try await store.set("a/.zarray", document.serialized())
        let a = try await ZarrArray.open(store, path: "a")
        try await a.write(all: values)
        #expect(try await store.get("a/0.0") == reference)
        #expect(try await ZarrArray.open(store, path: "a").read() == values)
        let part = try await ZarrArray.open(store, path: "a").read([5..<47, 10..<90])
        var expectedPart: [Float] = []
        for r in 5..<47 {
            for c in 10..<90 { expectedPart.append(Float((r * 100 + c) / 7) * 0.5) }
        }
        #expect(try part.values(as: Float.self) == expectedPart)
        // The chain decodes straight into a caller's buffer: LZF into a buffer, unshuffled from it.
        let chain = try ArrayMetadata.parseV2(document, path: "a").makeChain()
        #expect(chain.decodesInPlace)
        var target = [UInt8](repeating: 0, count: chunkBytes.count)
        #expect(try target.withUnsafeMutableBytes { try chain.decode(reference, into: $0) })
        let decodedInPlace = target == chunkBytes
        #expect(decodedInPlace, "v2 chain decoding into a buffer")
        #expect(throws: ZarrError.self) { try target.withUnsafeMutableBytes { try chain.decode(Array(reference.dropLast(3)), into: $0) } }
        var short = [UInt8](repeating: 0, count: chunkBytes.count - 4)
        #expect(throws: ZarrError.self) { try short.withUnsafeMutableBytes { try chain.decode(reference, into: $0) } }
        // So does the same chain in v3 metadata, where the shuffle is `numcodecs.shuffle`.
        let v3 = try CodecChain(v3: [.bytes(endian: .little), .shuffle(elementSize: 4), .lzf], spec: chain.spec)
        #expect(v3.decodesInPlace)
        target = [UInt8](repeating: 0, count: chunkBytes.count)
        #expect(try target.withUnsafeMutableBytes { try v3.decode(reference, into: $0) })
        let v3DecodedInPlace = target == chunkBytes
        #expect(v3DecodedInPlace, "v3 chain decoding into a buffer")
        // Without the shuffle filter the chunk does not decode to the values.
        var plain = document.object ?? [:]
        plain["filters"] = .null
        try await store.set("b/.zarray", JSONValue.object(plain).serialized())
        for k in 0..<3 { try await store.set("b/\(k).0", try #require(try await store.get("a/\(k).0"))) }
        #expect(try await ZarrArray.open(store, path: "b").read() != values)
        // A corrupt chunk is a typed error.
        var bad = reference
        bad.removeLast(5)
        try await store.set("a/1.0", bad)
        await #expect(throws: ZarrError.self) { _ = try await ZarrArray.open(store, path: "a").read() }
    }

    // MARK: - h5py

    /// shuffle: `numcodecs.Shuffle(elementsize).encode` of each job's data, as base64.
    /// h5read: writes datasets with h5py and prints, for each, its raw chunks
    /// (`read_direct_chunk`) and its values.
    /// h5write: writes each job's chunks with `write_direct_chunk` into an LZF dataset (with
    /// or without shuffle) and prints whether h5py reads back the expected values.
    static let pythonScript = """
    import base64, json, sys
    import numpy as np
    mode, jobs_path, scratch = sys.argv[1], sys.argv[2], sys.argv[3]
    jobs = json.load(open(jobs_path))
    b64 = lambda b: base64.b64encode(bytes(b)).decode("ascii")
    out = []
    if mode == "shuffle":
        import numcodecs
        for job in jobs:
            codec = numcodecs.Shuffle(elementsize=job["elementsize"])
            raw = np.frombuffer(open(job["data"], "rb").read(), dtype="u1")
            out.append(b64(np.asarray(codec.encode(raw)).tobytes()))
    elif mode == "h5read":
        import h5py
        with h5py.File(scratch + "/read.h5", "w") as f:
            for job in jobs:
                n = int(np.prod(job["shape"]))
                if job["dtype"] == "<f4":
                    values = (np.repeat(np.arange(n // 6 + 1), 6)[:n] * 0.25).astype("<f4")
                else:
                    values = (np.arange(n, dtype="<i8") * 3 - 5000)
                values = values.reshape(job["shape"])
                d = f.create_dataset(job["name"], data=values, chunks=tuple(job["chunks"]), **job["options"])
                chunks = []
                for k in range(-(-job["shape"][0] // job["chunks"][0])):
                    offset = (k * job["chunks"][0],) + (0,) * (len(job["shape"]) - 1)
                    mask, raw = d.id.read_direct_chunk(offset)
                    chunks.append({"mask": int(mask), "raw": b64(raw)})
                out.append({"chunks": chunks, "values": b64(values.tobytes())})
    elif mode == "h5write":
        import h5py
        with h5py.File(scratch + "/write.h5", "w") as f:
            for i, job in enumerate(jobs):
                d = f.create_dataset("d%d" % i, shape=tuple(job["shape"]), dtype=job["dtype"], chunks=tuple(job["chunks"]),
                                     compression="lzf", shuffle=job["shuffle"])
                for k, path in enumerate(job["parts"]):
                    offset = (k * job["chunks"][0],) + (0,) * (len(job["shape"]) - 1)
                    d.id.write_direct_chunk(offset, open(path, "rb").read(), 0)
                f.flush()
                out.append(d[...].tobytes() == open(job["expected"], "rb").read())
    print(json.dumps(out))
    """

    /// Runs `pythonScript` in `mode` on `jobs`; fails the test clearly if the interpreter is missing.
    static func python(_ mode: String, _ jobs: [[String: Any]], scratch: Support.Scratch,
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> [Any] {
        let interpreter = Support.packageRoot.appendingPathComponent(".venv/bin/python")
        try #require(
            FileManager.default.isExecutableFile(atPath: interpreter.path),
            "interpreter missing at \(interpreter.path): create .venv with numcodecs and h5py (scripts/setup) to run the interop tests",
            sourceLocation: sourceLocation)
        let jobsFile = scratch.url.appendingPathComponent("jobs-\(mode)-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: jobs).write(to: jobsFile)
        let errFile = scratch.url.appendingPathComponent("stderr-\(UUID().uuidString).txt")
        _ = FileManager.default.createFile(atPath: errFile.path, contents: nil)
        let process = Process()
        process.executableURL = interpreter
        process.arguments = ["-c", pythonScript, mode, jobsFile.path, scratch.url.path]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = try FileHandle(forWritingTo: errFile)
        try process.run()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errors = (try? String(contentsOf: errFile, encoding: .utf8)) ?? ""
        try #require(process.terminationStatus == 0, "python \(mode) failed: \(errors)", sourceLocation: sourceLocation)
        let parsed = try JSONSerialization.jsonObject(with: output) as? [Any]
        let list = try #require(parsed, "python \(mode) printed no JSON list: \(errors)", sourceLocation: sourceLocation)
        try #require(list.count == jobs.count, "python answered \(list.count) of \(jobs.count) jobs", sourceLocation: sourceLocation)
        return list
    }

    /// One h5py dataset: its name, type, shape, chunking and filters, and the Zarr v2
    /// `filters`/`compressor` that mirror them.
    struct H5Case {
        var name: String
        var dtype: String
        var shape: [Int]
        var chunks: [Int]
        var options: [String: Any]
        var filters: JSONValue
        var compressor: JSONValue
        var elementSize: Int { dtype == "<f4" ? 4 : 8 }
    }

    static var h5Cases: [H5Case] { [
        H5Case(name: "lzf_f32", dtype: "<f4", shape: [19_000], chunks: [5000], options: ["compression": "lzf"],
               filters: .null, compressor: ["id": "lzf"]),
        H5Case(name: "shuffle_lzf_i64", dtype: "<i8", shape: [230, 40], chunks: [64, 40], options: ["compression": "lzf", "shuffle": true],
               filters: [["id": "shuffle", "elementsize": 8]], compressor: ["id": "lzf"]),
        H5Case(name: "shuffle_gzip_f32", dtype: "<f4", shape: [20_000], chunks: [4096], options: ["compression": "gzip", "shuffle": true],
               filters: [["id": "shuffle", "elementsize": 4]], compressor: ["id": "zlib", "level": 4]),
        H5Case(name: "shuffle_lzf_f32", dtype: "<f4", shape: [12_000], chunks: [3000], options: ["compression": "lzf", "shuffle": true],
               filters: [["id": "shuffle", "elementsize": 4]], compressor: ["id": "lzf"]),
    ] }

    @Test func h5pyChunksDecode() async throws {
        let scratch = try Support.Scratch()
        let jobs: [[String: Any]] = Self.h5Cases.map {
            ["name": $0.name, "dtype": $0.dtype, "shape": $0.shape, "chunks": $0.chunks, "options": $0.options]
        }
        let answers = try Self.python("h5read", jobs, scratch: scratch)
        for (c, answer) in zip(Self.h5Cases, answers) {
            let a = try #require(answer as? [String: Any])
            let values = try Support.decodeBase64(try #require(a["values"]))
            let chunks = try #require(a["chunks"] as? [[String: Any]])
            let chunkBytes = c.chunks.reduce(c.elementSize, *)
            let shuffle: ShuffleCodec? = c.options["shuffle"] == nil ? nil : ShuffleCodec(elementSize: c.elementSize)
            let compressor: any BytesToBytesCodec = c.options["compression"] as? String == "lzf" ? LZFCodec() : try ZlibCodec(level: 4)
            let store = MemoryStore()
            for (k, chunk) in chunks.enumerated() {
                #expect(chunk["mask"] as? Int == 0, "\(c.name) chunk \(k) was stored without its filters")
                let raw = try Support.decodeBase64(try #require(chunk["raw"]))
                // Our codecs, by hand: decompress to the chunk's size, then unshuffle.
                var decoded = try compressor.decode(raw, expectedSize: chunkBytes, limit: chunkBytes)
                if let shuffle { decoded = try shuffle.decode(decoded) }
                let start = k * chunkBytes
                let end = Swift.min(values.count, start + chunkBytes)
                #expect(Array(decoded[0..<(end - start)]) == Array(values[start..<end]), "\(c.name) chunk \(k)")
                let key = ([String(k)] + Array(repeating: "0", count: c.shape.count - 1)).joined(separator: ".")
                try await store.set("\(c.name)/\(key)", raw)
            }
            // The same chunks read as a Zarr v2 array whose metadata mirrors the HDF5 filters.
            let document: JSONValue = [
                "zarr_format": 2, "shape": .array(c.shape.map { .integer($0) }), "chunks": .array(c.chunks.map { .integer($0) }),
                "dtype": .string(c.dtype), "fill_value": 0, "order": "C", "filters": c.filters, "compressor": c.compressor,
            ]
            try await store.set("\(c.name)/.zarray", document.serialized())
            let array = try await ZarrArray.open(store, path: c.name)
            #expect(Array(try await array.read().bytes) == values, "\(c.name) through ZarrArray")
        }
    }

    @Test func h5pyReadsOurLZF() throws {
        let scratch = try Support.Scratch()
        var jobs: [[String: Any]] = []
        for (dtype, size, shuffle) in [("<f4", 4, false), ("<i8", 8, true), ("<f4", 4, true)] {
            let shape = [10_000], chunks = [3000]
            // Random bytes: every byte of every element moves (LZF stores them, a little larger).
            let values = shuffle ? Support.random(shape[0] * size, seed: UInt64(size)) : Support.compressible(shape[0] * size, typesize: size)
            var parts: [String] = []
            for start in stride(from: 0, to: values.count, by: chunks[0] * size) {
                // HDF5 stores edge chunks whole: pad the last one.
                var chunk = Array(values[start..<Swift.min(values.count, start + chunks[0] * size)])
                chunk += [UInt8](repeating: 0, count: chunks[0] * size - chunk.count)
                if shuffle { chunk = try ShuffleCodec(elementSize: size).encode(chunk) }
                parts.append(try scratch.write(try LZFCodec().encode(chunk)))
            }
            jobs.append(["dtype": dtype, "shape": shape, "chunks": chunks, "shuffle": shuffle,
                         "parts": parts, "expected": try scratch.write(values)])
        }
        let verdicts = try Self.python("h5write", jobs, scratch: scratch)
        for (job, verdict) in zip(jobs, verdicts) {
            #expect(verdict as? Bool == true, "h5py reading our \(job["dtype"] ?? "") chunks, shuffle \(job["shuffle"] ?? "")")
        }
    }
}
