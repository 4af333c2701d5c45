import CHDF5
import Zarr

/// HDF5 attributes as Zarr's JSON attributes, both ways, with the types h5py writes.
///
/// Read: strings (variable or fixed length) → strings; integers → integers; floats → numbers
/// (NaN and infinities included); h5py booleans →
/// booleans; object references → the referenced object's absolute path (legacy anndata points
/// categorical columns at their categories this way); arrays of these → lists (nested for more
/// than one dimension); an empty dataspace (`h5py.Empty`) → `null`.
///
/// Write (what h5py makes of the same Python values): a string → a variable-length UTF-8
/// scalar; a boolean → h5py's boolean enum; an integer → int64; a number → float64; a list of
/// strings, integers, numbers or booleans → a 1-d array of that type; an empty list → an empty
/// float64 array (as h5py stores `[]`); `null` → an empty dataspace of float32. Objects and
/// mixed or nested lists have no HDF5 attribute form and are refused.
enum HDF5Attributes {
    /// Every attribute of `object` (open; borrowed), by name order. Runs on the executor.
    static func read(_ object: hid_t, key: String) throws(ZarrError) -> JSONObject {
        var info = H5O_info_t()
        try HDF5Library.check(H5Oget_info2(object, &info, UInt32(H5O_INFO_NUM_ATTRS)), "reading the attribute count", key)
        var out = JSONObject()
        guard info.num_attrs > 0 else { return out }
        for i in 0..<info.num_attrs {
            let attr = H5Aopen_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, i, swh5_default(), swh5_default())
            guard attr >= 0 else { throw HDF5Library.failure("opening attribute \(i)", key) }
            defer { H5Aclose(attr) }
            let nameLength = H5Aget_name(attr, 0, nil)
            guard nameLength >= 0 else { throw HDF5Library.failure("reading an attribute name", key) }
            var nameBuffer = [CChar](repeating: 0, count: nameLength + 1)
            H5Aget_name(attr, nameBuffer.count, &nameBuffer)
            let name = String(decoding: nameBuffer.prefix(nameLength).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            out[name] = try value(attr, key: key + " attribute '" + name + "'", object: object)
        }
        return out
    }

    /// One attribute's value.
    static func value(_ attr: hid_t, key: String, object: hid_t) throws(ZarrError) -> JSONValue {
        let type = try HDF5Library.check(H5Aget_type(attr), "reading the type", key)
        defer { H5Tclose(type) }
        let space = try HDF5Library.check(H5Aget_space(attr), "reading the shape", key)
        defer { H5Sclose(space) }
        let spaceClass = H5Sget_simple_extent_type(space)
        if spaceClass == H5S_NULL { return .null }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank >= 0 else { throw HDF5Library.failure("reading the rank", key) }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        if rank > 0 { H5Sget_simple_extent_dims(space, &dims, nil) }
        let shape = rank == 0 ? [] : dims.prefix(rank).map { Int(clamping: $0) }
        // Checked: the extents come from the file.
        var count = 1
        for n in shape {
            let (p, o) = count.multipliedReportingOverflow(by: n)
            count = o ? .max : p
        }
        guard count <= 1 << 24 else { throw .valueTooLarge(key: key, size: count, limit: 1 << 24) }
        let flat = try elements(attr, type: type, count: count, key: key, object: object)
        if rank == 0 { return flat.first ?? .null }
        return nest(flat[...], shape: shape[...])
    }

    private static func nest(_ flat: ArraySlice<JSONValue>, shape: ArraySlice<Int>) -> JSONValue {
        guard let first = shape.first else { return flat.first ?? .null }
        if shape.count == 1 { return .array(Array(flat)) }
        let inner = shape.dropFirst().reduce(1, *)
        var out: [JSONValue] = []
        for i in 0..<first {
            let start = flat.startIndex + i * inner
            out.append(nest(flat[start..<(start + inner)], shape: shape.dropFirst()))
        }
        return .array(out)
    }

    private static func elements(_ attr: hid_t, type: hid_t, count: Int, key: String, object: hid_t) throws(ZarrError) -> [JSONValue] {
        let cls = H5Tget_class(type)
        switch cls {
        case H5T_STRING:
            if H5Tis_variable_str(type) > 0 {
                let mem = try HDF5ElementType.variableStringType(key: key)
                defer { H5Tclose(mem) }
                var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
                try HDF5Library.check(H5Aread(attr, mem, &pointers), "reading", key)
                let out = pointers.map { p -> JSONValue in p.map { .string(String(cString: $0)) } ?? .string("") }
                let space = H5Aget_space(attr)
                if space >= 0 { H5Dvlen_reclaim(mem, space, swh5_default(), &pointers); H5Sclose(space) }
                return out
            }
            let size = H5Tget_size(type)
            let spacePadded = H5Tget_strpad(type) == H5T_STR_SPACEPAD
            var bytes = [UInt8](repeating: 0, count: size * count)
            try HDF5Library.check(H5Aread(attr, type, &bytes), "reading", key)
            return bytes.withUnsafeBytes { b in
                (0..<count).map { i in
                    .string(String(decoding: HDF5ElementType.trimFixed(UnsafeRawBufferPointer(rebasing: b[(i * size)..<((i + 1) * size)]), spacePadded: spacePadded), as: UTF8.self))
                }
            }
        case H5T_ENUM where HDF5ElementType.isH5pyBool(type):
            let mem = try HDF5ElementType.boolType(key: key)
            defer { H5Tclose(mem) }
            var values = [Int8](repeating: 0, count: count)
            try HDF5Library.check(H5Aread(attr, mem, &values), "reading", key)
            return values.map { .bool($0 != 0) }
        case H5T_INTEGER, H5T_ENUM, H5T_BITFIELD:
            let unsigned64 = H5Tget_size(type) == 8 && H5Tget_sign(type) == H5T_SGN_NONE
            if unsigned64 {
                var values = [UInt64](repeating: 0, count: count)
                try HDF5Library.check(H5Aread(attr, swh5_native_uint64(), &values), "reading", key)
                return values.map { $0 <= UInt64(Int64.max) ? .int(Int64($0)) : .uint($0) }
            }
            var values = [Int64](repeating: 0, count: count)
            try HDF5Library.check(H5Aread(attr, swh5_native_int64(), &values), "reading", key)
            return values.map { .int($0) }
        case H5T_FLOAT:
            var values = [Double](repeating: 0, count: count)
            try HDF5Library.check(H5Aread(attr, swh5_native_double(), &values), "reading", key)
            return values.map { .double($0) }
        case H5T_REFERENCE where H5Tequal(type, swh5_std_ref_obj()) > 0:
            var refs = [hobj_ref_t](repeating: 0, count: count)
            try HDF5Library.check(H5Aread(attr, swh5_std_ref_obj(), &refs), "reading", key)
            var out: [JSONValue] = []
            for var r in refs {
                let n = H5Rget_name(object, H5R_OBJECT, &r, nil, 0)
                guard n > 0 else { out.append(.null); continue }
                var buffer = [CChar](repeating: 0, count: n + 1)
                H5Rget_name(object, H5R_OBJECT, &r, &buffer, buffer.count)
                out.append(.string(String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)))
            }
            return out
        default:
            throw .unsupportedDataType("an HDF5 attribute of type class \(cls.rawValue) at \(key)")
        }
    }

    /// Replaces every attribute of `object` (open; borrowed) by `attributes`. Runs on the executor.
    static func write(_ attributes: JSONObject, to object: hid_t, key: String) throws(ZarrError) {
        // Check every value first: a value HDF5 cannot hold must leave the old attributes.
        for (name, value) in attributes { _ = try flatten(value, key: key + " attribute '" + name + "'") }
        // Remove the old ones first (deleting by index 0 until none remain).
        var info = H5O_info_t()
        try HDF5Library.check(H5Oget_info2(object, &info, UInt32(H5O_INFO_NUM_ATTRS)), "reading the attribute count", key)
        for _ in 0..<info.num_attrs {
            try HDF5Library.check(H5Adelete_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, 0, swh5_default()), "deleting an attribute", key)
        }
        for (name, value) in attributes.sorted(by: { $0.key < $1.key }) {
            try write(value, name: name, to: object, key: key + " attribute '" + name + "'")
        }
    }

    private enum Flat {
        case strings([String]), integers([Int64]), doubles([Double]), bools([Int8]), null
    }

    /// The values of `value` as one typed list and its shape (`[]` for a scalar).
    private static func flatten(_ value: JSONValue, key: String) throws(ZarrError) -> (Flat, [Int]) {
        let result = try flattenValue(value, key: key)
        // HDF5 strings are C strings: a NUL would cut the value short without a word.
        if case .strings(let s) = result.0, s.contains(where: { $0.utf8.contains(0) }) {
            throw .unsupportedOperation("the attribute \(key) has a string with a NUL character, which an HDF5 string cannot hold")
        }
        return result
    }

    private static func flattenValue(_ value: JSONValue, key: String) throws(ZarrError) -> (Flat, [Int]) {
        switch value {
        case .null: return (.null, [])
        case .string(let s): return (.strings([s]), [])
        case .bool(let b): return (.bools([b ? 1 : 0]), [])
        case .int(let i): return (.integers([i]), [])
        case .uint(let u):
            guard let i = Int64(exactly: u) else { throw .unsupportedOperation("the attribute \(key) (\(u)) does not fit an int64") }
            return (.integers([i]), [])
        case .double(let d): return (.doubles([d]), [])
        case .array(let items):
            if items.isEmpty { return (.doubles([]), [0]) }
            if let s = items.compactMap(\.string) as [String]?, s.count == items.count, items.allSatisfy({ if case .string = $0 { return true } else { return false } }) {
                return (.strings(s), [items.count])
            }
            if items.allSatisfy({ if case .bool = $0 { return true } else { return false } }) {
                return (.bools(items.map { $0.bool == true ? 1 : 0 }), [items.count])
            }
            if items.allSatisfy({ if case .int = $0 { return true } else { return false } }) {
                return (.integers(items.map { v -> Int64 in if case .int(let i) = v { return i } else { return 0 } }), [items.count])
            }
            if items.allSatisfy({ switch $0 { case .int, .uint, .double: return true; default: return false } }) {
                return (.doubles(items.map { v -> Double in
                    switch v {
                    case .int(let i): return Double(i)
                    case .uint(let u): return Double(u)
                    case .double(let d): return d
                    default: return 0
                    }
                }), [items.count])
            }
            throw .unsupportedOperation("the attribute \(key) is a list of mixed or nested values, which HDF5 attributes cannot hold")
        case .object:
            throw .unsupportedOperation("the attribute \(key) is a JSON object, which HDF5 attributes cannot hold")
        }
    }

    private static func write(_ value: JSONValue, name: String, to object: hid_t, key: String) throws(ZarrError) {
        let (flat, shape) = try flatten(value, key: key)
        let space: hid_t
        switch (flat, shape.isEmpty) {
        case (.null, _): space = H5Screate(H5S_NULL)
        case (_, true): space = H5Screate(H5S_SCALAR)
        default:
            var dims = shape.map { hsize_t($0) }
            space = H5Screate_simple(1, &dims, nil)
        }
        try HDF5Library.check(space, "creating a dataspace", key)
        defer { H5Sclose(space) }
        let type: hid_t
        switch flat {
        case .strings: type = try HDF5ElementType.variableStringType(key: key)
        case .bools: type = try HDF5ElementType.boolType(key: key)
        case .integers: type = try HDF5Library.check(H5Tcopy(swh5_std_i64le()), "copying a type", key)
        case .doubles: type = try HDF5Library.check(H5Tcopy(swh5_ieee_f64le()), "copying a type", key)
        case .null: type = try HDF5Library.check(H5Tcopy(swh5_ieee_f32le()), "copying a type", key)
        }
        defer { H5Tclose(type) }
        let attr = try HDF5Library.check(H5Acreate2(object, name, type, space, swh5_default(), swh5_default()), "creating", key)
        defer { H5Aclose(attr) }
        var status: herr_t = 0
        switch flat {
        case .null: return
        case .strings(let s):
            // One C string per value, alive for the call.
            var storage = s.map { Array($0.utf8CString) }
            var pointers: [UnsafePointer<CChar>?] = []
            pointers.reserveCapacity(storage.count)
            for i in storage.indices { storage[i].withUnsafeBufferPointer { pointers.append($0.baseAddress) } }
            status = storage.withUnsafeMutableBufferPointer { _ in H5Awrite(attr, type, pointers) }
        case .bools(let b): status = b.withUnsafeBytes { H5Awrite(attr, type, $0.baseAddress) }
        case .integers(let i): status = i.withUnsafeBytes { H5Awrite(attr, type, $0.baseAddress) }
        case .doubles(let d): status = d.withUnsafeBytes { H5Awrite(attr, type, $0.baseAddress) }
        }
        try HDF5Library.check(status, "writing", key)
    }
}
