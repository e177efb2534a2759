#define _POSIX_C_SOURCE 200809L
#include "sim_array.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Swim's "rram" preset (Swim.Devices/DevicePreset.cs): window 2..100 uS, 4 levels, read sigma 0.5 % of the window,
 * 0.5 % of cells stuck, a full-strength 100 ns pulse moves 15 % of the window before soft bounds (exponent 1,
 * floor 0.1), step noise 20 % relative plus 0.3 % of the window, threshold 0.6 V, amplitudes 0.3 to 3 V,
 * widths 10 ns to 100 us, read 1 us, pulse 500 ns, verify overhead 500 ns. */
#define G_MIN 2.0f
#define G_MAX 100.0f
#define WINDOW (G_MAX - G_MIN)
#define READ_SIGMA 0.005f
#define STUCK_RATE 0.005
#define PULSE_GAIN 0.15f
#define SOFT_FLOOR 0.1f
#define RELATIVE_SIGMA 0.2f
#define ADDITIVE_SIGMA 0.003f
#define THRESHOLD_V 0.6f
#define AMPLITUDE_MIN_V 0.3f
#define AMPLITUDE_MAX_V 3.0f
#define REFERENCE_WIDTH_NS 100u
/* The ADC: 12 bits over 0 .. 110 uS, a tenth of headroom above the window. */
#define ADC_TOP 4095u
#define ADC_STEP (110.0f / ADC_TOP)

static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *state) { return ((double)(next_random(state) >> 11) + 0.5) / 9007199254740992.0; }

static float normal(uint64_t *state)
{
    double u = uniform(state), v = uniform(state);
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static uint32_t index_of(const sim_array *a, swim_cell c) { return (c.tile * a->rows + c.row) * a->columns + c.column; }

uint64_t sim_monotonic_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

int sim_array_init(sim_array *a, uint32_t tiles, uint32_t rows, uint32_t columns, uint64_t seed)
{
    size_t cells = (size_t)tiles * rows * columns;
    memset(a, 0, sizeof *a);
    a->tiles = tiles; a->rows = rows; a->columns = columns;
    a->random_state = seed;
    a->conductance = malloc(cells * sizeof(float));
    a->stuck = calloc(cells, 1);
    a->programmed = calloc(cells, sizeof(uint16_t));
    a->verified = calloc(cells, sizeof(uint16_t));
    if (!a->conductance || !a->stuck || !a->programmed || !a->verified) {
        return -1;
    }
    for (size_t i = 0; i < cells; i++) {
        double draw = uniform(&a->random_state);
        a->stuck[i] = draw < STUCK_RATE / 2 ? 1 : draw < STUCK_RATE ? 2 : 0;
        a->conductance[i] = a->stuck[i] == 2 ? G_MAX : G_MIN + (float)uniform(&a->random_state) * 0.1f * WINDOW;
        if (a->stuck[i] == 1) {
            a->conductance[i] = G_MIN;
        }
    }
    a->start_us = sim_monotonic_us();
    return 0;
}

void sim_array_free(sim_array *a)
{
    free(a->conductance); free(a->stuck); free(a->programmed); free(a->verified);
}

static void pulse(void *context, swim_cell cell, uint8_t polarity, float amplitude, uint32_t width_ns)
{
    sim_array *a = context;
    uint32_t i = index_of(a, cell);
    if (a->stuck[i] || amplitude <= THRESHOLD_V) {
        return;
    }
    float g = a->conductance[i];
    float strength = (amplitude - THRESHOLD_V) / (AMPLITUDE_MAX_V - THRESHOLD_V);
    float room = polarity == SWIM_SET ? (G_MAX - g) / WINDOW : (g - G_MIN) / WINDOW;
    float bound = room > SOFT_FLOOR ? room : SOFT_FLOOR;
    float step = PULSE_GAIN * WINDOW * strength * sqrtf((float)width_ns / REFERENCE_WIDTH_NS) * bound;
    step = step * (1.0f + RELATIVE_SIGMA * normal(&a->random_state)) + ADDITIVE_SIGMA * WINDOW * normal(&a->random_state);
    g += polarity == SWIM_SET ? step : -step;
    a->conductance[i] = g < G_MIN ? G_MIN : g > G_MAX ? G_MAX : g;
}

static uint16_t read_code(void *context, swim_cell cell)
{
    sim_array *a = context;
    float g = a->conductance[index_of(a, cell)] + READ_SIGMA * WINDOW * normal(&a->random_state);
    float code = g / ADC_STEP + 0.5f;
    return (uint16_t)(code <= 0.0f ? 0 : code >= ADC_TOP ? ADC_TOP : (uint32_t)code);
}

/* A row-parallel ADC: the same reads, one operation for the row. */
static void read_row(void *context, swim_cell first, uint16_t count, uint16_t *codes)
{
    for (uint16_t i = 0; i < count; i++) {
        swim_cell cell = {first.tile, first.row, (uint16_t)(first.column + i)};
        codes[i] = read_code(context, cell);
    }
}

static void begin_cell(void *context, swim_cell cell, uint8_t opcode)
{
    sim_array *a = context;
    uint16_t *count = opcode == 0x05 ? &a->programmed[index_of(a, cell)] : &a->verified[index_of(a, cell)];
    if (*count < UINT16_MAX) {
        (*count)++;
    }
}

static uint64_t micros(void *context)
{
    sim_array *a = context;
    return sim_monotonic_us() - a->start_us;
}

void sim_array_hal(sim_array *a, swim_hal *hal, int row_reads)
{
    memset(hal, 0, sizeof *hal);
    hal->context = a;
    hal->pulse = pulse;
    hal->read = read_code;
    hal->read_row = row_reads ? read_row : NULL;
    hal->begin_cell = begin_cell;
    hal->micros = micros;
}

void sim_array_config(const sim_array *a, swim_board_config *c, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    c->firmware_major = 1;
    snprintf(c->serial, sizeof c->serial, "SIM%012llx", (unsigned long long)(seed & 0xFFFFFFFFFFFFull));
    strcpy(c->device_model, "rram");
    c->tiles = (uint16_t)a->tiles; c->rows = (uint16_t)a->rows; c->columns = (uint16_t)a->columns;
    c->levels = 4;
    c->g_min_microsiemens = G_MIN; c->g_max_microsiemens = G_MAX;
    c->adc_zero_microsiemens = 0.0f; c->adc_step_microsiemens = ADC_STEP;
    c->amplitude_min_volts = AMPLITUDE_MIN_V; c->amplitude_max_volts = AMPLITUDE_MAX_V;
    c->width_min_ns = 10; c->width_max_ns = 100000;
    c->read_ns = 1000; c->pulse_ns = 500; c->verify_iteration_ns = 2000;
    c->lease_ms = 5000;
    c->cells_per_pulse = 1; c->cells_per_read = 1;
    /* What a lab would measure in mid-window: a full-strength reference pulse there moves the cell by the gain
     * times the window times the soft bound's one half. */
    c->set.threshold_volts = c->reset.threshold_volts = THRESHOLD_V;
    c->set.full_step_microsiemens = c->reset.full_step_microsiemens = PULSE_GAIN * WINDOW * 0.5f;
    c->set.width_ns = c->reset.width_ns = REFERENCE_WIDTH_NS;
    c->verify_samples = 2;
    c->max_reversals = 5;
}
