import Foundation
import Zarr

/// The values-file format of `anndata zarr read/write`: C order; fixed-size elements as stored in
/// memory (little-endian numbers, bool as one byte, `U<n>` as UTF-32LE, `S<n>` zero padded);
/// variable-length elements as a u32 LE byte length followed by the bytes.
enum ValuesFile {
    static func encode(_ a: NDArray) -> [UInt8] {
        switch a.storage {
        case .fixed(let b): return b
        case .variable(let items):
            var out: [UInt8] = []
            out.reserveCapacity(items.reduce(0) { $0 + 4 + $1.count })
            for item in items {
                let n = UInt32(truncatingIfNeeded: item.count)
                out.append(contentsOf: [UInt8(n & 255), UInt8(n >> 8 & 255), UInt8(n >> 16 & 255), UInt8(n >> 24)])
                out.append(contentsOf: item)
            }
            return out
        }
    }

    static func decode(_ bytes: [UInt8], dataType: DataType, shape: [Int]) throws -> NDArray {
        let n = shape.reduce(1, *)
        if let size = dataType.itemSize {
            guard bytes.count == n * size else {
                throw ZarrError.valueMismatch("the values file has \(bytes.count) bytes; \(n) elements of \(dataType) need \(n * size)")
            }
            if dataType == .bool, bytes.contains(where: { $0 > 1 }) {
                throw ZarrError.valueMismatch("bool values must be 0 or 1")
            }
            return try NDArray(dataType: dataType, shape: shape, storage: .fixed(bytes))
        }
        var items: [[UInt8]] = []
        items.reserveCapacity(n)
        var p = 0
        while p < bytes.count {
            guard p + 4 <= bytes.count else { throw ZarrError.valueMismatch("the values file ends inside a length") }
            let len = Int(bytes[p]) | Int(bytes[p + 1]) << 8 | Int(bytes[p + 2]) << 16 | Int(bytes[p + 3]) << 24
            p += 4
            guard len <= bytes.count - p else { throw ZarrError.valueMismatch("the values file ends inside an element") }
            let item = Array(bytes[p..<p + len])
            if dataType == .string, String(validating: item, as: UTF8.self) == nil {
                throw ZarrError.valueMismatch("element \(items.count) is not valid UTF-8")
            }
            items.append(item)
            p += len
        }
        guard items.count == n else { throw ZarrError.valueMismatch("the values file has \(items.count) elements; \(n) expected") }
        return try NDArray(dataType: dataType, shape: shape, storage: .variable(items))
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw ZarrError.io(key: path, reason: "cannot read the file")
        }
        return [UInt8](d)
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw ZarrError.io(key: path, reason: "cannot write the file")
        }
    }
}

/// Parses `start:stop,start:stop` into ranges.
enum RegionArgument {
    static func parse(_ text: String, rank: Int) throws -> [Range<Int>] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == rank else {
            throw ZarrError.invalidSelection("'\(text)' has \(parts.count) dimensions; the array has \(rank)")
        }
        return try parts.map { p in
            let ends = p.split(separator: ":", omittingEmptySubsequences: false)
            guard ends.count == 2, let lo = Int(ends[0].trimmingCharacters(in: .whitespaces)),
                let hi = Int(ends[1].trimmingCharacters(in: .whitespaces)), lo >= 0, hi >= lo
            else { throw ZarrError.invalidSelection("'\(p)' is not start:stop") }
            return lo..<hi
        }
    }
}
