/* A simulated crossbar for the host build: conductances that respond to pulses with cycle-to-cycle variation and
 * soft bounds, noisy reads through a 12-bit ADC, cells stuck at either bound. Its numbers are those of Swim's
 * emulator preset "rram" (docs/device-presets.md gives their sources). */
#ifndef SIM_ARRAY_H
#define SIM_ARRAY_H

#include <stdint.h>

#include "swim_board.h"

typedef struct sim_array {
    uint32_t tiles, rows, columns;
    float *conductance;
    uint8_t *stuck;              /* 0 free, 1 stuck low, 2 stuck high */
    uint16_t *programmed, *verified; /* per cell: open-loop programmings and write-verify runs (begin_cell) */
    uint64_t random_state;
    uint64_t start_us;
} sim_array;

/* The host's monotonic clock, microseconds (the HAL's micros counts from the array's start on it). */
uint64_t sim_monotonic_us(void);

int sim_array_init(sim_array *array, uint32_t tiles, uint32_t rows, uint32_t columns, uint64_t seed);
void sim_array_free(sim_array *array);

/* The board configuration that matches the simulated device; `serial` is a 16-byte field. */
void sim_array_config(const sim_array *array, swim_board_config *config, uint64_t seed);
/* With `row_reads` the HAL reads rectangles a row at a time (the configuration then states cells_per_read). */
void sim_array_hal(sim_array *array, swim_hal *hal, int row_reads);

#endif
