// Planted bugs for the oclgrind suite's own check: it runs this program under
// tests/oclgrind_check.py --expect ..., which passes only if Oclgrind reports
// each bug below. It proves that the suite's set-up (its options, its log
// scan) catches what it is there to catch; a suite that stayed silent here
// would pass every real test whatever the kernels did.
//
// The bugs: two work-items adding into one float without atomics (a data
// race), a read one past the end of a buffer, and a launch with a work-group
// larger than the kernel allows (the error a GPU gives where a CPU driver's
// larger limit forgives it), whose error is deliberately not acted on here so
// that the run goes on.
#include "runtime/cl_device.h"
#include "test_util.h"
#include "util/util.h"

static const char *source =
    "__kernel void racy_sum(__global float *out, __global const float *in) {\n"
    "    out[0] += in[get_global_id(0)];  // every work-item, unsynchronised\n"
    "}\n"
    "__kernel void read_past_end(__global float *out, __global const float *in) {\n"
    "    const size_t i = get_global_id(0);\n"
    "    out[i] = in[i + 1];  // the last work-item reads one past the end\n"
    "}\n";

int main(void) {
    Device dev;
    open_test_device(&dev, 0);
    enum { N = 64 };
    float host[N];
    for (int i = 0; i < N; i++) host[i] = (float)i;
    cl_mem in = test_alloc(&dev, sizeof host, "in"), out = test_alloc(&dev, sizeof host, "out");
    device_write(&dev, in, 0, sizeof host, host);
    cl_program prog;
    cl_kernel racy, past;
    MUST(device_build_program(&dev, "oclgrind_plant", source, "", &prog));
    MUST(device_kernel(prog, "racy_sum", &racy));
    MUST(device_kernel(prog, "read_past_end", &past));
    const size_t sizes[2] = {2, N};  // two racing work-items are enough (and keep the report short)
    cl_kernel ks[2] = {racy, past};
    for (int k = 0; k < 2; k++) {
        CL_CHECK(clSetKernelArg(ks[k], 0, sizeof out, &out));
        CL_CHECK(clSetKernelArg(ks[k], 1, sizeof in, &in));
        CL_CHECK(clEnqueueNDRangeKernel(dev.queue, ks[k], 1, NULL, &sizes[k], &sizes[k], 0, NULL, NULL));
    }
    CL_CHECK(clFinish(dev.queue));

    size_t too_many = 0;
    CL_CHECK(clGetKernelWorkGroupInfo(past, dev.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof too_many, &too_many, NULL));
    too_many *= 2;
    cl_int err = clEnqueueNDRangeKernel(dev.queue, past, 1, NULL, &too_many, &too_many, 0, NULL, NULL);
    printf("work-group of %zu items: %s\n", too_many, cl_error_name(err));

    CL_CHECK(clReleaseKernel(racy));
    CL_CHECK(clReleaseKernel(past));
    CL_CHECK(clReleaseProgram(prog));
    CL_CHECK(clReleaseMemObject(in));
    CL_CHECK(clReleaseMemObject(out));
    MUST(device_status(&dev));
    device_close(&dev);
    return 0;
}
