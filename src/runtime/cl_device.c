#include "runtime/cl_device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/program_cache.h"
#include "util/comm.h"
#include "util/util.h"

const char *cl_error_name(cl_int err) {
    switch (err) {
#define E(x) case x: return #x;
        E(CL_SUCCESS) E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE) E(CL_COMPILER_NOT_AVAILABLE)
        E(CL_MEM_OBJECT_ALLOCATION_FAILURE) E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
        E(CL_PROFILING_INFO_NOT_AVAILABLE) E(CL_MEM_COPY_OVERLAP) E(CL_IMAGE_FORMAT_MISMATCH)
        E(CL_IMAGE_FORMAT_NOT_SUPPORTED) E(CL_BUILD_PROGRAM_FAILURE) E(CL_MAP_FAILURE)
        E(CL_MISALIGNED_SUB_BUFFER_OFFSET) E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        E(CL_COMPILE_PROGRAM_FAILURE) E(CL_LINKER_NOT_AVAILABLE) E(CL_LINK_PROGRAM_FAILURE)
        E(CL_DEVICE_PARTITION_FAILED) E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) E(CL_INVALID_VALUE)
        E(CL_INVALID_DEVICE_TYPE) E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE) E(CL_INVALID_CONTEXT)
        E(CL_INVALID_QUEUE_PROPERTIES) E(CL_INVALID_COMMAND_QUEUE) E(CL_INVALID_HOST_PTR)
        E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) E(CL_INVALID_IMAGE_SIZE)
        E(CL_INVALID_SAMPLER) E(CL_INVALID_BINARY) E(CL_INVALID_BUILD_OPTIONS) E(CL_INVALID_PROGRAM)
        E(CL_INVALID_PROGRAM_EXECUTABLE) E(CL_INVALID_KERNEL_NAME) E(CL_INVALID_KERNEL_DEFINITION)
        E(CL_INVALID_KERNEL) E(CL_INVALID_ARG_INDEX) E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE)
        E(CL_INVALID_KERNEL_ARGS) E(CL_INVALID_WORK_DIMENSION) E(CL_INVALID_WORK_GROUP_SIZE)
        E(CL_INVALID_WORK_ITEM_SIZE) E(CL_INVALID_GLOBAL_OFFSET) E(CL_INVALID_EVENT_WAIT_LIST)
        E(CL_INVALID_EVENT) E(CL_INVALID_OPERATION) E(CL_INVALID_GL_OBJECT) E(CL_INVALID_BUFFER_SIZE)
        E(CL_INVALID_MIP_LEVEL) E(CL_INVALID_GLOBAL_WORK_SIZE) E(CL_INVALID_PROPERTY)
        E(CL_INVALID_IMAGE_DESCRIPTOR) E(CL_INVALID_COMPILER_OPTIONS) E(CL_INVALID_LINKER_OPTIONS)
        E(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef E
        case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
        default: return "unknown OpenCL error";
    }
}

const char *clblast_error_name(CLBlastStatusCode s) {
    switch (s) {
#define E(x) case x: return #x;
        E(CLBlastSuccess) E(CLBlastOpenCLCompilerNotAvailable) E(CLBlastTempBufferAllocFailure)
        E(CLBlastOpenCLOutOfResources) E(CLBlastOpenCLOutOfHostMemory) E(CLBlastOpenCLBuildProgramFailure)
        E(CLBlastInvalidValue) E(CLBlastInvalidCommandQueue) E(CLBlastInvalidMemObject)
        E(CLBlastInvalidBinary) E(CLBlastInvalidBuildOptions) E(CLBlastInvalidProgram)
        E(CLBlastInvalidProgramExecutable) E(CLBlastInvalidKernelName) E(CLBlastInvalidKernelDefinition)
        E(CLBlastInvalidKernel) E(CLBlastInvalidArgIndex) E(CLBlastInvalidArgValue) E(CLBlastInvalidArgSize)
        E(CLBlastInvalidKernelArgs) E(CLBlastInvalidLocalNumDimensions) E(CLBlastInvalidLocalThreadsTotal)
        E(CLBlastInvalidLocalThreadsDim) E(CLBlastInvalidGlobalOffset) E(CLBlastInvalidEventWaitList)
        E(CLBlastInvalidEvent) E(CLBlastInvalidOperation) E(CLBlastInvalidBufferSize)
        E(CLBlastInvalidGlobalWorkSize) E(CLBlastNotImplemented) E(CLBlastInvalidMatrixA)
        E(CLBlastInvalidMatrixB) E(CLBlastInvalidMatrixC) E(CLBlastInvalidVectorX) E(CLBlastInvalidVectorY)
        E(CLBlastInvalidDimension) E(CLBlastInvalidLeadDimA) E(CLBlastInvalidLeadDimB)
        E(CLBlastInvalidLeadDimC) E(CLBlastInvalidIncrementX) E(CLBlastInvalidIncrementY)
        E(CLBlastInsufficientMemoryA) E(CLBlastInsufficientMemoryB) E(CLBlastInsufficientMemoryC)
        E(CLBlastInsufficientMemoryX) E(CLBlastInsufficientMemoryY) E(CLBlastInsufficientMemoryTemp)
        E(CLBlastInvalidBatchCount) E(CLBlastInvalidOverrideKernel) E(CLBlastMissingOverrideParameter)
        E(CLBlastInvalidLocalMemUsage) E(CLBlastNoHalfPrecision) E(CLBlastNoDoublePrecision)
        E(CLBlastInvalidVectorScalar) E(CLBlastInsufficientMemoryScalar) E(CLBlastDatabaseError)
        E(CLBlastUnknownError) E(CLBlastUnexpectedError)
#undef E
        default: return "unknown CLBlast status";
    }
}

// The first failed call on this thread: later ones are usually its consequences.
static _Thread_local int sticky_failed;
static _Thread_local char sticky_message[1024];

void cl_check_status(cl_int err, const char *call, const char *file, int line) {
    if (err == CL_SUCCESS || sticky_failed) return;
    sticky_failed = 1;
    snprintf(sticky_message, sizeof sticky_message, "OpenCL call %s failed: %s (%d) at %s:%d", call,
             cl_error_name(err), (int)err, file, line);
}

void clblast_check_status(CLBlastStatusCode s, const char *call, const char *file, int line) {
    if (s == CLBlastSuccess || sticky_failed) return;
    sticky_failed = 1;
    snprintf(sticky_message, sizeof sticky_message, "CLBlast call %s failed: %s (%d) at %s:%d", call,
             clblast_error_name(s), (int)s, file, line);
}

void device_keep_failure(Status s) {
    if (!s || sticky_failed) return;
    sticky_failed = 1;
    snprintf(sticky_message, sizeof sticky_message, "%s", status_message());
}

Status device_status(const Device *dev) {
    (void)dev;
    return sticky_failed ? fail(STATUS_DEVICE, "%s", sticky_message) : STATUS_OK;
}

const char *device_type_name(cl_device_type t) {
    if (t & CL_DEVICE_TYPE_GPU) return "GPU";
    if (t & CL_DEVICE_TYPE_CPU) return "CPU";
    if (t & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
    return "other";
}

// Every device of every platform, in a stable order: platform order, then device order.
typedef struct {
    cl_platform_id platform;
    cl_device_id device;
} DeviceRef;

static Status list_devices(DeviceRef **out, int *count) {
    cl_uint nplat = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &nplat);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && nplat == 0))
        return fail(STATUS_DEVICE,
                    "no OpenCL platform found: install an OpenCL driver (ICD), e.g. `apt-get install "
                    "pocl-opencl-icd` for the CPU; `clinfo -l` lists what the ICD loader sees");
    CL_CHECK_ERR(err, "clGetPlatformIDs");
    TRY(device_status(NULL));
    cl_platform_id *plats = mallocCheck(nplat * sizeof *plats);
    CL_CHECK(clGetPlatformIDs(nplat, plats, NULL));
    int n = 0;
    DeviceRef *refs = NULL;
    for (cl_uint p = 0; p < nplat; p++) {
        cl_uint ndev = 0;
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &ndev);
        if (err == CL_DEVICE_NOT_FOUND || ndev == 0) continue;
        CL_CHECK_ERR(err, "clGetDeviceIDs");
        cl_device_id *devs = mallocCheck(ndev * sizeof *devs);
        CL_CHECK(clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, ndev, devs, NULL));
        DeviceRef *grown = realloc(refs, (size_t)(n + (int)ndev) * sizeof *refs);
        if (!grown) out_of_memory("listing devices");
        refs = grown;
        for (cl_uint d = 0; d < ndev; d++) refs[n++] = (DeviceRef){plats[p], devs[d]};
        free(devs);
    }
    free(plats);
    Status s = device_status(NULL);
    if (!s && n == 0)
        s = fail(STATUS_DEVICE, "OpenCL platforms found but no devices on them; `clinfo` shows what the drivers report");
    if (s) {
        free(refs);
        return s;
    }
    *out = refs;
    *count = n;
    return STATUS_OK;
}

static void fill_info(Device *d) {
    CL_CHECK(clGetDeviceInfo(d->device, CL_DEVICE_NAME, sizeof d->name, d->name, NULL));
    CL_CHECK(clGetDeviceInfo(d->device, CL_DEVICE_VENDOR, sizeof d->vendor, d->vendor, NULL));
    CL_CHECK(clGetDeviceInfo(d->device, CL_DRIVER_VERSION, sizeof d->driver_version, d->driver_version, NULL));
    CL_CHECK(clGetDeviceInfo(d->device, CL_DEVICE_VERSION, sizeof d->cl_version, d->cl_version, NULL));
    CL_CHECK(clGetPlatformInfo(d->platform, CL_PLATFORM_NAME, sizeof d->platform_name, d->platform_name, NULL));
    CL_CHECK(clGetDeviceInfo(d->device, CL_DEVICE_TYPE, sizeof d->type, &d->type, NULL));
    CL_CHECK(clGetDeviceInfo(d->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof d->global_mem, &d->global_mem, NULL));
    CL_CHECK(clGetDeviceInfo(d->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof d->max_alloc, &d->max_alloc, NULL));
    CL_CHECK(clGetDeviceInfo(d->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof d->max_wg, &d->max_wg, NULL));
    CL_CHECK(clGetDeviceInfo(d->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof d->local_mem, &d->local_mem, NULL));
    cl_uint align_bits = 0;
    CL_CHECK(clGetDeviceInfo(d->device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits, NULL));
    d->base_align_bytes = align_bits / 8 < 64 ? 64 : align_bits / 8;
    CL_CHECK(clGetDeviceInfo(d->device, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof d->native_vw, &d->native_vw,
                             NULL));
}

static int has_extension(cl_device_id dev, const char *ext) {
    size_t n = 0;
    CL_CHECK(clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, 0, NULL, &n));
    char *s = mallocCheck(n + 1);
    CL_CHECK(clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, n, s, NULL));
    s[n] = '\0';
    int found = strstr(s, ext) != NULL;
    free(s);
    return found;
}

Status devices_print(FILE *out) {
    DeviceRef *refs;
    int n;
    TRY(list_devices(&refs, &n));
    fprintf(out, "%-3s %-28s %-44s %-5s %10s %6s %4s %4s  %s\n", "#", "vendor", "name", "type", "memory", "max-wg",
            "fp16", "fp64", "platform / driver");
    for (int i = 0; i < n; i++) {
        Device d = {.platform = refs[i].platform, .device = refs[i].device};
        fill_info(&d);
        char mem[32];
        fprintf(out, "%-3d %-28.28s %-44.44s %-5s %10s %6zu %4s %4s  %s / %s\n", i, d.vendor, d.name,
                device_type_name(d.type), format_bytes((double)d.global_mem, mem, sizeof mem), d.max_wg,
                has_extension(d.device, "cl_khr_fp16") ? "yes" : "no",
                has_extension(d.device, "cl_khr_fp64") ? "yes" : "no", d.platform_name, d.driver_version);
    }
    free(refs);
    return device_status(NULL);
}

// The index in refs that selector picks (see device_open).
// The local_rank-th GPU (round robin), else device 0: ranks of one node spread over its GPUs.
static int default_device(const DeviceRef *refs, int n) {
    int gpus[64], num_gpus = 0;
    for (int i = 0; i < n && num_gpus < 64; i++) {
        cl_device_type t;
        CL_CHECK(clGetDeviceInfo(refs[i].device, CL_DEVICE_TYPE, sizeof t, &t, NULL));
        if (t & CL_DEVICE_TYPE_GPU) gpus[num_gpus++] = i;
    }
    return num_gpus ? gpus[comm_local_rank() % num_gpus] : 0;
}

// One selector of a list "SEL,SEL,...": the local_rank-th (round robin), so each rank of a node takes its own.
static void rank_selector(const char *list, char *out, size_t n) {
    int count = 1;
    for (const char *p = list; *p; p++) count += *p == ',';
    int want = comm_local_rank() % count;
    const char *start = list;
    for (int k = 0; k < want; k++) start = strchr(start, ',') + 1;
    size_t len = strcspn(start, ",");
    snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), start);
}

static Status pick_device(const DeviceRef *refs, int n, const char *selector_list, int *picked) {
    char selector[256] = "";
    if (selector_list) rank_selector(selector_list, selector, sizeof selector);
    int pick = -1;
    if (!*selector) {
        pick = default_device(refs, n);
    } else {
        char *end;
        long idx = strtol(selector, &end, 10);
        if (*end == '\0') {
            if (idx < 0 || idx >= n)
                return fail(STATUS_INPUT,
                            "device %ld does not exist: there are %d device(s), 0..%d (see `gpt2cl devices`)", idx, n,
                            n - 1);
            pick = (int)idx;
        } else {
            for (int i = 0; i < n && pick < 0; i++) {
                Device d = {.platform = refs[i].platform, .device = refs[i].device};
                fill_info(&d);
                if (str_contains_ci(d.name, selector) || str_contains_ci(d.vendor, selector) ||
                    str_contains_ci(d.platform_name, selector))
                    pick = i;
            }
            if (pick < 0) return fail(STATUS_INPUT, "no OpenCL device matches '%s' (see `gpt2cl devices`)", selector);
        }
    }
    *picked = pick;
    return device_status(NULL);
}

Status device_open(Device *dev, const char *selector, int profiling) {
    memset(dev, 0, sizeof *dev);
    DeviceRef *refs;
    int n, pick;
    TRY(list_devices(&refs, &n));
    Status s = pick_device(refs, n, selector, &pick);
    if (s) {
        free(refs);
        return s;
    }
    dev->platform = refs[pick].platform;
    dev->device = refs[pick].device;
    dev->index = pick;
    free(refs);
    fill_info(dev);
    cl_int err;
    dev->context = clCreateContext(NULL, 1, &dev->device, NULL, NULL, &err);
    CL_CHECK_ERR(err, "clCreateContext");
    dev->profiling = profiling;
    dev->queue = clCreateCommandQueue(dev->context, dev->device, profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    CL_CHECK_ERR(err, "clCreateCommandQueue");
    s = device_status(dev);
    if (s) device_close(dev);
    return s;
}

void device_finish(const Device *dev) { CL_CHECK(clFinish(dev->queue)); }

void device_close(Device *dev) {
    if (dev->queue) {
        CL_CHECK(clFinish(dev->queue));
        CL_CHECK(clReleaseCommandQueue(dev->queue));
    }
    if (dev->context) CL_CHECK(clReleaseContext(dev->context));
    memset(dev, 0, sizeof *dev);
    sticky_failed = 0;  // the failures of a closed device are over: a next run (a sweep's) starts clean
}

Status device_build_program(const Device *dev, const char *name, const char *source, const char *options,
                            cl_program *out) {
    *out = program_cache_load(dev, source, options);
    if (*out) return STATUS_OK;
    cl_int err;
    cl_program prog = clCreateProgramWithSource(dev->context, 1, &source, NULL, &err);
    CL_CHECK_ERR(err, "clCreateProgramWithSource");
    TRY(device_status(dev));
    err = clBuildProgram(prog, 1, &dev->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        size_t n = 0;
        clGetProgramBuildInfo(prog, dev->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
        char *log = mallocCheck(n + 1);
        clGetProgramBuildInfo(prog, dev->device, CL_PROGRAM_BUILD_LOG, n, log, NULL);
        log[n] = '\0';
        fprintf(stderr, "--- build log of %s on %s (options: %s) ---\n%s\n--- end of build log ---\n", name,
                dev->name, options ? options : "", log);
        free(log);
        clReleaseProgram(prog);
        return fail(STATUS_DEVICE,
                    "building OpenCL program %s for %s (%s, driver %s) failed: %s (%d); the build log is above", name,
                    dev->name, dev->platform_name, dev->driver_version, cl_error_name(err), (int)err);
    }
    program_cache_store(dev, prog, source, options);
    *out = prog;
    return STATUS_OK;
}

Status device_kernel(cl_program program, const char *name, cl_kernel *kernel) {
    cl_int err;
    *kernel = clCreateKernel(program, name, &err);
    if (err != CL_SUCCESS)
        return fail(STATUS_DEVICE, "cannot create kernel '%s': %s (%d)", name, cl_error_name(err), (int)err);
    return STATUS_OK;
}

Status device_alloc(const Device *dev, size_t bytes, const char *what, cl_mem *buf) {
    cl_int err;
    *buf = NULL;
    if (bytes > dev->max_alloc) {
        char a[32], b[32];
        return fail(STATUS_DEVICE, "%s needs one buffer of %s but %s allows at most %s per buffer", what,
                    format_bytes((double)bytes, a, sizeof a), dev->name,
                    format_bytes((double)dev->max_alloc, b, sizeof b));
    }
    cl_mem m = clCreateBuffer(dev->context, CL_MEM_READ_WRITE, bytes ? bytes : 4, NULL, &err);
    if (err != CL_SUCCESS) {
        char a[32];
        return fail(STATUS_DEVICE, "allocating %s for %s on %s failed: %s (%d)",
                    format_bytes((double)bytes, a, sizeof a), what, dev->name, cl_error_name(err), (int)err);
    }
    *buf = m;
    return STATUS_OK;
}

cl_mem device_sub_buffer(const Device *dev, cl_mem parent, size_t offset, size_t bytes) {
    // Checked against base_align_bytes (at least 64) rather than left to the driver, so a layout that
    // would fail with CL_MISALIGNED_SUB_BUFFER_OFFSET on a GPU fails on every device.
    if (offset % dev->base_align_bytes)
        internal_error("sub-buffer at byte %zu is not aligned to %u bytes, as %s requires", offset, dev->base_align_bytes,
            dev->name);
    cl_buffer_region region = {offset, bytes ? bytes : 4};
    cl_int err;
    cl_mem m = clCreateSubBuffer(parent, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
    CL_CHECK_ERR(err, "clCreateSubBuffer");
    return m;
}

void device_write(const Device *dev, cl_mem buf, size_t offset, size_t bytes, const void *src) {
    if (bytes) CL_CHECK(clEnqueueWriteBuffer(dev->queue, buf, CL_TRUE, offset, bytes, src, 0, NULL, NULL));
}

void device_read(const Device *dev, cl_mem buf, size_t offset, size_t bytes, void *dst) {
    if (!bytes) return;
    cl_int err = clEnqueueReadBuffer(dev->queue, buf, CL_TRUE, offset, bytes, dst, 0, NULL, NULL);
    if (err != CL_SUCCESS) memset(dst, 0, bytes);  // callers read dst before they check device_status
    CL_CHECK_ERR(err, "clEnqueueReadBuffer");
}

void device_zero(const Device *dev, cl_mem buf, size_t offset, size_t bytes) {
    const float zero = 0.0f;
    if (bytes) CL_CHECK(clEnqueueFillBuffer(dev->queue, buf, &zero, sizeof zero, offset, bytes, 0, NULL, NULL));
}
