/* kiln-run-device.h: the device a run trains on, and whether it fits.
 *
 * When a run names no device, the default is $KILN_DEVICE, else the
 * Preferences' "device" key (org.kiln.Kiln, when its schema is installed),
 * else "auto". Before a run starts (before its folder exists, for a new
 * one) the device is resolved once — "auto" becomes "cpu" or "cuda:0" —
 * and the net's memory estimate at the run's batch and optimizer is checked
 * against the device's free memory; the trainer then uses that device.
 *
 * Threads: blocking; call from a worker (the prepare functions do). */
#pragma once

#include "kiln-net-memory.h"
#include "kiln-netspec.h"
#include "kiln-trainer-options.h"

G_BEGIN_DECLS

/* The device name to use when none is given; *@source (optional) says
 * where it came from: "KILN_DEVICE", "Preferences" or "default". */
char        *kiln_run_device_get_default (const char **source);

/* Resolves @requested (NULL: the default) and checks that @spec trained at
 * @options' batch size with its optimizer fits the device's free memory.
 * Returns the device's name ("cpu", "cuda:0"); *@reason gets one line on
 * why this device ("cuda:0 (NVIDIA H100 …), as asked", and that the size
 * was not checked when the device cannot tell its free memory); @memory
 * (optional) the estimate. Errors: a device that cannot be used (with its
 * reason), or KILN_ERROR_NO_SPACE naming what the run needs, what is free
 * and the largest batch that fits. */
char        *kiln_run_device_check       (const char                *requested,
                                          KilnNetSpec               *spec,
                                          const KilnTrainerOptions  *options,
                                          KilnNetMemory             *memory,
                                          char                     **reason,
                                          GError                   **error);

G_END_DECLS
