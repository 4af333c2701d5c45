#if canImport(Glibc)
import Glibc
#endif
import CHDF5
import CLZF

/// h5py's LZF filter (id 32000), registered with libhdf5 so that datasets written by h5py with
/// `compression="lzf"` read through the library too, and datasets we create with it are what
/// h5py writes. The framing is h5py's: a bare LZF stream per chunk; `cd_values[2]` holds the
/// chunk's byte size (the decompression buffer); the filter is optional, so a chunk LZF cannot
/// shrink is stored as is, with its filter-mask bit set.
enum LZFFilter {
    /// h5py's registered filter id.
    static let id: H5Z_filter_t = 32000
    /// h5py's LZF filter version, written in `cd_values[0]`.
    static let h5pyVersion: UInt32 = 4
    /// The LZF format version, written in `cd_values[1]` (liblzf's `LZF_VERSION`).
    static let lzfVersion: UInt32 = 0x0105

    /// The filter callback: compresses (or, with `H5Z_FLAG_REVERSE`, decompresses) `*buf`,
    /// replacing it with a `malloc`ed buffer. Returns the new byte count, 0 on failure.
    static let callback: H5Z_func_t = { flags, cdCount, cdValues, nbytes, bufSize, buf in
        guard let buf, let bufSize, let input = buf.pointee else { return 0 }
        if flags & UInt32(H5Z_FLAG_REVERSE) == 0 {
            let capacity = bufSize.pointee
            guard let out = malloc(capacity) else { return 0 }
            let n = lzf_compress(input, UInt32(nbytes), out, UInt32(capacity))
            if n == 0 { free(out); return 0 }
            free(input)
            buf.pointee = out
            bufSize.pointee = capacity
            return Int(n)
        }
        var capacity = (cdCount >= 3 && cdValues != nil && cdValues![2] != 0) ? Int(cdValues![2]) : bufSize.pointee
        // Grow as h5py does when the guess is short, bounded: LZF expands at most ~ 100x per
        // byte of input in its best case, far below 4 GiB for any chunk HDF5 allows.
        let bound = max(capacity, nbytes) * 256
        while capacity <= bound {
            guard let out = malloc(max(capacity, 1)) else { return 0 }
            let n = lzf_decompress(input, UInt32(nbytes), out, UInt32(capacity))
            if n > 0 {
                free(input)
                buf.pointee = out
                bufSize.pointee = capacity
                return Int(n)
            }
            free(out)
            if errno != E2BIG { return 0 }
            capacity += max(bufSize.pointee, 1)
        }
        return 0
    }

    /// Fills `cd_values` as h5py's `lzf_set_local` does: versions, then the chunk's byte size.
    static let setLocal: H5Z_set_local_func_t = { dcpl, type, _ in
        var flags: UInt32 = 0
        var count = 8
        var values = [UInt32](repeating: 0, count: 8)
        if H5Pget_filter_by_id2(dcpl, LZFFilter.id, &flags, &count, &values, 0, nil, nil) < 0 { return -1 }
        count = max(count, 3)
        if values[0] == 0 { values[0] = LZFFilter.h5pyVersion }
        if values[1] == 0 { values[1] = LZFFilter.lzfVersion }
        var dims = [hsize_t](repeating: 0, count: 32)
        let rank = H5Pget_chunk(dcpl, 32, &dims)
        if rank < 0 { return -1 }
        var size = UInt64(H5Tget_size(type))
        for d in dims.prefix(Int(rank)) { size &*= d }
        values[2] = UInt32(truncatingIfNeeded: size)
        return H5Pmodify_filter(dcpl, LZFFilter.id, flags, count, values)
    }

    /// Registers the filter (on the executor's thread, once).
    static func register() {
        var cls = H5Z_class2_t()
        cls.version = Int32(H5Z_CLASS_T_VERS)
        cls.id = id
        cls.encoder_present = 1
        cls.decoder_present = 1
        cls.can_apply = nil
        cls.set_local = setLocal
        cls.filter = callback
        // The library keeps the name pointer: a copy that lives as long as the process.
        cls.name = UnsafePointer(strdup("lzf"))
        _ = H5Zregister(&cls)
    }
}
