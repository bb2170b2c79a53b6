#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/* Fills n floats on the device with value; returns a cudaError_t as int. */
int kiln_cuda_fill (float *device_data, long n, float value);

#ifdef __cplusplus
}
#endif
