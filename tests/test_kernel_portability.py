"""The kernels in cl/ use only what every OpenCL 1.2 GPU has: no half or
double types and no optional extensions (cl_khr_fp16, cl_khr_fp64, ...).
NVIDIA's OpenCL offers no cl_khr_fp16 and Intel's Arc GPUs no fp64, while
POCL and Oclgrind offer fp64 (a kernel using double would pass every test
here) and a driver may add fp16. vload_half / vstore_half are core OpenCL
and allowed. Comments are ignored. Standard library only."""
import glob
import os
import re
import sys

from harness import ROOT, report, summary

COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
FORBIDDEN = re.compile(r"\b(half\d*|double\d*|cl_khr_\w+)\b|#\s*pragma\s+OPENCL\s+EXTENSION")


def main():
    files = sorted(glob.glob(os.path.join(ROOT, "cl", "*.cl")))
    report(len(files) > 0, "kernel sources found", "%d files in cl/" % len(files))
    for path in files:
        code = COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), open(path).read())
        hits = ["line %d: %s" % (code.count("\n", 0, m.start()) + 1, m.group(0)) for m in FORBIDDEN.finditer(code)]
        report(not hits, os.path.basename(path), "; ".join(hits) if hits else "core OpenCL 1.2 only")
    return summary("kernel_portability")


if __name__ == "__main__":
    sys.exit(main())
