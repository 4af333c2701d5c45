import CHDF5
import Zarr

/// How one HDF5 datatype is seen as a Zarr data type, and how its values are read.
struct HDF5ElementType: Sendable, Hashable {
    /// How string elements are stored in the file.
    enum StringStorage: Sendable, Hashable {
        /// Variable-length strings (h5py's `str`): pointers in memory, heap objects on disk.
        case variable
        /// Fixed-length strings of `size` bytes, NUL- or space-padded.
        case fixed(size: Int, spacePadded: Bool)
    }

    /// The Zarr data type the store presents (`.string` for both kinds of HDF5 string).
    var dataType: DataType
    /// Whether the file stores the elements big-endian (raw chunk bytes are then big-endian).
    var bigEndian: Bool
    /// For strings: how the file stores them.
    var strings: StringStorage?
    /// Whether the file's bytes are the packed little/big-endian bytes of `dataType`, so that
    /// raw chunks can be decoded by the Zarr codecs (numbers, h5py's booleans). Compound types
    /// (legacy data frames, complex numbers) and strings are read through the library.
    var rawBytesMatch: Bool
    /// Compound types with variable-length string fields (h5py's rec-arrays with `str`
    /// fields): no fixed-size Zarr type holds them, so the store reads the whole dataset and
    /// presents the strings as fixed-length UTF-32 fields of the longest value's length (numpy's
    /// `U<n>`, what anndata reads them as). `dataType` then has `.string` placeholders.
    var variableStringFields = false

    /// The type of a dataset or attribute (`type` is borrowed, not closed). `key` names the
    /// object in errors.
    static func describe(_ type: hid_t, key: String) throws(ZarrError) -> HDF5ElementType {
        let size = H5Tget_size(type)
        let cls = H5Tget_class(type)
        let bigEndian = H5Tget_order(type) == H5T_ORDER_BE
        switch cls {
        case H5T_INTEGER:
            let signed = H5Tget_sign(type) == H5T_SGN_2
            let t: DataType
            switch (size, signed) {
            case (1, true): t = .int8
            case (2, true): t = .int16
            case (4, true): t = .int32
            case (8, true): t = .int64
            case (1, false): t = .uint8
            case (2, false): t = .uint16
            case (4, false): t = .uint32
            case (8, false): t = .uint64
            default: throw .unsupportedDataType("\(size)-byte HDF5 integers at '\(key)'")
            }
            return HDF5ElementType(dataType: t, bigEndian: bigEndian && size > 1, strings: nil, rawBytesMatch: true)
        case H5T_FLOAT:
            let t: DataType
            switch size {
            case 2: t = .float16
            case 4: t = .float32
            case 8: t = .float64
            default: throw .unsupportedDataType("\(size)-byte HDF5 floats at '\(key)'")
            }
            return HDF5ElementType(dataType: t, bigEndian: bigEndian, strings: nil, rawBytesMatch: true)
        case H5T_ENUM:
            // h5py stores numpy booleans as an enum of int8 {FALSE: 0, TRUE: 1}.
            if isH5pyBool(type) { return HDF5ElementType(dataType: .bool, bigEndian: false, strings: nil, rawBytesMatch: true) }
            let base = H5Tget_super(type)
            guard base >= 0 else { throw HDF5Library.failure("reading an enum's base type", key) }
            defer { H5Tclose(base) }
            return try describe(base, key: key)
        case H5T_STRING:
            if H5Tis_variable_str(type) > 0 {
                return HDF5ElementType(dataType: .string, bigEndian: false, strings: .variable, rawBytesMatch: false)
            }
            let pad = H5Tget_strpad(type)
            if pad != H5T_STR_SPACEPAD && size > 0 {
                // NUL-padded or -terminated byte strings are numpy's `S<n>`: read raw.
                return HDF5ElementType(dataType: .fixedBytes(length: size), bigEndian: false, strings: nil, rawBytesMatch: true)
            }
            return HDF5ElementType(
                dataType: .string, bigEndian: false, strings: .fixed(size: size, spacePadded: pad == H5T_STR_SPACEPAD),
                rawBytesMatch: false)
        case H5T_COMPOUND:
            let n = H5Tget_nmembers(type)
            guard n > 0 else { throw .unsupportedDataType("an HDF5 compound type without members at '\(key)'") }
            var fields: [StructField] = []
            var variableFields = false
            for i in 0..<UInt32(n) {
                guard let cName = H5Tget_member_name(type, i) else { throw HDF5Library.failure("reading a member name", key) }
                let name = String(cString: cName)
                H5free_memory(cName)
                let member = H5Tget_member_type(type, i)
                guard member >= 0 else { throw HDF5Library.failure("reading a member type", key) }
                defer { H5Tclose(member) }
                // Sub-array members (legacy anndata's obsm: one field per embedding, e.g. 50 floats).
                var fieldShape: [Int] = []
                var elementType = member
                var base: hid_t = -1
                defer { if base >= 0 { H5Tclose(base) } }
                if H5Tget_class(member) == H5T_ARRAY {
                    let rank = H5Tget_array_ndims(member)
                    guard rank > 0 && rank <= 32 else { throw HDF5Library.failure("reading an array member's rank", key) }
                    var dims = [hsize_t](repeating: 0, count: Int(rank))
                    H5Tget_array_dims2(member, &dims)
                    fieldShape = dims.map { Int(clamping: $0) }
                    base = H5Tget_super(member)
                    guard base >= 0 else { throw HDF5Library.failure("reading an array member's type", key) }
                    elementType = base
                }
                let m = try describe(elementType, key: key + "." + name)
                if !fieldShape.isEmpty && m.strings != nil {
                    throw .unsupportedDataType("string sub-arrays inside the compound type at '\(key)' (field '\(name)')")
                }
                let fieldType: DataType
                switch m.strings {
                case .variable?:
                    variableFields = true
                    fieldType = .string
                case .fixed(let size, _)?: fieldType = .fixedBytes(length: size)
                case nil: fieldType = m.dataType
                }
                fields.append(StructField(name: name, type: fieldType, shape: fieldShape))
            }
            // h5py writes numpy complex numbers as a compound {r, i} of two floats.
            if fields.count == 2, fields[0].name == "r", fields[1].name == "i", fields[0].type == fields[1].type {
                if fields[0].type == .float32 { return HDF5ElementType(dataType: .complex64, bigEndian: false, strings: nil, rawBytesMatch: false) }
                if fields[0].type == .float64 { return HDF5ElementType(dataType: .complex128, bigEndian: false, strings: nil, rawBytesMatch: false) }
            }
            var t = HDF5ElementType(dataType: .structured(fields), bigEndian: false, strings: nil, rawBytesMatch: false)
            t.variableStringFields = variableFields
            return t
        case H5T_BITFIELD:
            guard size == 1 else { throw .unsupportedDataType("\(size)-byte HDF5 bit fields at '\(key)'") }
            return HDF5ElementType(dataType: .uint8, bigEndian: false, strings: nil, rawBytesMatch: true)
        case H5T_REFERENCE:
            throw .unsupportedDataType("HDF5 object references stored as data at '\(key)'")
        case H5T_VLEN:
            throw .unsupportedDataType("HDF5 variable-length sequences at '\(key)'")
        case H5T_ARRAY:
            throw .unsupportedDataType("HDF5 array types at '\(key)'")
        default:
            throw .unsupportedDataType("HDF5 type class \(cls.rawValue) at '\(key)'")
        }
    }

    /// Whether `type` is h5py's boolean: an enum of a 1-byte integer with members FALSE = 0 and
    /// TRUE = 1.
    static func isH5pyBool(_ type: hid_t) -> Bool {
        guard H5Tget_size(type) == 1, H5Tget_nmembers(type) == 2 else { return false }
        var names: [String] = []
        var values: [Int8] = []
        for i in 0..<UInt32(2) {
            guard let c = H5Tget_member_name(type, i) else { return false }
            names.append(String(cString: c))
            H5free_memory(c)
            var v: Int8 = 0
            guard H5Tget_member_value(type, i, &v) >= 0 else { return false }
            values.append(v)
        }
        // Names from the file (a corrupt one may repeat a name): no dictionary that traps on it.
        return Set(names) == ["FALSE", "TRUE"] && values[names.firstIndex(of: "FALSE") ?? 0] == 0 && values[names.firstIndex(of: "TRUE") ?? 0] == 1
    }

    /// A memory type (to close) that reads the elements as the packed little-endian bytes of
    /// `dataType` (for numbers, booleans, complex numbers and compound types; not strings).
    static func memoryType(for dataType: DataType, key: String) throws(ZarrError) -> hid_t {
        func copy(_ t: hid_t) throws(ZarrError) -> hid_t { try HDF5Library.check(H5Tcopy(t), "copying a type", key) }
        switch dataType {
        case .bool: return try boolType(key: key)
        case .int8: return try copy(swh5_std_i8le())
        case .int16: return try copy(swh5_std_i16le())
        case .int32: return try copy(swh5_std_i32le())
        case .int64: return try copy(swh5_std_i64le())
        case .uint8: return try copy(swh5_std_u8le())
        case .uint16: return try copy(swh5_std_u16le())
        case .uint32: return try copy(swh5_std_u32le())
        case .uint64: return try copy(swh5_std_u64le())
        case .float16:
            let t = try copy(swh5_ieee_f32le())
            // IEEE half: 1 sign, 5 exponent, 10 mantissa bits, bias 15.
            guard H5Tset_fields(t, 15, 10, 5, 0, 10) >= 0, H5Tset_size(t, 2) >= 0, H5Tset_ebias(t, 15) >= 0 else {
                H5Tclose(t)
                throw HDF5Library.failure("making a half-precision type", key)
            }
            return t
        case .float32: return try copy(swh5_ieee_f32le())
        case .float64: return try copy(swh5_ieee_f64le())
        case .complex64, .complex128:
            let part: DataType = dataType == .complex64 ? .float32 : .float64
            return try compound([StructField(name: "r", type: part), StructField(name: "i", type: part)], key: key)
        case .structured(let fields): return try compound(fields, key: key)
        case .fixedBytes(let n):
            let t = try copy(swh5_c_s1())
            guard H5Tset_size(t, n) >= 0, H5Tset_strpad(t, H5T_STR_NULLPAD) >= 0 else {
                H5Tclose(t)
                throw HDF5Library.failure("making a fixed-length string type", key)
            }
            return t
        default:
            throw .unsupportedDataType("\(dataType) in an HDF5 dataset at '\(key)'")
        }
    }

    /// h5py's boolean type: an enum of int8 with FALSE = 0 and TRUE = 1 (to close).
    static func boolType(key: String) throws(ZarrError) -> hid_t {
        let t = try HDF5Library.check(H5Tenum_create(swh5_std_i8le()), "creating the boolean type", key)
        var f: Int8 = 0, tr: Int8 = 1
        guard H5Tenum_insert(t, "FALSE", &f) >= 0, H5Tenum_insert(t, "TRUE", &tr) >= 0 else {
            H5Tclose(t)
            throw HDF5Library.failure("creating the boolean type", key)
        }
        return t
    }

    /// A packed compound type of `fields` (to close).
    static func compound(_ fields: [StructField], key: String) throws(ZarrError) -> hid_t {
        var size = 0
        for f in fields { size += (f.type.itemSize ?? 0) * f.count }
        let t = try HDF5Library.check(H5Tcreate(H5T_COMPOUND, size), "creating a compound type", key)
        var offset = 0
        for f in fields {
            var member: hid_t
            do { member = try memoryType(for: f.type, key: key) } catch { H5Tclose(t); throw error }
            if !f.shape.isEmpty {
                var dims = f.shape.map { hsize_t($0) }
                let array = H5Tarray_create2(member, UInt32(dims.count), &dims)
                H5Tclose(member)
                if array < 0 { H5Tclose(t); throw HDF5Library.failure("making the sub-array type of '\(f.name)'", key) }
                member = array
            }
            let status = H5Tinsert(t, f.name, offset, member)
            H5Tclose(member)
            if status < 0 { H5Tclose(t); throw HDF5Library.failure("adding field '\(f.name)'", key) }
            offset += (f.type.itemSize ?? 0) * f.count
        }
        return t
    }

    /// A variable-length UTF-8 string type (to close), as h5py writes `str`.
    static func variableStringType(key: String) throws(ZarrError) -> hid_t {
        let t = try HDF5Library.check(H5Tcopy(swh5_c_s1()), "copying a type", key)
        guard H5Tset_size(t, swh5_variable()) >= 0, H5Tset_cset(t, H5T_CSET_UTF8) >= 0 else {
            H5Tclose(t)
            throw HDF5Library.failure("making a string type", key)
        }
        return t
    }

    /// Trims a fixed-length string's padding (trailing NULs, or trailing spaces when
    /// space-padded; a NUL ends the string in any case, as h5py reads it).
    static func trimFixed(_ bytes: UnsafeRawBufferPointer, spacePadded: Bool) -> [UInt8] {
        var end = bytes.firstIndex(of: 0) ?? bytes.count
        if spacePadded { while end > 0 && bytes[end - 1] == 0x20 { end -= 1 } }
        return Array(bytes[0..<end])
    }
}
