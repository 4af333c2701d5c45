#if canImport(Glibc)
import Glibc
#endif
import CHDF5
import Zarr

/// Compound types whose string fields are variable-length in HDF5 (h5py's rec-arrays with
/// `str` fields, as anndata writes `uns` rec-arrays) and fixed-length UTF-32 in Zarr
/// (numpy's `U<n>`).
enum HDF5Compound {
    /// A compound type (to close) for `fields` where `.string` and `.fixedUTF32` fields are
    /// variable-length UTF-8 strings (a `char *` in memory), with each field's offset and the
    /// element size.
    static func withVariableStrings(_ fields: [StructField], key: String) throws(ZarrError) -> (type: hid_t, offsets: [Int], size: Int) {
        let pointer = MemoryLayout<UnsafeMutablePointer<CChar>?>.size
        var offsets: [Int] = []
        var size = 0
        for f in fields {
            offsets.append(size)
            switch f.type {
            case .string, .fixedUTF32: size += pointer
            default: size += (f.type.itemSize ?? 0) * f.count
            }
        }
        let t = try HDF5Library.check(H5Tcreate(H5T_COMPOUND, size), "creating a compound type", key)
        for (f, offset) in zip(fields, offsets) {
            let member: hid_t
            do throws(ZarrError) {
                switch f.type {
                case .string, .fixedUTF32: member = try HDF5ElementType.variableStringType(key: key)
                default:
                    guard f.count == 1 else { throw ZarrError.unsupportedDataType("sub-array field '\(f.name)' in an HDF5 compound type at '\(key)'") }
                    member = try HDF5ElementType.memoryType(for: f.type, key: key)
                }
            } catch { H5Tclose(t); throw error }
            let status = H5Tinsert(t, f.name, offset, member)
            H5Tclose(member)
            if status < 0 { H5Tclose(t); throw HDF5Library.failure("adding field '\(f.name)'", key) }
        }
        return (t, offsets, size)
    }

    /// Whether `type` has a field that HDF5 stores as a variable-length string.
    static func hasStringFields(_ type: DataType) -> Bool {
        guard case .structured(let fields) = type else { return false }
        return fields.contains { if case .fixedUTF32 = $0.type { return true }; return $0.type == .string }
    }

    /// Reads the whole dataset `d` of compound `fields` (with `.string` fields) and returns the
    /// presented type (strings as `fixedUTF32` of the longest value) and its packed bytes.
    /// Runs on the executor.
    static func materialize(_ d: hid_t, fields: [StructField], count: Int, key: String) throws(ZarrError) -> (DataType, [UInt8]) {
        guard count <= 1 << 22 else {
            throw .unsupportedOperation("'\(key)': a rec-array with string fields of more than \(1 << 22) rows")
        }
        let (mem, offsets, size) = try withVariableStrings(fields, key: key)
        defer { H5Tclose(mem) }
        var buffer = [UInt8](repeating: 0, count: max(1, count * size))
        try HDF5Library.check(H5Dread(d, mem, swh5_all(), swh5_all(), swh5_default(), &buffer), "reading", key)
        // The strings of each string field, as Unicode scalars.
        var strings: [Int: [[Unicode.Scalar]]] = [:]
        buffer.withUnsafeBytes { raw in
            for (i, f) in fields.enumerated() where f.type == .string {
                strings[i] = (0..<count).map { row in
                    let p = raw.loadUnaligned(fromByteOffset: row * size + offsets[i], as: UnsafePointer<CChar>?.self)
                    return p.map { Array(String(cString: $0).unicodeScalars) } ?? []
                }
            }
        }
        let space = H5Dget_space(d)
        if space >= 0 { H5Dvlen_reclaim(mem, space, swh5_default(), &buffer); H5Sclose(space) }
        var presented = fields
        for (i, values) in strings { presented[i].type = .fixedUTF32(length: max(1, values.map(\.count).max() ?? 1)) }
        let itemSize = presented.reduce(0) { $0 + ($1.type.itemSize ?? 0) * $1.count }
        var out = [UInt8](repeating: 0, count: count * itemSize)
        out.withUnsafeMutableBytes { o in
            buffer.withUnsafeBytes { b in
                for row in 0..<count {
                    var at = row * itemSize
                    for (i, f) in presented.enumerated() {
                        let width = (f.type.itemSize ?? 0) * f.count
                        if let values = strings[i] {
                            for (k, scalar) in values[row].enumerated() {
                                o.storeBytes(of: scalar.value.littleEndian, toByteOffset: at + 4 * k, as: UInt32.self)
                            }
                        } else {
                            o.baseAddress!.advanced(by: at).copyMemory(from: b.baseAddress!.advanced(by: row * size + offsets[i]), byteCount: width)
                        }
                        at += width
                    }
                }
            }
        }
        return (.structured(presented), out)
    }

    /// Writes packed elements of `fields` (with `fixedUTF32` fields) through `write`, which gets
    /// the memory type and a buffer whose string fields point to NUL-terminated UTF-8 copies
    /// (freed afterwards). Runs on the executor.
    static func withVariableStringBuffer(
        _ packed: [UInt8], fields: [StructField], count: Int, key: String, _ write: (hid_t, UnsafeRawPointer) -> herr_t
    ) throws(ZarrError) {
        let (mem, offsets, size) = try withVariableStrings(fields, key: key)
        defer { H5Tclose(mem) }
        var buffer = [UInt8](repeating: 0, count: max(1, count * size))
        var allocated: [UnsafeMutablePointer<CChar>] = []
        defer { for p in allocated { free(p) } }
        buffer.withUnsafeMutableBytes { o in
            packed.withUnsafeBytes { b in
                var at = 0
                for row in 0..<count {
                    for (i, f) in fields.enumerated() {
                        let width = (f.type.itemSize ?? 0) * f.count
                        if case .fixedUTF32(let n) = f.type {
                            var scalars = String.UnicodeScalarView()
                            for k in 0..<n {
                                let v = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: at + 4 * k, as: UInt32.self))
                                if v == 0 { break }
                                scalars.append(Unicode.Scalar(v) ?? "\u{FFFD}")
                            }
                            let copy = strdup(String(scalars)) ?? strdup("")!
                            allocated.append(copy)
                            o.storeBytes(of: copy, toByteOffset: row * size + offsets[i], as: UnsafeMutablePointer<CChar>.self)
                        } else {
                            o.baseAddress!.advanced(by: row * size + offsets[i]).copyMemory(from: b.baseAddress!.advanced(by: at), byteCount: width)
                        }
                        at += width
                    }
                }
            }
        }
        let status = buffer.withUnsafeBytes { write(mem, $0.baseAddress!) }
        try HDF5Library.check(status, "writing", key)
    }
}
