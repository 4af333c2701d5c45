import Foundation
import Zarr

/// Values files of `anndata zarr read/write`, in the packed form of `NDArray.packedBytes()`.
enum ValuesFile {
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
