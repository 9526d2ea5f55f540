// The device's measured FP32 peak, the denominator of model FLOP utilisation (MFU).
#pragma once
#include "runtime/cl_device.h"

// FLOP/s of fused multiply-adds on registers (cl/peak.cl), the best of three
// runs of about 0.1 s each (so a busy machine reads low rather than high).
Status peak_measure_flops(const Device *dev, double *flops);
