// The parts of libhdf5's API that are macros (type and property-list ids, file-access flags,
// sentinels) as functions Swift can call, and the error stack as one message.
#include <hdf5.h>
#include <string.h>

static inline hid_t swh5_native_int8(void) { return H5T_NATIVE_INT8; }
static inline hid_t swh5_native_int16(void) { return H5T_NATIVE_INT16; }
static inline hid_t swh5_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t swh5_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t swh5_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t swh5_native_uint16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t swh5_native_uint32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t swh5_native_uint64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t swh5_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t swh5_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t swh5_std_i8le(void) { return H5T_STD_I8LE; }
static inline hid_t swh5_std_i16le(void) { return H5T_STD_I16LE; }
static inline hid_t swh5_std_i32le(void) { return H5T_STD_I32LE; }
static inline hid_t swh5_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t swh5_std_u8le(void) { return H5T_STD_U8LE; }
static inline hid_t swh5_std_u16le(void) { return H5T_STD_U16LE; }
static inline hid_t swh5_std_u32le(void) { return H5T_STD_U32LE; }
static inline hid_t swh5_std_u64le(void) { return H5T_STD_U64LE; }
static inline hid_t swh5_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t swh5_ieee_f64le(void) { return H5T_IEEE_F64LE; }
static inline hid_t swh5_c_s1(void) { return H5T_C_S1; }
static inline hid_t swh5_std_ref_obj(void) { return H5T_STD_REF_OBJ; }

static inline hid_t swh5_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t swh5_dataset_access(void) { return H5P_DATASET_ACCESS; }
static inline hid_t swh5_dataset_xfer(void) { return H5P_DATASET_XFER; }
static inline hid_t swh5_link_create(void) { return H5P_LINK_CREATE; }
static inline hid_t swh5_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t swh5_file_create(void) { return H5P_FILE_CREATE; }
static inline hid_t swh5_group_create(void) { return H5P_GROUP_CREATE; }

static inline unsigned swh5_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned swh5_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline unsigned swh5_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned swh5_acc_excl(void) { return H5F_ACC_EXCL; }
static inline haddr_t swh5_haddr_undef(void) { return HADDR_UNDEF; }
static inline hsize_t swh5_unlimited(void) { return H5S_UNLIMITED; }
static inline hid_t swh5_all(void) { return H5S_ALL; }
static inline hid_t swh5_default(void) { return H5P_DEFAULT; }
static inline size_t swh5_variable(void) { return H5T_VARIABLE; }

/// Turns off the library's printing of errors to stderr (errors are read with swh5_last_error).
static inline void swh5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static herr_t swh5_walk_error(unsigned n, const H5E_error2_t *e, void *data) {
    char *out = (char *)data;
    size_t used = strlen(out);
    if (!e->desc || !e->desc[0] || used >= 1000) return 0;
    if (used > 0) { strncat(out, ": ", 1023 - used); used = strlen(out); }
    strncat(out, e->desc, 1023 - used);
    return 0;
}

/// The messages of the current error stack, from the API call down to where the failure was
/// found, joined by ": " into `out` (1024 bytes); then clears the stack.
static inline void swh5_last_error(char *out) {
    out[0] = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, swh5_walk_error, out);
    H5Eclear2(H5E_DEFAULT);
}

/// Clears the error stack (after a failure that was expected and handled).
static inline void swh5_clear_errors(void) { H5Eclear2(H5E_DEFAULT); }
