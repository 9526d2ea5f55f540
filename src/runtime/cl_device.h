// The OpenCL device layer: finding platforms and devices, one context and
// in-order queue, building programs, and turning every OpenCL or CLBlast error
// into a message that names the call, the error, the file and the line.
#pragma once
#include <CL/cl.h>
#include <clblast_c.h>
#include <stddef.h>
#include <stdio.h>

#include "util/status.h"

const char *cl_error_name(cl_int err);
const char *clblast_error_name(CLBlastStatusCode status);

// Launchers return void and run asynchronously, so a failed call is sticky
// rather than returned: CL_CHECK(clFoo(...)) records the first failure on this
// thread ("OpenCL call clFoo(...) failed: CL_OUT_OF_RESOURCES (-5) at
// file:line") and carries on; device_status reports it where a unit of work
// (a step, a validation, a sample, a timing) ends.
#define CL_CHECK(call) cl_check_status((call), #call, __FILE__, __LINE__)
#define CLBLAST_CHECK(call) clblast_check_status((call), #call, __FILE__, __LINE__)
void cl_check_status(cl_int err, const char *call, const char *file, int line);
void clblast_check_status(CLBlastStatusCode status, const char *call, const char *file, int line);
// For calls that return an object and report errors through an out-parameter.
#define CL_CHECK_ERR(err, what) cl_check_status((err), (what), __FILE__, __LINE__)

typedef struct {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    int index;                 // position in `gpt2cl devices`
    char name[256];
    char vendor[256];
    char platform_name[256];
    char driver_version[128];
    char cl_version[128];
    cl_device_type type;
    cl_ulong global_mem;
    cl_ulong max_alloc;
    size_t max_wg;
    cl_ulong local_mem;        // CL_DEVICE_LOCAL_MEM_SIZE: bytes of __local memory a work-group may use
    cl_uint base_align_bytes;  // sub-buffer origins must be multiples of this
    cl_uint native_vw;         // CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT: SIMD width (16 for AVX-512 through POCL)
    int profiling;             // queue created with CL_QUEUE_PROFILING_ENABLE
} Device;

// STATUS_DEVICE with the message of the first failed OpenCL or CLBlast call on
// this thread (CL_CHECK), else STATUS_OK. The failure stays recorded until
// device_close.
Status device_status(const Device *dev);
// Records s (with status_message()) as the sticky failure: for a launcher
// whose own helper returned a Status (a scratch allocation).
void device_keep_failure(Status s);

// Lists every platform/device as a table on out.
Status devices_print(FILE *out);
// Selects a device: "" or NULL = first GPU, else first device; a number = that
// index in `gpt2cl devices`; anything else = first device whose name, vendor or
// platform contains it (case-insensitive). Fails with a clear message if none.
Status device_open(Device *dev, const char *selector, int profiling);
void device_close(Device *dev);
const char *device_type_name(cl_device_type type);

// Builds a program from source into *prog; on failure prints the build log and fails.
Status device_build_program(const Device *dev, const char *name, const char *source, const char *options,
                            cl_program *prog);
Status device_kernel(cl_program program, const char *name, cl_kernel *kernel);
// A buffer of bytes for what into *buf; fails when the device cannot hold it.
Status device_alloc(const Device *dev, size_t bytes, const char *what, cl_mem *buf);
// A sub-buffer of parent at byte offset, which must be a multiple of
// dev->base_align_bytes (a layout that is not is an internal error).
cl_mem device_sub_buffer(const Device *dev, cl_mem parent, size_t offset, size_t bytes);
void device_write(const Device *dev, cl_mem buf, size_t offset, size_t bytes, const void *src);
// dst is zero-filled when the read fails (the failure is sticky, see CL_CHECK).
void device_read(const Device *dev, cl_mem buf, size_t offset, size_t bytes, void *dst);
void device_zero(const Device *dev, cl_mem buf, size_t offset, size_t bytes);
// Waits until everything queued has run (a failure is sticky, as for the launches).
void device_finish(const Device *dev);
